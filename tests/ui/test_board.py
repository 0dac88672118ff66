"""Pilot tests of the board: every key and modal, engine events reaching the UI, live
reloads, the parse-error banner, watching another process's run, and 1,000 items.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeEngine, cells, make_board_project, statuses
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit
from textual.content import Content
from textual.dom import DOMNode
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from app.backlog.model import Backlog
from app.engine.events import ItemChanged, Notice, PhaseStarted, RunFinished
from app.engine.project import Project
from app.ui.app import BoardApp
from app.ui.bridge import EngineEvent
from app.ui.dialogs.confirm import ConfirmScreen
from app.ui.dialogs.help import HelpScreen
from app.ui.dialogs.items import AddItemScreen
from app.ui.dialogs.moves import AdvanceScreen, UnblockScreen
from app.ui.jobs.commands import ItemCommands
from app.ui.jobs.grooming import advance_targets
from app.ui.screens.main import MainScreen
from widgets.board import Board, BoardColumn
from widgets.detail import DetailPane
from widgets.logpane import LogPane
from widgets.status import ErrorBanner, RunHeader

pytestmark = pytest.mark.anyio

BUSY_GROUPS = ("load", "detail", "action")


async def settle(pilot: Pilot[Any], extra: float = 0.0) -> None:
    """Wait until loads, detail gathering and backlog actions are done and painted."""
    app = pilot.app
    for _ in range(100):
        busy = [w for w in app.workers if w.group in BUSY_GROUPS and not w.is_finished]
        if not busy:
            break
        await app.workers.wait_for_complete(busy)
        await pilot.pause()
    await pilot.pause(extra or None)


async def wait_for(pilot: Pilot[Any], condition: Callable[[], object],
                   timeout: float = 8.0) -> None:
    """Pause until `condition()` holds (fails the test after `timeout`)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await pilot.pause(0.05)


def new_app(project: Project, **kwargs: Any) -> BoardApp:
    kwargs.setdefault("watch_files", False)
    kwargs.setdefault("clock", lambda: 1003.0)
    return BoardApp(project, **kwargs)


def notifications(app: BoardApp) -> list[str]:
    return [n.message for n in app._notifications]


def board_of(pilot: Pilot[int]) -> BoardApp:
    """The board a pilot drives (Pilot.app is typed as any App)."""
    assert isinstance(pilot.app, BoardApp)
    return pilot.app


def shown_backlog(app: BoardApp) -> Backlog:
    """The backlog the board shows (None only before the first load)."""
    assert app.main.backlog is not None
    return app.main.backlog


def prompt_text(hit: Hit | DiscoveryHit) -> str:
    """A command palette hit's prompt as plain text (ours are Content)."""
    assert isinstance(hit.prompt, Content)
    return hit.prompt.plain


