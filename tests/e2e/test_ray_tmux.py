"""The real board in a real terminal (tmux), its run on a real Ray cluster: the header
and the log pane name the node, the agent's lines stream in, `s` stops the remote
attempt (its agent ends on the node) and `r` goes on to done. The board's stderr has no
file descriptor (Textual replaces it), which Ray's connect once refused."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from ray_helpers import RAY_ENV, RAY_GROUP, LocalCluster, needs_ray, ray_executor
from test_board_tmux import HEIGHT, WIDTH, Tmux, column_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_helpers import alive, make_project, ready, run_git, wait_for

from app.engine.runlock import read_run_state

pytestmark = [
    pytest.mark.e2e, needs_ray, RAY_GROUP,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]
IN_PROGRESS, DONE = 3, 5


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    server = Tmux(f"orch-ray-{uuid.uuid4().hex[:8]}")
    yield server
    server.run("kill-server")


def test_the_board_runs_items_on_the_cluster_stops_and_resumes(
        tmux: Tmux, tmp_path: Path, ray_cluster: LocalCluster) -> None:
    project = make_project((tmp_path / "proj").resolve(), [ready(title="On a node")],
                           script={"default": "complete",
                                   "prd": {"mode": "slow", "lines": 80}}, git=True,
                           executor=ray_executor(ray_cluster))
    env = {"TERM": "xterm-256color", "COLUMNS": str(WIDTH), "LINES": str(HEIGHT),
           "PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **RAY_ENV,
           "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
           "ORCHESTRATE_CACHE_DIR": os.environ["ORCHESTRATE_CACHE_DIR"]}
    exports = " ".join(f"{k}={v}" for k, v in env.items())
    tmux.run("new-session", "-d", "-s", "board", "-x", str(WIDTH), "-y", str(HEIGHT),
             f"cd {project.root} && env {exports} {sys.executable} -m app")
    tmux.wait_for(lambda s: "WRK-001" in s and "idle" in s)
    tmux.keys("r")
    screen = tmux.wait_for(lambda s: "on 127.0.0.1" in s.splitlines()[0]
                           and "slow line " in s
                           and column_of(s, "WRK-001") == IN_PROGRESS, timeout=60)
    assert "WRK-001 · prd · attempt 1 · claude · on 127.0.0.1" in screen
    agents = wait_for(lambda: read_run_state(project).get("agents"), timeout=10)
    agent_pid = int(agents[0]["remote_pid"])
    tmux.keys("s")
    tmux.wait_for(lambda s: "Stop the run now?" in s, timeout=10)
    tmux.keys("y")
    tmux.wait_for(lambda s: "run finished: stopped" in s, timeout=30)
    wait_for(lambda: not alive(agent_pid), timeout=10)
    assert project.store().load().get("WRK-001").status == "in_progress"
    (tmp_path / "proj-script.json").write_text('{"default": "complete"}')
    tmux.keys("r")
    screen = tmux.wait_for(lambda s: column_of(s, "WRK-001") == DONE
                           and "idle" in s.splitlines()[0], timeout=120)
    assert "Merge orchestrate/WRK-001: [WRK-001]" in run_git(project.root, "log", "--format=%s")
    tmux.keys("q")
