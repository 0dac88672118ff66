"""The board: a Textual App over the backlog, the engine and the logs.

The App is the only place that acts: widgets post messages, and the App answers
them through app/engine/actions.py (the same actions the CLI uses) and the engine
(`Pipeline`, `Triage`) run in a worker thread. Engine events cross into the UI
thread as messages (`post_message` is thread-safe and does not block the
engine); bursts of `ItemChanged` collapse into one reload. BACKLOG.yaml is
watched (its folder, filtered to the file) and re-read off the UI thread.
When another process holds the run lock, the board watches that run and tails
its newest log file.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive, var
from textual.screen import Screen
from textual.widgets import Footer, Input
from textual.worker import Worker, WorkerState, get_current_worker

import styles
from app.backlog import states
from app.backlog.model import PHASES, STATUSES, Backlog, Item
from app.engine import actions, worklog
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
    RunStarted,
)
from app.engine.project import Project
from app.errors import OrchestrateError
from widgets.board import Board
from widgets.detail import DetailPane, ItemDetail, sorted_files
from widgets.logpane import LogPane
from widgets.status import ErrorBanner, RunHeader, RunView

if TYPE_CHECKING:  # the dialogs are imported when first opened, not for the first frame
    from widgets.modals import AdvanceChoice, NewItem

STYLESHEET = Path(styles.__file__).parent / "board.tcss"
"""The board's stylesheet (found next to the styles package, so a wheel install works)."""
LOG_NAME = re.compile(r"^(?P<item>[A-Z][A-Z0-9]*-\d{3,})_(?P<phase>[a-z]+)_(?P<attempt>\d+)\.log$")
"""`.orchestrator/logs/WRK-001_build_2.log`."""
RELOAD_DEBOUNCE_S = 0.05
"""Bursts of item changes from the engine become one reload."""
WATCH_POLL_S = 0.5
"""How often the board looks for another process's run (and its newest log)."""
NARROW_WIDTH = 120
"""Below this many columns the details replace the board instead of sitting beside it."""
SYNC_LOAD_MAX_BYTES = 1_500_000
"""A BACKLOG.yaml up to this size (~5,000 items) is read before the first frame."""
WATCH_DELAY_S = 0.25
"""Watching the file and other runs starts this long after the first snapshot is shown."""
TAIL_CHUNK = 64 * 1024
"""Log tailing reads this much at a time."""
TAIL_IN_FLIGHT = 1
"""Batches of log lines posted to the UI and not yet written, at most (back-pressure)."""
TAIL_BATCH_MAX = 5000
"""While the UI is busy the tail reads on into one batch, up to this many lines."""


W = TypeVar("W")


class Engine(Protocol):
    """What the board needs of a pipeline or a triage run."""

    def run(self) -> RunFinished: ...

    def request_stop(self) -> None: ...


EngineFactory = Callable[[Project, EventBus, str | None], Engine]
"""(project, bus, target) -> an engine ready to `run()`."""


def default_pipeline(project: Project, bus: EventBus, target: str | None) -> Engine:
    """The real pipeline, the very engine of `orchestrate run`."""
    from app.engine.pipeline import Pipeline

    return Pipeline(project, bus, target=target)


def default_triage(project: Project, bus: EventBus, target: str | None) -> Engine:
    """The real triage of `orchestrate triage`."""
    from app.engine.triage import Triage

    return Triage(project, bus)


def default_lock_holder(project: Project) -> int | None:
    """The pid of another live process holding the run lock, if any."""
    from app.engine.runlock import holder_pid

    try:
        return holder_pid(project)
    except OSError:
        return None


def _import_watchfiles() -> Any:
    """watchfiles and the anyio backend its awatch loads on first use (~100 ms of imports,
    done in a thread so the UI thread never waits for them)."""
    module = importlib.import_module("watchfiles")
    with contextlib.suppress(ImportError):
        importlib.import_module("anyio._backends._asyncio")
    return module


_FROZEN: set[str] = set()
GC_YOUNG = 10_000
"""Allocations between two collections of the youngest generation (Python's default: 700)."""


def _freeze_objects(stage: str) -> None:
    """Move what exists now out of the garbage collector's sight, once per process and stage.

    `imports`: modules, classes and the stylesheet live as long as the process; without
    this every full collection during start-up walks them all again (~70 ms of the first
    frame with 1,000 cards). `first-frame`: the widgets and caches of the first board
    (~90,000 objects with 1,000 cards); a full collection walked them all again every
    few seconds while the log streamed (~50 ms, a key press waiting behind it). Objects
    that die later are still freed by reference counting.

    At `imports` the youngest generation's threshold also goes up to GC_YOUNG: streaming
    agent lines allocates fast, and with Python's 700 the collector ran ~240 times a
    second with a full collection (~40 ms, a key press waiting behind it) every half
    second; with 10,000 it ran ~7 times a second and no full collection was needed.
    """
    if stage not in _FROZEN:
        _FROZEN.add(stage)
        gc.freeze()
        if stage == "imports":
            young, *older = gc.get_threshold()
            gc.set_threshold(max(young, GC_YOUNG), *older)


