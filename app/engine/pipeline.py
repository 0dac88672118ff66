"""The headless engine: walk ready items through prd → research → design → spec → build →
review, one fresh agent process per phase attempt.

`Pipeline.run()` is blocking and holds the run lock for its whole duration. It
is safe in a worker thread (the board's): it installs no signal handlers; the
CLI's handlers call `request_stop()`. With `[run] max_parallel` > 1 it works on several
items at once, each in a lane of its own (lanes.py); with 1, one item after another in
the main checkout. Either way an item's phases are `_work_item`'s. Everything that
happens is reported on the EventBus; every status/phase change goes through the state
machine (actions.move_in). The run's skeleton and the retry rule are skeleton.py's, shared
with triage; this module chooses the work and says what an answer does to the item.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

from app import exitcodes
from app.backlog import states
from app.backlog.model import PHASES, Backlog, Item
from app.engine import actions, spec, withdraw
from app.engine.answers import Answer, Answers
from app.engine.attempts import AttemptReport, Judge, Verdict
from app.engine.checkpoint import Checkpointer
from app.engine.config import Config, within_guardrails
from app.engine.dependencies import waits_on
from app.engine.events import EventBus
from app.engine.executor import Executor
from app.engine.lanes import MAIN, Lane, LaneSet, ParallelRun
from app.engine.limits import UsageLimit
from app.engine.project import Project
from app.engine.prompts import build_prompt
from app.engine.results import AgentResult
from app.engine.runlock import set_working
from app.engine.skeleton import ItemWithdrawn, RunEnd, RunSkeleton
from app.engine.triage import STEPS, TriageSteps
from app.errors import TransitionError, UnknownItemError


class Pipeline(RunSkeleton):
    """Runs ready items through the phases; see the module docstring."""

    kind = "run"

    def __init__(self, project: Project, bus: EventBus, *, target: str | None = None,
                 cap: int | None = None, config: Config | None = None) -> None:
        super().__init__(project, bus, config)
        self.target = target.strip().upper() if target else None
        self.cap = cap
        self._pause = threading.Event()
        self._failed_phases = 0
        self._skip: set[str] = set()
        self._told: set[str] = set()
        self._working: set[str] = set()
        """Items whose lanes are live now (run.json's `working`)."""
        self._taken: set[str] = set()
        """Items this run worked on: if every one of them ends blocked, it says so (exit 6)."""
        self._begun = 0
        """Attempts begun, for `--cap` (limited ones are given back)."""
        self.checkpoints: Checkpointer | None = None
        self.executor: Executor = self.runner
        """Runs each attempt (executor.py): today a local process."""
        self.triage_steps = TriageSteps(self, self.runner)
        """Triage beside the lanes (a run with max_parallel > 1 assesses new ideas too)."""
        self.answers = Answers(project)
        """Answers not yet fully acted on (answers.py): what a restart finishes."""
        self.lanes: LaneSet | None = None
        self._lanes: dict[str, Lane] = {}
        """The lane of each item being worked on (none: the main checkout)."""

    # control (any thread) ----------------------------------------------------------------------
    def withdraw(self, item_id: str) -> None:
        """Let go of the item (a person deletes or moves it; withdraw.py): its agent is
        stopped and recorded as interrupted, its lane closes, and it is not taken again
        in this run. Answered (the request file removed) once its lane has closed."""
        with self._lock:
            self._withdrawn.add(item_id)
            self._skip.add(item_id)
            working = item_id in self._working
        if not working:
            withdraw.answer(self.project, item_id)
            return
        self.runner.stop_item(item_id)

    def request_pause(self) -> None:
        """Finish the current phase attempt, then stop (RunFinished reason `paused`)."""
        self._pause.set()
        self._wake.set()

    # the run -------------------------------------------------------------------------------------
    def _work(self) -> None:
        """Until no item is left to run (RunFinished `no more work`): in lanes when
        max_parallel > 1 (and git allows), else item after item."""
        self.checkpoints = Checkpointer(self.project.root, self.config.run.checkpoint)
        if self.config.run.max_parallel > 1:
            self.lanes = LaneSet.for_run(self)  # which clears git's stale locks itself
        if self.lanes is None:
            removed = self.checkpoints.clear_stale_locks()
            if removed:
                self.notice("warning", f"removed git lock files that a git killed mid-way "
                                       f"left ({', '.join(removed)}): no git process was "
                                       "working in the repository")
        self._finish_recorded()
        with withdraw.RequestWatcher(self.project, self.withdraw):
            if self.lanes is not None:
                ParallelRun(self, self.lanes).loop()
            else:
                if self.checkpoints.reason_off and self.config.run.checkpoint:
                    self.notice("warning", self.checkpoints.reason_off)
                self._loop()
        self._end_if_all_blocked()

    def _finish_recorded(self) -> None:
        """Answers an earlier run recorded and did not finish acting on (a kill -9, a power
        cut): an item still in that phase is settled from its answer when it is worked on
        (`_run_phase`); one the answer already moved on gets the steps left (its checkpoint;
        for a merged lane, BACKLOG.yaml's commit and the worktree's removal); any other
        record is stale (the item was blocked, deleted or moved by a person)."""
        backlog = self.store.load()
        for item_id in self.answers.pending():
            answer = self.answers.load(item_id)
            item = backlog.by_id.get(item_id)
            if answer is None or item is None:
                self.answers.clear(item_id)
                continue
            if item.status == "in_progress" and item.phase == answer.phase:
                continue  # settled from the record when its lane works on it
            nxt = states.next_phase(answer.phase)
            moved_on = (item.status == "done" and nxt is None) or (
                item.status == "in_progress" and item.phase == nxt)
            if moved_on:
                self.notice("info", f"{item_id}: finishing what an earlier run left undone "
                                    f"after its {answer.phase} answer")
                if self.lanes is not None and nxt is None:
                    self.lanes.finished(item)
                else:
                    self._checkpoint(self._recorded_lane(item_id), item_id, answer.phase,
                                     answer.result.summary, set(answer.before))
            self.answers.clear(item_id)

    def _recorded_lane(self, item_id: str) -> Lane:
        """The lane an item worked in before a restart (its worktree, if it is still
        there), for the checkpoint a crash left undone."""
        if self.lanes is None:
            return MAIN
        return self.lanes.leftover(item_id) or MAIN

    def _end_if_all_blocked(self) -> None:
        """A run whose every item ended blocked moved nothing forward: exit 6, not 0, so a
        script or a morning glance cannot take it for a good night."""
        with self._lock:
            taken = sorted(self._taken)
        if not taken:
            return
        backlog = self.store.load()
        items = [backlog.by_id.get(item_id) for item_id in taken]
        if not all(item is not None and item.status == "blocked" for item in items):
            return
        reasons = "; ".join(f"{item.id}: {item.blocked_reason}" for item in items[:3]
                            if item is not None) + ("; …" if len(items) > 3 else "")
        raise RunEnd(f"every item this run took ended blocked ({reasons})",
                     exitcodes.ALL_BLOCKED)

    def _check_stop(self) -> None:
        super()._check_stop()
        if self._pause.is_set():
            raise RunEnd("paused", exitcodes.OK)

    def _winding_down(self) -> bool:
        """No new item may start: stopped, pausing, or the run's end is decided."""
        return self._stop.is_set() or self._pause.is_set() or self._ending is not None

    # lanes (lanes.py calls these from its worker threads) -------------------------------------
    def _open(self, lane: Lane) -> None:
        with self._lock:
            self._lanes[lane.item_id] = lane

    def _close(self, lane: Lane) -> None:
        with self._lock:
            self._lanes.pop(lane.item_id, None)

    def _lane_of(self, item_id: str) -> Lane:
        with self._lock:
            return self._lanes.get(item_id, MAIN)

    def _leave(self, item_id: str) -> None:
        """Take no more steps of this item in this run."""
        with self._lock:
            self._skip.add(item_id)

    def _lane_ended(self, end: RunEnd) -> None:
        """A lane met the run's end (stop, pause, cap, the circuit breaker): every other
        lane ends before its next attempt, and the run ends with it."""
        with self._lock:
            if self._ending is None:
                self._ending = end
        self._wake.set()

    def _block_quietly(self, item_id: str, reason: str) -> None:
        """Block an item outside an attempt (its lane could not be made)."""
        try:
            self._move(item_id, states.Target("blocked"), reason=reason)
        except (TransitionError, UnknownItemError) as exc:
            self.notice("warning", f"{item_id}: {exc}; leaving it")

    def _before_attempt(self) -> None:
        super()._before_attempt()
        if self.cap is None:
            return
        # Attempts are counted as they begin: `attempts` counts them once they end, and
        # lanes starting together would all pass the cap before any had ended.
        with self._lock:
            reached = self._begun >= self.cap
            if not reached:
                self._begun += 1
        if reached:
            raise RunEnd(f"cap reached ({self.cap} attempts)", exitcodes.OK)

    def _may_begin(self) -> None:
        """RunEnd when no attempt may begin now (stopped, budget spent, `--cap` reached),
        without counting one."""
        super()._before_attempt()
        if self.cap is not None:
            with self._lock:
                reached = self._begun >= self.cap
            if reached:
                raise RunEnd(f"cap reached ({self.cap} attempts)", exitcodes.OK)

    def _pause_for(self, limit: UsageLimit, item_id: str, phase: str) -> None:
        with self._lock:
            self._begun -= 1  # a limited attempt is not one (it repeats after the reset)
        super()._pause_for(limit, item_id, phase)

    def _loop(self) -> None:
        first = True
        while True:
            self._check_stop()
            item = next(self._runnable(self.store.load(), set()), None)
            if item is None:
                if first:
                    self._explain_nothing()
                return
            first = False
            self._work_item(item)

    # choosing work -----------------------------------------------------------------------------
    def _runnable(self, backlog: Backlog, busy: set[str]) -> Iterator[Item]:
        """The items that may start now, in the order a run takes them: items already in
        progress (a resumed run) first, then ready ones in the backlog's order whose
        dependencies are done (with lanes: merged) and that are within the guardrails."""
        with self._lock:
            skip = set(self._skip)
        candidates = [i for i in backlog.items if i.id not in skip and i.id not in busy
                      and (self.target is None or i.id == self.target)]
        yield from (item for item in candidates if item.status == "in_progress")
        for item in candidates:
            if item.status != "ready":
                continue
            waiting = waits_on(backlog, item)  # the rule the cards show, too
            if waiting:
                merged = self.lanes is not None and self.lanes.mode != "none"
                self._tell_once(item.id + ":deps", "info",
                                f"{item.id} waits for {', '.join(waiting)} to be done"
                                + (" and merged" if merged else ""))
                continue
            unmerged = self.lanes.waits_for_merge(item) if self.lanes is not None else None
            if unmerged:
                self._tell_once(item.id + ":merge", "info", unmerged)
                continue
            why = within_guardrails(item, self.config)
            if why and self.target is None:
                self._tell_once(item.id + ":guard", "info", f"{item.id} skipped: {why}")
                continue
            if why:  # chosen by name (`run --target`, `R` on the board): a person's call
                self._tell_once(item.id + ":guard", "warning",
                                f"{item.id} is {why}; running it because you chose it")
            yield item

    def _tell_once(self, key: str, level: str, text: str) -> None:
        with self._lock:
            new = key not in self._told
            self._told.add(key)
        if new:
            self.notice(level, text)

    def _explain_nothing(self) -> None:
        """Nothing ran at all: say why."""
        if self.target:
            self._explain_target()
        else:
            self._explain_idle()

    def _explain_target(self) -> None:
        backlog = self.store.load()
        item = backlog.get(self.target or "")
        with self._lock:
            skipped = item.id in self._skip
        if item.status not in states.RUNNABLE and not skipped:
            self.notice("warning", f"{item.id} is {states.describe(item)}: only ready or "
                                   "in-progress items run")

    def _explain_idle(self) -> None:
        """Nothing ran at all: say what the person can do about it."""
        backlog = self.store.load()
        hints = []
        new = backlog.with_status("new")
        if new:
            hints.append(f"{len(new)} new: `orchestrate triage`")
        scoped = backlog.with_status("scoped")
        if scoped:
            hints.append(f"{len(scoped)} scoped: `orchestrate advance {scoped[0].id} --to "
                         "ready`")
        blocked = backlog.with_status("blocked")
        if blocked:
            hints.append(f"{len(blocked)} blocked: `orchestrate unblock {blocked[0].id} "
                         "--notes ...`")
        self.notice("info", "nothing to run: no ready item within the guardrails"
                    + (f" ({'; '.join(hints)})" if hints else ""))

    # one item ----------------------------------------------------------------------------------
    def _move(self, item_id: str, target: states.Target, *, reason: str | None = None,
              result: AgentResult | None = None) -> Item:
        added: list[Item] = []
        with self.store.transaction() as tx:
            if result is not None:
                added = actions.apply_result_fields(tx, item_id, result)
            item = actions.move_in(tx, item_id, target, by_person=False, reason=reason)
        self._changed(item)
        self._follow_ups(item_id, added)
        return item

    def _apply_only(self, item_id: str, result: AgentResult) -> None:
        with self.store.transaction() as tx:
            added = actions.apply_result_fields(tx, item_id, result)
        self._follow_ups(item_id, added)

    def _work_item(self, item: Item) -> None:
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
                item = self._move(item.id, states.Target("in_progress", PHASES[0]))
            with self._lock:
                self._taken.add(item.id)
            while item.status == "in_progress":
                phase = item.phase if item.phase in PHASES else PHASES[0]
                ok = self._run_phase(item, phase)
                item = self.store.load().get(item.id)
                with self._lock:
                    self._failed_phases = 0 if ok else self._failed_phases + 1
                    failed = self._failed_phases
                if not ok:
                    limit = self.config.run.circuit_breaker
                    if limit and failed >= limit:
                        raise RunEnd(f"circuit breaker: {failed} phases in a row "
                                     "failed; look at the blocked items and the logs",
                                     exitcodes.ERROR)
                    return
                if item.status == "in_progress":
                    self._sleep(self.config.run.cooldown_s, item.id)
        except ItemWithdrawn:
            self.notice("info", f"{item.id}: let go of, as a person asked (deleted or moved "
                                "while its lane worked); its agent was stopped")
        except (TransitionError, UnknownItemError) as exc:
            # Someone moved or deleted the item under us (the board, a person): leave it.
            self.notice("warning", f"{item.id}: {exc}; leaving it")
            with self._lock:
                self._skip.add(item.id)
        finally:
            with self._lock:
                self._working.discard(item.id)
                working = set(self._working)
                withdrawn = item.id in self._withdrawn
            set_working(self.project, working)
            if withdrawn:
                withdraw.answer(self.project, item.id)

    def _run_phase(self, item: Item, phase: str) -> bool:
        """All attempts of one phase; True when it completed (or its lane's merge ended
        it blocked on a conflict), False when it ended blocked."""
        assert self.checkpoints is not None
        lane = self._lane_of(item.id)
        # In a lane's worktree everything is the agent's; in the main checkout, files
        # already changed before the phase are the person's and stay out of its commit.
        before = self.checkpoints.dirty() \
            if lane.worktree is None and self.checkpoints.active else set()

        def settle(report: AttemptReport, result: AgentResult) -> bool:
            # Recorded first: every step after this is finished by the next run, not
            # redone, if this one dies before the record is cleared (answers.py).
            self.answers.save(Answer(item.id, phase, result, tuple(sorted(before))))
            return finish(result)

        def finish(result: AgentResult) -> bool:
            done = self._settle(lane, item, phase, result, before)
            self.answers.clear(item.id)
            return done

        recorded = self.answers.load(item.id)
        if recorded is not None and recorded.phase == phase:
            # An earlier run had this answer and died before acting on it all: its record
            # is kept as it is (it knows what that run was doing, a merge under way).
            before = set(recorded.before)
            self.notice("info", f"{item.id} {phase}: acting on the {recorded.result.result} "
                                "answer an earlier run recorded, instead of asking the agent "
                                "again")
            if finish(recorded.result):
                return True
        return self._step(item, phase, settle)

    def _settle(self, lane: Lane, item: Item, phase: str, result: AgentResult,
                before: set[str]) -> bool:
        """What a complete or progress answer does; each step sees what already happened
        (a restart may be doing it the second time): True when the phase is done."""
        if result.result == "complete":
            nxt = states.next_phase(phase)
            if nxt is None and self.lanes is not None and lane.worktree is not None:
                self._checkpoint(lane, item.id, phase, result.summary, before)
                self.lanes.finish(lane, item, result)
                return True
            target = states.Target("in_progress", nxt) if nxt else states.Target("done")
            self._move(item.id, target, result=result)
            self._checkpoint(lane, item.id, phase, result.summary, before)
            return True
        # progress: a build step is committed, and the phase goes on
        self._apply_only(item.id, result)
        self._checkpoint(lane, item.id, phase, result.summary, before)
        return False

    def _block(self, item_id: str, phase: str, reason: str,
               result: AgentResult | None) -> None:
        if phase in STEPS:
            self.triage_steps.block(item_id, reason, result)
            return
        self._move(item_id, states.Target("blocked"), reason=reason, result=result)

    def _failed(self, item_id: str, phase: str, report: AttemptReport) -> None:
        if phase in STEPS:  # a failed triage answer's assessment is not applied
            return
        if report.result is not None:  # the assessment and follow-ups of any valid answer
            self._apply_only(item_id, report.result)

    def _attempt(self, item: Item, phase: str, last_error: str | None) -> AttemptReport:
        if phase in STEPS:
            return self.triage_steps.attempt(item, phase, last_error)
        item = self.store.load().get(item.id)  # as it is now: notes, assessment
        lane = self._lane_of(item.id)
        workdir = lane.workspace.path if lane.workspace is not None else self.project.root
        attempt = self.executor.next_attempt(item.id, phase)
        result_file = self.executor.files(item.id, phase, attempt, lane.workspace).result
        spec_phase = ""
        spec_tasks: tuple[str, ...] = ()
        if phase == "build":
            spec_path = workdir / item.change_dir / "SPEC.md"
            parsed = spec.load(spec_path)
            nxt = parsed.next_phase() if parsed else None
            if nxt is not None:
                spec_phase, spec_tasks = nxt.title, nxt.todo
            judge = _build_judge(spec_path, parsed.ticked if parsed else 0, item.change_dir)
        else:
            judge = _phase_judge(phase)
        note = None
        if self.lanes is not None and lane.worktree is not None:
            judge = self.lanes.judge(lane, judge)
            note = self.lanes.workspace_note(lane)
        prompt = build_prompt(item, phase, config=self.config,
                              prompts_dir=self.project.prompts_dir, result_file=result_file,
                              attempt=attempt, spec_phase=spec_phase, spec_tasks=spec_tasks,
                              last_error=last_error, workspace_note=note)
        report = self.executor.run(item, phase, attempt, prompt, judge=judge,
                                   workspace=lane.workspace)
        if report.result is not None:
            for warning in report.result.warnings:
                self.notice("warning", f"{item.id} {phase}: {warning}")
        return report

    def _checkpoint(self, lane: Lane, item_id: str, phase: str, summary: str | None,
                    before: set[str]) -> None:
        assert self.checkpoints is not None
        if self.lanes is not None and lane.worktree is not None:
            self.lanes.checkpoint(lane, item_id, phase, summary)
            return
        if not self.checkpoints.active:
            return
        done = self.checkpoints.commit(item_id, phase, summary, before)
        if done.left_out:
            self._tell_once(
                "left-out:" + "|".join(done.left_out), "warning",
                f"checkpoint of {item_id} {phase} left out files that were already changed "
                f"before the phase (your own work?): {', '.join(done.left_out)}")
        if done.error:
            self.notice("warning", f"checkpoint of {item_id} {phase} failed: {done.error}")
        elif done.commit:
            self.notice("info", f"checkpoint {done.commit}: [{item_id}][{phase.upper()}] "
                                f"{summary or ''}".rstrip())


def _build_judge(spec_path: os.PathLike[str], ticked_before: int, change_dir: str) -> Judge:
    """`progress` must tick at least one new SPEC box, so a build can never loop forever;
    `complete` with tasks still open is `progress` when it ticked any, else a failure."""

    def judge(result: AgentResult) -> Verdict | None:
        after = spec.load(Path(spec_path))
        ticked = after is not None and after.ticked > ticked_before
        if result.result == "progress":
            return None if ticked else Verdict(
                "failed", f"answered progress but ticked no new task in {change_dir}/SPEC.md")
        open_tasks = after.unticked if after is not None else 0
        if open_tasks == 0:
            return None
        if ticked:
            return Verdict("progress")
        return Verdict("failed", f"answered complete, but {change_dir}/SPEC.md still has "
                                 f"{open_tasks} open task{'s' if open_tasks != 1 else ''}")

    return judge


def _phase_judge(phase: str) -> Judge:
    """Outside build, `progress` is not an answer."""

    def judge(result: AgentResult) -> Verdict | None:
        if result.result == "progress":
            return Verdict("failed", f"answered progress, which only the build phase may "
                                     f"(this is {phase})")
        return None

    return judge
