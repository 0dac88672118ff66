"""Three lanes on the real board in a real terminal (tmux), as a person drives it: run,
watch three cards in progress at once, stop them all, run again, all merged."""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_board_tmux import Tmux, column_of, open_board

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_helpers import make_project, ready, run_git

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]
IN_PROGRESS, DONE = 3, 5
ITEMS = ("WRK-001", "WRK-002", "WRK-003")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    server = Tmux(f"orch-lanes-{uuid.uuid4().hex[:8]}")
    yield server
    server.run("kill-server")


def test_three_lanes_run_stop_and_resume_on_the_board(tmux: Tmux, tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj", [ready(title=f"Item {i}") for i in (1, 2, 3)],
                           script={"default": {"mode": "slow", "lines": 6}}, git=True,
                           run={"max_parallel": 3})
    open_board(tmux, project)
    tmux.wait_for(lambda s: "WRK-003" in s and "idle" in s)
    tmux.keys("r")
    screen = tmux.wait_for(lambda s: "3 lanes" in s.splitlines()[0]
                           and all(column_of(s, i) == IN_PROGRESS for i in ITEMS))
    # Stop every lane at once (asked first); each item stays in progress, resumable.
    tmux.keys("s")
    tmux.wait_for(lambda s: "Stop the run now?" in s, timeout=10)
    tmux.keys("y")
    screen = tmux.wait_for(lambda s: "run finished: stopped" in s, timeout=30)
    assert all(column_of(screen, i) == IN_PROGRESS for i in ITEMS)
    assert {project.store().load().get(i).status for i in ITEMS} == {"in_progress"}
    # Run again: the lanes go on in their worktrees, and every item is merged.
    tmux.keys("r")
    screen = tmux.wait_for(lambda s: all(column_of(s, i) == DONE for i in ITEMS)
                           and "idle" in s.splitlines()[0], timeout=120)
    log = run_git(project.root, "log", "--format=%s")
    assert all(f"Merge orchestrate/{i}: [{i}]" in log for i in ITEMS)
    tmux.keys("q")
