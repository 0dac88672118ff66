"""What a run finishes as it starts: the answers an earlier run recorded and did not
finish acting on (a kill -9, a power cut; answers.py).

An item still in the recorded phase is settled from its answer when its lane opens
(steps.PhaseStep.recorded): the agent is not asked again. An item the answer already
moved on gets only the steps left: its checkpoint (the main checkout's with the recorded
dirty paths; a lane's in its worktree), and for a merged lane BACKLOG.yaml's commit, the
worktree's removal and the merged branch's deletion. Any other record is stale (the item
was blocked, deleted or moved by a person) and dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app.backlog import states
from app.backlog.store import BacklogStore
from app.engine.answers import Answers
from app.engine.lanes import Lane

if TYPE_CHECKING:
    from app.engine.laneset import LaneSet


def finish_recorded(answers: Answers, store: BacklogStore, lanes: LaneSet | None,
                    main_lane: Callable[[str], Lane],
                    notice: Callable[[str, str], None]) -> None:
    """Act on every record an earlier run left (module docstring)."""
    backlog = store.load()
    for item_id in answers.pending():
        answer = answers.load(item_id)
        item = backlog.by_id.get(item_id)
        if answer is None or item is None:
            answers.clear(item_id)
            continue
        if (item.status == "in_progress" and item.phase == answer.phase) \
                or item.status == "approved":
            continue  # settled from the record when its lane works on it (or merges it)
        nxt = states.next_phase(answer.phase)
        moved_on = (item.status == "done" and nxt is None) or (
            item.status == "in_progress" and item.phase == nxt)
        if moved_on:
            notice("info", f"{item_id}: finishing what an earlier run left undone after its "
                           f"{answer.phase} answer")
            if lanes is not None and nxt is None:
                lanes.finished(item)
            else:
                lane = (lanes.leftover(item_id) if lanes is not None else None) \
                    or main_lane(item_id)
                lane.checkpoint(answer.phase, answer.result.summary, set(answer.before))
        answers.clear(item_id)
