"""Nothing an attempt started outlives it: a daemon the agent starts with a double fork
and setsid (as agents start dev servers) is ended with the attempt, also when it drops
its environment, and after a kill -9 of the orchestrator the next run ends it and says
which one. A look-alike of the person's is never touched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import stored_item
from engine_helpers import Recorder, make_project, orchestrate, ready, wait_for

from app.engine import fence
from app.engine.events import EventBus, Notice
from app.engine.pipeline import Pipeline


def alive(pid: int) -> bool:
    return fence.alive(pid)


def read_pid(path: Path, timeout: float = 20.0) -> int:
    wait_for(path.exists, timeout=timeout)
    return int(path.read_text())


def run_pipeline(project: object) -> Recorder:
    bus = EventBus()
    recorder = Recorder(bus)
    Pipeline(project, bus).run()  # type: ignore[arg-type]
    return recorder


def test_a_setsid_daemon_of_the_agent_is_ended_with_its_attempt(tmp_path: Path,
                                                                fences: str) -> None:
    pid_file = tmp_path / "daemon.pid"
    project = make_project(tmp_path / "p", [ready()], run={"checkpoint": False},
                           script={"prd": {"mode": "complete", "daemon": str(pid_file)}})
    # A look-alike of the person's: same command, not started by the attempt.
    person = subprocess.Popen(["sleep", "3600"])
    try:
        rec = run_pipeline(project)
        daemon = int(pid_file.read_text())
        assert not alive(daemon)
        assert stored_item(project).status == "done"
        said = [n.text for n in rec.of(Notice) if f"pid {daemon}" in n.text]
        assert said and "WRK-001 prd #1 left processes running" in said[0]
        assert "sleep 3600" in said[0]
        log = (project.logs_dir / "WRK-001_prd_1.log").read_text()
        assert f"ended what the agent left running: pid {daemon}" in log
        assert person.poll() is None  # the person's own `sleep 3600` is not ours
    finally:
        person.kill()
        person.wait()


@pytest.fixture(params=["cgroup", "no cgroup"])
def fences(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test twice: with a cgroup where the kernel gives one, and without any."""
    if request.param == "no cgroup":
        monkeypatch.setattr(fence.AttemptCgroup, "create", classmethod(lambda cls, t: None))
    return str(request.param)


def test_a_daemon_that_scrubbed_its_environment_is_ended_too(tmp_path: Path,
                                                              fences: str) -> None:
    """No token to find it by: the cgroup (where the kernel allows) or the subreaper
    (it was re-parented to us) still does."""
    pid_file = tmp_path / "daemon.pid"
    project = make_project(tmp_path / "p", [ready()], run={"checkpoint": False},
                           script={"prd": {"mode": "complete", "daemon": str(pid_file),
                                           "scrub": True}})
    rec = run_pipeline(project)
    daemon = int(pid_file.read_text())
    assert not alive(daemon)
    assert any(f"pid {daemon}" in n.text for n in rec.of(Notice))


def test_after_kill_9_of_the_orchestrator_the_next_run_ends_the_daemon(
        tmp_path: Path) -> None:
    pid_file = tmp_path / "daemon.pid"
    project = make_project(tmp_path / "p", [ready()], run={"checkpoint": False},
                           script={"prd": {"1": {"mode": "hang", "daemon": str(pid_file)},
                                           "*": "complete"}})
    proc = orchestrate(project, "run")
    daemon = read_pid(pid_file)
    agent = None
    try:
        wait_for(project.run_state_path.exists, timeout=20)
        agent = int(json.loads(project.run_state_path.read_text())["agent_pid"])
        # Once it has said its line: an agent still writing when its reader dies gets EPIPE.
        log = project.logs_dir / "WRK-001_prd_1.log"
        wait_for(lambda: "Working on it" in log.read_text(), timeout=30)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=20)
        time.sleep(0.2)
        assert alive(daemon) and alive(agent)  # nobody watches them now
        rec = run_pipeline(project)
        assert not alive(daemon) and not alive(agent)
        said = " ".join(n.text for n in rec.of(Notice))
        assert f"pid {daemon} (sleep 3600)" in said
        assert "left processes of WRK-001 prd attempt 1 running" in said
        assert stored_item(project).status == "done"  # and the item resumed
    finally:
        for pid in (daemon, agent):
            if pid and alive(pid):
                os.kill(pid, signal.SIGKILL)
