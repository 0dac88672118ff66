"""Signals to the board's process: SIGUSR1 pauses the board's own run, and a hang-up or
SIGTERM stops it before the board exits (tests/e2e/test_board_hangup_tmux.py sends the
real ones to a board of its own).
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable

import pytest
from conftest import FakeEngine
from test_board import new_app, settle, wait_for

from app.engine.events import EventBus
from app.engine.project import Project
from app.ui.signals import BoardSignals

pytestmark = pytest.mark.anyio


def gated(gate: threading.Event, engines: list[FakeEngine]
          ) -> Callable[[Project, EventBus, str | None], FakeEngine]:
    """A FakeEngine factory whose engines hold after their first agent output."""
    def factory(project: Project, bus: EventBus, target: str | None) -> FakeEngine:
        engines.append(FakeEngine(project, bus, target, gate=gate))
        return engines[-1]
    return factory


async def test_sigusr1_pauses_the_boards_own_run(board_project: Project) -> None:
    """A board watching this board pauses its run with SIGUSR1, as it pauses the CLI's."""
    gate = threading.Event()
    engines: list[FakeEngine] = []
    app = new_app(board_project, pipeline_factory=gated(gate, engines))
    async with app.run_test(size=(120, 36)) as pilot:
        signals = BoardSignals(stop=app.stop_for_signal,
                               pause=lambda: app.main.runner.pause(),
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
    """What SIGHUP and SIGTERM ask of the board (app/ui/signals.py calls this): stop
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
