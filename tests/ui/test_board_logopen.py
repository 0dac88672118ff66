"""The log pane shows a finished attempt's log from its end, and classifies a log file's
lines only as it draws them (escaped, coloured and labelled as any other line)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from test_board import new_app, settle, wait_for

from app.engine.events import AgentLine
from app.engine.project import Project
from app.engine.streamjson import describe

pytestmark = pytest.mark.anyio

RESULT = ('{"type":"result","subtype":"success","is_error":false,"num_turns":7,'
          '"total_cost_usd":0.5}')


def finished_log(path: Path, lines: int) -> None:
    """A finished attempt's log: `lines` agent lines numbered from 0, then its result."""
    text = ('{"type":"assistant","message":{"content":[{"type":"text","text":'
            '"step %07d"}]}}\n')
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for start in range(0, lines, 10_000):
            fh.write("".join(text % k for k in range(start, min(start + 10_000, lines))))
        fh.write(RESULT + "\n")


async def test_a_million_line_finished_log_opens_at_its_end_and_scrolls_up(
        board_project: Project) -> None:
    """Highlighting a card (no run on) shows its newest attempt's log at its end, reading
    only the end of the file; scrolling to the top reads the lines above, the view kept."""
    log = board_project.logs_dir / "WRK-001_build_1.log"
    finished_log(log, 1_000_000)
    app = new_app(board_project)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("L")
        app.main.board.select("WRK-001")
        pane = app.main.log_pane
        await wait_for(pilot, lambda: pane.log_view.line_count > 0)
        view = pane.log_view
        assert "WRK-001 · build · attempt 1 (finished)" in pane.source
        assert view.lines[-1] == "■ finished: success, 7 turns, $0.5000"
        assert view.lines[-2] == "  step 0999999"
        assert view.line_count < 10_000  # the end of the file, not a million lines
        await pilot.pause()
        assert view.is_vertical_scroll_end
        indexed = view.line_count
        first = view.lines[0]
        view.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        await pilot.pause()
        assert view.line_count > indexed  # lines above were indexed when the top drew
        assert view.scroll_y > 0  # the view kept on the lines it showed
        assert view.lines[view.line_count - indexed] == first
        top = int(view.scroll_y)
        assert view.lines[top].startswith("  step 09")


async def test_a_log_found_after_its_card_was_left_is_not_shown(
        board_project: Project) -> None:
    """A worker finds and opens the log; by the time it is back the person may have moved
    on to another card, whose pane it must not take."""
    from app.engine.jsonl import TailIndex
    from app.ui.jobs.runwatch import RunWatch

    app = new_app(board_project)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        pane = app.main.log_pane
        here = app.main.board.selected_id
        assert app.main.backlog is not None
        other = next(i.id for i in app.main.backlog.items if i.id != here)
        log = board_project.logs_dir / f"{other}_build_1.log"
        finished_log(log, 10)
        source = pane.source
        app.main.run_watch.show_finished(RunWatch.FinishedLog(other, log, TailIndex(log)))
        await pilot.pause()
        assert pane.source == source and "(finished)" not in pane.source
        app.main.board.select(other)  # on its card: the worker opens it
        await wait_for(pilot, lambda: "(finished)" in pane.source)
        assert pane.log_view.lines[-1] == "■ finished: success, 7 turns, $0.5000"


async def test_a_runs_lines_are_not_replaced_by_a_finished_log(
        board_project: Project) -> None:
    finished_log(board_project.logs_dir / "WRK-001_build_1.log", 10)
    app = new_app(board_project)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        pane = app.main.log_pane
        pane.add_lines([AgentLine("text", "a run's line", "")])
        app.main.board.select("WRK-001")
        await pilot.pause()
        assert pane.log_view.lines[-1] == "  a run's line"


async def test_tailed_lines_are_classified_when_drawn_with_control_characters_escaped(
        board_project: Project) -> None:
    """A watched run's lines reach the pane as printed; drawn, they read as any line."""
    path = board_project.logs_dir / "WRK-004_build_1.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '{"type":"assistant","message":{"content":[{"type":"text","text":'
        '"look \\u001b]0;pwned\\u0007 here"}]}}\n'
        '{"type":"assistant","message":{"content":[{"type":"tool_use","name":"Bash",'
        '"input":{"command":"pytest -q"}}]}}\n', encoding="utf-8")
    app = new_app(board_project)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("L")
        stop = threading.Event()
        app.main.run_watch.tail(path, stop)
        pane = app.main.log_pane
        try:
            await wait_for(pilot, lambda: len(pane.lines) == 2)
        finally:
            stop.set()
        assert all(isinstance(line, str) for line in pane.lines)  # kept as printed
        view = pane.log_view
        assert view.lines[-2:] == ["  look \\x1b]0;pwned\\x07 here", "→ Bash pytest -q"]
        await pilot.pause()
        strip = view.render_line(view.line_count - 1 - int(view.scroll_y))
        tool = next(seg.style for seg in strip if seg.text.startswith("→"))
        assert tool is not None and tool.bold  # coloured as a tool call
        assert "\x1b" not in "".join(seg.text for seg in strip)


async def test_every_lanes_lines_carry_their_lanes_label_styled(
        board_project: Project) -> None:
    app = new_app(board_project)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("L")
        pane = app.main.log_pane
        pane.add_lines([AgentLine("text", "from lane two", "", lane="WRK-002"),
                        describe('{"type":"assistant","message":{"content":[{"type":'
                                 '"text","text":"no lane"}]}}')])
        await pilot.pause()
        view = pane.log_view
        assert view.lines[-2:] == ["WRK-002│  from lane two", "  no lane"]
        strip = view.render_line(view.line_count - 2 - int(view.scroll_y))
        label = next(seg for seg in strip if seg.text.startswith("WRK-002"))
        assert label.style is not None and label.style.bold
        theme = app.theme_variables
        assert label.style.color is not None and label.style.color.triplet is not None
        assert label.style.color.triplet.hex.upper() == theme["primary"].upper()
