"""Closing the terminal of a run, as a person does: `orchestrate run` in a real terminal
(tmux), then `tmux kill-session`. The agent must not run on unsupervised."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from conftest import REPO, stored_item
from engine_helpers import alive, make_project, ready, wait_for, worklog_entries

from app.engine.runlock import holder_pid, read_run_state

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def test_killing_the_tmux_session_stops_the_run_and_its_agent(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"prd": {"1": "hang"}})
    socket = f"orch-hup-{uuid.uuid4().hex[:8]}"
    command = (f"cd {project.root} && PYTHONPATH={REPO} exec {sys.executable} -m app run")
    tmux = ["tmux", "-L", socket]
    subprocess.run([*tmux, "new-session", "-d", "-s", "run", "-x", "120", "-y", "30",
                    command], check=True, timeout=10, env={**os.environ, "TERM": "xterm"})
    try:
        state = wait_for(lambda: read_run_state(project).get("agent_pid") and
                         read_run_state(project), timeout=30)
        runner, agent = int(state["pid"]), int(state["agent_pid"])
        assert alive(runner) and alive(agent)
        subprocess.run([*tmux, "kill-session", "-t", "run"], timeout=10)
        wait_for(lambda: not alive(runner), timeout=30)
        assert not alive(agent)
        assert [e["outcome"] for e in worklog_entries(project)] == ["interrupted"]
        assert stored_item(project).phase == "prd"
        assert holder_pid(project) is None
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, timeout=10)
