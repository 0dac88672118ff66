"""app/engine/jsonl.py TailIndex: a big file's lines read from its end, indexed upward."""

from __future__ import annotations

from pathlib import Path

from app.engine.jsonl import TailIndex


def test_it_reads_only_the_end_and_indexes_upward_on_demand(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(b"".join(b"line %05d\n" % k for k in range(10_000)) + b"\n  \n")
    index = TailIndex(path, first=1000, more=5000)
    assert len(index) < 100 + 1 and index[len(index) - 1] == "line 09999"
    assert index.top > 0  # nothing above read
    seen = len(index)
    assert index.more_above() > 0 and len(index) > seen
    assert index[len(index) - seen] == f"line {10_000 - seen:05d}"  # same lines, lower
    while index.more_above():
        pass
    assert index.top == 0 and len(index) == 10_000  # blank lines left out
    assert [index[0], index[9_999]] == ["line 00000", "line 09999"]


def test_a_torn_last_line_and_a_line_longer_than_a_read(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(b"first\n" + b"x" * 5000 + b"\nlast without newline")
    index = TailIndex(path, first=100, more=100)
    assert index[len(index) - 1] == "last without newline"
    while index.more_above():
        pass
    assert [index[i] for i in range(len(index))] == ["first", "x" * 5000,
                                                     "last without newline"]