class InFlight:
    """Batches posted from a thread and not yet handled by the UI (back-pressure).

    A message posted from a thread waits in the event loop's `call_soon_threadsafe`
    queue before it reaches the App's message queue, so `message_queue_size` does not
    see it; this counts the batches themselves. The poster `add`s one per batch, the
    UI's handler calls `done` once it has written the batch.
    """

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    @property
    def count(self) -> int:
        """Batches posted and not yet handled."""
        return self._count

    def add(self) -> None:
        """One more batch posted."""
        with self._changed:
            self._count += 1

    def done(self) -> None:
        """One batch handled."""
        with self._changed:
            self._count = max(0, self._count - 1)
            self._changed.notify_all()

    def wait_below(self, bound: int, stop: threading.Event, poll: float = 0.05) -> bool:
        """Wait until fewer than `bound` batches are in flight; False if `stop` is set."""
        with self._changed:
            while self._count >= bound:
                if stop.is_set():
                    return False
                self._changed.wait(poll)
        return not stop.is_set()


# --- messages into the UI thread ------------------------------------------------------------
class EngineOutputReady(Message):
    """Agent output is waiting in the App's OutputMerger (at most one of these in flight)."""


class OutputMerger:
    """The board's observer of an in-process engine.

    Events go to the UI as EngineEvent messages, except agent output: the engine must never
    wait for the UI, so its AgentOutput batches are merged here while the UI has not taken
    the previous ones, and one EngineOutputReady stands for all of them. A chatty agent thus
    costs the UI one message per turn of its loop, not one per batch. The queue is FIFO, so
    an event posted after some output is handled after the message that drains it.
    """

    def __init__(self, post: Callable[[Message], Any]) -> None:
        self._post = post
        self._lock = threading.Lock()
        self._pending: list[AgentOutput] = []
        self._posted = False

    def __call__(self, event: Event) -> None:
        if not isinstance(event, AgentOutput):
            self._post(EngineEvent(event))
            return
        with self._lock:
            last = self._pending[-1] if self._pending else None
            if last is not None and (last.item_id, last.phase, last.attempt) == (
                    event.item_id, event.phase, event.attempt):
                self._pending[-1] = AgentOutput(event.item_id, event.phase, event.attempt,
                                                last.lines + event.lines, at=event.at)
            else:
                self._pending.append(event)
            if self._posted:
                return
            self._posted = True
        self._post(EngineOutputReady())

    def take(self) -> list[AgentOutput]:
        """The merged output so far (the UI thread calls this when it handles the message)."""
        with self._lock:
            pending, self._pending = self._pending, []
            self._posted = False
        return pending


# --- messages into the UI thread ------------------------------------------------------------
class EngineEvent(Message):
    """An engine event, posted from the worker thread."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event
        """The engine's event."""

    def can_replace(self, message: Message) -> bool:
        # A burst of item changes only means "reload": keep one.
        return (isinstance(message, EngineEvent) and isinstance(self.event, ItemChanged)
                and isinstance(message.event, ItemChanged))


class BacklogLoaded(Message):
    """A fresh snapshot of BACKLOG.yaml was read."""

    def __init__(self, backlog: Backlog) -> None:
        super().__init__()
        self.backlog = backlog
        """The snapshot."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, BacklogLoaded)


class BacklogFailed(Message):
    """BACKLOG.yaml could not be read or is invalid."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error
        """The one-line error (`BACKLOG.yaml:LINE:COL: ...`)."""


class DetailLoaded(Message):
    """Details of one item (its files and attempts) were gathered."""

    def __init__(self, detail: ItemDetail) -> None:
        super().__init__()
        self.detail = detail
        """What the detail pane shows."""


class TailLines(Message):
    """A batch of lines from another process's log file."""

    def __init__(self, lines: tuple[AgentLine, ...], in_flight: InFlight | None = None) -> None:
        super().__init__()
        self.lines = lines
        """The batch."""
        self.in_flight = in_flight
        """Told when the batch is written (the tail's back-pressure)."""


class ActionDone(Message):
    """A backlog action (add, advance, unblock) ended: with the item, or with an error."""

    def __init__(self, verb: str, item: Item | None, error: str | None = None) -> None:
        super().__init__()
        self.verb = verb
        """`add`, `advance` or `unblock`."""
        self.item = item
        """The item as it is now, or None when the action was refused."""
        self.error = error
        """Why it was refused (a one-line message for the person)."""


class RunWatched(Message):
    """Another process's run was seen (pid) or is gone (None)."""

    def __init__(self, pid: int | None, log_path: Path | None) -> None:
        super().__init__()
        self.pid = pid
        """The pid holding the run lock, or None."""
        self.log_path = log_path
        """Its newest log file."""


# --- the command palette ---------------------------------------------------------------------
class ItemCommands(Provider):
    """`board: go to WRK-004 Add login page`: jump to an item by id or title."""

    def _items(self) -> tuple[Item, ...]:
        app = self.app
        backlog = app.backlog if isinstance(app, BoardApp) else None
        return backlog.items if backlog else ()

    async def discover(self) -> Hits:
        app = self.app
        for item in self._items()[:30]:
            if isinstance(app, BoardApp):
                text = f"go to {item.id} {item.title}"
                yield DiscoveryHit(Content(text), partial(app.jump_to, item.id), text=text,
                                   help=states.describe(item))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        app = self.app
        if not isinstance(app, BoardApp):
            return
        for item in self._items():
            text = f"go to {item.id} {item.title}"
            score = matcher.match(text)
            if score > 0:
                # highlight() reads markup: a title with [brackets] is shown plain instead.
                shown = Content(text) if "[" in text else matcher.highlight(text)
                yield Hit(score, shown, partial(app.jump_to, item.id), text=text,
                          help=states.describe(item))


