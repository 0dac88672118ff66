"""The main screen: the board's layout and the keys of the main view (posting's MainScreen).

The header, the error banner, the filter field, the columns with the detail pane beside
them, the log pane and the Footer. The screen holds the view's state (what is shown, the
run state the Footer follows) and hands the work to one object per job: BacklogFeed reads
the files, Runner runs our own engine, RunWatch follows another process's run, Grooming
asks and acts for the grooming keys. Messages from their worker threads arrive here, in
the UI thread, and go back to the object whose job they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive, var
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input
from textual.worker import Worker, WorkerState

from app.backlog.model import Backlog, Item, visible
from app.engine.project import Project
from app.ui import keys
from app.ui.bridge import EngineEvent, EngineFactory, EngineOutputReady, LockHolder
from app.ui.cardfacts import CardFacts
from app.ui.feed import BacklogFeed
from app.ui.gc import freeze_objects
from app.ui.grooming import Grooming
from app.ui.messages import (
    ActionDone,
    BacklogFailed,
    BacklogLoaded,
    CardFactsLoaded,
    DetailLoaded,
    RunDetached,
    RunWatched,
    TailLines,
    failure,
)
from app.ui.runner import Runner
from app.ui.runwatch import RunWatch
from app.ui.status import RunStatus
from widgets.board import Board
from widgets.detail import DetailPane
from widgets.filter import FilterField
from widgets.logpane import LogPane
from widgets.status import ErrorBanner, RunHeader

NARROW_WIDTH = 120
"""Below this many columns the details replace the board instead of sitting beside it."""
WATCH_DELAY_S = 0.25
"""Watching the file and other runs starts this long after the first snapshot is shown."""


@dataclass(frozen=True)
class BoardSettings:
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


class MainScreen(Screen[None]):
    """The board of one project: its layout, its keys, and the objects that do the work."""

    BINDINGS = keys.bindings("main")
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW_WIDTH, "-wide")]

    run_state: reactive[str] = reactive("idle", bindings=True)
    """idle, running, pausing, stopping, triage or watching (the Footer follows it)."""
    detail_shown: reactive[bool] = reactive(False)
    """Whether the detail pane is open."""
    log_shown: reactive[bool] = reactive(False, bindings=True)
    """Whether the log pane is open (the log keys show in the Footer only then)."""
    backlog: var[Backlog | None] = var(None)
    """The last good snapshot of BACKLOG.yaml."""

    def __init__(self, settings: BoardSettings) -> None:
        super().__init__()
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
        """Another process's run."""
        self.grooming = Grooming(self, project)
        """The grooming keys' dialogs and transactions."""
        self.status = RunStatus(self, settings.clock)
        """What the header says about the current run."""
        self.load_error: str | None = None
        """The current BACKLOG.yaml error, if the file is broken."""
        self._watch_timer: Timer | None = None
        self._watching = False
        self._closing = False

    # --- layout -----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield RunHeader(id="run-header",
                        label="DEMO · scripted agent" if self.settings.demo else "")
        yield ErrorBanner(id="banner")
        yield FilterField(id="filter")
        with Horizontal(id="main"):
            yield Board(id="board")
            yield DetailPane(id="detail")
        yield LogPane(id="log-pane")
        yield Footer()

    @property
    def board(self) -> Board:
        """The board widget."""
        return self.query_one("#board", Board)

    @property
    def log_pane(self) -> LogPane:
        """The log pane."""
        return self.query_one("#log-pane", LogPane)

    @property
    def detail_pane(self) -> DetailPane:
        """The detail pane."""
        return self.query_one("#detail", DetailPane)

    @property
    def filter_field(self) -> FilterField:
        """The filter text field."""
        return self.query_one("#filter", FilterField)

    @property
    def closing(self) -> bool:
        """Whether the board is shutting down (its widgets may be gone)."""
        # At shutdown Textual removes the widgets before the App hears on_unmount.
        return self._closing or not self.query("#board")

    def on_mount(self) -> None:
        first = self.feed.first_load()  # before the first frame, so it shows the cards
        if isinstance(first, BacklogLoaded):
            self._backlog_loaded(first)
        elif isinstance(first, BacklogFailed):
            self._backlog_failed(first)
        self.set_interval(1.0, self.status.tick)

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

    def watch_log_shown(self, shown: bool) -> None:
        self.log_pane.set_class(shown, "-shown")

    def watch_run_state(self, state: str) -> None:
        self.status.refresh()

    # --- what is shown ----------------------------------------------------------------------------
    def tell(self, message: str, *, severity: str = "information",
             timeout: float | None = None) -> None:
        """A toast with plain text: ids like [WRK-001] in messages are not markup, and an
        agent's or a title's control characters show escaped."""
        self.notify(visible(message), severity=severity,  # type: ignore[arg-type]
                    timeout=timeout, markup=False)

    def selected_item(self) -> Item | None:
        """The selected item, or None (after telling the person why nothing happens)."""
        item_id = self.board.selected_id
        item = self.backlog.by_id.get(item_id) if self.backlog and item_id else None
        if item is None:
            self.tell("no item selected", severity="warning", timeout=3)
        return item

    def jump_to(self, item_id: str) -> None:
        """Select `item_id`, clearing a filter that hides it."""
        if not self.board.select(item_id) and self.backlog is not None:
            self.filter_field.close()
            self.board.selected_id = item_id
            self.board.show(self.backlog, "")
        self.board.select(item_id)

    # --- messages from the workers ----------------------------------------------------------------
    @on(BacklogLoaded)
    def _backlog_loaded(self, message: BacklogLoaded) -> None:
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
        self.status.refresh()
        if first:
            self._watch_soon()
        if first and self.runner.demo_steps:
            self.runner.next_demo_step()
        if self.detail_shown and self.board.selected_id:
            self.feed.load_detail(self.backlog, self.board.selected_id)

    @on(BacklogFailed)
    def _backlog_failed(self, message: BacklogFailed) -> None:
        if self.closing:
            return  # arrived while the App shuts down
        self.load_error = message.error
        self.query_one("#banner", ErrorBanner).show_error(message.error)
        self._watch_soon()  # a broken file is watched too

    def _read_card_facts(self) -> None:
        if self.backlog is not None and not self.closing:
            self.cards.reload(self.backlog)

    @on(CardFactsLoaded)
    def _card_facts_loaded(self, message: CardFactsLoaded) -> None:
        if self.closing:
            return  # arrived while the App shuts down
        self.cards.facts = message.facts
        if self.backlog is not None:
            self.board.set_notes(self.cards.notes(self.backlog))

    @on(DetailLoaded)
    def _detail_loaded(self, message: DetailLoaded) -> None:
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

    @on(RunWatched)
    def _run_watched(self, message: RunWatched) -> None:
        if not self.closing:
            self.run_watch.seen(message)

    @on(RunDetached)
    def _run_detached(self, message: RunDetached) -> None:
        if not self.closing:
            self.runner.detached(message)

    @on(TailLines)
    def _tail_lines(self, message: TailLines) -> None:
        self.run_watch.lines(message)

    @on(ActionDone)
    def _action_done(self, message: ActionDone) -> None:
        if not self.closing:
            self.grooming.done(message)

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
        if not self.detail_shown:
            return
        if message.item_id:
            self.feed.load_detail(self.backlog, message.item_id)
        else:
            self.detail_pane.show(None)

    @on(Board.ItemSelected)
    def _item_selected(self, message: Board.ItemSelected) -> None:
        self.action_details()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self.backlog is not None:
            self.board.show(self.backlog, event.value.strip())

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.board.focus_selected()

    # --- keys (app/ui/keys.py) --------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # `r` runs while nothing runs and pauses a run, ours or the watched one.
        if action == "run":
            return self.run_state == "idle"
        if action in ("run_item", "detach"):  # while watching: says who holds the lock
            return self.run_state in ("idle", "watching")
        if action == "pause":
            return self.run_state in ("running", "watching")
        if action == "stop":
            return True if self.run_state in ("running", "pausing", "triage",
                                              "watching") else None
        if action in ("toggle_raw", "follow_log"):
            return self.log_shown  # log keys show in the Footer only with the log pane
        return True

    def action_details(self) -> None:
        """Open or close the detail pane."""
        self.detail_shown = not self.detail_shown

    def action_close(self) -> None:
        """Escape: close the filter (clearing it), else the details."""
        field = self.filter_field
        if field.shown and (field.has_focus or field.value):
            field.close()
            if self.backlog is not None:
                self.board.show(self.backlog, "")
            self.board.focus_selected()
        elif self.detail_shown:
            self.detail_shown = False

    def action_filter(self) -> None:
        """Show the filter field."""
        self.filter_field.open()

    def action_documents(self) -> None:
        """Read the selected item's change documents (a view of their own)."""
        from app.ui.documents import DocumentsScreen  # Markdown's imports: when first asked

        item = self.selected_item()
        if item is not None:
            self.app.push_screen(DocumentsScreen(self.settings.project, item))

    def action_checkpoints(self) -> None:
        """The selected item's checkpoint commits and their diffs (a view of their own)."""
        from app.ui.checkpoints import CheckpointsScreen

        item = self.selected_item()
        if item is not None:
            self.app.push_screen(CheckpointsScreen(self.settings.project, item))

    def action_toggle_log(self) -> None:
        """Show or hide the log pane."""
        self.log_shown = not self.log_shown

    def action_toggle_raw(self) -> None:
        """Raw JSON lines or the readable view, in the log pane."""
        self.log_pane.raw = not self.log_pane.raw
        self.log_shown = True

    def action_follow_log(self) -> None:
        """Follow the tail of the log again."""
        self.log_pane.follow()

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
        self.runner.detach()

    def action_pause(self) -> None:
        self.runner.pause()

    def action_stop(self) -> None:
        self.runner.stop()
