"""`orchestrate report` over what real runs wrote: the scripted agent (a real process per
attempt) plays each attempt's outcome (complete, failed answers of every malformed
kind, blocked, a usage limit that pauses the run), a triage assesses an item, a person
answers the blocks; the report's figures are then held to the worklog.jsonl,
history.jsonl and pauses.jsonl those runs left, counted here from the files."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import CLI_ENV
from engine_helpers import Recorder, make_project, ready, run_pipeline, wait_for, worklog_entries

from app.engine import actions
from app.engine.events import EventBus, RunFinished, RunPaused
from app.engine.pipeline import Pipeline
from app.engine.project import Project
from app.engine.reasons import malformed_kind
from app.engine.report import build_report
from app.engine.triage import Triage

FAST_LIMITS = {"resume_margin_s": 0.5, "retry_interval_s": 0.3, "retry_interval_max_s": 0.6}
SCRIPT: dict[str, Any] = {
    "default": "complete",
    "items": {
        # a bad JSON answer, then none at all, then a usage limit: each retried and passed
        "WRK-001": {"prd": {"1": "garbage", "*": "complete"},
                    "research": {"1": "no_result", "*": "complete"},
                    "design": {"1": {"mode": "usage_limit", "resets_in": 1},
                               "*": "complete"}},
        # another item's answer twice: the run blocks it (its retries used up)
        "WRK-002": {"prd": "wrong_id"},
        # its agent blocks it with a question
        "WRK-003": {"prd": {"mode": "blocked", "reason": "Which database: postgres or "
                                                          "sqlite?"}},
        # a new idea: triaged small and low, then done
        "WRK-004": {"triage": {"mode": "complete", "assessment": {
            "size": "small", "complexity": "low", "risk": "low"}}},
    },
}


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """One project after its night: a triage, a run, a person's morning."""
    root = tmp_path_factory.mktemp("report") / "p"
    project = make_project(
        root, [ready(title="Login page"), ready(title="Rate limits"),
               ready(title="Sessions in a database"), {"title": "CSV export"}],
        script=SCRIPT, run={"checkpoint": False}, limits=FAST_LIMITS)
    assert Triage(project, EventBus()).run().exit_code == 0
    finished, _ = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    # the morning: a person answers one block with notes, lets the other go as it was,
    # and finds the triaged item was bigger than it said
    actions.unblock(project, "WRK-003", notes="postgres, as the rest of the app")
    actions.unblock(project, "WRK-002")
    actions.edit_item(project, "WRK-004", size="medium")
    return project


