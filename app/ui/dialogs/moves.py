"""Unblock an item (with notes for the next agent) and advance one (to an allowed
target)."""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from app.backlog.model import PHASES, Item, visible
from app.backlog.states import describe
from app.structs import Struct
from app.ui.dialogs import CANCEL


class AdvanceChoice(Struct, frozen=True):
    """Where the person wants an item to go (and why, when blocking)."""

    target: str
    reason: str | None = None


class UnblockScreen(ModalScreen[str | None]):
    """Asks for notes for the next agent; Enter unblocks, Escape cancels."""

    BINDINGS = [CANCEL]

    def __init__(self, item: Item, back_to: str) -> None:
        super().__init__()
        self.item = item
        """The blocked item."""
        self.back_to = back_to
        """Where unblocking returns it."""

    def compose(self) -> ComposeResult:
        with Vertical(id="unblock-dialog", classes="dialog"):
            yield Label(f"Unblock {self.item.id} → {self.back_to}", classes="dialog-title")
            yield Static(visible(self.item.title, one_line=True), markup=False)
            yield Static(Content.assemble(("blocked: ", "$text-muted"),
                                          (visible(self.item.blocked_reason or
                                                   "no reason given"), "$text-error")))
            yield Input(placeholder="notes for the next agent (Enter unblocks)",
                        id="unblock-notes")
            yield Static(Content.styled("Enter unblocks · Escape cancels", "$text-muted"))

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def submit(self, event: Input.Submitted) -> None:
        """Return the notes (may be empty)."""
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        """Close without unblocking."""
        self.dismiss(None)


class RejectScreen(ModalScreen[str | None]):
    """Asks what the next build should change; Enter sends the item back, Escape cancels."""

    BINDINGS = [CANCEL]

    def __init__(self, item: Item) -> None:
        super().__init__()
        self.item = item
        """The item that waits for review."""

    def compose(self) -> ComposeResult:
        with Vertical(id="reject-dialog", classes="dialog"):
            yield Label(f"Reject {self.item.id} → build", classes="dialog-title")
            yield Static(visible(self.item.title, one_line=True), markup=False)
            yield Input(placeholder="what should the next build change? (Enter sends it back)",
                        id="reject-notes")
            yield Static(Content.styled("Enter sends it back to build · Escape cancels",
                                        "$text-muted"))

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def submit(self, event: Input.Submitted) -> None:
        """Return the notes (empty: refused by the caller, which says so)."""
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        """Close without rejecting."""
        self.dismiss(None)


class AdvanceScreen(ModalScreen[AdvanceChoice | None]):
    """Choose where to move an item, from the moves the state machine allows."""

    BINDINGS = [CANCEL]

    def __init__(self, item: Item, targets: Sequence[str]) -> None:
        super().__init__()
        self.item = item
        """The item to move."""
        self.targets = tuple(targets)
        """The allowed targets (statuses and, for in_progress, phases)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="advance-dialog", classes="dialog"):
            yield Label(f"Move {self.item.id} ({describe(self.item)}) to…",
                        classes="dialog-title")
            yield OptionList(*[Option(f"in progress · {t}" if t in PHASES else t, id=t)
                               for t in self.targets], id="advance-targets")
            yield Input(placeholder="why is it blocked? (Enter blocks)", id="advance-reason")
            yield Static(Content.styled("Enter moves · Escape cancels", "$text-muted"))

    def on_mount(self) -> None:
        self.query_one("#advance-reason", Input).display = False
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected, "#advance-targets")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        """A target was chosen; blocking first asks for the reason."""
        target = str(event.option_id)
        if target == "blocked":
            reason = self.query_one("#advance-reason", Input)
            reason.display = True
            reason.focus()
            return
        self.dismiss(AdvanceChoice(target))

    @on(Input.Submitted, "#advance-reason")
    def reason_given(self, event: Input.Submitted) -> None:
        """Block with the reason typed (the state machine refuses an empty one)."""
        self.dismiss(AdvanceChoice("blocked", event.value.strip() or None))

    def action_cancel(self) -> None:
        """Close without moving."""
        self.dismiss(None)
