"""Parsing BACKLOG.yaml runs without the cyclic garbage collector: a parse's objects all
live, and full collections walking them again made a 10,000-item parse a third slower
and its cost grow faster than the file (bench/RESULTS.md's scaling rows). What it leaves
is mostly records the collector never tracks: it walked every one of them again once
collecting resumed (~90 ms of a 10,000-item transaction, ~25 ms since)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.backlog.store import BacklogStore, without_collections


def backlog_of(n: int) -> str:
    items = "".join(f"  - id: WRK-{i:03d}\n    title: Item {i}\n    status: new\n"
                    for i in range(1, n + 1))
    return f"schema_version: 1\nprefix: WRK\nnext_id: {n + 1}\nitems:\n{items}"


@pytest.fixture
def eager_collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The collector set to run every 50 allocations; yields the generations it started."""
    monkeypatch.setenv("ORCHESTRATE_CACHE_DIR", "")  # no kept snapshot: the file is parsed
    started: list[int] = []

    def seen(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(info["generation"])

    thresholds = gc.get_threshold()
    was_on = gc.isenabled()
    gc.enable()
    gc.set_threshold(50, 5, 5)
    gc.callbacks.append(seen)
    try:
        yield started
    finally:
        gc.callbacks.remove(seen)
        gc.set_threshold(*thresholds)
        if not was_on:
            gc.disable()


def test_a_parse_starts_no_collection_and_collecting_resumes_after(
        tmp_path: Path, eager_collector: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    from app.backlog import validate, yamldoc

    inside: list[int] = []  # collections started while the file was read and checked

    def counting(real: Any) -> Any:
        def counted(*args: Any) -> Any:
            before = len(eager_collector)
            try:
                return real(*args)
            finally:
                inside.extend(eager_collector[before:])
        return counted

    monkeypatch.setattr(yamldoc, "parse", counting(yamldoc.parse))
    monkeypatch.setattr(validate, "validate", counting(validate.validate))
    path = tmp_path / "BACKLOG.yaml"
    path.write_text(backlog_of(500), encoding="utf-8")
    backlog = BacklogStore(path).load()
    assert len(backlog.items) == 500
    assert inside == [], f"{len(inside)} collections ran inside the parse"
    assert gc.isenabled()
    eager_collector.clear()
    junk = [[i] for i in range(1000)]  # and it runs again after
    del junk
    assert eager_collector, "collecting did not resume after the parse"


def test_a_collector_turned_off_by_the_caller_stays_off() -> None:
    gc.disable()
    try:
        with without_collections():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
    with without_collections():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_parse_leaves_few_objects_for_the_collector(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The items and the reader's index of the text (entries, mappings, nodes) hold only
    plain data and each other, never themselves: no cycle can pass through them, so the
    collector need not track them (msgspec's `gc=False`). What it still tracks is the
    index's dicts and lists, about four an item (nine with the records tracked)."""
    from app.backlog import yamldoc
    from app.backlog.model import Item

    monkeypatch.setenv("ORCHESTRATE_CACHE_DIR", "")
    path = tmp_path / "BACKLOG.yaml"
    path.write_text(backlog_of(2000), encoding="utf-8")
    gc.collect()
    before = {id(o) for o in gc.get_objects()}
    backlog = BacklogStore(path).load()
    tracked = [o for o in gc.get_objects() if id(o) not in before]
    assert len(backlog.items) == 2000
    assert not any(isinstance(o, (Item, yamldoc.Entry, yamldoc.MapIndex)) for o in tracked)
    assert len(tracked) < 5 * 2000, f"{len(tracked)} objects tracked for 2,000 items"
    del backlog
    assert gc.collect() == 0  # nothing of it was left in a cycle
