"""What an attempt spent and why it failed, read from what the real CLI prints
(../shared/samples): tokens priced when no result line says the cost, a permission denial
or a last failing tool call as the reason, and a budget that stops a runaway agent."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, stored_item
from engine_helpers import make_project, ready, worklog_entries

from app import exitcodes
from app.engine.agent_process import AgentProcess, AttemptSpec
from app.engine.events import EventBus
from app.engine.pipeline import Pipeline
from app.engine.pricing import DEAREST, price_of
from app.engine.usage import UsageMeter

SAMPLES = REPO.parent / "shared" / "samples" / "claude-2.1.197"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(),
                                   reason=f"the real CLI's samples are not at {SAMPLES}")


def events(name: str) -> list[dict[str, Any]]:
    lines = (SAMPLES / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def estimate_and_figure(name: str) -> tuple[float, float]:
    """What the stream's tokens cost, and what the CLI's result line says."""
    meter = UsageMeter()
    final = None
    for event in events(name):
        if event["type"] == "result":
            final = event
        else:
            meter.feed(event)
    assert final is not None
    estimate = meter.cost_usd()
    assert estimate is not None
    return estimate, final["total_cost_usd"]


@needs_samples
@pytest.mark.parametrize("name", ["max-turns.jsonl", "max-budget.jsonl"])
def test_a_runaways_tokens_priced_by_the_init_lines_model_are_the_clis_own_cost(
        name: str) -> None:
    estimate, figure = estimate_and_figure(name)
    assert estimate == pytest.approx(figure, rel=0.01)


@needs_samples
@pytest.mark.parametrize("name", ["tools-thinking-errors.jsonl", "subagent.jsonl",
                                  "permission-denied.jsonl", "mcp-tool-call.jsonl"])
def test_a_short_attempts_estimate_is_within_a_factor_of_two_below_the_clis_cost(
        name: str) -> None:
    # The stream shows each message's usage as the API began it (output not yet counted)
    # and not every subagent call: an estimate errs low on small attempts, where output
    # weighs; on the attempts a budget must stop (above) input dominates.
    estimate, figure = estimate_and_figure(name)
    assert figure / 2 <= estimate <= figure * 1.05


def test_a_model_the_table_does_not_know_is_priced_at_the_dearest_row() -> None:
    assert price_of("claude-opus-4-8[1m]") == (price_of("claude-opus-4-5")[0], True)
    assert price_of("claude-opus-4-20250514")[0].input == 15
    assert price_of("claude-sonnet-4-5-20250929")[0].input == 3
    assert price_of("some-new-model") == (DEAREST, False)


def test_a_messages_lines_count_once_and_its_written_content_counts_as_output() -> None:
    meter = UsageMeter()
    meter.feed({"type": "system", "subtype": "init", "model": "claude-sonnet-4-5"})
    block = {"type": "text", "text": "x" * 4000}
    for _ in range(3):  # one message printed as three lines (one per content block)
        meter.feed({"type": "assistant", "message": {
            "id": "msg_1", "content": [block],
            "usage": {"input_tokens": 1000, "output_tokens": 1,
                      "cache_read_input_tokens": 10_000}}})
    total = meter.total()
    assert (total.input, total.cache_read) == (1000, 10_000)
    assert total.output == 3 * 4000 // 4  # the three blocks' text, not "1" three times
    assert meter.cost_usd() == pytest.approx((1000 * 3 + 3000 * 15 + 10_000 * 0.3) / 1e6)


def _replay_spec(tmp_path: Path, sample: Path) -> AttemptSpec:
    """An agent that prints a real CLI's output and writes no result file."""
    replay = f"import sys; sys.stdout.write(open({str(sample)!r}).read())"
    return AttemptSpec(command=(sys.executable, "-c", replay, "{prompt}"), prompt="p",
                       cwd=tmp_path, item_id="WRK-001", phase="prd", attempt=1,
                       change_dir="changes/x",
                       result_path=tmp_path / "results" / "WRK-001_prd_1.json",
                       log_path=tmp_path / "logs" / "WRK-001_prd_1.log",
                       timeout_s=20, kill_grace_s=0.5)


@needs_samples
def test_a_permission_denial_is_why_the_agent_wrote_no_result(tmp_path: Path) -> None:
    out = AgentProcess(_replay_spec(tmp_path, SAMPLES / "permission-denied.jsonl")).run()
    assert out.exit_code == 0
    assert out.failure_reason() == (
        "the agent's permission mode denied Write /home/user/project/out.txt (give it the "
        "permission in agent.command, or another --permission-mode)")
    assert out.cost_usd == 0.016 and not out.cost_estimated  # the result line's figure


def test_a_tool_call_that_failed_last_is_the_reason(tmp_path: Path) -> None:
    lines = [
        {"type": "user", "message": {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "a", "content": "ok", "is_error": False}]}},
        {"type": "user", "message": {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "b", "is_error": True,
             "content": "EACCES: permission denied, open 'out.json'"}]}},
        {"type": "assistant", "message": {"content": [{"type": "text", "text": "Stuck."}]}},
    ]
    stream = tmp_path / "stream.jsonl"
    stream.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = AgentProcess(_replay_spec(tmp_path, stream)).run()
    assert out.failure_reason() == ("its last tool call failed: EACCES: permission denied, "
                                    "open 'out.json'")
    # A tool call that succeeded after the failure: the failure was dealt with.
    stream.write_text("".join(json.dumps(line) + "\n" for line in [lines[1], lines[0]]))
    out = AgentProcess(_replay_spec(tmp_path, stream)).run()
    assert out.failure_reason() == "the agent exited with code 0"


RUNAWAY = {"mode": "runaway", "model": "claude-opus-4-8[1m]", "tokens": 400_000,
           "every": 0.1}
"""$2.00 a message at Opus 4.8's $5 per million input tokens, ten messages a second."""


def test_a_runaway_agent_is_stopped_by_the_budget_while_it_runs(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"default": RUNAWAY},
                           run={"max_cost_usd": 5.0, "checkpoint": False},
                           agent={"phase_timeout_s": 60})
    finished = Pipeline(project, EventBus()).run()
    assert finished.exit_code == exitcodes.BUDGET, finished.reason
    [entry] = worklog_entries(project)
    assert entry["outcome"] == "interrupted" and entry["cost_estimated"] is True
    # Spend is looked at every 0.5 s: stopped within a few $2 messages of the budget.
    assert 5.0 <= entry["cost_usd"] < 18.0
    assert entry["duration_s"] < 30  # long before its 60 s timeout
    assert finished.cost_usd == entry["cost_usd"]
    assert finished.reason.startswith(f"budget reached: ${entry['cost_usd']:.2f} spent of $5.00")
    assert stored_item(project).status == "in_progress"  # resumable, not blocked


def test_an_attempt_that_times_out_costs_what_its_stream_spent(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"default": RUNAWAY},
                           run={"checkpoint": False, "max_retries": 0},
                           agent={"phase_timeout_s": 1})
    finished = Pipeline(project, EventBus()).run()
    [entry] = worklog_entries(project)
    assert entry["outcome"] == "timeout" and entry["cost_estimated"] is True
    assert entry["cost_usd"] >= 2.0  # at least one $2 message before the timeout
    assert finished.cost_usd == entry["cost_usd"]  # counted, not $0
