"""`orchestrate run` and `orchestrate triage`: the engine on a terminal.

Progress is rendered with rich: a live status line (item, phase, attempt,
elapsed, the agent's latest line) above which events scroll when stdout is a
terminal, plain lines otherwise; `--quiet` prints only the final summary and
`--json-events` one JSON object per event (with a "type" field). Those two never
draw, so they never import rich (~20 ms at start). Signal
handlers only ask the engine to stop; the engine stops the agent's group,
records the attempt as interrupted and releases the lock. A second Ctrl-C
skips the grace period. Exit codes: app/exitcodes.py.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from app import exitcodes
from app.backlog.model import visible
from app.engine import actions
from app.engine.events import (
    AgentOutput,
    Event,
    EventBus,
    ItemChanged,
    Notice,
    PhaseFinished,
    PhaseStarted,
    RunFinished,
    RunPaused,
    RunResumed,
    RunStarted,
)
from app.engine.limits import clock_time
from app.engine.pipeline import Pipeline
from app.engine.project import Project
from app.engine.runlock import holder_pid
from app.errors import LockHeldError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    from app.engine.triage import Triage

SHOWN_KINDS = ("text", "tool", "error", "result", "stderr", "retry")
"""Agent lines printed in plain mode (tool results and raw noise stay in the log)."""
STOPPED = (exitcodes.ERROR, exitcodes.EVERY_ITEM, exitcodes.BUDGET)
"""Codes of a run that stopped on an error: its reason goes to stderr in every mode."""
EXIT_SIGNAL = {signal.SIGINT: exitcodes.SIGINT, signal.SIGTERM: exitcodes.SIGTERM,
               signal.SIGHUP: exitcodes.SIGHUP}
"""Signals that stop a run (a hang-up too: the terminal is gone, the agent must not run
on unsupervised), and the exit code each gives."""


def event_to_json(event: Event) -> dict[str, Any]:
    """An event as plain JSON data with its class name under "type"."""
    data: dict[str, Any] = {"type": type(event).__name__, "at": event.at}
    for name in event.__struct_fields__:
        value = getattr(event, name)
        if name == "lines":
            value = [{"kind": line.kind, "text": line.text} for line in value]
        data[name] = value
    return data


class _Status:
    """The live status line: what runs now, for how long, and its latest line."""

    def __init__(self) -> None:
        self.label = "starting…"
        self.started = time.monotonic()
        self.latest = ""
        self.running = False
        self.resumes_at: float | None = None
        """While paused for a usage limit: when the run resumes (a live countdown)."""

    def __rich__(self) -> Text:
        from rich.text import Text

        if self.resumes_at is not None:
            return Text("paused: usage limit, resumes at "
                        f"{clock_time(self.resumes_at, time.time())}", style="bold magenta")
        if not self.running:
            return Text(self.label, style="dim")
        elapsed = time.monotonic() - self.started
        text = Text()
        text.append(f"⏵ {self.label} ", style="bold yellow")
        text.append(f"{elapsed:5.0f}s ", style="cyan")
        text.append(self.latest[:160], style="dim")
        return text


class Renderer:
    """Turns engine events into terminal output (thread-safe: events come from threads)."""

    def __init__(self, mode: str, out: IO[str] | None = None) -> None:
        self.mode = mode
        """`json`, `quiet`, `live` or `plain`."""
        self.out = out or sys.stdout
        self.console: Console | None = None
        """Drawing modes' (`live`, `plain`) only: `json` and `quiet` never import rich."""
        if mode in ("live", "plain"):
            from rich.console import Console

            self.console = Console(file=self.out, highlight=False, soft_wrap=True)
        self._lock = threading.Lock()
        self.status = _Status()
        self.live: Live | None = None
        self._running: dict[tuple[str, str], str] = {}

    def __enter__(self) -> Renderer:
        if self.mode == "live":
            from rich.live import Live

            self.live = Live(self.status, console=self.console, refresh_per_second=4,
                             transient=True)
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def __call__(self, event: Event) -> None:
        with self._lock:
            try:
                if self.mode == "json":
                    self.out.write(json.dumps(event_to_json(event), ensure_ascii=False) + "\n")
                    self.out.flush()
                elif self.mode != "quiet":
                    self._human(event)
            except (OSError, ValueError):
                # The reader went away (`orchestrate run | head`, or the terminal hung up:
                # EIO): the run goes on, silently, until it has stopped its agent.
                self.mode = "quiet"

    def _relabel(self) -> None:
        """One agent: its label; a triage batch: how many run, and which."""
        labels = list(self._running.values())
        if len(labels) > 1:
            self.status.label = f"{len(labels)} agents: " + ", ".join(labels)
        elif labels:
            self.status.label = labels[0]

    def _print(self, text: str, style: str = "") -> None:
        # Titles, reasons and summaries are an agent's or a person's words: never markup,
        # and never a control character that the terminal would obey (escaped before
        # rich sees them: rich's Text would drop some, such as BEL, and keep ESC).
        from rich.text import Text

        if self.console is not None:
            self.console.print(Text(visible(text), style=style))

    def _started(self, e: PhaseStarted) -> None:
        """`▶ WRK-001 build #2 Title  (claude, pid 4242 on 10.0.0.7, log ...)`."""
        label = f"{e.item_id} {e.phase} #{e.attempt}"
        self._running[(e.item_id, e.phase)] = label
        self.status.started = time.monotonic()
        self.status.latest, self.status.running = "", True
        self._relabel()
        where = f"pid {e.pid} on {e.node}" if e.node else f"pid {e.pid}"
        self._print(f"▶ {label} {e.title}  ({e.agent_label}, {where}, log {e.log_path})",
                    "yellow")

    def _human(self, e: Event) -> None:
        if isinstance(e, RunStarted):
            self._print(f"{e.kind} started (pid {e.pid})", "bold")
        elif isinstance(e, PhaseStarted):
            self._started(e)
        elif isinstance(e, AgentOutput):
            shown = [line for line in e.lines if line.kind in SHOWN_KINDS]
            if shown:
                self.status.latest = shown[-1].text
            if self.mode == "plain":
                for line in shown:
                    style = "red" if line.kind in ("error", "stderr") else "dim"
                    self._print(f"    {e.item_id} {e.phase}│ {line.text[:200]}", style)
        elif isinstance(e, PhaseFinished):
            self._running.pop((e.item_id, e.phase), None)
            self.status.running = bool(self._running)
            self._relabel()
            good = e.outcome in ("complete", "progress")
            bits = [f"{e.duration_s:.1f}s"]
            if e.cost_usd is not None:
                bits.append(f"${e.cost_usd:.4f}")
            if e.num_turns is not None:
                bits.append(f"{e.num_turns} turns")
            words = e.summary if good else e.reason
            tail = f" — {words}" if words else ""
            self._print(f"{'✓' if good else '✗'} {e.item_id} {e.phase} #{e.attempt}: "
                        f"{e.outcome} ({', '.join(bits)}){tail}", "green" if good else "red")
        elif isinstance(e, ItemChanged):
            where = f"{e.status} ({e.phase})" if e.status == "in_progress" else e.status
            why = f": {e.reason}" if e.reason and e.status == "blocked" else ""
            self._print(f"  {e.item_id} → {where}{why}",
                        "red" if e.status == "blocked" else "cyan")
        elif isinstance(e, RunPaused):
            self.status.resumes_at = e.resumes_at
        elif isinstance(e, RunResumed):
            self.status.resumes_at = None
        elif isinstance(e, Notice):
            style = {"error": "bold red", "warning": "yellow"}.get(e.level, "dim")
            self._print(f"{e.level}: {e.text}", style)