KEY_HELP: tuple[tuple[str, str], ...] = (
    ("←↓↑→ hjkl", "move between cards and columns"),
    ("enter", "show / hide the card's details"),
    ("a", "add an item"),
    ("t", "triage the new items"),
    (">", "advance to an allowed status or phase"),
    ("u", "unblock, with notes for the agent"),
    ("r", "run; while running: pause after phase"),
    ("R", "run the selected item only"),
    ("d", "delete the selected item (asks first)"),
    ("s", "stop the run now (asks first)"),
    ("/", "filter the cards (Escape clears)"),
    ("L", "show / hide the log pane"),
    ("J", "raw JSON lines in the log pane"),
    ("f", "follow the log tail again"),
    ("ctrl+p", "commands; go to an item by id/title"),
    ("?", "this help"),
    ("q", "quit (asks while a run is live)"),
)
"""The help screen's text."""


class BoardApp(App[int]):
    """The kanban board of one project."""

    CSS_PATH = [STYLESHEET]
    TITLE = "orchestrate"
    COMMANDS = App.COMMANDS | {ItemCommands}
    AUTO_FOCUS = None  # the board focuses the first card once the backlog is loaded

    BINDINGS = [
        Binding("enter", "details", "Details", id="board.details",
                tooltip="Show or hide the details of the selected card"),
        Binding("a", "add", "Add", id="board.add", tooltip="Add an item to the backlog"),
        Binding("t", "triage", "Triage", id="board.triage",
                tooltip="Run triage agents on the new items"),
        Binding("greater_than_sign", "advance", "Advance", key_display=">",
                id="board.advance", tooltip="Move the selected item to an allowed status or phase"),
        Binding("u", "unblock", "Unblock", id="board.unblock",
                tooltip="Return a blocked item to where it was, with notes"),
        Binding("r", "run", "Run", id="board.run",
                tooltip="Run the pipeline on the ready items"),
        Binding("r", "pause", "Pause", id="board.pause",
                tooltip="Pause the run after the current phase attempt"),
        Binding("R", "run_item", "Run this", show=False, id="board.run_item",
                tooltip="Run the pipeline on the selected item only"),
        Binding("d", "delete", "Delete", show=False, id="board.delete",
                tooltip="Delete the selected item (asks first; its id is never reused)"),
        Binding("s", "stop", "Stop", id="board.stop", tooltip="Stop the run now (asks first)"),
        Binding("slash", "filter", "Filter", key_display="/", id="board.filter",
                tooltip="Show only the cards matching some text"),
        Binding("L", "toggle_log", "Log", id="board.log", tooltip="Show or hide the log pane"),
        Binding("J", "toggle_raw", "Raw", id="board.raw",
                tooltip="Show the agent's raw JSON lines in the log pane"),
        Binding("f", "follow_log", "Follow", id="board.follow",
                tooltip="Follow the tail of the log again"),
        Binding("escape", "close", "Close", show=False, id="board.close",
                tooltip="Close the filter or the details"),
        Binding("question_mark", "help", "Help", key_display="?", id="board.help",
                tooltip="Every key of the board"),
        Binding("q", "quit_board", "Quit", id="board.quit",
                tooltip="Quit (asks first while a run is live)"),
    ]

    run_state: reactive[str] = reactive("idle", bindings=True)
    """idle, running, pausing, stopping, triage or watching (the Footer follows it)."""
    detail_shown: reactive[bool] = reactive(False)
    """Whether the detail pane is open."""
    log_shown: reactive[bool] = reactive(False, bindings=True)
    """Whether the log pane is open."""
    backlog: var[Backlog | None] = var(None)
    """The last good snapshot of BACKLOG.yaml."""

    def __init__(self, project: Project, *, pipeline_factory: EngineFactory | None = None,
                 triage_factory: EngineFactory | None = None,
                 lock_holder: Callable[[Project], int | None] | None = None,
                 clock: Callable[[], float] = time.time, watch_files: bool = True,
                 demo: bool = False) -> None:
        super().__init__()
        _freeze_objects("imports")
        self.project = project
        """The project shown."""
        self.store = project.store()
        """Our reader of BACKLOG.yaml (writes go through app/engine/actions.py)."""
        self.pipeline_factory = pipeline_factory or default_pipeline
        """Makes the pipeline a run uses (tests pass a fake)."""
        self.triage_factory = triage_factory or default_triage
        """Makes the triage run `t` starts."""
        self.lock_holder = lock_holder or default_lock_holder
        """Who else holds the run lock."""
        self.clock = clock
        """Wall time; fixed in snapshot tests so no clock shows in the picture."""
        self.watch_files = watch_files
        """Watch BACKLOG.yaml and other runs (off in most tests)."""
        self.engine: Engine | None = None
        """The engine running in our worker thread, if any."""
        self.demo = demo
        self.output_merger = OutputMerger(self.post_message)
        """Observes the in-process engine; merges agent output the UI has not taken yet."""
        """`orchestrate demo`: a sample project run by the scripted agent (said on screen)."""
        self.demo_steps: list[str] = ["triage", "run"] if demo else []
        """`orchestrate demo`: what to start by itself, in order, once the board is up."""
        self.load_error: str | None = None
        """The current BACKLOG.yaml error, if the file is broken."""
        self.run_view = RunView()
        """What the header shows."""
        self.attempt_started: float | None = None
        """When the live attempt started (the engine's wall time), for the header's clock."""
        self.run_cost = 0.0
        """Dollars spent by this run so far (sum of finished attempts)."""
        self.watched_pid: int | None = None
        """The other process whose run the board is watching, if any."""
        self.watched_log: Path | None = None
        """The log file of that run being tailed."""
        self._tail_stop = threading.Event()
        self._reload_timer: Any = None
        self._quit_when_idle = False
        self._closing_flag = False
        self._watch_stop = asyncio.Event()
        self._watch_timer: Any = None
        self._watching = False

    def tell(self, message: str, *, severity: str = "information",
             timeout: float | None = None) -> None:
        """A toast with plain text: ids like [WRK-001] in messages are not markup."""
        self.notify(message, severity=severity, timeout=timeout,  # type: ignore[arg-type]
                    markup=False)

    # --- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield RunHeader(id="run-header",
                        label="DEMO · scripted agent" if self.demo else "")
        yield ErrorBanner(id="banner")
        yield Input(placeholder="filter: words in id, title, status, notes (Enter keeps, Escape "
                                "clears)", id="filter")
        with Horizontal(id="main"):
            yield Board(id="board")
            yield DetailPane(id="detail")
        yield LogPane(id="log-pane")
        yield Footer()

    def _part(self, selector: str, kind: type[W]) -> W:
        # The main screen's widgets, also while a modal screen is on top.
        return self.screen_stack[0].query_one(selector, kind)

    @property
    def board(self) -> Board:
        """The board widget."""
        return self._part("#board", Board)

    @property
    def log_pane(self) -> LogPane:
        """The log pane."""
        return self._part("#log-pane", LogPane)

    @property
    def detail_pane(self) -> DetailPane:
        """The detail pane."""
        return self._part("#detail", DetailPane)

    @property
    def filter_field(self) -> Input:
        """The filter text field."""
        return self._part("#filter", Input)

    def on_mount(self) -> None:
        self._first_load()
        self.set_interval(1.0, self._tick)

    def _first_load(self) -> None:
        """Read BACKLOG.yaml before the first frame, so that frame already shows the cards.

        Loading in a worker instead painted an empty board first and then the cards: two
        full frames, and the parse shared the interpreter with the first one, so the cards
        came ~50 ms later (1,000 items). A snapshot another process kept is read at any
        size; a file that needs parsing and is too big to parse at once (~5,000 items and
        more) is parsed in the worker, behind an empty board.
        """
        try:
            backlog = self.store.load_without_parsing()
            if backlog is None:
                if self.project.backlog_path.stat().st_size > SYNC_LOAD_MAX_BYTES:
                    self.reload()
                    return
                backlog = self.store.load()
        except OSError:
            self.reload()  # gone since it was read: the worker says what is wrong
            return
        except OrchestrateError as exc:
            self._backlog_failed(BacklogFailed(str(exc)))
            return
        self._backlog_loaded(BacklogLoaded(backlog))

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
        _freeze_objects("first-frame")
        if self.watch_files and not self._watching and not self.closing:
            self._watching = True
            self._follow_backlog_file()
            self._look_for_runs()

    @property
    def closing(self) -> bool:
        """Whether the App is shutting down (its widgets may be gone)."""
        if self._closing_flag or not self.screen_stack:
            return True
        # At shutdown Textual removes the widgets before this App hears on_unmount.
        return not self.screen_stack[0].query("#board")

    def on_unmount(self) -> None:
        self._closing_flag = True
        self._watch_stop.set()
        self._tail_stop.set()
        if self.engine is not None:
            self.engine.request_stop()

    def on_resize(self) -> None:
        self.screen.set_class(self.size.width < NARROW_WIDTH, "-narrow")

    def watch_detail_shown(self, shown: bool) -> None:
        pane = self.detail_pane
        pane.set_class(shown, "-shown")
        self._part("#main", Horizontal).set_class(shown, "-detail")
        if shown and self.board.selected_id:
            self._load_detail(self.board.selected_id)
        if shown and self.screen.has_class("-narrow"):
            pane.focus()  # the board is hidden: arrows scroll the details
        elif not shown:
            self._focus_board()

    def watch_log_shown(self, shown: bool) -> None:
        self.log_pane.set_class(shown, "-shown")

    def watch_run_state(self, state: str) -> None:
        self._show_header()

    # --- loading ------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read BACKLOG.yaml again (in a worker thread)."""
        self._reload_timer = None
        self._load_backlog()

    def schedule_reload(self) -> None:
        """Reload soon; a burst of calls makes one reload."""
        if self._reload_timer is None:
            self._reload_timer = self.set_timer(RELOAD_DEBOUNCE_S, self.reload)

    @work(thread=True, exclusive=True, exit_on_error=False, group="load",
          description="read BACKLOG.yaml")
    def _load_backlog(self) -> None:
        worker = get_current_worker()
        try:
            backlog = self.store.load()
        except OrchestrateError as exc:
            if not worker.is_cancelled:
                self.post_message(BacklogFailed(str(exc)))
            return
        if not worker.is_cancelled:
            self.post_message(BacklogLoaded(backlog))

    @on(BacklogLoaded)
    def _backlog_loaded(self, message: BacklogLoaded) -> None:
        if self.closing:
            return  # arrived while the App shuts down
        if self.load_error:
            self.load_error = None
            self._part("#banner", ErrorBanner).show_error(None)
            self.tell("BACKLOG.yaml is valid again", severity="information", timeout=3)
        if message.backlog is self.backlog:
            return
        first = self.backlog is None
        self.backlog = message.backlog
        self.board.show(message.backlog)
        self._show_header()
        if first:
            self._watch_soon()
        if first and self.demo_steps:
            self._next_demo_step()
        if self.detail_shown and self.board.selected_id:
            self._load_detail(self.board.selected_id)

    @on(BacklogFailed)
    def _backlog_failed(self, message: BacklogFailed) -> None:
        if self.closing:
            return  # arrived while the App shuts down
        self.load_error = message.error
        self._part("#banner", ErrorBanner).show_error(message.error)
        self._watch_soon()  # a broken file is watched too

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail",
          description="gather an item's details")
    def _load_detail(self, item_id: str) -> None:
        backlog = self.backlog
        if backlog is None or item_id not in backlog.by_id:
            return
        item = backlog.by_id[item_id]
        folder = self.project.root / item.change_dir
        try:
            files = sorted_files([str(p.relative_to(folder)) for p in folder.rglob("*")
                                  if p.is_file()])
        except OSError:
            files = ()
        attempts = tuple(worklog.for_item(worklog.read(self.project.worklog_path), item_id))
        if not get_current_worker().is_cancelled:
            self.post_message(DetailLoaded(ItemDetail(item, files, attempts)))

    @on(DetailLoaded)
    def _detail_loaded(self, message: DetailLoaded) -> None:
        if self.closing:
            return  # arrived while the App shuts down
        if message.detail.item.id == self.board.selected_id:
            self.detail_pane.show(message.detail)

    @on(Board.ItemHighlighted)
    def _item_highlighted(self, message: Board.ItemHighlighted) -> None:
        if self.closing:
            return  # arrived while the App shuts down
        if not self.detail_shown:
            return
        if message.item_id:
            self._load_detail(message.item_id)
        else:
            self.detail_pane.show(None)

    @on(Board.ItemSelected)
    def _item_selected(self, message: Board.ItemSelected) -> None:
        self.action_details()

    # --- watching the file and other runs ------------------------------------------------------
    @work(exclusive=True, exit_on_error=False, group="watch-backlog",
          description="watch BACKLOG.yaml")
    async def _follow_backlog_file(self) -> None:
        awatch = (await asyncio.to_thread(_import_watchfiles)).awatch
        name = self.project.backlog_path.name
        self.reload()  # a write between the first load and the watcher (cheap if none)

        def only_backlog(_change: object, path: str) -> bool:
            return Path(path).name == name

        # The folder, not the file: an atomic write replaces the file by rename.
        async for _changes in awatch(self.project.root, watch_filter=only_backlog,
                                     debounce=50, step=10, recursive=False,
                                     stop_event=self._watch_stop):
            self.reload()

    @work(exclusive=True, exit_on_error=False, group="watch-runs",
          description="look for a run in another process")
    async def _look_for_runs(self) -> None:
        while not self._watch_stop.is_set():
            if self.engine is None:
                try:
                    pid = await asyncio.to_thread(self.lock_holder, self.project)
                    if pid == os.getpid():
                        pid = None  # our own run, between starting it and its first event
                    log = await asyncio.to_thread(self.newest_log) if pid else None
                except OSError:  # a file vanished mid-look: look again next time
                    pid, log = self.watched_pid, self.watched_log
                if pid != self.watched_pid or log != self.watched_log:
                    self.post_message(RunWatched(pid, log))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._watch_stop.wait(), WATCH_POLL_S)

    def newest_log(self) -> Path | None:
        """The most recently changed log file of .orchestrator/logs/."""
        newest: tuple[float, Path] | None = None
        try:
            for path in self.project.logs_dir.iterdir():
                if path.suffix != ".log":
                    continue
                with contextlib.suppress(FileNotFoundError):  # removed meanwhile
                    mtime = path.stat().st_mtime
                    if newest is None or mtime > newest[0]:
                        newest = (mtime, path)
        except OSError:
            return None
        return newest[1] if newest else None

    @on(RunWatched)
    def _run_watched(self, message: RunWatched) -> None:
        if self.closing:
            return  # arrived while the App shuts down
        if self.engine is not None:
            return
        if message.pid is None:
            if self.watched_pid is not None:
                self.tell(f"the run of pid {self.watched_pid} ended", timeout=4)
            self.watched_pid = self.watched_log = None
            self._tail_stop.set()
            self.run_view = RunView()
            self.run_state = "idle"
            self._show_header()
            self.reload()
            return
        if self.watched_pid is None:
            self.log_shown = True
        self.watched_pid = message.pid
        if message.log_path != self.watched_log:
            self.watched_log = message.log_path
            match = LOG_NAME.match(message.log_path.name) if message.log_path else None
            self.run_view = RunView("watching", pid=message.pid,
                                    item_id=match["item"] if match else None,
                                    phase=match["phase"] if match else None,
                                    attempt=int(match["attempt"]) if match else None)
            if message.log_path is not None:
                self.log_pane.begin(
                    f"{match['item']} · {match['phase']} · attempt {match['attempt']} "
                    f"(pid {message.pid})" if match else message.log_path.name)
                self._tail_stop.set()
                self._tail_stop = threading.Event()
                self._tail(message.log_path, self._tail_stop)
        self.run_state = "watching"
        self._show_header()

    @work(thread=True, exclusive=True, exit_on_error=False, group="tail",
          description="tail another run's log")
    def _tail(self, path: Path, stop: threading.Event) -> None:
        try:
            fh = path.open("rb")
        except OSError:
            return
        in_flight = InFlight()
        with fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - TAIL_CHUNK))
            rest = b""
            if size > TAIL_CHUNK:
                fh.readline()  # a partial first line
            pending: list[AgentLine] = []
            from app.engine.streamjson import describe  # once, not per line

            while not stop.is_set():
                full = len(pending) >= TAIL_BATCH_MAX
                chunk = b"" if full else fh.read(TAIL_CHUNK)
                if chunk:
                    *complete, rest = (rest + chunk).split(b"\n")
                    pending.extend(describe(line.decode("utf-8", "replace"))
                                   for line in complete if line.strip())
                if not pending:
                    if not chunk:
                        stop.wait(0.2)
                    continue
                # Back-pressure (toolong's trick): never more than TAIL_IN_FLIGHT batches
                # ahead of the UI. While it is busy and there is more to read, read on into
                # the same batch: one message and one write for many lines.
                if chunk and not full and in_flight.count >= TAIL_IN_FLIGHT:
                    continue
                if not in_flight.wait_below(TAIL_IN_FLIGHT, stop):
                    break
                in_flight.add()
                self.post_message(TailLines(tuple(pending), in_flight))
                pending = []

    @on(TailLines)
    def _tail_lines(self, message: TailLines) -> None:
        try:
            if self.closing:
                return  # arrived while the App shuts down
            self.log_pane.add_lines(message.lines)
        finally:
            if message.in_flight is not None:
                message.in_flight.done()

    # --- the engine ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether our worker runs an engine."""
        return self.engine is not None or self.run_state in ("running", "pausing", "stopping",
                                                                "triage")

    def _start(self, kind: str, target: str | None = None) -> None:
        if self.running:
            self.tell("a run is already going", severity="warning")
            return
        if self.watched_pid is not None:
            self.tell(f"another run holds the lock (pid {self.watched_pid})",
                        severity="warning")
            return
        factory = self.pipeline_factory if kind == "run" else self.triage_factory
        self.run_cost = 0.0
        self.attempt_started = None
        self.run_view = RunView("running" if kind == "run" else "triage")
        self.run_state = self.run_view.state
        self.log_shown = True
        self._run_engine(kind, factory, target)

    @work(thread=True, exclusive=True, exit_on_error=False, group="engine",
          description="the engine")
    def _run_engine(self, kind: str, factory: EngineFactory, target: str | None) -> Any:
        bus = EventBus()
        unsubscribe = bus.subscribe(self.output_merger)
        try:
            engine = factory(self.project, bus, target)
            self.engine = engine
            return engine.run()
        finally:
            unsubscribe()
            self.engine = None

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if self.closing:
            return  # arrived while the App shuts down
        worker = event.worker
        if worker.state == WorkerState.ERROR:
            error = worker.error
            text = str(error) if isinstance(error, OrchestrateError) else \
                f"{worker.description} failed: {type(error).__name__}: {error}"
            self.tell(text, severity="error", timeout=8)
        if worker.group == "engine" and worker.is_finished:
            self.engine = None
            self.run_view = RunView()
            self.run_state = "idle"
            self._show_header()
            self.schedule_reload()
            if self._quit_when_idle:
                self.exit(0)
            elif self.demo_steps and worker.state == WorkerState.SUCCESS:
                self.set_timer(0.5, self._next_demo_step)

    @on(EngineOutputReady)
    def _engine_output(self, message: EngineOutputReady) -> None:
        for event in self.output_merger.take():
            self._engine_event(EngineEvent(event))

    @on(EngineEvent)
    def _engine_event(self, message: EngineEvent) -> None:
        if self.closing:
            return  # the last events of a run stopped by quitting
        event = message.event
        view = self.run_view
        if isinstance(event, RunStarted):
            self.log_shown = True
        elif isinstance(event, PhaseStarted):
            self.attempt_started = event.at
            self.run_view = RunView(self.run_state, event.item_id, event.phase, event.attempt,
                                    0.0, self.run_cost)
            self.log_pane.begin(f"{event.item_id} · {event.phase} · attempt {event.attempt}")
            self.board.selected_id = self.board.selected_id or event.item_id
        elif isinstance(event, AgentOutput):
            self.log_pane.add_lines(event.lines)
        elif isinstance(event, PhaseFinished):
            self.run_cost += event.cost_usd or 0.0
            self.run_view = RunView(self.run_state, view.item_id, view.phase, view.attempt,
                                    view.elapsed_s, self.run_cost)
            outcome = f"{event.item_id} {event.phase} #{event.attempt}: {event.outcome}"
            if event.reason:
                outcome += f" ({event.reason})"
            kind = "error" if event.outcome in ("failed", "timeout") else "result"
            self.log_pane.add_lines([AgentLine(kind, outcome, "")])
            self.schedule_reload()
            if self.detail_shown and self.board.selected_id == event.item_id:
                self._load_detail(event.item_id)  # a new worklog attempt to list
        elif isinstance(event, ItemChanged):
            self.schedule_reload()
        elif isinstance(event, Notice):
            if event.level in ("error", "warning"):
                self.tell(event.text, severity=event.level, timeout=8)
            else:  # checkpoints and the like: worth a line, not a toast
                self.log_pane.add_lines([AgentLine("system", event.text, "")])
        elif isinstance(event, RunFinished):
            what = "triage" if self.run_state == "triage" else "run"
            self.tell(f"{what} finished: {event.reason}", timeout=6,
                        severity="error" if event.exit_code else "information")
        self._show_header()

    def _tick(self) -> None:
        if self.closing:
            return  # the interval can fire after the widgets are gone
        if self.attempt_started is not None and self.run_state in ("running", "pausing",
                                                                   "stopping", "triage"):
            self._show_header()

    def _show_header(self) -> None:
        view = self.run_view
        elapsed = None
        if self.attempt_started is not None and view.item_id and view.state != "watching":
            elapsed = self.clock() - self.attempt_started
        counts = ""
        if self.backlog is not None:
            b = self.backlog
            counts = (f"{len(b.items)} items · {len(b.with_status('ready'))} ready · "
                      f"{len(b.with_status('blocked'))} blocked")
        shown = RunView(self.run_state, view.item_id, view.phase, view.attempt, elapsed,
                        self.run_cost, self.watched_pid, counts)
        self._part("#run-header", RunHeader).show(shown)

    def _next_demo_step(self) -> None:
        """The demo triages the new ideas, then runs the pipeline, by itself."""
        if self.demo_steps and not self.running and self.watched_pid is None:
            step = self.demo_steps.pop(0)
            if step == "triage" and self.backlog is not None \
                    and not self.backlog.with_status("new"):
                self._next_demo_step()
                return
            self._start(step)

    # --- keys ------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("run", "run_item"):
            return self.run_state in ("idle", "watching")
        if action == "pause":
            return self.run_state == "running"
        if action == "stop":
            return True if self.run_state in ("running", "pausing", "triage") else None
        if action in ("toggle_raw", "follow_log"):
            return self.log_shown  # log keys show in the Footer only with the log pane
        return True

    def selected_item(self) -> Item | None:
        """The selected item, or None (after telling the person why nothing happens)."""
        item_id = self.board.selected_id
        if self.backlog is None or item_id is None or item_id not in self.backlog.by_id:
            self.tell("no item selected", severity="warning", timeout=3)
            return None
        return self.backlog.by_id[item_id]

    def action_details(self) -> None:
        """Open or close the detail pane."""
        self.detail_shown = not self.detail_shown

    def action_add(self) -> None:
        """Ask for a new item and add it."""
        def done(new: NewItem | None) -> None:
            if new is not None:
                self._act("add", partial(actions.add_item, self.project, new.title,
                                         size=new.size, risk=new.risk, notes=new.notes))
        from widgets.modals import AddItemScreen
        self.push_screen(AddItemScreen(), done)

    def action_advance(self) -> None:
        """Ask where to move the selected item, from the allowed moves, and move it."""
        item = self.selected_item()
        if item is None:
            return
        targets = advance_targets(item)
        if not targets:
            self.tell(f"{item.id} cannot be moved from {states.describe(item)}",
                        severity="warning")
            return

        def done(choice: AdvanceChoice | None) -> None:
            if choice is not None:
                self._act("advance", partial(actions.advance, self.project, item.id,
                                             choice.target, reason=choice.reason))
        from widgets.modals import AdvanceScreen
        self.push_screen(AdvanceScreen(item, targets), done)

    def action_unblock(self) -> None:
        """Ask for notes and unblock the selected item."""
        item = self.selected_item()
        if item is None:
            return
        try:
            back = states.unblock_target(item)
        except OrchestrateError as exc:
            self.tell(str(exc), severity="warning")
            return

        def done(notes: str | None) -> None:
            if notes is not None:
                self._act("unblock", partial(actions.unblock, self.project, item.id,
                                             notes or None))
        from widgets.modals import UnblockScreen
        self.push_screen(UnblockScreen(item, str(back)), done)

    @work(thread=True, exit_on_error=False, group="action", description="change the backlog")
    def _act(self, verb: str, action: Callable[[], Item]) -> None:
        """Run one store transaction off the UI thread (the store lock may be busy)."""
        try:
            item = action()
        except OrchestrateError as exc:  # an illegal move, a lock that stayed busy, ...
            self.post_message(ActionDone(verb, None, str(exc)))
            return
        self.post_message(ActionDone(verb, item))

    @on(ActionDone)
    def _acted(self, message: ActionDone) -> None:
        if self.closing:
            return  # arrived while the App shuts down
        item = message.item
        if item is None:
            self.tell(message.error or f"{message.verb} failed", severity="error", timeout=8)
            return
        if message.verb == "delete":
            self.tell(f"{item.id} deleted; its id will not be reused", timeout=4)
            self.reload()  # the next card of its column is selected
            return
        past = {"add": "added", "advance": "moved", "unblock": "unblocked"}.get(
            message.verb, message.verb)
        self.tell(f"{item.id} {past}: {states.describe(item)}", timeout=4)
        self.board.selected_id = item.id
        self.reload()

    def action_triage(self) -> None:
        """Triage the new items with agents."""
        if self.backlog is not None and not self.backlog.with_status("new"):
            self.tell("no new items to triage", timeout=3)
            return
        self._start("triage")

    def action_run(self) -> None:
        """Run the pipeline on the ready items."""
        self._start("run")

    def action_run_item(self) -> None:
        """Run the pipeline on the selected item only (`orchestrate run ID`)."""
        item = self.selected_item()
        if item is None:
            return
        if item.status not in states.RUNNABLE:  # the pipeline would only say so
            self.tell(f"{item.id} is {states.describe(item)}: only ready or in-progress "
                      "items run", severity="warning")
            return
        self._start("run", item.id)

    def action_delete(self) -> None:
        """Delete the selected item, after asking (never the one a run is working on)."""
        item = self.selected_item()
        if item is None:
            return
        if self.running and self.run_view.item_id == item.id:
            self.tell(f"{item.id} is being run: stop the run first", severity="warning")
            return
        dependents = [i.id for i in self.backlog.items if item.id in i.depends_on] \
            if self.backlog else []
        question = f"Delete {item.id} {item.title}? Its id is never reused."
        if dependents:
            question += f" {', '.join(dependents)} depend{'s' if len(dependents) == 1 else ''}" \
                        " on it."

        def done(yes: bool | None) -> None:
            if yes:
                self._act("delete", partial(actions.delete_item, self.project, item.id))
        from widgets.modals import ConfirmScreen
        self.push_screen(ConfirmScreen(question, yes="Delete"), done)

    def action_pause(self) -> None:
        """Finish the current phase attempt, then stop."""
        engine = self.engine
        if engine is not None and hasattr(engine, "request_pause"):
            engine.request_pause()
            self.run_state = "pausing"
            self.tell("pausing after the current phase", timeout=4)

    def action_stop(self) -> None:
        """Stop the run now, after asking."""
        if self.engine is None:
            return

        def done(yes: bool | None) -> None:
            if yes and self.engine is not None:
                self.engine.request_stop()
                self.run_state = "stopping"
        from widgets.modals import ConfirmScreen
        self.push_screen(ConfirmScreen("Stop the run now? The item stays resumable.",
                                       yes="Stop"), done)

    def action_filter(self) -> None:
        """Show the filter field."""
        field = self.filter_field
        field.add_class("-shown")
        field.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self.backlog is not None:
            self.board.show(self.backlog, event.value.strip())

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            event.input.remove_class("-shown")
        self._focus_board()

    def _focus_board(self) -> None:
        board = self.board
        column = board.column_of(board.selected_id) if board.selected_id else None
        if column is not None:
            column.focus()
        else:
            board.select_first()

    def action_close(self) -> None:
        """Escape: close the filter (clearing it), else the details."""
        field = self.filter_field
        if field.has_class("-shown") and (field.has_focus or field.value):
            field.value = ""
            field.remove_class("-shown")
            if self.backlog is not None:
                self.board.show(self.backlog, "")
            self._focus_board()
        elif self.detail_shown:
            self.detail_shown = False

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

    def action_help(self) -> None:
        """Show every key."""
        from widgets.modals import HelpScreen
        self.push_screen(HelpScreen(KEY_HELP))

    def action_quit_board(self) -> None:
        """Quit; while a run is live, ask first and stop it."""
        if self.engine is None:
            self.exit(0)
            return

        def done(yes: bool | None) -> None:
            if not yes:
                return
            if self.engine is None:
                self.exit(0)
                return
            self._quit_when_idle = True
            self.engine.request_stop()
            self.run_state = "stopping"
            self.tell("stopping the run, then quitting…")
        from widgets.modals import ConfirmScreen
        self.push_screen(ConfirmScreen("A run is live. Stop it and quit?", yes="Quit"), done)

    def jump_to(self, item_id: str) -> None:
        """Select `item_id`, clearing a filter that hides it."""
        if not self.board.select(item_id) and self.backlog is not None:
            field = self.filter_field
            field.value = ""
            field.remove_class("-shown")
            self.board.selected_id = item_id
            self.board.show(self.backlog, "")
        self.board.select(item_id)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        commands = (
            ("board: add item", "Add an item to the backlog", self.action_add),
            ("board: advance item", "Move the selected item", self.action_advance),
            ("board: unblock item", "Unblock the selected item, with notes",
             self.action_unblock),
            ("board: triage", "Triage the new items", self.action_triage),
            ("board: run", "Run the pipeline on the ready items", self.action_run),
            ("board: pause", "Pause after the current phase", self.action_pause),
            ("board: stop", "Stop the run now", self.action_stop),
            ("board: filter", "Show only matching cards", self.action_filter),
            ("board: toggle details", "Show or hide the detail pane", self.action_details),
            ("board: toggle log", "Show or hide the log pane", self.action_toggle_log),
            ("board: raw log lines", "Toggle raw JSON in the log pane", self.action_toggle_raw),
            ("board: help", "Every key of the board", self.action_help),
        )
        for title, help_text, callback in commands:
            yield SystemCommand(title, help_text, callback)


def advance_targets(item: Item) -> list[str]:
    """Where a person may move `item`: statuses, with in_progress spelled as its phases."""
    allowed = states.allowed_statuses(item, by_person=True)
    targets: list[str] = []
    for status in STATUSES:
        if status not in allowed:
            continue
        if status == "in_progress":
            targets.extend(p for p in PHASES
                           if not (item.status == "in_progress" and p == item.phase))
        else:
            targets.append(status)
    return targets


def run_board(project: Project, *, demo: bool = False) -> int:
    """Open the board on `project`; the exit code of `orchestrate board`.

    With `demo`, the board triages the new items and then runs the pipeline by itself.
    """
    app = BoardApp(project, demo=demo)
    result = app.run()
    if app.return_code:  # the App stopped on an error (Textual printed it)
        return app.return_code
    return int(result or 0)
