"""The private parts of Textual and rich the board relies on, each held to the signature
it is used with and to the behaviour it gives.

A Textual (or rich) release that renames or changes one fails here, by name, instead of
leaving a board that is slower or subtly wrong. Each is there for a measured cost
(docs/DEPENDENCIES.md lists them; pyproject.toml keeps textual below the next major):

- OptionList's `_options`, `_option_to_index`, `_id_to_option`, `_line_cache`,
  `_update_lines`, `_get_visual`, `_get_option_render`, `_move_page`, `_scroll_update` and
  `_mouse_hovering_over`: a column (widgets/cardlist.py) gives OptionList options and
  lines made and measured only when asked for; CardList.on_resize keeps the cards
  measured when only the height changes, which relies on OptionList's own `_on_resize`
  being what forgets them (tests/ui/test_board_virtual.py holds the behaviour).
- Widget._refresh_scrollbars: a long column shows its scrollbar before its cards are
  measured, so the cards on screen are measured once.
- Log._render_line, _render_line_strip, _process_line and its `_width`: the log pane keeps
  its lines as they came and makes, colours and measures only those it draws (no worker
  thread per batch, nothing made for the lines nobody sees).
- rich._wrap.divide_line: a card counts its lines as Textual's Content wraps them.
- Screen._on_screen_resume honours ScreenResume.refresh_styles, runs after a subclass's
  `on_screen_resume` and counts the resumes in `stack_updates` (0 while that subclass
  handler sees the first): BoardView skips the restyling of the first resume, which
  repeats the styling of the mount.
- App._driver: the bell and the desktop notifications (app/ui/jobs/alerts.py) are written
  through the App's driver, as App.bell writes its bell; Textual has no public way.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
from test_board import new_app, settle
from textual.widget import Widget
from textual.widgets import Log, OptionList

from app.engine.events import AgentLine
from app.engine.project import Project

pytestmark = pytest.mark.anyio


def params(func: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(func).parameters)


def test_the_private_names_have_the_signatures_used() -> None:
    assert params(OptionList._update_lines) == ["self"]
    assert params(OptionList._on_resize) == ["self"]
    assert params(OptionList._get_visual) == ["self", "option"]
    assert params(OptionList._get_option_render) == ["self", "option", "style"]
    assert params(OptionList._move_page) == ["self", "direction"]
    assert params(OptionList.scroll_to_highlight) == ["self", "top"]
    assert params(OptionList._scroll_update) == ["self", "virtual_size"]
    source = inspect.getsource(OptionList)
    for used in ("self._options[", "self._option_to_index[option]", "self._id_to_option[",
                 "self._line_cache.clear()", "self._mouse_hovering_over =",
                 "self._option_render_cache.get(", "def _on_resize(self):\n        "
                 "self._clear_caches()"):
        assert used in source, used
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


async def test_the_first_resume_does_not_restyle_what_the_mount_styled(
        board_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Textual styles each widget as it mounts, then restyles the whole default screen as
    it first resumes (Screen._on_screen_resume, when the event's `refresh_styles`);
    BoardView.on_screen_resume runs before it and turns that second pass off. Only that
    one: a later resume is left as Textual asks for it."""
    from textual import events
    from textual.css.stylesheet import Stylesheet
    from textual.screen import Screen

    from app.ui.screens.main import MainScreen
    from widgets.board import BoardColumn

    assert params(Screen._on_screen_resume) == ["self", "event"]
    resumes: list[tuple[bool, int]] = []  # (refresh_styles, columns styled meanwhile)
    columns_styled = [0]
    apply, resume = Stylesheet.apply, Screen._on_screen_resume

    def counting(self: Stylesheet, node: Any, *args: Any, **kwargs: Any) -> None:
        columns_styled[0] += isinstance(node, BoardColumn)
        apply(self, node, *args, **kwargs)

    def recording(self: Screen[Any], event: events.ScreenResume) -> None:
        before = columns_styled[0]
        resume(self, event)
        if isinstance(self, MainScreen):
            resumes.append((event.refresh_styles, columns_styled[0] - before))

    monkeypatch.setattr(Stylesheet, "apply", counting)
    monkeypatch.setattr(Screen, "_on_screen_resume", recording)
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert resumes == [(False, 0)]
        await pilot.press("question_mark")
        await pilot.press("escape")
        await settle(pilot)
        assert len(resumes) == 2  # resumed again as the dialog closed
        later = events.ScreenResume()  # as switching modes sends it: restyle
        app.main.on_screen_resume(later)
        assert later.refresh_styles