# --- opening and moving -------------------------------------------------------------------
async def test_opens_with_first_card_of_first_column_selected(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.main.board.selected_id == "WRK-001"
        assert isinstance(app.focused, BoardColumn) and app.focused.id == "col-new"


async def test_the_first_frame_already_shows_the_cards(board_project: Project) -> None:
    """BACKLOG.yaml is read before the first frame: no empty board is painted first."""
    frames: list[list[str]] = []

    class Recording(BoardApp):
        def _display(self, screen: Any, renderable: Any) -> None:
            if renderable is not None and not frames:
                frames.append([column.id or "" for column in self.main.board.columns
                               if column.option_count])
            super()._display(screen, renderable)

    app = Recording(board_project, watch_files=False, clock=lambda: 1003.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
    assert frames and "col-new" in frames[0] and "col-done" in frames[0]


async def test_a_backlog_too_big_to_read_at_once_loads_behind_an_empty_board(
        board_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    import app.ui.jobs.feed
    monkeypatch.setattr(app.ui.jobs.feed, "SYNC_LOAD_MAX_BYTES", 10)
    after_mount: list[bool] = []
    on_mount = MainScreen.on_mount

    def recording_on_mount(self: MainScreen) -> None:
        on_mount(self)
        after_mount.append(self.backlog is not None)

    monkeypatch.setattr(MainScreen, "on_mount", recording_on_mount)
    app_ = BoardApp(board_project, watch_files=False, clock=lambda: 1003.0)
    async with app_.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert after_mount == [False]  # not read on the UI thread: a worker read it
        assert app_.main.board.selected_id == "WRK-001"
        assert "WRK-004" in app_.query_one("#col-ready", BoardColumn).item_ids
    # Once a process has parsed it (the worker above kept a snapshot), the same big file
    # is read before the first frame: a snapshot needs no parse. (A new process: no store
    # that parsed it in memory.)
    import app.engine.project
    monkeypatch.setattr(app.engine.project, "_STORES", {})
    after_mount.clear()
    again = BoardApp(Project(board_project.root), watch_files=False, clock=lambda: 1003.0)
    async with again.run_test(size=(120, 40)):
        assert after_mount == [True]


async def test_opens_on_first_non_empty_column_when_new_is_empty(tmp_path: Path) -> None:
    text = make_board_project(tmp_path / "p").backlog_path.read_text()
    text = text.replace("status: new", "status: done")
    project = make_board_project(tmp_path / "q", text)
    app = new_app(project)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.main.board.selected_id == "WRK-003"


async def test_arrows_and_hjkl_move_between_cards_and_columns(board_project: Project) -> None:
    seen: list[Message] = []
    app = new_app(board_project)
    async with app.run_test(size=(120, 30), message_hook=seen.append) as pilot:
        await settle(pilot)
        await pilot.press("j")
        assert app.main.board.selected_id == "WRK-002"
        await pilot.press("k")
        assert app.main.board.selected_id == "WRK-001"
        await pilot.press("l")
        assert app.main.board.selected_id == "WRK-003"
        await pilot.press("down")
        assert app.main.board.selected_id == "WRK-009"
        await pilot.press("right", "right")
        assert app.main.board.selected_id == "WRK-005"
        await pilot.press("h", "left")
        assert app.main.board.selected_id == "WRK-009"  # the scoped column remembers its card
        # The hook sees a message at every node it bubbles through: count each once.
        unique = list({id(m): m for m in seen if isinstance(m, Board.ItemHighlighted)}.values())
        moves = [m.item_id for m in unique]
        assert moves == ["WRK-001", "WRK-002", "WRK-001", "WRK-003", "WRK-009", "WRK-004",
                         "WRK-005", "WRK-004", "WRK-009"]


async def test_keys_typed_in_one_burst_each_move_a_column(board_project: Project) -> None:
    """A terminal delivers fast keys in one read: every `l` must count, not only the first.

    `pilot.press` waits for each key to be handled, so the keys are posted at once here,
    as a person typing `llll` (or tmux send-keys) delivers them.
    """
    from textual import events

    app = new_app(board_project)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        for _ in range(3):
            app.post_message(events.Key("l", "l"))
        await pilot.pause(0.2)
        assert app.main.board.selected_id == "WRK-005"  # new -> scoped -> ready -> in progress
        for _ in range(2):
            app.post_message(events.Key("h", "h"))
        await pilot.pause(0.2)
        assert app.main.board.selected_id == "WRK-003"


async def test_every_column_keeps_its_own_card_across_reloads(board_project: Project) -> None:
    from app.engine import actions
    app = new_app(board_project)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("j")  # WRK-002 selected; the ready column's card is WRK-004
        actions.advance(board_project, "WRK-001", "ready")  # lands above WRK-004
        app.main.feed.reload()
        await settle(pilot)
        assert app.main.board.selected_id == "WRK-002"
        ready = app.query_one("#col-ready", BoardColumn)
        assert ready.item_ids == ("WRK-001", "WRK-004")
        assert ready.item_id == "WRK-004"


async def test_columns_are_option_lists_with_cards_in_status_order(
        board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        columns = {c.spec.key: c.item_ids for c in app.main.board.columns}
        assert columns == {
            "new": ("WRK-001", "WRK-002"), "scoped": ("WRK-003", "WRK-009"),
            "ready": ("WRK-004",), "in_progress": ("WRK-005",), "review": (),
            "blocked": ("WRK-006",), "done": ("WRK-008", "WRK-007"),  # latest first
        }
        assert all(isinstance(c, OptionList) for c in app.main.board.columns)
        # Nobody reviews here (no merge_when = "review", nothing held): not shown.
        assert [c.spec.key for c in app.main.board.columns if not c.display] == ["review"]


async def test_done_column_shows_the_latest_few_and_a_count(tmp_path: Path) -> None:
    lines = ["schema_version: 1", "prefix: WRK", "items:"]
    for n in range(1, 21):
        lines += [f"  - id: WRK-{n:03d}", f"    title: Done thing {n}", "    status: done",
                  f"    updated: 2026-11-{n:02d}T00:00:00Z"]
    project = make_board_project(tmp_path / "p", "\n".join(lines) + "\n")
    app = new_app(project)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        done = app.query_one("#col-done", BoardColumn)
        assert done.item_ids[0] == "WRK-020"
        assert len(done.item_ids) == 8
        assert done.border_subtitle == "8/20"


async def test_a_file_broken_from_the_start_shows_the_banner_then_the_board(
        tmp_path: Path) -> None:
    good = make_board_project(tmp_path / "good").backlog_path.read_text()
    project = make_board_project(tmp_path / "p", good.replace("prefix: WRK", "prefix: wrk"))
    app = new_app(project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "prefix must be capital letters" in app.query_one("#banner", ErrorBanner).message
        assert app.main.board.selected_id is None
        project.backlog_path.write_text(good)
        app.main.feed.reload()
        await settle(pilot)
        assert not app.query_one("#banner").display
        assert app.main.board.selected_id == "WRK-001"


# --- details --------------------------------------------------------------------------------
async def test_enter_opens_details_with_fields_notes_files_and_attempts(
        board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        app.main.board.select("WRK-005")
        await pilot.press("enter")
        await settle(pilot)
        pane = app.query_one(DetailPane)
        assert app.main.detail_shown and pane.display
        text = str(pane.query_one("#detail-body").render()).replace("\u00a0", " ")
        for expected in ("WRK-005", "Password reset by email", "Tokens expire after one hour.",
                         "SPEC.md", "PRD.md", "prd #1", "3m12s", "complete", "$0.42",
                         "build #1", "failed", "tests failed: 2 errors", "WRK-001"):
            assert expected in text, expected
        await pilot.press("enter")
        assert not app.main.detail_shown


async def test_details_follow_the_selection(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.query_one(DetailPane).item_id == "WRK-001"
        await pilot.press("j")
        await settle(pilot)
        assert app.query_one(DetailPane).item_id == "WRK-002"


async def test_a_click_selects_a_card_and_a_double_click_opens_it(
        board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.click("#col-ready", offset=(3, 1))
        await settle(pilot)
        assert app.main.detail_shown and app.main.board.selected_id == "WRK-004"
        assert app.query_one(DetailPane).item_id == "WRK-004"
        await pilot.double_click("#col-ready", offset=(3, 1))  # a double click closes them
        assert not app.main.detail_shown
        await pilot.double_click("#col-ready", offset=(3, 1))  # and opens them again
        assert app.main.detail_shown


# --- add ------------------------------------------------------------------------------------
async def test_add_modal_adds_an_item_and_selects_it(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        assert isinstance(app.screen, AddItemScreen)
        await pilot.press(*"Search box")
        app.screen.query_one("#add-notes", Input).value = "top right corner"
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, AddItemScreen)
        item = board_project.store().load().get("WRK-010")
        assert (item.title, item.status, item.notes) == ("Search box", "new",
                                                          "top right corner")
        await wait_for(pilot, lambda: app.main.board.selected_id == "WRK-010")


async def test_add_modal_needs_a_title_and_escape_cancels(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        before = board_project.backlog_path.read_bytes()
        await pilot.press("a", "enter")
        assert isinstance(app.screen, AddItemScreen)  # no title: the form stays
        assert "a title is needed" in str(app.screen.query_one("#add-error").render())
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, AddItemScreen)
        assert board_project.backlog_path.read_bytes() == before


# --- advance --------------------------------------------------------------------------------
def test_advance_targets_are_the_allowed_moves_with_phases_spelled_out(
        board_project: Project) -> None:
    backlog = board_project.store().load()
    assert advance_targets(backlog.get("WRK-004")) == [
        "new", "scoped", "prd", "research", "design", "spec", "build", "review", "done",
        "blocked"]
    assert "build" not in advance_targets(backlog.get("WRK-005"))  # already there
    assert "review" in advance_targets(backlog.get("WRK-005"))


async def test_advance_modal_moves_the_item(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.main.board.select("WRK-004")
        await pilot.press("greater_than_sign")
        assert isinstance(app.screen, AdvanceScreen)
        assert app.screen.targets == tuple(advance_targets(shown_backlog(app).get("WRK-004")))
        await pilot.press("down", "enter")  # new -> scoped
        await settle(pilot)
        assert statuses(board_project)["WRK-004"] == "scoped"
        await wait_for(pilot, lambda: "WRK-004" in app.query_one("#col-scoped",
                                                                 BoardColumn).item_ids)
        assert app.main.board.selected_id == "WRK-004"


async def test_advance_to_blocked_asks_for_the_reason(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.main.board.select("WRK-004")
        await pilot.press("greater_than_sign", "end", "enter")
        reason = app.screen.query_one("#advance-reason", Input)
        assert reason.display and reason.has_focus
        await pilot.press(*"needs a designer", "enter")
        await settle(pilot)
        item = board_project.store().load().get("WRK-004")
        assert (item.status, item.blocked_reason) == ("blocked", "needs a designer")


async def test_illegal_move_shows_why_in_a_notification(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.main.board.select("WRK-004")
        await pilot.press("greater_than_sign")
        # Another process moves the item while the dialog is open.
        from app.engine import actions
        actions.advance(board_project, "WRK-004", "done")
        await pilot.press("down", "enter")  # done -> scoped is not allowed
        await settle(pilot)
        await wait_for(pilot, lambda: any("cannot go to" in n for n in notifications(app)))
        assert statuses(board_project)["WRK-004"] == "done"


async def test_advance_escape_cancels(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        before = board_project.backlog_path.read_bytes()
        await pilot.press("greater_than_sign", "escape")
        await settle(pilot)
        assert board_project.backlog_path.read_bytes() == before


# --- unblock --------------------------------------------------------------------------------
async def test_unblock_asks_for_notes_and_enter_submits(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.main.board.select("WRK-006")
        await pilot.press("u")
        assert isinstance(app.screen, UnblockScreen)
        await pilot.press(*"use the eu cluster", "enter")
        await settle(pilot)
        item = board_project.store().load().get("WRK-006")
        assert (item.status, item.phase, item.notes) == ("in_progress", "design",
                                                          "use the eu cluster")


async def test_unblock_escape_cancels(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.main.board.select("WRK-006")
        await pilot.press("u", *"x", "escape")
        await settle(pilot)
        assert not isinstance(app.screen, UnblockScreen)
        assert statuses(board_project)["WRK-006"] == "blocked"


async def test_unblock_on_an_item_that_is_not_blocked_says_why(
        board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("u")
        assert not isinstance(app.screen, UnblockScreen)
        assert any("WRK-001 is new, not blocked" in n for n in notifications(app))


# --- filter, log, help, palette ---------------------------------------------------------------
async def test_filter_shows_only_matching_cards_and_escape_clears(
        board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        field = app.query_one("#filter", Input)
        assert field.has_focus
        await pilot.press(*"redis")
        shown = [i for c in app.main.board.columns for i in c.item_ids]
        assert shown == ["WRK-006"]
        await pilot.press("enter")
        assert isinstance(app.focused, BoardColumn)
        assert app.main.board.selected_id == "WRK-006"
        await pilot.press("escape")
        shown = [i for c in app.main.board.columns for i in c.item_ids]
        assert len(shown) == 9 and app.main.board.selected_id == "WRK-006"


async def test_log_pane_toggles_and_raw_view(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        pane = app.query_one(LogPane)
        assert not pane.display
        await pilot.press("L")
        assert pane.display
        from app.engine.events import AgentLine
        pane.add_lines([AgentLine("tool", "Bash ls", '{"type":"tool_use"}')])
        assert pane.log_view.lines[-1] == "→ Bash ls"
        await pilot.press("J")
        assert pane.log_view.lines[-1] == '{"type":"tool_use"}'
        await pilot.press("J")
        assert pane.log_view.lines[-1] == "→ Bash ls"
        await pilot.press("L")
        assert not pane.display


async def test_log_pane_follows_the_tail_until_scrolled_up(board_project: Project) -> None:
    from app.engine.events import AgentLine
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("L")
        pane = app.query_one(LogPane)
        pane.add_lines([AgentLine("text", f"line {i}", "") for i in range(200)])
        await pilot.pause()
        assert pane.log_view.is_vertical_scroll_end
        pane.log_view.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        pane.add_lines([AgentLine("text", f"more {i}", "") for i in range(5)])
        await pilot.pause()
        assert pane.log_view.scroll_y == 0 and pane.unseen == 5
        assert "+5 lines below" in str(pane.query_one("#log-title").render())
        await pilot.press("f")
        await pilot.pause()
        assert pane.log_view.is_vertical_scroll_end and pane.unseen == 0
        pane.add_lines([AgentLine("text", "tail", "")])
        await pilot.pause()
        assert pane.log_view.is_vertical_scroll_end


async def test_log_pane_keeps_only_max_lines(board_project: Project) -> None:
    from app.engine.events import AgentLine
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        pane = app.query_one(LogPane)
        pane.max_lines = 100
        pane.log_view.max_lines = 100
        pane.lines = type(pane.lines)(maxlen=100)
        for batch in range(10):
            pane.add_lines([AgentLine("text", f"{batch}-{i}", "") for i in range(50)])
        assert pane.log_view.line_count <= 100 and len(pane.lines) == 100
        assert pane.log_view.lines[-1] == "  9-49"


async def test_warnings_from_the_engine_are_toasts(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.main.post_message(EngineEvent(Notice(level="warning", text="agent missing")))
        await pilot.pause()
        assert "agent missing" in notifications(app)


async def test_help_lists_the_keys(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_palette_provider_jumps_to_an_item_by_title(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        provider = ItemCommands(app.screen)
        hits = [hit async for hit in provider.search("redis")]
        assert hits and "WRK-006" in str(hits[0].text)
        hits[0].command()
        assert app.main.board.selected_id == "WRK-006"


async def test_ctrl_p_palette_goes_to_an_item_by_id(board_project: Project) -> None:
    from textual.command import CommandPalette
    app = new_app(board_project)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"WRK-009")
        await pilot.pause(0.5)  # the palette searches in the background
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.main.board.selected_id == "WRK-009")
        assert not isinstance(app.screen, CommandPalette)


async def test_palette_runs_board_commands(board_project: Project) -> None:
    from textual.command import CommandPalette
    app = new_app(board_project)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"board: add item")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AddItemScreen))


async def test_palette_copes_with_brackets_in_titles(tmp_path: Path) -> None:
    text = make_board_project(tmp_path / "a").backlog_path.read_text()
    project = make_board_project(tmp_path / "p", text.replace(
        "title: Set up CI", "title: '[/b] Set up CI [red]'"))
    app = new_app(project)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        provider = ItemCommands(app.screen)
        hits = [hit async for hit in provider.search("set up")]
        assert hits and "[/b] Set up CI [red]" in prompt_text(hits[0])
        found = [hit async for hit in provider.discover()]
        assert any("[/b] Set up CI" in prompt_text(hit) for hit in found)


def test_every_binding_has_an_id_and_a_tooltip() -> None:
    from widgets import board
    classes: list[type[DOMNode]] = [
        BoardApp, MainScreen, board.Board, board.BoardColumn, AddItemScreen, ConfirmScreen,
        HelpScreen, UnblockScreen, AdvanceScreen]
    for cls in classes:
        for binding in cls.BINDINGS:
            assert isinstance(binding, Binding)
            assert binding.id and binding.tooltip, (cls.__name__, binding.key)


async def test_quit_without_a_run_exits(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0


# --- the engine -----------------------------------------------------------------------------
def fake_factory(gate: threading.Event | None = None, made: list[FakeEngine] | None = None,
                 ) -> Callable[[Project, Any, str | None], FakeEngine]:
    def make(project: Project, bus: Any, target: str | None) -> FakeEngine:
        engine = FakeEngine(project, bus, target, gate=gate)
        if made is not None:
            made.append(engine)
        return engine
    return make


async def test_run_streams_the_agent_and_moves_the_card_to_done(
        board_project: Project) -> None:
    seen: list[Message] = []
    app = new_app(board_project, pipeline_factory=fake_factory())
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: app.main.run_state == "idle" and
                       "WRK-004" in app.query_one("#col-done", BoardColumn).item_ids)
        events = [m.event for m in seen if isinstance(m, EngineEvent)]
        assert [e.phase for e in events if isinstance(e, PhaseStarted)] == [
            "prd", "research", "design", "spec", "build", "review"]
        assert isinstance(events[-1], RunFinished)
        pane = app.query_one(LogPane)
        assert pane.display
        assert "  review line 2" in pane.log_view.lines
        assert "→ Bash pytest -q" in pane.log_view.lines
        assert "✗ tool failed: exit 1" in pane.log_view.lines
        assert any("run finished: no more work" in n for n in notifications(app))


async def test_d_deletes_the_selected_item_after_asking_and_keeps_the_column(
        board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.main.board.selected_id == "WRK-001"
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        assert "WRK-005 depends on it" in app.screen.question
        await pilot.press("n")  # declined: nothing changes
        await settle(pilot)
        assert "WRK-001" in board_project.backlog_path.read_text()
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: app.main.backlog is not None
                       and "WRK-001" not in app.main.backlog.by_id)
        await settle(pilot)
        text = board_project.backlog_path.read_text()
        assert "id: WRK-001" not in text and "id: WRK-002" in text
        # The card that took its place in the same column is selected.
        assert app.main.board.selected_id == "WRK-002"
        assert any("WRK-001 deleted" in n for n in notifications(app))


async def test_R_runs_only_the_selected_item_and_refuses_one_that_cannot_run(
        board_project: Project) -> None:
    made: list[FakeEngine] = []
    app = new_app(board_project, pipeline_factory=fake_factory(None, made))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("R")  # WRK-001 is new
        await settle(pilot)
        assert not made
        assert any("WRK-001 is new: only ready or in-progress items run" in n
                   for n in notifications(app))
        assert app.main.board.select("WRK-004")
        await settle(pilot)
        await pilot.press("R")
        await wait_for(pilot, lambda: bool(made) and app.main.run_state == "idle")
        assert [engine.target for engine in made] == ["WRK-004"]


async def test_header_shows_the_live_attempt_and_keys_stay_responsive(
        board_project: Project) -> None:
    gate = threading.Event()
    made: list[FakeEngine] = []
    app = new_app(board_project, pipeline_factory=fake_factory(gate, made))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        header = app.query_one(RunHeader)
        await wait_for(pilot, lambda: "attempt 1" in str(header.render()))
        assert str(header.render()).startswith("running WRK-004 · prd · attempt 1 · 00:03 · "
                                               "$0.00 so far")
        # Grooming keys work while the engine runs.
        await pilot.press("j", "greater_than_sign")
        assert isinstance(app.screen, AdvanceScreen)
        await pilot.press("escape")
        gate.set()
        await wait_for(pilot, lambda: app.main.run_state == "idle")
        assert str(header.render()).startswith("idle")


async def test_pause_asks_the_engine_to_stop_after_the_phase(board_project: Project) -> None:
    gate = threading.Event()
    made: list[FakeEngine] = []
    app = new_app(board_project, pipeline_factory=fake_factory(gate, made))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: bool(made) and app.main.runner.engine is not None)
        await pilot.press("r")  # now `r` pauses
        assert app.main.run_state == "pausing" and made[0].pause.is_set()
        gate.set()

        def idle() -> bool:  # a def: a lambda would keep the narrowing of the assert above
            return app.main.run_state == "idle"
        await wait_for(pilot, idle)
        assert statuses(board_project)["WRK-004"] == "in_progress"


async def test_stop_asks_first_then_stops(board_project: Project) -> None:
    gate = threading.Event()
    made: list[FakeEngine] = []
    app = new_app(board_project, pipeline_factory=fake_factory(gate, made))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: bool(made) and app.main.runner.engine is not None)
        await pilot.press("s")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert not made[0].stop.is_set()
        await pilot.press("s", "y")
        assert made[0].stop.is_set()
        await wait_for(pilot, lambda: app.main.run_state == "idle")


async def test_quit_while_running_asks_and_stops_the_run(board_project: Project) -> None:
    gate = threading.Event()
    made: list[FakeEngine] = []
    app = new_app(board_project, pipeline_factory=fake_factory(gate, made))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: bool(made) and app.main.runner.engine is not None)
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.return_value is not None or not app.is_running)
    assert made[0].stop.is_set()
    assert app.return_value == 0


async def test_engine_errors_show_as_notifications(board_project: Project) -> None:
    from app.errors import LockHeldError

    def failing(project: Project, bus: Any, target: str | None) -> Any:
        raise LockHeldError("another run holds the lock (pid 77)")
    app = new_app(board_project, pipeline_factory=failing)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: any("pid 77" in n for n in notifications(app)))
        await wait_for(pilot, lambda: app.main.run_state == "idle")


class FakeTriage:
    """A triage engine that says so when it runs, posts an optional notice, and ends."""

    def __init__(self, bus: Any, on_run: Callable[[], object],
                 notice: str | None = None) -> None:
        self.bus = bus
        self.on_run = on_run
        self.notice = notice

    def run(self) -> RunFinished:
        self.on_run()
        if self.notice:
            self.bus.emit(Notice(level="info", text=self.notice))
        finished = RunFinished(reason="triage done")
        self.bus.emit(finished)
        return finished

    def request_stop(self) -> None:
        pass


async def test_triage_key_runs_the_triage_engine(board_project: Project) -> None:
    calls: list[str] = []
    app = new_app(board_project, triage_factory=lambda p, bus, t: FakeTriage(
        bus, lambda: calls.append("run"), notice="triaged 2 items"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("t")
        pane = app.query_one(LogPane)
        await wait_for(pilot, lambda: "· triaged 2 items" in pane.log_view.lines)
        await wait_for(pilot, lambda: app.main.run_state == "idle")
    assert calls == ["run"]


async def test_demo_triages_then_runs_by_itself(board_project: Project) -> None:
    started: list[str] = []

    def pipeline(project: Project, bus: Any, target: str | None) -> FakeEngine:
        started.append("run")
        return FakeEngine(project, bus, target)
    app = new_app(board_project, triage_factory=lambda p, bus, t: FakeTriage(
        bus, lambda: started.append("triage")), pipeline_factory=pipeline, demo=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: started == ["triage", "run"] and app.main.run_state == "idle"
                       and "WRK-004" in app.query_one("#col-done", BoardColumn).item_ids)
        # The screen says it is a demo, whatever the run state.
        assert str(app.query_one(RunHeader).render()).startswith("DEMO · scripted agent")


async def test_a_board_that_is_not_a_demo_does_not_say_so(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert str(app.query_one(RunHeader).render()).startswith("idle")


async def test_messages_with_brackets_are_shown_as_text(board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        app.main.post_message(EngineEvent(Notice(level="error", text="ids like [WRK-001] [/b]")))
        await pilot.pause(0.2)
        from textual.widgets._toast import Toast
        shown = [str(toast.render()) for toast in app.screen.query(Toast)]
        assert any("ids like [WRK-001] [/b]" in text for text in shown), shown


def test_item_changed_bursts_collapse() -> None:
    a = EngineEvent(ItemChanged(item_id="WRK-001", status="ready"))
    b = EngineEvent(ItemChanged(item_id="WRK-002", status="done"))
    other = EngineEvent(Notice(level="info", text="x"))
    assert a.can_replace(b)
    assert not a.can_replace(other) and not other.can_replace(a)


# --- live file and other processes ------------------------------------------------------------
async def test_external_edit_shows_and_selection_stays(board_project: Project) -> None:
    app = new_app(board_project, watch_files=True, lock_holder=lambda p: None)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        app.main.board.select("WRK-004")
        await pilot.pause(0.3)  # the watcher is up
        text = board_project.backlog_path.read_text()
        board_project.backlog_path.write_text(
            text.replace("title: Add login page", "title: Add login page (edited)")
            .replace("status: ready", "status: scoped"))
        await wait_for(pilot, lambda: "WRK-004" in app.query_one("#col-scoped",
                                                                 BoardColumn).item_ids)
        assert app.main.board.selected_id == "WRK-004"
        assert shown_backlog(app).get("WRK-001").title == "Add login page (edited)"


async def test_broken_file_shows_a_banner_and_keeps_the_last_good_board(
        board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        good = board_project.backlog_path.read_text()
        board_project.backlog_path.write_text(good.replace("status: ready", "status: redy"))
        app.main.feed.reload()
        await settle(pilot)
        banner = app.query_one("#banner")
        assert banner.display
        assert "BACKLOG.yaml:" in str(banner.render()) and "redy" in str(banner.render())
        assert "WRK-004" in app.query_one("#col-ready", BoardColumn).item_ids
        board_project.backlog_path.write_text(good)
        app.main.feed.reload()
        await settle(pilot)
        assert not banner.display


async def test_watches_a_run_of_another_process_and_tails_its_log(
        board_project: Project) -> None:
    log = board_project.logs_dir / "WRK-005_build_2.log"
    log.write_text('{"type":"assistant","message":{"content":[{"type":"text",'
                   '"text":"hello from the other run"}]}}\n')
    holder: dict[str, int | None] = {"pid": 4242}
    app = new_app(board_project, watch_files=True, lock_holder=lambda p: holder["pid"])
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        header = app.query_one(RunHeader)
        await wait_for(pilot, lambda: "watching a run of pid 4242" in str(header.render()))
        assert "WRK-005 · build · attempt 2" in str(header.render())
        pane = app.query_one(LogPane)
        assert pane.display
        assert pane.source == "WRK-005 · build · attempt 2 (pid 4242)"
        await wait_for(pilot, lambda: any("hello from the other run" in line
                                          for line in pane.log_view.lines))
        with log.open("a") as fh:
            fh.write("plain text appended later\n")
        await wait_for(pilot, lambda: any("plain text appended later" in line
                                          for line in pane.log_view.lines))
        holder["pid"] = None
        await wait_for(pilot, lambda: str(header.render()).startswith("idle"))


# --- scale ----------------------------------------------------------------------------------
def big_backlog(n: int) -> str:
    statuses_cycle = ("new", "scoped", "ready", "in_progress", "blocked", "done")
    lines = ["schema_version: 1", "prefix: WRK", "items:"]
    for i in range(1, n + 1):
        status = statuses_cycle[i % len(statuses_cycle)]
        lines += [f"  - id: WRK-{i:04d}", f"    title: Item number {i} of a long backlog",
                  f"    status: {status}", "    size: small", "    risk: low",
                  f"    updated: 2026-11-20T00:00:{i % 60:02d}Z"]
        if status == "in_progress":
            lines.append("    phase: build")
        if status == "blocked":
            lines += ["    blocked_reason: waiting on someone", "    blocked_from: ready"]
    return "\n".join(lines) + "\n"


async def test_a_thousand_items_are_lines_in_one_widget_a_column_and_scroll(
        tmp_path: Path) -> None:
    """1,000 cards are options of six OptionLists, not 1,000 widgets; paging to the end
    works and a re-display keeps the highlighted item. (How fast: bench/,
    `board_paint_1k_vs_bare`.)"""
    project = make_board_project(tmp_path / "p", big_backlog(1000))
    app = new_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert sum(len(c.item_ids) for c in app.main.board.columns) > 800
        # One widget per column, not per card.
        assert len(list(app.query("Board *"))) < 20
        first = app.main.board.selected_id
        for _ in range(20):
            await pilot.press("pagedown")
        await pilot.press("end", "j", "k")
        await pilot.pause()
        selected = app.main.board.selected_id
        assert selected is not None and selected != first
        column = app.main.board.column_of(selected)
        assert column is not None and column.item_ids.index(selected) > 50
        app.main.feed.reload()  # re-display keeps the highlighted item
        await settle(pilot)
        assert app.main.board.selected_id == selected


# --- rendering helpers ------------------------------------------------------------------------
def test_header_text_for_each_run_state() -> None:
    from widgets.status import RunView, describe_run
    assert describe_run(RunView()) == "idle"
    assert describe_run(RunView("running", "WRK-004", "build", 2, 192.0, 0.84)) == \
        "running WRK-004 · build · attempt 2 · 03:12 · $0.84 so far"
    assert describe_run(RunView("watching", "WRK-004", "build", 2, pid=77)) == \
        "watching a run of pid 77 · WRK-004 · build · attempt 2"
    assert describe_run(RunView("running", elapsed_s=3725, counts="3 items")) == \
        "running · 1:02:05 · $0.00 so far   3 items"
    # On a Ray cluster: where the attempt runs, ours or a watched run's lanes.
    assert describe_run(RunView("running", "WRK-004", "build", 2, 192.0, 0.84,
                                node="10.0.0.7")) == \
        "running WRK-004 · build · attempt 2 · on 10.0.0.7 · 03:12 · $0.84 so far"
    from widgets.status import LaneView
    lanes = (LaneView("WRK-002", "build", 3, node="10.0.0.7"), LaneView("WRK-005", "prd", 1))
    assert describe_run(RunView("watching", pid=77, lane_views=lanes)) == \
        "watching a run of pid 77 · 2 lanes · WRK-002 build #3 on 10.0.0.7 · WRK-005 prd #1"


def test_card_shows_progress_badges_and_the_blocked_reason_in_short() -> None:
    from app.backlog.model import Item
    from widgets.cards import render_card
    card = render_card(Item("WRK-001", "Add login", "in_progress", phase="spec",
                            size="small", risk="high")).plain
    assert card.splitlines() == ["WRK-001 S·high", "Add login", "▰▰▰▰▱▱ spec"]
    blocked = render_card(Item("WRK-002", "X", "blocked", blocked_reason="a " * 60)).plain
    assert blocked.splitlines()[-1].startswith("⚠ a a") and blocked.endswith("…")
    assert len(blocked.splitlines()[-1]) <= 50


def test_a_card_measures_and_reads_as_its_styled_content() -> None:
    """Card (what a column holds) counts lines from the plain text; it must agree with
    the styled Content at every width, wide characters and long words included."""
    from textual.content import Content

    from app.backlog.model import Item
    from widgets.cards import Card, render_card
    items = [
        Item("WRK-001", "Add login", "in_progress", phase="spec", size="small", risk="high"),
        Item("WRK-002", "X", "blocked", blocked_reason="a " * 60),
        Item("WRK-003", "  spaced   title\twith tab  ", "new"),
        Item("WRK-004", "日本語のタイトル とても長い タイトル です", "ready", size="large"),
        Item("WRK-005", "Supercalifragilisticexpialidocious words fold", "researching",
             risk="low"),
        Item("WRK-006", "bad\x1bchar", "new"),
    ]
    for item in items:
        styled = render_card(item)
        card = Card(item)
        assert card.plain == styled.plain
        plain = Content(styled.plain, list(styled.spans))
        for width in range(1, 40):
            assert card.get_height({}, width) == plain.get_height({}, width), (item, width)
            assert styled.get_height({}, width) == plain.get_height({}, width), (item, width)


CARD_ITEMS: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("WRK-001", "Add login", "in_progress", {"phase": "spec", "size": "small", "risk": "high"}),
    ("WRK-002", "X", "blocked", {"blocked_reason": "a " * 60}),
    ("WRK-003", "  spaced   title\twith tab  ", "new", {}),
    ("WRK-004", "日本語のタイトル とても長い タイトル です", "ready", {"size": "large"}),
    ("WRK-005", "Supercalifragilisticexpialidocious words fold", "researching",
     {"risk": "low", "size": "medium"}),
    ("WRK-006", "bad\x1bchar", "new", {}),
    ("WRK-007", "Item number 7 with a reasonably long title", "blocked",
     {"blocked_reason": "waiting on a person", "risk": "medium"}),
    ("WRK-008", "", "new", {"risk": "unknown-risk"}),
)


async def test_a_card_draws_the_same_cells_as_its_styled_content(tmp_path: Path) -> None:
    """Card draws itself from its pieces (the first frame's cards cost half as much);
    under a column's real styles, theme and highlight it must show the very cells and
    colours the styled Content shows, at every width."""
    from textual.visual import RenderOptions

    from app.backlog.model import Item
    from widgets.cards import Card
    app = new_app(make_board_project(tmp_path))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        column = app.main.board.columns[0]
        # The very call Textual makes (textual/visual.py): its styles, not a RulesMap.
        options = RenderOptions(column._get_style, column.styles)  # type: ignore[arg-type]
        styles = [column.get_visual_style("option-list--option"),
                  column.get_visual_style("option-list--option",
                                          "option-list--option-highlighted")]
        checked = 0
        for id_, title, status, fields in CARD_ITEMS:
            card = Card(Item(id_, title, status, **fields))
            for style in styles:
                for width in range(1, 45):
                    ours = card.render_strips(width, None, style, options)
                    theirs = card.content.render_strips(width, None, style, options)
                    assert cells(ours) == cells(theirs), (id_, width)
                    if card.plain.replace("\n", "").isprintable() and width > 1:
                        # drawn from its pieces, not handed to the Content
                        assert card._draw(width, style, options.get_style) is not None
                    checked += 1
        assert checked == len(CARD_ITEMS) * 2 * 44


def test_log_lines_have_a_marker_per_kind_and_are_cut() -> None:
    from app.engine.events import AgentLine
    from widgets.logpane import LINE_MAX, display_line
    assert display_line(AgentLine("tool", "Read app/x.py", "{}"), raw=False) == "→ Read app/x.py"
    assert display_line(AgentLine("error", "boom", "{}"), raw=False) == "✗ boom"
    assert display_line(AgentLine("text", "hi", '{"a": 1}'), raw=True) == '{"a": 1}'
    assert len(display_line(AgentLine("raw", "x" * 5000, ""), raw=False)) == LINE_MAX


def test_filter_matches_every_word_in_id_title_status_or_notes() -> None:
    from app.backlog.model import Item
    from widgets.board import matches
    item = Item("WRK-006", "Migrate sessions", "blocked", notes="redis cluster")
    assert matches(item, "") and matches(item, "wrk-006") and matches(item, "REDIS migrate")
    assert matches(item, "blocked") and not matches(item, "redis postgres")


async def test_a_load_that_lands_after_the_widgets_are_gone_is_ignored(
        board_project: Project) -> None:
    """At shutdown Textual removes the widgets before the App hears on_unmount; a
    BACKLOG.yaml load finishing in that gap must not raise (it did, once in CI)."""
    from app.ui.jobs.feed import BacklogFeed

    app = new_app(board_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        backlog = board_project.store().load()
        await app.main.board.remove()
        app.main.post_message(BacklogFeed.Loaded(backlog))
        await pilot.pause(0.1)
        assert app.main.closing
