"""Tailing another process's log file into the board, with back-pressure (toolong's way).

A worker thread reads the file in chunks of up to TAIL_READ bytes and posts its complete
lines in batches, as the agent printed them: the log pane classifies a line
(app/engine/streamjson.py `describe`) only when it draws it, and it draws a few dozen of
the thousands a second an agent may print. It never runs more than TAIL_IN_FLIGHT
batches ahead of the UI: while one batch waits to be written, it reads on into the next
(up to TAIL_BATCH_MAX lines), so one message and one write carry many lines and key
presses never queue behind log lines.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.message import Message

TAIL_CHUNK = 64 * 1024
"""Log tailing starts with this much of the file's end."""
TAIL_READ = 256 * 1024
"""Then reads at most this much at a time."""
TAIL_IN_FLIGHT = 1
"""Batches of log lines posted to the UI and not yet written, at most (back-pressure)."""
TAIL_BATCH_MAX = 5000
"""While the UI is busy the tail reads on into one batch, up to this many lines."""


class TailLines(Message, bubble=False):
    """A batch of lines from another process's log file (posted by `tail_log`)."""

    def __init__(self, lines: tuple[str, ...], in_flight: InFlight | None = None) -> None:
        super().__init__()
        self.lines = lines
        """The batch: the lines as the agent printed them (not blank, no newline)."""
        self.in_flight = in_flight
        """Told when the batch is written (the tail's back-pressure)."""


class InFlight:
    """Batches posted from a thread and not yet handled by the UI (back-pressure).

    A message posted from a thread waits in the event loop's `call_soon_threadsafe`
    queue before it reaches the receiver's message queue, so `message_queue_size` does
    not see it; this counts the batches themselves. The poster `add`s one per batch, the
    UI's handler calls `done` once it has written the batch.
    """

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    @property
    def count(self) -> int:
        """Batches posted and not yet handled."""
        return self._count

    def add(self) -> None:
        """One more batch posted."""
        with self._changed:
            self._count += 1

    def done(self) -> None:
        """One batch handled."""
        with self._changed:
            self._count = max(0, self._count - 1)
            self._changed.notify_all()

    def wait_below(self, bound: int, stop: threading.Event, poll: float = 0.05) -> bool:
        """Wait until fewer than `bound` batches are in flight; False if `stop` is set."""
        with self._changed:
            while self._count >= bound:
                if stop.is_set():
                    return False
                self._changed.wait(poll)
        return not stop.is_set()


def tail_log(path: Path, stop: threading.Event, post: Callable[[Message], Any]) -> None:
    """Post the lines appended to `path` as TailLines batches until `stop` is set.

    Starts with the last TAIL_CHUNK of the file. Runs in a worker thread; `post` is a
    thread-safe `post_message`.
    """
    try:
        fh = path.open("rb")
    except OSError:
        return
    in_flight = InFlight()
    with fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - TAIL_CHUNK))
        rest = b""
        if size > TAIL_CHUNK:
            fh.readline()  # a partial first line
        pending: list[str] = []
        while not stop.is_set():
            full = len(pending) >= TAIL_BATCH_MAX
            chunk = b"" if full else fh.read(TAIL_READ)
            if chunk:
                rest += chunk
                cut = rest.rfind(b"\n") + 1
                if cut:  # decoded whole lines at once, never a character cut in two
                    complete = rest[:cut].decode("utf-8", "replace").split("\n")
                    rest = rest[cut:]
                    pending.extend([line for line in complete
                                    if line and not line.isspace()])
            if not pending:
                if not chunk:
                    stop.wait(0.2)
                continue
            # Never more than TAIL_IN_FLIGHT batches ahead of the UI. While it is busy and
            # there is more to read, read on into the same batch: one message and one
            # write for many lines.
            if chunk and not full and in_flight.count >= TAIL_IN_FLIGHT:
                continue
            if not in_flight.wait_below(TAIL_IN_FLIGHT, stop):
                break
            in_flight.add()
            post(TailLines(tuple(pending), in_flight))
            pending = []
