"""What every job needs of the screen that runs it: workers, timers and messages."""

from __future__ import annotations

from typing import Any, Protocol

from textual.message import Message
from textual.timer import Timer, TimerCallback
from textual.worker import Worker


class Node(Protocol):
    """Runs a job's workers and timers and receives the messages they post (the main
    screen; Textual's `DOMNode` API, as it is)."""

    def run_worker(self, work: Any, name: str | None = "", group: str = "default",
                   description: str = "", exit_on_error: bool = True, start: bool = True,
                   exclusive: bool = False, thread: bool = False) -> Worker[Any]: ...

    def set_timer(self, delay: float, callback: TimerCallback | None = None, *,
                  name: str | None = None, pause: bool = False) -> Timer: ...

    def post_message(self, message: Message) -> bool: ...
