"""The header's run status: which run (ours or another process's), where it is, its clock
and cost, whether a usage limit holds it (and until when), and the counts of the board.

Our Runner and the RunWatch both tell it what the run is doing; it keeps the main
screen's `run_state` (which the Footer follows) and the header line in step. While a
limit holds the run, the header counts down to the resume, a tick a second.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app.engine.limits import clock_time
from widgets.status import RunHeader, RunView

if TYPE_CHECKING:
    from app.ui.screen import MainScreen

LIVE = ("running", "pausing", "stopping", "triage")
"""Run states in which our own engine is live."""


class RunStatus:
    """What the header says about the current run."""

    def __init__(self, screen: MainScreen, clock: Callable[[], float]) -> None:
        self._screen = screen
        self._clock = clock
        self.view = RunView()
        """The run's item, phase, attempt and cost (its state is the screen's run_state)."""
        self.resumes_at: float | None = None
        """While a usage limit holds the run (ours or the watched one): when it resumes."""

    def show(self, view: RunView, state: str) -> None:
        """A run started, changed or ended: its view and the run state."""
        self.view = view
        self._screen.run_state = state
        self.refresh()

    def refresh(self) -> None:
        """Show the header line as things are now."""
        screen = self._screen
        view = self.view
        started = screen.runner.attempt_started
        elapsed = None
        if started is not None and view.item_id and view.state != "watching":
            elapsed = self._clock() - started
        counts = ""
        if screen.backlog is not None:
            b = screen.backlog
            counts = (f"{len(b.items)} items · {len(b.with_status('ready'))} ready · "
                      f"{len(b.with_status('blocked'))} blocked")
        resumes = None
        if self.resumes_at is not None and screen.run_state != "idle":
            resumes = clock_time(self.resumes_at, self._clock())
        shown = RunView(screen.run_state, view.item_id, view.phase, view.attempt, elapsed,
                        screen.runner.run_cost, screen.run_watch.watched_pid, counts, resumes,
                        view.lanes, view.lane_views)
        screen.query_one("#run-header", RunHeader).show(shown)

    def paused(self, resumes_at: float | None) -> None:
        """A usage limit holds the run until `resumes_at` (None: it goes on again)."""
        if resumes_at != self.resumes_at:
            self.resumes_at = resumes_at
            self.refresh()

    def tick(self) -> None:
        """Once a second: the live attempt's clock, or the countdown to the resume, moves on."""
        screen = self._screen
        if screen.closing:
            return  # the interval can fire after the widgets are gone
        if (self.resumes_at is not None and screen.run_state != "idle") or (
                screen.runner.attempt_started is not None and screen.run_state in LIVE):
            self.refresh()
