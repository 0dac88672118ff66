"""Blocked accuracy, for `orchestrate report`: of the blocks a run made, how many a person
needed to act on.

A block by the run is an agent's `blocked` answer (a worklog line with that outcome) or a
move to blocked the run made itself (the retries used up, outside the guardrails, a
merge conflict): history.jsonl shows those when a person releases the item (the change's
`undo.before` holds the item as it was, blocked, with its reason), BACKLOG.yaml while
the item is still blocked. A person's own block (`advance --to blocked`) is not the
run's and is left out.

What the person did next decides whether the block was needed:

- needed: unblocked or advanced with notes, or the item edited while it was blocked
  (a person had to add something);
- not needed: unblocked or advanced without notes, or deleted, with nothing changed;
- open: still blocked now;
- unknown: no longer blocked, with no change of a person's on record (a hand edit of
  BACKLOG.yaml, a history from before orchestrate kept one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from app.backlog.model import Item
from app.engine.records import Attempt, Change, parse_time
from app.structs import Struct, replace

VERDICTS = ("needed", "not needed", "open", "unknown")
_FAILED_N_TIMES = re.compile(r"^[\w-]+ failed \d+ times?: ")


class Block(Struct, frozen=True):
    """One block of an item by the run, and what a person did about it."""

    item: str
    phase: str
    """The phase or triage step it was blocked in (`?` when not known)."""
    agent: str
    """The agent whose answer (or last attempt) led to it (`?` when not known)."""
    cause: str
    """`agent` (it answered blocked), `failures` (its retries were used up),
    `guardrails` (triage placed it outside them) or `other` (a merge conflict, ...)."""
    reason: str
    at: float | None
    """When it was blocked (None: not recorded)."""
    verdict: str
    """One of VERDICTS."""
    how: str
    """What the person did: `unblocked with notes`, `deleted`, `still blocked`, ..."""


class Accuracy(Struct, frozen=True):
    """Blocks of one agent, phase or cause, by verdict."""

    name: str
    blocks: int
    needed: int
    not_needed: int
    open: int
    unknown: int

    @property
    def rate(self) -> float | None:
        """needed / (needed + not needed): None before a person acted on any."""
        decided = self.needed + self.not_needed
        return self.needed / decided if decided else None


def cause_of(reason: str) -> str:
    """The run's cause of a block from its reason (the words skeleton.Retries and
    config.within_guardrails write)."""
    if _FAILED_N_TIMES.match(reason):
        return "failures"
    if reason.startswith("outside the guardrails"):
        return "guardrails"
    return "other"


class _Open(Struct):
    """A block waiting for a person."""

    block: Block
    edited: bool = False


def _release(open_block: _Open, change: Change) -> Block:
    """The block closed by a person's change: its verdict and how."""
    block, edited = open_block.block, open_block.edited
    if change.action == "delete":
        verdict, how = ("needed", "edited, then deleted") if edited else \
            ("not needed", "deleted")
    else:
        verb = "unblocked" if change.action == "unblock" else f"advanced to {change.after}"
        if change.notes:
            verdict, how = "needed", f"{verb} with notes"
        elif edited:
            verdict, how = "needed", f"edited, then {verb}"
        else:
            verdict, how = "not needed", f"{verb} without notes"
    return replace(block, verdict=verdict, how=how)


def _last_attempt(attempts: Sequence[Attempt], before: float | None) -> Attempt | None:
    """The item's last attempt that ended by `before` (any, when not known)."""
    done = [a for a in attempts if before is None or a.end is None or a.end <= before]
    return done[-1] if done else None


def _run_block(item: str, fields: Mapping[str, Any], attempts: Sequence[Attempt],
               at: float | None) -> Block:
    """A block the worklog does not show as an answer, from the blocked item's fields."""
    reason = str(fields.get("blocked_reason") or "")
    last = _last_attempt(attempts, at)
    phase = fields.get("phase") if isinstance(fields.get("phase"), str) else None
    return Block(item, phase or (last.phase if last else "?"), last.agent if last else "?",
                 cause_of(reason), reason, at, "open", "still blocked")


def _is_release(change: Change) -> bool:
    return change.action in ("unblock", "advance", "delete") and (
        change.before == "blocked" or change.was.get("status") == "blocked")


def blocks_of_item(item: str, attempts: Sequence[Attempt], changes: Sequence[Change],
                   now_item: Item | None) -> list[Block]:
    """Every block of one item by the run, oldest first (see the module docstring);
    `attempts` and `changes` are the item's, oldest first; `now_item` as it is now."""
    events: list[tuple[float, int, Attempt | Change]] = []
    for a in attempts:
        if a.outcome == "blocked":
            events.append((a.end or 0.0, 0, a))
    for c in changes:
        events.append((c.at or 0.0, 1, c))
    events.sort(key=lambda e: (e[0], e[1]))
    found: list[Block] = []
    current: _Open | None = None
    by_person = False
    for _, _, event in events:
        if isinstance(event, Attempt):
            current = _Open(Block(item, event.phase, event.agent, "agent",
                                  event.reason or "", event.end, "open", "still blocked"))
            by_person = False
        elif event.action == "advance" and event.after == "blocked":
            current, by_person = None, True  # the person's own block
        elif _is_release(event):
            if by_person:
                by_person = False
                continue
            if current is None:  # the run blocked it without an answer saying so
                current = _Open(_run_block(item, event.was, attempts,
                                           parse_time(event.was.get("updated"))))
            found.append(_release(current, event))
            current = None
        elif current is not None and event.action == "edit":
            current.edited = True
    still = now_item is not None and now_item.status == "blocked"
    if current is not None:
        found.append(current.block if still else replace(
            current.block, verdict="unknown", how="no longer blocked, no change on record"))
    elif still and not by_person and now_item is not None:
        found.append(_run_block(item, now_item.to_dict(), attempts,
                                parse_time(now_item.updated)))
    return found


def accuracy(blocks: Iterable[Block], key: str) -> tuple[Accuracy, ...]:
    """The blocks by `key` (`agent`, `phase` or `cause`), most blocks first."""
    groups: dict[str, list[Block]] = {}
    for block in blocks:
        groups.setdefault(str(getattr(block, key)), []).append(block)
    rows = [Accuracy(name, len(group), *(sum(1 for b in group if b.verdict == v)
                                         for v in VERDICTS))
            for name, group in groups.items()]
    return tuple(sorted(rows, key=lambda r: (-r.blocks, r.name)))
