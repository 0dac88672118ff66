"""Snapshot tests of reading an item (SVG baselines in snapshots/test_snapshots_reading/):
the cards and details over dependencies, guardrails and SPEC progress, the documents view
and the checkpoints view with a whole diff, at 80x24 and 160x48.

Deterministic: the project's commits have fixed authors and dates (so fixed hashes), the
App's clock is fixed and file watching is off. Update with
`pytest -p no:xdist tests/ui/test_snapshots_reading.py --snapshot-update`, after looking.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import SNAPSHOT_DIR
from reading_project import make_reading_project
from test_board_reading import settle_all
from textual.pilot import Pilot

from app.engine.project import Project
from app.ui.app import BoardApp


@pytest.fixture
def reading_project(tmp_path: Path) -> Project:
    return make_reading_project(tmp_path / "project")


def board_app(project: Project) -> BoardApp:
    return BoardApp(project, watch_files=False, clock=lambda: 1192.0)


def open_view(item_id: str, *keys: str) -> Any:
    """A run_before that selects `item_id` on the board and presses `keys`, settling after
    each."""
    async def run_before(pilot: Pilot[int]) -> None:
        await settle_all(pilot)
        pilot.app.main.board.select(item_id)  # type: ignore[attr-defined]
        for key in keys:
            await pilot.press(key)
            await settle_all(pilot, 0.1)
    return run_before


class TestCards:
    """What cards and details say about dependencies, guardrails and SPEC progress."""

    def test_cards_and_details_160x48(self, snap_compare: Any,
                                      reading_project: Project) -> None:
        """Ready: WRK-001 ends `◷ waits on WRK-002` and WRK-003 `⊘ outside the guardrails:
        risk high, max low` (in the warning colour); in progress: WRK-002 `▰▰▰▰▰▱ build
        3/7`. The details of WRK-002: `▰▰▰▰▰▱ build  SPEC 3/7`, `depends on WRK-005
        (done)`, `needed by WRK-001, WRK-004`, the change folder's four files with `m reads
        the documents`, and four checkpoints (prd, design, build, build) with `c shows
        their diffs`."""
        assert snap_compare(board_app(reading_project), terminal_size=(160, 48),
                            run_before=open_view("WRK-002", "enter"))


class TestDocuments:
    """The documents view (`m`)."""

    def test_documents_80x24(self, snap_compare: Any, reading_project: Project) -> None:
        """`m` on WRK-002 at 80x24: the title line `WRK-002 · Password reset by email ·
        documents`, the tabs `PRD.md · DESIGN.md · SPEC.md · notes.md` with PRD.md picked
        out, then PRD.md rendered: its heading, the paragraph wrapped to the width, the
        `Goals` list with **once** in bold; the rest scrolls. Footer: m Next doc, esc
        Close."""
        assert snap_compare(board_app(reading_project), terminal_size=(80, 24),
                            run_before=open_view("WRK-002", "m"))

    def test_documents_160x48(self, snap_compare: Any, reading_project: Project) -> None:
        """`m` twice on WRK-002 at 160x48: DESIGN.md picked out in the tabs, its heading,
        `reset_tokens` as inline code, and the Python block syntax-coloured in its own
        panel."""
        assert snap_compare(board_app(reading_project), terminal_size=(160, 48),
                            run_before=open_view("WRK-002", "m", "m"))


class TestCheckpoints:
    """The checkpoints view (`c`) with a whole diff (`g`)."""

    def test_diff_80x24(self, snap_compare: Any, reading_project: Project) -> None:
        """`c`, `j`, `j`, `g` on WRK-002 at 80x24: the four checkpoints listed above (the
        third, `BUILD Tokens are issued and stored hashed`, highlighted), and below, in a
        frame titled `diff · <hash>` (subtitle `g: the stat`), the commit line in the
        warning colour, Author and Date muted, the message bold, the stat, `diff --git
        a/reset.py b/reset.py` bold, the hunk header in the primary colour and the added
        lines green. Footer: g Diff, esc Close."""
        assert snap_compare(board_app(reading_project), terminal_size=(80, 24),
                            run_before=open_view("WRK-002", "c", "j", "j", "g"))

    def test_diff_160x48(self, snap_compare: Any, reading_project: Project) -> None:
        """`c`, `end`, `g` on WRK-002 at 160x48: the list of four on the left (the last
        highlighted), and beside it the last checkpoint's whole diff: the stat with
        `reset.py` and `SPEC.md` (pluses green, minuses red), then each file's diff with
        removed lines red (`-HOUR = 3600`, `- [ ] reset_tokens table`) and added lines green
        (`+def redeem(token):`)."""
        assert snap_compare(board_app(reading_project), terminal_size=(160, 48),
                            run_before=open_view("WRK-002", "c", "end", "g"))


def test_baselines_live_in_snapshots_folder() -> None:
    """The SVGs are in <repo>/snapshots/<module>/, one per snapshot test, none stale."""
    folder = SNAPSHOT_DIR / Path(__file__).stem
    names = {p.name for p in folder.glob("*.svg")}
    expected = {f"{cls.__name__}.{name}.svg"
                for cls in (TestCards, TestDocuments, TestCheckpoints)
                for name in vars(cls) if name.startswith("test_")}
    assert names == expected
