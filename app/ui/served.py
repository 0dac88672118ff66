"""The board a browser tab runs (`orchestrate serve`, app/cli/serve.py): `board --served`.

It is the same board, with two differences, each made by a subclass here so that the
terminal board's classes stay as they are:

- Its runs are detached. A tab may close at any moment and its board process with it,
  so a run started from it must not live in that process: `r`, `R` and `t` start
  `orchestrate run` (`--target ID`) or `orchestrate triage` as a process of its own, as
  `D` and `orchestrate run --detach` do, which this board and every other board then
  watch through the run lock (`s` stops it, `r` pauses it).
- With `--read-only` it keeps only the keys that change what is shown
  (READ_ONLY_ACTIONS). Every other command of the key table is refused where actions
  run (`run_action`) with a toast that says so, dimmed in the Footer and left out of
  the palette. A key added to the table later is refused until it is added to
  READ_ONLY_ACTIONS, so a new key that changes something cannot slip through.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

from textual.actions import ActionParseResult
from textual.app import SystemCommand
from textual.dom import DOMNode
from textual.screen import Screen

from app.engine.project import Project
from app.ui import keys
from app.ui.app import BoardApp
from app.ui.bridge import EngineFactory
from app.ui.jobs.detach import Detacher
from app.ui.jobs.runner import Kind, Runner, RunnerScreen
from app.ui.screens.main import BoardSettings, MainScreen

READ_ONLY_ACTIONS = frozenset({
    "details", "close", "filter", "toggle_log", "toggle_raw", "follow_log",
    "help", "quit_board", "documents", "checkpoints", "next_document", "toggle_diff",
    "close_view", "report",
})
"""The key table's actions a read-only board keeps: they change only what it shows."""


def refused_actions() -> frozenset[str]:
    """Every action of the key table a read-only board refuses."""
    return frozenset(c.action for c in keys.commands()) - READ_ONLY_ACTIONS


def refusal(action: str) -> str:
    """What a refused key says (`read-only board: cannot add item`)."""
    named = next((c.palette for c in keys.commands() if c.action == action), action)
    return f"read-only board: cannot {named.removeprefix('board: ')}"


def detached_argv(project: Project, kind: str, target: str | None) -> list[str]:
    """`orchestrate run [--target ID]` or `orchestrate triage` of `project`."""
    words = ["triage"] if kind == "triage" else \
        ["run", *(["--target", target] if target else [])]
    return [sys.executable, "-m", "app", "-C", str(project.root), *words]


class DetachedRunner(Runner):
    """A Runner whose runs and triage are processes of their own, never our engine."""

    def __init__(self, screen: RunnerScreen, project: Project, *, pipeline: EngineFactory,
                 triage: EngineFactory, detacher: Detacher) -> None:
        super().__init__(screen, project, pipeline=pipeline, triage=triage)
        self._detacher = detacher

    def start(self, kind: Kind, target: str | None = None) -> None:
        if self.running or self._screen.run.pid is not None:
            super().start(kind, target)  # refused there, with the reason
            return
        self._detacher.start(detached_argv(self._project, kind, target),
                             f"start a detached {kind}")


class ServedScreen(MainScreen):
    """The main screen of a served board: detached runs; read-only keys dimmed."""

    def __init__(self, settings: BoardSettings, *, read_only: bool) -> None:
        super().__init__(settings)
        self.runner = DetachedRunner(self, settings.project, detacher=self.detacher,
                                     pipeline=settings.pipeline_factory,
                                     triage=settings.triage_factory)
        self.read_only = read_only
        """Refuse every key that changes anything."""
        self.refused = refused_actions() if read_only else frozenset()
        """The actions this board refuses."""

    def on_mount(self) -> None:
        super().on_mount()
        if self.read_only:
            self.tell("read-only board: it shows the backlog and the runs; the keys that "
                      "would change anything are off", timeout=6)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.refused:
            return False  # dimmed in the Footer; pressing it still says why (run_action)
        return super().check_action(action, parameters)


class ServedBoardApp(BoardApp):
    """The board of one browser tab."""

    def __init__(self, project: Project, *, read_only: bool = False, **options: Any) -> None:
        super().__init__(project, **options)
        self.read_only = read_only
        """`orchestrate serve --read-only`."""

    def get_default_screen(self) -> MainScreen:
        self._main = ServedScreen(BoardSettings(
            self.project, self.pipeline_factory, self.triage_factory, self.lock_holder,
            self.clock, watch_files=self.watch_files), read_only=self.read_only)
        return self._main

    def _refuses(self, action: str | ActionParseResult, namespace: DOMNode | None) -> bool:
        main = self._main
        return isinstance(main, ServedScreen) and isinstance(action, str) \
            and namespace in (self, main) and action in main.refused

    async def run_action(self, action: str | ActionParseResult,
                         default_namespace: DOMNode | None = None,
                         namespaces: Mapping[str, DOMNode] | None = None) -> bool:
        # Every key binding and Footer click comes through here, before check_action
        # (which only dims the key): a refused key says so instead of doing nothing.
        if self._refuses(action, default_namespace if default_namespace else self):
            assert isinstance(action, str)
            self.main.tell(refusal(action), severity="warning", timeout=4)
            return True
        return await super().run_action(action, default_namespace, namespaces)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        if not self.read_only:
            yield from super().get_system_commands(screen)
            return
        refused = {c.palette for c in keys.commands() if c.action in refused_actions()}
        yield from (c for c in super().get_system_commands(screen) if c.title not in refused)


def run_served_board(project: Project, *, read_only: bool = False) -> int:
    """The board of one browser tab (`orchestrate board --served`); its exit code."""
    app = ServedBoardApp(project, read_only=read_only)
    result = app.run()
    if app.return_code:  # the App stopped on an error (Textual printed it)
        return app.return_code
    return int(result or 0)
