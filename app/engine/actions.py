"""Actions on items shared by the CLI, the board and the engine.

Each is one store transaction that goes through the state machine, so a key
in the board and a command in the shell do exactly the same thing. A person's changes
(add, edit, move, advance, unblock, delete) are recorded in .orchestrator/history.jsonl
with what `undo` needs to take them back: the item's fields before and after, its place,
a deleted item's lines.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection
from typing import Any

from app.backlog import states
from app.backlog.model import (
    Item,
    choice_problem,
    choice_value,
    control_problem,
    dependency_problem,
    now_iso,
    parse_ids,
)
from app.backlog.store import BacklogStore, Transaction
from app.engine import jsonl
from app.engine.executor import AgentResult
from app.engine.project import Project
from app.errors import OrchestrateError, TransitionError, UnknownItemError
from app.structs import Struct

EDITABLE = ("title", "notes", "size", "complexity", "risk", "depends_on")
"""The fields `edit_item` changes, in the order they are named."""
UNDOABLE = ("add", "edit", "move", "advance", "unblock", "delete", "approve", "reject")
"""The history's actions `undo` takes back (each entry says what it needs)."""


def move_in(tx: Transaction, item_id: str, target: states.Target, *, by_person: bool,
            reason: str | None = None, notes: str | None = None,
            extra: dict[str, Any] | None = None) -> Item:
    """Check and apply a move inside an open transaction."""
    item = tx.get(item_id)
    states.check(item, target, by_person=by_person, reason=reason)
    # Any, not object: Transaction.set also takes `touch`, which these never carry.
    changes: dict[str, Any] = states.changes_for(item, target, reason=reason, notes=notes)
    changes.update(extra or {})
    return tx.set(item_id, **changes)


def apply_result_fields(tx: Transaction, item_id: str, result: AgentResult) -> list[Item]:
    """An agent's assessment onto the item, and each follow-up as a new item, inside an
    open transaction; returns the new items. A follow-up the item already asked for (the
    same title) is not added again: applying an answer twice (after a restart) adds
    nothing twice."""
    if result.assessment:
        # Any, not str: Transaction.set also takes `touch`, which an assessment never has.
        assessment: dict[str, Any] = result.assessment
        tx.set(item_id, **assessment)
    asked = {" ".join(i.title.split()) for i in tx.items()
             if i.origin == item_id} if result.follow_ups else set()
    added = []
    for follow in result.follow_ups:
        if " ".join(follow.title.split()) in asked:
            continue
        asked.add(" ".join(follow.title.split()))
        fields: dict[str, object] = {"origin": item_id}
        if follow.notes:
            fields["notes"] = follow.notes
        added.append(tx.add(follow.title, **fields))
    return added


def refuse_controls(**texts: str | None) -> None:
    """A person's words never carry control characters (newlines and tabs are fine: a
    title's whitespace is folded to spaces, notes keep theirs): OrchestrateError naming
    the field, the character and where it is."""
    for what, text in texts.items():
        problem = control_problem(what, text, newlines=True)
        if problem:
            raise OrchestrateError(problem)


def add_item(project: Project, title: str, *, store: BacklogStore | None = None,
             **fields: Any) -> Item:
    """A new item in `new` (through `store` when given, so its cache stays warm)."""
    refuse_controls(title=title, notes=fields.get("notes"))
    fields = {k: v for k, v in fields.items() if v not in (None, "", [])}
    with (store or project.store()).transaction() as tx:
        deps = fields.get("depends_on")
        if deps:  # a new item closes no cycle, but must name items that are there
            problem = dependency_problem(tx.items(), "", list(deps))
            if problem:
                raise UnknownItemError(problem)
        item = tx.add(title, **fields)
    record(project, "add", item.id, "(none)", states.describe(item),
           undo={"after": item.to_dict()})
    return item


class Edited(Struct, frozen=True):
    """What `edit_item` did."""

    item: Item
    """The item as it is now."""
    fields: tuple[str, ...]
    """The fields that changed (none: it already was as asked, and nothing was written)."""


