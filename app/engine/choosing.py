"""Which items a run may take now, in its order, and what to say when it takes none.

An autonomous run takes items already in progress (a resumed run) first, then ready ones
in the backlog's order whose dependencies are done (with lanes: merged, or, with
`merge = "none"`, startable from one dependency's branch) and that are within the
guardrails; a run of one named item (`run --target`, `R` on the board) takes it outside
the guardrails too, saying so. Each reason an item waits is said once a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from app.backlog import states
from app.backlog.model import Backlog, Item
from app.engine.config import Config, within_guardrails
from app.engine.dependencies import waits_on
from app.engine.laneset import LaneSet

Tell = Callable[[str, str, str], None]
"""`tell(key, level, text)`: a notice, once per key a run."""


def runnable(backlog: Backlog, *, skip: set[str], target: str | None, config: Config,
             lanes: LaneSet | None, tell: Tell) -> Iterator[Item]:
    """The items that may start now (none of `skip`), in the order a run takes them."""
    candidates = [i for i in backlog.items if i.id not in skip
                  and (target is None or i.id == target)]
    yield from (item for item in candidates if item.status == "in_progress")
    for item in candidates:
        if item.status != "ready":
            continue
        waiting = waits_on(backlog, item)  # the rule the cards show, too
        if waiting:
            merged = lanes is not None and lanes.mode != "none"
            tell(item.id + ":deps", "info", f"{item.id} waits for {', '.join(waiting)} to be "
                                            "done" + (" and merged" if merged else ""))
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


def nothing_ran(backlog: Backlog, target: str | None, skipped: set[str]
                ) -> tuple[str, str] | None:
    """Nothing ran at all: what to tell the person, and how loud (None: nothing)."""
    if target:
        item = backlog.get(target)
        if item.status not in states.RUNNABLE and item.id not in skipped:
            return "warning", (f"{item.id} is {states.describe(item)}: only ready or "
                               "in-progress items run")
        return None
    hints = []
    new = backlog.with_status("new")
    if new:
        hints.append(f"{len(new)} new: `orchestrate triage`")
    scoped = backlog.with_status("scoped")
    if scoped:
        hints.append(f"{len(scoped)} scoped: `orchestrate advance {scoped[0].id} --to ready`")
    blocked = backlog.with_status("blocked")
    if blocked:
        hints.append(f"{len(blocked)} blocked: `orchestrate unblock {blocked[0].id} "
                     "--notes ...`")
    return "info", ("nothing to run: no ready item within the guardrails"
                    + (f" ({'; '.join(hints)})" if hints else ""))
