"""Where an attempt runs: the executor interface between a run and an agent.

The run decides *what* to attempt (an item, a phase or triage step, a prompt) and *what
the answer does*; an executor runs the attempt *somewhere* and reports how it ended.
This module is the seam: it owns every type that crosses it and imports nothing of the
engine, so an executor (the local one in attempts.py, an in-process one in the tests, a
remote one) depends on it alone, and the run depends on no executor.

An attempt's inputs are a workspace (a checkout at a commit: the main one, or a lane's
worktree on its branch) and a prompt; its outputs are the agent's changes in that
workspace (which the run checkpoints) and its answer, judged into an `AttemptReport`.
docs/engine.md ("Executors") says how a remote executor plugs in.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from app.structs import Struct, field

if TYPE_CHECKING:
    from app.backlog.model import Item


class Workspace(Struct, frozen=True):
    """The checkout an attempt works in."""

    path: Path
    """The project's folder in that checkout: the agent's working directory."""
    branch: str | None = None
    """The lane's branch (`orchestrate/WRK-001`); None for the main checkout."""


class AttemptFiles(Struct, frozen=True):
    """Where one attempt's files are: the one place that names them."""

    result: Path
    """Where the agent writes its result file: inside its workspace, which every permission
    mode lets it write to (a lane's worktree has its own git-ignored `.orchestrator/`)."""
    kept: Path
    """Where the run keeps the result afterwards: the main checkout's results folder."""
    log: Path
    """The attempt's log, in the main checkout."""


class FollowUp(Struct, frozen=True):
    """A new item an agent asks for."""

    title: str
    notes: str | None = None


class AgentResult(Struct, frozen=True):
    """A valid result file: the agent's answer."""

    item_id: str
    phase: str
    result: str
    summary: str | None = None
    blocked_reason: str | None = None
    assessment: dict[str, str] = field(default_factory=dict)
    """Only the valid size/complexity/risk values."""
    follow_ups: tuple[FollowUp, ...] = ()
    needs_investigation: bool = False
    warnings: tuple[str, ...] = ()
    """Parts of the file that were ignored (a bad assessment value and the like)."""


class UsageLimit(Struct, frozen=True):
    """The agent met a usage limit of the account."""

    message: str
    """The agent's own words (`You've hit your limit · resets 8:12pm (UTC)`)."""
    resets_at: float | None = None
    """When the limit resets (epoch seconds), if the agent said so."""
    kind: str | None = None
    """`five_hour`, `seven_day`, ... when the structured event named it."""


class GateCheck(Struct, frozen=True):
    """One quality gate's verdict on a complete answer (gates.py)."""

    gate: str
    """`min_success_criteria`, `min_tasks` or `command: pytest -q`."""
    passed: bool
    detail: str
    """What it found: `changes/…/SPEC.md has 1 tasks …`, a command's last lines."""


class Verdict(Struct, frozen=True):
    """A judge's word on a `complete` or `progress` answer: not what it claims, or (`ok`)
    as it claims, with the gates it passed."""

    outcome: str
    """`failed`, `progress` (a build that said complete with SPEC tasks still open),
    `interrupted` (a gate the run's stop ended), or `ok` (taken as it is)."""
    reason: str | None = None
    gates: tuple[GateCheck, ...] = ()
    """The quality gates that judged it (none when the phase has none)."""


Judge = Callable[[AgentResult], Verdict | None]
"""Looks at a valid complete/progress answer: None to take it as it is."""


class AttemptReport(Struct, frozen=True):
    """How one attempt ended, with what it cost: all the run learns of it."""

    outcome: str
    """complete | progress | blocked | failed | timeout | interrupted | limited"""
    reason: str | None = None
    result: AgentResult | None = None
    limit: UsageLimit | None = None
    """For `limited`: the account's usage limit and when it resets."""
    global_failure: str | None = None
    """Set when the failure would hit every item: the run must stop with this message."""
    cost_usd: float | None = None
    """What the attempt cost, as its worklog line says (the agent's figure, else its
    stream's tokens at the model's price)."""
    num_turns: int | None = None
    duration_s: float = 0.0
    exit_code: int | None = None
    agent: str = "default"
    """The agent (its name in orchestrate.toml) that made the attempt."""
    kind: str = "claude"
    """Which CLI that agent is."""
    input_tokens: int | None = None
    """Tokens in (cache reads and writes too), where the CLI said."""
    output_tokens: int | None = None
    gates: tuple[GateCheck, ...] = ()
    """The quality gates' verdicts on its complete answer (gates.py)."""


class Executor(Protocol):
    """Runs phase attempts somewhere, reporting PhaseStarted / AgentOutput / PhaseFinished
    on the run's bus as they go. One per run; safe to call from several lanes at once."""

    on_spend: Callable[[float], None] | None
    """Told, every few tenths of a second while attempts run, what they have spent so far
    together (the run's budget stops them through `stop`)."""

    def next_attempt(self, item_id: str, phase: str) -> int:
        """The number of the next attempt of this item's phase (1 + the highest used)."""
        ...

    def files(self, item_id: str, phase: str, attempt: int,
              workspace: Workspace | None) -> AttemptFiles:
        """The attempt's files; `result` is the path the prompt gives the agent (where it
        will see it)."""
        ...

    def run(self, item: Item, phase: str, attempt: int, prompt: str, *,
            judge: Judge | None = None, workspace: Workspace | None = None,
            agent: str = "default") -> AttemptReport:
        """Run the attempt with `agent` (a name of orchestrate.toml's) in `workspace` (None:
        the project's own folder), blocking until it ended, and say how. Ends early,
        `interrupted`, once `stop` (or `stop_item` for its item) was called."""
        ...

    def stop(self, now: bool = False) -> None:
        """Stop every attempt, running or to come (after a grace period; `now`: at once)."""
        ...

    def stop_item(self, item_id: str) -> None:
        """Stop the item's attempt, running or to come (a person took the item away)."""
        ...
