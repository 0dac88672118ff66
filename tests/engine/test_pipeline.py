"""The pipeline end to end with real scripted agent processes, real files and real git."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import stored_item
from engine_helpers import Recorder, make_project, ready, run_git, wait_for, worklog_entries

from app import exitcodes
from app.backlog.model import PHASES
from app.engine.events import (
    AgentOutput,
    EventBus,
    ItemChanged,
    Notice,
    PhaseFinished,
    PhaseStarted,
    RunFinished,
    RunStarted,
)
from app.engine.pipeline import Pipeline
from app.engine.project import Project


def run(project: Project, **kwargs: Any) -> tuple[RunFinished, Recorder]:
    bus = EventBus()
    recorder = Recorder(bus)
    finished = Pipeline(project, bus, **kwargs).run()
    return finished, recorder


def test_a_ready_item_walks_every_phase_to_done_with_a_checkpoint_each(
        tmp_path: Path, executor_kind: str) -> None:
    project = make_project(tmp_path / "p", [ready()], git=True)
    finished, rec = run(project)
    assert (finished.reason, finished.exit_code, finished.attempts) == ("no more work", 0, 6)
    assert stored_item(project).status == "done"
    subjects = run_git(project.root, "log", "--format=%s").splitlines()
    assert subjects[:6] == [f"[WRK-001][{p.upper()}] {p} done for WRK-001" if p != "build"
                            else "[WRK-001][BUILD] build finished" for p in reversed(PHASES)]
    change = project.root / "changes" / "WRK-001_add-login-page"
    assert {f.name for f in change.iterdir()} >= {"PRD.md", "RESEARCH.md", "DESIGN.md",
                                                  "SPEC.md", "REVIEW.md"}
    assert "- [ ]" not in (change / "SPEC.md").read_text()
    # events: started, one PhaseStarted/Finished per phase with log path and pid, changes
    assert isinstance(rec.events[0], RunStarted) and isinstance(rec.events[-1], RunFinished)
    started = rec.of(PhaseStarted)
    assert [s.phase for s in started] == list(PHASES)
    assert all(Path(s.log_path).is_file() for s in started)
    assert executor_kind == "inprocess" or all(s.pid > 0 for s in started)  # no process
    assert [f.outcome for f in rec.of(PhaseFinished)] == ["complete"] * 6
    assert all(f.cost_usd and f.num_turns for f in rec.of(PhaseFinished))
    assert [(c.status, c.phase) for c in rec.of(ItemChanged)] == [
        ("in_progress", p) for p in PHASES] + [("done", None)]
    assert rec.of(AgentOutput)
    entries = worklog_entries(project)
    assert [(e["phase"], e["attempt"], e["outcome"]) for e in entries] == [
        (p, 1, "complete") for p in PHASES]
    assert all(e["cost_usd"] and e["num_turns"] for e in entries)
    assert not project.run_state_path.exists()


def test_failed_attempt_is_retried_then_succeeds(tmp_path: Path) -> None:
    script = {"prd": {"1": {"mode": "failed", "reason": "tests failed"}, "2": "complete"}}
    project = make_project(tmp_path / "p", [ready()], script=script)
    finished, rec = run(project, cap=2)
    assert finished.reason == "cap reached (2 attempts)"
    assert [(f.attempt, f.outcome, f.reason) for f in rec.of(PhaseFinished)] == [
        (1, "failed", "tests failed"), (2, "complete", None)]
    assert stored_item(project).phase == "research"


def test_retries_exhausted_blocks_with_the_last_reason(tmp_path: Path) -> None:
    script = {"prd": {"mode": "failed", "reason": "cannot parse the spec"}}
    project = make_project(tmp_path / "p", [ready()], script=script,
                           run={"max_retries": 2})
    finished, rec = run(project)
    assert [f.outcome for f in rec.of(PhaseFinished)] == ["failed"] * 3
    it = stored_item(project)
    assert it.status == "blocked" and it.blocked_from == "in_progress" and it.phase == "prd"
    assert it.blocked_reason == "prd failed 3 times: cannot parse the spec"
    assert finished.exit_code == exitcodes.ALL_BLOCKED  # nothing moved forward


def test_blocked_answer_blocks_at_once_with_the_agents_reason(tmp_path: Path) -> None:
    script = {"design": {"mode": "blocked", "reason": "SQLite or Postgres?"}}
    project = make_project(tmp_path / "p", [ready()], script=script)
    _, rec = run(project)
    assert [f.outcome for f in rec.of(PhaseFinished)][-1] == "blocked"
    assert len([f for f in rec.of(PhaseFinished) if f.phase == "design"]) == 1
    it = stored_item(project)
    assert (it.status, it.phase, it.blocked_reason) == ("blocked", "design",
                                                       "SQLite or Postgres?")
    assert rec.of(ItemChanged)[-1].reason == "SQLite or Postgres?"


@pytest.mark.parametrize(("mode", "reason"), [
    ("garbage", "the result file is not valid JSON"),
    ("no_result", "the agent wrote no result file: the agent exited with code 0"),
    ("wrong_id", "the result file is for item 'ZZZ-999', not WRK-001"),
    ("crash", "the agent wrote no result file: Traceback"),
])
def test_unusable_results_are_failed_attempts_with_a_reason(tmp_path: Path, mode: str,
                                                            reason: str) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"prd": mode},
                           run={"max_retries": 0})
    finished, rec = run(project)
    (fin,) = rec.of(PhaseFinished)
    assert fin.outcome == "failed" and reason in (fin.reason or "")
    it = stored_item(project)
    assert it.status == "blocked" and reason in (it.blocked_reason or "")
    assert finished.exit_code == exitcodes.ALL_BLOCKED  # nothing moved forward
    assert worklog_entries(project)[0]["outcome"] == "failed"


@pytest.mark.local_only  # an agent process of its own
@pytest.mark.parametrize(("mode", "words"), [
    ("not_logged_in", "Not logged in · Please run /login"),
    ("rate_limited", "rate limit exceeded"),
    ("refuse_root", "root/sudo"),
])
def test_a_failure_that_hits_every_item_stops_the_run_without_blocking(
        tmp_path: Path, mode: str, words: str) -> None:
    project = make_project(tmp_path / "p", [ready(), ready(title="Second")],
                           script={"default": mode}, run={"max_retries": 3})
    finished, rec = run(project)
    assert finished.exit_code == 4 and words in finished.reason
    assert len(rec.of(PhaseFinished)) == 1  # no retries burnt
    assert stored_item(project).status == "in_progress"  # resumable, not blocked
    assert stored_item(project, "WRK-002").status == "ready"
    assert not [n for n in rec.of(Notice) if n.level == "error"]


def test_a_missing_agent_command_says_how_to_install_claude(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()],
                           command=["claude-not-installed-xyz", "-p", "{prompt}"])
    finished, rec = run(project)
    assert finished.exit_code == 4
    assert "claude-not-installed-xyz" in finished.reason
    assert "npm install -g @anthropic-ai/claude-code" in finished.reason
    assert "agent.command" in finished.reason
    assert stored_item(project).status == "ready"  # checked before any item moved
    assert not rec.of(PhaseStarted)


def test_an_agent_vanishing_mid_run_is_also_an_every_item_failure(tmp_path: Path) -> None:
    from app.engine.attempts import global_failure
    from app.engine.outcome import ProcessOutcome

    gone = ProcessOutcome(start_error="agent command not found: 'claude'",
                          start_error_kind="missing")
    assert "npm install -g @anthropic-ai/claude-code" in (global_failure(gone) or "")


def test_preflight_checks_paths_and_the_prompt_placeholder(tmp_path: Path) -> None:
    from app.engine.attempts import preflight

    script = tmp_path / "agent.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o644)
    failure, _ = preflight([str(script), "{prompt}"])
    assert failure and "not executable" in failure
    failure, warnings = preflight(["sh", "-c", "true"])
    assert failure is None and "no {prompt}" in warnings[0]


def test_build_progress_ticks_one_box_per_attempt_until_complete(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"build": "progress"}, git=True)
    finished, rec = run(project)
    builds = [f for f in rec.of(PhaseFinished) if f.phase == "build"]
    assert [f.outcome for f in builds] == ["progress"] * 3 + ["complete"]
    assert stored_item(project).status == "done" and finished.exit_code == 0
    subjects = run_git(project.root, "log", "--format=%s").splitlines()
    assert sum(s.startswith("[WRK-001][BUILD]") for s in subjects) == 4


def test_build_prompt_names_the_first_spec_phase_with_open_tasks(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"build": "progress"})
    bus = EventBus()
    pipeline = Pipeline(project, bus, cap=6)
    prompts: list[str] = []
    original = pipeline.executor.run

    def spy(item: Any, phase: str, attempt: int, prompt: str, **kw: Any) -> Any:
        prompts.append(prompt)
        return original(item, phase, attempt, prompt, **kw)

    pipeline.executor.run = spy  # type: ignore[method-assign]
    pipeline.run()
    assert "Phase 1: Groundwork" in prompts[4] and "- [ ] Add the data model" in prompts[4]
    assert "Phase 2: Wire it up" not in prompts[4]


def test_progress_without_a_newly_ticked_box_is_a_failed_attempt(tmp_path: Path) -> None:
    script = {"build": {"mode": "progress", "tick": False}}
    project = make_project(tmp_path / "p", [ready()], script=script, run={"max_retries": 1})
    _, rec = run(project)
    builds = [f for f in rec.of(PhaseFinished) if f.phase == "build"]
    assert [f.outcome for f in builds] == ["failed", "failed"]
    assert "ticked no new task" in (builds[0].reason or "")
    assert stored_item(project).status == "blocked"


def test_a_build_that_says_complete_with_open_tasks_does_not_go_to_review(
        tmp_path: Path) -> None:
    """SPEC.md has 4 tasks. The first build ticks one and says complete: progress. The
    second ticks none and says complete: failed, naming the open tasks. The third ticks
    the rest: complete, and only then review."""
    script = {"build": {"1": {"mode": "complete", "tick": 1},
                        "2": {"mode": "complete", "tick": 0}, "*": "complete"}}
    project = make_project(tmp_path / "p", [ready()], script=script,
                           run={"max_retries": 1, "checkpoint": False})
    _, rec = run(project)
    builds = [f for f in rec.of(PhaseFinished) if f.phase == "build"]
    assert [f.outcome for f in builds] == ["progress", "failed", "complete"]
    assert builds[1].reason == ("answered complete, but changes/WRK-001_add-login-page/"
                                "SPEC.md still has 3 open tasks")
    phases = [s.phase for s in rec.of(PhaseStarted)]
    assert phases.index("review") > 4 + 2  # review only after the third build
    assert stored_item(project).status == "done"
    assert [e["outcome"] for e in worklog_entries(project) if e["phase"] == "build"] == [
        "progress", "failed", "complete"]


def test_circuit_breaker_stops_after_consecutive_failed_phases(tmp_path: Path) -> None:
    items = [ready(title=f"Item {n}") for n in range(4)]
    project = make_project(tmp_path / "p", items, script={"default": "failed"},
                           run={"max_retries": 0, "circuit_breaker": 2})
    finished, _ = run(project)
    assert "circuit breaker" in finished.reason and finished.exit_code == 1
    statuses = [i.status for i in project.store().load().items]
    assert statuses == ["blocked", "blocked", "ready", "ready"]


def test_assessment_and_follow_ups_are_applied(tmp_path: Path) -> None:
    script = {"default": "complete",
              "prd": {"mode": "complete", "assessment": {"size": "medium", "risk": "low",
                                                         "complexity": "high"},
                      "follow_ups": ["Add logout", {"title": "Rate limit login",
                                                    "notes": "use redis"}]}}
    project = make_project(tmp_path / "p", [ready()], script=script)
    run(project, cap=1)
    backlog = project.store().load()
    it = backlog.get("WRK-001")
    assert (it.size, it.complexity, it.risk) == ("medium", "high", "low")
    new = [i for i in backlog.items if i.origin == "WRK-001"]
    assert [(i.title, i.status, i.notes) for i in new] == [
        ("Add logout", "new", None), ("Rate limit login", "new", "use redis")]


def test_only_ready_items_within_guardrails_and_with_done_dependencies_run(
        tmp_path: Path) -> None:
    items = [ready(title="Too big", size="large"), ready(title="Too risky", risk="medium"),
             ready(title="Unknown risk", risk=None), ready(title="Waits", depends_on=["WRK-005"]),
             {"title": "Dependency", "status": "new"}, ready(title="Fine")]
    project = make_project(tmp_path / "p", items)
    _finished, rec = run(project, cap=1)
    assert rec.of(PhaseStarted)[0].item_id == "WRK-006"
    notices = " ".join(n.text for n in rec.of(Notice))
    assert "WRK-001 skipped: outside the guardrails: size large, max medium" in notices
    assert "WRK-003 skipped: outside the guardrails: risk unknown, max low" in notices
    assert "WRK-004 waits for WRK-005" in notices


def test_an_item_chosen_by_name_runs_outside_the_guardrails_and_says_so(
        tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready(title="Risky", risk="high")],
                           run={"checkpoint": False})
    finished, rec = run(project)  # autonomous: skipped
    assert finished.attempts == 0 and stored_item(project).status == "ready"
    finished, rec = run(project, target="WRK-001", cap=1)  # chosen: runs
    assert finished.attempts == 1
    warned = [n for n in rec.of(Notice) if n.level == "warning"]
    assert [n.text for n in warned] == [
        "WRK-001 is outside the guardrails: risk high, max low; running it because you "
        "chose it"]


def test_a_missing_assessment_is_within_a_guardrail_at_the_top_of_its_scale(
        tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready(title="Unassessed", size=None, risk=None)],
                           guardrails={"max_size": "large", "max_risk": "high"},
                           run={"checkpoint": False})
    finished, _ = run(project, cap=1)
    assert finished.attempts == 1  # nothing to be over: it ran
    project2 = make_project(tmp_path / "q", [ready(title="Unassessed", risk=None)],
                            guardrails={"max_size": "large", "max_risk": "medium"})
    finished, rec = run(project2, cap=1)
    assert finished.attempts == 0
    assert any("risk unknown, max medium" in n.text for n in rec.of(Notice))


def test_an_in_progress_item_is_resumed_first_in_its_phase(tmp_path: Path) -> None:
    items = [ready(title="Ready one"),
             ready(title="Resumed", status="in_progress", phase="review")]
    project = make_project(tmp_path / "p", items)
    _, rec = run(project, cap=1)
    (started,) = rec.of(PhaseStarted)
    assert (started.item_id, started.phase) == ("WRK-002", "review")
    assert stored_item(project, "WRK-002").status == "done"


def test_cap_bounds_attempts_and_target_picks_one_item(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready(), ready(title="Other")])
    finished, rec = run(project, target="wrk-002", cap=2)
    assert finished.reason == "cap reached (2 attempts)" and finished.attempts == 2
    assert {s.item_id for s in rec.of(PhaseStarted)} == {"WRK-002"}
    assert stored_item(project).status == "ready"


def test_target_that_is_not_runnable_says_why(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [{"title": "Idea"}])
    finished, rec = run(project, target="WRK-001")
    assert finished.exit_code == 0
    assert any("WRK-001 is new: only ready or in-progress items run" in n.text
               for n in rec.of(Notice))


def test_phase_timeout_is_a_failed_attempt_recorded_as_timeout(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"prd": "hang"},
                           agent={"phase_timeout_s": 1, "kill_grace_s": 0.2},
                           run={"max_retries": 0})
    _, rec = run(project)
    (fin,) = rec.of(PhaseFinished)
    assert fin.outcome == "timeout" and "timed out after 1 s" in (fin.reason or "")
    assert worklog_entries(project)[0]["outcome"] == "timeout"
    assert stored_item(project).status == "blocked"


def test_not_a_git_repository_runs_and_says_once_that_checkpoints_are_off(
        tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()])
    _finished, rec = run(project)
    assert stored_item(project).status == "done"
    off = [n for n in rec.of(Notice) if "checkpoints are off" in n.text]
    assert len(off) == 1


def test_checkpoints_leave_a_persons_dirty_file_out_and_say_so(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], git=True)
    (project.root / "notes.txt").write_text("my own unfinished work\n")
    _, rec = run(project, cap=1)
    assert run_git(project.root, "log", "-1", "--format=%s").startswith("[WRK-001][PRD]")
    assert "notes.txt" not in run_git(project.root, "show", "--name-only", "HEAD")
    assert "?? notes.txt" in run_git(project.root, "status", "--porcelain")
    assert any("notes.txt" in n.text and "left out" in n.text for n in rec.of(Notice))


def test_pause_finishes_the_attempt_then_stops(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()],
                           script={"prd": {"mode": "slow", "lines": 5}})
    bus = EventBus()
    pipeline = Pipeline(project, bus)
    bus.subscribe(lambda e: pipeline.request_pause() if isinstance(e, PhaseStarted) else None)
    finished = pipeline.run()
    assert finished.reason == "paused" and finished.exit_code == 0
    assert [e["outcome"] for e in worklog_entries(project)] == ["complete"]
    it = stored_item(project)
    assert (it.status, it.phase) == ("in_progress", "research")


def test_stop_interrupts_the_agent_and_leaves_the_item_resumable(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"prd": {"1": "hang"}})
    bus = EventBus()
    pipeline = Pipeline(project, bus)
    rec = Recorder(bus)
    result: list[RunFinished] = []
    worker = threading.Thread(target=lambda: result.append(pipeline.run()))
    worker.start()
    wait_for(lambda: rec.of(PhaseStarted))
    pipeline.request_stop()
    worker.join(timeout=20)
    assert result[0].reason == "stopped" and result[0].exit_code == 130
    assert [e["outcome"] for e in worklog_entries(project)] == ["interrupted"]
    it = stored_item(project)
    assert (it.status, it.phase) == ("in_progress", "prd")
    # the next run resumes the same phase, with a fresh attempt number
    finished, rec2 = run(project)
    assert rec2.of(PhaseStarted)[0].attempt == 2 and stored_item(project).status == "done"
    assert finished.exit_code == 0


def test_only_the_agents_error_channels_count_as_every_item_failures() -> None:
    from app.engine.attempts import global_failure
    from app.engine.events import AgentLine
    from app.engine.outcome import ProcessOutcome

    working_on_it = ProcessOutcome(exit_code=1, last_line=AgentLine(
        "text", "Implementing the rate limit: usage limit reached errors get a 429"))
    assert global_failure(working_on_it) is None
    limited = ProcessOutcome(exit_code=1, stderr_tail=["Error: 429 Too Many Requests"])
    assert "rate limit" in (global_failure(limited) or "")
    assert global_failure(ProcessOutcome(exit_code=1, stderr_tail=["segfault"])) is None


def test_a_person_moving_the_item_during_a_phase_wins(tmp_path: Path) -> None:
    from app.engine import actions

    project = make_project(tmp_path / "p", [ready(), ready(title="Next")],
                           script={"prd": {"mode": "slow", "lines": 2}})
    bus = EventBus()
    rec = Recorder(bus)
    moved: list[str] = []

    def person(event: object) -> None:
        if isinstance(event, PhaseStarted) and event.item_id == "WRK-001" and not moved:
            actions.advance(project, "WRK-001", "blocked", reason="I want to rethink this")
            moved.append(event.item_id)

    bus.subscribe(person)
    finished = Pipeline(project, bus, cap=2).run()
    it = stored_item(project)
    assert (it.status, it.blocked_reason) == ("blocked", "I want to rethink this")
    assert any("WRK-001" in n.text and "leaving it" in n.text for n in rec.of(Notice))
    assert [s.item_id for s in rec.of(PhaseStarted)] == ["WRK-001", "WRK-002"]
    assert finished.reason == "cap reached (2 attempts)"


def test_checkpoint_false_makes_no_commits_and_no_notice(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], git=True, run={"checkpoint": False})
    head = run_git(project.root, "rev-parse", "HEAD")
    _, rec = run(project)
    assert stored_item(project).status == "done"
    assert run_git(project.root, "rev-parse", "HEAD") == head
    assert not [n for n in rec.of(Notice) if "checkpoint" in n.text]


@pytest.mark.local_only  # an agent process of its own
def test_an_agent_rejecting_its_command_line_stops_the_run(tmp_path: Path) -> None:
    import sys

    bogus = ("import sys; sys.stderr.write(\"error: unknown option '--bogus'\\n\"); "
             "sys.exit(1)")
    project = make_project(tmp_path / "p", [ready()],
                           command=[sys.executable, "-c", bogus, "{prompt}", "--bogus"])
    finished, rec = run(project)
    assert finished.exit_code == 4
    assert "error: unknown option '--bogus'" in finished.reason
    assert "agent.command" in finished.reason
    assert len(rec.of(PhaseFinished)) == 1


@pytest.mark.local_only  # an agent process of its own
def test_phase_started_comes_before_any_output_even_from_a_chatty_agent(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()],
                           script={"prd": {"mode": "chatty", "lines": 3000}})
    _, rec = run(project, cap=1)
    kinds = [type(e).__name__ for e in rec.events
             if isinstance(e, (PhaseStarted, AgentOutput, PhaseFinished))]
    assert kinds[0] == "PhaseStarted" and kinds[-1] == "PhaseFinished"
    assert set(kinds[1:-1]) == {"AgentOutput"}
    assert sum(len(e.lines) for e in rec.of(AgentOutput)) >= 3000


def test_nothing_to_run_says_what_the_person_can_do(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [{"title": "Idea"}, ready(title="Big", size="large")])
    finished, rec = run(project)
    assert finished.attempts == 0 and finished.exit_code == 0
    assert any("nothing to run" in n.text and "1 new: `orchestrate triage`" in n.text
               for n in rec.of(Notice))
