"""Reading and validating the result file an agent leaves behind.

The result file decides an attempt's outcome. Anything wrong with it (missing,
not JSON, for another item or phase, an unknown result) makes the attempt a
failure whose reason a person can act on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.backlog.model import ASSESSMENT_CHOICES
from app.engine.executor import AgentResult, FollowUp

RESULTS: tuple[str, ...] = ("complete", "progress", "blocked", "failed")


class ResultError(Exception):
    """The result file is missing or unusable; the message says why."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def read_result(path: Path, item_id: str, phase: str) -> AgentResult:
    """Parse and check the result file; ResultError with a readable reason otherwise."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ResultError("the agent wrote no result file", missing=True) from None
    except OSError as exc:
        raise ResultError(f"cannot read the result file: {exc.strerror}") from None
    try:
        data = json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError as exc:
        raise ResultError(f"the result file is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ResultError("the result file is not a JSON object")
    got_id = data.get("item_id")
    if got_id != item_id:
        raise ResultError(f"the result file is for item {got_id!r}, not {item_id}")
    got_phase = data.get("phase")
    if got_phase != phase:
        raise ResultError(f"the result file is for phase {got_phase!r}, not {phase}")
    result = data.get("result")
    if result not in RESULTS:
        raise ResultError(f"the result file says result {result!r}; expected one of "
                          f"{', '.join(RESULTS)}")
    warnings: list[str] = []
    assessment: dict[str, str] = {}
    raw_assessment = data.get("assessment")
    if isinstance(raw_assessment, dict):
        for key, choices in ASSESSMENT_CHOICES.items():
            value = raw_assessment.get(key)
            if value is None:
                continue
            value = str(value).strip().lower()
            if value in choices:
                assessment[key] = value
            else:
                warnings.append(f"assessment {key}={value!r} ignored (use "
                                f"{', '.join(choices)})")
    elif raw_assessment is not None:
        warnings.append("assessment ignored: not an object")
    follow_ups: list[FollowUp] = []
    raw_follow = data.get("follow_ups") or []
    if not isinstance(raw_follow, list):
        warnings.append("follow_ups ignored: not a list")
        raw_follow = []
    for entry in raw_follow:
        if isinstance(entry, str) and entry.strip():
            follow_ups.append(FollowUp(" ".join(entry.split())))
        elif isinstance(entry, dict) and _text(entry.get("title")):
            follow_ups.append(FollowUp(" ".join(str(entry["title"]).split()),
                                       _text(entry.get("notes"))))
        else:
            warnings.append(f"follow-up {entry!r} ignored: it needs a title")
    blocked_reason = _text(data.get("blocked_reason"))
    if result == "blocked" and not blocked_reason:
        blocked_reason = _text(data.get("summary")) or "the agent answered blocked without a " \
                                                        "reason"
    return AgentResult(
        item_id=item_id, phase=phase, result=result, summary=_text(data.get("summary")),
        blocked_reason=blocked_reason, assessment=assessment, follow_ups=tuple(follow_ups),
        needs_investigation=data.get("needs_investigation") is True,
        warnings=tuple(warnings),
    )
