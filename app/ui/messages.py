"""Messages that worker threads post to the main screen with what they found or did.

A worker never touches a widget: it posts one of these, and the main screen (in the UI
thread) shows it. They are addressed to the screen and do not bubble on to the App. The
engine's own messages are in app/ui/bridge.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message
from textual.worker import Worker

from app.backlog.model import Backlog, Item
from app.engine.events import AgentLine
from app.errors import OrchestrateError
from widgets.detail import ItemDetail
from widgets.status import LaneView

if TYPE_CHECKING:
    from app.ui.cardfacts import Facts
    from app.ui.tail import InFlight


class BacklogLoaded(Message, bubble=False):
    """A fresh snapshot of BACKLOG.yaml was read."""

    def __init__(self, backlog: Backlog) -> None:
        super().__init__()
        self.backlog = backlog
        """The snapshot."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, BacklogLoaded)


class BacklogFailed(Message, bubble=False):
    """BACKLOG.yaml could not be read or is invalid."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error
        """The one-line error (`BACKLOG.yaml:LINE:COL: ...`)."""


class DetailLoaded(Message, bubble=False):
    """Details of one item (its files and attempts) were gathered."""

    def __init__(self, detail: ItemDetail) -> None:
        super().__init__()
        self.detail = detail
        """What the detail pane shows."""


class CardFactsLoaded(Message, bubble=False):
    """orchestrate.toml and the SPEC.md files the cards need were read."""

    def __init__(self, facts: Facts) -> None:
        super().__init__()
        self.facts = facts
        """What was read."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CardFactsLoaded)


class TailLines(Message, bubble=False):
    """A batch of lines from another process's log file."""

    def __init__(self, lines: tuple[AgentLine, ...], in_flight: InFlight | None = None) -> None:
        super().__init__()
        self.lines = lines
        """The batch."""
        self.in_flight = in_flight
        """Told when the batch is written (the tail's back-pressure)."""


class ActionDone(Message, bubble=False):
    """A backlog action (add, edit, move, advance, unblock, delete, undo) ended: with the
    item, or an error."""

    def __init__(self, verb: str, item: Item | None, error: str | None = None,
                 said: str | None = None) -> None:
        super().__init__()
        self.verb = verb
        """`add`, `edit`, `move`, `advance`, `unblock`, `delete` or `undo`."""
        self.item = item
        """The item as it is now, or None when the action was refused (or undoing an add
        deleted it: then `said` says so)."""
        self.error = error
        """Why it was refused (a one-line message for the person)."""
        self.said = said
        """What to tell the person of an action that went through, when the action says it
        itself (`undid the edit of WRK-001 (title)`)."""


class RunWatched(Message, bubble=False):
    """Another process's run was seen (pid) or is gone (None)."""

    def __init__(self, pid: int | None, log_path: Path | None,
                 resumes_at: float | None = None, lanes: tuple[LaneView, ...] = ()) -> None:
        super().__init__()
        self.pid = pid
        """The pid holding the run lock, or None."""
        self.log_path = log_path
        """Its newest log file."""
        self.resumes_at = resumes_at
        """While a usage limit holds that run (`.orchestrator/pause.json`): when it
        resumes."""
        self.lanes = lanes
        """That run's live agents (its run.json, read by app.engine.liverun)."""


class RunDetached(Message, bubble=False):
    """A detached run (`D`) was started in a process of its own, or could not be."""

    def __init__(self, pid: int | None, log_path: Path | None, error: str | None = None) -> None:
        super().__init__()
        self.pid = pid
        """Its process, or None when it did not start."""
        self.log_path = log_path
        """Where its own console output goes."""
        self.error = error
        """Why it did not start."""


def failure(worker: Worker[object]) -> str:
    """What a worker that ended in an error tells the person (its own words if ours)."""
    error = worker.error
    if isinstance(error, OrchestrateError):
        return str(error)
    return f"{worker.description} failed: {type(error).__name__}: {error}"
