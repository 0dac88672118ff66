"""The agent's own words decide what a failed attempt says and whether the run stops:
the CLI's `errors` list for max turns and budget, "Unable to connect to API" stops the
run once, and a credit balance that is too low says to add credits, not to wait."""

from __future__ import annotations

from pathlib import Path

from engine_helpers import Recorder, make_project, ready

from app.engine.attempts import global_failure
from app.engine.events import AgentOutput, EventBus, Notice, PhaseFinished, RunPaused
from app.engine.outcome import ProcessOutcome
from app.engine.pipeline import Pipeline


def outcome(**result: object) -> ProcessOutcome:
    return ProcessOutcome(exit_code=1, final_event={"type": "result", "is_error": True,
                                                    **result})


def test_an_error_result_is_told_by_its_errors_list_not_its_subtype() -> None:
    out = outcome(subtype="error_max_turns", errors=["Reached maximum number of turns (2)"])
    assert out.error_text == "Reached maximum number of turns (2)"
    assert out.failure_reason() == "Reached maximum number of turns (2)"
    assert global_failure(out) is None  # the item's attempt failed; the run goes on


def test_unable_to_connect_to_the_api_stops_the_run_once() -> None:
    out = outcome(subtype="success", result="API Error: Unable to connect to API "
                                            "(ConnectionRefused)")
    said = global_failure(out)
    assert said is not None and said.startswith("the agent cannot reach the API (API Error: "
                                                "Unable to connect to API")
    assert "ANTHROPIC_BASE_URL" in said


def test_a_low_credit_balance_says_to_add_credits() -> None:
    said = global_failure(outcome(api_error_status=400, result="Credit balance is too low"))
    assert said is not None and "add credits" in said and "waiting will not help" in said


# --- the same, end to end with the scripted agent speaking each signal -------------------
def test_each_signal_of_the_cli_through_a_real_run(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready(), ready(title="Second")],
                           run={"checkpoint": False, "max_retries": 0},
                           script={"items": {
                               "WRK-001": {"prd": {"mode": "complete", "limit_warning": 0.93,
                                                   "retries": 2},
                                           "research": "max_turns"},
                               "WRK-002": {"default": "complete"}}})
    bus = EventBus()
    rec = Recorder(bus)
    finished = Pipeline(project, bus).run()
    assert finished.exit_code == 0
    said = [n.text for n in rec.of(Notice)]
    # allowed_warning: a notice, never a pause.
    assert "WRK-001 prd: five-hour limit nearly reached (93% used)" in said
    assert not rec.of(RunPaused)
    lines = [line for out in rec.of(AgentOutput) for line in out.lines]
    assert [s.text for s in lines if s.kind == "retry"] == [
        "API retry 1/10 in 0 s (529 overloaded)", "API retry 2/10 in 1 s (529 overloaded)"]
    # max turns: the CLI's words are the reason the item is blocked with.
    item = project.store().load().get("WRK-001")
    assert item.status == "blocked"
    assert item.blocked_reason == ("research failed 1 time: the agent wrote no result file: "
                                   "Reached maximum number of turns (2)")
    assert project.store().load().get("WRK-002").status == "done"


def test_no_connection_to_the_api_stops_the_run_once(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready(), ready(title="Second")],
                           script={"default": "no_api"}, run={"max_retries": 3})
    bus = EventBus()
    rec = Recorder(bus)
    finished = Pipeline(project, bus).run()
    assert finished.exit_code == 4
    assert finished.reason.startswith("the agent cannot reach the API (API Error: Unable to "
                                      "connect to API (ConnectionRefused))")
    assert len(rec.of(PhaseFinished)) == 1  # stopped once: no retries, no second item
    assert project.store().load().get("WRK-001").status == "in_progress"
