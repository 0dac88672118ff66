"""Append-only JSON-lines files of `.orchestrator/` (worklog.jsonl, history.jsonl).

Each record is one `write` of one whole line with O_APPEND, so writers in several
processes never interleave. A writer killed mid-write (kill -9, a full disk) can
leave a torn last line without its newline: the next append first ends that line,
so its own record stays whole, and readers skip a torn line with a warning that
names it instead of failing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def append(path: Path, record: dict[str, Any]) -> None:
    """Append `record` as one line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line  # a torn line before us: end it, keep ours whole
        os.write(fd, line)
    finally:
        os.close(fd)


def read(path: Path, required_key: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The records holding `required_key`, and a warning per line that is not one
    (`worklog.jsonl:57: a torn or foreign line is ignored`)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return [], []
    records: list[dict[str, Any]] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            data = None
        if isinstance(data, dict) and required_key in data:
            records.append(data)
        else:
            problems.append(f"{path.name}:{number}: a torn or foreign line is ignored "
                            "(a crash mid-write leaves one)")
    return records, problems
