"""Snapshot tests of the review queue (SVG baselines in snapshots/test_snapshots_review/):
the board's to-review column and the review view, at 80x24 and 160x48.

Deterministic: the project's commits have fixed authors and dates, the worklog fixed
figures, the App's clock is fixed and file watching is off. Update with
`pytest -p no:xdist tests/ui/test_snapshots_review.py --snapshot-update`, after looking.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from review_project import make_review_project
from test_snapshots_reading import board_app, open_view

from app.engine.project import Project


@pytest.fixture
def review_project(tmp_path: Path) -> Project:
    return make_review_project(tmp_path / "project")


class TestReviewQueue:
    def test_to_review_column_160x48(self, snap_compare: Any, review_project: Project) -> None:
        """Between in progress and blocked, `to review` (2): WRK-001 `◉ waits for your
        review` (warning colour, bold) and WRK-002 `✓ approved: a run merges it` (success
        colour); WRK-003 ready, `◷ waits on WRK-001`."""
        assert snap_compare(board_app(review_project), terminal_size=(160, 48),
                            run_before=open_view("WRK-001"))

    def test_to_review_column_80x24(self, snap_compare: Any, review_project: Project) -> None:
        """Seven columns fit 80 cells: the narrow titles (`review`, `doing`)."""
        assert snap_compare(board_app(review_project), terminal_size=(80, 24),
                            run_before=open_view("WRK-001"))

    def test_review_view_160x48(self, snap_compare: Any, review_project: Project) -> None:
        """`v` on WRK-001: its title and `waits for your review`; the facts line
        `orchestrate/WRK-001 → main · SPEC 2/2 · 6 attempts · $0.42 · 3m00s`; PRD.md beside
        the branch's diff (stat, then reset.py and the three documents added, in green);
        the Footer: A Approve, X Reject, m Next doc, esc Close."""
        assert snap_compare(board_app(review_project), terminal_size=(160, 48),
                            run_before=open_view("WRK-001", "v"))

    def test_review_view_80x24(self, snap_compare: Any, review_project: Project) -> None:
        """Under 120 columns the documents sit above the diff."""
        assert snap_compare(board_app(review_project), terminal_size=(80, 24),
                            run_before=open_view("WRK-001", "v"))