def test_the_figures_are_the_worklogs(night: Project) -> None:
    entries = worklog_entries(night)
    report = build_report(night)
    assert report.overall.attempts == len(entries)
    phases = {f.name: f for f in report.by_phase}
    counted = Counter(e["phase"] for e in entries)
    assert {name: f.attempts for name, f in phases.items()} == dict(counted)
    for name, f in phases.items():
        mine = [e for e in entries if e["phase"] == name]
        answered = [e for e in mine if e["outcome"] not in ("limited", "interrupted")]
        won = [e for e in answered if e["outcome"] in ("complete", "progress")]
        assert (f.counted, f.succeeded) == (len(answered), len(won)), name
        assert f.cost_usd == pytest.approx(sum(e.get("cost_usd") or 0 for e in mine))
        known = [e["input_tokens"] for e in mine if e["input_tokens"] is not None]
        assert f.input_tokens == (sum(known) if known else None)
        assert dict(f.outcomes) == dict(Counter(e["outcome"] for e in mine))
        durations = sorted(e["duration_s"] for e in answered)
        assert f.p90_s == durations[-(-len(durations) * 9 // 10) - 1]
    # what the script played, as the worklog has it
    assert dict(phases["prd"].outcomes) == {"complete": 2, "failed": 3, "blocked": 1}
    assert phases["design"].outcomes == (("complete", 2), ("limited", 1))
    assert phases["triage"].success_rate == 1.0
    assert [f.name for f in report.by_agent] == ["default"]


def test_malformed_answers_and_failures_are_the_worklogs(night: Project) -> None:
    entries = worklog_entries(night)
    report = build_report(night)
    kinds = Counter((e["phase"], malformed_kind(e.get("reason"))) for e in entries
                    if e["outcome"] == "failed")
    assert kinds == {("prd", "bad_json"): 1, ("prd", "wrong_item"): 2,
                     ("research", "no_result"): 1}
    shown = {(m.phase, kind): n for m in report.malformed for kind, n in m.kinds if n}
    assert shown == dict(kinds)
    causes = {c.cause: c.count for c in report.failures}
    assert causes == {"the result file is for another item": 2,
                      "the result file is not valid JSON": 1,
                      "the agent wrote no result file": 1}


def test_the_usage_limit_and_the_pause_it_made(night: Project) -> None:
    report = build_report(night)
    assert report.limits.met == 1 and report.limits.by_agent == (("default", 1),)
    (wait,) = report.limits.waits
    lines = [json.loads(line) for line in night.pauses_path.read_text().splitlines()]
    assert len(lines) == 1 and lines[0]["ended"] == "resumed"
    assert lines[0]["waited_s"] >= 0.5 and "You've hit your limit" in lines[0]["reason"]
    assert wait.reason == lines[0]["reason"]
    limited = next(e for e in worklog_entries(night) if e["outcome"] == "limited")
    assert limited["end"] <= lines[0]["end"]  # the run waited after the limited attempt


def test_blocks_the_person_answered(night: Project) -> None:
    found = {b.item: b for b in build_report(night).blocks}
    assert set(found) == {"WRK-002", "WRK-003"}
    assert (found["WRK-003"].cause, found["WRK-003"].verdict, found["WRK-003"].how) == (
        "agent", "needed", "unblocked with notes")
    assert (found["WRK-002"].cause, found["WRK-002"].verdict) == ("failures", "not needed")
    assert found["WRK-002"].reason.startswith("prd failed 2 times: the result file is for")


def test_triage_s_assessment_is_recorded_and_calibrated(night: Project) -> None:
    (triaged,) = [e for e in worklog_entries(night) if e["phase"] == "triage"]
    assert triaged["assessment"] == {"size": "small", "complexity": "low", "risk": "low"}
    assert all(e["assessment"] is None for e in worklog_entries(night)
               if e["phase"] != "triage")
    cal = build_report(night).calibration
    small = next(r for r in cal.rows if (r.field, r.value) == ("size", "small"))
    done = [e for e in worklog_entries(night) if e["item"] in ("WRK-001", "WRK-004")]
    assert small.items == 2
    assert small.mean_cost_usd == pytest.approx(sum(e["cost_usd"] for e in done) / 2)
    assert small.mean_attempts == (len(done) - 1) / 2  # the usage limit is not an attempt
    assert [(m.field, m.initial, m.final) for m in cal.reassessed] == [
        ("size", "small", "medium")]


def test_report_json_on_the_command_line_is_the_engines(night: Project) -> None:
    done = subprocess.run([sys.executable, "-m", "app", "-C", str(night.root), "report",
                           "--json"], capture_output=True, text=True, timeout=60,
                          env={**CLI_ENV, "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == build_report(night).to_json()


def test_an_items_report_is_its_attempts(night: Project) -> None:
    report = build_report(night, item="WRK-001")
    mine = [e for e in worklog_entries(night) if e["item"] == "WRK-001"]
    assert report.overall.attempts == len(mine) == 9
    assert len(report.limits.waits) == 1 and report.blocks == ()
    assert Path(night.worklog_path).exists()


def test_a_pause_the_run_was_stopped_in_is_recorded_too(tmp_path: Path) -> None:
    """Stopped mid-pause: a `stopped` line; the next run waits out the kept pause and
    writes a `resumed` one (pauses.jsonl: what `report` sums as the time waited)."""
    project = make_project(tmp_path / "p", [ready()], limits={"resume_margin_s": 0},
                           script={"prd": {"1": {"mode": "usage_limit", "resets_in": 3},
                                           "*": "complete"}}, run={"checkpoint": False})
    bus = EventBus()
    recorder = Recorder(bus)
    pipeline = Pipeline(project, bus)
    done: list[RunFinished] = []
    worker = threading.Thread(target=lambda: done.append(pipeline.run()))
    worker.start()
    wait_for(lambda: recorder.of(RunPaused), timeout=20)
    time.sleep(0.5)
    pipeline.request_stop()
    worker.join(timeout=10)
    assert done and done[0].reason == "stopped"
    (stopped,) = build_report(project).limits.waits
    assert stopped.ended == "stopped" and stopped.waited_s < 3
    finished, _ = run_pipeline(project)
    assert finished.exit_code == 0
    first, resumed = build_report(project).limits.waits
    assert (first, resumed.ended) == (stopped, "resumed")
    assert resumed.end >= stopped.end
