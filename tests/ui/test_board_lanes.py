"""The board with a run of three lanes (`[run] max_parallel = 3`): the real pipeline in the
App's worker thread, scripted agents in three git worktrees at once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import REPO
from test_board import settle, wait_for

from app.ui.app import BoardApp
from app.ui.jobs.lanelog import ALL_LANES
from widgets.board import BoardColumn
from widgets.logpane import LogPane
from widgets.status import RunHeader

sys.path.insert(0, str(REPO / "tests"))
from engine_helpers import make_project, ready

pytestmark = pytest.mark.anyio


def header(app: BoardApp) -> str:
    return str(app.query_one(RunHeader).render())


async def test_three_lanes_show_in_the_header_and_the_log_follows_the_selected_lane(
        tmp_path: Path) -> None:
    script = {"default": {"mode": "slow", "lines": 8}}
    project = make_project(tmp_path / "p", [ready(title=f"Item {i}") for i in (1, 2, 3)]
                           + [{"title": "Not yet", "status": "scoped"}],
                           script=script, git=True, run={"max_parallel": 3})
    app = BoardApp(project, watch_files=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        # Every live lane is an in-progress card, and the header counts them.
        await wait_for(pilot, lambda: "3 lanes" in header(app), timeout=30)
        column = app.query_one("#col-in_progress", BoardColumn)
        await wait_for(pilot, lambda: set(column.item_ids) == {"WRK-001", "WRK-002",
                                                               "WRK-003"}, timeout=10)
        pane = app.query_one(LogPane)
        # The selected card's lane: only WRK-002's lines, unlabelled.
        app.main.board.select("WRK-002")
        await wait_for(pilot, lambda: pane.source.startswith("WRK-002 · "), timeout=10)
        await wait_for(pilot, lambda: any("slow line 2" in line
                                          for line in pane.log_view.lines), timeout=20)
        lines = list(pane.log_view.lines)
        assert not any("WRK-001" in line or "WRK-003" in line for line in lines), lines
        assert not any("│" in line for line in lines)
        # A card without a lane (nothing of it ran): every lane, each line labelled.
        app.main.board.select("WRK-004")
        await wait_for(pilot, lambda: pane.source.startswith(ALL_LANES), timeout=10)
        await wait_for(pilot, lambda: {line.split("│", 1)[0] for line in pane.log_view.lines
                                       if "│" in line} >= {"WRK-001", "WRK-002", "WRK-003"},
                       timeout=20)
        await wait_for(pilot, lambda: app.main.run_state == "idle", timeout=90)
        done = app.query_one("#col-done", BoardColumn)
        await wait_for(pilot, lambda: set(done.item_ids) >= {"WRK-001", "WRK-002",
                                                             "WRK-003"}, timeout=10)