def edit_item(project: Project, item_id: str, *, title: str | None = None,
              notes: str | None = None, size: str | None = None,
              complexity: str | None = None, risk: str | None = None,
              depends_on: str | list[str] | None = None, add_deps: Collection[str] = (),
              remove_deps: Collection[str] = ()) -> Edited:
    """A person's edit of an item's words, assessment and dependencies. A field left None
    stays as it is; notes `""` and size/complexity/risk `none` clear it; `depends_on`
    replaces the list (ids by commas or spaces), `add_deps` and `remove_deps` change it.
    A bad value, an unknown id or a dependency cycle is refused before anything is written.
    """
    refuse_controls(title=title, notes=notes)
    chosen = {"size": size, "complexity": complexity, "risk": risk}
    for name, value in chosen.items():
        problem = choice_problem(name, value)
        if problem:
            raise OrchestrateError(problem)
    if title is not None and not title.split():
        raise OrchestrateError("an item needs a title: give some words, or leave --title out")
    with project.store().transaction() as tx:
        before = tx.get(item_id)
        changes: dict[str, Any] = {}
        if title is not None and " ".join(title.split()) != before.title:
            changes["title"] = " ".join(title.split())
        if notes is not None and (notes.strip() or None) != before.notes:
            changes["notes"] = notes if notes.strip() else None
        for name, value in chosen.items():
            if value is not None and choice_value(value) != getattr(before, name):
                changes[name] = choice_value(value)
        deps = _dependencies(tx, before, depends_on, add_deps, remove_deps)
        if deps != list(before.depends_on):
            changes["depends_on"] = deps
        if not changes:
            return Edited(before, ())
        item = tx.set(before.id, **changes)
    record(project, "edit", item.id, states.describe(before), states.describe(item),
           fields=sorted(changes), undo={"before": before.to_dict(), "after": item.to_dict()})
    return Edited(item, tuple(k for k in EDITABLE if k in changes))


def _dependencies(tx: Transaction, item: Item, depends_on: str | list[str] | None,
                  add: Collection[str], remove: Collection[str]) -> list[str]:
    """The item's dependencies after an edit; refused when one names no item, the item
    itself, or closes a cycle."""
    if depends_on is None:
        deps = list(item.depends_on)
    elif isinstance(depends_on, str):
        deps = parse_ids(depends_on)
    else:
        deps = parse_ids(" ".join(depends_on))
    for dep in parse_ids(" ".join(add)):
        if dep not in deps:
            deps.append(dep)
    for dep in parse_ids(" ".join(remove)):
        if dep not in deps:
            raise OrchestrateError(f"{item.id} does not depend on {dep} "
                                   f"(it depends on {', '.join(deps) or 'nothing'})")
        deps.remove(dep)
    problem = dependency_problem(tx.items(), item.id, deps)
    if problem and problem.startswith("no item"):
        raise UnknownItemError(problem)
    if problem:
        raise OrchestrateError(problem)
    return deps


class Moved(Struct, frozen=True):
    """What a move did."""

    item: Item
    index: int
    """Where the item stands now, 0-based, in the backlog's order (a run's order)."""
    total: int
    """How many items the backlog holds."""
    moved: bool
    """False when it already stood there (nothing was written)."""

    @property
    def place(self) -> str:
        """`#2 of 7`."""
        return f"#{self.index + 1} of {self.total}"


def move_item(project: Project, item_id: str, *, top: bool = False, before: str | None = None,
              after: str | None = None) -> Moved:
    """Put an item at the top of the backlog, before or after another item, or (none of
    them given) at the bottom. The order is the order a run takes ready items in."""
    with project.store().transaction() as tx:
        item = tx.get(item_id)
        others = [i.id for i in tx.items() if i.id != item.id]
        if before is not None:
            anchor: str | None = tx.get(before).id
            if anchor == item.id:
                raise OrchestrateError(f"cannot move {item.id} before itself")
        elif after is not None:
            behind = tx.get(after).id
            if behind == item.id:
                raise OrchestrateError(f"cannot move {item.id} after itself")
            at = others.index(behind) + 1
            anchor = others[at] if at < len(others) else None
        else:
            anchor = others[0] if top and others else None
        moved, kept = _move(tx, item, anchor)
    _record_move(project, moved, kept)
    return moved


