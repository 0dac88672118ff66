"""What a run and a triage batch share: the run's skeleton and the attempt/retry rule.

`Pipeline` (pipeline.py) and `Triage` (triage.py) are both a `RunSkeleton`:

- `run()`: take the run lock, `begin` (announce, stop a crashed run's orphaned agents,
  check the agent command), do the engine's `_work()`, emit one RunFinished with the
  attempts and cost, clear run.json, release the lock.
- `step()`: all attempts of one item's step (a phase, or a triage step: steps.py). An
  interrupted attempt stops the run; a failure that would hit every item ends it for
  every lane (exit 4) and blocks nothing; a failed or timed-out attempt is retried after
  `failures * run.backoff_s` until `run.max_retries`, then the item is blocked with
  "<phase> failed N time(s): <last reason>". What a complete, progress or blocked
  answer does to the item is the step's (`settle`, `block`).

Outcomes that concern the whole run rather than the item are settled in `step`, once
for both kinds, and the counters and the run's ending are kept under a lock, so
attempts of several items may run at once (lanes and triage do). Attempts run behind
the executor the run was given (executor.py), the local one unless another is.
"""

from __future__ import annotations

import os
import threading
import time
from abc import ABC, abstractmethod
from functools import partial
from typing import TYPE_CHECKING, ClassVar, NoReturn

from app import exitcodes
from app.backlog.model import PHASES, Item
from app.engine import executors, fence, mcpattempt, worklog
from app.engine.attempts import preflight
from app.engine.config import Config
from app.engine.events import (
    EventBus,
    Notice,
    RunFinished,
    RunStarted,
)
from app.engine.executor import AttemptReport, Executor, UsageLimit
from app.engine.moves import Moves
from app.engine.notify import Notifier, NotifyObserver
from app.engine.pausing import LimitPause
from app.engine.project import Project
from app.engine.quota import Quota
from app.engine.runlock import RunLock, clear_run_state, reap_orphan, start_run_state
from app.engine.worklog import money
from app.errors import OrchestrateError, TransitionError, UnknownItemError

if TYPE_CHECKING:
    from app.engine.steps import Step

TRIAGE_STEPS = ("triage", "investigate")
WITHDRAW_CHECK_S = 0.2
"""How often an item's wait (a backoff, a cooldown) looks whether it was taken away."""


def begin(project: Project, config: Config, bus: EventBus, kind: str,
          agents: tuple[str, ...] = ("default",)) -> str | None:
    """Announce the run, stop a crashed run's orphaned agents, check the command of every
    agent it may use.

    Call it holding the run lock. Returns why the run cannot start (a failure that would
    hit every item, such as a missing agent command), or None.
    """
    project.ensure_state_dirs()
    # Daemons our agents start are re-parented to us, not to init: we can find them.
    fence.become_subreaper()
    bus.emit(RunStarted(kind=kind, pid=os.getpid()))
    for message in reap_orphan(project, config.agent.kill_grace_s):
        bus.emit(Notice(level="warning", text=message))
    start_run_state(project, kind, config.run.max_parallel if kind == "run" else 1)
    for warning in [*config.warnings, *worklog.problems(project.worklog_path)]:
        bus.emit(Notice(level="warning", text=warning))
    failures = []
    for name in agents:
        agent = config.agent_named(name)
        failure, warnings = preflight(agent.command, agent.kind, name)
        failure = failure or (mcpattempt.sdk_missing(name) if agent.mcp else None)
        for warning in warnings:
            bus.emit(Notice(level="warning", text=warning))
        if failure:
            failures.append(failure)
    return "; ".join(failures) or None


class RunEnd(Exception):
    """Ends the run early with the reason and exit code of its RunFinished."""

    def __init__(self, reason: str, exit_code: int = exitcodes.OK) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exit_code = exit_code


class ItemWithdrawn(Exception):
    """A person took the item away from the run (deleted or moved it while its lane
    worked): its lane ends, the run goes on."""


MAX_LOST = 3
"""Attempts lost with their node in a row before the step counts a failure."""


