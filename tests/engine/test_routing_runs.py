"""Runs routed by quota, with real agent processes: the scripted agent as two (or three)
named agents, each with a script of its own. A limited agent's attempt goes to the next
agent of the chain with no pause; the run pauses only when every agent it may use is
limited, until the first reset; `--no-wait` then ends it naming each agent; a phase may
have an agent of its own; an agent's `max_parallel` holds across lanes; every agent's
command is checked before anything moves."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import stored_item
from engine_helpers import (
    AGENT,
    Background,
    lanes_project,
    make_project,
    notice_texts,
    ready,
    run_pipeline,
    worklog_entries,
    write_config,
)

from app import exitcodes
from app.engine.events import EventBus, PhaseStarted, RunPaused, RunResumed
from app.engine.limits import Pause, save_pause
from app.engine.pipeline import Pipeline
from app.engine.project import Project
from app.engine.routing import load_limits

FAST_LIMITS = {"resume_margin_s": 0.5, "retry_interval_s": 0.3, "retry_interval_max_s": 0.6}
LIMITED = {"mode": "usage_limit", "resets_in": 3600}


def agent(root: Path, name: str, script: dict[str, Any], **more: Any) -> dict[str, Any]:
    """`[agents.NAME]`: the scripted agent with a script of its own."""
    path = root / f"{name}-script.json"
    path.write_text(json.dumps(script), encoding="utf-8")
    return {"command": [*AGENT, "--script", str(path)], **more}


def agents_of(project: Project) -> list[tuple[str, str, str]]:
    return [(e["phase"], e["outcome"], e["agent"]) for e in worklog_entries(project)]


def test_a_limited_agent_s_attempt_goes_to_the_next_with_no_pause(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p", [ready()], script={"default": LIMITED},
        run={"fallback": ["default", "b"], "checkpoint": False}, limits=FAST_LIMITS,
        agents={"b": agent(tmp_path, "b", {"default": "complete"})})
    finished, rec = run_pipeline(project)
    assert (finished.exit_code, finished.reason) == (0, "no more work")
    assert stored_item(project).status == "done"
    # The limited attempt on default, then the same phase on b, and every later phase
    # on b while default is limited: nothing waited, nothing was blocked.
    assert agents_of(project) == [("prd", "limited", "default"), ("prd", "complete", "b"),
                                  *[(p, "complete", "b") for p in
                                    ("research", "design", "spec", "build", "review")]]
    assert not rec.of(RunPaused)
    assert [s.agent for s in rec.of(PhaseStarted)][:2] == ["default", "b"]
    (said,) = [t for t in notice_texts(rec) if "met a usage limit" in t]
    assert said.startswith("WRK-001 prd: default met a usage limit (You've hit your limit")
    assert said.endswith("its attempts go to b")
    # Remembered for the next run: it goes to b from its first attempt.
    assert load_limits(project.limits_path)["default"].resumes_at > time.time() + 3000
    with project.store().transaction() as tx:
        tx.add("Second", status="ready", size="small", complexity="low", risk="low")
    run_pipeline(project)
    assert {e["agent"] for e in worklog_entries(project) if e["item"] == "WRK-002"} == {"b"}


def test_the_run_pauses_only_when_every_agent_is_limited_until_the_first_reset(
        tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p", [ready()],
        script={"prd": {"1": {"mode": "usage_limit", "resets_in": 2}, "*": "complete"}},
        run={"fallback": ["default", "b"], "checkpoint": False}, limits=FAST_LIMITS,
        agents={"b": agent(tmp_path, "b", {"default": LIMITED})})
    finished, rec = run_pipeline(project)
    assert finished.exit_code == 0 and stored_item(project).status == "done"
    entries = agents_of(project)
    assert entries[:3] == [("prd", "limited", "default"), ("prd", "limited", "b"),
                           ("prd", "complete", "default")]
    assert {agent for _, _, agent in entries[2:]} == {"default"}  # b stays limited
    (paused,) = rec.of(RunPaused)
    # Until default's reset (2 s) plus the margin, not b's hour.
    assert paused.resumes_at < time.time() + 60
    assert paused.reason.startswith("default: You've hit your limit")
    assert "; b: You've hit your limit" in paused.reason
    assert rec.of(RunResumed)
    assert paused.resumes_at <= rec.of(PhaseStarted)[2].at


def test_no_wait_ends_the_run_naming_each_agent_and_its_reset(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p", [ready()], script={"default": LIMITED},
        run={"fallback": ["default", "b"]}, limits=FAST_LIMITS,
        agents={"b": agent(tmp_path, "b", {"default": {"mode": "usage_limit",
                                                          "resets_in": 7200}})})
    pipeline = Pipeline(project, EventBus())
    pipeline.wait_on_limit = False  # `run --no-wait`
    finished = pipeline.run()
    assert finished.exit_code == exitcodes.EVERY_ITEM
    assert finished.reason.startswith("usage limit of every agent: default (You've hit your ")
    assert "): it resets at " in finished.reason and "(in 1h00m)" in finished.reason
    assert "; b (You've hit your limit" in finished.reason and "(in 2h00m)" in finished.reason
    assert finished.reason.endswith("nothing was blocked: run again once one has reset")
    item = stored_item(project)
    assert (item.status, item.phase) == ("in_progress", "prd")  # resumable, not blocked


def test_a_phase_goes_to_its_own_agent_and_agents_lists_them(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p", [ready()], run={"checkpoint": False}, phases={"review": "reviewer"},
        agents={"reviewer": agent(tmp_path, "reviewer", {"default": "complete"})})
    finished, _ = run_pipeline(project)
    assert finished.exit_code == 0
    assert [(phase, agent) for phase, _, agent in agents_of(project)] == [
        ("prd", "default"), ("research", "default"), ("design", "default"),
        ("spec", "default"), ("build", "default"), ("review", "reviewer")]
    review = worklog_entries(project)[-1]
    assert review["kind"] == "claude" and review["cost_usd"] > 0
    assert review["input_tokens"] > 0 and review["output_tokens"] > 0
    # `orchestrate agents --json`, as a person would ask after the night.
    done = subprocess.run([sys.executable, "-m", "app.main", "-C", str(project.root),
                           "agents", "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    listed = {a["name"]: a for a in json.loads(done.stdout)["agents"]}
    assert listed["default"]["total"]["attempts"] == 5
    assert listed["reviewer"]["total"]["attempts"] == 1
    assert listed["reviewer"]["first_for"] == ["review"]
    assert listed["reviewer"]["cli"]["version"].endswith("(scripted agent)")
    assert listed["default"]["this_run"] is None  # no run is going on
    shown = subprocess.run([sys.executable, "-m", "app.main", "-C", str(project.root),
                            "show", "WRK-001"], capture_output=True, text=True, timeout=60)
    assert "Review #1  reviewer  complete" in shown.stdout


def record_script(folder: Path) -> dict[str, Any]:
    """Every phase completes after a pause, stamping when it began and ended."""
    folder.mkdir(parents=True, exist_ok=True)
    return {"default": {"mode": "complete", "sleep": 0.6, "record": str(folder)}}


def spans(folder: Path) -> list[tuple[float, float]]:
    return sorted((float(start.read_text()), float(start.with_suffix(".end").read_text()))
                  for start in folder.glob("*.start"))


def overlapping(spans_: list[tuple[float, float]]) -> bool:
    return any(b_start < a_end for (_, a_end), (b_start, _) in itertools.pairwise(spans_))


@pytest.mark.parametrize("fallback", [False, True], ids=["waits-for-its-slot", "falls-back"])
def test_an_agent_s_max_parallel_holds_across_lanes(tmp_path: Path, fallback: bool) -> None:
    mine, theirs = tmp_path / "default-spans", tmp_path / "b-spans"
    project = lanes_project(
        tmp_path / "p", 2, record_script(mine), parallel=2,
        run={"fallback": ["default", "b"] if fallback else []},
        agent={"max_parallel": 1}, agents={"b": agent(tmp_path, "b", record_script(theirs))})
    finished, _ = run_pipeline(project)
    assert finished.exit_code == 0
    assert all(stored_item(project, f"WRK-00{i}").status == "done" for i in (1, 2))
    assert not overlapping(spans(mine))  # never two attempts on default at once
    used = {e["agent"] for e in worklog_entries(project)}
    assert used == ({"default", "b"} if fallback else {"default"})


def test_every_agent_the_run_may_use_is_checked_before_anything_moves(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], run={"fallback": ["default", "codex"]},
                           agents={"codex": {"kind": "codex",
                                               "command": ["no-such-codex", "{prompt}"]}})
    finished, rec = run_pipeline(project)
    assert finished.exit_code == exitcodes.EVERY_ITEM
    assert finished.reason.startswith("agent 'codex': its command not found: 'no-such-codex'")
    assert "npm install -g @openai/codex" in finished.reason
    assert stored_item(project).status == "ready" and not rec.of(PhaseStarted)


def test_an_agent_the_run_does_not_use_is_not_checked(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], run={"checkpoint": False},
                           agents={"spare": {"kind": "gemini",
                                               "command": ["no-such-gemini", "{prompt}"]}})
    finished, _ = run_pipeline(project)
    assert finished.exit_code == 0 and stored_item(project).status == "done"


def test_a_kept_pause_is_not_waited_for_when_an_agent_of_the_run_is_free(
        tmp_path: Path) -> None:
    """A run paused with every agent limited; then a person adds another agent: the next
    run goes to it at once instead of waiting out the kept pause."""
    project = make_project(tmp_path / "p", [ready()], script={"default": LIMITED},
                           run={"checkpoint": False}, limits=FAST_LIMITS)
    pipeline = Pipeline(project, EventBus())
    pipeline.wait_on_limit = False
    assert pipeline.run().exit_code == exitcodes.EVERY_ITEM
    save_pause(project.pause_path, Pause(time.time() + 3600, "You've hit your limit", True))
    config = project.config()  # as it was, plus agent b in the chain
    write_config(project, {
        "agent": {"command": list(config.agent.command), "phase_timeout_s": 20},
        "run": {"checkpoint": False, "fallback": ["default", "b"], "backoff_s": 0,
                "cooldown_s": 0},
        "limits": FAST_LIMITS,
        "agents.b": agent(tmp_path, "b", {"default": "complete"})})
    with Background(project) as run:  # (a wait for the kept pause would fail, not hang)
        finished = run.finish(timeout=30)
    assert finished.exit_code == 0 and not run.rec.of(RunPaused)
    assert [(e["outcome"], e["agent"]) for e in worklog_entries(project)][:3] == [
        ("limited", "default"), ("complete", "b"), ("complete", "b")]
    assert not project.pause_path.exists()
