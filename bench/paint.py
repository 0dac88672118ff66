"""Child process of the board-paint figure: start, paint the first frame, exit.

`python -m bench.paint board DIR` opens the real board on DIR and exits right after the
first frame that shows cards; `python -m bench.paint bare DIR` does the same for a bare
Textual app with one Label. Both run headless at 160x50 and print `painted`. The parent
times the whole process, from start to exit.

No hook in the board is needed: the harness subclasses BoardApp and watches for the
first refresh after a column holds options.
"""

from __future__ import annotations

import sys
from pathlib import Path


def board(root: Path) -> None:
    from app.project import Project
    from app.tui import BoardApp

    class Timed(BoardApp):
        def on_mount(self) -> None:
            super().on_mount()
            self._probe = self.set_interval(0.002, self._check)

        def _check(self) -> None:
            try:
                columns = self.board.columns
            except Exception:  # not composed yet
                return
            if any(col.option_count for col in columns):
                self._probe.stop()
                self.call_after_refresh(self.exit, 0)

    Timed(Project(root)).run(headless=True, size=(160, 50))


def bare() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Label

    class Bare(App[int]):
        def compose(self) -> ComposeResult:
            yield Label("hello")

        def on_mount(self) -> None:
            self.call_after_refresh(self.exit, 0)

    Bare().run(headless=True, size=(160, 50))


if __name__ == "__main__":
    if sys.argv[1] == "board":
        board(Path(sys.argv[2]))
    else:
        bare()
    print("painted")
