"""A tolerant view of the store (`BacklogStore.tolerant`, what a run reads and writes
through): a broken BACKLOG.yaml reads as the last good snapshot, each error is told once,
a write waits for the person's fix and lands on top of it, or gives up when told to stop.
Real files, real threads; the store itself keeps refusing the broken file."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.backlog.store import BacklogStore
from app.errors import BacklogError, OrchestrateError

TWO = ("schema_version: 1\nprefix: WRK\nitems:\n"
       "  - id: WRK-001\n    title: one\n    status: new\n"
       "  - id: WRK-002\n    title: two\n    status: new\n")
HALF_TYPED = TWO.replace("title: two", 'title: "two, renam')  # an unclosed quote
HALF_TYPED_ERROR = ("BACKLOG.yaml:10:1: found unexpected end of stream (while scanning a "
                    "quoted scalar)")
TAB = TWO.replace("    status: new\n  - id: WRK-002", "\tstatus: new\n  - id: WRK-002")
TAB_ERROR = "BACKLOG.yaml:6:1: a tab: YAML indents with spaces only"
FIXED = ("# WRK-002 renamed by hand while the run went on\n"
         + TWO.replace("title: two", 'title: "two, renamed"'))
"""The person's fix: a new comment, and another item's title changed."""


class Heard:
    """What a view told: errors and fixes, in order, from any thread."""

    def __init__(self) -> None:
        self.told: list[str] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def broken(self, error: str) -> None:
        with self._lock:
            self.told.append(error)

    def fixed(self) -> None:
        with self._lock:
            self.told.append("fixed")

    def view(self, store: BacklogStore) -> BacklogStore:
        return store.tolerant(self.broken, self.stop.is_set, self.fixed)


def store_with(tmp_path: Path, text: str) -> BacklogStore:
    path = tmp_path / "BACKLOG.yaml"
    path.write_text(text, encoding="utf-8")
    return BacklogStore(path)


def wait_for(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_broken_file_reads_as_the_last_good_snapshot_and_each_error_is_told_once(
        tmp_path: Path) -> None:
    store = store_with(tmp_path, TWO)
    heard = Heard()
    view = heard.view(store)
    good = view.load()
    store.path.write_text(HALF_TYPED)
    # Lanes read at once, many times: the same snapshot, one word about it.
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.extend(view.load() for _ in range(20)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 80 and all(backlog is good for backlog in got)
    assert len(heard.told) == 1 and heard.told[0].startswith(HALF_TYPED_ERROR)
    # Another error is news; the same one again after it too.
    store.path.write_text(TAB)
    assert view.load() is good
    store.path.write_text(HALF_TYPED)
    assert view.load() is good and view.load() is good
    assert len(heard.told) == 3
    assert heard.told[1].startswith(TAB_ERROR) and heard.told[2] == heard.told[0]
    # Fixed: the new file is read, and the fix is told once.
    store.path.write_text(FIXED)
    assert view.load().get("WRK-002").title == "two, renamed"
    view.load()
    assert heard.told[3:] == ["fixed"]


def test_the_store_itself_still_refuses_the_broken_file_in_every_other_thread(
        tmp_path: Path) -> None:
    store = store_with(tmp_path, TWO)
    view = Heard().view(store)
    view.load()
    store.path.write_text(HALF_TYPED)
    assert view.load().get("WRK-002").title == "two"
    errors: list[str] = []

    def board() -> None:  # the board's worker: it asked for no stale snapshot
        try:
            store.load()
        except BacklogError as exc:
            errors.append(str(exc))
        try:
            with store.transaction() as tx:  # a key on the board: refused at once
                tx.set("WRK-001", title="x")
        except BacklogError as exc:
            errors.append(str(exc))

    started = time.monotonic()
    thread = threading.Thread(target=board)
    thread.start()
    thread.join(5)
    assert time.monotonic() - started < 2
    assert [e[:len(HALF_TYPED_ERROR)] for e in errors] == [HALF_TYPED_ERROR] * 2
    with pytest.raises(BacklogError, match=r"^BACKLOG\.yaml:10:1: "):
        store.load()
    assert store.path.read_text() == HALF_TYPED


def test_without_a_good_snapshot_or_a_file_the_error_is_raised_as_ever(tmp_path: Path) -> None:
    store = store_with(tmp_path, HALF_TYPED)
    heard = Heard()
    view = heard.view(store)
    with pytest.raises(BacklogError, match=r"^BACKLOG\.yaml:10:1: found unexpected end"):
        view.load()
    store.path.write_text(TWO)
    view.load()
    store.path.unlink()  # gone is not broken: no snapshot, no waiting
    with pytest.raises(BacklogError, match=r"BACKLOG\.yaml not found in"):
        view.load()
    started = time.monotonic()
    with pytest.raises(BacklogError, match=r"BACKLOG\.yaml not found in"), \
            view.transaction() as tx:
        tx.set("WRK-001", title="x")
    assert time.monotonic() - started < 1
    assert heard.told == []


def test_a_write_waits_for_the_fix_and_lands_on_top_of_the_persons_edit(
        tmp_path: Path) -> None:
    store = store_with(tmp_path, TWO)
    heard = Heard()
    view = heard.view(store)
    view.load()
    store.path.write_text(HALF_TYPED)
    wrote: list[object] = []

    def lane() -> None:  # a run's transaction: WRK-001 on to its next step
        with view.transaction() as tx:
            tx.set("WRK-001", touch=False, notes="from the run")
        wrote.append(tx.result)

    thread = threading.Thread(target=lane)
    thread.start()
    wait_for(lambda: heard.told)
    assert heard.told[0].startswith(HALF_TYPED_ERROR)
    time.sleep(0.6)  # a few polls
    assert thread.is_alive() and not wrote
    assert store.path.read_text() == HALF_TYPED  # never written while broken
    with store.locked():  # the lock is free between polls: the editor may save
        pass
    assert view.load().get("WRK-001").notes is None  # reads go on meanwhile
    store.path.write_text(FIXED)
    thread.join(5)
    assert not thread.is_alive() and wrote
    # The person's file byte for byte, with the run's change on top of it.
    assert store.path.read_text() == FIXED.replace(
        "    status: new\n  - id: WRK-002", "    status: new\n    notes: from the run\n"
        "  - id: WRK-002")
    assert heard.told[1:] == ["fixed"]
    assert store.load().get("WRK-002").title == "two, renamed"


def test_a_view_reads_its_own_write_when_the_file_breaks_after_it(tmp_path: Path) -> None:
    store = store_with(tmp_path, TWO)
    view = Heard().view(store)
    with view.transaction() as tx:
        tx.set("WRK-001", status="ready")
    store.path.write_text(store.path.read_text() + "\t")
    assert view.load().get("WRK-001").status == "ready"  # not the file before the write


def test_a_waiting_write_gives_up_when_told_to_stop_and_writes_nothing(
        tmp_path: Path) -> None:
    store = store_with(tmp_path, TWO)
    heard = Heard()
    view = heard.view(store)
    view.load()
    store.path.write_text(TAB)
    failed: list[BaseException] = []
    ran: list[bool] = []

    def lane() -> None:
        try:
            with view.transaction() as tx:
                ran.append(True)
                tx.set("WRK-001", title="x")
        except OrchestrateError as exc:
            failed.append(exc)

    thread = threading.Thread(target=lane)
    thread.start()
    wait_for(lambda: heard.told)
    asked = time.monotonic()
    heard.stop.set()
    thread.join(5)
    assert time.monotonic() - asked < 1.5
    (error,) = failed
    assert str(error).startswith(TAB_ERROR)
    assert "was not written" in str(error)
    assert not ran and store.path.read_text() == TAB
