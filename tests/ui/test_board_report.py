"""The board's report view (`i`): it opens from the key table, reads the records in a
worker (never on the UI thread), draws the three charts of `report --plot` and the
tables of `orchestrate report` below them, and Escape goes back to the board."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import pytest
from report_project import make_report_project
from rich.console import Console
from test_board import new_app
from test_board_reading import settle_all
from textual.pilot import Pilot
from textual.widgets import Static
from textual_plotext import PlotextPlot

from app.engine import report as engine_report
from app.engine.project import Project
from app.ui import keys
from app.ui.app import BoardApp
from app.ui.screens import report as report_screen
from app.ui.screens.main import MainScreen
from app.ui.screens.report import ReportScreen
from app.ui.served import refused_actions

pytestmark = pytest.mark.anyio


@pytest.fixture
def night(tmp_path: Path) -> Project:
    return make_report_project(tmp_path / "p")


async def open_report(pilot: Pilot[Any]) -> ReportScreen:
    """`i` on the board, then wait until the report is read and drawn."""
    await settle_all(pilot)
    await pilot.press("i")
    await settle_all(pilot, 0.1)
    screen = pilot.app.screen
    assert isinstance(screen, ReportScreen)
    return screen


def static_text(widget: Static) -> str:
    """What a Static was given to show (a rich renderable), as text."""
    console = Console(width=widget.size.width, file=io.StringIO(), record=True)
    console.print(widget.content)
    return console.export_text()


def chart(screen: ReportScreen, name: str) -> str:
    """What a chart shows, as text."""
    rendered = screen.query_one(f"#report-{name}", PlotextPlot).render()
    return str(getattr(rendered, "plain", rendered))


async def test_i_opens_the_report_with_its_charts_and_figures(night: Project,
                                                              monkeypatch: Any) -> None:
    read_in: list[threading.Thread] = []
    real = engine_report.build_report

    def watched(project: Project) -> Any:
        read_in.append(threading.current_thread())
        return real(project)

    monkeypatch.setattr(report_screen, "build_report", watched)
    app: BoardApp = new_app(night)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_report(pilot)
        assert read_in and read_in[0] is not threading.main_thread()  # in a worker
        assert screen.report is not None and screen.report.overall.attempts == 27
        title = str(screen.query_one("#report-title", Static).render())
        assert title.startswith("report · 27 attempts (1 met a usage limit) · $9.45")
        timeline = chart(screen, "timeline")
        assert "timeline: attempts per lane, by outcome" in timeline
        assert "lane 1" in timeline and "lane 2" in timeline and "paused" in timeline
        assert "█ complete" in timeline and "WRK-001" in timeline
        assert "cost per hour (USD)" in chart(screen, "cost")
        success = chart(screen, "success")
        assert "prd (6)" in success and "67%" in success and "100%" in success
        tables = static_text(screen.query_one("#report-summary", Static))
        assert "by phase" in tables and "blocked: was a person needed?" in tables
        assert "usage limits: met 1 time (default 1)" in tables
        offered = {c.title for c in app.get_system_commands(app.screen)}
        assert "board: close the report" in offered
        await pilot.press("escape")
        await settle_all(pilot)
        assert isinstance(app.screen, MainScreen)


async def test_the_charts_are_drawn_again_at_a_new_size(night: Project) -> None:
    app: BoardApp = new_app(night)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_report(pilot)
        wide = chart(screen, "timeline")
        assert "WRK-003" in wide  # room for the items' ids over their lanes
        await pilot.resize_terminal(80, 24)
        await settle_all(pilot, 0.2)
        narrow = chart(screen, "timeline")
        assert max(len(line) for line in narrow.splitlines()) <= 80
        assert "lane 1" in narrow and "WRK-003" not in narrow


async def test_an_empty_project_shows_empty_charts_saying_so(tmp_path: Path) -> None:
    project = make_report_project(tmp_path / "p")
    for path in (project.worklog_path, project.history_path, project.pauses_path):
        path.unlink()
    app: BoardApp = new_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_report(pilot)
        assert "no attempts yet" in chart(screen, "timeline")
        assert "nothing spent yet" in chart(screen, "cost")
        assert "no answers yet" in chart(screen, "success")


def test_the_views_keys_are_the_tables() -> None:
    bound: Any = ReportScreen.BINDINGS  # Bindings, as keys.bindings makes them
    assert [(b.key, b.action, b.description, b.id) for b in bound] == [
        (c.key, c.action, c.label, c.id) for c in keys.commands("report")]
    assert ReportScreen.KEY_SCOPE == "report"
    assert "report" not in refused_actions()  # reading changes nothing: read-only keeps it
