"""Append-only JSON-lines files of `.orchestrator/` (worklog.jsonl, history.jsonl), and
an agent's log read from its end (TailIndex).

Each record is one `write` of one whole line with O_APPEND, so writers in several
processes never interleave. A writer killed mid-write (kill -9, a full disk) can
leave a torn last line without its newline: the next append first ends that line,
so its own record stays whole, and readers skip a torn line with a warning that
names it instead of failing.
"""

from __future__ import annotations

import json
import os
import weakref
from array import array
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


FIRST_READ = 256 * 1024
"""A TailIndex starts with this much of the file's end (~2,000 agent lines)."""
MORE_READ = 1024 * 1024
"""Then indexes this much more above at a time."""


class TailIndex:
    """The lines of a (finished) file read from its end, its line offsets indexed further
    up only when asked (`more_above`): a million-line agent log shows its end after
    reading its last 256 KiB, and scrolling up reads 1 MiB above at a time. Blank lines
    are left out. `index[i]` reads line `i` of those indexed (0 is the topmost) from disk.
    The file stays open until the index is dropped."""

    def __init__(self, path: Path, first: int = FIRST_READ, more: int = MORE_READ) -> None:
        fd = os.open(path, os.O_RDONLY)
        self._fd = fd
        weakref.finalize(self, os.close, fd)
        self.path = path
        self._more = more
        self._starts = array("q")
        """Where each indexed line starts, top to bottom."""
        self._ends = array("q")
        """Where each ends (its newline, or the end of the file)."""
        self.top = os.fstat(fd).st_size
        """Nothing above this offset is indexed yet (0: the whole file is)."""
        self._index_above(first)

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, index: int) -> str:
        start, end = self._starts[index], self._ends[index]
        return os.pread(self._fd, end - start, start).decode("utf-8", "replace")

    def more_above(self) -> int:
        """Index the lines above those indexed (MORE_READ of the file); how many."""
        return self._index_above(self._more) if self.top else 0

    def _index_above(self, size: int) -> int:
        top = self.top
        while True:
            start = max(0, top - size)
            data = os.pread(self._fd, top - start, start)
            cut = data.find(b"\n")
            if not start or 0 <= cut < len(data) - 1:
                break
            size *= 4  # no whole line in it (a line longer than `size`): read more
        if start:  # the first line read may have begun further up: left for next time
            start += cut + 1
            data = data[cut + 1:]
        starts, ends = array("q"), array("q")
        at = start
        for line in data.split(b"\n"):
            end = at + len(line)
            if line.strip():
                starts.append(at)
                ends.append(end)
            at = end + 1
        self._starts = starts + self._starts
        self._ends = ends + self._ends
        self.top = start
        return len(starts)
