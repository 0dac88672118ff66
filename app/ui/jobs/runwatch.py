"""Watching a run of another process: who holds the run lock, and its newest log; and
the keys that act on that run.

Every WATCH_POLL_S the board asks who holds `.orchestrator/run.lock`. While another
process does, the run state says so (`watching`), with every lane of that run (its
run.json, read by app/engine/liverun.py in the worker), and the log pane tails that run's
newest log file (app/ui/jobs/tail.py); while a usage limit holds that run (its
`.orchestrator/pause.json`), the header counts down to the resume. When the lock is free
again the board goes back to idle and reloads. While the board watches, `s` sends that
process SIGTERM (after asking) and `r` SIGUSR1: every run handles them as "stop now,
record the attempt as interrupted" and "pause after the current phase".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from textual.message import Message
from textual.worker import get_current_worker

from app.backlog.model import Backlog
from app.engine.project import Project
from app.structs import replace
from app.ui.bridge import LockHolder
from app.ui.jobs.node import Node
from app.ui.jobs.tail import TailLines, tail_log
from widgets.board import Board
from widgets.logpane import LogPane
from widgets.status import LaneView, RunState

if TYPE_CHECKING:
    from app.engine.jsonl import TailIndex

LOG_NAME = re.compile(r"^(?P<item>[A-Z][A-Z0-9]*-\d{3,})_(?P<phase>[a-z]+)_(?P<attempt>\d+)\.log$")
"""`.orchestrator/logs/WRK-001_build_2.log`."""
WATCH_POLL_S = 0.5
"""How often the board looks for another process's run (and its newest log)."""


STICKY_S = 30.0
"""A watched log written to within this long keeps being tailed, though another lane's
log changed since (lanes write at once: the pane must not hop between them)."""


def newest_log(logs_dir: Path, prefer: str | None = None, current: Path | None = None,
               now: float | None = None) -> Path | None:
    """The attempt log to tail (`WRK-001_build_2.log`; a detached run's own console log,
    `run-<time>.log`, is not an agent's output): the newest of item `prefer` (the selected
    card, in progress) if it has one; else `current` while it is still being written and
    no newer attempt of its item began; else the most recently changed."""
    logs: dict[Path, float] = {}
    try:
        for path in logs_dir.iterdir():
            if LOG_NAME.match(path.name):
                with contextlib.suppress(FileNotFoundError):  # removed meanwhile
                    logs[path] = path.stat().st_mtime
    except OSError:
        return None
    if not logs:
        return None

    def newest_of(item: str) -> Path | None:
        mine = [p for p in logs if p.name.startswith(item + "_")]
        return max(mine, key=logs.__getitem__) if mine else None

    if prefer and (chosen := newest_of(prefer)) is not None:
        return chosen
    if current is not None and current in logs:
        match = LOG_NAME.match(current.name)
        latest = newest_of(match["item"]) if match else None
        fresh = (now if now is not None else time.time()) - logs[current] < STICKY_S
        if fresh and latest == current:
            return current
    return max(logs, key=logs.__getitem__)


def attempt_log(logs_dir: Path, item_id: str) -> Path | None:
    """The log of `item_id`'s newest attempt (`WRK-001_build_2.log`), if it has one."""
    newest: tuple[float, Path] | None = None
    try:
        names = [name for name in os.listdir(logs_dir) if name.startswith(item_id + "_")]
    except OSError:
        return None
    for name in names:
        if LOG_NAME.match(name):
            with contextlib.suppress(FileNotFoundError):
                found = ((logs_dir / name).stat().st_mtime, logs_dir / name)
                newest = max(newest, found) if newest is not None else found
    return newest[1] if newest is not None else None


Watched = tuple[int | None, Path | None, float | None, tuple[LaneView, ...]]
"""What a look finds: the pid holding the run lock, its log, its resume time, its lanes."""


class RunWatchScreen(Node, Protocol):
    """What watching another process's run needs of the screen."""

    @property
    def run(self) -> RunState: ...

    def set_run(self, run: RunState) -> None: ...

    @property
    def engine_running(self) -> bool: ...

    @property
    def backlog(self) -> Backlog | None: ...

    @property
    def board(self) -> Board: ...

    @property
    def log_pane(self) -> LogPane: ...

    log_shown: bool

    @property
    def closing(self) -> bool: ...

    def tell(self, message: str, *, severity: str = "information",
             timeout: float | None = None) -> None: ...

    def confirm(self, question: str, yes: str, then: Callable[[bool | None], None]) -> None: ...

    def reload(self, *, soon: bool = False) -> None: ...


def watched(run: RunState) -> Watched:
    """What the run state says of a watched run (nothing unless it is `watching`)."""
    if run.state != "watching":
        return None, None, None, ()
    return run.pid, run.log, run.resumes_at, run.lanes


