"""The run-state header line and the error banner.

The App decides what they say; these widgets only show it, with a `-state`
class the stylesheet colours (`-idle`, `-running`, `-watching`, `-paused`), and with
control characters escaped (the banner quotes a file; nothing here drives the terminal).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.widgets import Static

from app.backlog.model import visible

RUN_STATES: tuple[str, ...] = ("idle", "running", "pausing", "stopping", "watching", "triage",
                               "paused")
"""The states the header knows (one CSS class each: `-running`, ...); `paused` is shown
while a run (ours or watched) waits for a usage limit to reset, whatever its state."""


@dataclass(frozen=True)
class LaneView:
    """One lane of a watched run: its item's live attempt."""

    item_id: str
    phase: str
    attempt: int | None = None

    @property
    def label(self) -> str:
        """`WRK-002 build #3`."""
        return f"{self.item_id} {self.phase}" + (f" #{self.attempt}" if self.attempt else "")


@dataclass(frozen=True)
class RunView:
    """What the header shows about the current run."""

    state: str = "idle"
    """One of RUN_STATES."""
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

    @property
    def shown_state(self) -> str:
        """The state the header is coloured by (`paused` while a limit holds the run)."""
        return "paused" if self.resumes is not None and self.state != "idle" else self.state


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
        text = f"paused: usage limit, resumes at {view.resumes}"
        if view.state == "watching":
            text += f" · pid {view.pid}"
        if view.state == "watching" and len(view.lane_views) > 1:
            text += watched_lanes(view.lane_views)
        else:
            for part in (view.item_id, view.phase):
                if part:
                    text += f" · {part}"
        if view.state in ("pausing", "stopping"):
            text += f" · {view.state}"
    elif view.state == "watching":
        text = f"watching a run of pid {view.pid}"
        if len(view.lane_views) > 1:
            text += watched_lanes(view.lane_views)
        elif view.lane_views and not view.item_id:
            text += f" · {view.lane_views[0].label}"
        elif view.item_id:
            text += f" · {view.item_id}"
            if view.phase:
                text += f" · {view.phase}"
            if view.attempt:
                text += f" · attempt {view.attempt}"
    else:
        text = view.state
        if view.lanes > 1:
            text += f" · {view.lanes} lanes ·"
        if view.item_id:
            text += f" {view.item_id}"
        if view.phase:
            text += f" · {view.phase}"
        if view.attempt:
            text += f" · attempt {view.attempt}"
        if view.elapsed_s is not None:
            text += f" · {format_clock(view.elapsed_s)}"
        if view.state != "triage" or view.cost_usd:
            text += f" · ${view.cost_usd:.2f} so far"
    return f"{text}   {view.counts}" if view.counts else text


def watched_lanes(lanes: tuple[LaneView, ...]) -> str:
    """` · 3 lanes · WRK-002 build #3 · WRK-005 prd #1 · WRK-007 spec #1`."""
    return f" · {len(lanes)} lanes" + "".join(f" · {lane.label}" for lane in lanes)


class RunHeader(Static):
    """One line: the run state, coloured by state."""

    DEFAULT_CSS = """
    RunHeader { height: 1; width: 1fr; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None, label: str = "") -> None:
        super().__init__(f"{label} · idle" if label else "idle", id=id, markup=False)
        self.view = RunView()
        """What is shown."""
        self.label = label
        """Shown before the run state on every update (`DEMO · scripted agent`)."""
        self.add_class("-idle")

    def show(self, view: RunView) -> None:
        """Show `view` (text and state class)."""
        shown = view.shown_state
        if view == self.view and self.has_class(f"-{shown}"):
            return
        for state in RUN_STATES:
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
