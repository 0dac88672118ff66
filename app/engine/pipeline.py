"""The headless engine: walk ready items through prd → research → design → spec → build →
review, one fresh agent process per phase attempt.

`Pipeline.run()` is blocking and holds the run lock for its whole duration. It
is safe in a worker thread (the board's): it installs no signal handlers; the
CLI's handlers call `request_stop()`. Everything that happens is reported on
the EventBus; every status/phase change goes through the state machine
(actions.move_in).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from app.backlog import states
from app.backlog.model import LEVELS, PHASES, SIZES, Item, level_rank
from app.backlog.store import Transaction
from app.engine import actions, spec
from app.engine.attempts import AttemptReport, AttemptRunner
from app.engine.checkpoint import Checkpointer
from app.engine.config import Config
from app.engine.events import EventBus, ItemChanged, Notice, RunFinished
from app.engine.project import Project
from app.engine.prompts import build_prompt
from app.engine.results import AgentResult
from app.engine.runlock import RunLock, clear_run_state
from app.engine.runstart import begin
from app.errors import OrchestrateError, TransitionError, UnknownItemError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_EVERY_ITEM = 4
EXIT_INTERRUPTED = 130


def within_guardrails(item: Item, config: Config) -> str | None:
    """None when the item may run autonomously, else why not (unknown counts as over)."""
    g = config.guardrails
    over = []
    if item.size not in SIZES or level_rank(item.size, SIZES) > level_rank(g.max_size, SIZES):
        over.append(f"size {item.size or 'unknown'} (max {g.max_size})")
    if item.risk not in LEVELS or level_rank(item.risk, LEVELS) > level_rank(g.max_risk,
                                                                              LEVELS):
        over.append(f"risk {item.risk or 'unknown'} (max {g.max_risk})")
    return "over the guardrails: " + ", ".join(over) if over else None


def apply_result_fields(tx: Transaction, item_id: str, result: AgentResult) -> list[Item]:
    """The assessment onto the item, and each follow-up as a new item; returns the new ones."""
    if result.assessment:
        tx.set(item_id, **result.assessment)
    added = []
    for follow in result.follow_ups:
        fields: dict[str, object] = {"origin": item_id}
        if follow.notes:
            fields["notes"] = follow.notes
        added.append(tx.add(follow.title, **fields))
    return added


class _Stop(Exception):
    """Ends the run loop with a RunFinished reason."""

    def __init__(self, reason: str, exit_code: int = EXIT_OK) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exit_code = exit_code


class Pipeline:
    """Runs ready items through the phases; see the module docstring."""

    def __init__(self, project: Project, bus: EventBus, *, target: str | None = None,
                 cap: int | None = None, config: Config | None = None) -> None:
        self.project = project
        self.bus = bus
        self.target = target.strip().upper() if target else None
        self.cap = cap
        self.config = config or project.config()
        self.store = project.store()
        """One store for the run: it re-parses BACKLOG.yaml only when its bytes change."""
        self._stop = threading.Event()
        self._pause = threading.Event()
        self._kill_now = threading.Event()
        self._wake = threading.Event()
        """Set by stop/pause so backoff and cooldown sleeps end at once."""
        self.attempts = 0
        self.cost_usd = 0.0
        self._failed_phases = 0
        self._skip: set[str] = set()
        self._told: set[str] = set()
        self.runner = AttemptRunner(project, self.config, bus, self._stop, self._kill_now)
        self.checkpoints: Checkpointer | None = None

    # control (any thread) ----------------------------------------------------------------------
    def request_pause(self) -> None:
        """Finish the current phase attempt, then stop (RunFinished reason `paused`)."""
        self._pause.set()
        self._wake.set()

    def request_stop(self) -> None:
        """Stop now: the agent's group gets TERM then KILL; the item stays resumable.

        A second call skips the grace period (the second Ctrl-C).
        """
        if self._stop.is_set():
            self._kill_now.set()
        self._stop.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # the run -------------------------------------------------------------------------------------
    def run(self) -> RunFinished:
        """Blocking: take the lock, work until no work is left or told to stop."""
        lock = RunLock(self.project)
        lock.acquire()  # LockHeldError propagates: the caller says "another run holds it"
        try:
            failure = begin(self.project, self.config, self.bus, "run")
            if failure:  # before any item moves: nothing to resume, nothing blocked
                finished = RunFinished(reason=failure, exit_code=EXIT_EVERY_ITEM)
                self.bus.emit(finished)
                return finished
            self.checkpoints = Checkpointer(self.project.root, self.config.run.checkpoint)
            if self.checkpoints.reason_off and self.config.run.checkpoint:
                self.notice("warning", self.checkpoints.reason_off)
            try:
                self._loop()
                finished = RunFinished(reason="no more work", exit_code=EXIT_OK)
            except _Stop as stop:
                finished = RunFinished(reason=stop.reason, exit_code=stop.exit_code)
            except OrchestrateError as exc:
                finished = RunFinished(reason=str(exc), exit_code=EXIT_ERROR)
            finished = RunFinished(reason=finished.reason, exit_code=finished.exit_code,
                                   attempts=self.attempts, cost_usd=round(self.cost_usd, 6))
            self.bus.emit(finished)
            return finished
        finally:
            clear_run_state(self.project)
            lock.release()

    def notice(self, level: str, text: str) -> None:
        self.bus.emit(Notice(level=level, text=text))

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise _Stop("stopped", EXIT_INTERRUPTED)
        if self._pause.is_set():
            raise _Stop("paused", EXIT_OK)

    def _sleep(self, seconds: float) -> None:
        """Sleep that ends at once on stop or pause."""
        if seconds > 0:
            self._wake.wait(seconds)
        self._check_stop()

    def _loop(self) -> None:
        first = True
        while True:
            self._check_stop()
            item = self._next_item()
            if item is None:
                if self.target and first:
                    self._explain_target()
                elif first:
                    self._explain_idle()
                return
            first = False
            self._work_item(item)

    # choosing work -----------------------------------------------------------------------------
    def _next_item(self) -> Item | None:
        backlog = self.store.load()
        done = {i.id for i in backlog.items if i.status == "done"}
        candidates = [i for i in backlog.items if i.id not in self._skip
                      and (self.target is None or i.id == self.target)]
        # Items already in progress (a resumed run) come first.
        for item in candidates:
            if item.status == "in_progress":
                return item
        for item in candidates:
            if item.status != "ready":
                continue
            waiting = [d for d in item.depends_on if d not in done]
            if waiting:
                self._tell_once(item.id + ":deps", "info",
                                f"{item.id} waits for {', '.join(waiting)} to be done")
                continue
            why = within_guardrails(item, self.config)
            if why:
                self._tell_once(item.id + ":guard", "info", f"{item.id} skipped: {why}")
                continue
            return item
        return None

    def _tell_once(self, key: str, level: str, text: str) -> None:
        if key not in self._told:
            self._told.add(key)
            self.notice(level, text)

    def _explain_target(self) -> None:
        backlog = self.store.load()
        item = backlog.get(self.target or "")
        if item.status not in states.RUNNABLE and item.id not in self._skip:
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
                added = apply_result_fields(tx, item_id, result)
            item = actions.move_in(tx, item_id, target, by_person=False, reason=reason)
        self.bus.emit(ItemChanged(item_id=item.id, status=item.status, phase=item.phase,
                                  reason=item.blocked_reason))
        for new in added:
            self.bus.emit(ItemChanged(item_id=new.id, status=new.status))
            self.notice("info", f"{item_id} asked for a follow-up: {new.id} {new.title}")
        return item

    def _apply_only(self, item_id: str, result: AgentResult) -> None:
        with self.store.transaction() as tx:
            added = apply_result_fields(tx, item_id, result)
        for new in added:
            self.bus.emit(ItemChanged(item_id=new.id, status=new.status))
            self.notice("info", f"{item_id} asked for a follow-up: {new.id} {new.title}")

    def _work_item(self, item: Item) -> None:
        try:
            if item.status == "ready":
                item = self._move(item.id, states.Target("in_progress", PHASES[0]))
            while item.status == "in_progress":
                phase = item.phase if item.phase in PHASES else PHASES[0]
                ok = self._run_phase(item, phase)
                item = self.store.load().get(item.id)
                if ok:
                    self._failed_phases = 0
                else:
                    self._failed_phases += 1
                    limit = self.config.run.circuit_breaker
                    if limit and self._failed_phases >= limit:
                        raise _Stop(f"circuit breaker: {self._failed_phases} phases in a row "
                                    "failed; look at the blocked items and the logs",
                                    EXIT_ERROR)
                    return
                if item.status == "in_progress":
                    self._sleep(self.config.run.cooldown_s)
        except (TransitionError, UnknownItemError) as exc:
            # Someone moved or deleted the item under us (the board, a person): leave it.
            self.notice("warning", f"{item.id}: {exc}; leaving it")
            self._skip.add(item.id)

    def _run_phase(self, item: Item, phase: str) -> bool:
        """All attempts of one phase; True when it completed, False when it ended blocked."""
        assert self.checkpoints is not None
        before = self.checkpoints.dirty() if self.checkpoints.active else set()
        failures = 0
        last_error: str | None = None
        while True:
            self._check_stop()
            if self.cap is not None and self.attempts >= self.cap:
                raise _Stop(f"cap reached ({self.cap} attempts)", EXIT_OK)
            item = self.store.load().get(item.id)
            report = self._attempt(item, phase, last_error)
            if report.outcome == "interrupted":
                raise _Stop("stopped", EXIT_INTERRUPTED)
            if report.global_failure:
                raise _Stop(report.global_failure, EXIT_EVERY_ITEM)
            result = report.result
            if report.outcome == "complete" and result is not None:
                nxt = states.next_phase(phase)
                target = states.Target("in_progress", nxt) if nxt else states.Target("done")
                self._move(item.id, target, result=result)
                self._checkpoint(item.id, phase, result.summary, before)
                return True
            if report.outcome == "progress" and result is not None:
                self._apply_only(item.id, result)
                self._checkpoint(item.id, phase, result.summary, before)
                failures = 0
                last_error = None
                self._sleep(self.config.run.cooldown_s)
                continue
            if report.outcome == "blocked":
                self._move(item.id, states.Target("blocked"), reason=report.reason or "blocked",
                           result=result)
                return False
            # failed or timeout: retry with backoff, then block with the last reason.
            if result is not None:
                self._apply_only(item.id, result)
            failures += 1
            last_error = report.reason
            if failures > self.config.run.max_retries:
                tries = failures
                reason = f"{phase} failed {tries} time{'s' if tries > 1 else ''}: {last_error}"
                self._move(item.id, states.Target("blocked"), reason=reason)
                return False
            self._sleep(failures * self.config.run.backoff_s)

    def _attempt(self, item: Item, phase: str, last_error: str | None) -> AttemptReport:
        attempt = self.runner.next_attempt(item.id, phase)
        result_file = (self.project.results_dir / f"{item.id}_{phase}_{attempt}.json").resolve()
        spec_phase = ""
        spec_tasks: tuple[str, ...] = ()
        if phase == "build":
            spec_path = self.project.root / item.change_dir / "SPEC.md"
            parsed = spec.load(spec_path)
            nxt = parsed.next_phase() if parsed else None
            if nxt is not None:
                spec_phase, spec_tasks = nxt.title, nxt.todo
            judge = _build_judge(spec_path, parsed.ticked if parsed else 0, item.change_dir)
        else:
            judge = _phase_judge(phase)
        prompt = build_prompt(item, phase, config=self.config,
                              prompts_dir=self.project.prompts_dir, result_file=result_file,
                              attempt=attempt, spec_phase=spec_phase, spec_tasks=spec_tasks,
                              last_error=last_error)
        report = self.runner.run(item, phase, attempt, prompt, judge=judge)
        self.attempts += 1
        if report.process is not None and report.process.cost_usd:
            self.cost_usd += report.process.cost_usd
        if report.result is not None:
            for warning in report.result.warnings:
                self.notice("warning", f"{item.id} {phase}: {warning}")
        return report

    def _checkpoint(self, item_id: str, phase: str, summary: str | None,
                    before: set[str]) -> None:
        assert self.checkpoints is not None
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


def _build_judge(spec_path: os.PathLike[str], ticked_before: int,
                 change_dir: str) -> Callable[[AgentResult], str | None]:
    """`progress` must tick at least one new SPEC box, so a build can never loop forever."""

    def judge(result: AgentResult) -> str | None:
        if result.result != "progress":
            return None
        after = spec.load(Path(spec_path))
        if after is None or after.ticked <= ticked_before:
            return f"answered progress but ticked no new task in {change_dir}/SPEC.md"
        return None

    return judge


def _phase_judge(phase: str) -> Callable[[AgentResult], str | None]:
    """Outside build, `progress` is not an answer."""

    def judge(result: AgentResult) -> str | None:
        if result.result == "progress":
            return f"answered progress, which only the build phase may (this is {phase})"
        return None

    return judge
