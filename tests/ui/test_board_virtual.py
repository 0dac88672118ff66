"""A column makes, measures and draws only the cards a person gets to (widgets/cardlist.py):
10,000 items cost a few dozen cards on the first frame, and the cursor, paging, the end
of the column and a reload still work as if every card were there."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import make_board_project
from test_board import big_backlog, new_app, settle
from textual.pilot import Pilot

from widgets.board import BoardColumn
from widgets.cardlist import CardLines
from widgets.cards import Card

pytestmark = pytest.mark.anyio

GET_HEIGHT = Card.get_height
"""A card's own measure (tests that count the column's measuring patch Card's)."""


def one_column(n: int) -> str:
    """`n` items, all new: one column of `n` cards; every 7th title long enough to wrap."""
    lines = ["schema_version: 1", "prefix: WRK", "items:"]
    for i in range(1, n + 1):
        title = f"Item {i}" + (" with a title long enough to wrap twice or more" * (i % 7 == 0))
        lines += [f"  - id: WRK-{i:05d}", f"    title: {title}", "    status: new",
                  "    size: small", "    risk: low"]
    return "\n".join(lines) + "\n"


def screen_text(column: BoardColumn) -> str:
    """What the column shows now, line by line."""
    return "\n".join(column.render_line(y).text
                     for y in range(column.scrollable_content_region.height))


def assert_measured_right(column: BoardColumn) -> None:
    """Every measured card starts where the cards above it, measured one by one at the
    column's width with a rule between, end."""
    lines = column._line_cache
    assert isinstance(lines, CardLines)
    width = column.scrollable_content_region.width
    assert lines.width == width
    line = 0
    last = column.option_count - 1
    for index in range(lines.measured):
        assert lines.starts[index] == line, index
        card = column.get_option_at_index(index).prompt
        assert isinstance(card, Card)
        line += GET_HEIGHT(card, column.styles, width) + (index < last)
    assert lines.starts[lines.measured] == line


