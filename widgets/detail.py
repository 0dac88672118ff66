"""The detail pane: every field of the selected item, its notes, its change folder's
files and its worklog attempts. The App gathers and formats the data (file I/O happens off
the UI thread); this widget only renders it, every text with its control characters
escaped (a title, the notes, an agent's reason or a file name never drive the terminal).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from app.backlog.model import Item, visible
from app.backlog.states import describe
from widgets.cards import phase_bar

NBSP = "\u00a0"
"""Indents and gaps that wrapping must keep."""
FIELDS: tuple[str, ...] = (
    "status", "phase", "size", "complexity", "risk", "depends_on", "blocked_reason",
    "blocked_from", "origin", "created", "updated",
)
"""Fields listed in the pane, in this order (title, id and notes are shown apart)."""


@dataclass(frozen=True)
class Attempt:
    """One worklog attempt, formatted for the pane (`2026-11-24 10:02 prd #1 3m12s ...`)."""

    when: str
    """When it started (`2026-11-24 10:02`), or empty."""
    phase: str
    attempt: str
    """Its number (`2`)."""
    duration: str
    """How long it took (`3m12s`)."""
    outcome: str
    """`complete`, `failed`, ... (coloured by OUTCOME_STYLE)."""
    cost: str = ""
    """`$0.42`, or empty when unknown."""
    reason: str = ""
    """Why it ended so, or empty."""


@dataclass(frozen=True)
class ItemDetail:
    """Everything the pane shows about one item."""

    item: Item
    files: tuple[str, ...] = ()
    """Files in the item's change folder, relative to it."""
    attempts: tuple[Attempt, ...] = ()
    """The item's worklog attempts, oldest first."""


OUTCOME_STYLE = {
    "complete": "$text-success", "progress": "$text-primary", "blocked": "$text-warning",
    "failed": "$text-error", "timeout": "$text-error", "interrupted": "$text-warning",
}
"""Worklog outcomes coloured by theme variable."""


def render_detail(detail: ItemDetail) -> Content:
    """The pane's text for one item."""
    item = detail.item
    lines: list[Content] = [
        Content.assemble((item.id, "$text-accent bold"), "  ", (describe(item), "$text-muted")),
        Content.styled(visible(item.title, one_line=True), "bold"),
    ]
    if item.status == "in_progress":
        lines.append(Content.styled(phase_bar(item.phase), "$text-primary"))
    lines.append(Content(""))
    for name in FIELDS:
        value = getattr(item, name)
        if name == "depends_on":
            value = ", ".join(value) if value else None
        shown = "—" if value in (None, "") else visible(str(value), one_line=True)
        style = "$text-error" if name == "blocked_reason" and value else ""
        lines.append(Content.assemble((f"{name:<15}", "$text-muted"), (shown, style)))
    for key, value in item.extra.items():
        lines.append(Content.assemble((visible(f"{key:<15}", one_line=True), "$text-muted"),
                                      visible(str(value), one_line=True)))
    lines += [Content(""), Content.styled("notes", "$text-accent bold")]
    lines.append(Content(visible(item.notes)) if item.notes
                 else Content.styled("none", "$text-muted"))
    lines += [Content(""), Content.styled(item.change_dir + "/", "$text-accent bold")]
    if detail.files:
        lines.extend(Content(NBSP * 2 + visible(name, one_line=True)) for name in detail.files)
    else:
        lines.append(Content.styled(NBSP * 2 + "no files yet", "$text-muted"))
    lines += [Content(""), Content.styled("attempts", "$text-accent bold")]
    if not detail.attempts:
        lines.append(Content.styled(NBSP * 2 + "none yet", "$text-muted"))
    for attempt in detail.attempts:
        lines.append(attempt_line(attempt))
        if attempt.reason:
            lines.append(Content.styled(NBSP * 4 + visible(attempt.reason, one_line=True),
                                        "$text-muted"))
    return Content("\n").join(lines)


def attempt_line(attempt: Attempt) -> Content:
    """`2026-11-24 10:02 prd #1 3m12s complete $0.42`."""
    # Non-breaking spaces: Static's wrapping would swallow spaces at segment edges.
    return Content.assemble(
        f"{NBSP * 2}{visible(attempt.when)}{NBSP}",
        (visible(f"{attempt.phase}{NBSP}#{attempt.attempt}"), "bold"),
        f"{NBSP}{visible(attempt.duration)}{NBSP}",
        (visible(attempt.outcome), OUTCOME_STYLE.get(attempt.outcome, "")),
        f"{NBSP}{visible(attempt.cost)}" if attempt.cost else "",
    )


class DetailPane(VerticalScroll):
    """Scrollable details of one item (hidden until the person asks for it)."""

    DEFAULT_CSS = """
    DetailPane > Static { width: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.item_id: str | None = None
        """The item shown, if any."""
        self.border_title = "details"

    def compose(self) -> ComposeResult:
        yield Static(Content.styled("no item selected", "$text-muted"), id="detail-body")

    def show(self, detail: ItemDetail | None) -> None:
        """Show `detail`, or a placeholder when nothing is selected."""
        body = self.query_one("#detail-body", Static)
        if detail is None:
            self.item_id = None
            body.update(Content.styled("no item selected", "$text-muted"))
            return
        if detail.item.id != self.item_id:
            self.scroll_home(animate=False)
        self.item_id = detail.item.id
        self.border_title = f"details · {detail.item.id}"
        body.update(render_detail(detail))


def sorted_files(names: Sequence[str]) -> tuple[str, ...]:
    """File names in a stable, readable order."""
    return tuple(sorted(names, key=str.lower))
