"""A BACKLOG.yaml a person saves broken while a single-lane run works (the lanes' case is in
test_lanes_faults.py): a stop while the run's write waits for the fix writes nothing and
ends the run as a stop does; the next run, on the fixed file, takes the item on. Real
files, the scripted agent as the agent."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import stored_item
from engine_helpers import (
    Background,
    make_project,
    notice_texts,
    ready,
    run_pipeline,
    wait_for,
)

from app import exitcodes
from app.engine.events import PhaseFinished, PhaseStarted


def test_a_stop_while_a_write_waits_for_the_fix_writes_nothing_and_the_next_run_goes_on(
        tmp_path: Path) -> None:
    script = {"default": "complete", "prd": {"mode": "complete", "sleep": 1.0}}
    project = make_project(tmp_path / "p", [ready()], script=script)
    path = project.backlog_path
    with Background(project) as bg:
        wait_for(lambda: bg.rec.of(PhaseStarted))
        broken = path.read_text().replace("    status: in_progress", "\tstatus: in_progress")
        assert "\t" in broken
        path.write_text(broken)  # a stray tab, saved while the agent works
        wait_for(lambda: any("last good copy" in t for t in notice_texts(bg.rec)))
        wait_for(lambda: bg.rec.of(PhaseFinished))
        time.sleep(0.6)  # the prd answer's move waits for the fix
        assert bg.thread.is_alive() and path.read_text() == broken
        asked = time.monotonic()
        bg.pipeline.request_stop()
        finished = bg.finish()
    assert time.monotonic() - asked < 3
    assert finished.exit_code == exitcodes.INTERRUPTED
    assert finished.reason.startswith("BACKLOG.yaml:")
    assert "was not written" in finished.reason
    assert path.read_text() == broken  # never overwritten while broken
    # The person fixes it, with a change of their own; the next run takes the item on.
    fixed = "# fixed by hand\n" + broken.replace("\tstatus: in_progress", "    status: in_progress")
    path.write_text(fixed)
    item = stored_item(project)
    assert (item.status, item.phase) == ("in_progress", "prd")  # where it was
    finished, _ = run_pipeline(project)
    assert (finished.reason, finished.exit_code) == ("no more work", 0)
    assert stored_item(project).status == "done"
    assert path.read_text().startswith("# fixed by hand\n")