def counting_cards(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times each card was measured (by item id)."""
    measured: Counter[str] = Counter()

    def counting_get_height(self: Card, rules: Any, width: int) -> int:
        measured[self.item.id] += 1
        return GET_HEIGHT(self, rules, width)

    monkeypatch.setattr(Card, "get_height", counting_get_height)
    return measured


async def column_of_new(pilot: Pilot[Any]) -> BoardColumn:
    await settle(pilot)
    column = pilot.app.query_one("#col-new", BoardColumn)
    assert column.has_focus
    return column


async def test_ten_thousand_cards_make_only_those_on_screen_and_the_end_shows_the_last(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    measured = counting_cards(monkeypatch)
    app = new_app(make_board_project(tmp_path / "p", one_column(10_000)))
    async with app.run_test(size=(120, 40)) as pilot:
        column = await column_of_new(pilot)
        assert column.option_count == 10_000 and len(column.item_ids) == 10_000
        # The first frame measured the cards on screen (each once), not the column.
        assert 5 < len(measured) < 40 and set(measured.values()) == {1}
        assert "WRK-00001" in screen_text(column)
        assert column.show_vertical_scrollbar  # counted at the measured cards' average
        assert column.virtual_size.height > 25_000
        assert_measured_right(column)

        await pilot.press("end")
        await pilot.pause()
        assert app.main.board.selected_id == "WRK-10000"
        assert "WRK-10000" in screen_text(column)  # on screen, at the bottom
        lines = column._line_cache
        assert lines.measured == 10_000  # the end is known exactly now
        assert column.virtual_size.height == lines.starts[-1]
        assert column.scroll_y == column.max_scroll_y
        assert_measured_right(column)
        assert max(measured.values()) == 1  # the cursor's jump measured each card once

        await pilot.press("home")
        await pilot.pause()
        assert app.main.board.selected_id == "WRK-00001" and column.scroll_y == 0
        assert "WRK-00001" in screen_text(column)


async def test_the_cursor_pages_and_steps_over_cards_never_drawn(tmp_path: Path) -> None:
    app = new_app(make_board_project(tmp_path / "p", one_column(3000)))
    async with app.run_test(size=(120, 40)) as pilot:
        column = await column_of_new(pilot)
        for _ in range(30):
            await pilot.press("j")
        await pilot.pause()
        assert app.main.board.selected_id == "WRK-00031"
        assert "WRK-00031" in screen_text(column)
        before = column._line_cache.measured
        for _ in range(10):
            await pilot.press("pagedown")
        await pilot.pause()
        index = column.highlighted
        assert index is not None and index > 100
        assert column._line_cache.measured < 3000 and column._line_cache.measured > before
        assert column.item_ids[index] in screen_text(column)
        await pilot.press("pageup", "k")
        await pilot.pause()
        assert column.highlighted is not None and column.highlighted < index - 1
        assert column.item_ids[column.highlighted] in screen_text(column)
        assert_measured_right(column)
        # From the first card up wraps to the last, as OptionList does.
        await pilot.press("home", "k")
        await pilot.pause()
        assert app.main.board.selected_id == "WRK-03000"
        assert "WRK-03000" in screen_text(column)


async def test_a_reload_keeps_the_cursor_deep_in_a_long_column(tmp_path: Path) -> None:
    project = make_board_project(tmp_path / "p", one_column(5000))
    app = new_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        column = await column_of_new(pilot)
        await pilot.press("end")
        for _ in range(1000):
            column.action_cursor_up()
        await pilot.pause()
        assert app.main.board.selected_id == "WRK-04000"
        # Another process changes a card above the cursor (a longer title: more lines).
        text = project.backlog_path.read_text(encoding="utf-8")
        project.backlog_path.write_text(
            text.replace("title: Item 3\n", "title: Item 3" + " now much longer" * 9 + "\n"),
            encoding="utf-8")
        app.main.feed.reload()
        await settle(pilot)
        assert app.main.backlog is not None and "longer" in app.main.backlog.get("WRK-00003").title
        assert app.main.board.selected_id == "WRK-04000" and column.highlighted == 3999
        assert "WRK-04000" in screen_text(column)
        assert_measured_right(column)


async def test_another_width_measures_the_cards_again_at_it(tmp_path: Path) -> None:
    app = new_app(make_board_project(tmp_path / "p", big_backlog(1000)))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        long = [c for c in app.main.board.columns if c.option_count > 50]
        assert len(long) == 5
        for column in long:
            assert_measured_right(column)
        await pilot.resize_terminal(130, 44)
        await settle(pilot, 0.1)
        for column in long:
            column.render_line(0)
            assert_measured_right(column)
            assert column.item_ids[0] in screen_text(column)


async def test_a_change_of_height_keeps_the_measured_cards(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    measured = counting_cards(monkeypatch)
    app = new_app(make_board_project(tmp_path / "p", big_backlog(1000)))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        long = [c for c in app.main.board.columns if c.option_count > 50]
        # The resizes of start-up (the same width) kept them: each measured once.
        assert measured and set(measured.values()) == {1}
        measured.clear()
        await pilot.resize_terminal(160, 44)
        await settle(pilot, 0.1)
        assert not set(measured) & {i for c in long for i in c.item_ids}
        for column in long:
            assert_measured_right(column)


async def test_a_sized_column_that_gets_many_cards_measures_those_on_screen_once(
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

        def recording_get_height(self: Card, rules: Any, width: int) -> int:
            measured.append((self.item.id, width))
            return GET_HEIGHT(self, rules, width)

        monkeypatch.setattr(Card, "get_height", recording_get_height)
        screen.board.show(screen.backlog, "")
        await settle(pilot, 0.1)
        column.render_line(0)
        assert column.show_vertical_scrollbar
        width = column.scrollable_content_region.width
        mine = [(i, w) for i, w in measured if i in column.item_ids]
        shown = column.item_ids[:column._line_cache.measured]
        assert 5 < len(shown) < 40
        assert sorted(mine) == sorted((i, width) for i in shown)  # once, at its width
        assert_measured_right(column)


async def test_the_scrollbar_dragged_to_the_bottom_shows_the_last_card(tmp_path: Path) -> None:
    """Dragging the scrollbar (scroll_y set at once, far past the measured cards) measures
    down to there; once the end is known the column ends at its last card."""
    app = new_app(make_board_project(tmp_path / "p", one_column(3000)))
    async with app.run_test(size=(120, 40)) as pilot:
        column = await column_of_new(pilot)
        for _ in range(3):  # the estimate of the end may be short: drag again
            column.scroll_to(y=column.max_scroll_y, animate=False, immediate=True)
            await pilot.pause()
        assert column._line_cache.measured == 3000
        assert column.virtual_size.height == column._line_cache.starts[-1]
        assert column.scroll_y == column.max_scroll_y
        assert "WRK-03000" in screen_text(column)
        assert app.main.board.selected_id == "WRK-00001"  # scrolling moves no cursor
        assert_measured_right(column)


async def test_a_card_is_drawn_in_one_pass_into_the_segments_optionlist_makes(
        tmp_path: Path) -> None:
    """CardList._get_option_render makes, in one pass, what OptionList's makes through a
    Strip a step: the same text, styles and meta, segment for segment, plain,
    highlighted and with the option padding a theme may give (top, sides, bottom)."""
    from textual.geometry import Spacing
    from textual.widgets import OptionList

    app = new_app(make_board_project(tmp_path / "p", one_column(30)))
    async with app.run_test(size=(120, 40)) as pilot:
        column = await column_of_new(pilot)
        option_styles = column.get_component_styles("option-list--option")

        def both(index: int, *classes: str) -> tuple[list[Any], list[Any]]:
            option = column._options[index]
            style = column.get_visual_style("option-list--option", *classes)
            column._option_render_cache.clear()
            ours = column._get_option_render(option, style)
            column._option_render_cache.clear()
            theirs = OptionList._get_option_render(column, option, style)
            column._option_render_cache.clear()
            return ([list(s) for s in ours], [list(s) for s in theirs])

        for padding in (option_styles.padding, Spacing(1, 2, 1, 3)):
            option_styles.padding = padding
            for index in (0, 6, 29):  # a short title, one that wraps, the last (no rule)
                for classes in ((), ("option-list--option-highlighted",)):
                    ours, theirs = both(index, *classes)
                    assert ours == theirs, (padding, index, classes)
                    assert len(ours) > 1