def move_within(project: Project, item_id: str, step: int, among: Collection[str],
                where: str) -> Moved:
    """Swap an item with the one before (step -1) or after (+1) it among `among` (the cards
    of its column), in the backlog's order; `where` names them for a refusal."""
    with project.store().transaction() as tx:
        item = tx.get(item_id)
        order = [i.id for i in tx.items()]
        column = [i for i in order if i in among or i == item.id]
        at = column.index(item.id)
        if step < 0:
            if at == 0:
                raise OrchestrateError(f"{item.id} is already at the top of {where}")
            anchor: str | None = column[at - 1]
        else:
            if at + 1 == len(column):
                raise OrchestrateError(f"{item.id} is already at the bottom of {where}")
            others = [i for i in order if i != item.id]
            follows = others.index(column[at + 1]) + 1
            anchor = others[follows] if follows < len(others) else None
        moved, kept = _move(tx, item, anchor)
    _record_move(project, moved, kept)
    return moved


def _move(tx: Transaction, item: Item, anchor: str | None) -> tuple[Moved, dict[str, Any]]:
    """Move inside an open transaction: what was done, and what undo will need."""
    old = _place(tx, item.id)
    tx.move(item.id, anchor)
    new = _place(tx, item.id)
    moved = Moved(item, new["index"], len(tx.items()), new != old)
    return moved, {"after": item.to_dict(), "from": old, "to": new}


def _record_move(project: Project, moved: Moved, kept: dict[str, Any]) -> None:
    """The history hears of a move once it is written (not of one that changed nothing)."""
    if moved.moved:
        record(project, "move", moved.item.id, f"#{kept['from']['index'] + 1}",
               f"#{kept['to']['index'] + 1}", undo=kept)


def _place(tx: Transaction, item_id: str) -> dict[str, Any]:
    """Where an item stands: its index and its neighbours."""
    index, previous, following = tx.position(item_id)
    return {"index": index, "after": previous, "before": following}


def _anchor(order: list[str], place: dict[str, Any]) -> str | None:
    """The item to put something back before, so that it stands at `place` again: before
    the item that followed it, else after the one before it, else at its index."""
    following, previous = place.get("before"), place.get("after")
    if following in order:
        return str(following)
    if previous in order:
        at = order.index(previous) + 1
        return order[at] if at < len(order) else None
    index = place.get("index")
    at = index if isinstance(index, int) and index >= 0 else len(order)
    return order[at] if at < len(order) else None


def advance(project: Project, item_id: str, to: str, *, reason: str | None = None,
            notes: str | None = None) -> Item:
    """A person's override: move an item to a status or phase (recorded in history)."""
    refuse_controls(reason=reason, notes=notes)
    with project.store().transaction() as tx:
        before = tx.get(item_id)
        target = states.parse_target(to, before)
        item = move_in(tx, before.id, target, by_person=True, reason=reason, notes=notes)
    record(project, "advance", item.id, states.describe(before), states.describe(item),
           reason=reason, notes=notes,
           undo={"before": before.to_dict(), "after": item.to_dict()})
    return item


def unblock(project: Project, item_id: str, notes: str | None = None) -> Item:
    """Return a blocked item to where it was blocked from, with the person's notes."""
    refuse_controls(notes=notes)
    with project.store().transaction() as tx:
        before = tx.get(item_id)
        target = states.unblock_target(before)
        item = move_in(tx, before.id, target, by_person=True, notes=notes)
    record(project, "unblock", item.id, "blocked", states.describe(item), notes=notes,
           undo={"before": before.to_dict(), "after": item.to_dict()})
    return item


def approve(project: Project, item_id: str) -> Item:
    """A person's yes to an item held for review: approved, a run merges its branch."""
    with project.store().transaction() as tx:
        before = tx.get(item_id)
        if before.status != "to_review":
            raise TransitionError(_not_held(before, "approve"))
        item = move_in(tx, before.id, states.Target("approved"), by_person=True)
    record(project, "approve", item.id, "to_review", "approved",
           undo={"before": before.to_dict(), "after": item.to_dict()})
    return item


