"""Watching a run of another process: who holds the run lock, and its newest log.

Every WATCH_POLL_S the board asks who holds `.orchestrator/run.lock`. While another
process does, the header says so, with every lane of that run (its run.json, read by
app/engine/liverun.py in the worker), and the log pane tails that run's newest log file
(app/ui/tail.py); while a usage limit holds that run (its `.orchestrator/pause.json`),
the header counts down to the resume. When the lock is free again the board goes back to
idle and reloads. The keys that act on that run (`s`, `r`) are the Runner's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import threading
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from app.engine.liverun import live_run
from app.engine.project import Project
from app.ui.bridge import LockHolder
from app.ui.messages import RunWatched, TailLines
from app.ui.tail import tail_log
from widgets.status import LaneView, RunView

if TYPE_CHECKING:
    from app.ui.screen import MainScreen

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


class RunWatch:
    """Follows another process's run on the main screen: header, log pane, reload."""

    def __init__(self, screen: MainScreen, project: Project, lock_holder: LockHolder) -> None:
        self._screen = screen
        self._project = project
        self._lock_holder = lock_holder
        self.watched_pid: int | None = None
        """The other process whose run the board is watching, if any."""
        self.watched_log: Path | None = None
        """The log file of that run being tailed."""
        self.watched_resumes: float | None = None
        """When that run resumes, while a usage limit holds it."""
        self.watched_lanes: tuple[LaneView, ...] = ()
        """That run's live agents, from its run.json."""
        self._stop = asyncio.Event()
        self._tail_stop = threading.Event()

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
            if self._screen.runner.engine is None:
                try:
                    pid = await asyncio.to_thread(self._lock_holder, self._project)
                    if pid == os.getpid():
                        pid = None  # our own run, between starting it and its first event
                    log = (await asyncio.to_thread(newest_log, self._project.logs_dir,
                                                   self._followed(), self.watched_log)
                           if pid else None)
                    resumes, lanes = (await asyncio.to_thread(self._run_facts, pid) if pid
                                      else (None, ()))
                except OSError:  # a file vanished mid-look: look again next time
                    pid, log = self.watched_pid, self.watched_log
                    resumes, lanes = self.watched_resumes, self.watched_lanes
                if (pid, log, resumes, lanes) != (self.watched_pid, self.watched_log,
                                                  self.watched_resumes, self.watched_lanes):
                    self._screen.post_message(RunWatched(pid, log, resumes, lanes))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), WATCH_POLL_S)

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
        run = live_run(self._project, pid=pid, spend=False)
        if run is None:
            return None, ()
        return (run.pause.resumes_at if run.pause is not None else None,
                tuple(LaneView(lane.item, lane.phase, lane.attempt) for lane in run.lanes))

    def seen(self, message: RunWatched) -> None:
        """Show what the last look found (another run, a new log of it, or no run)."""
        screen = self._screen
        if screen.runner.engine is not None:
            return
        if message.pid is None:
            if self.watched_pid is not None:
                screen.tell(f"the run of pid {self.watched_pid} ended", timeout=4)
            self.watched_pid = self.watched_log = self.watched_resumes = None
            self.watched_lanes = ()
            self._tail_stop.set()
            screen.status.resumes_at = None
            screen.status.show(RunView(), "idle")
            screen.feed.reload()
            return
        if self.watched_pid is None:
            screen.log_shown = True
        self.watched_pid = message.pid
        self.watched_resumes = screen.status.resumes_at = message.resumes_at
        self.watched_lanes = message.lanes
        if message.log_path != self.watched_log:
            self.watched_log = message.log_path
            match = LOG_NAME.match(message.log_path.name) if message.log_path else None
            screen.status.view = RunView("watching", pid=message.pid,
                                         item_id=match["item"] if match else None,
                                         phase=match["phase"] if match else None,
                                         attempt=int(match["attempt"]) if match else None)
            if message.log_path is not None:
                screen.log_pane.begin(
                    f"{match['item']} · {match['phase']} · attempt {match['attempt']} "
                    f"(pid {message.pid})" if match else message.log_path.name)
                self._tail_stop.set()
                self._tail_stop = threading.Event()
                self.tail(message.log_path, self._tail_stop)
        screen.status.show(replace(screen.status.view, lanes=len(message.lanes),
                                   lane_views=message.lanes), "watching")

    def tail(self, path: Path, stop: threading.Event) -> None:
        """Tail `path` into the log pane (in a worker thread) until `stop` is set."""
        self._screen.run_worker(partial(tail_log, path, stop, self._screen.post_message),
                                name="tail", group="tail", thread=True, exclusive=True,
                                exit_on_error=False, description="tail another run's log")

    def lines(self, message: TailLines) -> None:
        """Write a batch of tailed lines, then let the tail post the next one."""
        try:
            if not self._screen.closing:
                self._screen.log_pane.add_lines(message.lines)
        finally:
            if message.in_flight is not None:
                message.in_flight.done()
