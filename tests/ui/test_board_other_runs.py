"""The board and runs of other processes: `r` pauses and `s` stops a watched run (by
SIGUSR1 and SIGTERM), SIGUSR1 pauses the board's own run, `D` starts a detached run that
outlives the board, and a hang-up or SIGTERM stops the board's run before it exits.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO, FakeEngine
from test_board import new_app, notifications, settle, wait_for
from test_board_pause_alerts import header_text

from app.engine.events import EventBus
from app.engine.limits import Pause, clear_pause, save_pause
from app.engine.project import Project
from app.engine.runlock import holder_pid, with_agents, write_run_state
from app.ui.app import BoardApp
from app.ui.dialogs.confirm import ConfirmScreen
from app.ui.jobs.signals import BoardSignals

sys.path.insert(0, str(REPO / "tests"))
from engine_helpers import alive, make_project, orchestrate, ready, worklog_entries

pytestmark = pytest.mark.anyio


def gated(gate: threading.Event, engines: list[FakeEngine]
          ) -> Callable[[Project, EventBus, str | None], FakeEngine]:
    """A FakeEngine factory whose engines hold after their first agent output."""
    def factory(project: Project, bus: EventBus, target: str | None) -> FakeEngine:
        engines.append(FakeEngine(project, bus, target, gate=gate))
        return engines[-1]
    return factory


async def test_r_while_watching_pauses_the_other_run_after_its_phase(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], run={"checkpoint": False},
                           script={"default": {"mode": "slow", "lines": 10}})
    proc = orchestrate(project, "run")
    try:
        app = BoardApp(project, watch_files=True)
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(pilot)
            await wait_for(pilot, lambda: f"watching a run of pid {proc.pid} · WRK-001" in
                           header_text(app), timeout=20)
            await pilot.press("r")  # not "run": that process holds the lock; pause it
            assert any(f"the run of pid {proc.pid} pauses after its current phase" in n
                       for n in notifications(app))
            out, _err = proc.communicate(timeout=30)
            assert proc.returncode == 0 and "run finished: paused" in out
            await wait_for(pilot, lambda: header_text(app).startswith("idle"), timeout=10)
        assert [e["outcome"] for e in worklog_entries(project)] == ["complete"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


async def test_a_watched_run_that_ended_is_not_signalled(board_project: Project) -> None:
    """The pid is checked against the lock again before a signal: a pid whose run ended
    may belong to another process by now."""
    holder: list[int | None] = [4242]
    app = BoardApp(board_project, watch_files=True, clock=lambda: 1003.0,
                   lock_holder=lambda project: holder[0])
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: app.main.run_watch.watched_pid == 4242)
        holder[0] = 4343  # another run now (4242 must not get the signal)
        await pilot.press("r")
        assert any("the run of pid 4242 has ended" in n for n in notifications(app))


async def test_sigusr1_pauses_the_boards_own_run(board_project: Project) -> None:
    """A board watching this board pauses its run with SIGUSR1, as it pauses the CLI's."""
    gate = threading.Event()
    engines: list[FakeEngine] = []
    app = new_app(board_project, pipeline_factory=gated(gate, engines))
    async with app.run_test(size=(120, 36)) as pilot:
        signals = BoardSignals(stop=app.stop_for_signal,
                               pause=lambda: app.main.runner.pause_own(),
                               stop_again=app.main.runner.stop_now, wait_idle=app.wait_idle,
                               bound_s=app.hangup_bound_s)
        signals.install()
        try:
            signals.attach(asyncio.get_running_loop())
            await settle(pilot)
            await pilot.press("r")
            await wait_for(pilot, lambda: bool(engines) and app.main.run_state == "running")
            os.kill(os.getpid(), signal.SIGUSR1)
            await wait_for(pilot, lambda: app.main.run_state == "pausing")
            assert engines[0].pause.is_set() and not engines[0].stop.is_set()
            gate.set()
            await wait_for(pilot, lambda: app.main.run_state == "idle")
            assert signals.received is None  # a pause is not an ending
        finally:
            signals.restore()
            gate.set()


async def test_a_hang_up_stops_our_run_and_exits_once_it_has_ended(
        board_project: Project) -> None:
    """What SIGHUP and SIGTERM ask of the board (app/ui/jobs/signals.py calls this): stop
    without asking, wait for the engine to record its attempt, exit with the code."""
    gate = threading.Event()
    engines: list[FakeEngine] = []
    app = new_app(board_project, pipeline_factory=gated(gate, engines))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: bool(engines) and app.main.run_state == "running")
        written: list[str] = []
        app._driver.write = written.append  # type: ignore[method-assign,union-attr]
        app.stop_for_signal(129)
        assert engines[0].stop.is_set()
        await wait_for(pilot, lambda: not app.is_running, timeout=10)
    assert app.return_value == 129
    assert app.main.runner.idle.is_set()
    assert written == []  # no bell to a terminal that may be gone


