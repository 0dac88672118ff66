"""The review view (`v` on a card that waits for review): everything a person reads before
merging, on one screen: the branch's whole change against the checked-out branch, the
item's documents (`m`: the next one), SPEC progress, attempts and cost; `A` approves, `X`
rejects (the main screen acts on the answer), Escape goes back to the board.

Git, the worklog and the documents are read in workers (app/engine/reviewing.py,
changes.py); the diff is shown up to commits.MAX_DIFF_LINES lines.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from app.backlog.model import Item, visible
from app.engine import changes, reviewing
from app.engine.project import Project
from app.errors import OrchestrateError
from app.ui import keys
from app.ui.screens.documents import MAX_SHOWN_BYTES, READING_STYLESHEET, shown_text
from widgets.diffview import DiffView
from widgets.reading import DocumentView

NARROW_WIDTH = 120
"""Below this many columns the documents sit above the diff instead of beside it."""


class ReviewScreen(Screen[str | None]):
    """One item held for review; dismissed with `approve`, `reject` or None."""

    class Read(Message, bubble=False):
        """What the review shows was read (`error`: git could not diff the branch)."""

        def __init__(self, facts: reviewing.ReviewFacts,
                     documents: tuple[changes.Document, ...],
                     diff: tuple[tuple[str, str], ...]) -> None:
            super().__init__()
            self.facts = facts
            self.documents = documents
            self.diff = diff

    KEY_SCOPE = "review"
    """The key table's scope of this view (app/ui/keys.py)."""
    BINDINGS = keys.bindings("review")
    CSS_PATH = [READING_STYLESHEET]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW_WIDTH, "-wide")]

    def __init__(self, project: Project, item: Item) -> None:
        super().__init__()
        self.project = project
        self.item = item
        """The item under review."""
        self.documents: tuple[changes.Document, ...] = ()
        self.current = 0
        """The document shown."""

    def compose(self) -> ComposeResult:
        state = "approved, not merged yet" if self.item.status == "approved" \
            else "waits for your review"
        title = f"{self.item.id} · {visible(self.item.title, one_line=True)} · {state}"
        yield Static(title, id="reading-title", markup=False)
        yield Static("reading …", id="review-facts", markup=False)
        with Horizontal(id="review-main"):
            yield DocumentView(id="documents")
            yield DiffView(id="review-diff")
        yield Footer()

    @property
    def diff_view(self) -> DiffView:
        return self.query_one(DiffView)

    @property
    def document_view(self) -> DocumentView:
        return self.query_one(DocumentView)

    def on_mount(self) -> None:
        self.diff_view.border_title = "diff"
        self.diff_view.focus()
        project, item, width = self.project, self.item, max(self.size.width // 2 - 2, 60)
        self.run_worker(lambda: self._read(project, item, width), name="review",
                        group="review", thread=True, exclusive=True, exit_on_error=False,
                        description="read the item's review")

    def _read(self, project: Project, item: Item, width: int) -> None:
        facts = reviewing.facts(project, item)
        documents = changes.read_documents(project.root, item, MAX_SHOWN_BYTES)
        try:
            diff = reviewing.diff(project.root, facts.branch, width)
        except OrchestrateError as exc:
            diff = (("note", str(exc)),)
        if not get_current_worker().is_cancelled:
            self.post_message(self.Read(facts, documents, diff))

    @on(Read)
    def _read_done(self, message: ReviewScreen.Read) -> None:
        self.query_one("#review-facts", Static).update(
            message.facts.line())
        self.diff_view.border_title = f"diff · {message.facts.branch}"
        self.diff_view.show(message.diff)
        self.documents = message.documents
        self.current = 0
        if not self.documents:
            self.document_view.show_nothing(f"no documents in {self.item.change_dir}/")
        else:
            self._show()

    def _show(self) -> None:
        names = [d.name for d in self.documents]
        self.document_view.show(names, self.current, shown_text(self.documents[self.current]))

    def action_next_document(self) -> None:
        """The next document (after the last, the first again)."""
        if len(self.documents) > 1:
            self.current = (self.current + 1) % len(self.documents)
            self._show()

    def action_approve(self) -> None:
        """Approve: the main screen merges it."""
        self.dismiss("approve")

    def action_reject(self) -> None:
        """Reject: the main screen asks for notes."""
        self.dismiss("reject")

    def action_close_view(self) -> None:
        """Back to the board."""
        self.dismiss(None)

