"""The backlog's tools, as `orchestrate mcp` offers them to an agent: each a method whose
signature is its JSON schema (pydantic reads the annotations, `Field` describes each
argument) and whose docstring is the description the agent reads.

Every write goes through app/engine/actions.py: the same store transaction under the
store lock, the same validation and the same history.jsonl entry as the CLI and the
board, so `orchestrate undo` takes an agent's change back like any other. A refusal is
a `Refused` naming the argument and what it takes; nothing is written then.

A scoped server (ORCHESTRATE_MCP_ITEM: one attempt's own, mcpattempt.py) writes only
about its item: `add_follow_up` and `block_item`, whose question goes to the ask file
the run reads once the agent has ended.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from app.backlog.model import STATUSES, Backlog, Item, control_problem
from app.engine import actions, changes, jsonl, mcpattempt, worklog
from app.engine.liverun import live_run
from app.engine.project import Project
from app.errors import OrchestrateError

Status = Literal["new", "scoped", "researching", "ready", "in_progress", "to_review",
                 "approved", "done", "blocked"]
Size = Literal["small", "medium", "large", "none"]
Level = Literal["low", "medium", "high", "none"]
Where = Literal["top", "bottom", "before", "after"]

ItemId = Annotated[str, Field(description="an item's id, such as WRK-001 (list_items shows "
                                          "them)")]
Title = Annotated[str, Field(description="what the work is, in one line (no control "
                                         "characters)", min_length=1)]
Notes = Annotated[str | None, Field(description="details every agent working on the item "
                                                "reads (newlines are fine)")]
Ids = Annotated[list[str] | None, Field(description="ids of items that must be done first")]

DOCUMENT_URI = "orchestrate://items/{item_id}/documents/{name}"
"""An item's change document as a resource (`name` with `/` escaped as %2F)."""


class Refused(OrchestrateError):
    """A tool call refused: its message names the argument and what it takes."""


@contextlib.contextmanager
def about(argument: str) -> Iterator[None]:
    """An OrchestrateError inside names `argument` first: `depends_on: WRK-001 → ...`."""
    try:
        yield
    except Refused:
        raise
    except OrchestrateError as exc:
        raise Refused(f"{argument}: {exc}") from None


def summary(item: Item) -> dict[str, Any]:
    """An item in a list: what tells it apart."""
    data = {"id": item.id, "title": item.title, "status": item.status, "phase": item.phase,
            "size": item.size, "risk": item.risk, "blocked_reason": item.blocked_reason,
            "depends_on": list(item.depends_on)}
    return {k: v for k, v in data.items() if v not in (None, [])}


def document_uri(item_id: str, name: str) -> str:
    """The resource URI of one of an item's documents."""
    return DOCUMENT_URI.format(item_id=item_id, name=name.replace("/", "%2F"))


