"""The board with the real engine: the Pipeline in the App's worker thread (scripted agent
processes), and a real `orchestrate run` in another process that the board watches.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest
from conftest import REPO
from test_board import notifications, settle, wait_for
from textual.message import Message

from app.engine.events import PhaseFinished, PhaseStarted
from app.ui.app import BoardApp
from app.ui.bridge import EngineEvent
from widgets.board import BoardColumn
from widgets.detail import DetailPane
from widgets.logpane import LogPane
from widgets.status import RunHeader

sys.path.insert(0, str(REPO / "tests"))
from engine_helpers import make_project, orchestrate, ready

pytestmark = pytest.mark.anyio


async def test_r_runs_the_real_pipeline_and_the_card_reaches_done(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready(title="Add login page")],
                           run={"checkpoint": False})
    seen: list[Message] = []
    app = BoardApp(project, watch_files=False)
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await settle(pilot)
        assert app.main.board.selected_id == "WRK-001"
        await pilot.press("r")
        await wait_for(pilot, lambda: app.main.run_state == "idle" and "WRK-001" in
                       app.query_one("#col-done", BoardColumn).item_ids, timeout=60)
        events = [m.event for m in seen if isinstance(m, EngineEvent)]
        assert [e.phase for e in events if isinstance(e, PhaseStarted)] == [
            "prd", "research", "design", "spec", "build", "review"]
        assert {e.outcome for e in events if isinstance(e, PhaseFinished)} == {"complete"}
        # The agent's own words reached the log pane.
        lines = app.query_one(LogPane).log_view.lines
        assert any("Starting the review phase for WRK-001." in line for line in lines)
        assert any("run finished: no more work" in n for n in notifications(app))
        # The details show the six attempts from the worklog.
        app.main.board.select("WRK-001")
        await pilot.press("enter")
        await settle(pilot)
        text = str(app.query_one(DetailPane).query_one("#detail-body").render())
        assert text.count("complete") >= 6


async def test_the_board_watches_a_run_of_another_process(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready(title="Add login page")],
                           script={"default": {"mode": "slow", "lines": 60}},
                           run={"checkpoint": False})
    proc = orchestrate(project, "run")
    try:
        app = BoardApp(project, watch_files=True)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            header = app.query_one(RunHeader)
            await wait_for(pilot, lambda: f"watching a run of pid {proc.pid}" in
                           str(header.render()), timeout=20)
            await wait_for(pilot, lambda: "WRK-001 · prd · attempt 1" in str(header.render()))
            pane = app.query_one(LogPane)
            assert pane.display
            await wait_for(pilot, lambda: any("slow line 3" in line
                                              for line in pane.log_view.lines), timeout=20)
            # The card moved by the other process shows (BACKLOG.yaml is watched).
            await wait_for(pilot, lambda: "WRK-001" in
                           app.query_one("#col-in_progress", BoardColumn).item_ids)
            await pilot.press("r")  # no run of ours while another holds the lock: a pause
            assert any(f"the run of pid {proc.pid} pauses" in n for n in notifications(app))
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)
            await wait_for(pilot, lambda: str(header.render()).startswith("idle"), timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


async def test_a_chatty_agent_cannot_stall_the_ui(tmp_path: Path) -> None:
    """5,000 lines a phase as fast as the agent can print: they reach the UI in batches,
    not a message a line; a key pressed mid-stream takes effect while the run is live;
    and the log pane keeps only its last lines. (Key latency is a figure of bench/,
    `log_key_p99_ms`, not a timed assertion here.)"""
    from app.engine.events import AgentOutput
    from app.ui.bridge import EngineEvent, EngineOutputReady

    project = make_project(tmp_path / "p", [ready(title="A")],
                           # review waits before its burst, so the run is surely live
                           # when the key is pressed
                           script={"default": {"mode": "chatty", "lines": 5000},
                                   "review": {"mode": "chatty", "lines": 5000, "sleep": 5}},
                           run={"checkpoint": False})
    seen: list[object] = []
    app = BoardApp(project, watch_files=False)
    taken: list[AgentOutput] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        merger = app.main.runner.output_merger
        real_take = merger.take

        def spying_take() -> list[AgentOutput]:
            """What the UI takes from the merger, recorded."""
            events = real_take()
            taken.extend(events)
            return events

        merger.take = spying_take  # type: ignore[method-assign]
        await settle(pilot)
        await pilot.press("r")
        log = app.query_one(LogPane)
        await wait_for(pilot, lambda: log.display and len(log.lines) > 0, timeout=30)
        await pilot.press("L")  # hide the log pane while the agent streams
        assert not log.display and app.main.run_state != "idle"
        await pilot.press("L")
        assert log.display
        await wait_for(pilot, lambda: app.main.run_state == "idle" and "WRK-001" in
                       app.query_one("#col-done", BoardColumn).item_ids, timeout=60)
        # Messages that carried agent output into the UI thread, each counted once.
        batches = list({id(m): m for m in seen if isinstance(m, EngineOutputReady)
                        or (isinstance(m, EngineEvent) and isinstance(m.event, AgentOutput))
                        }.values())
        lines = sum(len(e.lines) for e in taken)
        assert lines >= 30_000  # six phases of 5,000 lines each
        assert len(batches) <= lines / 20, (len(batches), lines)
        assert log.log_view.line_count <= log.max_lines
        assert len(log.lines) == log.max_lines  # 30,000 lines came; 5,000 are kept


def test_output_merger_keeps_one_message_in_flight_and_merges_an_attempts_lines() -> None:
    """Agent output the UI has not taken yet is merged (per attempt, in order) behind one
    EngineOutputReady; other events pass straight through, after it."""
    from app.engine.events import AgentLine, AgentOutput
    from app.ui.bridge import EngineOutputReady, OutputMerger

    posted: list[Message] = []
    merger = OutputMerger(posted.append)

    def out(attempt: int, *texts: str) -> AgentOutput:
        return AgentOutput("WRK-001", "prd", attempt, tuple(AgentLine("text", t) for t in texts))

    merger(out(1, "a", "b"))
    merger(out(1, "c"))
    merger(out(2, "d"))
    merger(PhaseFinished("WRK-001", "prd", 2, "complete"))
    assert [type(m).__name__ for m in posted] == ["EngineOutputReady", "EngineEvent"]
    taken = merger.take()
    assert [(e.attempt, [line.text for line in e.lines]) for e in taken] == [
        (1, ["a", "b", "c"]), (2, ["d"])]
    assert merger.take() == []
    merger(out(3, "e"))  # taken: the next output needs a new message
    assert isinstance(posted[-1], EngineOutputReady)


HANG_FIRST = {"default": "complete", "items": {"WRK-001": {"prd": "hang"}}}


async def test_deleting_the_item_a_lane_works_on_asks_then_stops_that_lane_first(
        tmp_path: Path) -> None:
    from conftest import statuses
    from engine_helpers import alive

    from app.engine.runlock import read_run_state
    from app.ui.dialogs.confirm import ConfirmScreen
    project = make_project(tmp_path / "p", [ready(title="Hangs"), ready(title="Second")],
                           script=HANG_FIRST, run={"checkpoint": False})
    app = BoardApp(project, watch_files=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: any(a.get("item") == "WRK-001" for a in
                                          read_run_state(project).get("agents", [])),
                       timeout=20)
        pid = next(a["agent_pid"] for a in read_run_state(project)["agents"])
        assert app.main.board.select("WRK-001")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert isinstance(app.screen, ConfirmScreen)  # for the type checker
        assert "Its lane is live in the run of pid" in app.screen.question
        assert "that lane is stopped first" in app.screen.question
        await pilot.press("y")
        await wait_for(pilot, lambda: "WRK-001" not in statuses(project), timeout=30)
        assert not alive(pid)  # stopped before the item was deleted
        await wait_for(pilot, lambda: app.main.run_state == "idle", timeout=60)
        assert statuses(project) == {"WRK-002": "done"}  # the run went on with the rest
        assert any("run finished: no more work" in n for n in notifications(app))


async def test_advancing_an_item_a_watched_run_works_on_asks_then_stops_its_lane(
        tmp_path: Path) -> None:
    from conftest import statuses
    from engine_helpers import alive

    from app.engine.runlock import read_run_state
    from app.ui.dialogs.confirm import ConfirmScreen
    from app.ui.dialogs.moves import AdvanceChoice, AdvanceScreen
    project = make_project(tmp_path / "p", [ready(title="Hangs"), ready(title="Second")],
                           script=HANG_FIRST, run={"checkpoint": False})
    runner = orchestrate(project, "run")  # another process's run, which the board watches
    app = BoardApp(project, watch_files=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await wait_for(pilot, lambda: any(a.get("item") == "WRK-001" for a in
                                              read_run_state(project).get("agents", [])),
                           timeout=20)
            pid = next(a["agent_pid"] for a in read_run_state(project)["agents"])
            assert app.main.board.select("WRK-001")
            await pilot.press(">")
            await wait_for(pilot, lambda: isinstance(app.screen, AdvanceScreen))
            app.screen.dismiss(AdvanceChoice("done"))  # the person's choice in the form
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert isinstance(app.screen, ConfirmScreen)  # for the type checker
            assert app.screen.question.startswith(
                f"WRK-001's lane is live in the run of pid {runner.pid}: stop that lane")
            await pilot.press("y")
            await wait_for(pilot, lambda: statuses(project).get("WRK-001") == "done",
                           timeout=30)
            assert not alive(pid)
        out, err = runner.communicate(timeout=60)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 0, out + err
    assert statuses(project) == {"WRK-001": "done", "WRK-002": "done"}
