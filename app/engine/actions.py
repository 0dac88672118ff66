"""Actions on items shared by the CLI, the board and the engine.

Each is one store transaction that goes through the state machine, so a key
in the board and a command in the shell do exactly the same thing.
"""

from __future__ import annotations

from typing import Any

from app.backlog import states
from app.backlog.model import Item, control_problem, now_iso
from app.backlog.store import BacklogStore, Transaction
from app.engine import jsonl
from app.engine.project import Project
from app.engine.results import AgentResult
from app.errors import OrchestrateError


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
    open transaction; returns the new items."""
    if result.assessment:
        # Any, not str: Transaction.set also takes `touch`, which an assessment never has.
        assessment: dict[str, Any] = result.assessment
        tx.set(item_id, **assessment)
    added = []
    for follow in result.follow_ups:
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
        return tx.add(title, **fields)


def advance(project: Project, item_id: str, to: str, *, reason: str | None = None,
            notes: str | None = None) -> Item:
    """A person's override: move an item to a status or phase (recorded in history)."""
    refuse_controls(reason=reason, notes=notes)
    with project.store().transaction() as tx:
        before = tx.get(item_id)
        target = states.parse_target(to, before)
        item = move_in(tx, before.id, target, by_person=True, reason=reason, notes=notes)
    record(project, "advance", item.id, states.describe(before), states.describe(item),
           reason=reason, notes=notes)
    return item


def unblock(project: Project, item_id: str, notes: str | None = None) -> Item:
    """Return a blocked item to where it was blocked from, with the person's notes."""
    refuse_controls(notes=notes)
    with project.store().transaction() as tx:
        before = tx.get(item_id)
        target = states.unblock_target(before)
        item = move_in(tx, before.id, target, by_person=True, notes=notes)
    record(project, "unblock", item.id, "blocked", states.describe(item), notes=notes)
    return item


def delete_item(project: Project, item_id: str) -> Item:
    """Remove an item; its id is never reused."""
    with project.store().transaction() as tx:
        item = tx.delete(tx.get(item_id).id)
    record(project, "delete", item.id, states.describe(item), "deleted")
    return item


def record(project: Project, action: str, item_id: str, before: str, after: str,
           **details: Any) -> None:
    """Append a person's action to .orchestrator/history.jsonl."""
    entry = {"at": now_iso(), "action": action, "item": item_id, "from": before, "to": after,
             **{k: v for k, v in details.items() if v}}
    jsonl.append(project.history_path, entry)
