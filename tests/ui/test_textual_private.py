"""The private parts of Textual and rich the board relies on, each held to the signature
it is used with and to the behaviour it gives.

A Textual (or rich) release that renames or changes one fails here, by name, instead of
leaving a board that is slower or subtly wrong. Each is there for a measured cost
(docs/DEPENDENCIES.md lists them; pyproject.toml keeps textual below the next major):

- BoardColumn._update_lines (OptionList's, run for every painted line) and its
  `_line_cache`; BoardColumn.on_resize keeps the cards measured when only the height
  changes, which relies on OptionList's own `_on_resize` being what forgets them.
- Widget._refresh_scrollbars: a long column shows its scrollbar before its cards are
  measured, so each card is measured once.
- Log._render_line, _render_line_strip, _process_line and its `_width`: the log pane keeps
  its lines as they came and makes, colours and measures only those it draws (no worker
  thread per batch, nothing made for the lines nobody sees).
- rich._wrap.divide_line: a card counts its lines as Textual's Content wraps them.
- App._driver: the bell and the desktop notifications (app/ui/jobs/alerts.py) are written
  through the App's driver, as App.bell writes its bell; Textual has no public way.
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import make_board_project
from test_board import big_backlog, new_app, settle
from textual.widget import Widget
from textual.widgets import Log, OptionList

from app.engine.events import AgentLine
from app.engine.project import Project
from widgets.board import BoardColumn
from widgets.cards import Card

pytestmark = pytest.mark.anyio


def params(func: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(func).parameters)


def test_the_private_names_have_the_signatures_used() -> None:
    assert params(OptionList._update_lines) == ["self"]
    assert params(OptionList._on_resize) == ["self"]
    assert params(Widget._refresh_scrollbars) == ["self"]
    assert params(Log._render_line) == ["self", "y", "scroll_x", "width"]
    assert params(Log._render_line_strip) == ["self", "y", "rich_style"]
    assert "self._render_line(" in inspect.getsource(Log.render_line)
    assert params(Log._process_line) == ["line"]  # a classmethod
    assert params(Log.get_selection) == ["self", "selection"]
    from rich._wrap import divide_line
    assert params(divide_line)[:2] == ["text", "width"] and "fold" in params(divide_line)
    from textual.app import App
    from textual.driver import Driver
    assert params(Driver.write) == ["self", "data"]
    assert "self._driver.write(" in inspect.getsource(App.bell)  # the way App.bell writes


async def test_the_app_writes_to_the_terminal_through_its_driver(
        board_project: Project) -> None:
    """app/ui/jobs/alerts.py writes the bell and notifications where Textual writes frames."""
    from textual.driver import Driver

    from app.ui.jobs.alerts import ring
    app = new_app(board_project)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        driver = app._driver
        assert isinstance(driver, Driver)
        written: list[str] = []
        # A deliberate patch; mypy checks an instance's method against the unbound one.
        driver.write = written.append  # type: ignore[method-assign,assignment]
        ring(app.screen.app, "WRK-001 done")  # as the screens call it (App[object])
        assert written == ["\a\x1b]9;WRK-001 done\a\x1b]777;notify;orchestrate;WRK-001 done\a"]


def test_cards_wrap_with_the_function_textual_wraps_with() -> None:
    """Card.get_height counts lines with rich's divide_line because Content wraps with
    it; tests/ui/test_cards.py compares both for any text."""
    import textual.content
    from rich._wrap import divide_line
    # Textual imports it from rich without re-exporting it: that import is what is checked.
    assert textual.content.divide_line is divide_line  # type: ignore[attr-defined]
    assert divide_line("abc defg", 4, fold=True) == [4]


def assert_measured_at_its_width(column: BoardColumn) -> None:
    """Every card's cached height is its height at the column's width (a rule between)."""
    width = column.scrollable_content_region.width
    heights = column._line_cache.heights
    last = column.option_count - 1
    for index in range(column.option_count):
        card = column.get_option_at_index(index).prompt
        assert isinstance(card, Card)
        assert heights[index] == card.get_height(column.styles, width) + (index < last), index


async def test_a_column_measures_each_card_once_and_keeps_them_on_a_height_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    measured: list[str] = []
    get_height = Card.get_height

    def counting_get_height(self: Card, rules: Any, width: int) -> int:
        measured.append(self.item.id)
        return get_height(self, rules, width)

    monkeypatch.setattr(Card, "get_height", counting_get_height)
    updates = [0]
    update_lines = BoardColumn._update_lines

    def counting_update_lines(self: BoardColumn) -> None:
        updates[0] += 1
        update_lines(self)

    monkeypatch.setattr(BoardColumn, "_update_lines", counting_update_lines)
    app = new_app(make_board_project(tmp_path / "p", big_backlog(1000)))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        columns = app.main.board.columns
        long = [c for c in columns if c.option_count > 50]
        assert len(long) == 5
        # Each card measured once: the resizes of start-up (same width) kept them.
        shown = [i for c in columns for i in c.item_ids]
        assert Counter(measured) == Counter(shown)
        for column in [c for c in columns if c.option_count]:  # the line cache, as
            # _update_lines reads it (the to-review column is empty, and hidden, here)
            lines = column._line_cache.lines
            assert lines[-1][0] == column.option_count - 1
            assert all(isinstance(i, int) and isinstance(n, int) for i, n in lines[:5])
        # Painting goes through the column's _update_lines (OptionList.render_line).
        updates[0] = 0
        long[0].render_line(0)
        assert updates[0] >= 1

        # Another height, the same width: the long columns keep their measured cards.
        measured.clear()
        await pilot.resize_terminal(160, 44)
        await settle(pilot, 0.1)
        long_ids = {i for c in long for i in c.item_ids}
        assert not long_ids & set(measured)
        for column in long:
            assert column._line_cache.lines[-1][0] == column.option_count - 1
            assert_measured_at_its_width(column)

        # Another width: OptionList's resize handler forgets them, and they are measured
        # again at the new width.
        measured.clear()
        await pilot.resize_terminal(130, 44)
        await settle(pilot, 0.1)
        for column in long:
            column.render_line(0)
            assert_measured_at_its_width(column)
        assert long_ids <= set(measured)


async def test_the_log_pane_measures_the_lines_it_draws(board_project: Project) -> None:
    """No worker thread per batch: a line is measured when it is drawn, and the widest line
    drawn sets the width the pane scrolls across."""
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("L")
        pane = app.main.log_pane
        log = pane.log_view
        before = {id(w) for w in app.workers}
        pane.add_lines([AgentLine("text", "x" * 300, ""), AgentLine("text", "é" * 20, "")])
        await settle(pilot)
        assert log.virtual_size.width == 302  # "  " + 300, measured when drawn
        assert log._width == 302  # Log's own attribute, the widest line
        assert not [w for w in app.workers if id(w) not in before and w.node is log]


async def test_a_sized_column_that_gets_many_cards_measures_them_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A column already on screen without a scrollbar (a filter left few cards) shows
    the scrollbar before it measures the many cards it gets when the filter is cleared."""
    app = new_app(make_board_project(tmp_path / "p", big_backlog(1000)))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.main
        assert screen.backlog is not None
        screen.board.show(screen.backlog, "WRK-000")  # WRK-0001 ... WRK-0009
        await settle(pilot, 0.1)
        column = screen.board.columns[0]
        assert 0 < column.option_count < 5 and not column.show_vertical_scrollbar
        measured: list[tuple[str, int]] = []
        get_height = Card.get_height

        def recording_get_height(self: Card, rules: Any, width: int) -> int:
            measured.append((self.item.id, width))
            return get_height(self, rules, width)

        monkeypatch.setattr(Card, "get_height", recording_get_height)
        screen.board.show(screen.backlog, "")
        await settle(pilot, 0.1)
        column.render_line(0)
        assert column.show_vertical_scrollbar
        width = column.scrollable_content_region.width
        mine = [(i, w) for i, w in measured if i in column.item_ids]
        assert sorted(mine) == sorted((i, width) for i in column.item_ids)  # once, at it
        assert_measured_at_its_width(column)

