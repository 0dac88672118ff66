"""The filter field: words a card must match, hidden until the person asks for it.

Typing posts `Input.Changed` (the App re-shows the board with the words); Enter keeps
the filter and leaves the field (hidden again when empty); the App's Escape clears it.
"""

from __future__ import annotations

from textual import on
from textual.widgets import Input

PLACEHOLDER = "filter: words in id, title, status, notes (Enter keeps, Escape clears)"
"""What the empty field says."""


class FilterField(Input):
    """An Input shown with the `-shown` class (the stylesheet hides it otherwise)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder=PLACEHOLDER, id=id)

    @property
    def shown(self) -> bool:
        """Whether the field is on screen."""
        return self.has_class("-shown")

    def open(self) -> None:
        """Show the field and type into it."""
        self.add_class("-shown")
        self.focus()

    def close(self) -> None:
        """Clear the field and hide it."""
        self.value = ""
        self.remove_class("-shown")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        # Enter keeps a filter on screen; an empty one goes away. (The App, which hears
        # the message next, moves the focus back to the board.)
        if not event.value.strip():
            self.remove_class("-shown")
