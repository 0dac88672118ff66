"""`orchestrate triage`: a triage agent for every `new` item, several at once.

Agents never write BACKLOG.yaml: each result is applied by the orchestrator in one
transaction as it arrives (steps.TriageStep: assessment; then new → scoped → ready within
the guardrails, researching when the agent asks for an investigation, blocked with the
reason when outside the guardrails or when the agent says so). With `investigate`,
`researching` items then get the investigate step (complete → scoped/ready by the
guardrails). Holds the run lock like a run; interrupt-safe: a stopped agent leaves its
item where it was. The steps run on the run's scheduler (scheduler.py), at most
`[triage] max_concurrent` at once; the attempt rule is the skeleton's, shared with the
pipeline, whose lanes triage new ideas the same way.
"""

from __future__ import annotations

from app.backlog.model import Backlog, Item
from app.engine.config import Config
from app.engine.events import EventBus
from app.engine.executor import Executor
from app.engine.project import Project
from app.engine.scheduler import Scheduler
from app.engine.skeleton import TRIAGE_STEPS, RunEnd, RunSkeleton


class Triage(RunSkeleton):
    """Triage (and optionally investigate) items with parallel agents."""

    kind = "triage"

    def __init__(self, project: Project, bus: EventBus, *, investigate: bool = False,
                 config: Config | None = None, executor: Executor | None = None) -> None:
        super().__init__(project, bus, config, executor)
        self.investigate = investigate
        self._queue: list[tuple[Item, str]] = []
        """The steps still to start: every item that was `new` (then `researching`) when
        its batch began, in the backlog's order."""

    def phases_used(self) -> tuple[str, ...]:
        return TRIAGE_STEPS

    def _work(self) -> None:
        """Triage every new item, then investigate the researching ones if asked."""
        self._batch(self.store.load().with_status("new"), "triage")
        if self.investigate and not self.winding_down():
            self._batch(self.store.load().with_status("researching"), "investigate")
        self.end_if_ended()

    def _batch(self, items: list[Item], step: str) -> None:
        if not items:
            return
        self._queue = [(item, step) for item in items]
        Scheduler(self, 0, max(1, self.config.triage.max_concurrent)).loop()

    # what the scheduler asks --------------------------------------------------------------------
    def winding_down(self) -> bool:
        return self._stop.is_set() or self._ending is not None  # a failure of every item too

    def pick_lanes(self, backlog: Backlog, busy: set[str], room: int) -> list[Item]:
        return []  # triage has steps only

    def pick_steps(self, backlog: Backlog, busy: set[str], room: int
                   ) -> list[tuple[Item, str]]:
        picked, self._queue = self._queue[:room], self._queue[room:]
        return picked

    def work_lane(self, item: Item) -> None:
        raise AssertionError("triage has no lanes")

    def lane_ended(self, end: RunEnd) -> None:
        with self._lock:
            if self._ending is None:
                self._ending = end
        self._wake.set()

    def explain_nothing(self) -> None:
        """An empty batch says nothing: there was nothing to triage."""
