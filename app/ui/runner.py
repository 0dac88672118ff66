"""The board's own run: the pipeline or triage in a worker thread, and its events shown;
and the keys that act on a run, ours or another process's.

One engine at a time runs in the exclusive `engine` worker. Its events arrive through
the OutputMerger (app/ui/bridge.py) and move the header (also while a usage limit holds
the run: a countdown), the log pane and the cards; an item blocked or done, the run's
end and a usage-limit pause also ring the bell with a desktop notification
(app/ui/alerts.py). `r` pauses a live run after the current phase,
`s` stops it now (asking first), and quitting while it is live asks, stops it, and quits
once it has ended. A hang-up or SIGTERM stops it without asking and exits once it has
recorded the attempt (app/ui/signals.py). While the board watches another process's run,
`s` sends that process SIGTERM (after asking) and `r` SIGUSR1: every run handles them as
"stop now, record the attempt as interrupted" and "pause after the current phase". `D`
starts a run of its own process (`orchestrate run --detach`), which the board then
watches and which goes on after the board closes. `orchestrate demo` starts triage and
then the run by itself.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import TYPE_CHECKING

from textual.worker import Worker, WorkerState

from app.backlog import states
from app.engine.events import (
    AgentLine,
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
from app.engine.project import Project
from app.errors import OrchestrateError
from app.ui.alerts import alert_text, ring
from app.ui.bridge import Engine, EngineFactory, OutputMerger
from app.ui.lanelog import LaneLog
from app.ui.messages import RunDetached
from app.ui.status import LIVE
from widgets.status import RunView

if TYPE_CHECKING:
    from app.ui.screen import MainScreen

class Runner:
    """Starts, pauses and stops the engine, and shows its events on the main screen."""

    def __init__(self, screen: MainScreen, project: Project, *, pipeline: EngineFactory,
                 triage: EngineFactory, demo: bool = False) -> None:
        self._screen = screen
        self._project = project
        self._factories = {"run": pipeline, "triage": triage}
        self.engine: Engine | None = None
        """The engine running in our worker thread, if any."""
        self.output_merger = OutputMerger(screen.post_message)
        self.lanes = LaneLog()
        """The log pane's lines lane by lane (several items at once); its pane is set once
        the screen is composed."""
        """Observes the engine; merges agent output the UI has not taken yet."""
        self.attempt_started: float | None = None
        """When the live attempt started (the engine's wall time), for the header's clock."""
        self.run_cost = 0.0
        """Dollars spent by this run so far (sum of finished attempts)."""
        self.demo_steps: list[str] = ["triage", "run"] if demo else []
        """`orchestrate demo`: what to start by itself, in order, once the board is up."""
        self.idle = threading.Event()
        """Set while no engine of ours runs (the hang-up's watchdog waits for it)."""
        self.idle.set()
        self.hung_up = False
        """A hang-up or SIGTERM is ending the board: no more bells (the terminal may be
        gone)."""
        self.kind = "run"
        """What our engine runs: `run` or `triage`."""
        self._stop_asked = threading.Event()
        self._quit_when_idle = False
        self._exit_code = 0

    @property
    def running(self) -> bool:
        """Whether our worker runs an engine."""
        return self.engine is not None or self._screen.run_state in LIVE

    def start(self, kind: str, target: str | None = None) -> None:
        """Run the pipeline (`run`, on `target` only if given) or triage (`triage`)."""
        screen = self._screen
        if self.running:
            screen.tell("a run is already going", severity="warning")
            return
        if screen.run_watch.watched_pid is not None:
            screen.tell(f"another run holds the lock (pid {screen.run_watch.watched_pid})",
                        severity="warning")
            return
        self.run_cost = 0.0
        self.attempt_started = None
        self.kind = kind
        self._stop_asked.clear()
        self.idle.clear()
        view = RunView("running" if kind == "run" else "triage")
        screen.status.view = view
        screen.status.resumes_at = None
        screen.run_state = view.state
        screen.log_shown = True
        factory = self._factories[kind]
        screen.run_worker(lambda: self._run(factory, target), name="engine", group="engine",
                          thread=True, exclusive=True, exit_on_error=False,
                          description="the engine")

    def _run(self, factory: EngineFactory, target: str | None) -> RunFinished:
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
        screen.status.resumes_at = None
        screen.status.show(RunView(), "idle")
        screen.feed.schedule_reload()
        if self._quit_when_idle:
            screen.app.exit(self._exit_code)
        elif self.demo_steps and worker.state == WorkerState.SUCCESS:
            screen.set_timer(0.5, self.next_demo_step)

    def take_output(self) -> None:
        """Show the agent output merged since the last time."""
        for event in self.output_merger.take():
            self.show(event)

    def show(self, event: Event) -> None:
        """Show one engine event: header, log pane, cards, toasts."""
        screen = self._screen
        if screen.closing:
            return  # the last events of a run stopped by quitting
        status = screen.status
        view = status.view
        lanes = self.lanes
        lanes.pane = screen.log_pane
        if isinstance(event, RunStarted):
            screen.log_shown = True
            lanes.reset()
        elif isinstance(event, PhaseStarted):
            self.attempt_started = event.at
            screen.board.selected_id = screen.board.selected_id or event.item_id
            lanes.started(event.item_id, event.phase,
                          f"{event.item_id} · {event.phase} · attempt {event.attempt}",
                          screen.board.selected_id)
            status.view = RunView(screen.run_state, event.item_id, event.phase,
                                  event.attempt, 0.0, self.run_cost, lanes=lanes.lane_count)
        elif isinstance(event, AgentOutput):
            lanes.add(event.item_id, event.lines)
        elif isinstance(event, PhaseFinished):
            self.run_cost += event.cost_usd or 0.0
            outcome = f"{event.item_id} {event.phase} #{event.attempt}: {event.outcome}"
            if event.reason:
                outcome += f" ({event.reason})"
            kind = "error" if event.outcome in ("failed", "timeout") else "result"
            lanes.finished(event.item_id, AgentLine(kind, outcome, ""))
            status.view = RunView(screen.run_state, view.item_id, view.phase, view.attempt,
                                  view.elapsed_s, self.run_cost, lanes=lanes.lane_count)
            screen.feed.schedule_reload()
            if screen.detail_shown and screen.board.selected_id == event.item_id:
                # a new worklog attempt to list
                screen.feed.load_detail(screen.backlog, event.item_id)
        elif isinstance(event, ItemChanged):
            screen.feed.schedule_reload()
        elif isinstance(event, Notice):
            if event.level in ("error", "warning"):
                screen.tell(event.text, severity=event.level, timeout=8)
            else:  # checkpoints and the like: worth a line, not a toast
                lanes.note(AgentLine("system", event.text, ""))
        elif isinstance(event, RunPaused):
            status.resumes_at = event.resumes_at
        elif isinstance(event, RunResumed):
            status.resumes_at = None
        elif isinstance(event, RunFinished):
            status.resumes_at = None
            screen.tell(f"{self.kind} finished: {event.reason}", timeout=6,
                        severity="error" if event.exit_code else "information")
        self._alert(event)
        status.refresh()

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
            ring(self._screen.app, text)

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

    def triage(self) -> None:
        """Triage the new items (unless there are none)."""
        backlog = self._screen.backlog
        if backlog is not None and not backlog.with_status("new"):
            self._screen.tell("no new items to triage", timeout=3)
            return
        self.start("triage")

    def pause(self) -> None:
        """Finish the current phase attempt, then stop: our run, else the watched one."""
        if self.engine is None and self._screen.run_watch.watched_pid is not None:
            pid = self._signal_watched(signal.SIGUSR1)
            if pid is not None:
                self._screen.tell(f"the run of pid {pid} pauses after its current phase",
                                  timeout=4)
            return
        self.pause_own()

    def pause_own(self) -> None:
        """Our run finishes its current phase attempt, then stops (`r`, or SIGUSR1 from a
        board that watches this one)."""
        engine = self.engine
        if engine is not None and hasattr(engine, "request_pause"):
            engine.request_pause()
            self._screen.run_state = "pausing"
            self._screen.tell("pausing after the current phase", timeout=4)

    def stop(self) -> None:
        """Stop the run now, after asking: our run, else the watched one (SIGTERM)."""
        watched = self._screen.run_watch.watched_pid
        if self.engine is None and watched is not None:
            self._stop_watched(watched)
            return
        if self.engine is None:
            return

        def done(yes: bool | None) -> None:
            if yes and self.engine is not None:
                self.engine.request_stop()
                self._screen.run_state = "stopping"
        from widgets.modals import ConfirmScreen
        self._screen.app.push_screen(
            ConfirmScreen("Stop the run now? The item stays resumable.", yes="Stop"), done)

    def _stop_watched(self, pid: int) -> None:
        """Ask, then send SIGTERM to the process whose run the board watches."""
        def done(yes: bool | None) -> None:
            if yes and self._signal_watched(signal.SIGTERM) is not None:
                self._screen.tell(f"stopping the run of pid {pid}…", timeout=6)
        from widgets.modals import ConfirmScreen
        self._screen.app.push_screen(ConfirmScreen(
            f"Stop the run of pid {pid} now? Its item stays resumable.", yes="Stop"), done)

    def _signal_watched(self, signum: signal.Signals) -> int | None:
        """Send `signum` to the process whose run the board watches, if it still holds the
        run lock (a pid is never signalled once its run has ended: it may be reused).
        Returns that pid, or None after telling why not."""
        screen = self._screen
        pid = screen.run_watch.watched_pid
        if not pid:
            return None
        if screen.settings.lock_holder(self._project) != pid:
            screen.tell(f"the run of pid {pid} has ended", timeout=4)
            return None
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            screen.tell(f"the run of pid {pid} has ended", timeout=4)
            return None
        except PermissionError:
            screen.tell(f"the run of pid {pid} belongs to another user: the board cannot "
                        "signal it", severity="error", timeout=8)
            return None
        return pid

    def detach(self) -> None:
        """Start `orchestrate run --detach`: a run of its own process, which goes on after
        the board closes; the board then watches it like any other process's run."""
        screen = self._screen
        if self.running:
            screen.tell("a run is already going", severity="warning")
            return
        if screen.run_watch.watched_pid is not None:
            screen.tell(f"another run holds the lock (pid {screen.run_watch.watched_pid})",
                        severity="warning")
            return
        screen.run_worker(self._start_detached, name="detach", group="detach", thread=True,
                          exclusive=True, exit_on_error=False,
                          description="start a detached run")

    def _start_detached(self) -> None:
        from app.cli.detach import start_detached

        try:
            started = start_detached(self._project)
        except (OrchestrateError, OSError) as exc:
            self._screen.post_message(RunDetached(None, None, str(exc)))
            return
        self._screen.post_message(RunDetached(started.pid, started.log_path))

    def detached(self, message: RunDetached) -> None:
        """The detached run started (or could not)."""
        screen = self._screen
        if message.pid is None:
            screen.tell(message.error or "the detached run did not start", severity="error",
                        timeout=8)
            return
        screen.log_shown = True
        screen.tell(f"run started in the background: pid {message.pid}; it goes on after "
                    f"the board closes (log {message.log_path})", timeout=6)

    def quit(self) -> None:
        """Quit; while a run is live, ask first, stop it, and quit once it has ended."""
        app = self._screen.app
        if self.engine is None:
            app.exit(0)
            return

        def done(yes: bool | None) -> None:
            if not yes:
                return
            if self.engine is None:
                app.exit(0)
                return
            self._quit_when_idle = True
            self.engine.request_stop()
            self._screen.run_state = "stopping"
            self._screen.tell("stopping the run, then quitting…")
        from widgets.modals import ConfirmScreen
        app.push_screen(ConfirmScreen("A run is live. Stop it and quit?", yes="Quit"), done)

    def hang_up(self, code: int, grace_s: float) -> None:
        """A hang-up or SIGTERM: stop our run without asking, let it record its attempt as
        interrupted and release the lock, then exit with `code` (after `grace_s` at the
        latest: the agent's kill grace and a few seconds)."""
        self.hung_up = True
        screen = self._screen
        app = screen.app
        if not self.running:
            app.exit(code)
            return
        self._quit_when_idle = True
        self._exit_code = code
        self.stop_now()
        screen.run_state = "stopping"
        screen.set_timer(grace_s, lambda: app.exit(code))

    def next_demo_step(self) -> None:
        """The demo triages the new ideas, then runs the pipeline, by itself."""
        screen = self._screen
        if self.demo_steps and not self.running and screen.run_watch.watched_pid is None:
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
