"""Reading an item: its change documents as rendered Markdown, and the list of its
checkpoint commits. The screens (app/ui/screens/documents.py, checkpoints.py) read the
files and ask git in workers; these widgets only show what they are given, every text
with its control characters escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Markdown, OptionList, Static
from textual.widgets.option_list import Option

from app.backlog.model import visible
from widgets.detail import NBSP, CheckpointRow


def tab_line(names: Sequence[str], current: int) -> Content:
    """`PRD.md · DESIGN.md · SPEC.md` with the current one picked out."""
    parts: list[Content | str | tuple[str, str]] = []
    for index, name in enumerate(names):
        if index:
            parts.append((f"{NBSP}·{NBSP}", "$text-muted"))
        shown = visible(name, one_line=True).replace(" ", NBSP)
        parts.append((f"{NBSP}{shown}{NBSP}", "reverse bold $text-accent" if index == current
                      else "$text-muted"))
    return Content.assemble(*parts)


class DocumentView(Vertical):
    """The names of an item's documents (the current one picked out) over the current
    document, rendered as Markdown in a scrolling pane."""

    DEFAULT_CSS = """
    DocumentView { height: 1fr; }
    DocumentView > #doc-tabs { height: auto; }
    DocumentView > #doc-scroll { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.name_shown: str | None = None
        """The document shown, if any."""

    def compose(self) -> ComposeResult:
        yield Static(Content.styled("reading …", "$text-muted"), id="doc-tabs")
        with VerticalScroll(id="doc-scroll"):
            yield Markdown(id="doc-body", open_links=False)

    @property
    def scroller(self) -> VerticalScroll:
        """The pane that scrolls the document."""
        return self.query_one("#doc-scroll", VerticalScroll)

    def show(self, names: Sequence[str], current: int, text: str) -> None:
        """Show document `current` of `names`, whose Markdown is `text`."""
        self.name_shown = names[current]
        self.query_one("#doc-tabs", Static).update(tab_line(names, current))
        self.query_one("#doc-body", Markdown).update(visible(text))
        self.scroller.scroll_home(animate=False)

    def show_nothing(self, why: str) -> None:
        """No document to show, and why (`no documents yet in changes/…/`)."""
        self.name_shown = None
        self.query_one("#doc-tabs", Static).update(
            Content.styled(visible(why, one_line=True), "$text-muted"))
        self.query_one("#doc-body", Markdown).update("")


def checkpoint_prompt(row: CheckpointRow) -> Content:
    """`a1b2c3d 2026-11-22 10:02 PRD  PRD written`."""
    return Content.assemble(
        (visible(row.short, one_line=True), "$text-accent"), NBSP,
        (visible(row.when, one_line=True), "$text-muted"), NBSP,
        (visible(row.phase.upper() or "—", one_line=True), "bold"), NBSP,
        visible(row.summary, one_line=True))


class CheckpointList(OptionList):
    """An item's checkpoint commits, oldest first; the option ids are the commits."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="checkpoints.down",
                tooltip="Next checkpoint"),
        Binding("k", "cursor_up", "Up", show=False, id="checkpoints.up",
                tooltip="Previous checkpoint"),
    ]

    def show_checkpoints(self, commits: Sequence[str], rows: Sequence[CheckpointRow]) -> None:
        """List `rows`, whose commits (full hashes) are `commits`; the first highlighted."""
        self.set_options([Option(checkpoint_prompt(row), id=commit)
                          for commit, row in zip(commits, rows, strict=True)])
        if rows:
            self.highlighted = 0
