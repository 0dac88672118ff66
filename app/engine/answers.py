"""Answers the run has not finished acting on: exactly-once after a crash.

An agent's complete (or progress) answer sets off steps outside the agent: the item's
move, a checkpoint commit and, for a lane's review, the merge, BACKLOG.yaml's commit and
the worktree's removal. A kill -9 (or a power cut) can fall between any two. So the
answer is written down first, in `.orchestrator/answers/<ID>.json`, and removed only once
every step is done; a run that finds one acts on it instead of asking the agent again,
and each step looks at what already happened before doing it (the move made, the commit
made, the branch already merged) rather than doing it twice.

The record also carries what a step needs to be redone the same way after a restart:
the dirty paths before the phase (what the main checkout's checkpoint leaves out), and
the fast-forward a merge was making (so a half-done one is recognised as the run's own,
not the person's changes).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from app.engine.executor import AgentResult, FollowUp
from app.engine.project import Project
from app.structs import Struct, to_builtins


class Answer(Struct, frozen=True):
    """An answer being acted on."""

    item: str
    phase: str
    result: AgentResult
    before: tuple[str, ...] = ()
    """Main checkout: paths already dirty when the phase began (the person's)."""
    fast_forward: tuple[str, str] | None = None
    """A lane's merge: (the run's branch head before, the commit it was moving to)."""

    def to_json(self) -> dict[str, Any]:
        return {"item": self.item, "phase": self.phase,
                "result": to_builtins(self.result), "before": list(self.before),
                "fast_forward": list(self.fast_forward) if self.fast_forward else None}


def _result(data: dict[str, Any]) -> AgentResult:
    follow = tuple(FollowUp(str(f.get("title")), f.get("notes"))
                   for f in data.get("follow_ups") or () if isinstance(f, dict))
    return AgentResult(item_id=str(data["item_id"]), phase=str(data["phase"]),
                       result=str(data["result"]), summary=data.get("summary"),
                       blocked_reason=data.get("blocked_reason"),
                       assessment=dict(data.get("assessment") or {}), follow_ups=follow,
                       needs_investigation=bool(data.get("needs_investigation")))


class Answers:
    """The run's answer records (one file per item, written atomically)."""

    def __init__(self, project: Project) -> None:
        self.folder = project.state_dir / "answers"

    def _path(self, item_id: str) -> Path:
        return self.folder / f"{item_id}.json"

    def save(self, answer: Answer) -> None:
        """Write (or replace) the item's record; fsync'd: it must outlive a power cut."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(answer.item)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(answer.to_json(), fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def load(self, item_id: str) -> Answer | None:
        """The item's record, or None (none, or unreadable: then there is nothing to
        finish, and the phase is asked again)."""
        try:
            data = json.loads(self._path(item_id).read_text(encoding="utf-8"))
            forward = data.get("fast_forward")
            return Answer(item=str(data["item"]), phase=str(data["phase"]),
                          result=_result(data["result"]),
                          before=tuple(str(p) for p in data.get("before") or ()),
                          fast_forward=(str(forward[0]), str(forward[1]))
                          if isinstance(forward, list) and len(forward) == 2 else None)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def clear(self, item_id: str) -> None:
        """Every step of the answer is done (or the item went elsewhere)."""
        self._path(item_id).unlink(missing_ok=True)

    def pending(self) -> list[str]:
        """The items with a record, by id."""
        try:
            return sorted(p.stem for p in self.folder.glob("*.json"))
        except OSError:
            return []
