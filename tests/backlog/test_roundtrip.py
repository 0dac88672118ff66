"""app/backlog/roundtrip.py: a BACKLOG.yaml with anchors, aliases, merge keys or tags of its
own is read like any other and written through ruamel.yaml's round trip, keeping them."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from conftest import ORCHESTRATE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from app.backlog import yamldoc
from app.backlog.store import BacklogStore
from app.errors import BacklogError, OrchestrateError

STAMP = "2026-12-01T00:00:00Z"
# Anchors (&), aliases (*), a merge key (<<), a tag of its own (!), comments everywhere.
SHARED = """\
# The team's backlog -- shared defaults below
schema_version: 1
prefix: WRK
defaults: &defaults   # every item starts from these
  status: new
  size: small
items:
  # the first one
  - id: WRK-001
    <<: *defaults
    title: &login Login page   # the anchor of a title
    notes: |
      Keep the old form.
  - id: WRK-002
    <<: *defaults
    title: *login
    status: ready
    risk: !level low
  # between two and three
  - id: WRK-003
    title: Password reset
    status: scoped
    depends_on: [WRK-001]
# the end
"""


def store_with(tmp_path: Path, text: str) -> BacklogStore:
    path = tmp_path / "BACKLOG.yaml"
    path.write_text(text, encoding="utf-8")
    return BacklogStore(path)


def text_of(store: BacklogStore) -> str:
    return store.path.read_text(encoding="utf-8")


def table(store: BacklogStore) -> dict[str, tuple[Any, ...]]:
    return {i.id: (i.title, i.status, i.size, i.risk) for i in store.load().items}


def ruamel_reads(text: str) -> Any:
    """An independent reading (ruamel.yaml's safe loader, YAML 1.2; merge keys applied)."""
    y = YAML(typ="safe", pure=True)
    y.version = (1, 2)
    return y.load(io.StringIO(text.replace("!level ", "")))


def comment_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


def keeps_the_structure(text: str) -> None:
    for part in ("&defaults", "<<: *defaults", "&login", "# every item starts from these",
                 "# The team's backlog", "# the end"):
        assert part in text, part


# --- reading -----------------------------------------------------------------------------------
def test_aliases_merge_keys_and_tags_are_read_not_refused(tmp_path: Path) -> None:
    store = store_with(tmp_path, SHARED)
    assert table(store) == {
        "WRK-001": ("Login page", "new", "small", None),
        "WRK-002": ("Login page", "ready", "small", "low"),
        "WRK-003": ("Password reset", "scoped", None, None),
    }
    assert store.load().get("WRK-001").notes == "Keep the old form.\n"
    doc = yamldoc.parse(SHARED)
    assert doc.roundtrip == "an alias (*defaults) at line 10"


def test_files_without_them_keep_the_splicing_writer(tmp_path: Path) -> None:
    assert yamldoc.parse("prefix: WRK\nitems: []  # no * or & here: Fix it!\n").roundtrip is None
    assert yamldoc.parse("prefix: WRK\nx: &a 1\nt: !!int 7\n").roundtrip is None  # anchor only
    assert "a tag (!mine)" in (yamldoc.parse("prefix: WRK\nx: !mine 1\n").roundtrip or "")
    assert "a merge key" in (yamldoc.parse("prefix: WRK\nx:\n  <<: {a: 1}\n").roundtrip or "")


@pytest.mark.parametrize(("text", "message"), [
    (SHARED.replace("  status: new\n  size", "  status: nope\n  size"),
     "BACKLOG.yaml:5:3: WRK-001: unknown status 'nope'"),  # where the merged value is written
    (SHARED.replace("title: *login", "title: *logon"),
     "BACKLOG.yaml:16:12: the alias *logon names no anchor before it"),
    (SHARED.replace("<<: *defaults\n    title: *login", "<<: *login\n    title: *login"),
     "BACKLOG.yaml:15:5: a merge key (<<) takes a mapping"),
])
def test_errors_in_such_a_file_name_the_line_and_column(tmp_path: Path, text: str,
                                                       message: str) -> None:
    store = store_with(tmp_path, text)
    with pytest.raises(BacklogError) as err:
        store.load()
    assert str(err.value).startswith(message)
    with pytest.raises(BacklogError), store.transaction() as tx:
        tx.add("never written")
    assert text_of(store) == text


def test_a_status_read_never_loads_ruamel(tmp_path: Path) -> None:
    """ruamel.yaml costs its import only when such a file is written."""
    store_with(tmp_path, SHARED)
    code = ("import sys; from pathlib import Path; from app.backlog.store import BacklogStore; "
            f"BacklogStore(Path({str(tmp_path / 'BACKLOG.yaml')!r})).load(); "
            "print(any(m.startswith('ruamel') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "False", out.stderr


# --- writing -----------------------------------------------------------------------------------
def test_advancing_changes_one_line_and_keeps_anchors_aliases_and_comments(
        tmp_path: Path) -> None:
    store = store_with(tmp_path, SHARED)
    store.update("WRK-003", status="ready", touch=False)
    assert text_of(store) == SHARED.replace("status: scoped", "status: ready")
    assert table(store)["WRK-003"][1] == "ready"


def test_setting_a_merged_field_writes_the_items_own_key_never_the_shared_one(
        tmp_path: Path) -> None:
    store = store_with(tmp_path, SHARED)
    store.update("WRK-001", status="in_progress", phase="prd", touch=False)
    text = text_of(store)
    keeps_the_structure(text)
    assert "defaults: &defaults   # every item starts from these\n  status: new\n" in text
    assert "      Keep the old form.\n    status: in_progress\n    phase: prd\n" in text
    assert table(store)["WRK-001"][1] == "in_progress"
    assert table(store)["WRK-002"][1] == "ready"  # its own key, untouched
    assert ruamel_reads(text)["defaults"] == {"status": "new", "size": "small"}


def test_changing_the_anchored_value_leaves_its_aliases_their_value(tmp_path: Path) -> None:
    """A person's alias target changes: only the item asked changes; the items that alias
    the old value keep it (the anchor moves to the first of them)."""
    store = store_with(tmp_path, SHARED)
    store.update("WRK-001", title="Login page v2", touch=False)
    text = text_of(store)
    assert "    title: Login page v2   # the anchor of a title\n" in text
    assert "    title: &login Login page\n" in text  # WRK-002 holds the value now
    assert [t[0] for t in table(store).values()] == ["Login page v2", "Login page",
                                                     "Password reset"]
    store.update("WRK-002", title="Other", touch=False)  # an alias replaced, not followed
    assert [t[0] for t in table(store).values()] == ["Login page v2", "Other", "Password reset"]


def test_adding_an_item(tmp_path: Path) -> None:
    store = store_with(tmp_path, SHARED)
    with mock.patch("app.backlog.transaction.now_iso", lambda: STAMP):
        item = store.add("Audit log", size="large")
    text = text_of(store)
    keeps_the_structure(text)
    assert comment_lines(text) == comment_lines(SHARED)
    assert text.endswith("    updated: 2026-12-01T00:00:00Z\n# the end\n")  # before the end
    assert "prefix: WRK\nnext_id: 5\ndefaults:" in text
    assert table(store)[item.id] == ("Audit log", "new", "large", None)
    assert ruamel_reads(text)["items"][3]["created"] is not None
    assert table(store)["WRK-002"] == ("Login page", "ready", "small", "low")


def test_deleting_an_item_keeps_the_shared_values_for_the_others(tmp_path: Path) -> None:
    store = store_with(tmp_path, SHARED)
    with store.transaction() as tx:
        tx.delete("WRK-001")  # holds the &login anchor WRK-002 aliases
    text = text_of(store)
    assert "&defaults" in text and "<<: *defaults" in text and "&login" in text
    assert comment_lines(text) == [c for c in comment_lines(SHARED)
                                   if "the anchor of a title" not in c]
    assert table(store) == {"WRK-002": ("Login page", "ready", "small", "low"),
                            "WRK-003": ("Password reset", "scoped", None, None)}
    with store.transaction() as tx:
        tx.delete("WRK-003")
        tx.delete("WRK-002")
    text = text_of(store)
    assert "items: []\n  # the first one\n  # between two and three\n# the end\n" in text
    assert "defaults: &defaults" in text and store.load().items == ()


def test_an_item_others_merge_from_keeps_them_as_they_were(tmp_path: Path) -> None:
    store = store_with(tmp_path, "schema_version: 1\nprefix: WRK\nitems:\n  - &base\n"
                                 "    id: WRK-001\n    title: base\n    status: new\n"
                                 "    size: small\n  - <<: *base\n    id: WRK-002\n"
                                 "    title: derived\n")
    store.update("WRK-001", status="ready", size="large")
    assert table(store) == {"WRK-001": ("base", "ready", "large", None),
                            "WRK-002": ("derived", "new", "small", None)}
    assert "  - <<: *base\n" in text_of(store)
    with pytest.raises(OrchestrateError, match="would also change another item"), \
            store.transaction() as tx:  # a key WRK-002 would gain through the merge
        tx.set("WRK-001", estimate="3d")
    with store.transaction() as tx:
        tx.delete("WRK-001")
    assert table(store) == {"WRK-002": ("derived", "new", "small", None)}


def test_crlf_and_a_byte_order_mark_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "BACKLOG.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + SHARED.replace("\n", "\r\n").encode())
    store = BacklogStore(path)
    store.update("WRK-003", status="ready", notes="two\nlines", touch=False)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf# The team's")
    assert raw.count(b"\n") == raw.count(b"\r\n")
    assert store.load().get("WRK-003").notes == "two\nlines"


def test_the_documents_own_indentation_is_kept(tmp_path: Path) -> None:
    text = ("prefix: WRK\nbase: &b\n    size: small\nitems:\n- id: WRK-001\n  <<: *b\n"
            "  title: a\n  status: new\n  notes: |\n      x\n      y\n")
    store = store_with(tmp_path, text)
    store.update("WRK-001", status="ready", touch=False)
    assert text_of(store) == ("schema_version: 1\n"
                              + text.replace("status: new", "status: ready"))


@pytest.mark.parametrize("head", ["", "---\n", "# before the start\n---\n",
                                  "%YAML 1.2\n---\n"])
def test_scalars_keep_their_spelling_and_anchors_and_the_start_stays(tmp_path: Path,
                                                                     head: str) -> None:
    """`~`, an empty value, `True`, `0x1F` are written back as written, anchored or not;
    what stands before `---` stays."""
    text = (f"{head}schema_version: 1\nprefix: WRK\nn: &n ~\nb: &b True\nh: 0x1F\nitems:\n"
            "  - id: WRK-001\n    title: x\n    status: new\n    phase:\n    risk: *n\n"
            "    flag: *b\n")
    store = store_with(tmp_path, text)
    store.update("WRK-001", size="small", touch=False)
    assert text_of(store) == text + "    size: small\n"
    assert store.load().get("WRK-001").extra == {"flag": True}


def test_through_the_cli_advance_and_add(tmp_path: Path) -> None:
    (tmp_path / "BACKLOG.yaml").write_text(SHARED, encoding="utf-8")
    run = [*ORCHESTRATE, "-C", str(tmp_path)]
    out = subprocess.run([*run, "advance", "WRK-001", "--to", "ready"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    out = subprocess.run([*run, "add", "Audit log"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "WRK-004" in out.stdout
    text = (tmp_path / "BACKLOG.yaml").read_text(encoding="utf-8")
    keeps_the_structure(text)
    assert comment_lines(text) == comment_lines(SHARED)
    data = ruamel_reads(text)
    assert data["defaults"] == {"status": "new", "size": "small"}
    assert [(i["id"], i["status"], i.get("size")) for i in data["items"]] == [
        ("WRK-001", "ready", "small"), ("WRK-002", "ready", "small"),
        ("WRK-003", "scoped", None), ("WRK-004", "new", None)]


# --- any sequence of changes ---------------------------------------------------------------
OPS = st.lists(st.one_of(
    st.tuples(st.just("set"), st.integers(0, 9),
              st.sampled_from(["status", "size", "title", "notes", "risk"]), st.data()),
    st.tuples(st.just("add"), st.text(min_size=1, max_size=12).filter(str.strip)),
    st.tuples(st.just("delete"), st.integers(0, 9)),
), min_size=1, max_size=8)
VALUES = {
    "status": st.sampled_from(["new", "scoped", "ready", "done"]),
    "size": st.sampled_from([None, "small", "large"]),
    "risk": st.sampled_from([None, "low", "high"]),
    "title": st.text(min_size=1, max_size=20).filter(lambda s: s.strip() == s and s),
    "notes": st.one_of(st.none(), st.text(max_size=30)),
}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_any_changes_keep_comments_and_read_back_as_meant(tmp_path_factory: Any,
                                                          ops: list[Any]) -> None:
    """After any adds, sets and deletes: what the store reads is what the transactions meant,
    ruamel.yaml reads the same, every comment line is still there in order, and the shared
    defaults are unchanged."""
    store = store_with(tmp_path_factory.mktemp("rt"), SHARED)
    model = {i.id: {"title": i.title, "status": i.status, "size": i.size, "risk": i.risk,
                    "notes": i.notes} for i in store.load().items}
    for op in ops:
        ids = list(model)
        if op[0] == "add":
            item = store.add(op[1])
            model[item.id] = {"title": " ".join(op[1].split()), "status": "new", "size": None,
                              "risk": None, "notes": None}
        elif ids and op[0] == "delete":
            with store.transaction() as tx:
                tx.delete(ids[op[1] % len(ids)])
            del model[ids[op[1] % len(ids)]]
        elif ids:
            item_id, key = ids[op[1] % len(ids)], op[2]
            value = op[3].draw(VALUES[key])
            store.update(item_id, **{key: value})
            model[item_id][key] = value
    got = {i.id: {"title": i.title, "status": i.status, "size": i.size, "risk": i.risk,
                  "notes": i.notes} for i in store.load().items}
    assert got == model
    text = text_of(store)
    data = ruamel_reads(text)
    assert data["defaults"] == {"status": "new", "size": "small"}
    assert {i["id"]: (i["title"], i["status"], i.get("size"), i.get("notes"))
            for i in data["items"] or []} == {
        k: (v["title"], v["status"], v["size"], v["notes"]) for k, v in model.items()}
    it = iter(comment_lines(text))
    assert all(any(c.strip() == d.strip() for d in it) for c in comment_lines(SHARED)
               if "anchor of a title" not in c)
