"""Child process of the board-paint figure: start, paint the first frame, exit.

`python -m bench.paint board DIR` opens the real board on DIR and exits right after the
first frame that shows cards; `python -m bench.paint bare DIR` does the same for a bare
Textual app with one Label. Both run headless at 160x50 and print `painted` and the
frame's time.

The child prints the moment of that frame (`time.monotonic_ns()`, one clock for every
process on the machine), so the parent counts from just before it started the process
to the frame, and not the shutdown after it: the board then stops its worker threads,
which the goal does not count and a bare app does not have.

No hook in the board is needed: the harness subclasses the App and exits right after it
has composed the first frame (Textual's `App._display`, called headless too) in which a
column drew cards; the bare app exits after its first frame. (Waiting with
`call_after_refresh` instead can return before the cards are drawn: a widget's repaint
reaches the screen as a message that may come after the screen went idle.)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the imports stay in the timed functions below
    from textual.geometry import Region
    from textual.strip import Strip
    from textual.widgets import OptionList

FRAME_AT: list[int] = []
"""`time.monotonic_ns()` when the first frame with cards (or the bare Label) was written."""


def board(root: Path) -> None:
    from app.engine.project import Project
    from app.ui.app import BoardApp
    from widgets.board import BoardColumn

    painted = [False]
    render_lines = BoardColumn.render_lines

    def column_render_lines(self: OptionList, crop: Region) -> list[Strip]:
        if self.option_count:
            painted[0] = True  # this frame draws cards
        return render_lines(self, crop)

    BoardColumn.render_lines = column_render_lines  # type: ignore[method-assign]

    class Timed(BoardApp):
        def _display(self, screen: Any, renderable: Any) -> None:
            super()._display(screen, renderable)
            if painted[0] and renderable is not None and self.is_running and not FRAME_AT:
                FRAME_AT.append(time.monotonic_ns())
                self.exit(0)

    Timed(Project(root)).run(headless=True, size=(160, 50))


def bare() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Label

    class Bare(App[int]):
        def compose(self) -> ComposeResult:
            yield Label("hello")

        def _display(self, screen: Any, renderable: Any) -> None:
            super()._display(screen, renderable)
            if renderable is not None and self.is_running and not FRAME_AT:
                FRAME_AT.append(time.monotonic_ns())
                self.exit(0)

    Bare().run(headless=True, size=(160, 50))


if __name__ == "__main__":
    if sys.argv[1] == "board":
        board(Path(sys.argv[2]))
    else:
        bare()
    print("painted", FRAME_AT[0])
