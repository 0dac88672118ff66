"""The agent's own words decide what a failed attempt says and whether the run stops:
the CLI's `errors` list for max turns and budget, "Unable to connect to API" stops the
run once, and a credit balance that is too low says to add credits, not to wait."""

from __future__ import annotations

from app.engine.agent_process import ProcessOutcome
from app.engine.attempts import global_failure


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