def reject(project: Project, item_id: str, notes: str) -> Item:
    """A person's no: the item goes back to build with the notes, which its next build
    prompt carries (as unblock's do); its branch and worktree go on from where they are."""
    refuse_controls(notes=notes)
    if not notes.strip():
        raise OrchestrateError(f"rejecting {item_id} needs notes saying what to change "
                               "(--notes \"...\"): the next build works from them")
    with project.store().transaction() as tx:
        before = tx.get(item_id)
        if before.status not in states.HELD:
            raise TransitionError(_not_held(before, "reject"))
        item = move_in(tx, before.id, states.Target("in_progress", "build"), by_person=True,
                       notes=f"Sent back from review: {notes.strip()}")
    record(project, "reject", item.id, before.status, states.describe(item), notes=notes,
           undo={"before": before.to_dict(), "after": item.to_dict()})
    return item


def _not_held(item: Item, what: str) -> str:
    """Why `what` (approve, reject) does not apply to an item that is not held for review."""
    held = "to_review" if what == "approve" else "to_review or approved"
    return (f"{item.id} is {states.describe(item)}, not waiting for review: {what} takes an "
            f"item in {held} (a lane's finished item with [run] merge_when = \"review\")")


def delete_item(project: Project, item_id: str) -> Item:
    """Remove an item; its id is never reused."""
    with project.store().transaction() as tx:
        item = tx.get(item_id)
        kept = {"before": item.to_dict(), "position": _place(tx, item.id),
                "text": tx.item_text(item.id), "spot": tx.item_spot(item.id)}
        tx.delete(item.id)
    record(project, "delete", item.id, states.describe(item), "deleted", undo=kept)
    return item


# --- undo --------------------------------------------------------------------------------------
class Undone(Struct, frozen=True):
    """What `undo` took back."""

    action: str
    """The action undone (add, edit, move, advance, unblock, delete)."""
    item_id: str
    item: Item | None
    """The item as it is now; None when undoing its add deleted it."""
    said: str
    """One line for the person: `undid the edit of WRK-001 (title, size)`."""


def undo(project: Project) -> Undone:
    """Take back the person's last change that is not undone yet (repeated, it goes further
    back). Refused, saying why, when the item changed since."""
    entries, _ = jsonl.read(project.history_path, "action")
    undone = {e.get("undoes") for e in entries if e["action"] == "undo"}
    entry = next((e for e in reversed(entries)
                  if e["action"] != "undo" and (e.get("id") is None or e["id"] not in undone)),
                 None)
    if entry is None:
        raise OrchestrateError("nothing to undo: no change of yours is left in "
                               ".orchestrator/history.jsonl")
    action, item_id, data = entry["action"], str(entry.get("item")), entry.get("undo")
    what = f"the {action} of {item_id}"
    if action not in UNDOABLE or not entry.get("id") or not isinstance(data, dict):
        raise OrchestrateError(f"cannot undo {what} ({entry.get('at', 'undated')}): it was "
                               "recorded without what undo needs (by an older orchestrate); "
                               "change it back by hand")
    with project.store().transaction() as tx:
        item, said = _UNDO[action](tx, item_id, data, what)
    record(project, "undo", item_id, str(entry.get("to", "")), str(entry.get("from", "")),
           undoes=entry["id"], undid=action)
    return Undone(action, item_id, item, said)


def _unchanged(tx: Transaction, item_id: str, after: Any, what: str) -> Item:
    """The item, when it is still as the change left it; refused otherwise."""
    try:
        item = tx.get(item_id)
    except UnknownItemError:
        raise OrchestrateError(f"cannot undo {what}: {item_id} is gone") from None
    now = json.loads(json.dumps(item.to_dict(), ensure_ascii=False))
    was = after if isinstance(after, dict) else {}
    changed = [k for k in {**was, **now} if was.get(k) != now.get(k)]
    if changed:
        shown = [k for k in changed if k != "updated"] or changed
        said = ", ".join(
            f"{k} {was.get(k)} → {now.get(k)}"
            if len(repr(was.get(k))) + len(repr(now.get(k))) <= 40 else k for k in shown)
        raise OrchestrateError(f"cannot undo {what}: it changed since ({said}); "
                               f"`orchestrate show {item_id}` shows it as it is")
    return item


