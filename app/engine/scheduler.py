"""The one scheduler of a run's work: lanes (an item's phases) and steps (a triage or
investigate step of an item), each in a worker thread, as many at once as allowed.

A run with lanes has up to `max_parallel` lanes and, beside them, steps within
`[triage] max_concurrent`, so new ideas are assessed while builds go on; a run of one lane
at a time is the same with a width of one; `orchestrate triage` has steps only. What may
start is the host's to say (`pick_lanes`, `pick_steps`); the scheduler asks again only
when something ended or BACKLOG.yaml changed (a stat a tick, not a read), and wakes every
SCHEDULE_S so that a signal's handler runs in the main thread at once.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Protocol

from app import exitcodes
from app.backlog.model import Backlog, Item
from app.backlog.store import BacklogStore
from app.engine.project import Project
from app.engine.skeleton import RunEnd
from app.errors import OrchestrateError

SCHEDULE_S = 0.2
"""How often the scheduler wakes: Ctrl-C is heard, new work is seen."""


class SchedulerHost(Protocol):
    """What the scheduler needs of its run."""

    project: Project
    store: BacklogStore

    def notice(self, level: str, text: str) -> None: ...

    def winding_down(self) -> bool:
        """No new work may start (stopped, pausing, the end decided)."""
        ...

    def pick_lanes(self, backlog: Backlog, busy: set[str], room: int) -> list[Item]:
        """Up to `room` items whose lanes may start now (none of `busy`)."""
        ...

    def pick_steps(self, backlog: Backlog, busy: set[str], room: int
                   ) -> list[tuple[Item, str]]:
        """Up to `room` (item, step) to start now (none of `busy`), each once a run."""
        ...

    def work_lane(self, item: Item) -> None:
        """One item's lane, to its end (in a worker thread; RunEnd ends the run)."""
        ...

    def work_step(self, item: Item, step: str) -> None:
        """One item's step (in a worker thread)."""
        ...

    def lane_ended(self, end: RunEnd) -> None:
        """A worker met the run's end: every other one ends before its next attempt."""
        ...

    def explain_nothing(self) -> None:
        """Nothing could start at all: say why."""
        ...

    def end_if_ended(self) -> None:
        """RunEnd when the run's end was decided."""
        ...


class Scheduler:
    """Runs lanes and steps until none is left (module docstring)."""

    def __init__(self, host: SchedulerHost, lanes: int, steps: int) -> None:
        self.host = host
        self.lanes = lanes
        self.steps = steps

    def loop(self) -> None:
        """Until no work is left or the run's end is decided (then RunEnd)."""
        host = self.host
        live: dict[Future[None], tuple[str, str]] = {}
        started = False
        pool = ThreadPoolExecutor(max_workers=max(1, self.lanes + self.steps),
                                  thread_name_prefix="lane")
        seen: tuple[int, int] | None = None
        changed = True
        try:
            while True:
                # What may start changes only when a lane or step ends or BACKLOG.yaml
                # is written (a person's edit, a transaction): a stat per tick, not a read.
                now = _signature(host.project.backlog_path)
                changed |= now != seen
                seen = now
                if changed and not host.winding_down():
                    changed = False
                    try:
                        started |= self._start(pool, live)
                    except OrchestrateError as error:
                        # BACKLOG.yaml could not be read: gone, unreadable, or broken
                        # before the run ever read it whole (a broken save later reads as
                        # the last good copy: the run's store is tolerant). The run ends
                        # as a single lane's does, each lane before its next attempt, not
                        # with the lanes going on unwatched to their items' end.
                        host.lane_ended(RunEnd(str(error), exitcodes.ERROR))
                if not live:
                    if not started:
                        host.explain_nothing()
                    break
                # With a timeout: signal handlers run only when the main thread runs.
                done, _ = wait(live, timeout=SCHEDULE_S, return_when=FIRST_COMPLETED)
                changed |= bool(done)
                for future in done:
                    kind, item_id = live.pop(future)
                    exc = future.exception()
                    if exc is not None:
                        host.notice("error", f"{item_id} {kind} failed: {exc}")
        finally:
            pool.shutdown(wait=True)
        host.end_if_ended()

    def _start(self, pool: ThreadPoolExecutor,
               live: dict[Future[None], tuple[str, str]]) -> bool:
        """Start what may start now; True when anything did."""
        host = self.host
        backlog = host.store.load()
        busy = {item_id for _, item_id in live.values()}
        lanes = sum(1 for kind, _ in live.values() if kind == "lane")
        steps = len(live) - lanes
        started = False
        if lanes < self.lanes:
            for item in host.pick_lanes(backlog, busy, self.lanes - lanes):
                live[pool.submit(host.work_lane, item)] = ("lane", item.id)
                busy.add(item.id)
                started = True
        if steps < self.steps:
            for item, step in host.pick_steps(backlog, busy, self.steps - steps):
                live[pool.submit(host.work_step, item, step)] = (step, item.id)
                busy.add(item.id)
                started = True
        return started


def _signature(path: Path) -> tuple[int, int] | None:
    """The file's modification time and size, None when it cannot be seen."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size
