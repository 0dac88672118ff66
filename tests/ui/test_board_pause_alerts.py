"""The board tells what a run is doing: a usage-limit pause counted down in the header (our
run's and a watched one's), and a bell with a desktop notification for what needs a
person (an item blocked or done, the run's end, a pause).
"""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path

import pytest
from conftest import REPO, FakeEngine
from test_board import new_app, notifications, settle, wait_for

from app.engine.events import (
    EventBus,
    ItemChanged,
    PhaseFinished,
    PhaseStarted,
    RunFinished,
    RunPaused,
    RunResumed,
    RunStarted,
)
from app.engine.project import Project
from app.ui.app import BoardApp
from app.ui.dialogs.confirm import ConfirmScreen
from app.ui.jobs.alerts import escape_sequence
from widgets.status import RunHeader

sys.path.insert(0, str(REPO / "tests"))
from engine_helpers import make_project, orchestrate, ready

pytestmark = pytest.mark.anyio


class PausingEngine(FakeEngine):
    """Starts WRK-004's prd, meets a usage limit that resets at `resumes_at`, and waits
    for it (or for a stop, which ends the wait at once, as the real engine's does)."""

    def __init__(self, project: Project, bus: EventBus, target: str | None = None, *,
                 resumes_at: float, resume: threading.Event | None = None) -> None:
        super().__init__(project, bus, target)
        self.resumes_at = resumes_at
        self.resume = resume or threading.Event()

    def request_stop(self) -> None:
        super().request_stop()
        self.resume.set()

    def run(self) -> RunFinished:
        self.bus.emit(RunStarted(kind="run", pid=1))
        self.bus.emit(PhaseStarted(item_id="WRK-004", phase="prd", attempt=1, at=1000.0))
        self.bus.emit(RunPaused(reason="You've hit your limit · resets 1:21am (UTC)",
                                resumes_at=self.resumes_at, item_id="WRK-004", phase="prd",
                                at=1000.0))
        self.resume.wait(20)
        if self.stop.is_set():
            self.bus.emit(PhaseFinished(item_id="WRK-004", phase="prd", attempt=1,
                                        outcome="interrupted"))
            finished = RunFinished(reason="stopped", exit_code=130)
        else:
            self.bus.emit(RunResumed())
            finished = RunFinished(reason="no more work")
        self.bus.emit(finished)
        return finished


def header_text(app: BoardApp) -> str:
    return str(app.query_one(RunHeader).render())


# --- the pause of a usage limit -------------------------------------------------------------
async def test_our_paused_run_counts_down_in_the_header_and_s_stops_it_at_once(
        board_project: Project) -> None:
    now = [1000.0]
    engines: list[PausingEngine] = []

    def factory(project: Project, bus: EventBus, target: str | None) -> PausingEngine:
        engines.append(PausingEngine(project, bus, target, resumes_at=1000.0 + 125))
        return engines[-1]

    app = new_app(board_project, pipeline_factory=factory, clock=lambda: now[0])
    async with app.run_test(size=(140, 36)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        header = app.query_one(RunHeader)
        await wait_for(pilot, lambda: "paused: usage limit" in header_text(app))
        text = header_text(app)
        assert "paused: usage limit, resumes at " in text and "(in 2m05s)" in text
        assert "WRK-004 · prd" in text and header.has_class("-paused")
        now[0] += 1  # the header ticks each second: the countdown moves
        await wait_for(pilot, lambda: "(in 2m04s)" in header_text(app), timeout=3)
        # `s` still stops at once while paused (after asking).
        await pilot.press("s")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.main.run_state == "idle")
        assert engines[0].stop.is_set()
        assert header_text(app).startswith("idle") and not header.has_class("-paused")


async def test_a_resumed_run_leaves_the_pause_behind(board_project: Project) -> None:
    resume = threading.Event()

    def factory(project: Project, bus: EventBus, target: str | None) -> PausingEngine:
        return PausingEngine(project, bus, target, resumes_at=1000.0 + 3720, resume=resume)

    app = new_app(board_project, pipeline_factory=factory, clock=lambda: 1000.0)
    async with app.run_test(size=(140, 36)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: "(in 1h02m)" in header_text(app))
        resume.set()
        await wait_for(pilot, lambda: app.main.run_state == "idle")
        assert "paused" not in header_text(app)


async def test_a_real_run_paused_by_a_usage_limit(tmp_path: Path) -> None:
    """The pipeline in the board meets a usage limit (the scripted agent prints what Claude
    Code prints): the header says when it resumes, and `s` stops it at once."""
    project = make_project(tmp_path / "p", [ready()], run={"checkpoint": False},
                           script={"prd": {"1": {"mode": "usage_limit", "resets_in": 3600}}})
    app = BoardApp(project, watch_files=False)
    async with app.run_test(size=(140, 36)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: "paused: usage limit, resumes at" in header_text(app),
                       timeout=30)
        # the reset (an hour from the agent's answer) plus the 60 s margin, from now
        assert re.search(r"\(in 1h0[01]m\)", header_text(app)), header_text(app)
        await pilot.press("s", "y")
        await wait_for(pilot, lambda: app.main.run_state == "idle", timeout=10)
        assert any("run finished: stopped" in n for n in notifications(app))


