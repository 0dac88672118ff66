"""`orchestrate report`: the figures of past runs, from the files as they are.

Read from `.orchestrator/worklog.jsonl` (attempts), `history.jsonl` (a person's changes),
`pauses.jsonl` (usage-limit waits) and BACKLOG.yaml (where items stand now; the report
goes on without it when it cannot be read). Plain records, no printing: the CLI
(app/cli/report.py) and the board's report screen render them, and `to_json` is
`report --json`. docs/engine.md ("The report") says what each figure means.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from app.backlog.model import PHASES, Item
from app.engine import blocks as blocking
from app.engine import calibration as calibrating
from app.engine.project import Project
from app.engine.reasons import MALFORMED_KINDS, cause, malformed_kind
from app.engine.records import Attempt, Records, Wait, read_records
from app.engine.reportjson import report_json
from app.errors import OrchestrateError, UnknownItemError
from app.structs import Struct, field

PHASE_ORDER = ("triage", "investigate", *PHASES)
"""Phases in the order the report lists them (others after, alphabetically)."""
HOURS_SHOWN = 48
"""Cost is shown per hour up to this many hours, per day beyond."""


class Figures(Struct, frozen=True):
    """The attempts of one phase or one agent."""

    name: str
    attempts: int
    """Every attempt, usage limits and stops too."""
    counted: int
    """The attempts that answered for the item: not a usage limit, not a stop."""
    succeeded: int
    """complete or progress."""
    median_s: float | None
    """Of the counted attempts' durations."""
    p90_s: float | None
    input_tokens: int | None
    """Summed over the attempts that recorded them; None when none did."""
    output_tokens: int | None
    cost_usd: float
    outcomes: tuple[tuple[str, int], ...] = ()

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.counted if self.counted else None


class FailureCause(Struct, frozen=True):
    """Failed and timed-out attempts of one cause (reasons.cause)."""

    cause: str
    count: int
    phases: tuple[str, ...]
    example: str
    """The latest reason of this cause, as written."""


class Malformed(Struct, frozen=True):
    """Malformed answers of one phase: how many of its counted attempts, of each kind."""

    phase: str
    attempts: int
    kinds: tuple[tuple[str, int], ...]
    """(kind, count) for every kind of reasons.MALFORMED_KINDS."""

    @property
    def total(self) -> int:
        return sum(n for _, n in self.kinds)


class Limits(Struct, frozen=True):
    """Usage limits met, and the runs' waits for them."""

    met: int
    by_agent: tuple[tuple[str, int], ...]
    waits: tuple[Wait, ...]

    @property
    def waited_s(self) -> float:
        return sum(w.waited_s for w in self.waits)


class Bar(Struct, frozen=True):
    """One attempt on the timeline."""

    lane: int
    """0-based row: attempts at the same time stand on different rows."""
    item: str
    phase: str
    start: float
    end: float
    outcome: str


class Bucket(Struct, frozen=True):
    """Cost of the attempts that ended in one hour (or day)."""

    start: float
    cost_usd: float
    attempts: int


class Report(Struct, frozen=True):
    """Every figure of `orchestrate report`."""

    since: float | None
    item: str | None
    first: float | None
    """The first attempt's start and the last one's end, of those reported."""
    last: float | None
    overall: Figures
    by_phase: tuple[Figures, ...]
    by_agent: tuple[Figures, ...]
    failures: tuple[FailureCause, ...]
    malformed: tuple[Malformed, ...]
    blocks: tuple[blocking.Block, ...]
    calibration: calibrating.Calibration
    limits: Limits
    timeline: tuple[Bar, ...]
    buckets: tuple[Bucket, ...]
    bucket_s: int
    """3600 (cost per hour) or 86400 (per day: more than HOURS_SHOWN hours)."""
    problems: tuple[str, ...] = field(default=())

    @property
    def lanes(self) -> int:
        return max((b.lane for b in self.timeline), default=-1) + 1

    def blocked_by(self, key: str) -> tuple[blocking.Accuracy, ...]:
        """Blocked accuracy by `agent`, `phase` or `cause`."""
        return blocking.accuracy(self.blocks, key)

    def to_json(self) -> dict[str, Any]:
        """`report --json` (its shape: reportjson.py)."""
        return report_json(self)


