"""Triage with real parallel agents: results applied by the orchestrator, guardrails decide,
never more agents at once than triage.max_concurrent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import statuses
from engine_helpers import Recorder, make_project, worklog_entries

from app.engine.events import EventBus, Notice, PhaseFinished, RunFinished
from app.engine.project import Project
from app.engine.triage import Triage


def triage(project: Project, **kwargs: Any) -> tuple[RunFinished, Recorder]:
    bus = EventBus()
    recorder = Recorder(bus)
    return Triage(project, bus, **kwargs).run(), recorder


def test_five_items_run_three_at_once_and_never_more(tmp_path: Path) -> None:
    record = tmp_path / "record"
    script = {"triage": {"mode": "complete", "sleep": 1.0, "record": str(record)}}
    project = make_project(tmp_path / "p", [{"title": f"Idea {n}"} for n in range(5)],
                           script=script, triage={"max_concurrent": 3})
    finished, _ = triage(project)
    assert finished.exit_code == 0 and finished.attempts == 5
    spans = []
    for start in record.glob("*.start"):
        end = start.with_suffix(".end")
        spans.append((float(start.read_text()), float(end.read_text())))
    assert len(spans) == 5
    # how many agents were alive at each agent's start
    overlap = [sum(1 for s, e in spans if s <= t < e) for t, _ in spans]
    assert max(overlap) == 3
    assert set(statuses(project).values()) == {"ready"}


def test_results_decide_ready_researching_or_blocked(tmp_path: Path) -> None:
    items = [{"title": "Small"}, {"title": "Unclear"}, {"title": "Huge"}, {"title": "Asks"},
             {"title": "Already scoped", "status": "scoped"}]
    script = {"default": "complete", "items": {
        "WRK-002": {"triage": {"mode": "complete", "needs_investigation": True}},
        "WRK-003": {"triage": {"mode": "complete", "assessment": {
            "size": "large", "complexity": "high", "risk": "high"}}},
        "WRK-004": {"triage": {"mode": "blocked", "reason": "which customers?"}},
    }}
    project = make_project(tmp_path / "p", items, script=script)
    triage(project)
    backlog = project.store().load()
    assert statuses(project) == {"WRK-001": "ready", "WRK-002": "researching",
                                 "WRK-003": "blocked", "WRK-004": "blocked",
                                 "WRK-005": "scoped"}
    assert backlog.get("WRK-001").size == "small"
    assert backlog.get("WRK-003").blocked_reason == \
        "outside the guardrails: size large, max medium; risk high, max low"
    assert backlog.get("WRK-004").blocked_reason == "which customers?"
    assert backlog.get("WRK-003").blocked_from == "scoped"


def test_investigate_moves_researching_items_on(tmp_path: Path) -> None:
    script = {"default": "complete",
              "triage": {"mode": "complete", "needs_investigation": True},
              "investigate": {"mode": "complete", "assessment": {
                  "size": "medium", "complexity": "medium", "risk": "low"}}}
    project = make_project(tmp_path / "p", [{"title": "Unknown API"}], script=script)
    triage(project, investigate=True)
    it = project.store().load().get("WRK-001")
    assert (it.status, it.size) == ("ready", "medium")
    assert [e["phase"] for e in worklog_entries(project)] == ["triage", "investigate"]
    assert (project.root / "changes" / "WRK-001_unknown-api" / "INVESTIGATION.md").exists()


def test_a_failing_triage_agent_blocks_only_its_item(tmp_path: Path) -> None:
    script = {"default": "complete",
              "items": {"WRK-002": {"triage": {"mode": "crash"}}}}
    project = make_project(tmp_path / "p", [{"title": "A"}, {"title": "B"}, {"title": "C"}],
                           script=script, run={"max_retries": 1})
    finished, rec = triage(project)
    assert finished.exit_code == 0
    assert statuses(project) == {"WRK-001": "ready", "WRK-002": "blocked", "WRK-003": "ready"}
    reason = project.store().load().get("WRK-002").blocked_reason or ""
    assert reason.startswith("triage failed 2 times:") and "RuntimeError" in reason
    assert [f.outcome for f in rec.of(PhaseFinished) if f.item_id == "WRK-002"] == \
        ["failed", "failed"]


def test_not_logged_in_stops_triage_and_leaves_items_new(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [{"title": f"I{n}"} for n in range(4)],
                           script={"default": "not_logged_in"},
                           triage={"max_concurrent": 2})
    finished, rec = triage(project)
    assert finished.exit_code == 4 and "Not logged in" in finished.reason
    assert set(statuses(project).values()) == {"new"}
    assert len(rec.of(PhaseFinished)) <= 2
    assert not [n for n in rec.of(Notice) if n.level == "error"]


def test_agents_never_write_the_backlog_and_no_new_items_means_no_agents(
        tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [{"title": "Done", "status": "done"}])
    before = project.backlog_path.read_bytes()
    finished, rec = triage(project)
    assert finished.attempts == 0 and not rec.of(PhaseFinished)
    assert project.backlog_path.read_bytes() == before
