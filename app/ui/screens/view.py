"""What the main screen shows: the layout, the view's state and the keys that change only
what is shown.

The header, the error banner, the filter field, the columns with the detail pane beside
them, the log pane and the Footer. `BoardView` holds the view's state, the run state
among it (`run`: one `RunState`, replaced whole by `set_run`, which the header is bound
to and the Footer follows), and what every job may ask of the screen to show something:
a toast, a question, a dialog, the bell. The work is MainScreen's (app/ui/screens/main.py),
which hands it to its jobs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive, var
from textual.screen import Screen
from textual.widgets import Footer, Input

from app.backlog.model import Backlog, Item, visible
from app.ui.jobs import alerts
from widgets.board import Board
from widgets.detail import DetailPane
from widgets.filter import FilterField
from widgets.logpane import LogPane
from widgets.status import ErrorBanner, RunHeader, RunState, RunStateName

NARROW_WIDTH = 120
"""Below this many columns the details replace the board instead of sitting beside it."""
Answer = TypeVar("Answer")

# Which keys the Footer offers in which run state (check_action).
RUN_WHEN: tuple[RunStateName, ...] = ("idle",)
"""`r` runs while nothing runs (and pauses a live run, ours or the watched one)."""
START_WHEN: tuple[RunStateName, ...] = ("idle", "watching")
"""`R` and `D` (while watching, they say who holds the lock)."""
PAUSE_WHEN: tuple[RunStateName, ...] = ("running", "watching")
STOP_WHEN: tuple[RunStateName, ...] = ("running", "pausing", "triage", "watching")


def resume_time(at: float, now: float) -> str:
    """When a usage limit's pause ends, as the header says it (app/engine/limits.py's,
    imported when a limit is first shown, not for the first frame)."""
    from app.engine.limits import clock_time

    return clock_time(at, now)


class BoardView(Screen[None]):
    """The board's layout and the view's state (MainScreen adds the work)."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW_WIDTH, "-wide")]

    run: var[RunState] = var(RunState())
    """The run, ours or another process's: the one place it is kept (`set_run`)."""
    detail_shown: reactive[bool] = reactive(False)
    """Whether the detail pane is open."""
    log_shown: reactive[bool] = reactive(False, bindings=True)
    """Whether the log pane is open (the log keys show in the Footer only then)."""
    backlog: var[Backlog | None] = var(None)
    """The last good snapshot of BACKLOG.yaml."""

    def __init__(self, *, clock: Callable[[], float], label: str = "") -> None:
        super().__init__()
        self._clock = clock
        self._label = label
        self._closing = False

    # --- layout -----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield RunHeader(id="run-header", label=self._label, clock=self._clock,
                        resume_time=resume_time).data_bind(BoardView.run, BoardView.backlog)
        yield ErrorBanner(id="banner")
        yield FilterField(id="filter")
        with Horizontal(id="main"):
            yield Board(id="board")
            yield DetailPane(id="detail")
        yield LogPane(id="log-pane")
        yield Footer()

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Textual styles every widget as it mounts, then, as this default screen first
        # resumes (just after), styles the whole tree again with nothing changed between:
        # the seven columns and each one's five option styles twice, ~3 ms of the first
        # frame. This handler runs before Screen's own, which skips that pass when told
        # to. Later resumes (Screen counts them in `stack_updates`) are left as Textual
        # sends them.
        if self.stack_updates == 0:
            event.refresh_styles = False

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

    # --- the run state ----------------------------------------------------------------------------
    @property
    def run_state(self) -> RunStateName:
        """The run's state (`run.state`)."""
        return self.run.state

    def set_run(self, run: RunState) -> None:
        """The run changed: the one way every job changes it (`replace(screen.run, ...)`)."""
        self.run = run

    def watch_run(self, old: RunState, new: RunState) -> None:
        if old.state != new.state:
            self.refresh_bindings()  # the Footer's run keys follow the state

    def watch_log_shown(self, shown: bool) -> None:
        self.log_pane.set_class(shown, "-shown")

    # --- what is shown ----------------------------------------------------------------------------
    def tell(self, message: str, *, severity: str = "information",
             timeout: float | None = None) -> None:
        """A toast with plain text: ids like [WRK-001] in messages are not markup, and an
        agent's or a title's control characters show escaped."""
        self.notify(visible(message), severity=severity,  # type: ignore[arg-type]
                    timeout=timeout, markup=False)

    def confirm(self, question: str, yes: str, then: Callable[[bool | None], None]) -> None:
        """Ask a yes/no question; `then` hears the answer."""
        from app.ui.dialogs.confirm import ConfirmScreen

        self.app.push_screen(ConfirmScreen(question, yes=yes), then)

    def show_dialog(self, dialog: Screen[Answer],
                    then: Callable[[Answer | None], None]) -> None:
        """Open `dialog`; `then` hears what the person chose (None: cancelled)."""
        self.app.push_screen(dialog, then)

    def ring(self, text: str) -> None:
        """The bell, with a desktop notification of `text`."""
        alerts.ring(self.app, text)

    def exit_board(self, code: int) -> None:
        """Close the board with exit code `code`."""
        self.app.exit(code)

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

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self.backlog is not None:
            self.board.show(self.backlog, event.value.strip())

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.board.focus_selected()

    # --- the keys that change what is shown (app/ui/keys.py) --------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.run.state
        if action == "run":
            return state in RUN_WHEN
        if action in ("run_item", "detach"):
            return state in START_WHEN
        if action == "pause":
            return state in PAUSE_WHEN
        if action == "stop":
            return True if state in STOP_WHEN else None
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
