"""The board a browser tab runs (app/ui/served.py): its runs start as processes of their
own, and a read-only board refuses every key that changes anything, saying so."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from app.engine import detached as detach
from app.engine.project import Project
from app.ui import keys
from app.ui.dialogs.help import HelpScreen
from app.ui.served import READ_ONLY_ACTIONS, ServedBoardApp, refusal, refused_actions

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Started:
    pid: int
    log_path: Path


def notifications(app: ServedBoardApp) -> list[str]:
    return [n.message for n in app._notifications]


async def settled(pilot: Pilot[int], app: ServedBoardApp) -> None:
    for _ in range(100):
        if app.main.backlog is not None and not [w for w in app.workers if not w.is_finished
                                                  and w.group in ("load", "detach")]:
            break
        await pilot.pause(0.02)
    await pilot.pause()


def test_every_command_of_the_key_table_is_kept_or_refused() -> None:
    actions = {c.action for c in keys.commands()}
    assert actions >= READ_ONLY_ACTIONS  # no stale name keeps a key that is gone
    assert refused_actions() == actions - READ_ONLY_ACTIONS
    for changing in ("add", "advance", "unblock", "delete", "triage", "run", "run_item",
                     "pause", "stop", "detach", "edit", "move_up", "move_down", "undo"):
        assert changing in refused_actions(), changing
    assert refusal("add") == "read-only board: cannot add item"
    assert refusal("run") == "read-only board: cannot run"


async def test_a_read_only_board_refuses_every_changing_key_and_says_so(
        board_project: Project) -> None:
    before = board_project.backlog_path.read_bytes()
    app = ServedBoardApp(board_project, read_only=True, watch_files=False)
    async with app.run_test(size=(140, 40)) as pilot:
        await settled(pilot, app)
        main = app.main
        for action in refused_actions():  # dimmed in the Footer
            assert main.check_action(action, ()) is False, action
        assert main.check_action("filter", ()) is True
        for key in ("a", "t", "greater_than_sign", "u", "r", "R", "D", "d", "s", "e",
                    "shift+up", "z"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is main, key  # no dialog opened
        said = notifications(app)
        for action in ("add", "triage", "advance", "unblock", "run", "run_item", "detach",
                       "delete", "stop", "edit", "move_up", "undo"):
            assert refusal(action) in said, action
        assert main.runner.engine is None and main.run_state == "idle"
        assert not [w for w in app.workers if w.group in ("detach", "engine", "action")]
        # What only changes the view still works.
        await pilot.press("enter")
        await pilot.pause()
        assert main.detail_shown
        await pilot.press("L")
        await pilot.pause()
        assert main.log_shown
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        # The palette offers only what the board allows.
        # Typed as Textual types it, any Screen (the board's override says Screen[object]).
        shown: Screen[Any] = main
        titles = {c.title for c in app.get_system_commands(shown)}
        assert "board: filter" in titles and "board: toggle details" in titles
        assert "board: add item" not in titles and "board: run" not in titles
    assert board_project.backlog_path.read_bytes() == before
    assert "read-only board: it shows the backlog and the runs" in said[0]


async def test_a_served_board_starts_its_runs_as_processes_of_their_own(
        board_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[list[str]] = []

    def fake_start(project: Project, argv: list[str] | None = None) -> Started:
        started.append(list(argv or []))
        return Started(4242, project.logs_dir / "run-1.log")

    monkeypatch.setattr(detach, "start_detached", fake_start)
    app = ServedBoardApp(board_project, watch_files=False)
    async with app.run_test(size=(140, 40)) as pilot:
        await settled(pilot, app)
        main = app.main
        assert main.check_action("add", ()) is True  # read-write: nothing refused
        await pilot.press("r")
        await settled(pilot, app)
        main.jump_to("WRK-004")  # ready
        await pilot.press("R")
        await settled(pilot, app)
        await pilot.press("t")
        await settled(pilot, app)
        assert main.runner.engine is None and main.run_state == "idle"  # never our engine
        said = notifications(app)
    root = str(board_project.root)
    assert [argv[argv.index("-C") + 1:] for argv in started] == [
        [root, "run"], [root, "run", "--target", "WRK-004"], [root, "triage"]]
    assert all(argv[1:3] == ["-m", "app"] for argv in started)
    assert any("pid 4242" in text for text in said)


def test_read_only_and_served_are_hidden_options_of_board() -> None:
    from app.cli.parser import build_parser
    args = build_parser().parse_args(["board", "--served", "--read-only"])
    assert args.served and args.read_only
    assert "--served" not in build_parser().format_help()


async def test_options_reach_the_board(board_project: Project) -> None:
    app = ServedBoardApp(board_project, read_only=True, watch_files=False,
                         clock=lambda: 1.0)
    assert app.clock() == 1.0 and app.read_only and not app.watch_files
    assert ServedBoardApp(board_project).read_only is False
