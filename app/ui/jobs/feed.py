"""What the board reads from disk: BACKLOG.yaml (first before the first frame, then off
the UI thread whenever it changes, also where a symlinked BACKLOG.yaml points) and the
details of one item (with its checkpoints, asked of git).

The feed never touches a widget: it posts its Loaded, Failed and DetailLoaded messages
to the main screen, which shows them.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
from pathlib import Path
from typing import Any, Protocol

from textual.message import Message
from textual.timer import Timer
from textual.worker import get_current_worker

from app.backlog.model import Backlog, Item
from app.backlog.store import BacklogStore
from app.engine.project import Project
from app.errors import OrchestrateError
from app.ui.jobs.node import Node
from widgets.detail import Attempt, CheckpointRow, ItemDetail, sorted_files

RELOAD_DEBOUNCE_S = 0.05
"""Bursts of item changes from the engine become one reload."""
SYNC_LOAD_MAX_BYTES = 1_500_000
"""A BACKLOG.yaml up to this size (~5,000 items) is read before the first frame."""


def _import_watchfiles() -> Any:
    """watchfiles and the anyio backend its awatch loads on first use (~100 ms of imports,
    done in a thread so the UI thread never waits for them)."""
    module = importlib.import_module("watchfiles")
    with contextlib.suppress(ImportError):
        importlib.import_module("anyio._backends._asyncio")
    return module


class FeedScreen(Node, Protocol):
    """What the feed needs of the screen: its workers, timers and messages, nothing else."""


class BacklogFeed:
    """Reads BACKLOG.yaml for the board: once before the first frame, then in a worker.

    `node` runs the workers and timers and receives the messages (the main screen).
    """

    class Loaded(Message, bubble=False):
        """A fresh snapshot of BACKLOG.yaml was read."""

        def __init__(self, backlog: Backlog) -> None:
            super().__init__()
            self.backlog = backlog
            """The snapshot."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, BacklogFeed.Loaded)

    class Failed(Message, bubble=False):
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

    def __init__(self, node: FeedScreen, project: Project, store: BacklogStore) -> None:
        self._node = node
        self._project = project
        self._store = store
        self._reload_timer: Timer | None = None
        self._stop = asyncio.Event()

    def first_load(self) -> Message | None:
        """Read BACKLOG.yaml now, so the first frame already shows the cards.

        Loading in a worker instead painted an empty board first and then the cards: two
        full frames, and the parse shared the interpreter with the first one, so the cards
        came ~50 ms later (1,000 items). A snapshot another process kept is read at any
        size; a file that needs parsing and is too big to parse at once (~5,000 items and
        more) is parsed in the worker, behind an empty board (then None is returned).
        Returns what a worker would have posted, for the caller to handle at once.
        """
        try:
            backlog = self._store.load_without_parsing()
            if backlog is None:
                if self._project.backlog_path.stat().st_size > SYNC_LOAD_MAX_BYTES:
                    self.reload()
                    return None
                backlog = self._store.load()
        except OSError:
            self.reload()  # gone since it was read: the worker says what is wrong
            return None
        except OrchestrateError as exc:
            return self.Failed(str(exc))
        return self.Loaded(backlog)

    def reload(self) -> None:
        """Read BACKLOG.yaml again (in a worker thread)."""
        self._reload_timer = None
        self._node.run_worker(self._load, name="load", group="load", thread=True,
                              exclusive=True, exit_on_error=False,
                              description="read BACKLOG.yaml")

    def schedule_reload(self) -> None:
        """Reload soon; a burst of calls makes one reload."""
        if self._reload_timer is None:
            self._reload_timer = self._node.set_timer(RELOAD_DEBOUNCE_S, self.reload)

    def _load(self) -> None:
        worker = get_current_worker()
        try:
            backlog = self._store.load()
        except OrchestrateError as exc:
            if not worker.is_cancelled:
                self._node.post_message(self.Failed(str(exc)))
            return
        if not worker.is_cancelled:
            self._node.post_message(self.Loaded(backlog))

    def watch(self) -> None:
        """Reload whenever BACKLOG.yaml changes on disk (until `stop`)."""
        self._node.run_worker(self._follow(), name="watch-backlog", group="watch-backlog",
                              exclusive=True, exit_on_error=False,
                              description="watch BACKLOG.yaml")

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()

    async def _follow(self) -> None:
        awatch = (await asyncio.to_thread(_import_watchfiles)).awatch
        link = self._project.backlog_path
        self.reload()  # a write between the first load and the watcher (cheap if none)
        while not self._stop.is_set():
            # The folder, not the file: an atomic write replaces the file by rename. A
            # symlinked BACKLOG.yaml is written where it points (app/backlog/atomic.py):
            # that folder is watched too, for the target's name.
            target = Path(os.path.realpath(link))
            watched = {(str(link.parent), link.name), (str(target.parent), target.name)}
            folders = sorted({folder for folder, _name in watched if os.path.isdir(folder)})

            def only_backlog(_change: object, path: str,
                             watched: set[tuple[str, str]] = watched) -> bool:
                # watchfiles names a changed file under its folder as that was given
                return os.path.split(path) in watched

            relinked = False
            async for _changes in awatch(*folders, watch_filter=only_backlog, debounce=50,
                                         step=10, recursive=False, stop_event=self._stop):
                self.reload()
                if Path(os.path.realpath(link)) != target:  # the link points elsewhere now
                    relinked = True
                    break
            if not relinked:
                return

    def load_detail(self, backlog: Backlog | None, item_id: str) -> None:
        """Gather the details of `item_id` in a worker; a DetailLoaded follows."""
        item = backlog.by_id.get(item_id) if backlog is not None else None
        if item is None:
            return
        assert backlog is not None
        self._node.run_worker(lambda: self._gather(backlog, item), name="detail",
                              group="detail", thread=True, exclusive=True,
                              exit_on_error=False, description="gather an item's details")

    def _gather(self, backlog: Backlog, item: Item) -> None:
        detail = gather_detail(self._project, item, backlog)
        if not get_current_worker().is_cancelled:
            self._node.post_message(self.DetailLoaded(detail))


