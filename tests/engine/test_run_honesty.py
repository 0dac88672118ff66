"""A run tells the truth about what it did: `--cap 0` changes nothing, a night in which
every item ended blocked does not exit 0, and `--no-wait` never waits."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import stored_item
from engine_helpers import make_project, ready, run_pipeline, worklog_entries

from app import exitcodes
from app.engine.events import EventBus
from app.engine.limits import Pause, save_pause
from app.engine.pipeline import Pipeline


def test_cap_zero_moves_no_item_and_starts_no_agent(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready(), ready(title="Second")])
    before = project.backlog_path.read_bytes()
    finished, _ = run_pipeline(project, cap=0)
    assert (finished.reason, finished.exit_code, finished.attempts) == (
        "cap reached (0 attempts)", exitcodes.OK, 0)
    assert project.backlog_path.read_bytes() == before  # WRK-001 is still ready
    assert worklog_entries(project) == []


def test_a_run_in_which_every_item_it_took_ended_blocked_exits_6(tmp_path: Path) -> None:
    script = {"default": "complete",
              "items": {"WRK-001": {"prd": "no_result"}, "WRK-002": {"design": "blocked"}}}
    project = make_project(tmp_path / "p", [ready(), ready(title="Second")], script=script,
                           run={"circuit_breaker": 0})
    finished, _ = run_pipeline(project)
    assert finished.exit_code == exitcodes.ALL_BLOCKED, finished.reason
    assert finished.reason.startswith("every item this run took ended blocked (WRK-001: prd "
                                      "failed 2 times: the agent wrote no result file")
    assert "WRK-002: needs a decision from a person" in finished.reason


def test_one_item_done_beside_a_blocked_one_is_a_good_run(tmp_path: Path) -> None:
    script = {"default": "complete", "items": {"WRK-002": {"prd": "blocked"}}}
    project = make_project(tmp_path / "p", [ready(), ready(title="Second")], script=script)
    finished, _ = run_pipeline(project)
    assert (finished.exit_code, stored_item(project).status) == (exitcodes.OK, "done")
    assert stored_item(project, "WRK-002").status == "blocked"


def test_no_wait_never_waits_for_a_pause_an_earlier_run_left(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()])
    save_pause(project.pause_path, Pause(time.time() + 3 * 3600, "You've hit your limit",
                                         True))
    pipeline = Pipeline(project, EventBus())
    pipeline.wait_on_limit = False
    started = time.monotonic()
    finished = pipeline.run()
    assert time.monotonic() - started < 10  # not three hours
    assert finished.exit_code == exitcodes.EVERY_ITEM
    assert "an earlier run paused until" in finished.reason
    assert "--no-wait does not wait" in finished.reason
    assert stored_item(project).status == "ready" and worklog_entries(project) == []
    assert project.pause_path.exists()  # the next run that may wait still waits
