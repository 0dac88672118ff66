"""The run lock across real processes, and holder_pid for the board."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from engine_helpers import make_project

from app.errors import LockHeldError
from app.project import Project
from app.runlock import RunLock, holder_pid

HOLD = """
import sys, time
from pathlib import Path
from app.project import Project
from app.runlock import RunLock
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
from app.project import Project
from app.runlock import holder_pid
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