async def test_a_hang_up_before_the_engine_exists_still_stops_it(
        board_project: Project) -> None:
    engines: list[FakeEngine] = []
    app = new_app(board_project, pipeline_factory=gated(threading.Event(), engines))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        runner = app.main.runner
        runner.start("run")  # the worker makes the engine in a moment
        runner.hang_up(143, 10.0)
        await wait_for(pilot, lambda: not app.is_running, timeout=10)
    assert app.return_value == 143 and engines and engines[0].stop.is_set()


async def test_d_starts_a_detached_run_that_outlives_the_board(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], run={"checkpoint": False},
                           script={"default": {"mode": "slow", "lines": 100}})
    app = BoardApp(project, watch_files=True)
    pid = None
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(pilot)
            await pilot.press("D")
            await wait_for(pilot, lambda: app.main.run_watch.watched_pid is not None,
                           timeout=20)
            pid = app.main.run_watch.watched_pid
            assert pid is not None
            assert pid != os.getpid() and holder_pid(project) == pid
            assert f"watching a run of pid {pid}" in header_text(app)
            assert any(f"run started in the background: pid {pid}" in n
                       for n in notifications(app))
            await pilot.press("q")  # not our run: the board quits at once
            await wait_for(pilot, lambda: not app.is_running)
        time.sleep(0.5)
        assert alive(pid) and holder_pid(project) == pid  # the run goes on
        stop = subprocess.run([sys.executable, "-m", "app", "-C", str(project.root), "stop"],
                              capture_output=True, text=True, timeout=60)
        assert stop.returncode == 0, stop.stderr
        assert holder_pid(project) is None
        assert [e["outcome"] for e in worklog_entries(project)][-1:] == ["interrupted"]
    finally:
        if pid is not None and alive(pid):
            os.kill(pid, signal.SIGKILL)


async def test_d_while_another_run_holds_the_lock_says_so(board_project: Project) -> None:
    app = BoardApp(board_project, watch_files=True, clock=lambda: 1003.0,
                   lock_holder=lambda project: 4242)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: app.main.run_watch.watched_pid == 4242)
        await pilot.press("D")
        assert any("another run holds the lock (pid 4242)" in n for n in notifications(app))
        assert not [w for w in app.workers if w.group == "detach"]


async def test_s_on_a_watched_run_asks_first(board_project: Project) -> None:
    app = BoardApp(board_project, watch_files=True, clock=lambda: 1003.0,
                   lock_holder=lambda project: 4242)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: app.main.run_watch.watched_pid == 4242)
        await pilot.press("s")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question == ("Stop the run of pid 4242 now? Its item stays "
                                       "resumable.")
        await pilot.press("n")  # nothing is sent
        assert app.main.run_watch.watched_pid == 4242


async def test_watching_a_lanes_run_names_every_lane_in_the_header(
        board_project: Project) -> None:
    """The watched run's run.json (read by app.engine.liverun in the watch's worker) lists
    three live agents: the header names each; as lanes end, and while a usage limit holds
    the run, it follows."""
    def agent(item: str, phase: str, attempt: int) -> dict[str, object]:
        return {"item": item, "phase": phase, "attempt": attempt, "agent_pid": 4300 + attempt,
                "agent_pgid": 4300 + attempt, "result_file": f"/r/{item}.json", "token": "t",
                "cgroup": None, "agent": "claude", "branch": f"orchestrate/{item}",
                "started": "2025-01-31T21:04:00Z"}

    run = {"pid": 4242, "kind": "run", "started": "2025-01-31T20:00:00Z", "max_parallel": 4}
    agents = [agent("WRK-002", "build", 3), agent("WRK-005", "prd", 1),
              agent("WRK-007", "spec", 2)]
    write_run_state(board_project, with_agents(run, agents))
    app = BoardApp(board_project, watch_files=True, clock=lambda: 1003.0,
                   lock_holder=lambda project: 4242)
    async with app.run_test(size=(160, 36)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: "watching a run of pid 4242 · 3 lanes · WRK-002 build "
                       "#3 · WRK-005 prd #1 · WRK-007 spec #2" in header_text(app))
        write_run_state(board_project, with_agents(run, agents[1:]))  # WRK-002's attempt ended
        await wait_for(pilot, lambda: "watching a run of pid 4242 · 2 lanes · WRK-005 prd #1 "
                       "· WRK-007 spec #2   " in header_text(app))
        save_pause(board_project.pause_path, Pause(time.time() + 3600, "limit", True))
        await wait_for(pilot, lambda: header_text(app).startswith("paused: usage limit"))
        assert "· pid 4242 · 2 lanes · WRK-005 prd #1 · WRK-007 spec #2" in header_text(app)
        clear_pause(board_project.pause_path)
        write_run_state(board_project, with_agents(run, agents[2:]))  # one lane, no log yet
        await wait_for(pilot, lambda: header_text(app).startswith(
            "watching a run of pid 4242 · WRK-007 spec #2   "))
