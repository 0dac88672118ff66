"""Snapshots kept between processes serve reads only, and only for the very same bytes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.backlog import cache as backlog_cache
from app.backlog.store import BacklogStore

TEXT = """# my backlog
schema_version: 1
prefix: WRK
next_id: 3
items:
  - id: WRK-001
    title: Add login  # keep
    status: ready
    depends_on: []
    custom: {a: [1, 2.5, true, null]}
  - id: WRK-002
    title: "no"
    status: blocked
    blocked_reason: which cluster?
    blocked_from: ready
    depends_on: [WRK-001, WRK-404]
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(backlog_cache.ENV_DIR, str(folder))
    return folder


def backlog_file(tmp_path: Path, text: str = TEXT) -> Path:
    path = tmp_path / "BACKLOG.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_second_reader_gets_the_same_snapshot_without_parsing(
        tmp_path: Path, cache: Path, parses: list[int]) -> None:
    path = backlog_file(tmp_path)
    first = BacklogStore(path).load()
    assert len(parses) == 1 and list(cache.glob("*.json"))
    again = BacklogStore(path).load()  # a new store: as in the next process
    assert len(parses) == 1
    assert again == first and again.warnings == first.warnings
    assert again.get("WRK-002").depends_on == ("WRK-001", "WRK-404")
    assert again.get("WRK-001").extra == {"custom": {"a": [1, 2.5, True, None]}}
    assert again.get("WRK-002").title == "no" and again.next_number == 3


def test_a_kept_item_is_the_item_its_fields_make(tmp_path: Path, cache: Path) -> None:
    """Read back from a snapshot (cache._items), an item is still that item: equal, the
    same hash and repr, frozen, with its defaults where the file had none."""
    from app.backlog.model import Item
    path = backlog_file(tmp_path)
    first = BacklogStore(path).load()
    again = BacklogStore(path).load()
    for kept, parsed in zip(again.items, first.items, strict=True):
        made = Item(*(getattr(parsed, name) for name in Item.__struct_fields__))
        assert kept == made == parsed and type(kept) is Item
        assert hash(kept.depends_on) == hash(made.depends_on) and repr(kept) == repr(made)
        with pytest.raises(AttributeError, match="immutable"):
            kept.title = "changed"  # type: ignore[misc]
    assert again.get("WRK-002").origin is None and again.get("WRK-002").extra == {}


def test_other_bytes_are_parsed_even_with_the_same_size_and_time(
        tmp_path: Path, cache: Path, parses: list[int]) -> None:
    path = backlog_file(tmp_path)
    BacklogStore(path).load()
    stat = path.stat()
    path.write_text(TEXT.replace("Add login", "Add logon"), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    assert BacklogStore(path).load().get("WRK-001").title == "Add logon"
    assert len(parses) == 2


def test_a_snapshot_of_other_code_or_a_broken_one_is_not_used(
        tmp_path: Path, cache: Path, parses: list[int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = backlog_file(tmp_path)
    BacklogStore(path).load()
    [kept] = cache.glob("*.json")
    monkeypatch.setattr(backlog_cache, "_code_hash", [b"another orchestrate"])
    assert len(BacklogStore(path).load().items) == 2
    assert len(parses) == 2  # a new version never trusts an old snapshot
    kept_bytes = kept.read_bytes()
    for garbage in (b"", b"\x00\xff not json", b"[]", b'{"key": 1}',
                    kept_bytes.replace(b'"fields":["id"', b'"fields":["title"'),
                    kept_bytes.replace(b'"items":[["WRK-001",', b'"items":[["WRK-001",1,')):
        kept.write_bytes(garbage)
        assert BacklogStore(path).load().get("WRK-001").title == "Add login"


def test_transactions_parse_the_file_and_keep_every_comment(
        tmp_path: Path, cache: Path, parses: list[int]) -> None:
    path = backlog_file(tmp_path)
    BacklogStore(path).load()
    store = BacklogStore(path)
    store.load()  # from the snapshot: no index of the text
    assert len(parses) == 1
    store.update("WRK-001", status="in_progress", phase="prd")
    text = path.read_text(encoding="utf-8")
    assert "# my backlog" in text and "Add login  # keep" in text
    assert "status: in_progress" in text
    # The write left a snapshot of the new bytes for the next reader.
    assert BacklogStore(path).load().get("WRK-001").phase == "prd"
    assert len(parses) == 3  # the file before the change, and the change (validated)


def test_a_cache_that_cannot_be_written_is_no_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parses: list[int]) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv(backlog_cache.ENV_DIR, str(blocker / "cache"))
    path = backlog_file(tmp_path)
    assert len(BacklogStore(path).load().items) == 2
    assert len(BacklogStore(path).load().items) == 2
    assert len(parses) == 2
    monkeypatch.setenv(backlog_cache.ENV_DIR, "")  # empty: off
    assert backlog_cache.cache_dir() is None
    assert len(BacklogStore(path).load().items) == 2


def test_orchestrate_status_in_a_new_process_reads_the_snapshot(
        tmp_path: Path, cache: Path) -> None:
    """The real console script: the second `status` shows the same, from the snapshot
    (proven by breaking the parser in that process only)."""
    path = backlog_file(tmp_path)
    env = {**os.environ, backlog_cache.ENV_DIR: str(cache)}
    first = subprocess.run([sys.executable, "-m", "app.main", "status"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    broken = ("import sys, runpy; import app.backlog.yamldoc as y\n"
              "def boom(text): raise SystemExit('parsed again')\n"
              "y.parse = boom\nsys.argv = ['orchestrate', 'status']\n"
              "runpy.run_module('app.main', run_name='__main__')\n")
    second = subprocess.run([sys.executable, "-c", broken], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    path.write_text(TEXT + "  - id: WRK-003\n    title: New\n    status: new\n",
                    encoding="utf-8")
    third = subprocess.run([sys.executable, "-c", broken], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60)
    assert "parsed again" in third.stderr  # changed bytes: the snapshot is not used


def test_the_fingerprint_covers_every_module_that_reads_or_writes_the_file() -> None:
    """A change to any of them (the round-trip writer included) invalidates kept snapshots."""
    folder = Path(backlog_cache.__file__).parent
    names = set(backlog_cache.READER_SOURCES)
    assert {"model.py", "store.py", "transaction.py", "validate.py", "yamldoc.py",
            "yamlvalues.py", "splicer.py", "roundtrip.py"} <= names
    assert all((folder / name).is_file() for name in names)
