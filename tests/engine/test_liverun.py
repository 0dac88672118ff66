"""live_run: what the run holding the lock is doing, as status and a watching board read it
(a fake live run: the lock held by this test process, run.json written as a run writes it)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine_helpers import make_project

from app.engine import worklog
from app.engine.limits import Pause, save_pause
from app.engine.liverun import Lane, LiveRun, ago, live_run, since
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


def agent(item: str, phase: str, attempt: int, branch: str | None,
          started: float) -> dict[str, Any]:
    """An agent's entry as attempts.py records it."""
    return {"item": item, "phase": phase, "attempt": attempt, "agent_pid": 4300 + attempt,
            "agent_pgid": 4300 + attempt, "result_file": f"/r/{item}_{phase}_{attempt}.json",
            "token": f"{os.getpid()}-abc", "cgroup": None, "agent": "claude",
            "branch": branch, "started": iso(started)}


def entry(start: str, cost: float | None, outcome: str = "complete") -> worklog.WorklogEntry:
    return worklog.WorklogEntry(item="WRK-001", phase="build", attempt=1, start=start,
                                end=start, duration_s=1.0, outcome=outcome, cost_usd=cost)


def fake_run(project: Project, agents: list[dict[str, Any]]) -> dict[str, Any]:
    """run.json as a lanes run of 4 writes it: started, then these agents recorded."""
    start_run_state(project, "run", 4)
    state = read_run_state(project)
    write_run_state(project, with_agents(state, agents))
    return state


def test_no_lock_holder_is_no_live_run(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    assert live_run(project) is None
    fake_run(project, [agent("WRK-001", "build", 1, None, time.time())])
    # run.json is there, but nobody holds the lock: a dead run's file
    assert live_run(project) is None


def test_a_live_lanes_run_with_its_pause_and_spend(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    now = time.time()
    with RunLock(project):
        state = fake_run(project, [agent("WRK-002", "build", 3, "orchestrate/WRK-002",
                                         now - 720),
                                   agent("WRK-005", "prd", 1, "orchestrate/WRK-005",
                                         now - 60)])
        started = state["started"]
        # an earlier run's attempt does not count; those at and after the start do
        worklog.append(project.worklog_path, entry(iso(now - 3600), 9.0))
        worklog.append(project.worklog_path, entry(started, 1.5))
        worklog.append(project.worklog_path, entry(iso(now + 5), 2.68))
        worklog.append(project.worklog_path, entry(iso(now + 6), None, "limited"))
        save_pause(project.pause_path, Pause(now + 3720, "You've hit your limit", True))

        run = live_run(project, now=now)
    assert run is not None
    assert (run.pid, run.kind, run.max_parallel) == (os.getpid(), "run", 4)
    # the run's start is its own, not its latest agent's (with_agents keeps it)
    assert run.started == datetime.fromisoformat(started)
    assert [(lane.item, lane.phase, lane.attempt, lane.agent, lane.branch)
            for lane in run.lanes] == [
        ("WRK-002", "build", 3, "claude", "orchestrate/WRK-002"),
        ("WRK-005", "prd", 1, "claude", "orchestrate/WRK-005")]
    assert run.lanes[0].agent_pid == 4303
    assert run.lanes[0].started == datetime.fromisoformat(iso(now - 720))
    assert run.pause == Pause(now + 3720, "You've hit your limit", True)
    assert run.attempts == 3 and run.cost_usd is not None
    assert round(run.cost_usd, 2) == 4.18

    data = run.to_json()
    assert data == {
        "pid": os.getpid(), "kind": "run", "started": started, "max_parallel": 4,
        "lanes": [{"item": "WRK-002", "phase": "build", "attempt": 3, "agent": "claude",
                   "branch": "orchestrate/WRK-002", "agent_pid": 4303,
                   "started": iso(now - 720), "node": None},
                  {"item": "WRK-005", "phase": "prd", "attempt": 1, "agent": "claude",
                   "branch": "orchestrate/WRK-005", "agent_pid": 4301,
                   "started": iso(now - 60), "node": None}],
        "pause": {"resumes_at": iso(now + 3720), "reason": "You've hit your limit",
                  "known_reset": True},
        "cost_usd": 4.18, "attempts": 3, "working": ["WRK-002", "WRK-005"]}


def test_entries_given_or_no_spend_leave_the_worklog_unread(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    with RunLock(project):
        state = fake_run(project, [])
        worklog.append(project.worklog_path, entry(state["started"], 100.0))
        given = [{"start": state["started"], "cost_usd": 0.25, "outcome": "complete"}]
        run = live_run(project, entries=given)
        assert run is not None and (run.cost_usd, run.attempts) == (0.25, 1)
        run = live_run(project, spend=False)
        assert run is not None and (run.cost_usd, run.attempts) == (None, None)
        assert run.to_json()["cost_usd"] is None and run.lanes == ()


def test_a_run_json_left_by_a_dead_run_says_nothing_of_the_live_one(tmp_path: Path) -> None:
    """The lock is held (by us), but run.json names another pid: a dead run's, not yet
    replaced. Only the holder's pid is known."""
    project = make_project(tmp_path / "p")
    write_run_state(project, with_agents(
        {"pid": 999_999_999, "kind": "run", "started": iso(time.time()), "max_parallel": 4},
        [agent("WRK-001", "build", 1, "orchestrate/WRK-001", time.time())]))
    with RunLock(project):
        run = live_run(project)
        assert run == LiveRun(os.getpid())
        assert run is not None and run.to_json() == {
            "pid": os.getpid(), "kind": None, "started": None, "max_parallel": None,
            "lanes": [], "pause": None, "cost_usd": None, "attempts": None, "working": []}
        project.run_state_path.write_text('{"pid": 12')  # torn
        assert live_run(project) == LiveRun(os.getpid())


def test_a_pause_past_its_time_is_not_shown(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    with RunLock(project):
        fake_run(project, [])
        save_pause(project.pause_path, Pause(time.time() - 5, "limit", False))
        run = live_run(project)
        assert run is not None and run.pause is None and run.kind == "run"


def test_the_holder_the_caller_names_is_believed(tmp_path: Path) -> None:
    """A board's worker has just asked who holds the lock: live_run takes its word."""
    project = make_project(tmp_path / "p")
    write_run_state(project, with_agents(
        {"pid": 4242, "kind": "triage", "started": iso(time.time()), "max_parallel": 1},
        [agent("WRK-003", "triage", 1, None, time.time())]))
    run = live_run(project, pid=4242, spend=False)
    assert run is not None and run.kind == "triage"
    assert run.lanes == (Lane("WRK-003", "triage", 1, "claude", None, 4301,
                              run.lanes[0].started),)
    assert run.lanes[0].started is not None and run.lanes[0].started.tzinfo == UTC


def test_clock_words() -> None:
    assert [ago(s) for s in (0, 45, 720, 7980)] == ["0s", "45s", "12m", "2h13m"]
    now = time.time()
    assert since(now - 7980, now).endswith("(2h13m ago)")
