"""What the board shows of an agent's and a person's words: the log pane's kinds of lines
apart (thinking and prompts dimmed, API retries in the warning colour, errors standing
out), and never a control character of a title, a reason or an agent line on the
terminal: they show escaped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import BOARD_BACKLOG, FakeEngine, make_board_project
from test_board import new_app, settle, wait_for
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from app.engine.events import (
    AgentLine,
    AgentOutput,
    PhaseFinished,
    PhaseStarted,
    RunFinished,
    RunStarted,
)
from app.engine.project import Project
from app.ui.dialogs.confirm import ConfirmScreen
from app.ui.dialogs.moves import UnblockScreen
from widgets.board import BoardColumn
from widgets.detail import DetailPane
from widgets.logpane import LogPane
from widgets.status import RunHeader

pytestmark = pytest.mark.anyio


# --- the log pane's kinds of lines --------------------------------------------------------------
async def test_thinking_and_prompts_are_dimmed_retries_warn_errors_stand_out(
        board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("L")
        pane = app.query_one(LogPane)
        pane.add_lines([AgentLine("text", "Writing the PRD."),
                        AgentLine("thinking", "The form needs a CSRF token."),
                        AgentLine("prompt", "prompt: Explore the login code."),
                        AgentLine("retry", "API retry 2/10 in 4 s (529 overloaded)"),
                        AgentLine("error", "tool error: exit 1")])
        await pilot.pause()
        log = pane.log_view
        assert log.lines[-5:] == ["  Writing the PRD.", "∴ The form needs a CSRF token.",
                                  "» prompt: Explore the login code.",
                                  "↻ API retry 2/10 in 4 s (529 overloaded)",
                                  "✗ tool error: exit 1"]
        theme = app.theme_variables

        def style_of(y: int) -> Any:
            strip = log.render_line(log.line_count - 5 + y - int(log.scroll_y))
            return next(seg.style for seg in strip if seg.text.strip())

        text, thinking, prompt, retry, error = (style_of(y) for y in range(5))
        assert not text.dim and thinking.dim and prompt.dim
        assert retry.color.triplet.hex.upper() == theme["text-warning"].upper()
        assert error.color.triplet.hex.upper() == theme["error"].upper() and error.bold


# --- no control character reaches the terminal --------------------------------------------------
PWNED = "\x1b]0;pwned\x07"
"""An escape sequence that retitles a terminal (OSC 0), as a title or an agent might carry."""
SHOWN = "\\x1b]0;pwned\\x07"


def rendered(widget: Widget) -> str:
    """The text of every line the widget renders now (what its strips carry)."""
    strips: list[Strip] = widget.render_lines(Region(0, 0, *widget.size))
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


class PwnedEngine(FakeEngine):
    """An agent whose words and reason carry an escape sequence."""

    def run(self) -> RunFinished:
        self.bus.emit(RunStarted(kind="run", pid=1))
        self.bus.emit(PhaseStarted(item_id="WRK-004", phase="prd", attempt=1, at=1000.0))
        self.bus.emit(AgentOutput(item_id="WRK-004", phase="prd", attempt=1, lines=(
            AgentLine("text", f"look {PWNED} here", f'{{"text": "{PWNED}"}}'),)))
        self.bus.emit(PhaseFinished(item_id="WRK-004", phase="prd", attempt=1,
                                    outcome="failed", reason=f"it said {PWNED}"))
        finished = RunFinished(reason="no more work")
        self.bus.emit(finished)
        return finished


async def test_titles_reasons_and_agent_lines_show_control_characters_escaped(
        tmp_path: Path) -> None:
    text = BOARD_BACKLOG.replace(
        "title: Migrate sessions to Redis", 'title: "Migrate \\e]0;pwned\\a"').replace(
        "blocked_reason: Which Redis cluster should sessions use? Ops has two.",
        'blocked_reason: "\\e]0;pwned\\a"')
    project = make_board_project(tmp_path / "p", text)
    assert project.store().load().get("WRK-006").title == f"Migrate {PWNED}"
    app = new_app(project, pipeline_factory=PwnedEngine)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        seen: dict[str, str] = {}
        blocked = app.query_one("#col-blocked", BoardColumn)
        seen["card"] = rendered(blocked)
        app.main.board.select("WRK-006")
        await pilot.press("enter")
        await settle(pilot)
        seen["details"] = rendered(app.query_one(DetailPane).query_one("#detail-body"))
        await pilot.press("r")
        await wait_for(pilot, lambda: app.main.run_state == "idle")
        log = app.query_one(LogPane).log_view
        seen["log"] = rendered(log)
        await pilot.press("J")  # the raw JSON lines, as the agent printed them
        await pilot.pause()
        seen["raw log"] = rendered(log)
        seen["header"] = rendered(app.query_one(RunHeader))
        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, UnblockScreen)
        seen["unblock"] = "\n".join(rendered(w) for w in app.screen.query("Static"))
        await pilot.press("escape", "d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        seen["delete"] = "\n".join(rendered(w) for w in app.screen.query("Static"))
        await pilot.press("n")
    for where, shown in seen.items():
        assert "\x1b" not in shown and "\x07" not in shown, where
    for where in ("card", "details", "log", "raw log", "unblock", "delete"):
        assert SHOWN in seen[where], (where, seen[where])
    assert seen["card"].count(SHOWN) == 2  # the title and the blocked reason
    assert f"look {SHOWN} here" in seen["log"] and f"it said {SHOWN}" in seen["log"]
