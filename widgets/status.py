"""The board's run state, the run-state header line and the error banner.

`RunState` is what the board knows of the current run, ours or another process's: one
frozen record the main screen holds (`BoardView.run`) and replaces whole; every job reads
it there and changes it through `set_run`. The header is bound to it (`data_bind`) and
only shows it, with a `-state` class the stylesheet colours (`-idle`, `-running`,
`-watching`, `-paused`), and with control characters escaped (the banner quotes a file;
nothing here drives the terminal).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal, get_args

from textual.reactive import var
from textual.widgets import Static

from app.backlog.model import Backlog, visible
from app.structs import Struct

RunStateName = Literal["idle", "running", "pausing", "stopping", "triage", "watching"]
"""What the board's run is doing: nothing; our pipeline, pausing after its phase,
stopping; our triage; or another process's run, watched through the run lock. The one
definition of the state names."""
RUN_STATES: tuple[RunStateName, ...] = get_args(RunStateName)
"""Every run state, in the order above."""
LIVE: tuple[RunStateName, ...] = ("running", "pausing", "stopping", "triage")
"""The states in which our own engine is live."""
HeaderState = RunStateName | Literal["paused"]
"""What the header is coloured by: a run state, or `paused` while a usage limit holds
the run (ours or the watched one), whatever its state."""
HEADER_STATES: tuple[HeaderState, ...] = (*RUN_STATES, "paused")
"""The header's state classes (`-running`, ..., `-paused`)."""


class LaneView(Struct, frozen=True):
    """One lane of a run: its item's live attempt."""

    item_id: str
    phase: str
    attempt: int | None = None
    agent: str | None = None
    """Which agent runs it (`claude`, `codex-b`)."""
    node: str | None = None
    """The cluster node its attempt runs on (`[executor] kind = "ray"`); None: here."""

    @property
    def label(self) -> str:
        """`WRK-002 build #3` (`WRK-002 build #3 on 10.0.0.7` on a cluster)."""
        return f"{self.item_id} {self.phase}" + (f" #{self.attempt}" if self.attempt else "") \
            + (f" on {self.node}" if self.node else "")


class RunState(Struct, frozen=True):
    """The board's run, ours or the watched one: held once, on the main screen, and
    replaced whole (`screen.set_run(replace(screen.run, ...))`)."""

    state: RunStateName = "idle"
    item_id: str | None = None
    """The item of the attempt that started last."""
    phase: str | None = None
    attempt: int | None = None
    started: float | None = None
    """When our live attempt started (the engine's wall time), for the header's clock."""
    cost_usd: float = 0.0
    """Dollars our run has spent so far (the sum of its finished attempts)."""
    pid: int | None = None
    """The other process whose run the board watches (only while `watching`)."""
    log: Path | None = None
    """The watched run's log file the log pane tails (only while `watching`)."""
    resumes_at: float | None = None
    """While a usage limit holds the run (ours or the watched one): when it resumes."""
    lanes: tuple[LaneView, ...] = ()
    """The lanes with a live attempt: ours (`[run] max_parallel`), or the watched run's
    (its run.json)."""
    node: str | None = None
    """The cluster node our latest attempt runs on; None: this machine."""

    @property
    def live(self) -> bool:
        """Whether our own engine is live."""
        return self.state in LIVE

    @property
    def ticking(self) -> bool:
        """Whether the header's line changes by itself: the live attempt's clock, or the
        countdown to the resume of a usage limit."""
        return (self.resumes_at is not None and self.state != "idle") or (
            self.started is not None and self.live)


class RunView(Struct, frozen=True):
    """What the header shows about the current run (a RunState at one moment)."""

    state: RunStateName = "idle"
    item_id: str | None = None
    phase: str | None = None
    attempt: int | None = None
    elapsed_s: float | None = None
    """Seconds since the current attempt started."""
    cost_usd: float = 0.0
    """Cost of the run so far."""
    pid: int | None = None
    """The other process, when watching."""
    counts: str = ""
    """A short summary of the board (`12 items · 3 ready`)."""
    resumes: str | None = None
    """While the run waits for a usage limit: when it resumes (`22:15 (in 1h02m)`)."""
    lanes: int = 0
    """How many items have a live attempt (`[run] max_parallel`); shown from 2 on."""
    lane_views: tuple[LaneView, ...] = ()
    """A watched run's lanes (from its run.json), each named from 2 on."""
    node: str | None = None
    """The cluster node the current attempt runs on."""

    @property
    def shown_state(self) -> HeaderState:
        """The state the header is coloured by (`paused` while a limit holds the run)."""
        return "paused" if self.resumes is not None and self.state != "idle" else self.state


def run_view(run: RunState, now: float, counts: str,
             resume_time: Callable[[float, float], str]) -> RunView:
    """What the header shows of `run` at `now`; `resume_time(at, now)` says when a usage
    limit lets it go on (`22:15 (in 1h02m)`)."""
    elapsed = None
    if run.started is not None and run.item_id and run.state != "watching":
        elapsed = now - run.started
    resumes = None
    if run.resumes_at is not None and run.state != "idle":
        resumes = resume_time(run.resumes_at, now)
    return RunView(run.state, run.item_id, run.phase, run.attempt, elapsed, run.cost_usd,
                   run.pid, counts, resumes, len(run.lanes), run.lanes, run.node)


def backlog_counts(backlog: Backlog | None) -> str:
    """`12 items · 3 ready · 1 blocked` (nothing before the first read)."""
    if backlog is None:
        return ""
    return (f"{len(backlog.items)} items · {len(backlog.with_status('ready'))} ready · "
            f"{len(backlog.with_status('blocked'))} blocked")


