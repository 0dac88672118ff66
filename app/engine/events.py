"""What the engine reports while it works. The CLI renders these with rich; the board
posts them into its UI thread. Events are plain frozen data: safe to pass between threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from app.structs import Struct, field


class AgentLine(Struct, frozen=True):
    """One line of an agent's stdout/stderr, classified for display."""

    kind: str
    """`text` (assistant words), `tool` (a tool call), `tool_result`, `error`, `system`,
    `result` (the final result event), `stderr`, or `raw` (not JSON)."""
    text: str
    """A one-line human rendering (already truncated for display)."""
    raw: str = ""
    """The line as the agent printed it (may be long)."""
    lane: str = ""
    """The item whose lane printed it, where lines of several lanes are shown together
    (the board labels them); empty otherwise."""


class Event(Struct, frozen=True, kw_only=True):
    """Base of all engine events. `at` is keyword-only: a subclass's own fields come
    first, also positionally."""

    at: float = field(default_factory=time.time)


class RunStarted(Event, frozen=True):
    """A run (or triage batch) began."""

    kind: str = "run"
    """`run` or `triage`."""
    pid: int = 0


class PhaseStarted(Event, frozen=True):
    """An agent process for one phase attempt was spawned."""

    item_id: str
    phase: str
    attempt: int
    title: str = ""
    log_path: str = ""
    pid: int = 0
    branch: str | None = None
    """The lane's branch when the item works in its own worktree (`[run] max_parallel`)."""
    agent: str = "default"
    """The agent it runs on (its name in orchestrate.toml; routing.py chose it)."""
    kind: str = "claude"
    """Which CLI that agent is."""
    node: str | None = None
    """Where it runs when not on this machine: a Ray node's address (`10.0.0.7`)."""

    @property
    def agent_label(self) -> str:
        """How a person reads which agent: its name, or its kind for `[agent]`."""
        return self.kind if self.agent == "default" else self.agent


class AgentOutput(Event, frozen=True):
    """A batch of agent lines (batched so a chatty agent cannot flood observers)."""

    item_id: str
    phase: str
    attempt: int
    lines: tuple[AgentLine, ...]


class PhaseFinished(Event, frozen=True):
    """A phase attempt ended; `outcome` is complete|progress|blocked|failed|timeout|
    interrupted."""

    item_id: str
    phase: str
    attempt: int
    outcome: str
    reason: str | None = None
    summary: str | None = None
    duration_s: float = 0.0
    cost_usd: float | None = None
    num_turns: int | None = None
    exit_code: int | None = None
    agent: str = "default"


class ItemChanged(Event, frozen=True):
    """An item's status or phase changed in BACKLOG.yaml."""

    item_id: str
    status: str
    phase: str | None = None
    reason: str | None = None


class Notice(Event, frozen=True):
    """Something a person should read: `info`, `warning` or `error`."""

    level: str
    text: str


class RunPaused(Event, frozen=True):
    """The whole run waits: the account met a usage limit. No attempt starts until
    `resumes_at`; then the same phase of the same item is attempted again."""

    reason: str
    """The agent's words (`You've hit your limit · resets 8:12pm (UTC)`)."""
    resumes_at: float
    """When the next attempt starts (epoch seconds): the reset plus the margin."""
    item_id: str | None = None
    phase: str | None = None
    known_reset: bool = True
    """False when the agent named no reset time: `resumes_at` is a guess to try again."""


class RunResumed(Event, frozen=True):
    """The pause for a usage limit is over; attempts start again."""


class RunFinished(Event, frozen=True):
    """The run ended; `reason` says why (`no more work`, `cap reached`, `stopped`, ...)."""

    reason: str
    exit_code: int = 0
    attempts: int = 0
    """Attempts the run wrote to the worklog, `limited` ones among them."""
    limited: int = 0
    """Attempts that met a usage limit (they repeat after the reset)."""
    cost_usd: float = 0.0


Observer = Callable[[Event], None]


class EventBus:
    """Fans events out to observers; an observer that raises never stops the engine."""

    def __init__(self) -> None:
        self._observers: list[Observer] = []
        self._lock = threading.Lock()

    def subscribe(self, observer: Observer) -> Callable[[], None]:
        """Add an observer; returns a function that removes it."""
        with self._lock:
            self._observers.append(observer)

        def unsubscribe() -> None:
            with self._lock:
                if observer in self._observers:
                    self._observers.remove(observer)

        return unsubscribe

    def emit(self, event: Event) -> None:
        """Deliver `event` to every observer, in the caller's thread."""
        with self._lock:
            observers = list(self._observers)
        for observer in observers:
            try:
                observer(event)
            except Exception:  # an observer's bug must not stop a run
                import logging

                logging.getLogger("orchestrate").exception("observer failed on %r", event)
