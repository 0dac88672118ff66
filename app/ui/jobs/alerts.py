"""Telling the person at the terminal: a bell and a desktop notification.

When the board's own run blocks an item, finishes one, ends, or waits for a usage limit,
the board rings the terminal's bell and sends a desktop notification as OSC 9
(`ESC ] 9 ; TEXT BEL`: iTerm2, Windows Terminal, kitty, WezTerm, ghostty) and OSC 777
(`ESC ] 777 ; notify ; TITLE ; TEXT BEL`: foot, rxvt-unicode, ghostty, VTE terminals).
A terminal that knows neither ignores them. The text is an item's or an agent's words:
its control characters are escaped, so it can never end the sequence early or start
another one.

Textual has no public way to write raw bytes to the terminal: `App.bell` itself writes
through the private `App._driver` (`Driver.write`, which is public, queues the bytes on
the driver's writer thread, in order with the frames). The board does the same, once per
notification; tests/ui/test_textual_private.py holds that name to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import App

from app.backlog.model import visible

if TYPE_CHECKING:
    from app.engine.events import Event

TEXT_MAX = 200
"""A notification's text is cut to this many characters."""
TITLE = "orchestrate"
"""The notification's title (OSC 777 carries one)."""


def alert_text(event: Event, title_of: Callable[[str], str], kind: str,
               now: float) -> str | None:
    """What to tell the person about `event` (None: nothing worth a bell).

    `title_of` gives an item's title by id; `kind` is `run` or `triage`.
    """
    from app.engine.events import ItemChanged, RunFinished, RunPaused  # a run's: loaded

    if isinstance(event, ItemChanged) and event.status == "blocked":
        return f"{event.item_id} blocked: {event.reason or 'needs a person'}"
    if isinstance(event, ItemChanged) and event.status == "done":
        title = title_of(event.item_id)
        return f"{event.item_id} done: {title}" if title else f"{event.item_id} done"
    if isinstance(event, RunPaused):
        from app.engine.limits import clock_time  # the limits' module: when one is met

        return f"{kind} paused: usage limit, resumes at {clock_time(event.resumes_at, now)}"
    if isinstance(event, RunFinished):
        return f"{kind} finished: {event.reason}"
    return None


def escape_sequence(text: str) -> str:
    """The bell, then `text` as an OSC 9 and an OSC 777 desktop notification."""
    safe = visible(" ".join(text.split()), one_line=True)
    if len(safe) > TEXT_MAX:
        safe = safe[: TEXT_MAX - 1] + "…"
    return f"\a\x1b]9;{safe}\a\x1b]777;notify;{TITLE};{safe}\a"


def ring(app: App[object], text: str) -> None:
    """Ring the bell with a desktop notification of `text` (nothing without a terminal)."""
    driver = app._driver  # see the module docstring
    if driver is not None:
        driver.write(escape_sequence(text))
