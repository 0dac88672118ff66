"""The review queue on the board: the to-review column, `v` (the review view: the branch's
diff, the documents, SPEC progress and cost), `A` (approve: merged by a run of it alone)
and `X` (reject with notes), with Pilot, on a real git repository."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import REPO, stored_item
from review_project import make_review_project
from test_board import new_app, settle, wait_for
from textual.widgets import Input, Static

from app.ui.dialogs.confirm import ConfirmScreen
from app.ui.dialogs.moves import RejectScreen
from app.ui.screens.review import ReviewScreen
from widgets.board import BoardColumn
from widgets.diffview import DiffView

sys.path.insert(0, str(REPO / "tests"))
from engine_helpers import run_git

pytestmark = pytest.mark.anyio


async def test_the_review_view_shows_the_branch_diff_documents_and_cost_and_approves(
        tmp_path: Path) -> None:
    project = make_review_project(tmp_path / "p")
    app = new_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        column = app.query_one("#col-review", BoardColumn)
        assert column.display
        assert column.item_ids == ("WRK-001", "WRK-002")
        app.main.board.select("WRK-001")
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        facts = screen.query_one("#review-facts", Static)
        await wait_for(pilot, lambda: "SPEC 2/2" in str(facts.render()), timeout=10)
        assert str(facts.render()) == ("orchestrate/WRK-001 → main · SPEC 2/2 · 6 attempts · "
                                       "$0.42 · 3m00s")
        diff = screen.query_one(DiffView)
        assert any("+def redeem(token):" in line for _, line in diff.lines)
        assert any("reset.py" in line and "|" in line for _, line in diff.lines)  # the stat
        assert [d.name for d in screen.documents] == ["PRD.md", "SPEC.md", "REVIEW.md"]
        await pilot.press("A")
        # Approved from its review: merged at once by a run of it alone, nothing asked.
        await wait_for(pilot, lambda: stored_item(project, "WRK-001").status == "done",
                       timeout=30)
        await wait_for(pilot, lambda: app.main.run_state == "idle", timeout=30)
    assert (project.root / "reset.py").is_file()
    assert "Merge orchestrate/WRK-001" in run_git(project.root, "log", "--format=%s")


async def test_approve_on_the_board_asks_first(tmp_path: Path) -> None:
    project = make_review_project(tmp_path / "p")
    app = new_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        app.main.board.select("WRK-001")
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await settle(pilot, 0.2)
        assert stored_item(project, "WRK-001").status == "to_review"
        # An item that does not wait for review is not approved, and the board says why.
        app.main.board.select("WRK-003")
        await pilot.press("A")
        await settle(pilot, 0.1)
        assert not isinstance(app.screen, ConfirmScreen)
        assert stored_item(project, "WRK-003").status == "ready"


async def test_reject_asks_for_notes_and_sends_the_item_back_to_build(tmp_path: Path) -> None:
    project = make_review_project(tmp_path / "p")
    app = new_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        app.main.board.select("WRK-001")
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, RejectScreen))
        app.screen.query_one(Input).value = "tokens must be single-use across restarts"
        await pilot.press("enter")
        await settle(pilot, 0.2)
        await wait_for(pilot, lambda: stored_item(project, "WRK-001").status == "in_progress")
        item = stored_item(project, "WRK-001")
        assert item.phase == "build"
        assert item.notes == "Sent back from review: tokens must be single-use across restarts"
        column = app.query_one("#col-in_progress", BoardColumn)
        await wait_for(pilot, lambda: "WRK-001" in column.item_ids)
        # `z` takes the reject back.
        await pilot.press("z")
        await settle(pilot, 0.2)
        await wait_for(pilot, lambda: stored_item(project, "WRK-001").status == "to_review")


async def test_the_to_review_column_hides_when_nobody_reviews(tmp_path: Path) -> None:
    project = make_review_project(tmp_path / "p")
    text = project.config_path.read_text().replace('merge_when = "review"\n', "")
    project.config_path.write_text(text)
    project.backlog_path.write_text(project.backlog_path.read_text()
                                    .replace("status: to_review", "status: ready")
                                    .replace("status: approved", "status: ready"))
    app = new_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, 0.2)
        assert not app.query_one("#col-review", BoardColumn).display
