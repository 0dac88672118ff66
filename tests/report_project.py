"""A project with a night of fixed records for the report's tests (figures, CLI, pilot and
snapshots): two lanes, an agent by day and codex beside it, failures of several causes
(malformed answers too), blocks a person answered with and without notes and one still
open, a triage assessment changed later, a usage limit and the pause it made, and lines
of an older orchestrate without agents, kinds or tokens. Every time is fixed, so the
figures and the pictures never change (the snapshots also fix the time zone)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.engine.project import Project

REPORT_BACKLOG = """\
schema_version: 1
prefix: WRK
next_id: 6
items:
  - id: WRK-001
    title: Add login page
    status: done
    size: small
    complexity: low
    risk: low
    created: 2026-11-23T20:00:00Z
    updated: 2026-11-24T00:10:00Z
  - id: WRK-002
    title: Rate-limit the public API
    status: done
    size: medium
    complexity: medium
    risk: low
    created: 2026-11-23T20:05:00Z
    updated: 2026-11-24T02:30:00Z
  - id: WRK-003
    title: Export tasks as CSV
    status: in_progress
    phase: build
    size: small
    complexity: low
    risk: medium
    notes: Use the csv module.
    created: 2026-11-23T20:10:00Z
    updated: 2026-11-24T07:30:00Z
  - id: WRK-004
    title: Dark mode for the settings screen
    status: in_progress
    phase: prd
    size: small
    complexity: low
    risk: low
    created: 2026-11-23T20:15:00Z
    updated: 2026-11-24T07:35:00Z
  - id: WRK-005
    title: Migrate sessions to Redis
    status: blocked
    phase: review
    size: large
    complexity: high
    risk: high
    blocked_reason: Which Redis cluster should sessions use? Ops has two.
    blocked_from: in_progress
    created: 2026-11-23T20:20:00Z
    updated: 2026-11-24T05:40:00Z
"""


def _attempt(item: str, phase: str, n: int, start: str, end: str, outcome: str,
             **more: Any) -> dict[str, Any]:
    """A worklog line (duration from the times, as the engine writes it)."""
    from app.engine.records import parse_time

    begun, ended = parse_time(f"2026-11-{start}Z"), parse_time(f"2026-11-{end}Z")
    assert begun is not None and ended is not None
    entry: dict[str, Any] = {
        "item": item, "phase": phase, "attempt": n, "start": f"2026-11-{start}Z",
        "end": f"2026-11-{end}Z", "duration_s": ended - begun, "outcome": outcome,
        "reason": None, "cost_usd": 0.2, "agent": "default", "kind": "claude",
        "input_tokens": 40000, "output_tokens": 2000}
    entry.update(more)
    return entry


OLD = {"agent": None, "kind": None, "input_tokens": None, "output_tokens": None}
"""An older orchestrate's line: no agent, kind or tokens (the keys are dropped)."""

NO_RESULT = ("the agent wrote no result file: the agent exited 0 without writing a "
             "result file")

