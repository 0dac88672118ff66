"""The board's own run: the pipeline or triage in a worker thread, and its events shown.

One engine at a time runs in the exclusive `engine` worker. Its events arrive through
the OutputMerger (app/ui/bridge.py) and move the run state (also while a usage limit
holds the run: the header counts down), the log pane and the cards; an item blocked or
done, the run's end and a usage-limit pause also ring the bell with a desktop
notification (app/ui/jobs/alerts.py). `r` pauses our run after the current phase, `s`
stops it now (asking first), and quitting while it is live asks, stops it, and quits once
it has ended. A hang-up or SIGTERM stops it without asking and exits once it has recorded
the attempt (app/ui/jobs/signals.py). `orchestrate demo` starts triage and then the run
by itself. The keys that act on another process's run are RunWatch's
(app/ui/jobs/runwatch.py), and `D` is the Detacher's (app/ui/jobs/detach.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, Protocol

from textual.worker import Worker, WorkerState

from app.backlog import states
from app.backlog.model import Backlog, Item
from app.engine.project import Project
from app.structs import replace
from app.ui.bridge import Engine, EngineFactory, OutputMerger
from app.ui.jobs.alerts import alert_text
from app.ui.jobs.lanelog import LaneLog
from app.ui.jobs.node import Node
from widgets.board import Board
from widgets.logpane import LogPane
from widgets.status import RunState

if TYPE_CHECKING:  # the events' module is imported when a run starts (the first frame has none)
    from app.engine.events import Event, Notice, PhaseFinished, PhaseStarted, RunFinished

Kind = Literal["run", "triage"]
"""What our engine runs: the pipeline or triage."""


class RunnerScreen(Node, Protocol):
    """What our run needs of the screen."""

    @property
    def run(self) -> RunState: ...

    def set_run(self, run: RunState) -> None: ...

    @property
    def backlog(self) -> Backlog | None: ...

    @property
    def board(self) -> Board: ...

    @property
    def log_pane(self) -> LogPane: ...

    log_shown: bool

    @property
    def closing(self) -> bool: ...

    def tell(self, message: str, *, severity: str = "information",
             timeout: float | None = None) -> None: ...

    def selected_item(self) -> Item | None: ...

    def reload(self, *, soon: bool = False) -> None: ...

    def refresh_detail(self, item_id: str) -> None: ...

    def confirm(self, question: str, yes: str, then: Callable[[bool | None], None]) -> None: ...

    def ring(self, text: str) -> None: ...

    def exit_board(self, code: int) -> None: ...


def refusal(run: RunState, engine_live: bool) -> str | None:
    """Why a run cannot start now (None: it can): one is going, or another process holds
    the run lock."""
    if engine_live or run.live:
        return "a run is already going"
    if run.pid is not None:
        return f"another run holds the lock (pid {run.pid})"
    return None


class Runner:
    """Starts, pauses and stops our engine, and shows its events on the main screen."""

    def __init__(self, screen: RunnerScreen, project: Project, *, pipeline: EngineFactory,
                 triage: EngineFactory, demo: bool = False) -> None:
        self._screen = screen
        self._project = project
        self._factories: dict[Kind, EngineFactory] = {"run": pipeline, "triage": triage}
        self.engine: Engine | None = None
        """The engine running in our worker thread, if any."""
        self.output_merger = OutputMerger(screen.post_message)
        """Observes the engine; merges agent output the UI has not taken yet."""
        self.lanes = LaneLog()
        """The log pane's lines lane by lane (several items at once); its pane is set once
        the screen is composed."""
        self.demo_steps: list[Kind] = ["triage", "run"] if demo else []
        """`orchestrate demo`: what to start by itself, in order, once the board is up."""
        self.idle = threading.Event()
        """Set while no engine of ours runs (the hang-up's watchdog waits for it)."""
        self.idle.set()
        self.hung_up = False
        """A hang-up or SIGTERM is ending the board: no more bells (the terminal may be
        gone)."""
        self.kind: Kind = "run"
        """What our engine runs."""
        self._stop_asked = threading.Event()
        self._quit_when_idle = False
        self._exit_code = 0

    @property
    def running(self) -> bool:
        """Whether our worker runs an engine."""
        return self.engine is not None or self._screen.run.live

    def start(self, kind: Kind, target: str | None = None) -> None:
        """Run the pipeline (`run`, on `target` only if given) or triage (`triage`)."""
        screen = self._screen
        why_not = refusal(screen.run, self.engine is not None)
        if why_not:
            screen.tell(why_not, severity="warning")
            return
        self.kind = kind
        self._stop_asked.clear()
        self.idle.clear()
        screen.set_run(RunState("running" if kind == "run" else "triage"))
        screen.log_shown = True
        factory = self._factories[kind]
        screen.run_worker(lambda: self._run(factory, target), name="engine", group="engine",
                          thread=True, exclusive=True, exit_on_error=False,
                          description="the engine")

    def _run(self, factory: EngineFactory, target: str | None) -> RunFinished:
        from app.engine.events import EventBus

        bus = EventBus()
        unsubscribe = bus.subscribe(self.output_merger)
        try:
            engine = factory(self._project, bus, target)
            self.engine = engine
            if self._stop_asked.is_set():  # asked to stop before the engine existed
                engine.request_stop()
            return engine.run()
        finally:
            unsubscribe()
            self.engine = None
            self.idle.set()

    def finished(self, worker: Worker[object]) -> None:
        """The engine's worker ended (its error, if any, was shown already)."""
        screen = self._screen
        self.engine = None
        screen.set_run(RunState())
        screen.reload(soon=True)
        if self._quit_when_idle:
            screen.exit_board(self._exit_code)
        elif self.demo_steps and worker.state == WorkerState.SUCCESS:
            screen.set_timer(0.5, self.next_demo_step)

    # --- what the engine says -------------------------------------------------------------------
    def take_output(self) -> None:
        """Show the agent output merged since the last time."""
        for event in self.output_merger.take():
            self.show(event)

    def show(self, event: Event) -> None:
        """Show one engine event: run state, log pane, cards, toasts."""
        from app.engine.events import (
            AgentOutput,
            ItemChanged,
            Notice,
            PhaseFinished,
            PhaseStarted,
            RunFinished,
            RunPaused,
            RunResumed,
            RunStarted,
        )

        screen = self._screen
        if screen.closing:
            return  # the last events of a run stopped by quitting
        self.lanes.pane = screen.log_pane
        if isinstance(event, AgentOutput):
            self.lanes.add(event.item_id, event.lines)
        elif isinstance(event, PhaseStarted):
            self._phase_started(event)
        elif isinstance(event, PhaseFinished):
            self._phase_finished(event)
        elif isinstance(event, RunStarted):
            screen.log_shown = True
            self.lanes.reset()
        elif isinstance(event, ItemChanged):
            screen.reload(soon=True)
        elif isinstance(event, Notice):
            self._notice(event)
        elif isinstance(event, RunPaused | RunResumed | RunFinished):
            resumes_at = event.resumes_at if isinstance(event, RunPaused) else None
            screen.set_run(replace(screen.run, resumes_at=resumes_at))
            if isinstance(event, RunFinished):
                screen.tell(f"{self.kind} finished: {event.reason}", timeout=6,
                            severity="error" if event.exit_code else "information")
        self._alert(event)

    def _phase_started(self, event: PhaseStarted) -> None:
        screen, lanes = self._screen, self.lanes
        board = screen.board
        board.selected_id = board.selected_id or event.item_id
        where = f" · on {event.node}" if event.node else ""
        lanes.started(event.item_id, event.phase,
                      f"{event.item_id} · {event.phase} · attempt {event.attempt} · "
                      f"{event.agent_label}{where}",
                      board.selected_id, node=event.node)
        screen.set_run(replace(screen.run, item_id=event.item_id, phase=event.phase,
                               attempt=event.attempt, started=event.at, lanes=lanes.views(),
                               node=event.node))

    def _phase_finished(self, event: PhaseFinished) -> None:
        from app.engine.events import AgentLine

        screen = self._screen
        outcome = f"{event.item_id} {event.phase} #{event.attempt}: {event.outcome}"
        if event.reason:
            outcome += f" ({event.reason})"
        kind = "error" if event.outcome in ("failed", "timeout") else "result"
        self.lanes.finished(event.item_id, AgentLine(kind, outcome, ""))
        run = screen.run
        screen.set_run(replace(run, cost_usd=run.cost_usd + (event.cost_usd or 0.0),
                               lanes=self.lanes.views()))
        screen.reload(soon=True)
        screen.refresh_detail(event.item_id)  # a new worklog attempt to list

    def _notice(self, event: Notice) -> None:
        from app.engine.events import AgentLine

        if event.level in ("error", "warning"):
            self._screen.tell(event.text, severity=event.level, timeout=8)
        else:  # checkpoints and the like: worth a line, not a toast
            self.lanes.note(AgentLine("system", event.text, ""))

    def _alert(self, event: Event) -> None:
        """The bell and a desktop notification, for what the person must hear about."""
        if self.hung_up:
            return  # the terminal may be gone
        backlog = self._screen.backlog

        def title_of(item_id: str) -> str:
            item = backlog.by_id.get(item_id) if backlog is not None else None
            return item.title if item is not None else ""

        text = alert_text(event, title_of, self.kind, event.at)
        if text:
            self._screen.ring(text)

    # --- the keys ---------------------------------------------------------------------------------
    def run_item(self) -> None:
        """Run the pipeline on the selected item only (`orchestrate run ID`)."""
        item = self._screen.selected_item()
        if item is None:
            return
        if item.status not in states.RUNNABLE:  # the pipeline would only say so
            self._screen.tell(f"{item.id} is {states.describe(item)}: only ready or "
                              "in-progress items run", severity="warning")
            return
        self.start("run", item.id)

    def merge(self, item_id: str) -> None:
        """An item was just approved: merged now by a run of it alone when no run is
        going; a live run with lanes (ours or another process's) merges it itself."""
        if refusal(self._screen.run, self.engine is not None) is None:
            self.start("run", item_id)
        else:
            self._screen.tell(f"{item_id} approved: the live run merges it (or the next "
                              "one)", timeout=5)

    def triage(self) -> None:
        """Triage the new items (unless there are none)."""
        backlog = self._screen.backlog
        if backlog is not None and not backlog.with_status("new"):
            self._screen.tell("no new items to triage", timeout=3)
            return
        self.start("triage")

    def pause_own(self) -> None:
        """Our run finishes its current phase attempt, then stops (`r`, or SIGUSR1 from a
        board that watches this one). Triage has no phase to pause after: nothing is said."""
        engine = self.engine
        if engine is not None and self.kind == "run":
            engine.request_pause()
            self._screen.set_run(replace(self._screen.run, state="pausing"))
            self._screen.tell("pausing after the current phase", timeout=4)

    def stop(self) -> None:
        """Stop our run now, after asking."""
        if self.engine is None:
            return

        def done(yes: bool | None) -> None:
            if yes and self.engine is not None:
                self.engine.request_stop()
                self._stopping()
        self._screen.confirm("Stop the run now? The item stays resumable.", "Stop", done)

    def quit(self) -> None:
        """Quit; while a run is live, ask first, stop it, and quit once it has ended."""
        screen = self._screen
        if self.engine is None:
            screen.exit_board(0)
            return

        def done(yes: bool | None) -> None:
            if not yes:
                return
            if self.engine is None:
                screen.exit_board(0)
                return
            self._quit_when_idle = True
            self.engine.request_stop()
            self._stopping()
            screen.tell("stopping the run, then quitting…")
        screen.confirm("A run is live. Stop it and quit?", "Quit", done)

    def hang_up(self, code: int, grace_s: float) -> None:
        """A hang-up or SIGTERM: stop our run without asking, let it record its attempt as
        interrupted and release the lock, then exit with `code` (after `grace_s` at the
        latest: the agent's kill grace and a few seconds)."""
        self.hung_up = True
        screen = self._screen
        if not self.running:
            screen.exit_board(code)
            return
        self._quit_when_idle = True
        self._exit_code = code
        self.stop_now()
        self._stopping()
        screen.set_timer(grace_s, lambda: screen.exit_board(code))

    def _stopping(self) -> None:
        self._screen.set_run(replace(self._screen.run, state="stopping"))

    def next_demo_step(self) -> None:
        """The demo triages the new ideas, then runs the pipeline, by itself."""
        screen = self._screen
        if self.demo_steps and not self.running and screen.run.pid is None:
            step = self.demo_steps.pop(0)
            backlog = screen.backlog
            if step == "triage" and backlog is not None and not backlog.with_status("new"):
                self.next_demo_step()
                return
            self.start(step)

    def stop_now(self) -> None:
        """Stop a live engine without asking (the board is closing, or was told to)."""
        self._stop_asked.set()
        engine = self.engine
        if engine is not None:
            engine.request_stop()
