"""One key table (app/ui/keys.py): the bindings, the help screen, the command palette and
the README's "The board's keys" all come from it, and the keys it only documents are bound
where it says."""

from __future__ import annotations

import re

import pytest
from conftest import REPO
from test_board import new_app, settle
from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.widgets import OptionList, Static

from app.engine.project import Project
from app.ui import keys
from app.ui.app import BoardApp
from app.ui.dialogs.help import HelpScreen
from app.ui.screens.main import MainScreen
from widgets.board import Board, BoardColumn

pytestmark = pytest.mark.anyio

README = REPO / "README.md"
SECTION = "## The board's keys"


def readme_table() -> list[tuple[str, str]]:
    """The (key, does) rows of the table in the README's keys section."""
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\|(.*)\|(.*)\|\s*$", section, re.M)
    return [(key.strip(), does.strip()) for key, does in rows[2:]]  # after the header rows


def test_the_readme_table_is_the_key_table() -> None:
    assert readme_table() == [(key.shown, key.does) for key in keys.KEYS]
    assert keys.markdown_table() in README.read_text(encoding="utf-8")


def binding_fields(binding: object) -> tuple[object, ...]:
    assert isinstance(binding, Binding)
    return (binding.key, binding.action, binding.description, binding.show,
            binding.key_display, binding.id, binding.tooltip)


@pytest.mark.parametrize(("cls", "scope"), [(BoardApp, "app"), (MainScreen, "main")])
def test_the_bindings_are_the_tables(cls: type[App[object] | MainScreen],
                                     scope: keys.Scope) -> None:
    """Every binding the App and the main screen add is a command of the table, and every
    command of the table is bound, with its Footer label, tooltip and id."""
    # A class's own BINDINGS (Textual merges the bases' in at run time).
    assert [binding_fields(b) for b in cls.BINDINGS] == [
        (c.key, c.action, c.label, c.show, c.key_display, c.id, c.tooltip)
        for c in keys.commands(scope)]
    for command in keys.commands(scope):
        assert callable(getattr(cls, f"action_{command.action}", None)), command.action


def test_every_command_has_its_own_id_and_palette_entry() -> None:
    commands = keys.commands()
    assert len({c.id for c in commands}) == len(commands)
    assert len({c.palette for c in commands}) == len(commands)
    assert all(c.palette.startswith("board: ") and c.tooltip for c in commands)


def test_keys_the_table_only_documents_are_bound_where_it_says() -> None:
    """Rows without commands: moving (widgets/board.py and OptionList) and ctrl+p
    (Textual's palette)."""
    documented = [key.shown for key in keys.KEYS if not key.commands]
    assert documented == ["←↓↑→ hjkl", "ctrl+p"]

    def bound(cls: type[DOMNode], action: str) -> set[str]:
        return {k.strip() for b in cls.BINDINGS if isinstance(b, Binding) and b.action == action
                for k in b.key.split(",")}

    assert bound(Board, "column(-1)") == {"left", "h"}
    assert bound(Board, "column(1)") == {"right", "l"}
    assert {"j", "down"} <= bound(BoardColumn, "cursor_down") | bound(OptionList, "cursor_down")
    assert {"k", "up"} <= bound(BoardColumn, "cursor_up") | bound(OptionList, "cursor_up")
    assert BoardApp.COMMAND_PALETTE_BINDING == "ctrl+p"


async def test_the_help_screen_lists_every_key(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-keys Static", Static).render())
        lines = [" ".join(line.split()) for line in text.splitlines()]
        assert lines == [f"{key.shown} {key.does}" for key in keys.KEYS]


async def test_the_palette_offers_every_command(board_project: Project) -> None:
    """On the board: every command of the App and the main screen (a view's commands, such
    as the documents', while that view is shown: tests/ui/test_board_reading.py)."""
    app = new_app(board_project)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        offered = {c.title: c for c in app.get_system_commands(app.screen)}
        for command in (*keys.commands("app"), *keys.commands("main")):
            entry = offered[command.palette]
            target = app if command.scope == "app" else app.main
            assert entry.help == command.tooltip
            assert entry.callback == getattr(target, f"action_{command.action}")
