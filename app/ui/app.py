"""The board: a Textual App over the backlog, the engine and the logs.

The App is the wiring: the stylesheet, the global keys (help, quit), the command palette,
the main screen (app/ui/screens/main.py), which lays out the board and hands the work to
one object per job (app/ui/jobs/), and the process's signals (app/ui/jobs/signals.py: a
hang-up or SIGTERM stops our run and exits 129 or 143 once it has recorded its attempt;
SIGUSR1 pauses it). Widgets post messages; the main screen's jobs act, through
app/engine/actions.py (the same actions the CLI uses) and the engine (`Pipeline`,
`Triage`) in worker threads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from textual.app import App, SystemCommand
from textual.screen import Screen

import styles
from app.engine.project import Project
from app.errors import OrchestrateError
from app.ui import keys
from app.ui.bridge import (
    EngineFactory,
    LockHolder,
    default_lock_holder,
    default_pipeline,
    default_triage,
)
from app.ui.gc import freeze_objects
from app.ui.jobs.commands import ItemCommands, system_commands
from app.ui.jobs.signals import HANGUP_EXTRA_S, BoardSignals
from app.ui.screens.main import BoardSettings, MainScreen

STYLESHEET = Path(styles.__file__).parent / "board.tcss"
"""The board's stylesheet (found next to the styles package, so a wheel install works)."""


class BoardApp(App[int]):
    """The kanban board of one project."""

    CSS_PATH = [STYLESHEET]
    TITLE = "orchestrate"
    COMMANDS = App.COMMANDS | {ItemCommands}
    AUTO_FOCUS = None  # the board focuses the first card once the backlog is loaded
    BINDINGS = keys.bindings("app")

    def __init__(self, project: Project, *, pipeline_factory: EngineFactory | None = None,
                 triage_factory: EngineFactory | None = None,
                 lock_holder: LockHolder | None = None,
                 clock: Callable[[], float] = time.time, watch_files: bool = True,
                 demo: bool = False) -> None:
        super().__init__()
        freeze_objects("imports")
        self.project = project
        """The project shown."""
        self.pipeline_factory = pipeline_factory or default_pipeline
        """Makes the pipeline a run uses (tests pass a fake)."""
        self.triage_factory = triage_factory or default_triage
        """Makes the triage run `t` starts."""
        self.lock_holder = lock_holder or default_lock_holder
        """Who else holds the run lock."""
        self.clock = clock
        """Wall time; fixed in snapshot tests so no clock shows in the picture."""
        self.watch_files = watch_files
        """Watch BACKLOG.yaml and other runs (off in most tests)."""
        self.demo = demo
        """`orchestrate demo`: a sample project run by the scripted agent (said on screen)."""
        self.signals: BoardSignals | None = None
        """The process's signal handlers, when `run_board` installed them."""
        self._main: MainScreen | None = None

    def get_default_screen(self) -> MainScreen:
        self._main = MainScreen(BoardSettings(
            self.project, self.pipeline_factory, self.triage_factory, self.lock_holder,
            self.clock, watch_files=self.watch_files, demo=self.demo))
        return self._main

    @property
    def main(self) -> MainScreen:
        """The main screen (also while a dialog is on top of it)."""
        if self._main is None:
            raise RuntimeError("the board is not running")
        return self._main

    def on_mount(self) -> None:
        if self.signals is not None:
            self.signals.attach(asyncio.get_running_loop())

    def on_unmount(self) -> None:
        if self._main is not None:
            self._main.shutdown()  # Textual may have removed the screen already

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from system_commands(self, self.main, screen)

    def action_help(self) -> None:
        """Show every key."""
        from app.ui.dialogs.help import HelpScreen
        self.push_screen(HelpScreen(keys.help_lines()))

    def action_quit_board(self) -> None:
        """Quit; while a run is live, ask first and stop it."""
        self.main.runner.quit()

    # --- signals to the process (app/ui/jobs/signals.py) ------------------------------------------
    def stop_for_signal(self, code: int) -> None:
        """A hang-up or SIGTERM: stop our run without asking; exit with `code` once it has
        recorded its attempt as interrupted (or after `hangup_bound_s`)."""
        self.main.runner.hang_up(code, self.hangup_bound_s())

    def hangup_bound_s(self) -> float:
        """How long a stopped run may take to end: the agent's kill grace and a few s."""
        from app.engine.config import AgentConfig

        try:
            grace = self.project.config().agent.kill_grace_s
        except OrchestrateError:  # a broken orchestrate.toml: the run used the default
            grace = AgentConfig.kill_grace_s
        return grace + HANGUP_EXTRA_S

    def wait_idle(self, timeout: float) -> None:
        """Wait (in any thread) until no engine of ours runs, for `timeout` at most."""
        main = self._main
        if main is not None:
            main.runner.idle.wait(timeout)


def run_board(project: Project, *, demo: bool = False) -> int:
    """Open the board on `project`; the exit code of `orchestrate board`.

    With `demo`, the board triages the new items and then runs the pipeline by itself.
    A hang-up gives 129 and SIGTERM 143, as for `orchestrate run`.
    """
    app = BoardApp(project, demo=demo)
    signals = app.signals = BoardSignals(
        stop=app.stop_for_signal, pause=lambda: app.main.runner.pause_own(),
        stop_again=lambda: app.main.runner.stop_now(), wait_idle=app.wait_idle,
        bound_s=app.hangup_bound_s)
    signals.install()
    try:
        result = app.run()
    finally:
        signals.restore()
    if signals.exit_code is not None:
        return signals.exit_code
    if app.return_code:  # the App stopped on an error (Textual printed it)
        return app.return_code
    return int(result or 0)