async def test_the_header_counts_down_a_watched_runs_pause_and_s_stops_that_run(
        tmp_path: Path) -> None:
    """Another process's run meets a usage limit: the board reads its pause.json. `s`
    asks, then sends that process SIGTERM: it records the attempt and exits 143."""
    project = make_project(tmp_path / "p", [ready()], run={"checkpoint": False},
                           script={"prd": {"1": {"mode": "usage_limit", "resets_in": 3600}}})
    proc = orchestrate(project, "run")
    try:
        app = BoardApp(project, watch_files=True)
        async with app.run_test(size=(140, 36)) as pilot:
            await settle(pilot)
            await wait_for(pilot, lambda: "paused: usage limit, resumes at" in
                           header_text(app), timeout=30)
            assert f"pid {proc.pid}" in header_text(app)
            assert re.search(r"\(in 1h0[01]m\)", header_text(app)), header_text(app)
            await pilot.press("s")
            assert isinstance(app.screen, ConfirmScreen)
            assert f"pid {proc.pid}" in app.screen.question
            await pilot.press("y")
            assert proc.wait(timeout=30) == 143
            await wait_for(pilot, lambda: header_text(app).startswith("idle"), timeout=10)
            assert any(f"stopping the run of pid {proc.pid}" in n for n in notifications(app))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


# --- the bell and desktop notifications -------------------------------------------------------
def capture_terminal(app: BoardApp) -> list[str]:
    """What the board writes to the terminal beside its frames (headless: only that)."""
    written: list[str] = []
    driver = app._driver
    assert driver is not None
    # A deliberate patch; mypy checks an instance's method against the unbound one.
    driver.write = written.append  # type: ignore[method-assign,assignment]
    return written


class BlockingEngine(FakeEngine):
    """Blocks WRK-004 with an agent's reason that carries escape sequences."""

    def run(self) -> RunFinished:
        self.bus.emit(RunStarted(kind="run", pid=1))
        self.bus.emit(ItemChanged(item_id="WRK-004", status="blocked",
                                  reason="needs \x1b]0;pwned\x07 a person\nnow"))
        finished = RunFinished(reason="no more work", attempts=1)
        self.bus.emit(finished)
        return finished


async def test_done_blocked_finished_and_paused_ring_the_bell_with_a_notification(
        board_project: Project) -> None:
    app = new_app(board_project, pipeline_factory=FakeEngine)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        written = capture_terminal(app)
        await pilot.press("r")  # the FakeEngine walks WRK-004 to done
        await wait_for(pilot, lambda: app.main.run_state == "idle" and len(written) >= 2)
        assert written == [escape_sequence("WRK-004 done: Dark mode for the settings screen"),
                           escape_sequence("run finished: no more work")]
        assert written[0] == ("\a\x1b]9;WRK-004 done: Dark mode for the settings screen\a"
                              "\x1b]777;notify;orchestrate;WRK-004 done: Dark mode for the "
                              "settings screen\a")

        written.clear()
        app.main.runner._factories["run"] = BlockingEngine
        await pilot.press("r")
        await wait_for(pilot, lambda: app.main.run_state == "idle" and len(written) >= 2)
        said = "WRK-004 blocked: needs \\x1b]0;pwned\\x07 a person now"
        assert written[0] == f"\a\x1b]9;{said}\a\x1b]777;notify;orchestrate;{said}\a"
        assert "\x1b]0" not in written[0]  # the agent's sequence is text, never obeyed

        written.clear()
        app.main.runner._factories["run"] = lambda project, bus, target: PausingEngine(
            project, bus, target, resumes_at=1000.0 + 3720)
        await pilot.press("r")
        await wait_for(pilot, lambda: bool(written))
        assert written[0].startswith("\a\x1b]9;run paused: usage limit, resumes at ")
        assert "(in 1h02m)" in written[0]
        app.main.runner.stop_now()
        await wait_for(pilot, lambda: app.main.run_state == "idle")
        assert written[-1] == escape_sequence("run finished: stopped")


def test_an_item_blocked_or_done_is_never_merged_away() -> None:
    """A burst of item changes collapses to one reload, but a blocked or done item is
    also a notification: its message must reach the board."""
    from app.ui.bridge import EngineEvent

    done = EngineEvent(ItemChanged(item_id="WRK-001", status="done"))
    moved = EngineEvent(ItemChanged(item_id="WRK-002", status="in_progress", phase="prd"))
    assert not done.can_replace(moved)  # the older (done) is kept
    assert moved.can_replace(EngineEvent(ItemChanged(item_id="WRK-002", status="ready")))