class RunWatch:
    """Follows another process's run on the main screen: run state, log pane, reload."""

    class Seen(Message, bubble=False):
        """Another process's run was seen (pid) or is gone (None)."""

        def __init__(self, pid: int | None, log_path: Path | None,
                     resumes_at: float | None = None,
                     lanes: tuple[LaneView, ...] = ()) -> None:
            super().__init__()
            self.pid = pid
            """The pid holding the run lock, or None."""
            self.log_path = log_path
            """Its newest log file."""
            self.resumes_at = resumes_at
            """While a usage limit holds that run (`.orchestrator/pause.json`): when it
            resumes."""
            self.lanes = lanes
            """That run's live agents (its run.json, read by app.engine.liverun)."""

    def __init__(self, screen: RunWatchScreen, project: Project,
                 lock_holder: LockHolder) -> None:
        self._screen = screen
        self._project = project
        self._lock_holder = lock_holder
        self._stop = asyncio.Event()
        self._tail_stop = threading.Event()
        self._tailing: threading.Event | None = None
        """The stop event of the tail running, if one is."""
        self._shown_log: Path | None = None
        """The finished attempt's log the pane shows, if it shows one."""

    @property
    def watched_pid(self) -> int | None:
        """The other process whose run the board is watching, if any (the run state's)."""
        return watched(self._screen.run)[0]

    def start(self) -> None:
        """Look for another process's run every WATCH_POLL_S (until `stop`)."""
        self._screen.run_worker(self._look(), name="watch-runs", group="watch-runs",
                                exclusive=True, exit_on_error=False,
                                description="look for a run in another process")

    def stop(self) -> None:
        """Stop looking and tailing."""
        self._stop.set()
        self._tail_stop.set()

    async def _look(self) -> None:
        while not self._stop.is_set():
            if not self._screen.engine_running:
                try:
                    found = await self._find()
                except OSError:  # a file vanished mid-look: look again next time
                    found = watched(self._screen.run)
                if found != watched(self._screen.run):
                    self._screen.post_message(self.Seen(*found))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), WATCH_POLL_S)

    async def _find(self) -> Watched:
        """Who holds the run lock (not us), its newest log, its pause and its lanes."""
        pid = await asyncio.to_thread(self._lock_holder, self._project)
        if pid == os.getpid():
            pid = None  # our own run, between starting it and its first event
        if not pid:
            return pid, None, None, ()
        log = await asyncio.to_thread(newest_log, self._project.logs_dir, self._followed(),
                                      watched(self._screen.run)[1])
        resumes, lanes = await asyncio.to_thread(self._run_facts, pid)
        return pid, log, resumes, lanes

    def _followed(self) -> str | None:
        """The selected card's item when it is in progress: its lane's log is tailed."""
        screen = self._screen
        item_id = screen.board.selected_id
        backlog = screen.backlog
        item = backlog.by_id.get(item_id) if backlog is not None and item_id else None
        return item.id if item is not None and item.status == "in_progress" else None

    def _run_facts(self, pid: int) -> tuple[float | None, tuple[LaneView, ...]]:
        """When the watched run resumes, if a usage limit holds it (a pause kept past its
        time is the run's to clear: it is about to go on), and its lanes (small files
        only: the worklog is not read)."""
        from app.engine.liverun import live_run  # with the worklog's: once a run is seen

        run = live_run(self._project, pid=pid, spend=False)
        if run is None:
            return None, ()
        return (run.pause.resumes_at if run.pause is not None else None,
                tuple(LaneView(lane.item, lane.phase, lane.attempt, lane.agent, lane.node)
                      for lane in run.lanes))

    def seen(self, message: RunWatch.Seen) -> None:
        """Show what the last look found (another run, a new log of it, or no run)."""
        screen = self._screen
        if screen.engine_running:
            return
        was_pid, was_log, _resumes, _lanes = watched(screen.run)
        if message.pid is None:
            if was_pid is not None:
                screen.tell(f"the run of pid {was_pid} ended", timeout=4)
            self._tail_stop.set()
            screen.set_run(RunState())
            screen.reload()
            return
        if was_pid is None:
            screen.log_shown = True
        run = replace(screen.run, state="watching", pid=message.pid,
                      resumes_at=message.resumes_at, lanes=message.lanes)
        if message.log_path != was_log:
            match = LOG_NAME.match(message.log_path.name) if message.log_path else None
            run = RunState("watching", pid=message.pid, log=message.log_path,
                           item_id=match["item"] if match else None,
                           phase=match["phase"] if match else None,
                           attempt=int(match["attempt"]) if match else None,
                           resumes_at=message.resumes_at, lanes=message.lanes)
            if message.log_path is not None:
                agent = next((f" · {lane.agent}" for lane in message.lanes if match
                              and lane.item_id == match["item"] and lane.agent), "")
                screen.log_pane.begin(
                    f"{match['item']} · {match['phase']} · attempt {match['attempt']}"
                    f"{agent} (pid {message.pid})" if match else message.log_path.name)
                self._tail_stop.set()
                self._tail_stop = threading.Event()
                self.tail(message.log_path, self._tail_stop)
        screen.set_run(run)

    class FinishedLog(Message, bubble=False):
        """A card's newest attempt's log, opened at its end (in a worker)."""

        def __init__(self, item_id: str, path: Path, lines: TailIndex) -> None:
            super().__init__()
            self.item_id = item_id
            self.path = path
            self.lines = lines

    def highlighted(self, item_id: str | None) -> None:
        """A card was highlighted. While no run is on and no run's lines were shown, the
        log pane shows its newest attempt's log, at its end: a worker finds it and reads
        only the end of the file (app/engine/jsonl.py TailIndex), its lines are
        classified as they are drawn, and lines further up are indexed as the person
        scrolls up."""
        if item_id and self._idle():
            self._screen.run_worker(partial(self._open_log, item_id), name="finished-log",
                                    group="finished-log", thread=True, exclusive=True,
                                    exit_on_error=False,
                                    description="open a finished attempt's log")

    def _idle(self) -> bool:
        """No run on, none watched, and no run's lines in the pane."""
        screen = self._screen
        tailing = self._tailing is not None and not self._tailing.is_set()
        return not (tailing or screen.log_pane.live or screen.run.state != "idle"
                    or screen.engine_running)

    def _open_log(self, item_id: str) -> None:
        """In a worker: find `item_id`'s newest log and index its end."""
        from app.engine.jsonl import TailIndex

        path = attempt_log(self._project.logs_dir, item_id)
        if path is None or path == self._shown_log:
            return
        try:
            lines = TailIndex(path)
        except OSError:
            return
        if not get_current_worker().is_cancelled:
            self._screen.post_message(self.FinishedLog(item_id, path, lines))

    def show_finished(self, message: FinishedLog) -> None:
        """Show a log `_open_log` found, unless a run began, or the card changed, since."""
        screen = self._screen
        if screen.closing or not self._idle() or message.path == self._shown_log \
                or screen.board.selected_id != message.item_id:
            return
        from app.engine.streamjson import describe

        self._shown_log = message.path
        match = LOG_NAME.match(message.path.name)
        source = (f"{match['item']} · {match['phase']} · attempt {match['attempt']} "
                  "(finished)" if match else message.path.name)
        screen.log_pane.show_file(source, message.lines, describe)

    def tail(self, path: Path, stop: threading.Event) -> None:
        """Tail `path` into the log pane (in a worker thread) until `stop` is set."""
        self._tailing = stop
        self._screen.run_worker(partial(tail_log, path, stop, self._screen.post_message),
                                name="tail", group="tail", thread=True, exclusive=True,
                                exit_on_error=False, description="tail another run's log")

    def lines(self, message: TailLines) -> None:
        """Write a batch of tailed lines, then let the tail post the next one."""
        try:
            if not self._screen.closing:
                from app.engine.streamjson import describe  # loaded by the first batch

                # classified by the pane when it draws them: a few dozen of thousands
                self._screen.log_pane.add_lines(message.lines, classify=describe)
        finally:
            if message.in_flight is not None:
                message.in_flight.done()

    # --- the keys on a watched run ----------------------------------------------------------------
    def pause_run(self) -> None:
        """`r`: the watched run finishes its current phase attempt, then stops (SIGUSR1)."""
        pid = self._signal(signal.SIGUSR1)
        if pid is not None:
            self._screen.tell(f"the run of pid {pid} pauses after its current phase",
                              timeout=4)

    def stop_run(self) -> None:
        """`s`: ask, then send SIGTERM to the process whose run the board watches."""
        pid = self.watched_pid

        def done(yes: bool | None) -> None:
            if yes and self._signal(signal.SIGTERM) is not None:
                self._screen.tell(f"stopping the run of pid {pid}…", timeout=6)
        self._screen.confirm(f"Stop the run of pid {pid} now? Its item stays resumable.",
                             "Stop", done)

    def _signal(self, signum: signal.Signals) -> int | None:
        """Send `signum` to the process whose run the board watches, if it still holds the
        run lock (a pid is never signalled once its run has ended: it may be reused).
        Returns that pid, or None after telling why not."""
        screen = self._screen
        pid = self.watched_pid
        if not pid:
            return None
        if self._lock_holder(self._project) != pid:
            screen.tell(f"the run of pid {pid} has ended", timeout=4)
            return None
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            screen.tell(f"the run of pid {pid} has ended", timeout=4)
            return None
        except PermissionError:
            screen.tell(f"the run of pid {pid} belongs to another user: the board cannot "
                        "signal it", severity="error", timeout=8)
            return None
        return pid
