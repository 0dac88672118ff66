"""The log pane when a run has several lanes (`[run] max_parallel` > 1).

Each lane's lines are kept apart (bounded, like the pane). While one lane runs at a time
the pane shows every line as it comes, as it always did. Once two lanes are live at
once, the pane follows the selected card's lane; with no card of a lane selected, it
shows the newest lines of every lane, each labelled with its item (`WRK-002│`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

from widgets.logpane import MAX_LINES
from widgets.status import LaneView

if TYPE_CHECKING:
    from app.engine.events import AgentLine
    from widgets.logpane import LogPane

ALL_LANES = "every lane"
"""The pane's title while it shows the lines of every lane."""


class LaneLog:
    """Which lines the log pane shows, lane by lane (module docstring)."""

    def __init__(self, pane: LogPane | None = None, keep: int = MAX_LINES) -> None:
        self.pane = pane
        """Set once the screen is composed."""
        self.keep = keep
        self.lines: dict[str, deque[AgentLine]] = {}
        """Each lane's lines this run, by item."""
        self.sources: dict[str, str] = {}
        """Each lane's current attempt (`WRK-001 · prd · attempt 1`)."""
        self.every: deque[AgentLine] = deque(maxlen=keep)
        """The lines of every lane, labelled, in the order they came."""
        self.live: dict[str, str] = {}
        """The lanes with a live attempt: item → phase."""
        self.nodes: dict[str, str | None] = {}
        """Where each lane's attempt runs, on a cluster: item → node."""
        self.parallel = False
        """Two lanes have been live at once in this run: the pane shows lane by lane."""
        self.shown: str | None = None
        """The item whose lane the pane shows alone; None: every lane."""

    def reset(self) -> None:
        """A new run starts."""
        self.lines.clear()
        self.sources.clear()
        self.every.clear()
        self.live.clear()
        self.nodes.clear()
        self.parallel = False
        self.shown = None

    def views(self) -> tuple[LaneView, ...]:
        """The lanes with a live attempt, as the run state holds them."""
        return tuple(LaneView(item_id, phase, node=self.nodes.get(item_id))
                     for item_id, phase in self.live.items())

    # what the run reports ------------------------------------------------------------------
    def started(self, item_id: str, phase: str, source: str, selected: str | None,
                node: str | None = None) -> None:
        """An attempt started in `item_id`'s lane (on a cluster's `node`)."""
        from app.engine.events import AgentLine  # a run has imported it already

        self.live[item_id] = phase
        self.nodes[item_id] = node
        self.sources[item_id] = source
        separator = AgentLine("system", f"── {source} ──", "")
        labelled = self._record(item_id, [separator])
        if not self.parallel and len(self.live) > 1:
            self.parallel = True  # from now on the pane shows lane by lane
            self.select(selected, force=True)
        elif self.pane is not None and (not self.parallel or self.shown == item_id):
            self.pane.begin(source)  # the separator, and the pane's title
        else:
            self._route(item_id, [separator], labelled)

    def finished(self, item_id: str, outcome: AgentLine) -> None:
        """An attempt of `item_id`'s lane ended (`outcome` says how)."""
        self.live.pop(item_id, None)
        self.add(item_id, [outcome])

    def add(self, item_id: str, lines: Iterable[AgentLine]) -> None:
        """Lines of `item_id`'s lane."""
        batch = list(lines)
        if batch:
            self._route(item_id, batch, self._record(item_id, batch))

    def note(self, line: AgentLine) -> None:
        """A line of the run, not of a lane (a checkpoint, a merge)."""
        self.every.append(line)
        if self.pane is not None and (not self.parallel or self.shown is None):
            self.pane.add_lines([line])

    # what the person selects -----------------------------------------------------------------
    def select(self, item_id: str | None, *, force: bool = False) -> None:
        """The selected card changed: follow its lane, or every lane when it has none."""
        if not self.parallel or self.pane is None:
            return
        shown = item_id if item_id in self.lines else None
        if shown == self.shown and not force:
            return
        self.shown = shown
        if shown is None:
            self.pane.show_lines(f"{ALL_LANES} (select a card to follow its lane)",
                                 self.every)
        else:
            self.pane.show_lines(self.sources.get(shown, shown), self.lines[shown])

    # ------------------------------------------------------------------------------------------
    def _record(self, item_id: str, batch: list[AgentLine]) -> list[AgentLine]:
        """Keep a batch of a lane; returns it labelled with its lane (for every lane's)."""
        from app.engine.events import AgentLine

        self.lines.setdefault(item_id, deque(maxlen=self.keep)).extend(batch)
        labelled = [AgentLine(line.kind, line.text, line.raw, item_id)
                    for line in batch[-self.keep:]]
        self.every.extend(labelled)
        return labelled

    def _route(self, item_id: str, batch: list[AgentLine], labelled: list[AgentLine]) -> None:
        pane = self.pane
        if pane is None:
            return
        if not self.parallel or self.shown == item_id:
            pane.add_lines(batch)
        elif self.shown is None:
            pane.add_lines(labelled)
