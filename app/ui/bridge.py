"""The bridge between the engine's thread and the UI thread.

The board runs the very engine of `orchestrate run` and `orchestrate triage` (or a fake
that tests pass in) in a worker thread. Its events cross into the UI thread as messages:
`post_message` is thread-safe and never makes the engine wait for the UI (which
`call_from_thread` would). Agent output, the bulk of it, is merged while the UI has not
taken it yet, behind a single `EngineOutputReady` in flight.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from textual.message import Message

from app.engine.project import Project

if TYPE_CHECKING:  # the events' module is imported when a run starts, not for the first frame
    from app.engine.events import AgentOutput, Event, EventBus, RunFinished


class Stoppable(Protocol):
    """A run the board can start and stop: triage, as `orchestrate triage` runs it."""

    def run(self) -> RunFinished: ...

    def request_stop(self) -> None:
        """Stop now: the live agents' groups get TERM, their attempts end interrupted."""


class Engine(Stoppable, Protocol):
    """What the board needs of a pipeline or a triage run."""

    def request_pause(self) -> None:
        """Finish the current phase attempt, then stop (a no-op where there are no phases
        to pause after: triage)."""


class WithoutPause:
    """An engine with no pause of its own (triage): `request_pause` does nothing."""

    def __init__(self, engine: Stoppable) -> None:
        self._engine = engine

    def run(self) -> RunFinished:
        return self._engine.run()

    def request_stop(self) -> None:
        self._engine.request_stop()

    def request_pause(self) -> None:
        """Nothing to pause after: the run stops only when asked to."""


EngineFactory = Callable[[Project, "EventBus", str | None], Engine]
"""(project, bus, target) -> an engine ready to `run()`."""

NOTABLE = ("blocked", "done")
"""Item statuses an engine event must carry to the board, never merged away."""

LockHolder = Callable[[Project], int | None]
"""project -> the pid of another live process holding its run lock, or None."""


def default_pipeline(project: Project, bus: EventBus, target: str | None) -> Engine:
    """The real pipeline, the very engine of `orchestrate run`."""
    from app.engine.pipeline import Pipeline

    return Pipeline(project, bus, target=target)


def default_triage(project: Project, bus: EventBus, target: str | None) -> Engine:
    """The real triage of `orchestrate triage`."""
    from app.engine.triage import Triage

    return WithoutPause(Triage(project, bus))


def default_lock_holder(project: Project) -> int | None:
    """The pid of another live process holding the run lock, if any."""
    from app.engine.runlock import holder_pid

    try:
        return holder_pid(project)
    except OSError:
        return None


class EngineEvent(Message, bubble=False):
    """An engine event, posted from the worker thread."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event
        """The engine's event."""

    def can_replace(self, message: Message) -> bool:
        # A burst of item changes only means "reload": keep the newest (Textual drops this,
        # the older message, for `message`, the next one). An item blocked or done is also
        # told to the person (a bell, a notification): never dropped.
        from app.engine.events import ItemChanged

        return (isinstance(message, EngineEvent) and isinstance(self.event, ItemChanged)
                and isinstance(message.event, ItemChanged)
                and self.event.status not in NOTABLE)


class EngineOutputReady(Message, bubble=False):
    """Agent output is waiting in the OutputMerger (at most one of these in flight)."""


class OutputMerger:
    """The board's observer of an in-process engine.

    Events go to the UI as EngineEvent messages, except agent output: the engine must never
    wait for the UI, so its AgentOutput batches are merged here while the UI has not taken
    the previous ones, and one EngineOutputReady stands for all of them. A chatty agent thus
    costs the UI one message per turn of its loop, not one per batch. The queue is FIFO, so
    an event posted after some output is handled after the message that drains it.
    """

    def __init__(self, post: Callable[[Message], Any]) -> None:
        self._post = post
        self._lock = threading.Lock()
        self._pending: list[AgentOutput] = []
        self._posted = False

    def __call__(self, event: Event) -> None:
        from app.engine.events import AgentOutput  # loaded: the engine sent `event`

        if not isinstance(event, AgentOutput):
            self._post(EngineEvent(event))
            return
        with self._lock:
            last = self._pending[-1] if self._pending else None
            if last is not None and (last.item_id, last.phase, last.attempt) == (
                    event.item_id, event.phase, event.attempt):
                self._pending[-1] = AgentOutput(event.item_id, event.phase, event.attempt,
                                                last.lines + event.lines, at=event.at)
            else:
                self._pending.append(event)
            if self._posted:
                return
            self._posted = True
        self._post(EngineOutputReady())

    def take(self) -> list[AgentOutput]:
        """The merged output so far (the UI thread calls this when it handles the message)."""
        with self._lock:
            pending, self._pending = self._pending, []
            self._posted = False
        return pending
