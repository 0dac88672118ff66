"""Pilot tests of reading an item on the board: what a ready card waits on and why a run
would skip it, SPEC progress on a build card, dependencies both ways in the details, the
documents view (`m`, `m` again, Escape) and the checkpoints view (`c`, `g`/enter for the
whole diff, Escape), over a real git repository with real checkpoint commits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from reading_project import FOLDER, make_reading_project
from test_board import new_app
from textual.pilot import Pilot
from textual.widgets import Markdown

from app.engine import commits
from app.engine.project import Project
from app.ui import keys
from app.ui.app import BoardApp
from app.ui.screens.checkpoints import CheckpointsScreen
from app.ui.screens.documents import DocumentsScreen
from app.ui.screens.main import MainScreen
from app.ui.served import refused_actions
from widgets.cards import Card
from widgets.detail import DetailPane
from widgets.diffview import DiffView
from widgets.reading import CheckpointList, DocumentView

pytestmark = pytest.mark.anyio


async def settle_all(pilot: Pilot[Any], extra: float = 0.0) -> None:
    """Wait until the cards' facts were asked for (a moment after the first frame) and
    every worker has ended (loads, card facts, documents, git) and the messages they
    posted are handled."""
    app = pilot.app
    main = getattr(app, "main", None)
    for _ in range(200):
        if main is None or main.cards.asked:
            break
        await pilot.pause(0.02)
    for _ in range(100):
        busy = [w for w in app.workers if not w.is_finished]
        if not busy:
            break
        await app.workers.wait_for_complete(busy)
        await pilot.pause()
    await pilot.pause(extra or None)


@pytest.fixture
def reading_project(tmp_path: Path) -> Project:
    return make_reading_project(tmp_path / "project")


def card_text(app: BoardApp, item_id: str) -> str:
    column = app.main.board.column_of(item_id)
    assert column is not None, item_id
    prompt = column.get_option(item_id).prompt
    assert isinstance(prompt, Card)
    return prompt.plain


def detail_text(app: BoardApp) -> str:
    return str(app.query_one(DetailPane).query_one("#detail-body").render()).replace(
        "\u00a0", " ")


# --- the cards ------------------------------------------------------------------------------
async def test_a_ready_card_says_what_it_waits_on_and_why_a_run_would_skip_it(
        reading_project: Project) -> None:
    app = new_app(reading_project)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle_all(pilot)
        assert card_text(app, "WRK-001").splitlines()[-1] == "◷ waits on WRK-002"
        assert card_text(app, "WRK-003").splitlines()[-1] == \
            "⊘ outside the guardrails: risk high, max low"
        assert "waits on" not in card_text(app, "WRK-004")  # new, not ready: nothing said


async def test_guardrails_follow_orchestrate_toml(reading_project: Project) -> None:
    reading_project.config_path.write_text('[guardrails]\nmax_risk = "high"\n')
    app = new_app(reading_project)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle_all(pilot)
        assert "guardrails" not in card_text(app, "WRK-003")
        reading_project.config_path.write_text('[guardrails]\nmax_size = "small"\n'
                                               'max_risk = "medium"\n')
        app.main.feed.reload()
        await settle_all(pilot)
        assert card_text(app, "WRK-003").endswith("⊘ outside the guardrails: risk high, "
                                                  "max medium")


async def test_a_card_stops_waiting_once_its_dependency_is_done(
        reading_project: Project) -> None:
    app = new_app(reading_project)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle_all(pilot)
        path = reading_project.backlog_path
        path.write_text(path.read_text().replace("status: in_progress\n    phase: build",
                                                 "status: done\n    phase: null"))
        app.main.feed.reload()
        await settle_all(pilot)
        assert card_text(app, "WRK-001").splitlines() == [
            "WRK-001 S·low", "Remember me on the login page"]


async def test_a_build_card_shows_spec_progress_and_follows_it(
        reading_project: Project) -> None:
    app = new_app(reading_project)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle_all(pilot)
        assert card_text(app, "WRK-002").splitlines()[-1] == "▰▰▰▰▰▱ build 3/7"
        spec = reading_project.root / FOLDER / "SPEC.md"
        spec.write_text(spec.read_text().replace("- [ ] send", "- [x] send"))
        app.main.feed.reload()  # as after a phase: the backlog is read again, SPEC.md too
        await settle_all(pilot)
        assert card_text(app, "WRK-002").splitlines()[-1] == "▰▰▰▰▰▱ build 4/7"


async def test_an_item_in_a_lane_shows_the_lanes_progress_and_documents(
        reading_project: Project) -> None:
    """With `[run] max_parallel` > 1 the agent writes in the lane's worktree: the card,
    the details and the documents view read that copy."""
    lane = reading_project.root / ".orchestrator" / "worktrees" / "WRK-002" / FOLDER
    lane.mkdir(parents=True)
    spec = (reading_project.root / FOLDER / "SPEC.md").read_text()
    (lane / "SPEC.md").write_text(spec.replace("- [ ] send", "- [x] send")
                                  .replace("- [ ] the reset", "- [x] the reset"))
    (lane / "PRD.md").write_text("# PRD in the lane\n")
    app = new_app(reading_project)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle_all(pilot)
        assert card_text(app, "WRK-002").splitlines()[-1] == "▰▰▰▰▰▱ build 5/7"
        app.main.board.select("WRK-002")
        await pilot.press("m")
        await settle_all(pilot)
        assert markdown_source(app) == "# PRD in the lane\n"
        assert app.screen.query_one(DocumentView).name_shown == "PRD.md"


# --- the details ----------------------------------------------------------------------------
async def test_the_details_list_dependencies_both_ways_and_the_checkpoints(
        reading_project: Project) -> None:
    app = new_app(reading_project)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle_all(pilot)
        app.main.board.select("WRK-002")
        await pilot.press("enter")
        await settle_all(pilot)
        text = detail_text(app)
        assert "depends on     WRK-005 (done)" in text
        assert "needed by      WRK-001, WRK-004" in text
        assert "▰▰▰▰▰▱ build  SPEC 3/7" in text
        assert "m reads the documents" in text and "c shows their diffs" in text
        assert "build Tokens are redeemed once, then used up" in text
        assert "[WRK-005]" not in text and "CI runs the tests" not in text
        app.main.board.select("WRK-001")
        await settle_all(pilot)
        text = detail_text(app)
        assert "depends on     WRK-002 (in progress · build)" in text
        assert "needed by      —" in text
        app.main.board.select("WRK-003")
        await settle_all(pilot)
        assert "guardrails     outside the guardrails: risk high, max low" in detail_text(app)
        assert "checkpoints\n  none yet" in detail_text(app)


async def test_the_details_say_why_there_are_no_checkpoints(tmp_path: Path) -> None:
    project = make_reading_project(tmp_path / "project", with_git=False)
    app = new_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle_all(pilot)
        app.main.board.select("WRK-002")
        await pilot.press("enter")
        await settle_all(pilot)
        assert "checkpoints\n  none: not in a git repository" in detail_text(app)


# --- the documents view ---------------------------------------------------------------------
def markdown_source(app: BoardApp) -> str:
    return app.screen.query_one("#doc-body", Markdown).source


async def test_m_shows_the_documents_in_phase_order_and_m_cycles_them(
        reading_project: Project) -> None:
    app = new_app(reading_project)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_all(pilot)
        app.main.board.select("WRK-002")
        await pilot.press("m")
        await settle_all(pilot)
        assert isinstance(app.screen, DocumentsScreen)
        view = app.screen.query_one(DocumentView)
        seen = [view.name_shown]
        assert markdown_source(app).startswith("# Password reset by email")
        for _ in range(4):
            await pilot.press("m")
            await settle_all(pilot)
            seen.append(view.name_shown)
        assert seen == ["PRD.md", "DESIGN.md", "SPEC.md", "notes.md", "PRD.md"]
        assert "PRD.md" in str(view.query_one("#doc-tabs").render())
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        assert app.main.board.selected_id == "WRK-002"


async def test_the_documents_view_scrolls_with_the_keys(reading_project: Project) -> None:
    app = new_app(reading_project)
    async with app.run_test(size=(80, 12)) as pilot:
        await settle_all(pilot)
        app.main.board.select("WRK-002")
        await pilot.press("m")
        await settle_all(pilot, 0.2)
        scroller = app.screen.query_one(DocumentView).scroller
        assert scroller.has_focus and scroller.max_scroll_y > 0
        await pilot.press("pagedown")
        await pilot.pause(0.2)
        assert scroller.scroll_y > 0


async def test_m_on_an_item_without_documents_says_so(reading_project: Project) -> None:
    app = new_app(reading_project)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_all(pilot)
        app.main.board.select("WRK-004")
        await pilot.press("m")
        await settle_all(pilot)
        tabs = str(app.screen.query_one("#doc-tabs").render())
        assert tabs == "no documents yet in changes/WRK-004_audit-log-of-logins/"
        await pilot.press("m")  # nothing to cycle: no error
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_a_document_shows_its_control_characters_escaped_and_a_long_one_is_cut(
        reading_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.ui.screens import documents
    monkeypatch.setattr(documents, "MAX_SHOWN_BYTES", 200)
    prd = reading_project.root / FOLDER / "PRD.md"
    prd.write_text("# Title\x1b]0;pwned\x07\n\n" + "word " * 100)
    app = new_app(reading_project)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_all(pilot)
        app.main.board.select("WRK-002")
        await pilot.press("m")
        await settle_all(pilot)
        source = markdown_source(app)
        assert "\x1b" not in source and "\\x1b]0;pwned\\x07" in source
        assert source.rstrip().endswith(f"the whole document is `{FOLDER}/PRD.md`*")


# --- the checkpoints view -------------------------------------------------------------------
def view_lines(app: BoardApp) -> list[tuple[str, str]]:
    return list(app.screen.query_one(DiffView).lines)


async def test_c_lists_the_checkpoints_with_the_stat_and_g_shows_the_whole_diff(
        reading_project: Project) -> None:
    app = new_app(reading_project)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle_all(pilot)
        app.main.board.select("WRK-002")
        await pilot.press("c")
        await settle_all(pilot)
        screen = app.screen
        assert isinstance(screen, CheckpointsScreen)
        listing = screen.query_one(CheckpointList)
        prompts = [str(listing.get_option_at_index(i).prompt).replace("\u00a0", " ")
                   for i in range(listing.option_count)]
        assert [p.split(" ", 4)[3:] for p in prompts] == [
            ["PRD", "PRD: reset links by email, once, for an hour"],
            ["DESIGN", "Design and spec: hashed tokens in a table"],
            ["BUILD", "Tokens are issued and stored hashed"],
            ["BUILD", "Tokens are redeemed once, then used up"]]
        lines = view_lines(app)
        assert lines[0][0] == "commit"
        assert ("stat", f" {FOLDER}/PRD.md | 15 +++++++++++++++") in lines
        assert not any(kind == "added" for kind, _ in lines)  # the stat only
        assert screen.selected is not None
        assert screen.view.border_title == f"stat · {screen.selected[:7]}"
        await pilot.press("j", "j")  # the third checkpoint: reset.py appears
        await settle_all(pilot)
        assert any(kind == "stat" and "reset.py" in text for kind, text in view_lines(app))
        await pilot.press("g")
        await settle_all(pilot)
        lines = view_lines(app)
        assert ("file", "diff --git a/reset.py b/reset.py") in lines
        assert ("added", "+HOUR = 3600") in lines and ("hunk", "@@ -0,0 +1,11 @@") in lines
        assert screen.view.has_focus and screen.view.border_title.startswith("diff · ")
        await pilot.press("pagedown")  # the diff view scrolls, the list stays
        assert screen.query_one(CheckpointList).highlighted == 2
        await pilot.press("g")
        await settle_all(pilot)
        assert not any(kind == "added" for kind, _ in view_lines(app))
        assert screen.query_one(CheckpointList).has_focus
        await pilot.press("enter")  # enter on the list: the whole diff too
        await settle_all(pilot)
        assert ("added", "+HOUR = 3600") in view_lines(app)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_a_long_diff_is_cut_with_a_note(reading_project: Project,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commits, "MAX_DIFF_LINES", 12)
    app = new_app(reading_project)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle_all(pilot)
        app.main.board.select("WRK-002")
        await pilot.press("c")
        await settle_all(pilot)
        await pilot.press("g")
        await settle_all(pilot)
        lines = view_lines(app)
        assert len(lines) == 13 and lines[-1][0] == "note"
        assert "shown up to 12 lines" in lines[-1][1] and "`git show " in lines[-1][1]


async def test_c_without_git_says_why_there_are_none(tmp_path: Path) -> None:
    project = make_reading_project(tmp_path / "project", with_git=False)
    app = new_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_all(pilot)
        app.main.board.select("WRK-002")
        await pilot.press("c")
        await settle_all(pilot)
        assert view_lines(app) == [
            ("note", "WRK-002 has no checkpoints: not in a git repository")]
        await pilot.press("g")  # nothing highlighted: nothing happens
        await settle_all(pilot)
        assert len(view_lines(app)) == 1


async def test_a_diff_line_shows_escaped_and_its_tabs_as_spaces(
        reading_project: Project) -> None:
    from reading_project import commit_all
    root = reading_project.root
    (root / "odd.txt").write_text("\tindented\x1b[31m red\n")
    commit_all(root, "[WRK-002][BUILD] an odd file", "2026-11-22T09:00:00+00:00")
    app = new_app(reading_project)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle_all(pilot)
        app.main.board.select("WRK-002")
        await pilot.press("c")
        await settle_all(pilot)
        await pilot.press("end", "g")
        await settle_all(pilot)
        assert ("added", "+   indented\\x1b[31m red") in view_lines(app)


# --- keys -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("cls", "scope"), [(DocumentsScreen, "documents"),
                                            (CheckpointsScreen, "checkpoints")])
def test_the_views_keys_are_the_tables(cls: Any, scope: keys.Scope) -> None:
    assert [(b.key, b.action, b.description, b.id) for b in cls.BINDINGS] == [
        (c.key, c.action, c.label, c.id) for c in keys.commands(scope)]
    assert scope == cls.KEY_SCOPE
    for command in keys.commands(scope):
        assert callable(getattr(cls, f"action_{command.action}", None)), command.action


async def test_the_palette_offers_a_views_commands_while_it_is_shown(
        reading_project: Project) -> None:
    app = new_app(reading_project)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle_all(pilot)
        on_board = {c.title for c in app.get_system_commands(app.screen)}
        assert "board: read the documents" in on_board
        assert "board: next document" not in on_board
        app.main.board.select("WRK-002")
        await pilot.press("m")
        await settle_all(pilot)
        offered = {c.title: c for c in app.get_system_commands(app.screen)}
        assert isinstance(app.screen, DocumentsScreen)
        assert offered["board: next document"].callback == app.screen.action_next_document
        assert "board: diff or stat of the checkpoint" not in offered
        offered["board: next document"].callback()
        await settle_all(pilot)
        assert app.screen.query_one(DocumentView).name_shown == "DESIGN.md"


def test_a_read_only_board_keeps_the_reading_keys() -> None:
    """Reading changes nothing: `orchestrate serve --read-only` keeps m, c, g and Escape."""
    refused = refused_actions()
    for action in ("documents", "checkpoints", "next_document", "toggle_diff", "close_view"):
        assert action not in refused


async def test_the_diff_view_colours_each_kind_from_the_theme() -> None:
    """Added lines in the success colour, removed ones in the error colour, a stat line's
    pluses and minuses apart from its name, and Author/Date muted (the foreground at 60%,
    blended: not the plain foreground)."""
    from textual.app import App, ComposeResult

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield DiffView()

    app = One()
    async with app.run_test(size=(60, 8)) as pilot:
        view = app.query_one(DiffView)
        view.show([("stat", " a.py |  6 +++---"), ("added", "+x"), ("removed", "-y"),
                   ("meta", "Author: me"), ("context", " z")])
        await pilot.pause()
        stat = list(view.render_line(0))
        assert [s.text for s in stat][:3] == [" a.py |  6 ", "+++", "---"]
        plus, minus = stat[1].style, stat[2].style
        assert plus and minus and plus.color != minus.color
        added = next(iter(view.render_line(1))).style
        removed = next(iter(view.render_line(2))).style
        meta = next(iter(view.render_line(3))).style
        plain = next(iter(view.render_line(4))).style
        assert added and removed and meta and plain
        assert added.color == plus.color and removed.color == minus.color
        assert len({added.color, removed.color, meta.color, plain.color}) == 4