def _mode(args: argparse.Namespace) -> str:
    if getattr(args, "json_events", False):
        return "json"
    if getattr(args, "quiet", False):
        return "quiet"
    return "live" if sys.stdout.isatty() else "plain"


def _drive(engine: Pipeline | Triage, stop: Callable[[], None], bus: EventBus,
           args: argparse.Namespace, what: str,
           pause: Callable[[], None] | None = None) -> int:
    """Run the engine with rendering and signal handling; returns the exit code.

    SIGUSR1 asks for a pause after the current phase (a board watching this run sends
    it for its `r` key)."""
    renderer = Renderer(_mode(args))
    bus.subscribe(renderer)
    got: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        got.append(signum)
        stop()  # the second call skips the grace period

    def on_pause(signum: int, frame: object) -> None:
        if pause is not None:
            pause()

    previous = {s: signal.signal(s, on_signal) for s in EXIT_SIGNAL}
    previous[signal.SIGUSR1] = signal.signal(signal.SIGUSR1, on_pause)
    try:
        with renderer:
            finished = engine.run()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    code = EXIT_SIGNAL.get(signal.Signals(got[0]), exitcodes.SIGINT) if got else finished.exit_code
    try:
        if renderer.mode != "json":
            _summary(finished, what, code)
        elif code in STOPPED:  # the one message goes to stderr in every mode
            print(f"orchestrate: {what} stopped: {finished.reason}", file=sys.stderr)
    except OSError:
        pass  # the terminal hung up: there is nobody to tell; the worklog has it all
    return code


