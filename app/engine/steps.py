"""One step of one item: a phase (prd … review) or a triage step (triage, investigate).

A step owns its attempts' prompt and judge, and what its answers do to the item: `settle`
a complete or progress answer, `block` it, and what a `failed` answer's fields do. The
run's rule around them (retries, backoff, limits, stops, the budget) is the skeleton's
`step()`, the same for both kinds, so the run never asks which kind a step is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Protocol

from app.backlog import states
from app.backlog.model import Item
from app.backlog.store import BacklogStore, Transaction
from app.engine import actions
from app.engine.answers import Answer, Answers
from app.engine.config import Config, within_guardrails
from app.engine.executor import AgentResult, AttemptReport, Executor, Judge, Verdict
from app.engine.lanes import Lane
from app.engine.moves import Moves
from app.engine.project import Project
from app.engine.prompts import build_prompt
from app.errors import TransitionError


class StepHost(Protocol):
    """What a step needs of its run."""

    project: Project
    config: Config
    store: BacklogStore
    executor: Executor
    moves: Moves

    def notice(self, level: str, text: str) -> None: ...


class PhaseHost(StepHost, Protocol):
    answers: Answers

    def stopping(self) -> bool: ...


class Step(ABC):
    """One item's step; see the module docstring."""

    def __init__(self, item: Item, phase: str) -> None:
        self.item = item
        self.phase = phase

    @abstractmethod
    def attempt(self, last_error: str | None, agent: str = "default") -> AttemptReport:
        """Run one attempt with `agent` (its name in orchestrate.toml; routing.py chose
        it); the retry prompt names `last_error`."""

    @abstractmethod
    def settle(self, report: AttemptReport, result: AgentResult) -> bool:
        """A complete or progress answer: True when the step is done, False to attempt
        it again (progress was made)."""

    @abstractmethod
    def block(self, reason: str, result: AgentResult | None) -> None:
        """Block the item with `reason` (and the blocked answer's fields, if any)."""

    @abstractmethod
    def failed(self, report: AttemptReport) -> None:
        """A failed or timed-out attempt, before it counts: what its answer's fields do."""


class PhaseStep(Step):
    """A phase of the pipeline, worked in the item's lane."""

    def __init__(self, host: PhaseHost, lane: Lane, item: Item, phase: str) -> None:
        super().__init__(item, phase)
        self.host = host
        self.lane = lane
        self.before: set[str] = lane.before_phase()

    def recorded(self) -> bool | None:
        """An answer of this phase an earlier run recorded and did not finish acting on
        (answers.py): acted on now instead of asking the agent again (its record is kept
        as it is: it knows what that run was doing, a merge under way). True/False as
        `settle`; None when there is none."""
        answer = self.host.answers.load(self.item.id)
        if answer is None or answer.phase != self.phase:
            return None
        self.before = set(answer.before)
        self.host.notice("info", f"{self.item.id} {self.phase}: acting on the "
                                 f"{answer.result.result} answer an earlier run recorded, "
                                 "instead of asking the agent again")
        return self._act(answer.result)

    def attempt(self, last_error: str | None, agent: str = "default") -> AttemptReport:
        host, phase = self.host, self.phase
        item = host.store.load().get(self.item.id)  # as it is now: notes, assessment
        workspace = self.lane.workspace
        workdir = workspace.path if workspace is not None else host.project.root
        attempt = host.executor.next_attempt(item.id, phase)
        result_file = host.executor.files(item.id, phase, attempt, workspace).result
        spec_phase = ""
        spec_tasks: tuple[str, ...] = ()
        if phase == "build":
            from app.engine import spec  # the build phase's alone (and its judge's)

            spec_path = workdir / item.change_dir / "SPEC.md"
            parsed = spec.load(spec_path)
            nxt = parsed.next_phase() if parsed else None
            if nxt is not None:
                spec_phase, spec_tasks = nxt.title, nxt.todo
            judge = build_judge(spec_path, parsed.ticked if parsed else 0, item.change_dir)
        else:
            judge = phase_judge(phase)
        gate = host.config.gates.get(phase)
        if gate is not None:
            from app.engine.gates import GateRun, gated

            env = {"ORCHESTRATE_RESULT_FILE": str(result_file), "ORCHESTRATE_ITEM_ID": item.id,
                   "ORCHESTRATE_PHASE": phase, "ORCHESTRATE_ATTEMPT": str(attempt),
                   "ORCHESTRATE_CHANGE_DIR": item.change_dir}
            judge = gated(judge, GateRun(gate, workdir, item.change_dir, env, host.stopping))
        prompt = build_prompt(item, phase, config=host.config,
                              prompts_dir=host.project.prompts_dir, result_file=result_file,
                              attempt=attempt, spec_phase=spec_phase, spec_tasks=spec_tasks,
                              last_error=last_error, workspace_note=self.lane.note(),
                              mcp=host.config.agent_named(agent).mcp)
        report = host.executor.run(item, phase, attempt, prompt,
                                   judge=self.lane.judge(judge), workspace=workspace,
                                   agent=agent)
        if report.result is not None:
            for warning in report.result.warnings:
                host.notice("warning", f"{item.id} {phase}: {warning}")
        return report

    def settle(self, report: AttemptReport, result: AgentResult) -> bool:
        # Recorded first: every step after this is finished by the next run, not redone,
        # if this one dies before the record is cleared (answers.py).
        self.host.answers.save(Answer(self.item.id, self.phase, result,
                                      tuple(sorted(self.before))))
        return self._act(result)

    def _act(self, result: AgentResult) -> bool:
        done = self._apply(result)
        self.host.answers.clear(self.item.id)
        return done

    def _apply(self, result: AgentResult) -> bool:
        """What a complete or progress answer does; each step sees what already happened
        (a restart may be doing it the second time): True when the phase is done."""
        item, phase, lane, moves = self.item, self.phase, self.lane, self.host.moves
        if result.result == "complete":
            nxt = states.next_phase(phase)
            if nxt is None:
                lane.finish(item, result, self.before)
                return True
            moves.move(item.id, states.Target("in_progress", nxt), result=result)
            lane.checkpoint(phase, result.summary, self.before)
            return True
        # progress: a build step is committed, and the phase goes on
        moves.apply(item.id, result)
        lane.checkpoint(phase, result.summary, self.before)
        return False

    def block(self, reason: str, result: AgentResult | None) -> None:
        self.host.moves.move(self.item.id, states.Target("blocked"), reason=reason,
                             result=result)

    def failed(self, report: AttemptReport) -> None:
        if report.result is not None:  # the assessment and follow-ups of any valid answer
            self.host.moves.apply(self.item.id, report.result)


