"""Which items a run may take now, in its order, and what to say when it takes none.

An autonomous run takes items already in progress (a resumed run) first, then ready ones
in the backlog's order whose dependencies are done (with lanes: merged, or, with
`merge = "none"`, startable from one dependency's branch) and that are within the
guardrails; a run of one named item (`run --target`, `R` on the board) takes it outside
the guardrails too, saying so. Each reason an item waits is said once a run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from app.backlog import states
from app.backlog.model import Backlog, Item
from app.engine.config import Config, within_guardrails
from app.engine.dependencies import waits_on

if TYPE_CHECKING:  # the lanes' git life is imported only by a run with lanes (pipeline.py)
    from app.engine.laneset import LaneSet

Tell = Callable[[str, str, str], None]
"""`tell(key, level, text)`: a notice, once per key a run."""


class Choice:
    """A run's choice of work: what it may take, and each reason it waits said once."""

    def __init__(self, target: str | None, config: Config,
                 notice: Callable[[str, str], None]) -> None:
        self.target = target
        self.config = config
        self.notice = notice
        self._told: set[str] = set()
        self._lock = threading.Lock()

    def tell_once(self, key: str, level: str, text: str) -> None:
        with self._lock:
            new = key not in self._told
            self._told.add(key)
        if new:
            self.notice(level, text)

    def lanes(self, backlog: Backlog, skip: set[str], room: int,
              lanes: LaneSet | None) -> list[Item]:
        """Up to `room` items whose lanes may start now (none of `skip`)."""
        picked: list[Item] = []
        for item in runnable(backlog, skip=skip, target=self.target, config=self.config,
                             lanes=lanes, tell=self.tell_once):
            if len(picked) >= room:
                break
            picked.append(item)
        return picked

    def explain_nothing(self, backlog: Backlog, skipped: set[str]) -> None:
        """Nothing ran at all: say why."""
        said = nothing_ran(backlog, self.target, skipped)
        if said is not None:
            self.notice(*said)


def runnable(backlog: Backlog, *, skip: set[str], target: str | None, config: Config,
             lanes: LaneSet | None, tell: Tell) -> Iterator[Item]:
    """The items that may start now (none of `skip`), in the order a run takes them."""
    candidates = [i for i in backlog.items if i.id not in skip
                  and (target is None or i.id == target)]
    if lanes is not None:  # approved by a person: only its merge is left
        yield from (item for item in candidates if item.status == "approved")
    yield from (item for item in candidates if item.status == "in_progress")
    for item in candidates:
        if item.status != "ready":
            continue
        waiting = waits_on(backlog, item)  # the rule the cards show, too
        if waiting:
            said = _waits_for(backlog, item.id, waiting, lanes)
            tell(f"{item.id}:deps:{said}", "info", said)  # a new reason is told too
            continue
        unmerged = lanes.waits_for_merge(item) if lanes is not None else None
        if unmerged:
            tell(item.id + ":merge", "info", unmerged)
            continue
        why = within_guardrails(item, config)
        if why and target is None:
            tell(item.id + ":guard", "info", f"{item.id} skipped: {why}")
            continue
        if why:  # chosen by name (`run --target`, `R` on the board): a person's call
            tell(item.id + ":guard", "warning",
                 f"{item.id} is {why}; running it because you chose it")
        yield item


def _waits_for(backlog: Backlog, item_id: str, waiting: tuple[str, ...],
               lanes: LaneSet | None) -> str:
    """`WRK-002 waits for WRK-001 to be done and merged`, naming a review it waits on."""
    merged = lanes is not None and lanes.mode != "none"
    said = f"{item_id} waits for {', '.join(waiting)} to be done" + (
        " and merged" if merged else "")
    held = [dep for dep in waiting if dep in backlog.by_id
            and backlog.by_id[dep].status in states.HELD]
    if held:
        said += f" ({', '.join(held)} waits for your review: `orchestrate approve {held[0]}`)"
    return said


def nothing_ran(backlog: Backlog, target: str | None, skipped: set[str]
                ) -> tuple[str, str] | None:
    """Nothing ran at all: what to tell the person, and how loud (None: nothing)."""
    if target:
        item = backlog.get(target)
        if item.status == "to_review" and item.id not in skipped:
            return "warning", (f"{item.id} waits for your review: `orchestrate approve "
                               f"{item.id}` merges it, `orchestrate reject {item.id} --notes "
                               "...` sends it back to build")
        if item.status not in states.RUNNABLE and item.id not in skipped:
            return "warning", (f"{item.id} is {states.describe(item)}: only ready or "
                               "in-progress items run (and approved ones merge)")
        return None
    hints = []
    new = backlog.with_status("new")
    if new:
        hints.append(f"{len(new)} new: `orchestrate triage`")
    scoped = backlog.with_status("scoped")
    if scoped:
        hints.append(f"{len(scoped)} scoped: `orchestrate advance {scoped[0].id} --to ready`")
    review = backlog.with_status("to_review")
    if review:
        hints.append(f"{len(review)} to review: `orchestrate approve {review[0].id}` or "
                     f"`orchestrate reject {review[0].id} --notes ...`")
    blocked = backlog.with_status("blocked")
    if blocked:
        hints.append(f"{len(blocked)} blocked: `orchestrate unblock {blocked[0].id} "
                     "--notes ...`")
    return "info", ("nothing to run: no ready item within the guardrails"
                    + (f" ({'; '.join(hints)})" if hints else ""))


def triage_steps(backlog: Backlog, busy: set[str], room: int,
                 triaged: set[str]) -> list[tuple[Item, str]]:
    """Up to `room` new ideas to triage (and researching ones to investigate) beside the
    lanes, none of `busy`, each at most once a run (`triaged` grows: a refused move may
    leave one `new`)."""
    picked: list[tuple[Item, str]] = []
    for item in backlog.items:
        if len(picked) >= room:
            break
        step = {"new": "triage", "researching": "investigate"}.get(item.status)
        if step is not None and item.id not in busy and item.id not in triaged:
            triaged.add(item.id)
            picked.append((item, step))
    return picked


def all_blocked(backlog: Backlog, taken: set[str]) -> str | None:
    """When every item a run took ended blocked, the run's reason (exit 6), else None."""
    if not taken:
        return None
    items = [backlog.by_id.get(item_id) for item_id in sorted(taken)]
    if not all(item is not None and item.status == "blocked" for item in items):
        return None
    reasons = "; ".join(f"{item.id}: {item.blocked_reason}" for item in items[:3]
                        if item is not None) + ("; …" if len(items) > 3 else "")
    return f"every item this run took ended blocked ({reasons})"
