"""The documents view (`m` on the board): an item's change documents rendered as Markdown,
`m` again for the next one, Escape back to the board.

The documents are read in a worker (app/engine/changes.py: PRD.md, RESEARCH.md,
DESIGN.md, SPEC.md, REVIEW.md, then the other .md files alphabetically), each cut at
MAX_SHOWN_BYTES: Textual's Markdown widget lays out every block it is given, and a
document longer than that is better read in an editor (the view says where).
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

import styles
from app.backlog.model import Item, visible
from app.engine import changes
from app.engine.project import Project
from app.ui import keys
from widgets.reading import DocumentView

READING_STYLESHEET = Path(styles.__file__).parent / "reading.tcss"
"""The stylesheet of the documents and checkpoints views (next to the styles package, so a
wheel install finds it)."""
MAX_SHOWN_BYTES = 200_000
"""A document is shown up to this many bytes (a note at its end says where the rest is)."""


def shown_text(document: changes.Document) -> str:
    """The Markdown shown for `document`: its text, and where the rest is when it was cut."""
    if not document.cut:
        return document.text
    kb = MAX_SHOWN_BYTES // 1000
    return (document.text + f"\n\n---\n\n*… shown up to {kb} kB: the whole document is "
            f"`{document.path}`*\n")


class DocumentsScreen(Screen[None]):
    """One item's change documents, one at a time."""

    class Loaded(Message, bubble=False):
        """The item's documents were read."""

        def __init__(self, documents: tuple[changes.Document, ...]) -> None:
            super().__init__()
            self.documents = documents
            """The documents, in reading order."""

    KEY_SCOPE = "documents"
    """The key table's scope of this view (app/ui/keys.py)."""
    BINDINGS = keys.bindings("documents")
    CSS_PATH = [READING_STYLESHEET]

    def __init__(self, project: Project, item: Item) -> None:
        super().__init__()
        self.project = project
        """The project the item belongs to."""
        self.item = item
        """Whose documents are shown."""
        self.documents: tuple[changes.Document, ...] = ()
        """The documents read, in reading order."""
        self.current = 0
        """The index of the one shown."""

    def compose(self) -> ComposeResult:
        title = f"{self.item.id} · {visible(self.item.title, one_line=True)} · documents"
        yield Static(title, id="reading-title", markup=False)
        yield DocumentView(id="documents")
        yield Footer()

    @property
    def view(self) -> DocumentView:
        """The document widget."""
        return self.query_one(DocumentView)

    def on_mount(self) -> None:
        self.view.scroller.focus()
        item, root = self.item, self.project.root
        self.run_worker(lambda: self._read(root, item), name="documents", group="documents",
                        thread=True, exclusive=True, exit_on_error=False,
                        description="read the item's documents")

    def _read(self, root: Path, item: Item) -> None:
        documents = changes.read_documents(root, item, MAX_SHOWN_BYTES)
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(documents))

    @on(Loaded)
    def _loaded(self, message: DocumentsScreen.Loaded) -> None:
        self.documents = message.documents
        self.current = 0
        if not self.documents:
            self.view.show_nothing(f"no documents yet in {self.item.change_dir}/")
            return
        self._show()

    def _show(self) -> None:
        names = [d.name for d in self.documents]
        self.view.show(names, self.current, shown_text(self.documents[self.current]))

    def action_next_document(self) -> None:
        """The next document (after the last, the first again)."""
        if len(self.documents) > 1:
            self.current = (self.current + 1) % len(self.documents)
            self._show()

    def action_close_view(self) -> None:
        """Back to the board."""
        self.dismiss(None)
