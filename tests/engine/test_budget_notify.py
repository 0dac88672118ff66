"""Budgets: no new attempt once the run has spent its budget (exit 5), and the
per-attempt budget handed to the agent. Notifications: `[notify] command` hears of
blocked and done items and of the run's end, as one JSON object each."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import stored_item
from engine_helpers import make_project, ready, worklog_entries

from app import exitcodes
from app.engine.config import DEFAULT_AGENT_COMMAND, AgentConfig, parse_config
from app.engine.events import EventBus
from app.engine.pipeline import Pipeline
from app.errors import ConfigError

APPEND = ("import sys, pathlib; p = pathlib.Path(sys.argv[1]); "
          "p.open('a').write(sys.stdin.read() + '\\n')")


def test_the_run_stops_at_its_budget_and_blocks_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready(), ready(title="Second")],
                           run={"max_cost_usd": 0.05, "checkpoint": False})
    finished = Pipeline(project, EventBus()).run()
    assert finished.exit_code == exitcodes.BUDGET
    costs = [e["cost_usd"] for e in worklog_entries(project)]
    # Attempts started while under the budget; none after it was reached.
    assert sum(costs[:-1]) < 0.05 <= sum(costs) == pytest.approx(finished.cost_usd)
    assert finished.attempts == len(costs)
    assert finished.reason == (f"budget reached: ${sum(costs):.2f} spent of $0.05 (the "
                               "worklog's figures); the items stay where they were")
    assert stored_item(project).status == "in_progress"  # resumable, not blocked
    assert stored_item(project, "WRK-002").status == "ready"


def test_max_cost_on_the_command_line_overrides_the_file(tmp_path: Path) -> None:
    import subprocess

    from conftest import CLI_ENV, ORCHESTRATE
    project = make_project(tmp_path / "p", [ready()], run={"max_cost_usd": 100})
    out = subprocess.run([*ORCHESTRATE, "-C", str(project.root), "run", "--max-cost", "0.01"],
                         capture_output=True, text=True, timeout=60,
                         env={**__import__("os").environ, **CLI_ENV})
    assert out.returncode == 5, out.stderr
    assert "orchestrate: run stopped: budget reached: $0.02 spent of $0.01" in out.stderr
    assert len(worklog_entries(project)) == 1  # one attempt ($0.02) spent it all


def test_the_attempt_budget_reaches_the_agent() -> None:
    agent = AgentConfig(max_cost_per_attempt_usd=2.5)
    assert agent.argv_template() == (*DEFAULT_AGENT_COMMAND, "--max-budget-usd", "2.5")
    assert AgentConfig().argv_template() == DEFAULT_AGENT_COMMAND
    own = AgentConfig(command=("my-agent", "--budget={max_budget_usd}", "{prompt}"),
                      max_cost_per_attempt_usd=0.5)
    assert own.argv_template() == ("my-agent", "--budget=0.5", "{prompt}")
    already = AgentConfig(command=("claude", "-p", "{prompt}", "--max-budget-usd", "1"),
                          max_cost_per_attempt_usd=3)
    assert already.argv_template() == already.command  # the person's own flag wins


def test_a_budget_placeholder_without_a_budget_is_refused_with_its_line() -> None:
    text = '[agent]\ncommand = ["x", "{prompt}", "--budget", "{max_budget_usd}"]\n'
    with pytest.raises(ConfigError, match=r"orchestrate.toml:2: agent.command uses "
                                          r"\{max_budget_usd\} but"):
        parse_config({"agent": {"command": ["x", "{prompt}", "--budget",
                                            "{max_budget_usd}"]}}, text)


def test_notify_hears_blocked_and_done_items_and_the_runs_end(tmp_path: Path) -> None:
    heard = tmp_path / "heard.jsonl"
    project = make_project(tmp_path / "p", [ready(title="Works"), ready(title="Stuck")],
                           script={"items": {"WRK-002": {"prd": {
                               "mode": "blocked", "reason": "which database?"}}}},
                           run={"checkpoint": False},
                           notify={"command": [sys.executable, "-c", APPEND, str(heard)]})
    finished = Pipeline(project, EventBus()).run()
    assert finished.exit_code == 0
    notes = [json.loads(line) for line in heard.read_text().splitlines() if line]
    by_event = {(n["event"], n["item_id"]): n for n in notes}
    done = by_event[("item_done", "WRK-001")]
    assert done["title"] == "Works" and done["project"] == str(project.root)
    blocked = by_event[("item_blocked", "WRK-002")]
    assert blocked["message"] == "WRK-002 blocked: which database?"
    assert blocked["title"] == "Stuck"
    (end,) = [n for n in notes if n["event"] == "run_finished"]
    assert end["item_id"] is None and end["message"].startswith("run finished: no more work")
