"""The headless engine: walk ready items through prd → research → design → spec → build →
review, one fresh agent attempt per phase attempt.

`Pipeline.run()` is blocking and holds the run lock for its whole duration. It is safe in
a worker thread (the board's): it installs no signal handlers; the CLI's handlers call
`request_stop()`. The scheduler (scheduler.py) works on up to `[run] max_parallel` items
at once, each in its lane (lanes.py: the main checkout with one, a git worktree each with
more, laneset.py), and beside them triage steps when there are lanes. An item's lane walks
it phase by phase (`work_item`), each phase a `PhaseStep` (steps.py) under the skeleton's
attempt rule, shared with triage (skeleton.py). This module chooses the work and keeps the
run's own rules: `--cap`, pause, the circuit breaker, items taken away, and an exit 6
when every item it took ended blocked.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from app import exitcodes
from app.backlog import states
from app.backlog.model import PHASES, Backlog, Item
from app.engine import gitlocks, withdraw
from app.engine.answers import Answer, Answers
from app.engine.caps import AttemptCap
from app.engine.checkpoint import Checkpointer
from app.engine.choosing import Choice, all_blocked, triage_steps
from app.engine.config import Config
from app.engine.events import EventBus
from app.engine.executor import AgentResult, Executor, UsageLimit
from app.engine.lanes import Lane, MainLane
from app.engine.project import Project
from app.engine.resume import finish_recorded
from app.engine.runlock import set_working
from app.engine.scheduler import Scheduler
from app.engine.skeleton import ItemWithdrawn, RunEnd, RunSkeleton
from app.engine.steps import PhaseStep
from app.errors import OrchestrateError, TransitionError, UnknownItemError

if TYPE_CHECKING:
    from app.engine.laneset import LaneSet


class Pipeline(RunSkeleton):
    """Runs ready items through the phases; see the module docstring."""

    kind = "run"

    def __init__(self, project: Project, bus: EventBus, *, target: str | None = None,
                 cap: int | None = None, config: Config | None = None,
                 executor: Executor | None = None) -> None:
        super().__init__(project, bus, config, executor)
        self.target = target.strip().upper() if target else None
        self.cap = cap
        self._pause = threading.Event()
        self._failed_phases = 0
        self.choice = Choice(self.target, self.config, self.notice)
        self._triaged: set[str] = set()
        """Items whose triage step ran in this run: never twice."""
        self._working: set[str] = set()
        """Items whose lanes are live now (run.json's `working`)."""
        self._taken: set[str] = set()
        """Items this run worked on: if every one of them ends blocked, it says so (exit 6)."""
        self._cap = AttemptCap(cap)
        self.answers = Answers(project)
        """Answers not yet fully acted on (answers.py): what a restart finishes."""
        self.checkpoints = Checkpointer(project.root, self.config.run.checkpoint)
        self.lanes: LaneSet | None = None

    # control (any thread) ----------------------------------------------------------------------
    def withdraw(self, item_id: str) -> None:
        """Let go of the item (a person deletes or moves it; withdraw.py): its agent is
        stopped and recorded as interrupted, its lane closes, and it is not taken again
        in this run. Answered (the request file removed) once its lane has closed."""
        with self._lock:
            self._withdrawn.add(item_id)
            working = item_id in self._working
        if not working:
            withdraw.answer(self.project, item_id)
            return
        self.executor.stop_item(item_id)

    def request_pause(self) -> None:
        """Finish the current phase attempt, then stop (RunFinished reason `paused`)."""
        self._pause.set()
        self._wake.set()

    # the run -------------------------------------------------------------------------------------
    def _work(self) -> None:
        """Until no item is left to run (RunFinished `no more work`)."""
        if self.config.lanes or _held_for_review(self.store.load()):
            # Imported here: a run in the main checkout never needs worktrees or merges.
            from app.engine.laneset import LaneSet

            self.lanes = LaneSet.for_run(self)  # which clears git's stale locks itself
        else:
            removed = self.checkpoints.clear_stale_locks()
            if removed:
                self.notice("warning", gitlocks.removed_notice(removed))
            if self.checkpoints.reason_off and self.config.run.checkpoint:
                self.notice("warning", self.checkpoints.reason_off)
        finish_recorded(self.answers, self.store, self.lanes, self._main_lane, self.notice)
        lanes = self.config.run.max_parallel if self.lanes is not None else 1
        # Triage beside the lanes in an autonomous run; `--target` runs its item only.
        steps = max(1, self.config.triage.max_concurrent) \
            if self.lanes is not None and self._triage_beside() else 0
        with withdraw.RequestWatcher(self.project, self.withdraw):
            try:
                Scheduler(self, lanes, steps).loop()
            finally:
                self.checkpoints.tidy()
        self._end_if_all_blocked()

    def phases_used(self) -> tuple[str, ...]:
        """The phases, and the triage steps where lanes run beside them (`_work`)."""
        return super().phases_used() if self._triage_beside() else PHASES

    def _triage_beside(self) -> bool:
        """Triage runs beside the lanes of an autonomous run of several items at once."""
        return self.config.run.max_parallel > 1 and self.target is None

    def _main_lane(self, item_id: str) -> Lane:
        return MainLane(item_id, self.checkpoints, self.moves, self.choice.tell_once)

    def check_stop(self) -> None:
        super().check_stop()
        if self._pause.is_set():
            raise RunEnd("paused", exitcodes.OK)

    def winding_down(self) -> bool:
        """No new item may start: stopped, pausing, or the run's end is decided."""
        return self._stop.is_set() or self._pause.is_set() or self._ending is not None

    # what the scheduler asks --------------------------------------------------------------------
    def pick_lanes(self, backlog: Backlog, busy: set[str], room: int) -> list[Item]:
        with self._lock:
            skip = busy | self._left | self._withdrawn
        return self.choice.lanes(backlog, skip, room, self.lanes)

    def pick_steps(self, backlog: Backlog, busy: set[str], room: int
                   ) -> list[tuple[Item, str]]:
        return triage_steps(backlog, busy, room, self._triaged)

    def work_lane(self, item: Item) -> None:
        """One item's lane, from its worktree (or the main checkout) to its end."""
        lane: Lane = self._main_lane(item.id)
        if self.lanes is not None:
            from app.engine.worktrees import GitError

            try:
                lane = self.lanes.held(item) if item.status == "approved" \
                    else self.lanes.open(item)
            except GitError as exc:
                self.moves.block_quietly(item.id, f"its worktree could not be made: {exc}")
                return
        try:
            self.work_item(item, lane)
        except RunEnd as end:
            self.lane_ended(end)
        except OrchestrateError as exc:
            # BACKLOG.yaml or a lock the run cannot get past (a write a stop ended while
            # it waited for a broken file's fix): the run ends with it, as one lane's does.
            self.lane_ended(RunEnd(str(exc), exitcodes.INTERRUPTED if self._stop.is_set()
                                   else exitcodes.ERROR))
        except Exception:
            with self._lock:
                self._left.add(item.id)  # not taken again in this run: the error is reported
            raise

    def lane_ended(self, end: RunEnd) -> None:
        """A lane met the run's end (stop, pause, cap, the circuit breaker): every other
        lane ends before its next attempt, and the run ends with it."""
        with self._lock:
            if self._ending is None:
                self._ending = end
        self._wake.set()

    def explain_nothing(self) -> None:
        with self._lock:
            skipped = self._left | self._withdrawn
        self.choice.explain_nothing(self.store.load(), skipped)

    # --cap (caps.py) ---------------------------------------------------------------------------
    def _before_attempt(self) -> None:
        super()._before_attempt()
        if not self._cap.take():
            raise RunEnd(self._cap.reason, exitcodes.OK)

    def _may_begin(self) -> None:
        """RunEnd when no attempt may begin now (stopped, budget spent, `--cap` reached),
        without counting one."""
        super()._before_attempt()
        if self._cap.reached():
            raise RunEnd(self._cap.reason, exitcodes.OK)

    def _met_limit(self, limit: UsageLimit, agent: str, item_id: str, phase: str) -> None:
        self._cap.give_back()  # a limited attempt is not one (it repeats, on another agent
        super()._met_limit(limit, agent, item_id, phase)  # or after the reset)

    # one item ----------------------------------------------------------------------------------
    def work_item(self, item: Item, lane: Lane) -> None:
        """The item's phases, one after another, until it is done or blocked."""
        with self._lock:
            if item.id in self._withdrawn:
                return
            self._working.add(item.id)
            working = set(self._working)
        set_working(self.project, working)
        try:
            if item.status == "ready":
                self._may_begin()  # `--cap 0`, a spent budget: the item is not moved for nothing
                item = self.moves.move(item.id, states.Target("in_progress", PHASES[0]))
            with self._lock:
                self._taken.add(item.id)
            if item.status == "approved":
                self._merge_approved(item, lane)
                return
            while item.status == "in_progress":
                phase = item.phase if item.phase in PHASES else PHASES[0]
                ok = self._phase(item, lane, phase)
                item = self.store.load().get(item.id)
                if not ok:
                    self._count_failed_phase()
                    return
                with self._lock:
                    self._failed_phases = 0
                if item.status == "in_progress":
                    self.sleep(self.config.run.cooldown_s, item.id)
        except ItemWithdrawn:
            self.notice("info", f"{item.id}: let go of, as a person asked (deleted or moved "
                                "while its lane worked); its agent was stopped")
        except (TransitionError, UnknownItemError) as exc:
            self.leave(item.id, exc)  # moved or deleted under us (the board, a person)
        finally:
            with self._lock:
                self._working.discard(item.id)
                working = set(self._working)
                withdrawn = item.id in self._withdrawn
            set_working(self.project, working)
            if withdrawn:
                withdraw.answer(self.project, item.id)

    def _merge_approved(self, item: Item, lane: Lane) -> None:
        """A person approved the item's review: its branch merged as any lane's is (a
        conflict blocks it), recorded first so a crash merges it once (answers.py)."""
        self.check_stop()
        if self.answers.load(item.id) is None:
            result = AgentResult(item.id, "review", "complete",
                                 summary="approved by a person")
            self.answers.save(Answer(item.id, "review", result))
        answer = self.answers.load(item.id)
        assert answer is not None
        self.notice("info", f"{item.id} approved: merging {lane.branch}")
        lane.finish(item, answer.result, set())
        self.answers.clear(item.id)

    def _phase(self, item: Item, lane: Lane, phase: str) -> bool:
        """All attempts of one phase; True when it completed (or its lane's merge ended it
        blocked on a conflict), False when it ended blocked."""
        step = PhaseStep(self, lane, item, phase)
        recorded = step.recorded()  # an answer an earlier run had and did not act on
        if recorded:
            return True
        return self.step(step)

    def _count_failed_phase(self) -> None:
        """A phase ended blocked: three in a row (across lanes) stop the run."""
        with self._lock:
            self._failed_phases += 1
            failed = self._failed_phases
        limit = self.config.run.circuit_breaker
        if limit and failed >= limit:
            raise RunEnd(f"circuit breaker: {failed} phases in a row failed; look at the "
                         "blocked items and the logs", exitcodes.ERROR)

    def _end_if_all_blocked(self) -> None:
        """A run whose every item ended blocked moved nothing forward: exit 6, not 0, so a
        script or a morning glance cannot take it for a good night."""
        with self._lock:
            taken = set(self._taken)
        reason = all_blocked(self.store.load(), taken)
        if reason is not None:
            raise RunEnd(reason, exitcodes.ALL_BLOCKED)


def _held_for_review(backlog: Backlog) -> bool:
    """Items wait for a person's review (or approved, to merge): their lanes are kept even
    when orchestrate.toml no longer asks for lanes, so they can still be merged."""
    return any(item.status in states.HELD for item in backlog.items)