def _undo_add(tx: Transaction, item_id: str, data: dict[str, Any],
              what: str) -> tuple[Item | None, str]:
    _unchanged(tx, item_id, data.get("after"), what)
    tx.delete(item_id)
    return None, f"undid {what}: deleted (its id will not be reused)"


def _undo_approve(tx: Transaction, item_id: str, data: dict[str, Any],
                  what: str) -> tuple[Item | None, str]:
    """An approve is taken back only while its merge has not happened."""
    if tx.get(item_id).status == "done":
        raise OrchestrateError(f"cannot undo {what}: it is merged already (done); revert "
                               "its merge commit with git if it must go")
    return _undo_fields(tx, item_id, data, what)


def _undo_fields(tx: Transaction, item_id: str, data: dict[str, Any],
                 what: str) -> tuple[Item | None, str]:
    _unchanged(tx, item_id, data.get("after"), what)
    before, after = data.get("before") or {}, data.get("after") or {}
    back = {k: before.get(k) for k in {**before, **after} if before.get(k) != after.get(k)}
    item = tx.set(item_id, touch=False, **back)
    named = [k for k in back if k != "updated"]
    return item, f"undid {what}: back to {states.describe(item)}" + (
        f" ({', '.join(sorted(named))})" if what.startswith("the edit") and named else "")


def _undo_move(tx: Transaction, item_id: str, data: dict[str, Any],
               what: str) -> tuple[Item | None, str]:
    item = _unchanged(tx, item_id, data.get("after"), what)
    order = [i.id for i in tx.items() if i.id != item_id]
    tx.move(item_id, _anchor(order, data.get("from") or {}))
    return item, f"undid {what}: back to #{tx.position(item_id)[0] + 1} of {len(tx.items())}"


def _undo_delete(tx: Transaction, item_id: str, data: dict[str, Any],
                 what: str) -> tuple[Item | None, str]:
    before = data.get("before")
    if not isinstance(before, dict):
        raise OrchestrateError(f"cannot undo {what}: its fields were not recorded")
    try:
        tx.get(item_id)
    except UnknownItemError:
        pass
    else:
        raise OrchestrateError(f"cannot undo {what}: an item {item_id} is in the backlog again")
    order = [i.id for i in tx.items()]
    text, spot = data.get("text"), data.get("spot")
    where = (spot[0], spot[1]) if isinstance(spot, list) and len(spot) == 2 \
        and isinstance(spot[1], int) else None
    item = tx.restore(Item.from_dict(before), _anchor(order, data.get("position") or {}),
                      text if isinstance(text, str) else None, where)
    return item, f"undid {what}: back at #{tx.position(item_id)[0] + 1} of {len(tx.items())}"


_UNDO: dict[str, Callable[[Transaction, str, dict[str, Any], str],
                          tuple[Item | None, str]]] = {
    "add": _undo_add, "edit": _undo_fields, "advance": _undo_fields,
    "unblock": _undo_fields, "move": _undo_move, "delete": _undo_delete,
    "approve": _undo_approve, "reject": _undo_fields,
}


def record(project: Project, action: str, item_id: str, before: str, after: str,
           *, undo: dict[str, Any] | None = None, **details: Any) -> str:
    """Append a person's action to .orchestrator/history.jsonl (with `undo`: what taking
    it back needs); returns the entry's id."""
    entry_id = os.urandom(6).hex()  # as uuid4().hex[:12], without uuid's import at start
    entry = {"at": now_iso(), "id": entry_id, "action": action, "item": item_id,
             "from": before, "to": after, **{k: v for k, v in details.items() if v}}
    if undo is not None:
        entry["undo"] = undo
    jsonl.append(project.history_path, entry)
    return entry_id
