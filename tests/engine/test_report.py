"""`orchestrate report`'s figures (app/engine/report.py and its helpers) from records
written by hand: percentiles, the grouping of failure reasons, the malformed answers as
results.py and judging.py word them, blocked accuracy from history.jsonl, triage
calibration, old records without the newer fields, `--since` and `--item`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from report_project import WORKLOG, make_report_project

from app.engine.judging import judge_answer
from app.engine.project import Project
from app.engine.reasons import cause, malformed_kind
from app.engine.records import attempt_of, parse_time
from app.engine.report import Report, buckets, build_report, lanes, median, percentile
from app.errors import UnknownItemError


@pytest.fixture
def night(tmp_path: Path) -> Project:
    return make_report_project(tmp_path / "p")


def by_name(rows: Any) -> dict[str, Any]:
    return {row.name: row for row in rows}


# --- percentiles -------------------------------------------------------------------------------
def test_p90_is_the_nearest_rank_and_the_median_the_middle() -> None:
    assert percentile(list(range(1, 11)), 90) == 9  # of ten: the 9th smallest
    assert percentile([float(n) for n in range(1, 12)], 90) == 10  # of eleven: ceil(9.9)
    assert percentile([5.0], 90) == 5.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0  # unsorted in, sorted inside
    assert percentile([], 90) is None
    assert median([1.0, 2.0, 3.0, 10.0]) == 2.5
    assert median([]) is None


# --- reasons -----------------------------------------------------------------------------------
def test_the_same_cause_in_other_words_groups_together() -> None:
    one = cause("tests failed: 3 errors in /home/ann/app/tests/test_api.py line 41")
    two = cause("tests failed: 12 errors in src/app/tests/test_db.py line 7")
    assert one == two == "tests failed: N errors in PATH line N"
    assert cause("WRK-004 waits on 'WRK-002' at a1b2c3d4e5") == "ID waits on '…' at HASH"
    assert cause("timed out after 2400 s (agent.phase_timeout_s)") == \
        cause("timed out after 60 s (agent.phase_timeout_s)")
    assert cause("no output for 900 s (agents.codex.idle_timeout_s): exit 1") == \
        "no output for too long (idle_timeout_s)"
    assert cause("first line\nsecond line differs") == cause("first line\nanother")
    assert cause(None) == cause("  ") == "(no reason recorded)"
    assert len(cause("x" * 500)) == 100


def _answer(tmp_path: Path, content: str | None) -> str:
    """The reason judging.py records for a result file holding `content` (None: none)."""
    path = tmp_path / "result.json"
    path.unlink(missing_ok=True)
    if content is not None:
        path.write_text(content, encoding="utf-8")
    report = judge_answer(path, "WRK-001", "prd", None, why_missing="the agent exited 0",
                          agent_said="I am done", global_failure=None)
    assert report.outcome == "failed" and report.reason
    return report.reason


def test_malformed_answers_are_told_apart_from_the_words_the_engine_writes(
        tmp_path: Path) -> None:
    answer = {"item_id": "WRK-001", "phase": "prd", "result": "complete"}
    cases = {
        None: "no_result",
        "{not json": "bad_json",
        "[1, 2]": "bad_json",
        json.dumps({**answer, "item_id": "WRK-009"}): "wrong_item",
        json.dumps({**answer, "phase": "build"}): "wrong_phase",
        json.dumps({**answer, "result": "done"}): "bad_answer",
    }
    for content, kind in cases.items():
        reason = _answer(tmp_path, content)
        assert malformed_kind(reason) == kind, reason
        assert "result file" in cause(reason)
    assert malformed_kind("tests failed: 2 errors") is None
    assert malformed_kind(None) is None
    unreadable = tmp_path / "dir.json"
    unreadable.mkdir()
    unread = judge_answer(unreadable, "WRK-001", "prd", None, why_missing="",
                          agent_said=None, global_failure=None).reason
    assert malformed_kind(unread) == "no_result", unread


# --- the night's figures -----------------------------------------------------------------------
def test_phases_and_agents_count_every_attempt_and_rate_the_answers(night: Project) -> None:
    report = build_report(night)
    assert report.overall.attempts == len(WORKLOG) == 27
    phases = by_name(report.by_phase)
    assert [f.name for f in report.by_phase] == ["triage", "prd", "research", "design",
                                                 "spec", "build", "review"]
    prd = phases["prd"]
    assert (prd.attempts, prd.counted, prd.succeeded) == (6, 6, 4)
    assert prd.success_rate == pytest.approx(4 / 6)
    spec = phases["spec"]  # its usage limit is neither a success nor a failure
    assert (spec.attempts, spec.counted, spec.succeeded, spec.success_rate) == (4, 3, 3, 1.0)
    build = phases["build"]
    assert build.median_s == 44 * 60 and build.p90_s == 80 * 60
    assert build.cost_usd == pytest.approx(0.9 + 1.4 + 2.1)
    research = phases["research"]  # one of its six lines is an older orchestrate's
    assert research.input_tokens == 5 * 40000 and research.output_tokens == 5 * 2000
    agents = by_name(report.by_agent)
    assert [f.name for f in report.by_agent] == ["default", "codex"]
    assert agents["codex"].attempts == 6 and agents["default"].attempts == 21
    assert report.overall.cost_usd == pytest.approx(sum(e["cost_usd"] for e in WORKLOG))


def test_failures_rank_by_cause_and_malformed_answers_count_per_phase(night: Project) -> None:
    report = build_report(night)
    causes = {c.cause: c for c in report.failures}
    assert set(causes) == {"the agent wrote no result file", "the result file is not valid JSON",
                           "the result file is for another item",
                           "timed out (agent.phase_timeout_s)",
                           "tests failed: N errors in PATH"}
    assert causes["timed out (agent.phase_timeout_s)"].phases == ("research",)
    malformed = {m.phase: dict(m.kinds) for m in report.malformed}
    assert set(malformed) == {"prd", "build"}
    assert malformed["prd"]["bad_json"] == malformed["prd"]["wrong_item"] == 1
    assert malformed["build"]["no_result"] == 1
    assert {m.phase: m.attempts for m in report.malformed} == {"prd": 6, "build": 3}


def test_blocks_are_judged_by_what_the_person_did_next(night: Project) -> None:
    report = build_report(night)
    found = {b.item: b for b in report.blocks}
    assert set(found) == {"WRK-003", "WRK-004", "WRK-005"}
    assert (found["WRK-003"].verdict, found["WRK-003"].how) == ("needed",
                                                               "unblocked with notes")
    assert (found["WRK-003"].cause, found["WRK-003"].phase) == ("agent", "design")
    # the run blocked WRK-004 when its retries were used up: told by the reason history kept
    assert (found["WRK-004"].cause, found["WRK-004"].verdict) == ("failures", "not needed")
    assert (found["WRK-004"].phase, found["WRK-004"].agent) == ("prd", "default")
    assert (found["WRK-005"].verdict, found["WRK-005"].how) == ("open", "still blocked")
    (default,) = report.blocked_by("agent")
    assert (default.name, default.blocks, default.needed, default.not_needed,
            default.open, default.rate) == ("default", 3, 1, 1, 1, 0.5)


def write_lines(path: Path, lines: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def test_a_persons_own_block_an_edit_a_delete_and_an_undo(night: Project) -> None:
    """Blocked by a person: not the run's. Edited while blocked, then unblocked without
    notes: needed. Deleted as it was: not needed. An unblock taken back by undo: open."""
    blocked: dict[str, Any] = {"status": "blocked", "phase": "prd",
                               "blocked_reason": "prd failed 2 times: x",
                               "updated": "2026-11-24T01:30:00Z"}
    history: list[dict[str, Any]] = [
        # WRK-001: a person blocks it and unblocks it: the run had nothing to do with it
        {"at": "2026-11-24T08:00:00Z", "id": "a1", "action": "advance", "item": "WRK-001",
         "from": "done", "to": "blocked"},
        {"at": "2026-11-24T08:01:00Z", "id": "a2", "action": "unblock", "item": "WRK-001",
         "from": "blocked", "to": "done"},
        # WRK-003: edited while blocked, then unblocked without notes
        {"at": "2026-11-24T07:00:00Z", "id": "b1", "action": "edit", "item": "WRK-003",
         "from": "blocked", "to": "blocked", "fields": ["title"]},
        {"at": "2026-11-24T07:30:00Z", "id": "b2", "action": "unblock", "item": "WRK-003",
         "from": "blocked", "to": "in_progress (design)"},
        # WRK-004: unblocked, then the unblock undone: still blocked
        {"at": "2026-11-24T07:35:00Z", "id": "c1", "action": "unblock", "item": "WRK-004",
         "from": "blocked", "to": "in_progress (prd)", "undo": {"before": blocked}},
        {"at": "2026-11-24T07:36:00Z", "id": "c2", "action": "undo", "item": "WRK-004",
         "undoes": "c1", "undid": "unblock"},
        # WRK-005: deleted as it was
        {"at": "2026-11-24T07:40:00Z", "id": "d1", "action": "delete", "item": "WRK-005",
         "from": "blocked", "to": "deleted"},
    ]
    write_lines(night.history_path, history)
    text = night.backlog_path.read_text()
    text = text[:text.index("  - id: WRK-005")]  # deleted
    night.backlog_path.write_text(text.replace(
        "    status: in_progress\n    phase: prd\n",
        "    status: blocked\n    phase: prd\n    blocked_reason: 'prd failed 2 times: x'\n"))
    found = {b.item: b for b in build_report(night).blocks}
    assert "WRK-001" not in found
    assert (found["WRK-003"].verdict, found["WRK-003"].how) == ("needed",
                                                               "edited, then unblocked")
    assert (found["WRK-004"].verdict, found["WRK-004"].cause) == ("open", "failures")
    assert (found["WRK-005"].verdict, found["WRK-005"].how) == ("not needed", "deleted")


def test_triage_calibration_weighs_the_initial_assessment(night: Project) -> None:
    cal = build_report(night).calibration
    rows = {(r.field, r.value): r for r in cal.rows}
    assert set(rows) == {("size", "small"), ("risk", "low")}
    small = rows[("size", "small")]  # WRK-001 (small) and WRK-002 (triaged small)
    assert small.items == 2
    assert small.mean_cost_usd == pytest.approx((3.3 + 3.95) / 2)
    assert small.mean_attempts == pytest.approx((7 + 8) / 2)  # the limit does not count
    assert small.mean_duration_s == pytest.approx((159 + 301) * 60 / 2)
    assert (cal.compared, cal.unchanged) == (2, 1)
    (moved,) = cal.reassessed
    assert (moved.field, moved.initial, moved.final, moved.items) == ("size", "small",
                                                                      "medium", 1)


def test_limits_met_and_the_time_waited(night: Project) -> None:
    limits = build_report(night).limits
    assert (limits.met, limits.by_agent) == (1, (("default", 1),))
    assert limits.waited_s == 1800 and limits.waits[0].ended == "resumed"


# --- the window --------------------------------------------------------------------------------
def test_since_keeps_what_happened_from_then_on(night: Project) -> None:
    since = parse_time("2026-11-24T02:30:00Z")
    report = build_report(night, since=since)
    assert report.overall.attempts == sum(1 for e in WORKLOG if e["start"] >= "2026-11-24T02:30")
    # WRK-003 was blocked at 01:10, WRK-004 at 01:30 (when it was last changed, blocked)
    assert {b.item for b in report.blocks} == {"WRK-005"}
    assert report.limits.waits == ()  # the pause ended at 23:50
    assert report.since == since and report.first == since


def test_item_keeps_one_items_records(night: Project) -> None:
    report = build_report(night, item="wrk-002")
    assert report.item == "WRK-002"
    assert report.overall.attempts == sum(1 for e in WORKLOG if e["item"] == "WRK-002")
    assert len(report.limits.waits) == 1  # it ran while the run waited
    assert report.blocks == ()
    only = build_report(night, item="WRK-005")
    assert only.limits.waits == () and [b.item for b in only.blocks] == ["WRK-005"]
    with pytest.raises(UnknownItemError, match=r"no item WRK-042 in BACKLOG\.yaml or in the"):
        build_report(night, item="WRK-042")


# --- old records -------------------------------------------------------------------------------
def test_records_without_the_newer_fields_are_read_as_unknown(tmp_path: Path) -> None:
    project = make_report_project(tmp_path / "p")
    write_lines(project.worklog_path, [
        {"item": "WRK-001", "phase": "prd", "attempt": 1, "start": "2026-11-20T10:00:00Z",
         "end": "2026-11-20T10:01:00Z", "duration_s": 60, "outcome": "complete"},
        {"item": "WRK-001", "phase": "research", "attempt": "two", "start": "yesterday",
         "duration_s": "long", "outcome": "failed", "cost_usd": "a lot", "agent": 7,
         "assessment": ["small"]},
        {"item": "WRK-001", "phase": "design", "start": "2026-11-20T10:05:00",
         "end": "2026-11-20T10:06:00Z", "outcome": "complete", "cost_usd": 0.5}])
    with project.history_path.open("a") as out:
        out.write('{"at": "soon", "action": "unblock", "item": "WRK-003"}\n{"torn\n')
    project.pauses_path.write_text('{"start": "2026-11-20T10:00:00Z"}\n', encoding="utf-8")
    report = build_report(project)
    assert report.overall.attempts == 3
    assert report.overall.input_tokens is None and report.overall.output_tokens is None
    assert [f.name for f in report.by_agent] == ["default"]
    assert report.overall.cost_usd == 0.5
    design = by_name(report.by_phase)["design"]
    assert design.median_s == 60.0  # no duration: from its times (no zone: UTC)
    assert any("history.jsonl:" in problem for problem in report.problems)
    assert report.limits.waits == ()
    assert json.dumps(report.to_json())  # every figure is plain JSON
    kept = attempt_of({"item": "WRK-001"})
    assert (kept.agent, kept.kind, kept.phase, kept.outcome, kept.start) == (
        "default", "claude", "?", "unknown", None)


def test_an_empty_project_reports_nothing_without_failing(tmp_path: Path) -> None:
    project = make_report_project(tmp_path / "p")
    for path in (project.worklog_path, project.history_path, project.pauses_path):
        path.unlink()
    report: Report = build_report(project)
    assert report.overall.attempts == 0 and report.timeline == () and report.buckets == ()
    assert [b.item for b in report.blocks] == ["WRK-005"]  # BACKLOG.yaml: still blocked
    assert report.first is None


# --- the timeline ------------------------------------------------------------------------------
def _timed(item: str, start: str, end: str) -> Any:
    return attempt_of({"item": item, "phase": "prd", "start": f"2026-11-24T{start}Z",
                       "end": f"2026-11-24T{end}Z", "outcome": "complete"})


def test_attempts_at_the_same_time_stand_in_lanes_and_an_item_keeps_its_lane() -> None:
    bars = lanes([_timed("A", "01:00:00", "01:10:00"), _timed("B", "01:05:00", "01:20:00"),
                  _timed("A", "01:10:00", "01:30:00"), _timed("C", "01:20:00", "01:25:00"),
                  _timed("B", "01:30:00", "01:40:00")])
    assert [(b.item, b.lane) for b in bars] == [("A", 0), ("B", 1), ("A", 0), ("C", 1),
                                                ("B", 1)]
    both = lanes([_timed("B", "02:00:00", "02:10:00"), _timed("A", "02:00:00", "02:10:00"),
                  _timed("A", "02:10:00", "02:20:00"), _timed("B", "02:10:00", "02:20:00")])
    assert {(b.item, b.lane) for b in both} == {("B", 0), ("A", 1)}  # each keeps its row


def test_cost_is_bucketed_by_the_hour_and_by_the_day_beyond_two_days() -> None:
    hourly, step = buckets([_timed("A", "01:00:00", "01:10:00"),
                            _timed("A", "03:00:00", "03:30:00")])
    assert step == 3600 and [b.attempts for b in hourly] == [1, 0, 1]
    days = [attempt_of({"item": "A", "phase": "prd", "start": f"2026-11-{d}T10:00:00Z",
                        "end": f"2026-11-{d}T10:05:00Z", "outcome": "complete",
                        "cost_usd": 1.0}) for d in (20, 24)]
    daily, step = buckets(days)
    assert step == 86400 and sum(b.cost_usd for b in daily) == 2.0
    assert len(daily) in (5, 6)  # every day from the first to the last (in local time)


def test_the_json_names_every_figure(night: Project) -> None:
    data = build_report(night).to_json()
    assert list(data) == ["since", "item", "first", "last", "totals", "phases", "agents",
                          "failures", "malformed", "blocked", "calibration", "limits",
                          "cost", "timeline", "warnings"]
    assert data["first"] == "2026-11-23T20:50:00Z" and data["last"] == "2026-11-24T05:40:00Z"
    assert set(data["phases"][0]) == {"name", "attempts", "counted", "succeeded",
                                      "success_rate", "median_s", "p90_s", "input_tokens",
                                      "output_tokens", "cost_usd", "outcomes"}
    assert data["blocked"]["by_agent"][0]["rate"] == 0.5
    assert data["limits"]["waited_s"] == 1800.0
    assert data["cost"]["bucket_s"] == 3600
    assert {b["lane"] for b in data["timeline"]} == {0, 1}