def _summary(finished: RunFinished, what: str, code: int) -> None:
    limited = f" ({finished.limited} met the usage limit)" if finished.limited else ""
    totals = f"{finished.attempts} attempt{'s' if finished.attempts != 1 else ''}{limited}, " \
             f"${finished.cost_usd:.4f}"
    if code in STOPPED:
        # One clear message (the engine reports it only in RunFinished, never twice).
        print(f"orchestrate: {what} stopped: {finished.reason}", file=sys.stderr)
        print(f"{what} stopped ({totals})")
    elif code in (exitcodes.SIGINT, exitcodes.SIGTERM, exitcodes.SIGHUP):
        print(f"{what} interrupted: the agent was stopped and the item stays where it was "
              f"({totals})")
    else:
        print(f"{what} finished: {finished.reason} ({totals})")


def cmd_run(args: argparse.Namespace, project: Project) -> int:
    """`orchestrate run [--target ID] [--cap N] [--quiet] [--json-events]`."""
    config = project.config()
    bus = EventBus()
    pipeline = Pipeline(project, bus, target=args.target, cap=args.cap, config=config)
    pipeline.wait_on_limit = not args.no_wait
    if args.max_cost is not None:
        pipeline.max_cost_usd = args.max_cost
    return _drive(pipeline, pipeline.request_stop, bus, args, "run",
                  pause=pipeline.request_pause)


def cmd_triage(args: argparse.Namespace, project: Project) -> int:
    """`orchestrate triage [--investigate] [--quiet] [--json-events]`."""
    from app.engine.triage import Triage

    config = project.config()
    bus = EventBus()
    triage = Triage(project, bus, investigate=args.investigate, config=config)
    triage.wait_on_limit = not args.no_wait
    return _drive(triage, triage.request_stop, bus, args, "triage")


def cmd_approve(args: argparse.Namespace, project: Project) -> int:
    """`orchestrate approve ID [--no-merge]`: approved, then merged now when no run is live
    (a run of that item alone, which only merges it), else by the live run."""
    item = actions.approve(project, args.id)
    print(f"{item.id} approved (`orchestrate undo` takes it back until it is merged)")
    if args.no_merge:
        print(f"the next `orchestrate run` merges {item.id}")
        return exitcodes.OK
    pid = holder_pid(project)
    if pid is not None:
        print(f"a run or triage is live (pid {pid}): a run with lanes merges {item.id} "
              "as it looks at the backlog again; else the next `orchestrate run` does")
        return exitcodes.OK
    bus = EventBus()
    pipeline = Pipeline(project, bus, target=item.id, config=project.config())
    try:
        return _drive(pipeline, pipeline.request_stop, bus, args, "merge")
    except LockHeldError:
        print(f"a run started meanwhile: it merges {item.id}")
        return exitcodes.OK
