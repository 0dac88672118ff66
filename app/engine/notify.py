"""Tell the person when something needs them: `[notify] command` with one JSON object.

The command is an argv list (never a shell), run with the event as one JSON object
on its stdin:

    {"event": "item_blocked"|"item_done"|"item_ready_for_review"|"run_finished"|
              "run_paused",
     "item_id": "WRK-001"|null, "title": "...", "message": "...", "project": "/abs"}

It never holds up the run: each notification runs in a thread of its own, is
killed after `timeout_s`, and what went wrong is handed to `on_error` (the run
shows it as a warning) instead of raised.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from app.engine.events import Event, ItemChanged, RunFinished, RunPaused
from app.engine.limits import clock_time
from app.structs import Struct, asdict

EVENTS: tuple[str, ...] = ("item_blocked", "item_done", "item_ready_for_review",
                           "run_finished", "run_paused")
"""What a notification can be about."""
TIMEOUT_S = 10.0


class Notification(Struct, frozen=True):
    """One thing worth telling the person."""

    event: str
    item_id: str | None
    title: str
    message: str
    project: str

    def to_json(self) -> str:
        """The object the command reads on its stdin."""
        return json.dumps(asdict(self), ensure_ascii=False)


class Notifier:
    """Runs the configured command for each notification, off the engine's thread."""

    def __init__(self, command: Sequence[str] | None, project_root: Path, *,
                 on_error: Callable[[str], None] | None = None,
                 timeout_s: float = TIMEOUT_S) -> None:
        self.command = tuple(command or ())
        """The argv to run; empty: notifications go nowhere."""
        self.project_root = project_root
        self.on_error = on_error
        self.timeout_s = timeout_s
        self._threads: list[threading.Thread] = []

    def send(self, event: str, message: str, *, item_id: str | None = None,
             title: str = "") -> Notification:
        """Notify in the background; returns what was sent."""
        if event not in EVENTS:
            raise ValueError(f"unknown notification event {event!r}")
        note = Notification(event, item_id, title, message, str(self.project_root.resolve()))
        if self.command:
            thread = threading.Thread(target=self._run, args=(note,), daemon=True,
                                      name=f"notify-{event}")
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
            thread.start()
        return note

    def wait(self, timeout_s: float | None = None) -> None:
        """Wait for notifications still being sent (at the end of a run)."""
        for thread in list(self._threads):
            thread.join(timeout_s if timeout_s is not None else self.timeout_s + 1)

    def _run(self, note: Notification) -> None:
        name = self.command[0]
        try:
            done = subprocess.run(list(self.command), input=note.to_json().encode(),
                                  capture_output=True, timeout=self.timeout_s,
                                  cwd=self.project_root, check=False)
        except FileNotFoundError:
            self._error(f"notify.command {name!r} not found: fix [notify] command in "
                        "orchestrate.toml")
            return
        except subprocess.TimeoutExpired:
            self._error(f"notify.command {name!r} took over {self.timeout_s:g} s and was "
                        "stopped")
            return
        except OSError as exc:
            self._error(f"notify.command {name!r} could not start: {exc.strerror}")
            return
        if done.returncode != 0:
            said = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            self._error(f"notify.command {name!r} exited with {done.returncode}"
                        + (f": {said[0][:200]}" if said[0] else ""))

    def _error(self, text: str) -> None:
        if self.on_error is not None:
            self.on_error(text)


class NotifyObserver:
    """An observer of a run's events that notifies on what a person must hear about: an
    item blocked, done or ready for review, the run finished or paused for a usage limit."""

    def __init__(self, notifier: Notifier, kind: str,
                 title_of: Callable[[str], str]) -> None:
        self.notifier = notifier
        self.kind = kind
        """`run` or `triage`, for the message."""
        self.title_of = title_of
        """An item's title by id ("" when unknown)."""

    def __call__(self, event: Event) -> None:
        if isinstance(event, ItemChanged) and event.status in ("blocked", "done",
                                                                "to_review"):
            title = self.title_of(event.item_id)
            if event.status == "to_review":
                self.notifier.send("item_ready_for_review", f"{event.item_id} waits for your "
                                   f"review: {title} (`orchestrate approve {event.item_id}`)",
                                   item_id=event.item_id, title=title)
            elif event.status == "blocked":
                self.notifier.send("item_blocked", f"{event.item_id} blocked: "
                                   f"{event.reason or 'needs a person'}",
                                   item_id=event.item_id, title=title)
            else:
                self.notifier.send("item_done", f"{event.item_id} done: {title}",
                                   item_id=event.item_id, title=title)
        elif isinstance(event, RunPaused):
            self.notifier.send("run_paused", f"{self.kind} paused: usage limit, resumes at "
                               f"{clock_time(event.resumes_at, event.at)}: {event.reason}",
                               item_id=event.item_id,
                               title=self.title_of(event.item_id) if event.item_id else "")
        elif isinstance(event, RunFinished):
            self.notifier.send("run_finished", f"{self.kind} finished: {event.reason} "
                               f"({event.attempts} attempts, ${event.cost_usd:.2f})")
