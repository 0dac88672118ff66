"""`D`: a run of its own process (`orchestrate run --detach`), which goes on after the
board closes; the board then watches it like any other process's run (app/ui/jobs/runwatch.py).

A served board (app/ui/served.py) starts every run and triage this way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from textual.message import Message

from app.engine.project import Project
from app.errors import OrchestrateError
from app.ui.jobs.node import Node
from app.ui.jobs.runner import refusal
from widgets.status import RunState


class DetachScreen(Node, Protocol):
    """What starting a detached run needs of the screen."""

    @property
    def run(self) -> RunState: ...

    @property
    def engine_running(self) -> bool: ...

    log_shown: bool

    def tell(self, message: str, *, severity: str = "information",
             timeout: float | None = None) -> None: ...


class Detacher:
    """Starts runs in processes of their own, in a worker (starting one waits for it to
    take the run lock)."""

    class Started(Message, bubble=False):
        """A detached run was started in a process of its own, or could not be."""

        def __init__(self, pid: int | None, log_path: Path | None,
                     error: str | None = None) -> None:
            super().__init__()
            self.pid = pid
            """Its process, or None when it did not start."""
            self.log_path = log_path
            """Where its own console output goes."""
            self.error = error
            """Why it did not start."""

    def __init__(self, screen: DetachScreen, project: Project) -> None:
        self._screen = screen
        self._project = project

    def detach(self) -> None:
        """Start `orchestrate run --detach` (unless a run is going)."""
        screen = self._screen
        why_not = refusal(screen.run, screen.engine_running)
        if why_not:
            screen.tell(why_not, severity="warning")
            return
        self.start(None, "start a detached run")

    def start(self, argv: list[str] | None, description: str) -> None:
        """Start `argv` (None: `orchestrate run`) detached, in a worker; a `Started`
        follows."""
        self._screen.run_worker(lambda: self._start(argv), name="detach", group="detach",
                                thread=True, exclusive=True, exit_on_error=False,
                                description=description)

    def _start(self, argv: list[str] | None) -> None:
        from app.engine.detached import start_detached

        try:
            started = start_detached(self._project, argv)
        except (OrchestrateError, OSError) as exc:
            self._screen.post_message(self.Started(None, None, str(exc)))
            return
        self._screen.post_message(self.Started(started.pid, started.log_path))

    def started(self, message: Detacher.Started) -> None:
        """The detached run started (or could not)."""
        screen = self._screen
        if message.pid is None:
            screen.tell(message.error or "the detached run did not start", severity="error",
                        timeout=8)
            return
        screen.log_shown = True
        screen.tell(f"run started in the background: pid {message.pid}; it goes on after "
                    f"the board closes (log {message.log_path})", timeout=6)