class Retries:
    """The failures of one step: counted, backed off, then the item is blocked."""

    def __init__(self, phase: str, max_retries: int, backoff_s: float) -> None:
        self.phase = phase
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.failures = 0
        self.lost_in_a_row = 0
        self.last_error: str | None = None
        """The previous attempt's failure, which the retry prompt names."""

    def failed(self, reason: str | None) -> str | None:
        """Count a failure: the reason to block the item with once no retry is left."""
        self.failures += 1
        self.last_error = reason
        if self.failures <= self.max_retries:
            return None
        times = f"{self.failures} time{'s' if self.failures > 1 else ''}"
        return f"{self.phase} failed {times}: {reason}"

    @property
    def backoff(self) -> float:
        """Seconds to wait before the next attempt: longer after each failure."""
        return self.failures * self.backoff_s

    def progressed(self) -> None:
        """Progress was made: the failures so far no longer count."""
        self.failures = 0
        self.last_error = None

    def again_elsewhere(self, outcome: str) -> bool:
        """Whether the attempt goes again at once: one lost with its node (remote
        executors) is not the agent's failure, but MAX_LOST in a row count as one (the
        cluster is broken). Any other outcome ends the row."""
        if outcome != "lost":
            self.lost_in_a_row = 0
            return False
        self.lost_in_a_row += 1
        return self.lost_in_a_row < MAX_LOST


