"""`orchestrate status` while a run is live: its pid, start, lanes, spend and usage-limit
pause, and `status --json`'s "run" (the lock held by this test process, run.json written
as a lanes run writes it, the CLI a real subprocess)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from conftest import CLI_ENV, ORCHESTRATE
from engine_helpers import make_project, ready

from app.engine import worklog
from app.engine.limits import Pause, save_pause
from app.engine.project import Project
from app.engine.runlock import (
    RunLock,
    read_run_state,
    start_run_state,
    with_agents,
    write_run_state,
)


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def status(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", **CLI_ENV, "COLUMNS": "120", "NO_COLOR": "1",
           "ORCHESTRATE_CACHE_DIR": os.environ["ORCHESTRATE_CACHE_DIR"], "TZ": "UTC"}
    result = subprocess.run([*ORCHESTRATE, "-C", str(project.root), "status", *args],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    return result


def lanes_run(project: Project, *, paused: bool) -> None:
    """A run of 4 lanes started 2h13m ago, three agents live, $4.18 over 57 attempts
    (and an earlier run's attempt that does not count), maybe a usage-limit pause."""
    now = time.time()
    start_run_state(project, "run", 4)
    state = read_run_state(project)
    state["started"] = iso(now - 7980)
    agents: list[dict[str, Any]] = [
        {"item": item, "phase": phase, "attempt": attempt, "agent_pid": 4300 + n,
         "agent_pgid": 4300 + n, "result_file": f"/r/{item}.json", "token": "t",
         "cgroup": None, "agent": "claude", "branch": f"orchestrate/{item}",
         "started": iso(now - minutes * 60)}
        for n, (item, phase, attempt, minutes) in enumerate(
            [("WRK-002", "build", 3, 12), ("WRK-003", "spec", 1, 4), ("WRK-004", "prd", 1, 1)])]
    write_run_state(project, with_agents(state, agents))
    worklog.append(project.worklog_path, worklog.WorklogEntry(
        "WRK-001", "prd", 1, iso(now - 9000), iso(now - 8900), 100.0, "complete", cost_usd=1.0))
    for k in range(57):
        worklog.append(project.worklog_path, worklog.WorklogEntry(
            "WRK-002", "build", 1, iso(now - 7900 + k), iso(now - 7899 + k), 1.0, "complete",
            cost_usd=4.18 / 57))
    if paused:
        save_pause(project.pause_path, Pause(now + 3720, "You've hit your limit", True))


def test_status_shows_the_live_run_its_lanes_and_its_pause(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready(title=f"Item {i}") for i in range(1, 5)])
    with RunLock(project):
        lanes_run(project, paused=True)
        out = status(project).stdout
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("run: "))
    assert re.fullmatch(rf"run: pid {os.getpid()}, started \d\d:\d\d \(2h1[34]m ago\), "
                        r"3 lanes of 4 · \$4\.18 over 57 attempts", lines[at]), lines[at]
    assert [line.split() for line in lines[at + 1:at + 4]] == [
        ["WRK-002", "build", "#3", "claude", "orchestrate/WRK-002", "12m"],
        ["WRK-003", "spec", "#1", "claude", "orchestrate/WRK-003", "4m"],
        ["WRK-004", "prd", "#1", "claude", "orchestrate/WRK-004", "1m"]]
    # the columns line up
    assert len({line.index("claude") for line in lines[at + 1:at + 4]}) == 1
    assert re.fullmatch(r"  paused: usage limit, resumes at \d\d:\d\d \(in 1h0[12]m\)",
                        lines[at + 4]), lines[at + 4]
    # the block stands before the backlog's counts, the whole worklog after them
    assert lines[at + 5] == "" and lines[at + 6].startswith("4 items: ")
    assert lines[at + 7] == "worklog: 58 attempts, 2m37s, $5.18"


def test_status_json_has_the_run(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()])
    with RunLock(project):
        lanes_run(project, paused=False)
        data = json.loads(status(project, "--json").stdout)
    run = data["run"]
    assert (run["pid"], run["kind"], run["max_parallel"], run["pause"]) == (
        os.getpid(), "run", 4, None)
    assert (round(run["cost_usd"], 2), run["attempts"]) == (4.18, 57)
    assert [(lane["item"], lane["phase"], lane["attempt"], lane["agent"], lane["branch"])
            for lane in run["lanes"]] == [
        ("WRK-002", "build", 3, "claude", "orchestrate/WRK-002"),
        ("WRK-003", "spec", 1, "claude", "orchestrate/WRK-003"),
        ("WRK-004", "prd", 1, "claude", "orchestrate/WRK-004")]
    assert data["totals"]["attempts"] == 58


def test_status_without_a_live_run_says_nothing_of_one(tmp_path: Path) -> None:
    """run.json left by a dead run (nobody holds the lock) is not a live run."""
    project = make_project(tmp_path / "p", [ready()])
    lanes_run(project, paused=True)
    assert "run: " not in status(project).stdout
    assert "paused" not in status(project).stdout
    assert json.loads(status(project, "--json").stdout)["run"] is None
