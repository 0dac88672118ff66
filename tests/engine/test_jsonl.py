"""The append-only files of `.orchestrator/` survive kill -9 at any instant: a torn
last line is ended by the next append (whose record stays whole) and skipped by
readers with a warning that names it, never a crash."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from conftest import REPO
from engine_helpers import make_project, ready, wait_for

from app.engine import jsonl, worklog
from app.engine.events import EventBus, Notice
from app.engine.pipeline import Pipeline

WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[2])
    from pathlib import Path
    from app.engine import jsonl
    path, n = Path(sys.argv[1]), 0
    while True:
        n += 1
        jsonl.append(path, {"item": f"WRK-{n:03d}", "pad": "x" * (n * 997 % 60000)})
""")


def test_a_torn_last_line_is_ended_by_the_next_append(tmp_path: Path) -> None:
    path = tmp_path / "worklog.jsonl"
    path.write_text('{"item": "WRK-001", "outcome": "complete"}\n{"item": "WRK-0')
    jsonl.append(path, {"item": "WRK-002", "outcome": "failed"})
    records, problems = jsonl.read(path, "item")
    assert [r["item"] for r in records] == ["WRK-001", "WRK-002"]
    assert problems == ["worklog.jsonl:2: a torn or foreign line is ignored (a crash "
                        "mid-write leaves one)"]


def test_writers_killed_at_random_instants_never_cost_a_later_record(tmp_path: Path) -> None:
    path = tmp_path / "worklog.jsonl"
    rng = random.Random(7)
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(REPO)])
        time.sleep(0.05 + rng.random() * 0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        jsonl.append(path, {"item": "MARK-001", "after": "a kill"})
    records, problems = jsonl.read(path, "item")
    assert [r for r in records if r["item"] == "MARK-001"] == [
        {"item": "MARK-001", "after": "a kill"}] * 8
    # Every line is a whole record, or a torn one that is named and skipped.
    lines = [line for line in path.read_text().splitlines() if line]
    assert len(records) + len(problems) == len(lines)
    assert all(json.loads(line) for line in lines if not line.startswith('{"item": "WRK')
               or line.endswith("}"))


def test_a_run_warns_of_a_torn_worklog_line_and_goes_on(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], run={"checkpoint": False})
    project.worklog_path.write_text('{"item": "WRK-009", "phase": "prd", "outcome": "compl')
    bus = EventBus()
    notices: list[str] = []
    bus.subscribe(lambda e: notices.append(e.text) if isinstance(e, Notice) else None)
    finished = Pipeline(project, bus).run()
    assert finished.exit_code == 0
    assert any(n.startswith("worklog.jsonl:1: a torn or foreign line") for n in notices)
    assert [e["outcome"] for e in worklog.read(project.worklog_path)] == ["complete"] * 6


def test_run_json_is_whole_after_a_kill_9_mid_write(tmp_path: Path) -> None:
    """run.json is replaced by rename: a reader sees the old file or the new one."""
    project = make_project(tmp_path / "p", [ready()])
    writer = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from pathlib import Path
        from app.engine.project import Project
        from app.engine.runlock import write_run_state
        project, n = Project(Path({str(project.root)!r})), 0
        while True:
            n += 1
            write_run_state(project, {{"pid": n, "agents": [{{"pad": "x" * 50000}}]}})
    """)
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-c", writer])
        wait_for(project.run_state_path.exists, timeout=20)
        time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        data = json.loads(project.run_state_path.read_text())
        assert data["pid"] > 0 and len(data["agents"][0]["pad"]) == 50000
