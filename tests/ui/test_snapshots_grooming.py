"""Snapshot tests of the edit form (`e`), SVG baselines in snapshots/test_snapshots_grooming/.

Deterministic as the board's own snapshots (tests/ui/test_snapshots_board.py): fixed
timestamps and clock, no file watching, no blinking cursor. Update with
`pytest tests/ui/test_snapshots_grooming.py --snapshot-update` (no xdist), after looking.
"""

from __future__ import annotations

from typing import Any

from test_board import board_of, settle
from test_snapshots_board import board_app, no_blink
from textual.pilot import Pilot
from textual.widgets import Input

from app.engine.project import Project


async def open_edit(pilot: Pilot[int], item_id: str) -> None:
    await settle(pilot)
    board_of(pilot).main.board.select(item_id)
    await pilot.press("e")
    await pilot.pause()
    no_blink(pilot)
    await pilot.pause()


class TestEditForm:
    """The form `e` opens, at the smallest supported size and a large one."""

    def test_edit_form_80x24(self, snap_compare: Any, board_project: Project) -> None:
        """WRK-005 (in progress, build) in the form over the board: `Edit WRK-005 ·
        in_progress (build)`, then title `Password reset by email`, size medium, complexity
        medium, risk low on one line, depends on `WRK-001`, the notes `Tokens expire after
        one hour.` in a four-line box, no error, and the hint `Enter saves · ctrl+j: a new
        line in the notes · Escape cancels`. The whole form fits in 24 lines."""
        async def run_before(pilot: Pilot[int]) -> None:
            await open_edit(pilot, "WRK-005")
        assert snap_compare(board_app(board_project), terminal_size=(80, 24),
                            run_before=run_before)

    def test_edit_form_with_a_cycle_160x48(self, snap_compare: Any,
                                           board_project: Project) -> None:
        """WRK-001's form at 160x48 after typing `WRK-005` as its dependency (WRK-005
        depends on WRK-001) and `huge` as its size: both fields are tinted red and the
        error line names the first problem, `size must be small, medium or large (or none
        to clear it), not 'huge'`."""
        async def run_before(pilot: Pilot[int]) -> None:
            await open_edit(pilot, "WRK-001")
            form = pilot.app.screen
            for field, text in (("depends_on", "WRK-005"), ("size", "huge")):
                widget = form.query_one(f"#edit-{field}", Input)
                widget.focus()
                widget.value = ""
                await pilot.press(*text)
            await pilot.pause()
        assert snap_compare(board_app(board_project), terminal_size=(160, 48),
                            run_before=run_before)