# --- figures -----------------------------------------------------------------------------------
def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least p% of them at or
    below it (p90 of ten values is the 9th smallest); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _tokens(values: Iterable[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def figures(name: str, attempts: Sequence[Attempt]) -> Figures:
    """The figures of a group of attempts (see Figures)."""
    counted = [a for a in attempts if a.counted]
    durations = [a.duration_s for a in counted]
    outcomes: dict[str, int] = {}
    for a in attempts:
        outcomes[a.outcome] = outcomes.get(a.outcome, 0) + 1
    return Figures(
        name=name, attempts=len(attempts), counted=len(counted),
        succeeded=sum(1 for a in counted if a.succeeded),
        median_s=median(durations), p90_s=percentile(durations, 90),
        input_tokens=_tokens(a.input_tokens for a in attempts),
        output_tokens=_tokens(a.output_tokens for a in attempts),
        cost_usd=sum(a.cost_usd or 0.0 for a in attempts),
        outcomes=tuple(sorted(outcomes.items())))


def phase_key(phase: str) -> tuple[int, str]:
    return (PHASE_ORDER.index(phase) if phase in PHASE_ORDER else len(PHASE_ORDER), phase)


def grouped(attempts: Sequence[Attempt], key: Callable[[Attempt], str],
            order: Callable[[str], Any] = lambda name: name) -> tuple[Figures, ...]:
    groups: dict[str, list[Attempt]] = {}
    for a in attempts:
        groups.setdefault(key(a), []).append(a)
    return tuple(figures(name, groups[name]) for name in sorted(groups, key=order))


def failure_causes(attempts: Sequence[Attempt]) -> tuple[FailureCause, ...]:
    """Failed and timed-out attempts by cause, the most frequent first."""
    groups: dict[str, list[Attempt]] = {}
    for a in attempts:
        if a.outcome in ("failed", "timeout"):
            groups.setdefault(cause(a.reason), []).append(a)
    causes = [FailureCause(name, len(group),
                           tuple(sorted({a.phase for a in group}, key=phase_key)),
                           group[-1].reason or "")
              for name, group in groups.items()]
    return tuple(sorted(causes, key=lambda c: (-c.count, c.cause)))


def malformed(attempts: Sequence[Attempt]) -> tuple[Malformed, ...]:
    """Per phase with any malformed answer: its counted attempts and each kind's count."""
    rows = []
    for phase in grouped(attempts, lambda a: a.phase, phase_key):
        mine = [a for a in attempts if a.phase == phase.name and a.counted]
        kinds = [malformed_kind(a.reason) for a in mine if a.outcome == "failed"]
        if any(kinds):
            rows.append(Malformed(phase.name, len(mine),
                                  tuple((k, kinds.count(k)) for k in MALFORMED_KINDS)))
    return tuple(rows)


def lanes(attempts: Sequence[Attempt]) -> tuple[Bar, ...]:
    """The timeline's rows: each attempt on its item's last row when that row is free,
    else the first free row, else a new one (so the rows are the lanes that ran). Of the
    attempts starting at once, those whose item's row is free take it first."""
    free_at: list[float] = []
    row_of: dict[str, int] = {}
    bars = []
    timed = sorted((a for a in attempts if a.start is not None and a.end is not None),
                   key=lambda a: (a.start or 0.0, a.end or 0.0))
    while timed:
        start = timed[0].start or 0.0
        now = [a for a in timed if a.start == start]
        timed = timed[len(now):]
        now.sort(key=lambda a: 0 if a.item in row_of and free_at[row_of[a.item]] <= start
                 else 1)
        for a in now:
            end = max(a.end or 0.0, start)
            row = row_of.get(a.item)
            if row is None or free_at[row] > start:
                row = next((i for i, t in enumerate(free_at) if t <= start), len(free_at))
            if row == len(free_at):
                free_at.append(end)
            free_at[row] = end
            row_of[a.item] = row
            bars.append(Bar(row, a.item, a.phase, start, end, a.outcome))
    return tuple(bars)


def _day_start(t: float) -> float:
    """Local midnight of the day `t` falls in."""
    return datetime.fromtimestamp(t).replace(hour=0, minute=0, second=0,
                                             microsecond=0).timestamp()


def buckets(attempts: Sequence[Attempt]) -> tuple[tuple[Bucket, ...], int]:
    """Cost by the hour its attempts ended in, every hour from the first to the last (by
    the local day beyond HOURS_SHOWN hours), and the bucket's length."""
    ended = [a for a in attempts if a.end is not None]
    if not ended:
        return (), 3600
    first = min(a.end or 0.0 for a in ended)
    last = max(a.end or 0.0 for a in ended)
    hourly = (last // 3600 - first // 3600) < HOURS_SHOWN
    step = 3600 if hourly else 86400

    def start_of(t: float) -> float:
        return t // 3600 * 3600 if hourly else _day_start(t)

    sums: dict[float, list[float]] = {}
    for a in ended:
        sums.setdefault(start_of(a.end or 0.0), []).append(a.cost_usd or 0.0)
    found, at = [], start_of(first)
    while at <= start_of(last):
        costs = sums.get(at, [])
        found.append(Bucket(at, sum(costs), len(costs)))
        # a day is not always 86400 s (a clock change): the next local midnight
        at = at + step if hourly else _day_start(at + step + 7200)
    return tuple(found), step


def limits(attempts: Sequence[Attempt], waits: Sequence[Wait]) -> Limits:
    met: dict[str, int] = {}
    for a in attempts:
        if a.outcome == "limited":
            met[a.agent] = met.get(a.agent, 0) + 1
    return Limits(sum(met.values()), tuple(sorted(met.items())), tuple(waits))


# --- reading and filtering ---------------------------------------------------------------------
def _backlog_items(project: Project) -> tuple[tuple[Item, ...], str | None]:
    try:
        return project.store().load().items, None
    except OrchestrateError as exc:
        return (), f"{exc}: the report goes on without where items stand now"


def _by_item(values: Iterable[Any]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for v in values:
        found.setdefault(v.item, []).append(v)
    return found


def _kept(item: str | None, since: float | None, name: str, when: float | None) -> bool:
    """Whether a record of `name` at `when` is in the window: of the item, from `since`."""
    return (item is None or name == item) and (since is None or
                                              (when is not None and when >= since))


def select(records: Records, since: float | None, item: str | None) -> Records:
    """The records from `since` on (an attempt by its start, a change by its time, a wait
    by its end) and of `item` (a wait while its attempts ran)."""
    attempts = [a for a in records.attempts if _kept(item, since, a.item, a.when)]
    changes = [c for c in records.changes if _kept(item, since, c.item, c.at)]
    waits = [w for w in records.waits if _kept(None, since, "", w.end)]
    if item is not None:
        starts = [a.start for a in attempts if a.start is not None]
        ends = [a.end for a in attempts if a.end is not None]
        first, last = min(starts, default=math.inf), max(ends, default=-math.inf)
        waits = [w for w in waits if w.end >= first and w.start <= last]
    return Records(tuple(attempts), tuple(changes), tuple(waits), records.problems)


def build_report(project: Project, *, since: float | None = None,
                 item: str | None = None) -> Report:
    """The report of `project`'s records (from `since` on, of `item` only when given).
    UnknownItemError when `item` is neither in the backlog nor in any record."""
    everything = read_records(project.worklog_path, project.history_path,
                              project.pauses_path)
    items, problem = _backlog_items(project)
    if item is not None:
        item = _known(item, items, everything)
    chosen = select(everything, since, item)
    attempts = chosen.attempts
    all_attempts = _by_item(everything.attempts)
    all_changes = _by_item(everything.changes)
    now = {i.id: i for i in items}
    found_blocks: list[blocking.Block] = []
    for name in sorted({*_by_item(attempts), *_by_item(chosen.changes),
                        *(i.id for i in items if i.status == "blocked")}):
        if item is not None and name != item:
            continue
        found_blocks += [b for b in blocking.blocks_of_item(
            name, all_attempts.get(name, ()), all_changes.get(name, ()), now.get(name))
            if since is None or b.at is None or b.at >= since]
    done = [i for i in items if i.id in _by_item(attempts)]
    timeline_buckets, step = buckets(attempts)
    timed = [a for a in attempts if a.start is not None]
    return Report(
        since=since, item=item,
        first=min((a.start or 0.0 for a in timed), default=None),
        last=max((a.end or 0.0 for a in timed), default=None),
        overall=figures("all", attempts),
        by_phase=grouped(attempts, lambda a: a.phase, phase_key),
        by_agent=grouped(attempts, lambda a: a.agent, lambda name: (name != "default", name)),
        failures=failure_causes(attempts), malformed=malformed(attempts),
        blocks=tuple(found_blocks),
        calibration=calibrating.calibrate(done, all_attempts, all_changes),
        limits=limits(attempts, chosen.waits), timeline=lanes(attempts),
        buckets=timeline_buckets, bucket_s=step,
        problems=(*everything.problems, *([problem] if problem else [])))


def _known(item: str, items: Sequence[Item], records: Records) -> str:
    """The id as the records spell it (`wrk-1` is not guessed: ids are exact, but their
    case is not); UnknownItemError naming what to do otherwise."""
    named = {i.id for i in items} | {a.item for a in records.attempts} | \
        {c.item for c in records.changes}
    for name in named:
        if name.upper() == item.strip().upper():
            return name
    raise UnknownItemError(f"no item {item} in BACKLOG.yaml or in the worklog and history "
                           "(`orchestrate status` lists the items)")

