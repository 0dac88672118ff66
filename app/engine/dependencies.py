"""The two directions of `depends_on`: what an item waits on, and which items wait on it.

A run takes a ready item only once every item it depends on is done (pipeline.py); the
board's cards and details and `orchestrate show` say the same from these functions. An
id that names no item counts as not done, as it does for the run.
"""

from __future__ import annotations

from app.backlog.model import Backlog, Item


def waits_on(backlog: Backlog, item: Item) -> tuple[str, ...]:
    """The ids in `item.depends_on` that are not done (unknown ids too), in its order."""
    by_id = backlog.by_id
    return tuple(d for d in item.depends_on
                 if (other := by_id.get(d)) is None or other.status != "done")


def needed_by(backlog: Backlog, item_id: str) -> tuple[str, ...]:
    """The ids of the items whose `depends_on` names `item_id`, in file order."""
    return tuple(i.id for i in backlog.items if item_id in i.depends_on)


def state_words(item: Item | None) -> str:
    """Where an item stands, for a person: `in progress · build`, `done`, `no such item`."""
    if item is None:
        return "no such item"
    words = item.status.replace("_", " ")
    return f"{words} · {item.phase}" if item.status == "in_progress" and item.phase else words


def dependency_states(backlog: Backlog, item: Item) -> tuple[tuple[str, str], ...]:
    """(id, where it stands) for each item `item` depends on, in its order."""
    return tuple((d, state_words(backlog.by_id.get(d))) for d in item.depends_on)
