"""Every key of the board, with what it does (`?`)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from app.ui.dialogs import CANCEL


class HelpScreen(ModalScreen[None]):
    """Every key of the board, with what it does."""

    BINDINGS = [CANCEL, Binding("question_mark", "cancel", "Close", id="help.close",
                                tooltip="Close the help")]

    def __init__(self, keys: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = tuple(keys)
        """(key, what it does) pairs."""

    def compose(self) -> ComposeResult:
        lines = [Content.assemble((f"{key:>10}  ", "$text-accent bold"), text)
                 for key, text in self.keys]
        with Vertical(id="help-dialog", classes="dialog"):
            yield Label("Keys", classes="dialog-title")
            with VerticalScroll(id="help-keys"):
                yield Static(Content("\n").join(lines))
            yield Static(Content.styled("Escape closes", "$text-muted"))

    def action_cancel(self) -> None:
        """Close the help."""
        self.dismiss(None)
