"""Result files: only a valid file for this item and phase counts; anything else is a
failure with a reason a person understands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.engine.results import ResultError, read_result


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "r.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


GOOD: dict[str, object] = {
    "item_id": "WRK-001", "phase": "prd", "result": "complete", "summary": "PRD written",
    "blocked_reason": None, "assessment": {"size": "small", "complexity": "low", "risk": "low"},
    "follow_ups": []}


def test_a_valid_result_is_read_with_its_assessment(tmp_path: Path) -> None:
    got = read_result(_write(tmp_path, GOOD), "WRK-001", "prd")
    assert got.result == "complete" and got.summary == "PRD written"
    assert got.assessment == {"size": "small", "complexity": "low", "risk": "low"}


def test_missing_file_is_flagged_as_missing(tmp_path: Path) -> None:
    with pytest.raises(ResultError, match="no result file") as info:
        read_result(tmp_path / "nope.json", "WRK-001", "prd")
    assert info.value.missing


@pytest.mark.parametrize(("data", "message"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "not a JSON object"),
    ({**GOOD, "item_id": "WRK-002"}, "for item 'WRK-002', not WRK-001"),
    ({**GOOD, "phase": "design"}, "for phase 'design', not prd"),
    ({**GOOD, "result": "done"}, "result 'done'"),
])
def test_unusable_files_say_why(tmp_path: Path, data: object, message: str) -> None:
    with pytest.raises(ResultError, match=message) as info:
        read_result(_write(tmp_path, data), "WRK-001", "prd")
    assert not info.value.missing


def test_bad_assessment_values_are_ignored_with_a_warning(tmp_path: Path) -> None:
    data = {**GOOD, "assessment": {"size": "huge", "risk": "HIGH"}}
    got = read_result(_write(tmp_path, data), "WRK-001", "prd")
    assert got.assessment == {"risk": "high"}
    assert any("size='huge'" in w for w in got.warnings)


def test_follow_ups_as_titles_or_objects(tmp_path: Path) -> None:
    data = {**GOOD, "follow_ups": ["Add logout", {"title": "Rate limit", "notes": "redis"},
                                   {"notes": "no title"}, 7]}
    got = read_result(_write(tmp_path, data), "WRK-001", "prd")
    assert [(f.title, f.notes) for f in got.follow_ups] == [("Add logout", None),
                                                           ("Rate limit", "redis")]
    assert len(got.warnings) == 2


def test_blocked_without_reason_still_has_one(tmp_path: Path) -> None:
    data = {**GOOD, "result": "blocked", "summary": "which database?"}
    got = read_result(_write(tmp_path, data), "WRK-001", "prd")
    assert got.blocked_reason == "which database?"


def test_needs_investigation_only_when_true(tmp_path: Path) -> None:
    got = read_result(_write(tmp_path, {**GOOD, "phase": "triage",
                                        "needs_investigation": "yes"}), "WRK-001", "triage")
    assert got.needs_investigation is False
    got = read_result(_write(tmp_path, {**GOOD, "phase": "triage",
                                        "needs_investigation": True}), "WRK-001", "triage")
    assert got.needs_investigation is True
