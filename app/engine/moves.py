"""What a run does to an item in BACKLOG.yaml: an answer's fields applied, a move through
the state machine, a block; each in one transaction, each reported on the bus.

The run's steps (steps.py), its lanes (lanes.py, laneset.py) and triage all move items
through this one object, so every change of the run is checked by the state machine
(actions.move_in) and reported once, as `ItemChanged`, with a notice for each follow-up.
"""

from __future__ import annotations

from collections.abc import Callable

from app.backlog import states
from app.backlog.model import Item
from app.backlog.store import BacklogStore
from app.engine import actions
from app.engine.events import EventBus, ItemChanged, Notice
from app.engine.executor import AgentResult
from app.errors import TransitionError, UnknownItemError


class Moves:
    """The run's changes to items (thread-safe: each is one store transaction)."""

    def __init__(self, store: Callable[[], BacklogStore], bus: EventBus) -> None:
        self._store = store
        """The run's store as it is now (the run swaps in a tolerant view for its length)."""
        self.bus = bus

    def move(self, item_id: str, target: states.Target, *, reason: str | None = None,
             result: AgentResult | None = None, by_person: bool = False,
             via: states.Target | None = None) -> Item:
        """The answer's fields (if any) and the move (through `via` first, which sets where
        a block is unblocked to), in one transaction."""
        added: list[Item] = []
        with self._store().transaction() as tx:
            if result is not None:
                added = actions.apply_result_fields(tx, item_id, result)
            if via is not None:
                actions.move_in(tx, item_id, via, by_person=by_person)
            item = actions.move_in(tx, item_id, target, by_person=by_person, reason=reason)
        self.changed(item)
        self.follow_ups(item_id, added)
        return item

    def apply(self, item_id: str, result: AgentResult) -> None:
        """Only the answer's fields: its assessment and follow-ups."""
        with self._store().transaction() as tx:
            added = actions.apply_result_fields(tx, item_id, result)
        self.follow_ups(item_id, added)

    def block_quietly(self, item_id: str, reason: str) -> None:
        """Block an item outside an attempt (its lane could not be made); an item that went
        elsewhere meanwhile is left as it is, said in a notice."""
        try:
            self.move(item_id, states.Target("blocked"), reason=reason)
        except (TransitionError, UnknownItemError) as exc:
            self.notice("warning", f"{item_id}: {exc}; leaving it")

    def changed(self, item: Item) -> None:
        self.bus.emit(ItemChanged(item_id=item.id, status=item.status, phase=item.phase,
                                  reason=item.blocked_reason))

    def follow_ups(self, origin: str, added: list[Item]) -> None:
        for new in added:
            self.changed(new)
            self.notice("info", f"{origin} asked for a follow-up: {new.id} {new.title}")

    def notice(self, level: str, text: str) -> None:
        self.bus.emit(Notice(level=level, text=text))
