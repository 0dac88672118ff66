"""A usage limit pauses the whole run until the reset and then repeats the same attempt:
never a failure, a retry, a blocked item or a step of the circuit breaker. `--no-wait`
and `[limits] max_wait_h` stop instead; a stopped, paused run started again waits too.
The scripted agent prints what Claude Code 2.1.197 prints at a subscription's limit."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from conftest import stored_item
from engine_helpers import Recorder, make_project, ready, wait_for, worklog_entries

from app.engine.events import EventBus, Notice, PhaseStarted, RunFinished, RunPaused, RunResumed
from app.engine.limits import load_pause
from app.engine.pipeline import Pipeline
from app.engine.project import Project
from app.engine.triage import Triage

FAST_LIMITS = {"resume_margin_s": 0.5, "retry_interval_s": 0.3, "retry_interval_max_s": 0.6}


def run(project: Project, **attrs: Any) -> tuple[RunFinished, Recorder]:
    bus = EventBus()
    recorder = Recorder(bus)
    pipeline = Pipeline(project, bus)
    for name, value in attrs.items():
        setattr(pipeline, name, value)
    return pipeline.run(), recorder


def limited_then(resets_in: float | None, rest: str = "complete") -> dict[str, Any]:
    first: dict[str, Any] = {"mode": "usage_limit"}
    if resets_in is not None:
        first["resets_in"] = resets_in
    return {"1": first, "*": rest}


def test_a_limit_pauses_until_the_reset_then_repeats_the_same_phase(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready(), ready(title="Second")],
                           script={"items": {"WRK-001": {"prd": limited_then(2)}}},
                           run={"max_retries": 0, "circuit_breaker": 1, "checkpoint": False},
                           limits=FAST_LIMITS)
    finished, rec = run(project)
    assert (finished.exit_code, finished.reason) == (0, "no more work")
    (paused,) = rec.of(RunPaused)
    assert paused.item_id == "WRK-001" and paused.phase == "prd" and paused.known_reset
    assert paused.reason.startswith("You've hit your limit · resets ")
    started = rec.of(PhaseStarted)
    assert [(s.item_id, s.phase, s.attempt) for s in started[:3]] == [
        ("WRK-001", "prd", 1), ("WRK-001", "prd", 2), ("WRK-001", "research", 1)]
    # The repeat waits for the reset plus the margin, and not much longer.
    assert paused.resumes_at <= started[1].at <= paused.resumes_at + 2.0
    assert rec.of(RunResumed)
    # Nothing counted against the item: no retries were left (max_retries 0), the circuit
    # breaker trips on one failed phase, yet both items are done.
    assert stored_item(project).status == "done"
    assert stored_item(project, "WRK-002").status == "done"
    outcomes = [(e["item"], e["phase"], e["outcome"]) for e in worklog_entries(project)][:2]
    assert outcomes == [("WRK-001", "prd", "limited"), ("WRK-001", "prd", "complete")]
    # As the worklog has them: the limited attempt too, said apart.
    assert (finished.attempts, finished.limited) == (13, 1)
    said = [n.text for n in rec.of(Notice)]
    assert any(t.startswith("paused: usage limit, resumes at ") for t in said)
    assert not project.pause_path.exists()  # the kept pause is gone once resumed


def test_no_wait_stops_at_the_first_limit_saying_when_it_resets(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready(), ready(title="Second")],
                           script={"default": {"mode": "usage_limit", "resets_in": 3600}})
    finished, rec = run(project, wait_on_limit=False)
    assert finished.exit_code == 4
    assert "usage limit: You've hit your limit" in finished.reason
    assert "it resets at " in finished.reason and "(in 1h00m)" in finished.reason
    assert "nothing was blocked" in finished.reason
    assert stored_item(project).status == "in_progress"  # resumable, not blocked
    assert stored_item(project, "WRK-002").status == "ready"
    assert not rec.of(RunPaused)


def test_a_reset_beyond_max_wait_h_stops_the_run(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], limits={"max_wait_h": 1},
                           script={"default": {"mode": "usage_limit", "resets_in": 7200}})
    finished, _ = run(project)
    assert finished.exit_code == 4
    assert "more than [limits] max_wait_h = 1 h away" in finished.reason
    assert stored_item(project).status == "in_progress"


def test_without_a_reset_time_the_wait_grows_and_says_so(tmp_path: Path) -> None:
    script = {"prd": {"1": {"mode": "usage_limit"}, "2": {"mode": "usage_limit"},
                      "3": {"mode": "usage_limit"}, "*": "complete"}}
    project = make_project(tmp_path / "p", [ready()], script=script, limits=FAST_LIMITS,
                           run={"checkpoint": False})
    finished, rec = run(project)
    assert finished.exit_code == 0 and stored_item(project).status == "done"
    pauses = rec.of(RunPaused)
    assert len(pauses) == 3 and not any(p.known_reset for p in pauses)
    waits = [round(p.resumes_at - p.at, 1) for p in pauses]
    assert waits == [0.3, 0.6, 0.6]  # doubling, capped at retry_interval_max_s
    assert any("no reset time was given" in n.text for n in rec.of(Notice))


def test_a_stopped_paused_run_started_again_before_the_reset_waits_too(
        tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], limits={"resume_margin_s": 0},
                           script={"prd": limited_then(4)}, run={"checkpoint": False})
    bus = EventBus()
    recorder = Recorder(bus)
    pipeline = Pipeline(project, bus)
    done: list[RunFinished] = []
    worker = threading.Thread(target=lambda: done.append(pipeline.run()))
    worker.start()
    wait_for(lambda: recorder.of(RunPaused), timeout=20)
    pipeline.request_stop()  # stops at once, mid-pause
    worker.join(timeout=5)
    assert done and done[0].reason == "stopped"
    kept = load_pause(project.pause_path)
    assert kept is not None and kept.resumes_at > time.time()
    finished, rec = run(project)
    (paused,) = rec.of(RunPaused)
    assert paused.item_id is None and paused.resumes_at == kept.resumes_at
    first = rec.of(PhaseStarted)[0]
    assert first.at >= kept.resumes_at  # no attempt before the reset
    assert finished.exit_code == 0 and stored_item(project).status == "done"


def test_a_limit_in_triage_pauses_every_lane(tmp_path: Path) -> None:
    items = [{"title": f"Idea {n}"} for n in range(3)]
    script = {"triage": {"mode": "complete", "sleep": 0.5,
                         "assessment": {"size": "small", "complexity": "low", "risk": "low"}},
              "items": {"WRK-001": {"triage": limited_then(2)}}}
    project = make_project(tmp_path / "p", items, script=script, limits=FAST_LIMITS,
                           triage={"max_concurrent": 2})
    bus = EventBus()
    rec = Recorder(bus)
    finished = Triage(project, bus).run()
    assert finished.exit_code == 0
    (paused,) = rec.of(RunPaused)
    later = [s for s in rec.of(PhaseStarted) if s.at > paused.at]
    # After the pause began nothing started before it ended: not WRK-003, nor the repeat.
    assert later and all(s.at >= paused.resumes_at for s in later)
    assert {(s.item_id, s.attempt) for s in later} >= {("WRK-001", 2)}
    assert {i.status for i in project.store().load().items} == {"ready"}