def format_clock(seconds: float) -> str:
    """`03:12`, or `1:02:03` past an hour."""
    s = max(0, int(seconds))
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{s // 60:02d}:{s % 60:02d}"


def describe_run(view: RunView) -> str:
    """The header text: `running WRK-004 · build · attempt 2 · 03:12 · $0.84 so far`,
    `paused: usage limit, resumes at 22:15 (in 1h02m) · WRK-004 · build`, or, watching
    another process's lanes, `watching a run of pid 4242 · 3 lanes · WRK-002 build #3 ·
    WRK-005 prd #1 · WRK-007 spec #1`."""
    if view.state == "idle":
        text = "idle"
    elif view.resumes is not None:
        text = _paused(view, view.resumes)
    elif view.state == "watching":
        text = _watching(view)
    else:
        text = _ours(view)
    return f"{text}   {view.counts}" if view.counts else text


def _paused(view: RunView, resumes: str) -> str:
    """`paused: usage limit, resumes at 22:15 (in 1h02m) · WRK-004 · build`."""
    text = f"paused: usage limit, resumes at {resumes}"
    if view.state == "watching":
        text += f" · pid {view.pid}"
    if view.state == "watching" and len(view.lane_views) > 1:
        text += watched_lanes(view.lane_views)
    else:
        text += "".join(f" · {part}" for part in (view.item_id, view.phase) if part)
    if view.state in ("pausing", "stopping"):
        text += f" · {view.state}"
    return text


def _watching(view: RunView) -> str:
    """`watching a run of pid 4242 · WRK-004 · build · attempt 2` (or its lanes)."""
    text = f"watching a run of pid {view.pid}"
    if len(view.lane_views) > 1:
        return text + watched_lanes(view.lane_views)
    if view.lane_views and not view.item_id:
        return text + f" · {view.lane_views[0].label}"
    if view.item_id:
        text += f" · {view.item_id}"
        if view.phase:
            text += f" · {view.phase}"
        if view.attempt:
            text += f" · attempt {view.attempt}"
    return text


def _ours(view: RunView) -> str:
    """`running · 2 lanes · WRK-004 · build · attempt 2 · 03:12 · $0.84 so far`."""
    text: str = view.state
    if view.lanes > 1:
        text += f" · {view.lanes} lanes ·"
    if view.item_id:
        text += f" {view.item_id}"
    if view.phase:
        text += f" · {view.phase}"
    if view.attempt:
        text += f" · attempt {view.attempt}"
    if view.node:
        text += f" · on {view.node}"
    if view.elapsed_s is not None:
        text += f" · {format_clock(view.elapsed_s)}"
    if view.state != "triage" or view.cost_usd:
        text += f" · ${view.cost_usd:.2f} so far"
    return text


def watched_lanes(lanes: tuple[LaneView, ...]) -> str:
    """` · 3 lanes · WRK-002 build #3 · WRK-005 prd #1 · WRK-007 spec #1`."""
    return f" · {len(lanes)} lanes" + "".join(f" · {lane.label}" for lane in lanes)


class RunHeader(Static):
    """One line: the run state, coloured by state, and the board's counts.

    Bound to the main screen's `run` and `backlog` (`data_bind`); once a second it shows
    the live attempt's clock or the countdown to a usage limit's reset again.
    """

    DEFAULT_CSS = """
    RunHeader { height: 1; width: 1fr; padding: 0 1; }
    """

    run: var[RunState] = var(RunState())
    """The run shown (bound to the main screen's)."""
    backlog: var[Backlog | None] = var(None)
    """The backlog whose counts are shown (bound to the main screen's)."""

    def __init__(self, *, clock: Callable[[], float],
                 resume_time: Callable[[float, float], str], id: str | None = None,
                 label: str = "") -> None:
        super().__init__(f"{label} · idle" if label else "idle", id=id, markup=False)
        self.clock = clock
        """Wall time; fixed in snapshot tests so no clock shows in the picture."""
        self.resume_time = resume_time
        """`(at, now) -> "22:15 (in 1h02m)"`."""
        self.view = RunView()
        """What is shown."""
        self.label = label
        """Shown before the run state on every update (`DEMO · scripted agent`)."""
        self.add_class("-idle")

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)

    def watch_run(self) -> None:
        self._refresh_line()

    def watch_backlog(self) -> None:
        self._refresh_line()

    def _tick(self) -> None:
        if self.run.ticking:
            self._refresh_line()

    def _refresh_line(self) -> None:
        self.show(run_view(self.run, self.clock(), backlog_counts(self.backlog),
                           self.resume_time))

    def show(self, view: RunView) -> None:
        """Show `view` (text and state class)."""
        shown = view.shown_state
        if view == self.view and self.has_class(f"-{shown}"):
            return
        for state in HEADER_STATES:
            self.set_class(state == shown, f"-{state}")
        self.view = view
        text = describe_run(view)
        self.update(visible(f"{self.label} · {text}" if self.label else text, one_line=True))


class ErrorBanner(Static):
    """A banner for a broken BACKLOG.yaml (hidden while the file is fine)."""

    DEFAULT_CSS = """
    ErrorBanner { height: auto; width: 1fr; padding: 0 1; display: none; }
    ErrorBanner.-shown { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.message = ""
        """The error shown, or empty."""

    def show_error(self, message: str | None) -> None:
        """Show `message` (the last good board stays below); None hides the banner."""
        self.message = message or ""
        self.set_class(bool(message), "-shown")
        if message:
            self.update(visible(f"⚠ {message}  (showing the last good board until it is "
                                "fixed)"))
