"""The main screen: the board of one project and the work behind its keys (posting's
MainScreen).

What it shows, and the run state, are BoardView's (app/ui/screens/view.py). MainScreen
hands the work to one object per job (app/ui/jobs/): BacklogFeed reads the files,
CardFacts what the cards say beyond the fields, Runner runs our own engine, RunWatch
follows another process's run, Detacher starts runs of their own, Grooming asks and acts
for the grooming keys. Each job knows the screen only as the Protocol it declares, which
this screen satisfies; messages from their worker threads arrive here, in the UI thread,
and go back to the object whose job they are.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual import on
from textual.containers import Horizontal
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from app.engine.project import Project
from app.errors import OrchestrateError
from app.structs import Struct
from app.ui import keys
from app.ui.bridge import EngineEvent, EngineFactory, EngineOutputReady, LockHolder
from app.ui.gc import freeze_objects
from app.ui.jobs.cardfacts import CardFacts
from app.ui.jobs.detach import Detacher
from app.ui.jobs.feed import BacklogFeed
from app.ui.jobs.grooming import Grooming
from app.ui.jobs.runner import Runner
from app.ui.jobs.runwatch import RunWatch
from app.ui.jobs.tail import TailLines
from app.ui.screens.view import BoardView
from widgets.board import Board
from widgets.status import ErrorBanner

WATCH_DELAY_S = 0.25
"""Watching the file and other runs starts this long after the first snapshot is shown."""


class BoardSettings(Struct, frozen=True):
    """What the board shows and with what (the App's constructor arguments)."""

    project: Project
    pipeline_factory: EngineFactory
    triage_factory: EngineFactory
    lock_holder: LockHolder
    clock: Callable[[], float]
    """Wall time; fixed in snapshot tests so no clock shows in the picture."""
    watch_files: bool = True
    """Watch BACKLOG.yaml and other runs (off in most tests)."""
    demo: bool = False
    """`orchestrate demo`: a sample project run by the scripted agent (said on screen)."""


def failure(worker: Worker[object]) -> str:
    """What a worker that ended in an error tells the person (its own words if ours)."""
    error = worker.error
    if isinstance(error, OrchestrateError):
        return str(error)
    return f"{worker.description} failed: {type(error).__name__}: {error}"


class MainScreen(BoardView):
    """The board of one project: its jobs, their messages and the keys that start them."""

    BINDINGS = keys.bindings("main")

    def __init__(self, settings: BoardSettings) -> None:
        super().__init__(clock=settings.clock,
                         label="DEMO · scripted agent" if settings.demo else "")
        self.settings = settings
        """What the board shows and with what."""
        project = settings.project
        self.feed = BacklogFeed(self, project, project.store())
        """Reads BACKLOG.yaml and an item's details."""
        self.cards = CardFacts(self, project)
        """Reads what the cards say beyond the items' fields (guardrails, SPEC progress)."""
        self.runner = Runner(self, project, pipeline=settings.pipeline_factory,
                             triage=settings.triage_factory, demo=settings.demo)
        """Our own run."""
        self.run_watch = RunWatch(self, project, settings.lock_holder)
        """Another process's run, and the keys that act on it."""
        self.detacher = Detacher(self, project)
        """Runs of their own processes (`D`)."""
        self.grooming = Grooming(self, project)
        """The grooming keys' dialogs and transactions."""
        self.load_error: str | None = None
        """The current BACKLOG.yaml error, if the file is broken."""
        self._watch_timer: Timer | None = None
        self._watching = False

    def on_mount(self) -> None:
        first = self.feed.first_load()  # before the first frame, so it shows the cards
        if isinstance(first, BacklogFeed.Loaded):
            self._backlog_loaded(first)
        elif isinstance(first, BacklogFeed.Failed):
            self._backlog_failed(first)

    def shutdown(self) -> None:
        """The App is closing: stop watching, tailing and our engine."""
        self._closing = True
        self.feed.stop()
        self.run_watch.stop()
        self.runner.stop_now()

    def _watch_soon(self) -> None:
        """Start watching a moment after the first snapshot is on screen (once)."""
        if self._watch_timer is None:
            self._watch_timer = self.set_timer(WATCH_DELAY_S, self._start_watching)

    def _start_watching(self) -> None:
        """Watch BACKLOG.yaml and other runs, once the first snapshot is on screen.

        Neither is needed for the first frame, and setting up the file watcher (importing
        watchfiles and its async backend, ~100 ms in a thread) would share the interpreter
        with that frame and hold it up. A write in between is caught by the reload the
        watcher makes once it is set up.
        """
        freeze_objects("first-frame")
        if self.settings.watch_files and not self._watching and not self.closing:
            self._watching = True
            self.feed.watch()
            self.run_watch.start()

    # --- what the jobs ask of the screen (beside BoardView's) -------------------------------------
    @property
    def engine_running(self) -> bool:
        """Whether our own engine exists (the Runner's worker runs it)."""
        return self.runner.engine is not None

    def reload(self, *, soon: bool = False) -> None:
        """Read BACKLOG.yaml again (`soon`: a burst of calls makes one reload)."""
        if soon:
            self.feed.schedule_reload()
        else:
            self.feed.reload()

    def refresh_detail(self, item_id: str) -> None:
        """Gather the details of `item_id` again, if the detail pane shows them."""
        if self.detail_shown and self.board.selected_id == item_id:
            self.feed.load_detail(self.backlog, item_id)

    def watch_detail_shown(self, shown: bool) -> None:
        pane = self.detail_pane
        pane.set_class(shown, "-shown")
        self.query_one("#main", Horizontal).set_class(shown, "-detail")
        if shown and self.board.selected_id:
            self.feed.load_detail(self.backlog, self.board.selected_id)
        if shown and self.has_class("-narrow"):
            pane.focus()  # the board is hidden: arrows scroll the details
        elif not shown:
            self.board.focus_selected()

    # --- messages from the jobs' workers ----------------------------------------------------------
    @on(BacklogFeed.Loaded)
    def _backlog_loaded(self, message: BacklogFeed.Loaded) -> None:
        if self.closing:
            return  # arrived while the App shuts down
        if self.load_error:
            self.load_error = None
            self.query_one("#banner", ErrorBanner).show_error(None)
            self.tell("BACKLOG.yaml is valid again", severity="information", timeout=3)
        first = self.backlog is None
        if first:  # after the first frame, which it would only share the interpreter with
            self.set_timer(WATCH_DELAY_S, self._read_card_facts)
        else:  # orchestrate.toml or a SPEC.md may have changed, also with the same backlog
            self.cards.reload(message.backlog)
        if message.backlog is self.backlog:
            return
        self.backlog = message.backlog
        self.board.notes = self.cards.notes(message.backlog)
        self.board.show(message.backlog)
        if first:
            self._watch_soon()
        if first and self.runner.demo_steps:
            self.runner.next_demo_step()
        if self.detail_shown and self.board.selected_id:
            self.feed.load_detail(self.backlog, self.board.selected_id)

    @on(BacklogFeed.Failed)
    def _backlog_failed(self, message: BacklogFeed.Failed) -> None:
        if self.closing:
            return  # arrived while the App shuts down
        self.load_error = message.error
        self.query_one("#banner", ErrorBanner).show_error(message.error)
        self._watch_soon()  # a broken file is watched too

    def _read_card_facts(self) -> None:
        if self.backlog is not None and not self.closing:
            self.cards.reload(self.backlog)

    @on(CardFacts.Loaded)
    def _card_facts_loaded(self, message: CardFacts.Loaded) -> None:
        if self.closing:
            return  # arrived while the App shuts down
        self.cards.facts = message.facts
        config = message.facts.config
        self.board.set_review_queue(config is not None and config.run.merge_when == "review")
        if self.backlog is not None:
            self.board.set_notes(self.cards.notes(self.backlog))

    @on(BacklogFeed.DetailLoaded)
    def _detail_loaded(self, message: BacklogFeed.DetailLoaded) -> None:
        if self.closing:
            return  # arrived while the App shuts down
        if message.detail.item.id == self.board.selected_id:
            self.detail_pane.show(message.detail)

    @on(EngineOutputReady)
    def _engine_output(self, message: EngineOutputReady) -> None:
        self.runner.take_output()

    @on(EngineEvent)
    def _engine_event(self, message: EngineEvent) -> None:
        self.runner.show(message.event)

    @on(RunWatch.Seen)
    def _run_seen(self, message: RunWatch.Seen) -> None:
        if not self.closing:
            self.run_watch.seen(message)

    @on(Detacher.Started)
    def _run_detached(self, message: Detacher.Started) -> None:
        if not self.closing:
            self.detacher.started(message)

    @on(TailLines)
    def _tail_lines(self, message: TailLines) -> None:
        self.run_watch.lines(message)

    @on(RunWatch.FinishedLog)
    def _finished_log(self, message: RunWatch.FinishedLog) -> None:
        self.run_watch.show_finished(message)

    @on(Grooming.Done)
    def _action_done(self, message: Grooming.Done) -> None:
        if not self.closing:
            self.grooming.done(message)
            if message.verb == "approve" and message.item is not None:
                self.runner.merge(message.item.id)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if self.closing:
            return  # arrived while the App shuts down
        worker = event.worker
        if worker.state == WorkerState.ERROR:
            self.tell(failure(worker), severity="error", timeout=8)
        if worker.group == "engine" and worker.is_finished:
            self.runner.finished(worker)

    # --- the board's widgets ----------------------------------------------------------------------
    @on(Board.ItemHighlighted)
    def _item_highlighted(self, message: Board.ItemHighlighted) -> None:
        if self.closing:
            return
        self.runner.lanes.select(message.item_id)  # the log pane follows the card's lane
        self.run_watch.highlighted(message.item_id)  # or, idle, shows its last attempt's log
        if not self.detail_shown:
            return
        if message.item_id:
            self.feed.load_detail(self.backlog, message.item_id)
        else:
            self.detail_pane.show(None)

    @on(Board.ItemSelected)
    def _item_selected(self, message: Board.ItemSelected) -> None:
        self.action_details()

    # --- the keys that start work (app/ui/keys.py) ------------------------------------------------
    def action_documents(self) -> None:
        """Read the selected item's change documents (a view of their own)."""
        from app.ui.screens.documents import DocumentsScreen  # Markdown's imports: when asked

        item = self.selected_item()
        if item is not None:
            self.app.push_screen(DocumentsScreen(self.settings.project, item))

    def action_checkpoints(self) -> None:
        """The selected item's checkpoint commits and their diffs (a view of their own)."""
        from app.ui.screens.checkpoints import CheckpointsScreen

        item = self.selected_item()
        if item is not None:
            self.app.push_screen(CheckpointsScreen(self.settings.project, item))

    def action_review(self) -> None:
        """Review the selected item that waits for review (a view of its own); its answer
        (approve, reject) is the grooming job's to act on."""
        from app.ui.screens.review import ReviewScreen

        item = self.grooming.held(self.selected_item(), "review")
        if item is not None:
            self.app.push_screen(ReviewScreen(self.settings.project, item),
                                 partial(self.grooming.reviewed, item))

    def action_approve(self) -> None:
        self.grooming.approve(self.selected_item(), ask=True)

    def action_reject(self) -> None:
        self.grooming.reject(self.selected_item())

    def action_report(self) -> None:
        """How past runs went: charts and figures (a view of its own)."""
        from app.ui.screens.report import ReportScreen  # plotext's imports: when asked

        self.app.push_screen(ReportScreen(self.settings.project))

    # The work of these keys is the jobs' (their methods say what it is).
    def action_add(self) -> None:
        self.grooming.add()

    def action_advance(self) -> None:
        self.grooming.advance()

    def action_unblock(self) -> None:
        self.grooming.unblock()

    def action_delete(self) -> None:
        self.grooming.delete()

    def action_edit(self) -> None:
        self.grooming.edit()

    def action_move_up(self) -> None:
        self.grooming.move(-1)

    def action_move_down(self) -> None:
        self.grooming.move(1)

    def action_undo(self) -> None:
        self.grooming.undo()

    def action_triage(self) -> None:
        self.runner.triage()

    def action_run(self) -> None:
        self.runner.start("run")

    def action_run_item(self) -> None:
        self.runner.run_item()

    def action_detach(self) -> None:
        self.detacher.detach()

    def action_pause(self) -> None:
        """Pause after the current phase: our run, else the watched one."""
        if self.runner.engine is None and self.run_watch.watched_pid is not None:
            self.run_watch.pause_run()
        else:
            self.runner.pause_own()

    def action_stop(self) -> None:
        """Stop now, after asking: our run, else the watched one."""
        if self.runner.engine is None and self.run_watch.watched_pid is not None:
            self.run_watch.stop_run()
        else:
            self.runner.stop()
