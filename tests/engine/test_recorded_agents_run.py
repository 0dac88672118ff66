"""Runs with the agent kinds whose real CLI the tests do not install (OpenCode, Amp):
a stand-in (tests/replay_agent.py) prints what the real CLI printed in a capture of
../shared/samples, and the run reads it as it reads the real one: its cost and tokens in
the worklog with the agent's kind, its quota a usage limit that sends the attempt to the
next agent of the chain."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import stored_item
from engine_helpers import AGENT, make_project, ready, run_pipeline, worklog_entries

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO.parent / "shared" / "samples"
REPLAY = str(REPO / "tests" / "replay_agent.py")

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(),
                                reason=f"the real CLIs' samples are not at {SAMPLES}")


def replaying(capture: Path) -> list[str]:
    return [sys.executable, REPLAY, str(capture), "{prompt}"]


def test_opencode_steps_are_an_item_s_phases_with_their_cost(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], run={"checkpoint": False},
                           command=replaying(SAMPLES / "opencode-1.18.33" / "phase"),
                           agent={"kind": "opencode"})
    finished, _ = run_pipeline(project, cap=2)
    assert finished.exit_code == 0, finished.reason
    entries = worklog_entries(project)
    assert [(e["phase"], e["outcome"], e["kind"]) for e in entries] == [
        ("prd", "complete", "opencode"), ("research", "complete", "opencode")]
    # The steps' own costs and tokens, as opencode reported them: not reckoned by us.
    assert all(e["cost_usd"] > 0 and not e["cost_estimated"] for e in entries)
    assert all(e["input_tokens"] > 0 and e["output_tokens"] > 0 for e in entries)
    assert finished.cost_usd == pytest.approx(sum(e["cost_usd"] for e in entries))


def test_an_opencode_quota_sends_the_attempt_to_the_next_agent(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], run={"checkpoint": False,
                                                          "fallback": ["default", "claude"]},
                           command=replaying(SAMPLES / "opencode-1.18.33" / "quota"),
                           agent={"kind": "opencode"},
                           agents={"claude": {"command": AGENT}})
    finished, _ = run_pipeline(project, cap=3)
    assert finished.exit_code == 0, finished.reason
    assert [(e["phase"], e["outcome"], e["agent"]) for e in worklog_entries(project)] == [
        ("prd", "limited", "default"), ("prd", "complete", "claude"),
        ("research", "complete", "claude"), ("design", "complete", "claude")]
    assert stored_item(project).status == "in_progress"


def test_amp_speaks_claude_s_stream(tmp_path: Path) -> None:
    capture = SAMPLES / "claude-2.1.197" / "tools-thinking-errors.jsonl"
    project = make_project(tmp_path / "p", [ready()], run={"checkpoint": False},
                           command=replaying(capture), agent={"kind": "amp"})
    finished, _ = run_pipeline(project, cap=1)
    assert finished.exit_code == 0, finished.reason
    (entry,) = worklog_entries(project)
    assert (entry["outcome"], entry["agent"], entry["kind"]) == ("complete", "default", "amp")
    assert entry["cost_usd"] == 0.048 and entry["num_turns"] > 1
    assert (entry["input_tokens"], entry["output_tokens"]) == (7200, 480)
