"""Taking an item away from a live run: `delete` and `advance` refuse an item whose lane is
live unless `--force`, which stops that lane first; the rest of the run goes on."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from conftest import CLI_ENV, ORCHESTRATE, statuses, stored_item
from engine_helpers import (
    Background,
    alive,
    lanes_project,
    make_project,
    orchestrate,
    ready,
    wait_for,
    worklog_entries,
)

from app.engine.events import PhaseStarted
from app.engine.liverun import live_run
from app.engine.runlock import read_run_state

HANG_FIRST = {"default": "complete", "items": {"WRK-001": {"prd": "hang"}}}


def cli(project_root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    import os
    return subprocess.run([*ORCHESTRATE, "-C", str(project_root), *args], capture_output=True,
                          text=True, timeout=90, env={**os.environ, **CLI_ENV})


def agent_of(project_root: Path, item_id: str) -> int:
    from app.engine.project import Project
    state = wait_for(lambda: next((a for a in read_run_state(Project(project_root))
                                   .get("agents", []) if a.get("item") == item_id), None))
    return int(state["agent_pid"])


def test_a_run_lets_go_of_a_withdrawn_item_and_goes_on_with_the_rest(tmp_path: Path) -> None:
    project = lanes_project(tmp_path / "p", 2, HANG_FIRST, parallel=2)
    with Background(project) as run:
        wait_for(lambda: any(e.item_id == "WRK-001" for e in run.rec.of(PhaseStarted)))
        pid = agent_of(project.root, "WRK-001")
        run.pipeline.withdraw("WRK-001")
        wait_for(lambda: not alive(pid), timeout=10)
        finished = run.finish(timeout=60)
    assert finished.exit_code == 0, finished.reason  # not "stopped": only its lane ended
    assert stored_item(project, "WRK-002").status == "done"
    assert stored_item(project, "WRK-001").status == "in_progress"  # the person's to move
    first = [e for e in worklog_entries(project) if e["item"] == "WRK-001"]
    assert [e["outcome"] for e in first] == ["interrupted"]  # and never taken again


def test_delete_refuses_an_item_whose_lane_is_live_and_force_stops_that_lane(
        tmp_path: Path) -> None:
    project = lanes_project(tmp_path / "p", 2, HANG_FIRST, parallel=2)
    runner = orchestrate(project, "run")
    try:
        pid = agent_of(project.root, "WRK-001")
        wait_for(lambda: (r := live_run(project, spend=False)) is not None
                 and "WRK-001" in r.working)
        refused = cli(project.root, "delete", "WRK-001")
        assert refused.returncode == 1
        assert "WRK-001's lane is live in the run of pid" in refused.stderr
        assert "Give --force to stop that lane first" in refused.stderr
        assert stored_item(project).status == "in_progress" and alive(pid)  # untouched

        forced = cli(project.root, "delete", "WRK-001", "--force")
        assert forced.returncode == 0, forced.stderr
        assert "stopped WRK-001's lane in the run of pid" in forced.stdout
        assert not alive(pid)  # stopped before the item was deleted
        assert "WRK-001" not in statuses(project)
        out, err = runner.communicate(timeout=90)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 0, out + err
    assert statuses(project) == {"WRK-002": "done"}
    assert not (project.state_dir / "requests" / "withdraw-WRK-001").exists()


def test_advance_force_in_a_single_lane_run_stops_its_agent_and_the_run_goes_on(
        tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready(), ready(title="Second")], script=HANG_FIRST)
    runner = orchestrate(project, "run")
    try:
        pid = agent_of(project.root, "WRK-001")
        started = time.monotonic()
        forced = cli(project.root, "advance", "WRK-001", "--to", "done", "--force")
        assert forced.returncode == 0, forced.stderr
        assert time.monotonic() - started < 30
        assert not alive(pid)
        out, err = runner.communicate(timeout=90)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 0, out + err
    assert statuses(project) == {"WRK-001": "done", "WRK-002": "done"}
    assert "WRK-001: let go of, as a person asked" in out


def test_without_a_live_lane_delete_needs_no_force(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()])
    done = cli(project.root, "delete", "WRK-001")
    assert done.returncode == 0 and statuses(project) == {}