def gather_detail(project: Project, item: Item, backlog: Backlog | None = None) -> ItemDetail:
    """The files of `item`'s change folder, its worklog attempts, its checkpoints (git),
    and with `backlog` where its dependencies stand and which items need it, and the
    guardrails' verdict (reads files)."""
    # here, in the worker: the first frame shows no details
    from app.engine import changes, commits, dependencies, worklog
    from app.engine.config import within_guardrails

    folder = changes.change_folder(project.root, item)  # in its lane's worktree, if any
    try:
        files = sorted_files([str(p.relative_to(folder)) for p in folder.rglob("*")
                              if p.is_file()])
    except OSError:
        files = ()
    entries = worklog.for_item(worklog.read(project.worklog_path), item.id)
    log = commits.checkpoints(project.root, item.id)
    progress = changes.spec_progress(project.root, item)
    outside = None
    if item.status == "ready":
        try:
            outside = within_guardrails(item, project.config())
        except OrchestrateError:  # a broken orchestrate.toml: nothing said of guardrails
            outside = None
    return ItemDetail(
        item, files, tuple(attempt_of(entry) for entry in entries),
        depends=dependencies.dependency_states(backlog, item) if backlog else (),
        needed_by=dependencies.needed_by(backlog, item.id) if backlog else (),
        outside_guardrails=outside, spec=str(progress) if progress else None,
        documents=len(changes.document_names(folder)),
        checkpoints=tuple(CheckpointRow(c.short, c.when, c.phase or "", c.summary)
                          for c in log.checkpoints),
        checkpoints_note=log.unavailable)


def attempt_of(entry: dict[str, Any]) -> Attempt:
    """A worklog entry as the detail pane lists it."""
    from app.engine import worklog

    cost = entry.get("cost_usd")
    return Attempt(
        when=str(entry.get("start") or "")[:16].replace("T", " "),
        phase=str(entry.get("phase", "?")),
        attempt=str(entry.get("attempt", "?")),
        duration=worklog.format_duration(float(entry.get("duration_s") or 0)),
        outcome=str(entry.get("outcome") or "?"),
        cost=f"${float(cost):.2f}" if cost is not None else "",
        reason=str(entry.get("reason") or ""),
        agent=worklog.agent_of(entry),
    )