WORKLOG: tuple[dict[str, Any], ...] = (
    _attempt("WRK-002", "triage", 1, "23T20:50:00", "23T20:52:00", "complete",
             assessment={"size": "small", "complexity": "low", "risk": "low"}),
    # lane 1: WRK-001 walks through, its build once without a result file
    _attempt("WRK-001", "prd", 1, "23T21:00:00", "23T21:12:00", "complete", **OLD),
    _attempt("WRK-001", "research", 1, "23T21:12:00", "23T21:30:00", "complete", **OLD),
    _attempt("WRK-001", "design", 1, "23T21:30:00", "23T21:50:00", "complete"),
    _attempt("WRK-001", "spec", 1, "23T21:50:00", "23T22:05:00", "complete"),
    _attempt("WRK-001", "build", 1, "23T22:05:00", "23T22:35:00", "failed",
             reason=NO_RESULT, cost_usd=0.9),
    _attempt("WRK-001", "build", 2, "23T22:36:00", "23T23:20:00", "complete", cost_usd=1.4),
    _attempt("WRK-001", "review", 1, "23T23:50:00", "24T00:10:00", "complete"),
    # lane 2: WRK-002 on codex, a limit met, then the pause of the whole run
    _attempt("WRK-002", "prd", 1, "23T21:00:00", "23T21:20:00", "complete", agent="codex",
             kind="codex", cost_usd=0.3),
    _attempt("WRK-002", "research", 1, "23T21:20:00", "23T21:45:00", "failed",
             reason="tests failed: 3 errors in tests/test_api.py", agent="codex",
             kind="codex"),
    _attempt("WRK-002", "research", 2, "23T21:46:00", "23T22:10:00", "complete",
             agent="codex", kind="codex"),
    _attempt("WRK-002", "design", 1, "23T22:10:00", "23T23:00:00", "complete",
             agent="codex", kind="codex", cost_usd=0.5),
    _attempt("WRK-002", "spec", 1, "23T23:00:00", "23T23:20:00", "limited",
             reason="usage limit: You've hit your limit · resets 11:50pm (UTC)",
             cost_usd=0.05),
    _attempt("WRK-002", "spec", 2, "23T23:50:00", "24T00:20:00", "complete", agent="codex",
             kind="codex"),
    _attempt("WRK-002", "build", 1, "24T00:20:00", "24T01:40:00", "complete", agent="codex",
             kind="codex", cost_usd=2.1),
    _attempt("WRK-002", "review", 1, "24T01:40:00", "24T02:30:00", "complete"),
    # lane 1 again: WRK-003 blocked by its agent in design; a person answered in the morning
    _attempt("WRK-003", "prd", 1, "24T00:10:00", "24T00:30:00", "complete"),
    _attempt("WRK-003", "research", 1, "24T00:30:00", "24T00:50:00", "complete"),
    _attempt("WRK-003", "design", 1, "24T00:50:00", "24T01:10:00", "blocked",
             reason="Which CSV dialect: Excel's or RFC 4180?"),
    # WRK-004: two malformed answers, then the run blocked it (no blocked answer)
    _attempt("WRK-004", "prd", 1, "24T01:10:00", "24T01:20:00", "failed",
             reason="the result file is not valid JSON (Expecting value: line 1 column 1 "
                    "(char 0))"),
    _attempt("WRK-004", "prd", 2, "24T01:21:00", "24T01:30:00", "failed",
             reason="the result file is for item 'WRK-003', not WRK-004"),
    # WRK-005: all the way to review, where its agent blocked it; still blocked
    _attempt("WRK-005", "prd", 1, "24T02:30:00", "24T03:00:00", "complete"),
    _attempt("WRK-005", "research", 1, "24T03:00:00", "24T03:40:00", "timeout",
             reason="timed out after 2400 s (agent.phase_timeout_s)"),
    _attempt("WRK-005", "research", 2, "24T03:41:00", "24T04:20:00", "complete"),
    _attempt("WRK-005", "design", 1, "24T04:20:00", "24T04:50:00", "complete"),
    _attempt("WRK-005", "spec", 1, "24T04:50:00", "24T05:10:00", "complete"),
    _attempt("WRK-005", "review", 1, "24T05:10:00", "24T05:40:00", "blocked",
             reason="Which Redis cluster should sessions use? Ops has two."),
)
"""27 attempts of one night, two lanes."""

HISTORY: tuple[dict[str, Any], ...] = (
    {"at": "2026-11-23T20:05:00Z", "id": "h1", "action": "add", "item": "WRK-002",
     "from": "(none)", "to": "new", "undo": {"after": {"id": "WRK-002", "status": "new",
                                                       "size": None, "risk": None}}},
    # the agent's block of WRK-003 was needed: the person answered with notes
    {"at": "2026-11-24T07:30:00Z", "id": "h2", "action": "unblock", "item": "WRK-003",
     "from": "blocked", "to": "in_progress (design)", "notes": "Use the csv module.",
     "undo": {"before": {"id": "WRK-003", "status": "blocked", "phase": "design"},
              "after": {"id": "WRK-003", "status": "in_progress", "phase": "design"}}},
    # the run's block of WRK-004 (its retries used up) was not: unblocked as it was
    {"at": "2026-11-24T07:35:00Z", "id": "h3", "action": "unblock", "item": "WRK-004",
     "from": "blocked", "to": "in_progress (prd)",
     "undo": {"before": {"id": "WRK-004", "status": "blocked", "phase": "prd",
                         "blocked_reason": "prd failed 2 times: the result file is for "
                                           "item 'WRK-003', not WRK-004",
                         "updated": "2026-11-24T01:30:00Z"},
              "after": {"id": "WRK-004", "status": "in_progress", "phase": "prd"}}},
    # a person's size for WRK-002 after its triage said small
    {"at": "2026-11-24T07:40:00Z", "id": "h4", "action": "edit", "item": "WRK-002",
     "from": "done", "to": "done", "fields": ["size"],
     "undo": {"before": {"id": "WRK-002", "size": "small"},
              "after": {"id": "WRK-002", "size": "medium"}}},
)

PAUSES: tuple[dict[str, Any], ...] = (
    {"start": "2026-11-23T23:20:00Z", "end": "2026-11-23T23:50:00Z", "waited_s": 1800.0,
     "reason": "default: You've hit your limit · resets 11:50pm (UTC); codex: ...",
     "ended": "resumed"},
)


def _lines(records: tuple[dict[str, Any], ...]) -> str:
    return "".join(json.dumps({k: v for k, v in r.items() if v is not None}) + "\n"
                   for r in records)


def make_report_project(root: Path) -> Project:
    """The project, its BACKLOG.yaml and the night's records."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "BACKLOG.yaml").write_text(REPORT_BACKLOG, encoding="utf-8")
    project = Project(root)
    project.ensure_state_dirs()
    project.worklog_path.write_text(_lines(WORKLOG), encoding="utf-8")
    project.history_path.write_text(_lines(HISTORY), encoding="utf-8")
    project.pauses_path.write_text(_lines(PAUSES), encoding="utf-8")
    return project