class BacklogTools:
    """The tools over one project; `scope`: the one item a scoped server writes about,
    `ask`: where its `block_item` leaves the question."""

    def __init__(self, project: Project, scope: str | None = None,
                 ask: Path | None = None) -> None:
        self.project = project
        self.scope = scope
        self.ask = ask

    @classmethod
    def from_environment(cls, project: Project) -> BacklogTools:
        """Scoped when ORCHESTRATE_MCP_ITEM names an item (an attempt's own server)."""
        scope = os.environ.get(mcpattempt.ITEM_VAR, "").strip().upper() or None
        ask = os.environ.get(mcpattempt.ASK_VAR)
        if scope is not None and not ask:
            ask = str(project.mcp_dir / f"{scope}.ask.json")
        return cls(project, scope, Path(ask) if ask else None)

    def _backlog(self) -> Backlog:
        return self.project.store().load()

    def _item(self, item_id: str, argument: str = "id") -> Item:
        with about(argument):
            return self._backlog().get(item_id)

    # reading ---------------------------------------------------------------------------------
    def list_items(self, status: Annotated[list[Status] | None, Field(
                       description="only items in these statuses (default: all)")] = None,
                   text: Annotated[str | None, Field(
                       description="only items whose id, title or notes hold this text "
                                   "(any case)")] = None,
                   limit: Annotated[int, Field(description="at most this many items",
                                               ge=1, le=1000)] = 200) -> dict[str, Any]:
        """List the backlog's items in its order (the order a run takes ready items in):
        id, title, status, phase, size, risk, why blocked, dependencies. Filter by status
        and by text; show_item gives one item whole."""
        backlog = self._backlog()
        wanted = set(status or ())
        needle = (text or "").strip().lower()
        found = [i for i in backlog.items if (not wanted or i.status in wanted)
                 and (not needle or needle in f"{i.id}\n{i.title}\n{i.notes or ''}".lower())]
        return {"count": len(found), "items": [summary(i) for i in found[:limit]],
                "truncated": len(found) > limit}

    def show_item(self, id: ItemId) -> dict[str, Any]:
        """Everything about one item: every field, its notes, which items it waits on and
        which need it, its change folder's documents (read them as resources: each has a
        uri) and its attempts so far."""
        item = self._item(id)
        backlog = self._backlog()
        documents = changes.document_names(changes.change_folder(self.project.root, item))
        attempts = worklog.for_item(worklog.read(self.project.worklog_path), item.id)
        return {**item.to_dict(), "change_dir": item.change_dir,
                "needed_by": [i.id for i in backlog.items if item.id in i.depends_on],
                "documents": [{"name": n, "uri": document_uri(item.id, n)}
                              for n in documents],
                "attempts": [{k: a.get(k) for k in ("phase", "attempt", "outcome", "reason",
                                                     "start", "cost_usd") if a.get(k)}
                             for a in attempts]}

    def backlog_status(self) -> dict[str, Any]:
        """How the backlog stands: how many items in each status, the attempts and cost so
        far, and the run going on now if any (its pid, lanes: which item in which phase,
        a usage-limit pause, its spend)."""
        backlog = self._backlog()
        entries, _ = jsonl.read(self.project.worklog_path, "item")
        total = worklog.totals(entries)
        run = live_run(self.project, entries=entries)
        return {"prefix": backlog.prefix, "items": len(backlog.items),
                "counts": {s: len(backlog.with_status(s)) for s in STATUSES},
                "attempts": total.attempts, "cost_usd": round(total.cost_usd, 6),
                "run": run.to_json() if run is not None else None,
                "scope": self.scope}

    # writing ---------------------------------------------------------------------------------
    def add_item(self, title: Title, notes: Notes = None, size: Size | None = None,
                 complexity: Level | None = None, risk: Level | None = None,
                 depends_on: Ids = None) -> dict[str, Any]:
        """Add a new item to the backlog (status new; a person or triage makes it ready).
        `orchestrate undo` takes it back."""
        deps = [self._item(d, "depends_on").id for d in depends_on or ()]
        with about("title"):
            item = actions.add_item(self.project, title, notes=notes,
                                    size=_stored(size), complexity=_stored(complexity),
                                    risk=_stored(risk), depends_on=deps)
        return item.to_dict()

    def edit_item(self, id: ItemId, title: Annotated[str | None, Field(
                      description="the new title")] = None,
                  notes: Annotated[str | None, Field(
                      description="the new notes (replaces them; \"\" clears them)")] = None,
                  size: Size | None = None, complexity: Level | None = None,
                  risk: Level | None = None,
                  depends_on: Annotated[list[str] | None, Field(
                      description="the whole list of items it waits on ([] for none)")]
                  = None,
                  add_deps: Annotated[list[str] | None, Field(
                      description="items it waits on as well")] = None,
                  remove_deps: Annotated[list[str] | None, Field(
                      description="items it no longer waits on")] = None) -> dict[str, Any]:
        """Change an item's title, notes, size, complexity, risk (none clears one) or
        dependencies; what is not given stays. A cycle or an unknown id is refused."""
        item = self._item(id)
        for argument, ids in (("depends_on", depends_on), ("add_deps", add_deps)):
            for dep in ids or ():
                self._item(dep, argument)
        for argument, text in (("title", title), ("notes", notes)):
            problem = control_problem(argument, text, newlines=True)
            if problem:
                raise Refused(f"{argument}: {problem}")
        with about("depends_on" if depends_on is not None or add_deps or remove_deps
                   else "title"):
            done = actions.edit_item(self.project, item.id, title=title, notes=notes,
                                     size=size, complexity=complexity, risk=risk,
                                     depends_on=depends_on, add_deps=add_deps or (),
                                     remove_deps=remove_deps or ())
        return {**done.item.to_dict(), "changed": list(done.fields)}

    def move_item(self, id: ItemId, where: Annotated[Where, Field(
                      description="top or bottom of the backlog, or before/after `anchor`")],
                  anchor: Annotated[str | None, Field(
                      description="the item to go before or after")] = None
                  ) -> dict[str, Any]:
        """Put an item elsewhere in the backlog's order, the order a run takes ready items
        in. Only its lines move in BACKLOG.yaml."""
        item = self._item(id)
        if where in ("before", "after"):
            if not anchor:
                raise Refused(f"anchor: give the item to go {where}")
            anchor = self._item(anchor, "anchor").id
        with about("anchor"):
            done = actions.move_item(self.project, item.id, top=where == "top",
                                     before=anchor if where == "before" else None,
                                     after=anchor if where == "after" else None)
        return {"id": item.id, "position": done.index + 1, "total": done.total,
                "moved": done.moved}

    def advance_item(self, id: ItemId, to: Annotated[str, Field(
                         description="a status (new, scoped, researching, ready, "
                                     "in_progress, to_review, approved, done, blocked) or a "
                                     "phase (prd, research, design, spec, build, review: "
                                     "in_progress at that phase)")],
                     reason: Annotated[str | None, Field(
                         description="why (needed with to = blocked)")] = None,
                     notes: Notes = None) -> dict[str, Any]:
        """Move an item to a status or phase, as a person's override (`ready` lets a run
        take it). Refused while a live run's lane works on the item."""
        item = self._live_check(self._item(id))
        with about("to"):
            moved = actions.advance(self.project, item.id, to, reason=reason, notes=notes)
        return moved.to_dict()

    def unblock_item(self, id: ItemId, notes: Annotated[str | None, Field(
                         description="what the next agent should know: the answer to the "
                                     "blocked reason")] = None) -> dict[str, Any]:
        """Return a blocked item to where it was blocked from, with notes answering its
        question (every later agent reads them)."""
        item = self._item(id)
        with about("id"):
            moved = actions.unblock(self.project, item.id, notes)
        return moved.to_dict()

    def block_item(self, id: ItemId, question: Annotated[str, Field(
                       description="what a person must answer or decide: the item's "
                                   "blocked reason", min_length=1)]) -> dict[str, Any]:
        """Ask a person: block the item with your question as its reason. A run takes it
        no further until a person unblocks it with notes answering it."""
        item = self._live_check(self._item(id))
        with about("question"):
            moved = actions.advance(self.project, item.id, "blocked", reason=question)
        return moved.to_dict()

    def add_follow_up(self, id: ItemId, title: Title, notes: Notes = None) -> dict[str, Any]:
        """Record new work found while working on an item: a new item (status new) whose
        origin is that item."""
        origin = self._item(id)
        return self._follow_up(origin, title, notes)

    # a scoped server's writes: about its item only ----------------------------------------
    def scoped_block(self, question: Annotated[str, Field(
                         description="what a person must answer or decide: it becomes the "
                                     "item's blocked reason", min_length=1)]
                     ) -> dict[str, Any]:
        """Ask a person about the item you work on: once you end, the run blocks it with
        your question as the reason (whatever your result file says). Stop after asking."""
        assert self.scope is not None and self.ask is not None
        problem = control_problem("question", question, newlines=True)
        if problem or not question.strip():
            raise Refused(f"question: {problem or 'say what a person must answer'}")
        mcpattempt.write_ask(self.ask, self.scope, question.strip())
        return {"id": self.scope, "asked": question.strip(),
                "then": "the run blocks the item with this question once you end"}

    def scoped_follow_up(self, title: Title, notes: Notes = None) -> dict[str, Any]:
        """Record new work you found: a new item (status new) whose origin is the item you
        work on. The same title twice adds it once."""
        assert self.scope is not None
        return self._follow_up(self._item(self.scope), title, notes)

    def _follow_up(self, origin: Item, title: str, notes: str | None) -> dict[str, Any]:
        same = " ".join(title.split())
        for item in self._backlog().items:
            if item.origin == origin.id and item.title == same:
                return {**item.to_dict(), "added": False}
        with about("title"):
            item = actions.add_item(self.project, title, notes=notes, origin=origin.id)
        return {**item.to_dict(), "added": True}

    def _live_check(self, item: Item) -> Item:
        """A move is refused while a live run's lane works on the item."""
        run = live_run(self.project, spend=False)
        if run is not None and item.id in run.working:
            raise Refused(f"id: {item.id}'s lane is live in the run of pid {run.pid}: a "
                          "move now would leave that lane working on it; wait until the "
                          "run is done with it")
        return item


def _stored(value: str | None) -> str | None:
    """A size or level as add_item takes it (`none`: not given)."""
    return None if value in (None, "none") else value