class RunSkeleton(ABC):
    """A run of agents over items; see the module docstring. Subclasses give `kind` and
    `_work`; a step's attempts and what its answers do are the step's (steps.py)."""

    kind: ClassVar[str]
    """RunStarted.kind: `run` or `triage`."""

    def __init__(self, project: Project, bus: EventBus, config: Config | None,
                 executor: Executor | None = None) -> None:
        self.project = project
        self.bus = bus
        self.config = config or project.config()
        self.store = project.store()
        """One store for the run: it re-parses BACKLOG.yaml only when its bytes change."""
        self._stop = threading.Event()
        self._wake = threading.Event()
        """Set whenever waiting should end at once (stop; Pipeline's pause too)."""
        self._lock = threading.Lock()
        self._ending: RunEnd | None = None
        """The first every-item failure any lane met: it outranks the stop it causes."""
        self.attempts = 0
        """Attempts ended, as the worklog has them (limited ones too)."""
        self.limited = 0
        self.cost_usd = 0.0
        """What the attempts cost, as their worklog lines say."""
        self.executor: Executor = executor or executors.make(project, self.config, bus)
        """Where every attempt of the run runs (executor.py): the local one unless given;
        lanes and triage steps use the same one."""
        self.executor.on_spend = self._watch_spend
        self.max_cost_usd = self.config.run.max_cost_usd
        """No new attempt once the run has spent this (`--max-cost`); None: no budget."""
        self.wait_on_limit = True
        """False (`--no-wait`): a usage limit ends the run (exit 4) instead of pausing it."""
        self.limits = LimitPause(self)
        """A usage limit's pause of every lane (pausing.py)."""
        self.quota = Quota(self)
        """Which agent each attempt goes to, by quota and free slots (quota.py)."""
        self._withdrawn: set[str] = set()
        """Items a person took away from this run (withdraw.py): never worked on again."""
        self._left: set[str] = set()
        """Items the run took no more steps of: gone from under it, or failed with an
        error of ours (reported)."""
        self.moves = Moves(lambda: self.store, bus)
        """The run's changes to items (moves.py)."""

    # control (any thread) ----------------------------------------------------------------------
    def request_stop(self) -> None:
        """Stop now: each agent's group gets TERM, then KILL after the grace; its item stays
        where it was, resumable. A second call skips the grace period (the second Ctrl-C)."""
        self.executor.stop(now=self._stop.is_set())
        self._stop.set()
        self._wake.set()

    def stopping(self) -> bool:
        """Whether the run was asked to stop (what a gate's command waits on)."""
        return self._stop.is_set()

    def notice(self, level: str, text: str) -> None:
        self.bus.emit(Notice(level=level, text=text))


    # the run -----------------------------------------------------------------------------------
    def run(self) -> RunFinished:
        """Blocking: take the run lock (LockHeldError if another process holds it), do the
        work until none is left or the run ends, and report it in RunFinished."""
        lock = RunLock(self.project)
        lock.acquire()  # LockHeldError propagates: the caller says "another run holds it"
        notifier = Notifier(self.config.notify.command, self.project.root,
                            on_error=lambda text: self.notice("warning", text))
        unsubscribe = self.bus.subscribe(NotifyObserver(notifier, self.kind,
                                                     partial(title_of, self)))
        # For the run's length, every thread of it reads a BACKLOG.yaml a person saved
        # broken as its last good copy, and its writes wait for the fix (store.tolerant);
        # the board, holding the store itself, still sees the error.
        store = self.store
        self.store = store.tolerant(
            on_broken=lambda error: self.notice("warning", f"{error}: the run goes on from "
                                                "the last good copy; its writes wait until "
                                                "the file parses again"),
            on_fixed=lambda: self.notice("info", f"{store.path.name} parses again: the run "
                                                 "reads it and its writes go on"),
            should_stop=lambda: self._stop.is_set() or self._ending is not None)
        try:
            failure = begin(self.project, self.config, self.bus, self.kind,
                            self.agents_used())
            if failure:  # before any item moves: nothing to resume, nothing blocked
                finished = RunFinished(reason=failure, exit_code=exitcodes.EVERY_ITEM)
            else:
                try:
                    self.limits.resume_kept(self.quota.agent_free())
                    self._work()
                    end = RunEnd("no more work")
                except RunEnd as raised:
                    end = raised
                except OrchestrateError as exc:  # after a stop (a write it ended): a stop
                    end = RunEnd(str(exc), exitcodes.INTERRUPTED if self._stop.is_set()
                                 else exitcodes.ERROR)
                with self._lock:
                    # The end decided first (a budget, a failure of every item) outranks
                    # the stop it caused in the lanes it ended.
                    end = self._ending or end
                if end.exit_code == exitcodes.BUDGET:
                    end = RunEnd(self._budget_reason(), exitcodes.BUDGET)
                finished = RunFinished(reason=end.reason, exit_code=end.exit_code,
                                       attempts=self.attempts,
                                       limited=self.limited,
                                       cost_usd=round(self.cost_usd, 6))
            self.bus.emit(finished)
            return finished
        finally:
            self.store = store
            unsubscribe()
            clear_run_state(self.project)
            lock.release()
            notifier.wait()  # the last word (run finished) goes out; bounded by its timeout

    @abstractmethod
    def _work(self) -> None:
        """The engine's work: returns when none is left; raises RunEnd to end the run."""

    def end_if_ended(self) -> None:
        """After parallel work: raise what ended it (an every-item failure, then a stop)."""
        if self._ending is not None:
            raise RunEnd(self._ending.reason, self._ending.exit_code)
        self.check_stop()

    def check_stop(self) -> None:
        if self._stop.is_set():
            raise RunEnd("stopped", exitcodes.INTERRUPTED)

    def sleep(self, seconds: float, item_id: str | None = None) -> None:
        """Wait, ending at once when the run is told to stop (RunEnd), or when `item_id`
        is taken away from the run (ItemWithdrawn)."""
        if item_id is None:
            if seconds > 0:
                self._wake.wait(seconds)
            self.check_stop()
            return
        until = time.monotonic() + seconds
        while True:
            self.check_withdrawn(item_id)
            self.check_stop()
            left = until - time.monotonic()
            if left <= 0:
                return
            self._wake.wait(min(left, WITHDRAW_CHECK_S))

    def check_withdrawn(self, item_id: str) -> None:
        with self._lock:
            gone = item_id in self._withdrawn
        if gone:
            raise ItemWithdrawn(item_id)

    # one step of one item ----------------------------------------------------------------------
    def step(self, step: Step) -> bool:
        """All attempts of one item's step under the shared rule (module docstring).

        True when the step's `settle` says it is done, False when the item ended blocked.
        Raises RunEnd when the run must end (stopped, or a failure of every item), and
        ItemWithdrawn when a person took the item away meanwhile.
        """
        item, phase = step.item, step.phase
        retries = Retries(phase, self.config.run.max_retries, self.config.run.backoff_s)
        while True:
            self.limits.wait()
            self.check_withdrawn(item.id)
            agent = self.quota.agent_for(item.id, phase)
            try:
                self._before_attempt()
                report = step.attempt(retries.last_error, agent)
            finally:
                self.quota.router.give_back(agent)
            self._count(report)
            if report.outcome == "limited" and report.limit is not None:
                # The account's limit: not an attempt that counts, not a failure, not the
                # item's. This very attempt repeats on the next agent with quota, or
                # after the reset.
                self._met_limit(report.limit, agent, item.id, phase)
                continue
            self.quota.router.met_none(agent)
            if retries.again_elsewhere(report.outcome):
                continue  # its node went away, not the agent: tried again, elsewhere
            # The run's business, never the item's: no retry burnt, nothing blocked.
            if report.outcome == "interrupted":
                self.check_withdrawn(item.id)  # only this item's agent was stopped
                raise RunEnd("stopped", exitcodes.INTERRUPTED)
            if report.global_failure:
                self.end_for_every_item(report.global_failure)
            result = report.result
            if report.outcome in ("complete", "progress") and result is not None:
                if step.settle(report, result):
                    return True
                retries.progressed()
                self.sleep(self.config.run.cooldown_s, item.id)
                continue
            if report.outcome == "blocked":
                step.block(report.reason or "blocked", result)
                return False
            # failed or timeout: retry with backoff, then block with the last reason.
            step.failed(report)
            blocked = retries.failed(report.reason)
            if blocked:
                step.block(blocked, None)
                return False
            self.sleep(retries.backoff, item.id)

    def work_step(self, item: Item, phase: str) -> None:
        """One item's triage or investigate step (in a worker thread of the scheduler);
        the run's end it meets is recorded, not raised: the scheduler ends with it."""
        from app.engine.steps import TriageStep  # steps.py needs the run's types, not this

        try:
            self.step(TriageStep(self, item, phase))
        except RunEnd:
            return  # stopped, or a failure of every item: the run ends with it
        except ItemWithdrawn:
            return  # a person deleted or moved it meanwhile
        except (TransitionError, UnknownItemError) as exc:
            self.leave(item.id, exc)

    def leave(self, item_id: str, why: Exception) -> None:
        """The one rule for an item that went from under the run (deleted, or moved by a
        person): said in a notice, and not taken again in this run."""
        self.notice("warning", f"{item_id}: {why}; leaving it")
        with self._lock:
            self._left.add(item_id)

    def _before_attempt(self) -> None:
        """Raise RunEnd when no further attempt may start."""
        self.check_stop()
        budget = self.max_cost_usd
        with self._lock:
            if self._ending is None and budget is not None and self.cost_usd >= budget:
                # Every lane ends here (the reason is written at the end, with the whole
                # spend); an attempt still running is stopped if it spends on.
                self._ending = RunEnd("budget reached", exitcodes.BUDGET)
            ending = self._ending
        if ending is not None:
            raise RunEnd(ending.reason, ending.exit_code)

    def _watch_spend(self, live_usd: float) -> None:
        """The attempts running now have spent `live_usd` so far (by their streams): once
        the run's spend with them reaches the budget, they are stopped and the run ends,
        so a runaway agent cannot spend on until its timeout."""
        budget = self.max_cost_usd
        if budget is None:
            return
        with self._lock:
            over = self._ending is None and self.cost_usd + live_usd >= budget
            if over:
                self._ending = RunEnd("budget reached", exitcodes.BUDGET)
        if over:
            self.notice("warning", f"the budget of {money(budget)} is reached while agents "
                                   f"run ({money(self.cost_usd + live_usd)} by their "
                                   "streams so far): stopping them")
            self.executor.stop()
            self._stop.set()
            self._wake.set()

    def _budget_reason(self) -> str:
        budget = self.max_cost_usd or 0.0
        return (f"budget reached: {money(self.cost_usd)} spent of {money(budget)} (the "
                "worklog's figures); the items stay where they were")

    # usage limits: an attempt goes to an agent with quota (quota.py), else waits --------------
    def agents_used(self) -> tuple[str, ...]:
        """Every agent this run may send an attempt to (its phases' chains), in order."""
        names: dict[str, None] = {}
        for phase in self.phases_used():
            names.update(dict.fromkeys(self.config.chain(phase)))
        return tuple(names)

    def phases_used(self) -> tuple[str, ...]:
        """The phases (and triage steps) this run may attempt."""
        return (*PHASES, *TRIAGE_STEPS)

    def _met_limit(self, limit: UsageLimit, agent: str, item_id: str, phase: str) -> None:
        """`agent` met a usage limit (quota.py)."""
        self.quota.met_limit(limit, agent, item_id, phase)

    def _count(self, report: AttemptReport) -> None:
        """One more attempt, as its worklog line has it."""
        with self._lock:
            self.attempts += 1
            self.limited += report.outcome == "limited"
            self.cost_usd += report.cost_usd or 0.0

    def end_for_every_item(self, reason: str) -> NoReturn:
        """A failure that hits every item alike (exit 4): every agent is stopped, no item
        blocked; RunEnd."""
        with self._lock:
            if self._ending is None:
                self._ending = RunEnd(reason, exitcodes.EVERY_ITEM)
        # Every other agent would fail the same way: stop them without blocking items.
        self.executor.stop()
        self._stop.set()
        self._wake.set()
        raise RunEnd(reason, exitcodes.EVERY_ITEM)


def title_of(run: RunSkeleton, item_id: str) -> str:
    """An item's title for a notification ("" when it cannot be read or is gone)."""
    try:
        item = run.store.load().by_id.get(item_id)
    except OrchestrateError:
        return ""
    return item.title if item is not None else ""
