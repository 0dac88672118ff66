"""Taking an item away from a live run: a person deletes or moves an item a lane works on.

Deleting or advancing an item while its lane works would leave that lane working on (and
later merging) something that is gone or moved. So `delete` and `advance` refuse an item
a live run works on, unless told `--force`: then they first ask the run to let go of it
and wait until it has (its agent stopped and recorded as interrupted, its lane closed,
the item not taken again in that run), and only then change BACKLOG.yaml.

The ask crosses processes as a file, `.orchestrator/requests/withdraw-<ID>`: the run
looks for such files a few times a second (`RequestWatcher`), lets go of the item, and
removes the file once its lane is closed; the asker waits for the file to go. A run in
the same process (the board's own) is asked directly (`Pipeline.withdraw`), and the same
file says when it has let go.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from app.engine.project import Project

POLL_S = 0.25
"""How often the run looks for requests, and the asker for the answer."""
PREFIX = "withdraw-"


def requests_dir(project: Project) -> Path:
    return project.state_dir / "requests"


def request(project: Project, item_id: str) -> Path:
    """Ask the live run to let go of the item; the file to wait on."""
    folder = requests_dir(project)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{PREFIX}{item_id}"
    path.write_text(f"{item_id}\n", encoding="utf-8")
    return path


def asked(project: Project) -> list[str]:
    """The items the run is asked to let go of."""
    try:
        return sorted(p.name[len(PREFIX):] for p in requests_dir(project).iterdir()
                      if p.name.startswith(PREFIX))
    except OSError:
        return []


def answer(project: Project, item_id: str) -> None:
    """The run has let go of the item (its lane is closed)."""
    (requests_dir(project) / f"{PREFIX}{item_id}").unlink(missing_ok=True)


def wait_until_let_go(project: Project, item_id: str, timeout_s: float,
                      still_running: Callable[[], bool]) -> bool:
    """Ask and wait until the run has let go of the item (True), or the run ended
    (True: nothing works on it any more), or `timeout_s` passed (False; the ask is taken
    back, so a later run does not act on it)."""
    path = request(project, item_id)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not path.exists():
            return True
        if not still_running():
            path.unlink(missing_ok=True)
            return True
        time.sleep(POLL_S)
    path.unlink(missing_ok=True)
    return False


class RequestWatcher:
    """A thread of the run that hands each request to `let_go` once (until answered)."""

    def __init__(self, project: Project, let_go: Callable[[str], None]) -> None:
        self.project = project
        self.let_go = let_go
        self._seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="run-requests", daemon=True)

    def __enter__(self) -> RequestWatcher:
        for stale in asked(self.project):  # asked of an earlier run that is gone
            answer(self.project, stale)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for left in asked(self.project):  # the run ends: nothing works on them any more
            answer(self.project, left)

    def _watch(self) -> None:
        while not self._stop.wait(POLL_S):
            now = set(asked(self.project))
            for item_id in sorted(now - self._seen):
                self.let_go(item_id)
            self._seen = now
