"""The report view (`i` on the board): how past runs went, as `orchestrate report` shows
it. The three charts of `report --plot` (app/cli/charts.py, drawn on textual-plotext's
PlotextPlot widgets), then the tables below them (app/cli/reporttables.py); Escape goes
back to the board.

The records are read in a worker (app/engine/report.py): a long worklog never holds up a
key press. The charts are drawn again at each size, since where their labels go depends
on it.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Horizontal, VerticalScroll
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker
from textual_plotext import PlotextPlot

import styles
from app.cli.charts import CHARTS, Ink
from app.cli.reporttables import headline, summary
from app.engine.project import Project
from app.engine.report import Report, build_report
from app.errors import OrchestrateError
from app.ui import keys

REPORT_STYLESHEET = Path(styles.__file__).parent / "report.tcss"
WIDE_WIDTH = 120
"""From this many columns on the charts are taller (styles/report.tcss)."""


class ReportScreen(Screen[None]):
    """The report of the project's records: charts, then tables."""

    class Loaded(Message, bubble=False):
        """The records were read: the report, or why it could not be made."""

        def __init__(self, report: Report | None, error: str | None = None) -> None:
            super().__init__()
            self.report = report
            self.error = error

    KEY_SCOPE = "report"
    """The key table's scope of this view (app/ui/keys.py)."""
    BINDINGS = keys.bindings("report")
    CSS_PATH = [REPORT_STYLESHEET]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE_WIDTH, "-wide")]

    def __init__(self, project: Project) -> None:
        super().__init__()
        self.project = project
        self.report: Report | None = None
        """The report shown; None while it is read."""

    def compose(self) -> ComposeResult:
        yield Static("report · reading the worklog …", id="report-title", markup=False)
        with VerticalScroll(id="report-body"):
            yield PlotextPlot(id="report-timeline")
            with Horizontal(id="report-charts"):
                yield PlotextPlot(id="report-cost")
                yield PlotextPlot(id="report-success")
            yield Static(id="report-summary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#report-body", VerticalScroll).focus()
        project = self.project
        self.run_worker(lambda: self._read(project), name="report", group="report",
                        thread=True, exclusive=True, exit_on_error=False,
                        description="read the report")

    def _read(self, project: Project) -> None:
        try:
            message = self.Loaded(build_report(project))
        except OrchestrateError as exc:
            message = self.Loaded(None, str(exc))
        if not get_current_worker().is_cancelled:
            self.post_message(message)

    @on(Loaded)
    def _loaded(self, message: ReportScreen.Loaded) -> None:
        title = self.query_one("#report-title", Static)
        shown = self.query_one("#report-summary", Static)
        if message.report is None:
            title.update("report")
            shown.update(Text(f"cannot make the report: {message.error}"))
            return
        self.report = message.report
        title.update(f"report · {headline(message.report)}")
        shown.update(summary(message.report, with_headline=False))
        self._draw()

    def on_resize(self, event: Resize) -> None:
        self.call_after_refresh(self._draw)

    def _draw(self) -> None:
        """Each chart at its widget's size (the labels' places depend on it)."""
        report = self.report
        if report is None:
            return
        colours = self.app.theme_variables
        # The colours textual-plotext's `auto` theme draws the charts in.
        ink = Ink(Color.parse(colours.get("foreground", "white")).rgb,
                  Color.parse(colours.get("surface", "black")).rgb)
        for name, draw in CHARTS.items():
            plot = self.query_one(f"#report-{name}", PlotextPlot)
            plot.plt.clear_figure()
            width, height = plot.size
            draw(plot.plt, report, max(width, 20), max(height, 6), ink)
            plot.refresh()

    def action_close_view(self) -> None:
        """Back to the board."""
        self.dismiss(None)