class TriageStep(Step):
    """A triage (or investigate) step: an assessment, and where it places the item."""

    def __init__(self, host: StepHost, item: Item, phase: str) -> None:
        super().__init__(item, phase)
        self.host = host

    def attempt(self, last_error: str | None, agent: str = "default") -> AttemptReport:
        host, item, phase = self.host, self.item, self.phase
        attempt = host.executor.next_attempt(item.id, phase)
        result_file = host.executor.files(item.id, phase, attempt, None).result
        prompt = build_prompt(item, phase, config=host.config,
                              prompts_dir=host.project.prompts_dir, result_file=result_file,
                              attempt=attempt, last_error=last_error,
                              mcp=host.config.agent_named(agent).mcp)
        return host.executor.run(item, phase, attempt, prompt, judge=phase_judge(phase),
                                 agent=agent)

    def settle(self, report: AttemptReport, result: AgentResult) -> bool:
        """Assessment, follow-ups and the move, in one transaction."""
        host, item_id = self.host, self.item.id
        try:
            with host.store.transaction() as tx:
                added = actions.apply_result_fields(tx, item_id, result)
                item = tx.get(item_id)
                if self.phase == "triage" and result.needs_investigation:
                    item = actions.move_in(tx, item_id, states.Target("researching"),
                                           by_person=False)
                else:
                    item = self._place(tx, item)
        except TransitionError as exc:
            host.notice("warning", f"{item_id}: {exc}; left as it is")
            return True
        host.moves.changed(item)
        host.moves.follow_ups(item_id, added)
        return True

    def _place(self, tx: Transaction, item: Item) -> Item:
        """scoped, then ready within the guardrails, or blocked over them."""
        if item.status != "scoped":
            item = actions.move_in(tx, item.id, states.Target("scoped"), by_person=False)
        missing = [k for k in ("size", "risk") if getattr(item, k) is None]
        if missing:
            self.host.notice("warning", f"{item.id}: the agent gave no "
                                        f"{' or '.join(missing)}; left scoped for a person "
                                        "to assess")
            return item
        why = within_guardrails(item, self.host.config)
        if why:
            return actions.move_in(tx, item.id, states.Target("blocked"), by_person=False,
                                   reason=why)
        return actions.move_in(tx, item.id, states.Target("ready"), by_person=False)

    def block(self, reason: str, result: AgentResult | None) -> None:
        try:
            with self.host.store.transaction() as tx:
                if result is not None:
                    actions.apply_result_fields(tx, self.item.id, result)
                item = actions.move_in(tx, self.item.id, states.Target("blocked"),
                                       by_person=False, reason=reason)
        except TransitionError as exc:
            self.host.notice("warning", f"{self.item.id}: {exc}; left as it is")
            return
        self.host.moves.changed(item)

    def failed(self, report: AttemptReport) -> None:
        """A failed triage answer's assessment is not applied: the item stays unassessed
        until an attempt succeeds or it is blocked."""


def build_judge(spec_path: Path, ticked_before: int, change_dir: str) -> Judge:
    """`progress` must tick at least one new SPEC box, so a build can never loop forever;
    `complete` with tasks still open is `progress` when it ticked any, else a failure."""
    from app.engine import spec

    def judge(result: AgentResult) -> Verdict | None:
        after = spec.load(spec_path)
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


def phase_judge(phase: str) -> Judge:
    """Outside build, `progress` is not an answer."""

    def judge(result: AgentResult) -> Verdict | None:
        if result.result == "progress":
            return Verdict("failed", f"answered progress, which only the build phase may "
                                     f"(this is {phase})")
        return None

    return judge
