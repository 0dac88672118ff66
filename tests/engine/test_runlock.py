"""The run lock across real processes, and holder_pid for the board."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from engine_helpers import make_project

from app.engine.project import Project
from app.engine.runlock import RunLock, holder_pid
from app.errors import LockHeldError

HOLD = """
import sys, time
from pathlib import Path
from app.engine.project import Project
from app.engine.runlock import RunLock
lock = RunLock(Project(Path(sys.argv[1])))
lock.acquire()
print("locked", flush=True)
time.sleep(60)
"""


def _holder(project: Project) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(project.root)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_acquire_release_and_holder_pid_in_process(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    assert holder_pid(project) is None
    with RunLock(project) as lock:
        assert lock.held
        assert holder_pid(project) == os.getpid()
        with pytest.raises(LockHeldError, match=rf"another run holds the lock \(pid "
                                                rf"{os.getpid()}\)"):
            RunLock(project).acquire()
    assert holder_pid(project) is None
    RunLock(project).acquire()  # free again


def test_another_process_holding_it_blocks_us_with_its_pid(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    proc = _holder(project)
    try:
        assert holder_pid(project) == proc.pid
        with pytest.raises(LockHeldError) as info:
            RunLock(project).acquire()
        assert str(info.value) == f"another run holds the lock (pid {proc.pid})"
        assert info.value.exit_code == 3
    finally:
        proc.kill()
        proc.wait()


def test_the_lock_dies_with_its_process_even_on_kill_9(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    proc = _holder(project)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert holder_pid(project) is None
    with RunLock(project):
        assert holder_pid(project) == os.getpid()


POLL = """
import sys, time
from pathlib import Path
from app.engine.project import Project
from app.engine.runlock import holder_pid
project = Project(Path(sys.argv[1]))
print("polling", flush=True)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    holder_pid(project)
"""


def test_a_board_polling_holder_pid_never_makes_a_run_fail_to_start(tmp_path: Path) -> None:
    import time

    project = make_project(tmp_path / "p")
    with RunLock(project):  # creates the lock file the pollers look at
        pass
    pollers = [subprocess.Popen([sys.executable, "-c", POLL, str(project.root), "1.5"],
                                stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        for p in pollers:
            assert p.stdout is not None and p.stdout.readline().strip() == "polling"
        deadline = time.monotonic() + 1.0
        runs = 0
        while time.monotonic() < deadline:
            with RunLock(project):  # LockHeldError here would fail the test
                runs += 1
    finally:
        for p in pollers:
            p.wait()
    assert runs > 0


def _sleeper(env_marker: str | None) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    if env_marker:
        env["ORCHESTRATE_RESULT_FILE"] = env_marker
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env,
                            start_new_session=True)


def test_reap_orphan_kills_only_a_group_that_is_really_our_agent(tmp_path: Path) -> None:
    from engine_helpers import alive

    from app.engine.runlock import reap_orphan, write_run_state

    project = make_project(tmp_path / "p")
    marker = str(tmp_path / "p/.orchestrator/results/WRK-001_prd_1.json")
    stranger = _sleeper(None)  # a reused pid: some other program's group
    ours = _sleeper(marker)
    try:
        agents = [{"item": "WRK-002", "phase": "prd", "attempt": 1,
                   "agent_pid": stranger.pid, "agent_pgid": stranger.pid,
                   "result_file": str(tmp_path / "other.json")},
                  {"item": "WRK-001", "phase": "prd", "attempt": 1, "agent_pid": ours.pid,
                   "agent_pgid": ours.pid, "result_file": marker}]
        write_run_state(project, {"pid": 999999, "agents": agents})
        messages = reap_orphan(project, grace_s=1)
        ours.wait(timeout=10)
        assert not alive(ours.pid)
        assert alive(stranger.pid)
        assert len(messages) == 1 and f"pid {ours.pid}" in messages[0]
        assert not project.run_state_path.exists()
    finally:
        for proc in (stranger, ours):
            proc.kill()
            proc.wait()
