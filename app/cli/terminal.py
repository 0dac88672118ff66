"""Writing to the person's terminal: colour only on a terminal (and never with
NO_COLOR), rich's console without markup, an item's words on one row of a table."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len, set_cell_size

from app.backlog.model import visible
from app.engine.project import Project

if TYPE_CHECKING:
    from rich.console import Console

STATUS_STYLE = {
    "new": "cyan", "scoped": "blue", "researching": "magenta", "ready": "green",
    "in_progress": "yellow", "to_review": "bright_magenta", "approved": "bright_green",
    "done": "dim", "blocked": "red",
}
"""Every status of app.backlog.model.STATUSES (tests/cli/test_cli_groom.py holds it so)."""


def console(stderr: bool = False) -> Console:
    """A console that respects NO_COLOR and pipes (rich does both)."""
    from rich.console import Console  # imported when needed: it costs ~15 ms at start

    # No markup: an item's words (`[bold]`, `[link=...]`) are shown as written.
    return Console(stderr=stderr, highlight=False, soft_wrap=False, markup=False)


def colour_on(stream: Any) -> bool:
    """ANSI colour only on a terminal, and never with NO_COLOR set."""
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ \
        and os.environ.get("TERM") != "dumb"


ANSI = {"cyan": "36", "blue": "34", "magenta": "35", "green": "32", "yellow": "33",
        "dim": "2", "red": "31", "bold": "1"}


def paint(text: str, style: str, on: bool) -> str:
    """`text` in an ANSI style when `on`."""
    return f"\x1b[{ANSI[style]}m{text}\x1b[0m" if on and style in ANSI else text


def warn(project: Project, warnings: tuple[str, ...] | list[str]) -> None:
    """Print file warnings (unknown keys and the like) to stderr."""
    on = colour_on(sys.stderr)
    for w in warnings:
        sys.stderr.write(paint(f"warning: {w}", "yellow", on) + "\n")


def shown(text: str) -> str:
    """An item's words for one row: whitespace folded, control characters escaped."""
    return visible(" ".join(text.split()), one_line=True)


def fit(text: str, width: int) -> str:
    """`text` padded or cut (with an ellipsis) to exactly `width` terminal cells."""
    text = shown(text)
    if cell_len(text) > width:
        return set_cell_size(text, max(width - 1, 0)) + "…"
    return set_cell_size(text, width)
