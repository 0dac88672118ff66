"""`orchestrate triage`: a triage agent for every `new` item, several at once.

Agents never write BACKLOG.yaml: each result is applied by the orchestrator in
one transaction as it arrives (assessment; then new → scoped → ready within the
guardrails, researching when the agent asks for an investigation, blocked with
the reason when outside the guardrails or when the agent says so). With
`investigate`, `researching` items then get the investigate step (complete →
scoped/ready by the guardrails). Holds the run lock like a run; interrupt-safe:
a stopped agent leaves its item where it was. The run's skeleton and the retry rule
are skeleton.py's, shared with the pipeline; each worker thread runs one item's step.
What a triage step does to its item is `TriageSteps`', which a run with lanes uses too
(it triages new ideas while its builds go on).
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from app.backlog import states
from app.backlog.model import Item
from app.backlog.store import Transaction
from app.engine import actions
from app.engine.attempts import AttemptReport, AttemptRunner, Verdict
from app.engine.config import Config, within_guardrails
from app.engine.events import EventBus
from app.engine.project import Project
from app.engine.prompts import build_prompt
from app.engine.results import AgentResult
from app.engine.skeleton import ItemWithdrawn, RunEnd, RunSkeleton
from app.errors import TransitionError

SIGNAL_CHECK_S = 0.2
"""How often the main thread wakes while agents run, so Ctrl-C is heard at once."""

STEPS = ("triage", "investigate")
"""The steps of an item before it is ready (the phases come after)."""


class TriageSteps:
    """One triage or investigate step of one item: its prompt, and what its answer does
    to the item. Shared by `Triage` and a run with lanes."""

    def __init__(self, run: RunSkeleton, runner: AttemptRunner) -> None:
        self.run = run
        self.runner = runner

    def one(self, item: Item, phase: str) -> None:
        """All attempts of one item's step (in a worker thread); RunEnd is the run's."""

        def settle(report: AttemptReport, result: AgentResult) -> bool:
            self.apply(item.id, phase, result)
            return True

        try:
            self.run._step(item, phase, settle)
        except RunEnd:
            return  # stopped, or an every-item failure: the run ends with it
        except ItemWithdrawn:
            return  # a person deleted or moved it meanwhile

    def attempt(self, item: Item, phase: str, last_error: str | None) -> AttemptReport:
        project, config = self.run.project, self.run.config
        attempt = self.runner.next_attempt(item.id, phase)
        result_file = self.runner.files(item.id, phase, attempt, None).result
        prompt = build_prompt(item, phase, config=config, prompts_dir=project.prompts_dir,
                              result_file=result_file, attempt=attempt,
                              last_error=last_error)
        return self.runner.run(item, phase, attempt, prompt, judge=_no_progress)

    def apply(self, item_id: str, phase: str, result: AgentResult) -> None:
        """Assessment, follow-ups and the move, in one transaction."""
        try:
            with self.run.store.transaction() as tx:
                added = actions.apply_result_fields(tx, item_id, result)
                item = tx.get(item_id)
                if phase == "triage" and result.needs_investigation:
                    item = actions.move_in(tx, item_id, states.Target("researching"),
                                           by_person=False)
                else:
                    item = self._place(tx, item)
        except TransitionError as exc:
            self.run.notice("warning", f"{item_id}: {exc}; left as it is")
            return
        self.run._changed(item)
        self.run._follow_ups(item_id, added)

    def _place(self, tx: Transaction, item: Item) -> Item:
        """scoped, then ready within the guardrails, or blocked over them."""
        if item.status != "scoped":
            item = actions.move_in(tx, item.id, states.Target("scoped"), by_person=False)
        missing = [k for k in ("size", "risk") if getattr(item, k) is None]
        if missing:
            self.run.notice("warning", f"{item.id}: the agent gave no "
                                       f"{' or '.join(missing)}; left scoped for a person "
                                       "to assess")
            return item
        why = within_guardrails(item, self.run.config)
        if why:
            return actions.move_in(tx, item.id, states.Target("blocked"), by_person=False,
                                   reason=why)
        return actions.move_in(tx, item.id, states.Target("ready"), by_person=False)

    def block(self, item_id: str, reason: str, result: AgentResult | None) -> None:
        try:
            with self.run.store.transaction() as tx:
                if result is not None:
                    actions.apply_result_fields(tx, item_id, result)
                item = actions.move_in(tx, item_id, states.Target("blocked"), by_person=False,
                                       reason=reason)
        except TransitionError as exc:
            self.run.notice("warning", f"{item_id}: {exc}; left as it is")
            return
        self.run._changed(item)


class Triage(RunSkeleton):
    """Triage (and optionally investigate) items with parallel agents."""

    kind = "triage"

    def __init__(self, project: Project, bus: EventBus, *, investigate: bool = False,
                 config: Config | None = None) -> None:
        super().__init__(project, bus, config)
        self.investigate = investigate
        self.steps = TriageSteps(self, self.runner)

    def _work(self) -> None:
        """Triage every new item, then investigate the researching ones if asked."""
        new = self.store.load().with_status("new")
        self._batch(new, "triage")
        if self.investigate and not self._ended():
            researching = self.store.load().with_status("researching")
            self._batch(researching, "investigate")
        self._end_if_ended()

    def _ended(self) -> bool:
        return self._stop.is_set()  # an every-item failure sets it too

    def _batch(self, items: list[Item], phase: str) -> None:
        """Run `phase` for every item, at most triage.max_concurrent agents at once."""
        if not items:
            return
        width = max(1, self.config.triage.max_concurrent)
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix=phase) as pool:
            pending: set[Future[None]] = set()
            queue = list(items)
            while queue or pending:
                while queue and len(pending) < width and not self._ended():
                    pending.add(pool.submit(self.steps.one, queue.pop(0), phase))
                if not pending:
                    break
                # With a timeout: a signal the kernel hands to a worker thread runs its
                # Python handler only when the main thread runs again; an untimed wait
                # would never wake for it, and Ctrl-C would do nothing.
                done, pending = wait(pending, timeout=SIGNAL_CHECK_S,
                                     return_when=FIRST_COMPLETED)
                for future in done:
                    exc = future.exception()
                    if exc is not None:
                        self.notice("error", f"{phase} worker failed: {exc}")

    def _attempt(self, item: Item, phase: str, last_error: str | None) -> AttemptReport:
        return self.steps.attempt(item, phase, last_error)

    def _failed(self, item_id: str, phase: str, report: AttemptReport) -> None:
        """A failed triage answer's assessment is not applied: the item stays unassessed
        until an attempt succeeds or it is blocked."""

    def _block(self, item_id: str, phase: str, reason: str,
               result: AgentResult | None) -> None:
        self.steps.block(item_id, reason, result)


def _no_progress(result: AgentResult) -> Verdict | None:
    if result.result == "progress":
        return Verdict("failed", "answered progress, which only the build phase may (this "
                                 f"is {result.phase})")
    return None
