"""The board's dialogs: modal screens that ask and answer through `dismiss`.

Add an item and edit one (items.py), unblock and advance (moves.py), a yes/no question
(confirm.py) and every key (help.py). Each returns what the person chose; the job that
opened it acts on it (through app/engine/actions.py). Escape always cancels. Titles,
reasons and questions show their control characters escaped.
"""

from __future__ import annotations

from textual.binding import Binding

CANCEL = Binding("escape", "cancel", "Cancel", id="modal.cancel", tooltip="Close without changes")
"""Every dialog closes on Escape without doing anything."""
