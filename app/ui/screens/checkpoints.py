"""The checkpoints view (`c` on the board): an item's checkpoint commits, the highlighted
one's `git show --stat` beside them, and its whole diff one key away (`g` or enter; `g`
again for the stat), Escape back to the board.

Git is asked in workers (app/engine/commits.py), one at a time: moving quickly through
the list asks only for the commit the person stops on. A diff is shown up to
commits.MAX_DIFF_LINES lines, with a last line saying how to see the rest; the view draws
only the lines on screen, so a long diff costs no more to scroll than a short one.
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.worker import get_current_worker

from app.backlog.model import Item, visible
from app.engine import commits
from app.engine.project import Project
from app.errors import OrchestrateError
from app.ui import keys
from app.ui.screens.documents import READING_STYLESHEET
from widgets.detail import CheckpointRow
from widgets.diffview import DiffView
from widgets.reading import CheckpointList

NARROW_WIDTH = 120
"""Below this many columns the list sits above the stat or diff instead of beside it."""


def commit_lines(root: Path, commit: str, whole: bool, width: int) -> tuple[tuple[str, str], ...]:
    """What the view shows of `commit`: its stat, or its whole diff up to MAX_DIFF_LINES
    lines and then a note (runs git)."""
    if not whole:
        return tuple(commits.line_kinds(commits.stat(root, commit, width).splitlines()))
    diff = commits.diff(root, commit, width, max_lines=commits.MAX_DIFF_LINES)
    lines = tuple(commits.line_kinds(diff.lines))
    if diff.cut:
        lines += (("note", f"… the diff goes on: shown up to {commits.MAX_DIFF_LINES:,} "
                           f"lines; `git show {commit[:12]}` shows it whole"),)
    return lines


class CheckpointsScreen(Screen[None]):
    """One item's checkpoint commits with their stat or whole diff."""

    class Loaded(Message, bubble=False):
        """The item's checkpoint commits were read."""

        def __init__(self, log: commits.CheckpointLog) -> None:
            super().__init__()
            self.log = log
            """The commits, or why none could be read."""

    class CommitShown(Message, bubble=False):
        """A commit's stat or whole diff was read (or git failed: `error`)."""

        def __init__(self, commit: str, whole: bool, lines: tuple[tuple[str, str], ...],
                     error: str | None = None) -> None:
            super().__init__()
            self.commit = commit
            self.whole = whole
            """The whole diff (else the stat)."""
            self.lines = lines
            """(kind, line) pairs to show."""
            self.error = error

    KEY_SCOPE = "checkpoints"
    """The key table's scope of this view (app/ui/keys.py)."""
    BINDINGS = keys.bindings("checkpoints")
    CSS_PATH = [READING_STYLESHEET]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW_WIDTH, "-wide")]

    def __init__(self, project: Project, item: Item) -> None:
        super().__init__()
        self.project = project
        """The project the item belongs to."""
        self.item = item
        """Whose checkpoints are shown."""
        self.checkpoint_log = commits.CheckpointLog()
        """The commits read."""
        self.selected: str | None = None
        """The highlighted commit."""
        self.whole = False
        """Whether the view shows the whole diff (else the stat)."""

    def compose(self) -> ComposeResult:
        title = f"{self.item.id} · {visible(self.item.title, one_line=True)} · checkpoints"
        yield Static(title, id="reading-title", markup=False)
        with Horizontal(id="checkpoints-main"):
            yield CheckpointList(id="checkpoint-list", markup=False)
            yield DiffView(id="checkpoint-view")
        yield Footer()

    @property
    def checkpoint_list(self) -> CheckpointList:
        """The list of commits."""
        return self.query_one(CheckpointList)

    @property
    def view(self) -> DiffView:
        """The stat or diff of the highlighted commit."""
        return self.query_one(DiffView)

    def on_mount(self) -> None:
        self.checkpoint_list.border_title = "checkpoints"
        self.view.border_title = "stat"
        self.checkpoint_list.focus()
        root, item_id = self.project.root, self.item.id
        self.run_worker(lambda: self._read(root, item_id), name="checkpoints",
                        group="checkpoints", thread=True, exclusive=True,
                        exit_on_error=False, description="read the item's checkpoints")

    def _read(self, root: Path, item_id: str) -> None:
        log = commits.checkpoints(root, item_id)
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(log))

    @on(Loaded)
    def _loaded(self, message: CheckpointsScreen.Loaded) -> None:
        self.checkpoint_log = message.log
        found = message.log.checkpoints
        self.checkpoint_list.border_title = f"checkpoints · {len(found)}"
        if not found:
            why = message.log.unavailable or "none yet: a completed phase makes one"
            self.view.show([("note", f"{self.item.id} has no checkpoints: {why}")])
            return
        self.checkpoint_list.show_checkpoints(
            [c.commit for c in found],
            [CheckpointRow(c.short, c.when, c.phase or "", c.summary) for c in found])

    @on(OptionList.OptionHighlighted, "#checkpoint-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.selected = event.option_id
        self._ask()

    @on(OptionList.OptionSelected, "#checkpoint-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.action_toggle_diff()

    def _ask(self) -> None:
        """Read the selected commit's stat or diff, as the view shows now (in a worker)."""
        commit, whole = self.selected, self.whole
        if commit is None:
            return
        root, width = self.project.root, max(self.view.size.width - 2, 60)
        self.run_worker(lambda: self._show(root, commit, whole, width), name="commit",
                        group="commit", thread=True, exclusive=True, exit_on_error=False,
                        description="ask git for a checkpoint")

    def _show(self, root: Path, commit: str, whole: bool, width: int) -> None:
        try:
            message = self.CommitShown(commit, whole,
                                       commit_lines(root, commit, whole, width))
        except OrchestrateError as exc:
            message = self.CommitShown(commit, whole, (), str(exc))
        if not get_current_worker().is_cancelled:
            self.post_message(message)

    @on(CommitShown)
    def _commit_shown(self, message: CheckpointsScreen.CommitShown) -> None:
        if message.commit != self.selected or message.whole != self.whole:
            return  # the person has moved on
        short = message.commit[:7]
        self.view.border_title = f"{'diff' if message.whole else 'stat'} · {short}"
        self.view.border_subtitle = "g: the stat" if message.whole else "g: the whole diff"
        self.view.show(message.lines if message.error is None
                       else [("note", message.error)])

    def action_toggle_diff(self) -> None:
        """The whole diff of the highlighted checkpoint, or its stat again."""
        if self.selected is None:
            return
        self.whole = not self.whole
        self._ask()
        if self.whole:
            self.view.focus()  # the arrows scroll the diff
        else:
            self.checkpoint_list.focus()

    def action_close_view(self) -> None:
        """Back to the board."""
        self.dismiss(None)
