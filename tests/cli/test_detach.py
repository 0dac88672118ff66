"""`orchestrate run --detach` starts a run that outlives its shell and terminal;
`orchestrate stop` stops whichever run holds the lock and waits until it is gone;
SIGUSR1 asks a run to pause after its current phase."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

from conftest import CLI_ENV, ORCHESTRATE, stored_item
from engine_helpers import alive, make_project, orchestrate, ready, wait_for, worklog_entries

from app.engine.project import Project
from app.engine.runlock import holder_pid, read_run_state


def cli(project: Project, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ORCHESTRATE, "-C", str(project.root), *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **CLI_ENV})


def test_a_detached_run_outlives_its_shell_and_stop_ends_it(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"prd": {"1": "hang"}})
    # From a shell that exits right after, as a person's ssh session would.
    shell = subprocess.run(["bash", "-c", " ".join([*ORCHESTRATE, "-C", str(project.root),
                                                    "run", "--detach"])],
                           capture_output=True, text=True, timeout=30,
                           env={**os.environ, **CLI_ENV})
    assert shell.returncode == 0, shell.stderr
    match = re.search(r"pid (\d+), log (\S+)", shell.stdout)
    assert match, shell.stdout
    pid, log = int(match[1]), Path(match[2])
    assert log.parent == project.logs_dir and log.name.startswith("run-")
    try:
        agent = wait_for(lambda: read_run_state(project).get("agent_pid"), timeout=30)
        assert holder_pid(project) == pid
        assert os.getsid(pid) == pid  # a session of its own: no terminal's hang-up
        wait_for(lambda: "▶ WRK-001 prd #1" in log.read_text(), timeout=10)
        stopped = cli(project, "stop")
        assert stopped.returncode == 0, stopped.stderr
        assert f"the run of pid {pid} is gone" in stopped.stdout
        assert holder_pid(project) is None
        wait_for(lambda: not alive(pid), timeout=10)
        assert not alive(agent)
        assert [e["outcome"] for e in worklog_entries(project)] == ["interrupted"]
        assert stored_item(project).phase == "prd"
        assert "run interrupted" in log.read_text()
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_stop_without_a_run_says_so_and_exits_1(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()])
    out = cli(project, "stop")
    assert out.returncode == 1
    assert out.stderr.strip() == "orchestrate: no run is going"


def test_stop_ends_a_foreground_run_in_another_terminal_as_sigterm(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"prd": {"1": "hang"}})
    proc = orchestrate(project, "run")
    wait_for(lambda: read_run_state(project).get("agent_pid"), timeout=30)
    out = cli(project, "stop")
    assert out.returncode == 0, out.stderr
    assert proc.wait(timeout=10) == 143
    assert [e["outcome"] for e in worklog_entries(project)] == ["interrupted"]


def test_detach_while_a_run_holds_the_lock_is_refused_at_once(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"prd": {"1": "hang"}})
    proc = orchestrate(project, "run")
    try:
        wait_for(lambda: holder_pid(project), timeout=30)
        out = cli(project, "run", "--detach")
        assert out.returncode == 3
        assert f"another run holds the lock (pid {proc.pid})" in out.stderr
        assert not list(project.logs_dir.glob("run-*.log"))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_stop_ends_what_a_killed_run_left_behind(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"prd": {"1": "hang"}})
    proc = orchestrate(project, "run")
    agent = wait_for(lambda: read_run_state(project).get("agent_pid"), timeout=30)
    # Once it has said its line: an agent still writing when its reader dies gets EPIPE.
    log = project.logs_dir / "WRK-001_prd_1.log"
    wait_for(lambda: "Working on it" in log.read_text(), timeout=30)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert alive(agent)
    out = cli(project, "stop")
    assert out.returncode == 0, out.stderr
    assert f"pid {agent}" in out.stdout and "stopped it" in out.stdout
    assert not alive(agent)


def test_sigusr1_pauses_after_the_current_phase(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()],
                           script={"default": {"mode": "slow", "lines": 10}})
    proc = orchestrate(project, "run")
    wait_for(lambda: read_run_state(project).get("agent_pid"), timeout=30)
    os.kill(proc.pid, signal.SIGUSR1)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "run finished: paused" in out
    assert [e["outcome"] for e in worklog_entries(project)] == ["complete"]
    assert stored_item(project).phase == "research"
