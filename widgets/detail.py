"""The detail pane: every field of the selected item, where the items it depends on stand
and which items need it, its notes, its change folder's files, its worklog attempts and
its checkpoint commits. The App gathers and formats the data (file I/O and git happen off
the UI thread); this widget only renders it, every text with its control characters
escaped (a title, the notes, an agent's reason or a file name never drive the terminal).
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from app.backlog.model import Item, visible
from app.backlog.states import describe
from app.structs import Struct
from widgets.cards import phase_bar

NBSP = "\u00a0"
"""Indents and gaps that wrapping must keep."""
FIELDS: tuple[str, ...] = (
    "status", "phase", "size", "complexity", "risk", "depends_on", "blocked_reason",
    "blocked_from", "origin", "created", "updated",
)
"""Fields listed in the pane, in this order (title, id and notes are shown apart;
depends_on as `depends on` with where each stands, followed by `needed by`)."""


class Attempt(Struct, frozen=True):
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
    agent: str = ""
    """Which agent made it (`claude`, `codex-b`), or empty when the worklog does not say."""


class CheckpointRow(Struct, frozen=True):
    """One checkpoint commit, formatted for the pane (`a1b2c3d 2026-11-22 10:02 prd ...`)."""

    short: str
    """The abbreviated hash."""
    when: str
    phase: str
    """The phase of its tag (`prd`), or empty."""
    summary: str


class ItemDetail(Struct, frozen=True):
    """Everything the pane shows about one item."""

    item: Item
    files: tuple[str, ...] = ()
    """Files in the item's change folder, relative to it."""
    attempts: tuple[Attempt, ...] = ()
    """The item's worklog attempts, oldest first."""
    depends: tuple[tuple[str, str], ...] = ()
    """(id, where it stands: `in progress · build`) of each item it depends on."""
    needed_by: tuple[str, ...] = ()
    """The ids of the items that depend on it."""
    outside_guardrails: str | None = None
    """Why an autonomous run skips it, when it is ready and outside the guardrails."""
    spec: str | None = None
    """SPEC.md's ticked tasks (`3/7`), when it has any."""
    documents: int = 0
    """How many Markdown documents its change folder holds (`m` reads them)."""
    checkpoints: tuple[CheckpointRow, ...] = ()
    """Its checkpoint commits, oldest first."""
    checkpoints_note: str | None = None
    """Why no checkpoint can be read (`not in a git repository`), if so."""


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
        spec = f"{NBSP * 2}SPEC {visible(detail.spec, one_line=True)}" if detail.spec else ""
        lines.append(Content.styled(phase_bar(item.phase) + spec, "$text-primary"))
    lines.append(Content(""))
    for name in FIELDS:
        if name == "depends_on":
            lines += dependency_lines(detail)
            continue
        value = getattr(item, name)
        shown = "—" if value in (None, "") else visible(str(value), one_line=True)
        style = "$text-error" if name == "blocked_reason" and value else ""
        lines.append(Content.assemble((f"{name:<15}", "$text-muted"), (shown, style)))
        if name == "risk" and detail.outside_guardrails:
            lines.append(Content.assemble(
                (f"{'guardrails':<15}", "$text-muted"),
                (visible(detail.outside_guardrails, one_line=True), "$text-warning")))
    for key, value in item.extra.items():
        lines.append(Content.assemble((visible(f"{key:<15}", one_line=True), "$text-muted"),
                                      visible(str(value), one_line=True)))
    lines += [Content(""), Content.styled("notes", "$text-accent bold")]
    lines.append(Content(visible(item.notes)) if item.notes
                 else Content.styled("none", "$text-muted"))
    lines += [Content(""), Content.assemble(
        (visible(item.change_dir, one_line=True) + "/", "$text-accent bold"),
        (f"{NBSP * 2}m reads the documents" if detail.documents else "", "$text-muted"))]
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
    lines += [Content(""), Content.assemble(
        ("checkpoints", "$text-accent bold"),
        (f"{NBSP * 2}c shows their diffs" if detail.checkpoints else "", "$text-muted"))]
    if not detail.checkpoints:
        why = f": {detail.checkpoints_note}" if detail.checkpoints_note else " yet"
        lines.append(Content.styled(NBSP * 2 + "none" + visible(why, one_line=True),
                                    "$text-muted"))
    lines.extend(checkpoint_line(row) for row in detail.checkpoints)
    return Content("\n").join(lines)


def dependency_lines(detail: ItemDetail) -> list[Content]:
    """`depends on  WRK-002 (in progress · build)` and `needed by  WRK-005, WRK-007`."""
    depends: list[Content | str | tuple[str, str]] = []
    for index, (item_id, state) in enumerate(detail.depends):
        waiting = not state.startswith("done")
        depends += [", " if index else "",
                    (visible(item_id, one_line=True), "bold" if waiting else ""),
                    (f" ({visible(state, one_line=True)})", "$text-muted")]
    needed = visible(", ".join(detail.needed_by), one_line=True)
    return [
        Content.assemble(("depends on".ljust(15), "$text-muted"), *(depends or ["—"])),
        Content.assemble(("needed by".ljust(15), "$text-muted"), needed or "—"),
    ]


def checkpoint_line(row: CheckpointRow) -> Content:
    """`a1b2c3d 2026-11-22 10:02 prd PRD written`."""
    return Content.assemble(
        (f"{NBSP * 2}{visible(row.short, one_line=True)}", "$text-accent"),
        f"{NBSP}{visible(row.when, one_line=True)}{NBSP}",
        (visible(row.phase, one_line=True), "bold"),
        f"{NBSP}{visible(row.summary, one_line=True)}",
    )


def attempt_line(attempt: Attempt) -> Content:
    """`2026-11-24 10:02 prd #1 codex 3m12s complete $0.42`."""
    # Non-breaking spaces: Static's wrapping would swallow spaces at segment edges.
    return Content.assemble(
        f"{NBSP * 2}{visible(attempt.when)}{NBSP}",
        (visible(f"{attempt.phase}{NBSP}#{attempt.attempt}"), "bold"),
        (f"{NBSP}{visible(attempt.agent, one_line=True)}", "italic") if attempt.agent else "",
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
