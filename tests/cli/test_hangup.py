"""A hang-up (the terminal closed, ssh dropped) is a stop, never an orphaned agent:
`orchestrate run` stops the agent's group, records the attempt as interrupted, leaves
the item resumable, releases the lock and exits 129."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from conftest import stored_item
from engine_helpers import alive, make_project, orchestrate, ready, wait_for, worklog_entries

from app.engine.runlock import holder_pid, read_run_state


def test_sighup_mid_phase_stops_the_agent_and_exits_129(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"prd": {"1": "hang"}})
    proc = orchestrate(project, "run")
    agent = wait_for(lambda: read_run_state(project).get("agent_pid"), timeout=30)
    assert alive(agent)
    os.kill(proc.pid, signal.SIGHUP)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 129, err
    assert not alive(agent)
    assert [e["outcome"] for e in worklog_entries(project)] == ["interrupted"]
    it = stored_item(project)
    assert (it.status, it.phase) == ("in_progress", "prd")
    assert holder_pid(project) is None and not project.run_state_path.exists()
