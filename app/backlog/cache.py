"""Validated BACKLOG.yaml snapshots kept between processes, keyed by the file's bytes.

`orchestrate status`, `show` and the board's first frame only read the backlog.
Parsing and validating 1,000 items takes ~60 ms; reading the same snapshot back
from here takes ~5 ms. Each process still parses the file itself before it
changes it (a transaction needs the text's index), so this only ever serves reads.

A snapshot is used only when its key matches: a hash of the file's bytes (an edit
that keeps the size and the time stamp still misses) and of the source of the
code that reads them (a new orchestrate never trusts an old snapshot). Snapshots
live in the user's cache folder, not in the project: a file committed to a
repository could otherwise show items its BACKLOG.yaml does not hold. Anything
wrong with a snapshot (missing, unreadable, another shape) means a normal parse.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from app.backlog.model import Backlog, Item

try:  # hashlib's own blake2b, without hashlib importing OpenSSL's _hashlib (~3 ms at start)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import blake2b

FORMAT = 1
"""Bumped when the snapshot's layout changes."""
ENV_DIR = "ORCHESTRATE_CACHE_DIR"
"""Overrides the folder (tests use one of their own; empty turns the cache off)."""
ITEM_FIELDS: tuple[str, ...] = Item.__struct_fields__
_DEPENDS_ON = ITEM_FIELDS.index("depends_on")
_code_hash: list[bytes] = []


def cache_dir() -> Path | None:
    """Where snapshots are kept: $ORCHESTRATE_CACHE_DIR, else the XDG cache folder."""
    configured = os.environ.get(ENV_DIR)
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "orchestrate" / "backlogs"


READER_SOURCES = ("model.py", "store.py", "transaction.py", "validate.py", "yamldoc.py",
                  "yamlvalues.py", "splicer.py", "roundtrip.py")
"""The modules (in app/backlog/) that turn bytes into a snapshot, or write the bytes a
snapshot is kept for: a change to any of them means no kept snapshot is trusted."""


def _code_fingerprint() -> bytes:
    """A hash of the reader's source (read once per process; read as files, not imported:
    roundtrip.py would load ruamel.yaml)."""
    if not _code_hash:
        digest = blake2b(str(FORMAT).encode(), digest_size=16)
        for name in READER_SOURCES:
            digest.update((Path(__file__).parent / name).read_bytes())
        _code_hash.append(digest.digest())
    return _code_hash[0]


def _key(data: bytes) -> str:
    return blake2b(data, digest_size=16, key=_code_fingerprint()).hexdigest()


def _file_for(backlog_path: Path) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    name = blake2b(str(backlog_path.resolve()).encode(), digest_size=16).hexdigest()
    return folder / f"{name}.json"


def read(backlog_path: Path, data: bytes) -> Backlog | None:
    """The snapshot of `data` (BACKLOG.yaml's bytes) if one is kept, else None."""
    try:
        target = _file_for(backlog_path)
        if target is None:
            return None
        kept = json.loads(target.read_bytes())
        if kept.get("key") != _key(data) or tuple(kept["fields"]) != ITEM_FIELDS:
            return None
        return Backlog(kept["schema_version"], kept["prefix"], _items(kept["items"]),
                       kept["next_number"], tuple(kept["warnings"]))
    except (OSError, ValueError, TypeError, KeyError, AttributeError, IndexError):
        return None  # missing, or not a snapshot of ours: parse the file


def _items(rows: list[list[Any]]) -> tuple[Item, ...]:
    """The items of a snapshot's rows (one value per field, in ITEM_FIELDS' order)."""
    items = []
    for row in rows:
        if len(row) != len(ITEM_FIELDS):
            raise ValueError("not a row of item fields")
        row[_DEPENDS_ON] = tuple(row[_DEPENDS_ON])
        items.append(Item(*row))
    return tuple(items)


def write(backlog_path: Path, data: bytes, backlog: Backlog) -> None:
    """Keep `backlog` (the validated snapshot of `data`) for the next process."""
    target = _file_for(backlog_path)
    if target is None:
        return
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        kept = {
            "key": _key(data),
            "schema_version": backlog.schema_version,
            "prefix": backlog.prefix,
            "next_number": backlog.next_number,
            "warnings": list(backlog.warnings),
            "fields": ITEM_FIELDS,
            "items": [[getattr(item, name) for name in ITEM_FIELDS]
                      for item in backlog.items],
        }
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(kept, ensure_ascii=False, separators=(",", ":")),
                       encoding="utf-8")
        os.replace(tmp, target)  # readers see the old snapshot or the new one
    except (OSError, ValueError, TypeError):  # a cache that cannot be written is no cache
        with contextlib.suppress(OSError):
            tmp.unlink()
