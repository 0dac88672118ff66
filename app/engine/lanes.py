"""Where an item works while a run walks it through its phases: a lane.

Two kinds, one interface, so the phases never ask which one they are in:

- `MainLane`: the main checkout, one item at a time (`max_parallel = 1`). Files already
  changed when a phase begins are the person's and stay out of its checkpoint; the last
  phase's answer moves the item to done.
- `WorktreeLane`: the item's own git worktree on its own branch (`max_parallel` > 1;
  laneset.py is its git life). Everything in it is the agent's; the prompt says where it
  works; no answer counts while conflict markers remain; the last phase's answer brings
  the branch back into the run's branch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from app.backlog import states
from app.backlog.model import Item
from app.engine.checkpoint import Checkpointer
from app.engine.executor import AgentResult, Judge, Workspace
from app.engine.moves import Moves

if TYPE_CHECKING:
    from app.engine.laneset import LaneSet


class Lane(ABC):
    """Where one item works during a run."""

    def __init__(self, item_id: str, workspace: Workspace | None) -> None:
        self.item_id = item_id
        self.workspace = workspace
        """What an attempt works in (None: the project's own folder)."""

    @property
    def branch(self) -> str | None:
        return self.workspace.branch if self.workspace is not None else None

    @abstractmethod
    def before_phase(self) -> set[str]:
        """What a phase's checkpoint must leave out (paths already changed as it begins)."""

    def note(self) -> str | None:
        """What the prompt tells the agent about where it works (None: nothing)."""
        return None

    def judge(self, inner: Judge) -> Judge:
        """`inner`, and whatever this lane adds to judging an answer."""
        return inner

    @abstractmethod
    def checkpoint(self, phase: str, summary: str | None, before: set[str]) -> None:
        """Commit what the phase changed (a warning, not a failure, when git refuses)."""

    @abstractmethod
    def finish(self, item: Item, result: AgentResult, before: set[str]) -> None:
        """The last phase completed: the item done (its work where the person wants it),
        or blocked saying why it cannot be."""


class MainLane(Lane):
    """The main checkout: one item at a time, beside the person's own changes."""

    def __init__(self, item_id: str, checkpoints: Checkpointer, moves: Moves,
                 tell_once: Callable[[str, str, str], None]) -> None:
        super().__init__(item_id, None)
        self.checkpoints = checkpoints
        self.moves = moves
        self.tell_once = tell_once

    def before_phase(self) -> set[str]:
        # Files already changed before the phase are the person's: out of its commit.
        return self.checkpoints.dirty_at_phase_start() if self.checkpoints.active else set()

    def checkpoint(self, phase: str, summary: str | None, before: set[str]) -> None:
        if not self.checkpoints.active:
            return
        item_id = self.item_id
        done = self.checkpoints.commit(item_id, phase, summary, before)
        if done.left_out:
            self.tell_once(
                "left-out:" + "|".join(done.left_out), "warning",
                f"checkpoint of {item_id} {phase} left out files that were already changed "
                f"before the phase (your own work?): {', '.join(done.left_out)}")
        if done.error:
            self.moves.notice("warning", f"checkpoint of {item_id} {phase} failed: "
                                         f"{done.error}")
        elif done.commit:
            self.moves.notice("info", f"checkpoint {done.commit}: [{item_id}]"
                                      f"[{phase.upper()}] {summary or ''}".rstrip())

    def finish(self, item: Item, result: AgentResult, before: set[str]) -> None:
        self.moves.move(item.id, states.Target("done"), result=result)
        self.checkpoint(result.phase, result.summary, before)


class WorktreeLane(Lane):
    """The item's own worktree on its own branch."""

    def __init__(self, lanes: LaneSet, item_id: str, workspace: Workspace,
                 worktree: Path) -> None:
        super().__init__(item_id, workspace)
        self.lanes = lanes
        self.worktree = worktree
        """The worktree's top folder (the project may sit below it)."""

    def before_phase(self) -> set[str]:
        return set()  # everything in the worktree is the agent's

    def note(self) -> str:
        return self.lanes.workspace_note(self)

    def judge(self, inner: Judge) -> Judge:
        return self.lanes.judge(self, inner)

    def checkpoint(self, phase: str, summary: str | None, before: set[str]) -> None:
        self.lanes.checkpoint(self, self.item_id, phase, summary)

    def finish(self, item: Item, result: AgentResult, before: set[str]) -> None:
        self.checkpoint(result.phase, result.summary, before)
        self.lanes.finish(self, item, result)
