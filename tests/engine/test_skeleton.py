"""The skeleton Pipeline and Triage share, on its own: scripted attempt reports instead of
agent processes, so each rule of a step and of a run is seen in isolation (the engines'
own tests prove the same rules with real agents)."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import Recorder, make_project, ready

from app.backlog.model import Item
from app.engine.events import EventBus, RunFinished, RunStarted
from app.engine.executor import AgentResult, AttemptReport
from app.engine.pipeline import Pipeline
from app.engine.project import Project
from app.engine.runlock import RunLock
from app.engine.skeleton import Retries, RunEnd, RunSkeleton
from app.engine.steps import Step
from app.engine.triage import Triage
from app.errors import BacklogError


def answer(outcome: str, reason: str | None = None, *, cost: float | None = None,
           global_failure: str | None = None) -> AttemptReport:
    result = None
    if outcome in ("complete", "progress", "blocked"):
        result = AgentResult(item_id="WRK-001", phase="prd", result=outcome,
                             blocked_reason=reason)
    return AttemptReport(outcome, reason, result=result, global_failure=global_failure,
                         cost_usd=cost, exit_code=0)


class ScriptedStep(Step):
    """WRK-001's prd, whose attempts answer from the run's list."""

    def __init__(self, run: Scripted, item: Item) -> None:
        super().__init__(item, "prd")
        self.run = run

    def attempt(self, last_error: str | None, agent: str = "default") -> AttemptReport:
        self.run.last_errors.append(last_error)
        return self.run.answers.pop(0)

    def settle(self, report: AttemptReport, result: AgentResult) -> bool:
        self.run.settled.append(report.outcome)
        return report.outcome == "complete"

    def block(self, reason: str, result: AgentResult | None) -> None:
        self.run.blocked.append((self.item.id, reason, result))

    def failed(self, report: AttemptReport) -> None:
        self.run.failed.append(report.reason)


class Scripted(RunSkeleton):
    """A run whose attempts answer from a list, and which records what it was told."""

    kind = "run"

    def __init__(self, project: Project, answers: list[AttemptReport]) -> None:
        super().__init__(project, EventBus(), None)
        self.answers = list(answers)
        self.last_errors: list[str | None] = []
        self.blocked: list[tuple[str, str, AgentResult | None]] = []
        self.failed: list[str | None] = []
        self.settled: list[str] = []
        self.done: bool | None = None

    def _work(self) -> None:
        self.done = self.step(ScriptedStep(self, self.store.load().get("WRK-001")))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path / "p", [ready()], run={"max_retries": 2, "backoff_s": 0,
                                                        "cooldown_s": 0})


def test_retries_count_back_off_and_then_name_the_last_reason() -> None:
    retries = Retries("prd", max_retries=2, backoff_s=15)
    assert retries.failed("first") is None and retries.backoff == 15
    assert retries.failed("second") is None and retries.backoff == 30
    assert retries.last_error == "second"
    assert retries.failed("third") == "prd failed 3 times: third"
    once = Retries("triage", max_retries=0, backoff_s=1)
    assert once.failed("crashed") == "triage failed 1 time: crashed"
    retries.progressed()
    # Typed afresh: the asserts above narrowed last_error to str, progressed() resets it.
    state: tuple[int, str | None, float] = (retries.failures, retries.last_error,
                                            retries.backoff)
    assert state == (0, None, 0)


def test_failures_are_retried_with_the_last_reason_until_an_answer_settles(
        project: Project) -> None:
    run = Scripted(project, [answer("failed", "one", cost=0.5), answer("timeout", "two"),
                             answer("complete", cost=0.25)])
    finished = run.run()
    assert run.done is True and run.settled == ["complete"] and not run.blocked
    assert run.last_errors == [None, "one", "two"]
    assert run.failed == ["one", "two"]
    assert (finished.reason, finished.exit_code, finished.attempts, finished.cost_usd) == (
        "no more work", 0, 3, 0.75)


def test_retries_exhausted_block_the_item_with_the_last_reason(project: Project) -> None:
    run = Scripted(project, [answer("failed", f"try {n}") for n in (1, 2, 3)])
    finished = run.run()
    assert run.done is False
    assert run.blocked == [("WRK-001", "prd failed 3 times: try 3", None)]
    assert finished.exit_code == 0 and finished.attempts == 3


def test_progress_forgets_the_failures_before_it(project: Project) -> None:
    run = Scripted(project, [answer("failed", "a"), answer("failed", "b"),
                             answer("progress"), answer("failed", "c"), answer("failed", "d"),
                             answer("complete")])
    run.run()
    assert run.done is True and not run.blocked
    assert run.last_errors == [None, "a", "b", None, "c", "d"]


def test_a_blocked_answer_blocks_at_once_with_its_fields(project: Project) -> None:
    run = Scripted(project, [answer("blocked", "which database?")])
    run.run()
    ((item_id, reason, result),) = run.blocked
    assert (item_id, reason) == ("WRK-001", "which database?")
    assert result is not None and result.result == "blocked"
    assert run.done is False and not run.failed


def test_an_interrupted_attempt_ends_the_run_as_stopped(project: Project) -> None:
    run = Scripted(project, [answer("interrupted", "stopped by the person")])
    finished = run.run()
    assert (finished.reason, finished.exit_code, finished.attempts) == ("stopped", 130, 1)
    assert not run.blocked and not run.failed


def test_an_every_item_failure_ends_the_run_stops_every_lane_and_blocks_nothing(
        project: Project) -> None:
    run = Scripted(project, [answer("failed", "x", global_failure="not logged in")] * 4)
    rec = Recorder(run.bus)
    finished = run.run()
    assert (finished.reason, finished.exit_code, finished.attempts) == ("not logged in", 4, 1)
    assert not run.blocked and not run.failed
    assert run._stop.is_set()  # the other lanes' agents are stopped, not blocked
    assert isinstance(rec.events[0], RunStarted) and rec.of(RunFinished) == [finished]


def test_the_first_every_item_failure_outranks_the_stop_it_causes(project: Project) -> None:
    run = Scripted(project, [])
    for reason in ("not logged in", "usage limit"):
        with pytest.raises(RunEnd):
            run.end_for_every_item(reason)
    with pytest.raises(RunEnd) as ended:
        run.end_if_ended()
    assert (ended.value.reason, ended.value.exit_code) == ("not logged in", 4)


def test_a_person_facing_error_ends_the_run_with_exit_1_and_frees_the_lock(
        project: Project) -> None:
    class Broken(Scripted):
        def _work(self) -> None:
            raise BacklogError("BACKLOG.yaml:3:1: bad")

    finished = Broken(project, []).run()
    assert (finished.reason, finished.exit_code) == ("BACKLOG.yaml:3:1: bad", 1)
    assert not project.run_state_path.exists()
    with RunLock(project):  # released: a new run may start
        pass


def test_both_engines_are_the_skeleton(project: Project) -> None:
    bus = EventBus()
    assert isinstance(Pipeline(project, bus), RunSkeleton)
    assert isinstance(Triage(project, bus), RunSkeleton)
    assert (Pipeline.kind, Triage.kind) == ("run", "triage")
