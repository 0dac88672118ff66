"""The records `orchestrate report` reads, as plain typed values: the worklog's attempts,
history.jsonl's changes and pauses.jsonl's waits.

Every field is read tolerantly: a record written by an older orchestrate lacks the newer
fields (agent, kind, tokens, assessment), and a field of the wrong type (a hand-edited
line) counts as missing, never as an error. An attempt without an agent ran on the
default one, whose kind then was claude (the only kind there was).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.engine import jsonl
from app.structs import Struct, field


class Attempt(Struct, frozen=True):
    """One worklog line."""

    item: str
    phase: str
    attempt: int
    start: float | None
    """Epoch seconds; None when the line has no readable time."""
    end: float | None
    duration_s: float
    outcome: str
    reason: str | None = None
    cost_usd: float | None = None
    agent: str = "default"
    kind: str = "claude"
    input_tokens: int | None = None
    output_tokens: int | None = None
    assessment: Mapping[str, str] = field(default_factory=dict)

    @property
    def when(self) -> float | None:
        """When it happened, for filters: its start, else its end."""
        return self.start if self.start is not None else self.end

    @property
    def counted(self) -> bool:
        """Whether it answered for the item: a usage limit is the account's and a stop the
        person's, so neither is a success or a failure of the phase."""
        return self.outcome not in ("limited", "interrupted")

    @property
    def succeeded(self) -> bool:
        return self.outcome in ("complete", "progress")


class Change(Struct, frozen=True):
    """One line of history.jsonl: a person's change (or an undo of one)."""

    at: float | None
    id: str | None
    action: str
    item: str
    before: str
    """Where the item stood (`blocked`, `in_progress (build)`; states.describe)."""
    after: str
    notes: str | None = None
    undoes: str | None = None
    was: Mapping[str, Any] = field(default_factory=dict)
    """The item's fields before the change, where undo's record holds them."""
    now: Mapping[str, Any] = field(default_factory=dict)
    """...and after it."""


class Wait(Struct, frozen=True):
    """One usage-limit pause of a run (pauses.jsonl)."""

    start: float
    end: float
    reason: str
    ended: str
    """`resumed`, or `stopped` (the run ended while it waited)."""

    @property
    def waited_s(self) -> float:
        return max(0.0, self.end - self.start)


def parse_time(text: object) -> float | None:
    """Epoch seconds of a record's ISO time (`2026-11-24T21:04:00Z`; one without a zone is
    UTC, as every record writes); None when it is not one."""
    if not isinstance(text, str) or not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def iso(t: float) -> str:
    """A time as the records write it: UTC, to the second."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _str(value: object, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def attempt_of(entry: Mapping[str, Any]) -> Attempt:
    """A worklog line as an Attempt (see the module docstring for missing fields)."""
    start, end = parse_time(entry.get("start")), parse_time(entry.get("end"))
    duration = _float(entry.get("duration_s"))
    if duration is None:
        duration = end - start if start is not None and end is not None else 0.0
    if end is None and start is not None:
        end = start + duration
    assessment = entry.get("assessment")
    return Attempt(
        item=_str(entry.get("item")), phase=_str(entry.get("phase"), "?"),
        attempt=_int(entry.get("attempt")) or 0, start=start, end=end,
        duration_s=max(0.0, duration), outcome=_str(entry.get("outcome"), "unknown"),
        reason=entry.get("reason") if isinstance(entry.get("reason"), str) else None,
        cost_usd=_float(entry.get("cost_usd")),
        agent=_str(entry.get("agent")) or "default",
        kind=_str(entry.get("kind")) or "claude",
        input_tokens=_int(entry.get("input_tokens")),
        output_tokens=_int(entry.get("output_tokens")),
        assessment={k: v for k, v in assessment.items()
                    if isinstance(k, str) and isinstance(v, str)}
        if isinstance(assessment, dict) else {})


def change_of(entry: Mapping[str, Any]) -> Change:
    """A history.jsonl line as a Change."""
    undo = entry.get("undo")
    undo = undo if isinstance(undo, dict) else {}
    was, now = undo.get("before"), undo.get("after")
    notes = entry.get("notes")
    return Change(
        at=parse_time(entry.get("at")), id=_str(entry.get("id")) or None,
        action=_str(entry.get("action")), item=_str(entry.get("item")),
        before=_str(entry.get("from")), after=_str(entry.get("to")),
        notes=notes if isinstance(notes, str) and notes.strip() else None,
        undoes=_str(entry.get("undoes")) or None,
        was=was if isinstance(was, dict) else {}, now=now if isinstance(now, dict) else {})


def wait_of(entry: Mapping[str, Any]) -> Wait | None:
    """A pauses.jsonl line as a Wait; None when its times cannot be read."""
    start, end = parse_time(entry.get("start")), parse_time(entry.get("end"))
    if start is None or end is None:
        return None
    return Wait(start, end, _str(entry.get("reason")), _str(entry.get("ended"), "resumed"))


class Records(Struct, frozen=True):
    """Everything the report reads from `.orchestrator/`, oldest first."""

    attempts: tuple[Attempt, ...] = ()
    changes: tuple[Change, ...] = ()
    """A person's changes, without the undos and the changes they took back."""
    waits: tuple[Wait, ...] = ()
    problems: tuple[str, ...] = ()
    """A warning per torn or foreign line (jsonl.read's)."""


def read_records(worklog: Path, history: Path, pauses: Path) -> Records:
    """The three files, each tolerant of torn lines."""
    entries, torn = jsonl.read(worklog, "item")
    lines, torn_history = jsonl.read(history, "action")
    waits, torn_waits = jsonl.read(pauses, "start")
    changes = [change_of(line) for line in lines]
    undone = {c.undoes for c in changes if c.action == "undo" and c.undoes}
    kept = tuple(c for c in changes
                 if c.action != "undo" and (c.id is None or c.id not in undone))
    return Records(
        attempts=tuple(attempt_of(e) for e in entries), changes=kept,
        waits=tuple(w for w in (wait_of(line) for line in waits) if w is not None),
        problems=(*torn, *torn_history, *torn_waits))
