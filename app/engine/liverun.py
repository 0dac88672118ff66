"""What a live run is doing, read from another process: `orchestrate status` and a board
watching a run it did not start.

The run lock says whether a run is live and whose it is; `.orchestrator/run.json` says
what it does (its kind, start, width and one entry per live agent), `.orchestrator/
pause.json` whether a usage limit holds it, and the worklog what it spent so far.
run.json is believed only while a live process holds the lock and only when the pid
inside is that process's: a file a dead run left, or the previous run's before the new
one rewrote it, says nothing about the live run (then only its pid is known). Only small
files are read (and the worklog, unless the caller has it or does not want the spend);
never git. With no run (an empty run.lock: a run writes its pid there as it takes the
lock and empties it as it lets go) nothing more is read or imported, so `orchestrate
status` pays only for a stat and a read.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from app.engine import worklog
from app.engine.project import Project
from app.structs import Struct

if TYPE_CHECKING:
    from app.engine.limits import Pause

ISO = "%Y-%m-%dT%H:%M:%SZ"
"""How run.json and the worklog write a time (UTC, to the second)."""


class Lane(Struct, frozen=True):
    """One live agent of the run: an item's phase attempt."""

    item: str
    phase: str
    attempt: int | None
    agent: str | None
    """Which agent (`claude` for `[agent]` of that kind, else its name: `codex-b`)."""
    branch: str | None
    """The lane's branch (`orchestrate/WRK-002`); None in the main checkout."""
    agent_pid: int | None
    started: datetime | None
    """When the attempt began (UTC)."""
    node: str | None = None
    """Where it runs when not here: its Ray node's address (`[executor] kind = "ray"`)."""

    def to_json(self) -> dict[str, Any]:
        """A plain dict (times as ISO UTC)."""
        return {"item": self.item, "phase": self.phase, "attempt": self.attempt,
                "agent": self.agent, "branch": self.branch, "agent_pid": self.agent_pid,
                "started": iso(self.started), "node": self.node}


class LiveRun(Struct, frozen=True):
    """The run (or triage) holding the run lock, as far as its files tell."""

    pid: int
    """The process holding the lock (0 when it wrote no pid)."""
    kind: str | None = None
    """`run` or `triage`; None when run.json is not this run's (yet)."""
    started: datetime | None = None
    """When the run began (UTC)."""
    max_parallel: int | None = None
    """How many lanes the run may have at once."""
    lanes: tuple[Lane, ...] = ()
    """Its live agents, oldest first."""
    pause: Pause | None = None
    """While a usage limit holds it: until when, and why."""
    cost_usd: float | None = None
    """Dollars its attempts spent so far (None: not counted)."""
    attempts: int | None = None
    """Attempts it made so far, finished ones (None: not counted)."""
    working: tuple[str, ...] = ()
    """The items whose lanes are live (an agent at work or not, between attempts too)."""

    def to_json(self) -> dict[str, Any]:
        """A plain dict for `status --json` (times as ISO UTC)."""
        pause = None
        if self.pause is not None:
            pause = {"resumes_at": iso(datetime.fromtimestamp(self.pause.resumes_at, UTC)),
                     "reason": self.pause.reason, "known_reset": self.pause.known_reset}
        return {"pid": self.pid, "kind": self.kind, "started": iso(self.started),
                "max_parallel": self.max_parallel, "lanes": [lane.to_json() for lane in self.lanes],
                "pause": pause,
                "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
                "attempts": self.attempts, "working": list(self.working)}


def live_run(project: Project, *, pid: int | None = None,
             entries: Iterable[dict[str, Any]] | None = None, spend: bool = True,
             now: float | None = None) -> LiveRun | None:
    """The run holding `project`'s run lock, or None when no live process holds it.

    `pid`: the holder, when the caller has just asked (otherwise `holder_pid` is asked).
    `entries`: the worklog's entries, when the caller has read them already; `spend=False`
    leaves the worklog unread (cost and attempts None). A pause whose time has passed is
    not shown: the run is about to go on.
    """
    if pid is None and not _lock_names_a_pid(project):
        return None  # nobody holds the lock (or a run is taking it this very instant)
    # Imported only when a run may be live: runlock brings the agent-process code along.
    from app.engine.limits import load_pause
    from app.engine.runlock import holder_pid, read_run_state

    if pid is None:
        pid = holder_pid(project)
        if pid is None:
            return None
    when = time.time() if now is None else now
    pause = load_pause(project.pause_path)
    if pause is not None and pause.resumes_at <= when:
        pause = None
    state = read_run_state(project)
    if not pid or state.get("pid") != pid:
        return LiveRun(pid, pause=pause)
    started = parse_iso(state.get("started"))
    cost = attempts = None
    if spend and started is not None:
        if entries is None:
            entries = worklog.read(project.worklog_path)
        text = iso(started) or ""
        mine = [e for e in entries if _at_or_after(e.get("start"), started, text)]
        total = worklog.totals(mine)
        cost, attempts = total.cost_usd, total.attempts
    kind = state.get("kind")
    width = state.get("max_parallel")
    agents = state.get("agents")
    lanes = tuple(_lane(a) for a in agents if isinstance(a, dict) and a.get("item")) \
        if isinstance(agents, list) else ()
    working = state.get("working")
    items = {str(i) for i in working} if isinstance(working, list) else set()
    return LiveRun(pid, kind if isinstance(kind, str) else None, started,
                   width if isinstance(width, int) else None, lanes, pause, cost, attempts,
                   tuple(sorted(items | {lane.item for lane in lanes})))


def _lock_names_a_pid(project: Project) -> bool:
    """Whether run.lock holds a pid: a live holder's, or a run's killed with -9."""
    try:
        return bool(project.run_lock_path.read_bytes().strip())
    except OSError:
        return False


def _lane(agent: dict[str, Any]) -> Lane:
    def text(key: str) -> str | None:
        value = agent.get(key)
        return value if isinstance(value, str) and value else None

    def number(key: str) -> int | None:
        value = agent.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return Lane(str(agent.get("item")), text("phase") or "?", number("attempt"), text("agent"),
                text("branch"), number("agent_pid"), parse_iso(agent.get("started")),
                text("node"))


def parse_iso(value: object) -> datetime | None:
    """`2025-01-31T21:04:00Z` as an aware datetime (UTC assumed), or None."""
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def iso(at: datetime | None) -> str | None:
    """An aware datetime as run.json writes one (UTC, to the second)."""
    return None if at is None else at.astimezone(UTC).strftime(ISO)


def _at_or_after(start: object, since: datetime, since_text: str) -> bool:
    """Whether a worklog entry's start is at or after `since` (the run's start, written
    as `since_text`)."""
    if isinstance(start, str) and len(start) == 20 and start.endswith("Z"):
        return start >= since_text  # both written as ISO: compared as text
    at = parse_iso(start)
    return at is not None and at >= since


def since(at: float, now: float) -> str:
    """`21:04 (2h13m ago)` in the machine's own time zone; a day name when not today
    (limits.clock_time's counterpart for a time past)."""
    when = datetime.fromtimestamp(at).astimezone()
    today = datetime.fromtimestamp(now).astimezone().date()
    shown = when.strftime("%H:%M") if when.date() == today else when.strftime("%a %H:%M")
    return f"{shown} ({ago(now - at)} ago)"


def ago(seconds: float) -> str:
    """How long, coarsely: `2h13m`, `12m`, `45s`."""
    whole = max(0, int(seconds))
    if whole >= 3600:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    if whole >= 60:
        return f"{whole // 60}m"
    return f"{whole}s"
