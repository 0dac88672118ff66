"""`.orchestrator/worklog.jsonl`: one JSON line per phase attempt, and its summaries."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from app.engine import jsonl
from app.structs import Struct, asdict


class WorklogEntry(Struct, frozen=True):
    """One attempt, with the fields DESIGN.md names."""

    item: str
    phase: str
    attempt: int
    start: str
    end: str
    duration_s: float
    outcome: str
    reason: str | None = None
    exit_code: int | None = None
    cost_usd: float | None = None
    num_turns: int | None = None
    summary: str | None = None
    cost_estimated: bool = False
    """cost_usd was reckoned from the tokens: the agent never said (an attempt stopped
    before its result line, or a CLI that reports tokens only, at its `price`)."""
    agent: str = "default"
    """The agent it ran on (its name in orchestrate.toml)."""
    kind: str = "claude"
    """Which CLI that agent is."""
    input_tokens: int | None = None
    """Tokens read (cached ones too), as the CLI reported them."""
    output_tokens: int | None = None
    gates: list[dict[str, Any]] | None = None
    """The quality gates' verdicts on a complete answer: `{"gate", "passed", "detail"}`
    each (gates.py); None where the phase has none."""
    assessment: dict[str, str] | None = None
    """The size, complexity and risk the agent's answer gave (its valid values only), None
    when it gave none: an item's first one is its initial assessment, which the item's
    fields no longer hold once a later answer or a person changed them (report.py)."""


def agent_of(entry: dict[str, Any]) -> str:
    """Which agent made an attempt, as a person reads it (`claude` for `[agent]` of that
    kind, else its name); empty for an entry written before agents were recorded."""
    name, kind = entry.get("agent"), entry.get("kind")
    if not isinstance(name, str) or not name:
        return ""
    return str(kind) if name == "default" and isinstance(kind, str) and kind else name


def append(path: Path, entry: WorklogEntry) -> None:
    """Append one line (jsonl.append: whole lines, also after a torn one)."""
    jsonl.append(path, asdict(entry))


def read(path: Path) -> list[dict[str, Any]]:
    """All entries; a torn or foreign line (a crash mid-write) is skipped, not fatal."""
    return jsonl.read(path, "item")[0]


def problems(path: Path) -> list[str]:
    """A warning per torn or foreign line, for the person (`orchestrate status`, a run)."""
    return jsonl.read(path, "item")[1]


class Totals(Struct, frozen=True):
    """Sums over a set of attempts."""

    attempts: int = 0
    duration_s: float = 0.0
    cost_usd: float = 0.0
    outcomes: tuple[tuple[str, int], ...] = ()


def totals(entries: Iterable[dict[str, Any]]) -> Totals:
    """Attempts, time and cost, and how many of each outcome."""
    attempts = 0
    duration = 0.0
    cost = 0.0
    outcomes: dict[str, int] = {}
    for e in entries:
        attempts += 1
        duration += float(e.get("duration_s") or 0)
        cost += float(e.get("cost_usd") or 0)
        outcome = str(e.get("outcome"))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return Totals(attempts, duration, cost, tuple(sorted(outcomes.items())))


def for_item(entries: Iterable[dict[str, Any]], item_id: str) -> list[dict[str, Any]]:
    """The attempts of one item, oldest first."""
    return [e for e in entries if e.get("item") == item_id]


def money(usd: float) -> str:
    """`$4.18`, or `$0.075` where cents would hide what was spent (`$0.07` of `$0.05`)."""
    if abs(usd) >= 1 or round(usd, 2) == round(usd, 6):
        return f"${usd:.2f}"
    return f"${usd:.4f}".rstrip("0")


def format_duration(seconds: float) -> str:
    """`1h02m`, `3m12s`, `45s`: how long an attempt or a run took."""
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"
