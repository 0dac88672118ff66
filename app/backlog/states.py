"""The item state machine: every status/phase change is checked here, and only here.

Two kinds of mover share one table: the engine (triage, the pipeline) and a
person's override (`orchestrate advance`). A person may do a little more
(reopen, finish by hand), never something that leaves an item inconsistent.
"""

from __future__ import annotations

from app.backlog.model import PHASES, STATUSES, Item
from app.errors import TransitionError
from app.structs import Struct

RUNNABLE: frozenset[str] = frozenset({"ready", "in_progress", "approved"})
"""The statuses a pipeline run takes items from (an approved one only to merge it)."""
HELD: frozenset[str] = frozenset({"to_review", "approved"})
"""A lane's finished item held for a person's review: its worktree and branch are kept."""

# status -> statuses the engine may move it to (`blocked` is reachable from anywhere).
ENGINE_MOVES: dict[str, frozenset[str]] = {
    "new": frozenset({"scoped", "researching", "ready", "blocked"}),
    "scoped": frozenset({"ready", "researching", "blocked"}),
    "researching": frozenset({"scoped", "ready", "blocked"}),
    "ready": frozenset({"in_progress", "blocked"}),
    "in_progress": frozenset({"in_progress", "to_review", "done", "blocked"}),
    # Held for a person's review: only a person approves or rejects (`PERSON_EXTRA`).
    "to_review": frozenset({"blocked"}),
    # Approved: merged (done), or back to its review phase when the merge conflicts.
    "approved": frozenset({"done", "in_progress", "blocked"}),
    "done": frozenset(),
    "blocked": frozenset(),  # only unblock leaves blocked
}
# What a person may add on top: send back for triage, reopen, finish by hand.
PERSON_EXTRA: dict[str, frozenset[str]] = {
    "new": frozenset({"done"}),
    "scoped": frozenset({"new", "done"}),
    "researching": frozenset({"new", "done"}),
    "ready": frozenset({"new", "scoped", "done"}),
    "in_progress": frozenset({"ready", "new", "scoped"}),
    # approve; reject (back to a phase); merged by hand (done); sent back further.
    "to_review": frozenset({"approved", "in_progress", "ready", "new", "done"}),
    "approved": frozenset({"to_review", "in_progress", "ready", "new"}),
    "done": frozenset({"new", "ready"}),
    "blocked": frozenset({"new", "scoped", "researching", "ready", "in_progress", "to_review",
                          "approved", "done"}),
}


class Target(Struct, frozen=True):
    """Where an item goes: a status, and the phase when that status is in_progress."""

    status: str
    phase: str | None = None

    def __str__(self) -> str:
        return f"in_progress/{self.phase}" if self.phase else self.status


def parse_target(text: str, current: Item | None = None) -> Target:
    """`ready` -> Target('ready'); `build` -> Target('in_progress', 'build').

    A bare `in_progress` keeps the item's current phase, or starts at prd.
    """
    word = text.strip().lower().replace("-", "_")
    if word in PHASES:
        return Target("in_progress", word)
    if word == "in_progress":
        phase = current.phase if current and current.phase else PHASES[0]
        return Target("in_progress", phase)
    if word in STATUSES:
        return Target(word)
    raise TransitionError(
        f"unknown target {text!r}: use a status ({', '.join(STATUSES)}) "
        f"or a phase ({', '.join(PHASES)})"
    )


def allowed_statuses(item: Item, by_person: bool) -> list[str]:
    """Statuses `item` may move to, in the order of STATUSES."""
    allowed = set(ENGINE_MOVES[item.status]) | {"blocked"}
    if by_person:
        allowed |= PERSON_EXTRA[item.status]
    if item.status == "blocked":
        allowed.discard("blocked")
    return [s for s in STATUSES if s in allowed]


def check(item: Item, target: Target, *, by_person: bool, reason: str | None = None) -> None:
    """Raise TransitionError naming the item, where it is and where it may go."""
    if target.status == "blocked" and not (reason and reason.strip()):
        raise TransitionError(f"{item.id}: blocking needs a reason (--reason \"...\")")
    if target.status == "in_progress" and target.phase not in PHASES:
        raise TransitionError(f"{item.id}: in_progress needs a phase ({', '.join(PHASES)})")
    if target.status == item.status and (target.phase or None) == (item.phase or None):
        raise TransitionError(f"{item.id} is already {describe(item)}")
    allowed = allowed_statuses(item, by_person)
    if target.status not in allowed:
        where = ", ".join(allowed) if allowed else "nowhere (unblock it first)"
        raise TransitionError(
            f"{item.id} is {describe(item)}; it cannot go to {target}. It may go to: {where}"
        )
    if target.status == "in_progress" and item.status == "in_progress" and not by_person:
        # The engine only ever moves one phase forward (or repeats the same for build).
        assert item.phase is not None and target.phase is not None
        if PHASES.index(target.phase) not in (PHASES.index(item.phase),
                                              PHASES.index(item.phase) + 1):
            raise TransitionError(
                f"{item.id} is in {item.phase}; the pipeline cannot jump to {target.phase}"
            )


def describe(item: Item) -> str:
    """`in_progress (build)` or `ready`."""
    return f"in_progress ({item.phase})" if item.status == "in_progress" else item.status


def changes_for(item: Item, target: Target, *, reason: str | None = None,
                notes: str | None = None) -> dict[str, object]:
    """The field changes that carry out a (checked) move."""
    changes: dict[str, object] = {"status": target.status, "phase": target.phase}
    if target.status == "blocked":
        changes["blocked_reason"] = reason
        changes["blocked_from"] = item.status
        changes["phase"] = item.phase  # kept so an unblocked item resumes where it stood
    else:
        changes["blocked_reason"] = None
        changes["blocked_from"] = None
    if notes:
        changes["notes"] = merge_notes(item.notes, notes)
    return changes


def unblock_target(item: Item) -> Target:
    """Where `unblock` returns an item: the status it was blocked from."""
    if item.status != "blocked":
        raise TransitionError(f"{item.id} is {describe(item)}, not blocked")
    back = item.blocked_from if item.blocked_from in STATUSES else "new"
    if back == "blocked":
        back = "new"
    if back == "in_progress":
        return Target("in_progress", item.phase if item.phase in PHASES else PHASES[0])
    return Target(back)


def merge_notes(old: str | None, new: str) -> str:
    """Append a person's new notes to the old ones, newest last."""
    new = new.strip()
    return f"{old.rstrip()}\n{new}" if old and old.strip() else new


def next_phase(phase: str) -> str | None:
    """The phase after `phase`, or None after review."""
    i = PHASES.index(phase)
    return PHASES[i + 1] if i + 1 < len(PHASES) else None
