"""Pilot tests of the board's grooming keys of issue 14: `e` (the edit form, checked as it
is typed), shift+up / shift+down (a card's place in its column, which is the run's order)
and `z` (undo), each ending in the same actions as `orchestrate edit`, `move` and `undo`."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_board_project
from test_board import board_of, new_app, notifications, settle, wait_for
from textual.pilot import Pilot
from textual.widgets import Input, Static

from app.backlog.model import Item
from app.engine import actions
from app.engine.project import Project
from app.ui.dialogs.items import EditItemScreen, NotesArea
from widgets.board import BoardColumn

pytestmark = pytest.mark.anyio


def stored(project: Project, item_id: str) -> Item:
    return project.store().load().get(item_id)


def file_order(project: Project) -> list[str]:
    return [i.id for i in project.store().load().items]


async def open_form(pilot: Pilot[int], item_id: str = "WRK-001") -> EditItemScreen:
    app = board_of(pilot)
    app.main.board.select(item_id)
    await pilot.press("e")
    await wait_for(pilot, lambda: isinstance(app.screen, EditItemScreen))
    await pilot.pause()
    assert isinstance(app.screen, EditItemScreen)
    return app.screen


def error_text(form: EditItemScreen) -> str:
    return str(form.query_one("#edit-error", Static).render())


async def replace(pilot: Pilot[int], form: EditItemScreen, field: str, text: str) -> None:
    """Focus a field, clear it and type `text` into it."""
    widget = form.query_one(f"#edit-{field}", Input)
    widget.focus()
    widget.value = ""
    await pilot.pause()
    if text:
        await pilot.press(*text)
    await pilot.pause()


# --- e: the edit form ----------------------------------------------------------------------
async def test_e_opens_every_field_of_the_item_and_enter_saves(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        form = await open_form(pilot, "WRK-005")
        values = {name: form.query_one(f"#edit-{name}", Input).value
                  for name in ("title", "size", "complexity", "risk", "depends_on")}
        assert values == {"title": "Password reset by email", "size": "medium",
                          "complexity": "medium", "risk": "low", "depends_on": "WRK-001"}
        assert form.query_one(NotesArea).text == "Tokens expire after one hour."
        assert error_text(form) == ""
        await replace(pilot, form, "title", "Reset passwords by email")
        await replace(pilot, form, "risk", "high")
        await replace(pilot, form, "depends_on", "WRK-001, wrk-004")
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, EditItemScreen)
        item = stored(board_project, "WRK-005")
        assert (item.title, item.risk, item.depends_on) == (
            "Reset passwords by email", "high", ("WRK-001", "WRK-004"))
        assert "WRK-005 edited: title, risk, depends_on" in notifications(app)
        assert app.main.board.selected_id == "WRK-005"


async def test_a_bad_size_is_shown_as_it_is_typed_and_enter_does_not_save(
        board_project: Project) -> None:
    before = board_project.backlog_path.read_bytes()
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        form = await open_form(pilot)
        await replace(pilot, form, "size", "huge")
        assert error_text(form) == ("size must be small, medium or large (or none to clear "
                                    "it), not 'huge'")
        assert form.query_one("#edit-size").has_class("-invalid")
        form.query_one("#edit-title", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, EditItemScreen)  # still open, on the bad field
        assert app.focused is form.query_one("#edit-size")
        assert board_project.backlog_path.read_bytes() == before
        await replace(pilot, form, "size", "")  # empty: none
        assert error_text(form) == "" and not form.query_one("#edit-size").has_class("-invalid")
        await pilot.press("enter")
        await settle(pilot)
        assert stored(board_project, "WRK-001").size is None


@pytest.mark.parametrize(("field", "typed", "message"), [
    ("depends_on", "WRK-099", "no item 'WRK-099' to depend on"),
    ("depends_on", "WRK-005", "WRK-001 → WRK-005 → WRK-001 would be a cycle"),
    ("depends_on", "WRK-001", "WRK-001 cannot depend on itself"),
    ("title", "", "an item needs a title"),
    ("risk", "x", "risk must be low, medium or high (or none to clear it), not 'x'"),
])
async def test_the_form_names_what_is_wrong(board_project: Project, field: str, typed: str,
                                            message: str) -> None:
    before = board_project.backlog_path.read_bytes()
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        form = await open_form(pilot)
        await replace(pilot, form, field, typed)
        assert error_text(form).startswith(message)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, EditItemScreen)
    assert board_project.backlog_path.read_bytes() == before


async def test_notes_take_new_lines_with_ctrl_j_and_enter_saves(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        form = await open_form(pilot, "WRK-002")
        notes = form.query_one(NotesArea)
        notes.focus()
        await pilot.press(*"first", "ctrl+j", *"second")
        assert notes.text == "first\nsecond"
        await pilot.press("enter")
        await settle(pilot)
        assert stored(board_project, "WRK-002").notes == "first\nsecond"


async def test_escape_cancels_the_form_and_nothing_is_written(board_project: Project) -> None:
    before = board_project.backlog_path.read_bytes()
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        form = await open_form(pilot)
        await replace(pilot, form, "title", "changed my mind")
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, EditItemScreen)
    assert board_project.backlog_path.read_bytes() == before
    assert not board_project.history_path.exists()


async def test_saving_the_form_unchanged_writes_nothing(board_project: Project) -> None:
    before = board_project.backlog_path.read_bytes()
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_form(pilot, "WRK-003")
        await pilot.press("enter")
        await settle(pilot)
        assert "WRK-003 unchanged" in notifications(app)
    assert board_project.backlog_path.read_bytes() == before


# --- shift+up / shift+down: the run's order ------------------------------------------------------
async def test_shift_arrows_move_the_card_within_its_column(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.main.board.select("WRK-002")
        await pilot.press("shift+up")
        await settle(pilot)
        assert file_order(board_project)[:2] == ["WRK-002", "WRK-001"]
        column = app.main.query_one("#col-new", BoardColumn)
        assert column.item_ids[:2] == ("WRK-002", "WRK-001")
        assert app.main.board.selected_id == "WRK-002"  # the selection moves with the card
        await pilot.press("shift+up")  # already at the top: said, nothing written
        await settle(pilot)
        assert "WRK-002 is already at the top of the new column" in notifications(app)
        await pilot.press("shift+down")
        await settle(pilot)
        assert file_order(board_project)[:2] == ["WRK-001", "WRK-002"]


async def test_a_card_moves_past_the_other_columns_items_in_the_file(tmp_path: Path) -> None:
    """Down in the ready column: after the next ready item, whatever lies between."""
    project = make_board_project(tmp_path / "p")
    actions.add_item(project, "Second ready")  # WRK-010, new
    actions.advance(project, "WRK-010", "ready")
    order = file_order(project)
    app = new_app(project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.main.board.select("WRK-004")
        await pilot.press("shift+down")
        await settle(pilot)
    moved = [i for i in order if i != "WRK-004"]
    assert file_order(project) == [*moved, "WRK-004"]  # after WRK-010, the last item


async def test_the_done_column_is_not_reordered(board_project: Project) -> None:
    before = board_project.backlog_path.read_bytes()
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.main.board.select("WRK-008")
        await pilot.press("shift+up")
        await settle(pilot)
        assert any("done column shows the newest first" in n for n in notifications(app))
    assert board_project.backlog_path.read_bytes() == before


# --- z: undo ----------------------------------------------------------------------------------
async def test_z_undoes_the_last_change_then_the_one_before(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.main.board.select("WRK-002")
        await pilot.press("shift+up")
        await settle(pilot)
        form = await open_form(pilot, "WRK-002")
        await replace(pilot, form, "title", "Rate limits")
        await pilot.press("enter")
        await settle(pilot)
        assert stored(board_project, "WRK-002").title == "Rate limits"
        await pilot.press("z")
        await settle(pilot)
        assert stored(board_project, "WRK-002").title == "Rate-limit the public API"
        assert "undid the edit of WRK-002: back to new (title)" in notifications(app)
        await pilot.press("z")
        await settle(pilot)
        assert file_order(board_project)[:2] == ["WRK-001", "WRK-002"]
        await pilot.press("z")
        await settle(pilot)
        assert any(n.startswith("nothing to undo") for n in notifications(app))


async def test_z_refuses_when_the_item_changed_since(board_project: Project) -> None:
    actions.edit_item(board_project, "WRK-004", title="Dark mode")
    actions.advance(board_project, "WRK-004", "prd")  # an engine-like change: not by the edit
    history = board_project.history_path.read_text().splitlines()
    board_project.history_path.write_text("\n".join(history[:-1]) + "\n")  # forget the advance
    before = board_project.backlog_path.read_bytes()
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("z")
        await settle(pilot)
        said = notifications(app)[-1]
        assert said.startswith("cannot undo the edit of WRK-004: it changed since (")
        assert "status ready → in_progress" in said
    assert board_project.backlog_path.read_bytes() == before
