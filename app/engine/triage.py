"""`orchestrate triage`: a triage agent for every `new` item, several at once.

Agents never write BACKLOG.yaml: each result is applied by the orchestrator in
one transaction as it arrives (assessment; then new → scoped → ready within the
guardrails, researching when the agent asks for an investigation, blocked with
the reason when over the guardrails or when the agent says so). With
`investigate`, `researching` items then get the investigate step (complete →
scoped/ready by the guardrails). Holds the run lock like a run; interrupt-safe:
a stopped agent leaves its item where it was.
"""

from __future__ import annotations

import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from app.backlog import states
from app.backlog.model import Item
from app.backlog.store import Transaction
from app.engine import actions
from app.engine.attempts import AttemptRunner
from app.engine.config import Config
from app.engine.events import EventBus, ItemChanged, Notice, RunFinished
from app.engine.pipeline import (
    EXIT_ERROR,
    EXIT_EVERY_ITEM,
    EXIT_INTERRUPTED,
    EXIT_OK,
    apply_result_fields,
    within_guardrails,
)
from app.engine.project import Project
from app.engine.prompts import build_prompt
from app.engine.results import AgentResult
from app.engine.runlock import RunLock, clear_run_state
from app.engine.runstart import begin
from app.errors import OrchestrateError, TransitionError

SIGNAL_CHECK_S = 0.2
"""How often the main thread wakes while agents run, so Ctrl-C is heard at once."""


class Triage:
    """Triage (and optionally investigate) items with parallel agents."""

    def __init__(self, project: Project, bus: EventBus, *, investigate: bool = False,
                 config: Config | None = None) -> None:
        self.project = project
        self.bus = bus
        self.investigate = investigate
        self.config = config or project.config()
        self.store = project.store()
        """One store for the run: it re-parses BACKLOG.yaml only when its bytes change."""
        self._stop = threading.Event()
        self._kill_now = threading.Event()
        self._global: str | None = None
        self._lock = threading.Lock()
        self.attempts = 0
        self.cost_usd = 0.0
        self.runner = AttemptRunner(project, self.config, bus, self._stop, self._kill_now)

    def request_stop(self) -> None:
        """Stop every agent now (TERM, then KILL after the grace); a second call skips the
        grace. Items not yet triaged stay where they are."""
        if self._stop.is_set():
            self._kill_now.set()
        self._stop.set()

    def notice(self, level: str, text: str) -> None:
        self.bus.emit(Notice(level=level, text=text))

    def run(self) -> RunFinished:
        """Blocking: take the run lock, triage every new item, then investigate if asked."""
        lock = RunLock(self.project)
        lock.acquire()
        try:
            failure = begin(self.project, self.config, self.bus, "triage")
            if failure:  # before any item moves: nothing to resume, nothing blocked
                finished = RunFinished(reason=failure, exit_code=EXIT_EVERY_ITEM)
                self.bus.emit(finished)
                return finished
            try:
                new = self.store.load().with_status("new")
                self._batch(new, "triage")
                if self.investigate and not self._ended():
                    researching = self.store.load().with_status("researching")
                    self._batch(researching, "investigate")
                if self._global:  # checked first: it also stops the other agents
                    reason, code = self._global, EXIT_EVERY_ITEM
                elif self._stop.is_set():
                    reason, code = "stopped", EXIT_INTERRUPTED
                else:
                    reason, code = "no more work", EXIT_OK
            except OrchestrateError as exc:
                reason, code = str(exc), EXIT_ERROR
            finished = RunFinished(reason=reason, exit_code=code, attempts=self.attempts,
                                   cost_usd=round(self.cost_usd, 6))
            self.bus.emit(finished)
            return finished
        finally:
            clear_run_state(self.project)
            lock.release()

    def _ended(self) -> bool:
        return self._stop.is_set() or self._global is not None

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
                    pending.add(pool.submit(self._one, queue.pop(0), phase))
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

    def _one(self, item: Item, phase: str) -> None:
        """All attempts of one item's triage/investigate step."""
        failures = 0
        last_error: str | None = None
        while not self._ended():
            attempt = self.runner.next_attempt(item.id, phase)
            result_file = (self.project.results_dir / f"{item.id}_{phase}_{attempt}.json")
            prompt = build_prompt(item, phase, config=self.config,
                                  prompts_dir=self.project.prompts_dir,
                                  result_file=result_file.resolve(), attempt=attempt,
                                  last_error=last_error)
            report = self.runner.run(item, phase, attempt, prompt, judge=_no_progress)
            with self._lock:
                self.attempts += 1
                if report.process is not None and report.process.cost_usd:
                    self.cost_usd += report.process.cost_usd
            if report.outcome == "interrupted":
                return
            if report.global_failure:
                with self._lock:
                    if self._global is None:
                        self._global = report.global_failure
                self._stop_others()
                return
            if report.outcome == "complete" and report.result is not None:
                self._apply(item.id, phase, report.result)
                return
            if report.outcome == "blocked":
                self._block(item.id, report.reason or "blocked", report.result)
                return
            failures += 1
            last_error = report.reason
            if failures > self.config.run.max_retries:
                self._block(item.id, f"{phase} failed {failures} time"
                                     f"{'s' if failures > 1 else ''}: {last_error}", None)
                return
            if self._stop.wait(failures * self.config.run.backoff_s):
                return

    def _stop_others(self) -> None:
        # Every other agent would fail the same way: stop them without blocking items.
        self._stop.set()

    def _emit(self, item: Item) -> None:
        self.bus.emit(ItemChanged(item_id=item.id, status=item.status, phase=item.phase,
                                  reason=item.blocked_reason))

    def _apply(self, item_id: str, phase: str, result: AgentResult) -> None:
        """Assessment, follow-ups and the move, in one transaction."""
        try:
            with self.store.transaction() as tx:
                added = apply_result_fields(tx, item_id, result)
                item = tx.get(item_id)
                if phase == "triage" and result.needs_investigation:
                    item = actions.move_in(tx, item_id, states.Target("researching"),
                                           by_person=False)
                else:
                    item = self._place(tx, item)
        except TransitionError as exc:
            self.notice("warning", f"{item_id}: {exc}; left as it is")
            return
        self._emit(item)
        for new in added:
            self._emit(new)
            self.notice("info", f"{item_id} asked for a follow-up: {new.id} {new.title}")

    def _place(self, tx: Transaction, item: Item) -> Item:
        """scoped, then ready within the guardrails, or blocked over them."""
        if item.status != "scoped":
            item = actions.move_in(tx, item.id, states.Target("scoped"), by_person=False)
        missing = [k for k in ("size", "risk") if getattr(item, k) is None]
        if missing:
            self.notice("warning", f"{item.id}: the agent gave no {' or '.join(missing)}; "
                                   "left scoped for a person to assess")
            return item
        why = within_guardrails(item, self.config)
        if why:
            return actions.move_in(tx, item.id, states.Target("blocked"), by_person=False,
                                   reason=why)
        return actions.move_in(tx, item.id, states.Target("ready"), by_person=False)

    def _block(self, item_id: str, reason: str, result: AgentResult | None) -> None:
        try:
            with self.store.transaction() as tx:
                if result is not None:
                    apply_result_fields(tx, item_id, result)
                item = actions.move_in(tx, item_id, states.Target("blocked"), by_person=False,
                                       reason=reason)
        except TransitionError as exc:
            self.notice("warning", f"{item_id}: {exc}; left as it is")
            return
        self._emit(item)


def _no_progress(result: AgentResult) -> str | None:
    if result.result == "progress":
        return f"answered progress, which only the build phase may (this is {result.phase})"
    return None

