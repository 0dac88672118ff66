"""Lanes on the fault paths a run meets overnight: a hung agent, an agent deaf to SIGTERM,
a usage limit, the circuit breaker, a rebase conflict, a project in a subfolder of its
repository, the person switching branches, a pause, conflict markers left in place, a
second run, and a BACKLOG.yaml saved broken mid-run. Real git repositories, real
worktrees, real scripted agent processes."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import stored_item
from engine_helpers import (
    Background,
    Recorder,
    alive,
    lanes_project,
    log_subjects,
    make_project,
    notice_texts,
    orchestrate,
    ready,
    run_git,
    run_pipeline,
    wait_for,
    worklog_entries,
)

from app import exitcodes
from app.backlog.model import PHASES
from app.engine import actions
from app.engine import bringback as lanes
from app.engine.events import (
    EventBus,
    PhaseFinished,
    PhaseStarted,
    RunPaused,
    RunResumed,
)
from app.engine.pipeline import Pipeline
from app.engine.project import Project
from app.engine.runlock import read_run_state

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc")

FAST_LIMITS = {"resume_margin_s": 0.5, "retry_interval_s": 0.3, "retry_interval_max_s": 0.6}
IDS = ("WRK-001", "WRK-002", "WRK-003")


def statuses(project: Project, ids: tuple[str, ...] = IDS) -> list[str]:
    return [stored_item(project, i).status for i in ids]


def git_path(cwd: Path, name: str) -> Path:
    """Where git keeps `name` (MERGE_HEAD, rebase-merge, …) for the checkout at `cwd`."""
    return cwd / run_git(cwd, "rev-parse", "--git-path", name).strip()


def mid_operation(cwd: Path) -> list[str]:
    """The git operations left half done in the checkout at `cwd`."""
    return [name for name in ("MERGE_HEAD", "rebase-merge", "rebase-apply", "CHERRY_PICK_HEAD")
            if git_path(cwd, name).exists()]


def commit_shared(project: Project) -> None:
    (project.root / "shared.txt").write_text("base\n")
    run_git(project.root, "add", "shared.txt")
    run_git(project.root, "commit", "-q", "-m", "shared")


def both_write_shared() -> dict[str, Any]:
    return {"default": "complete", "items": {
        "WRK-001": {"build": {"mode": "complete", "write": {"shared.txt": "one\n"}}},
        "WRK-002": {"build": {"mode": "complete", "write": {"shared.txt": "two\n"}}}}}


def has_markers(root: Path, ref: str) -> bool:
    """Whether any file of commit `ref` holds a conflict marker line."""
    return subprocess.run(["git", "grep", "-q", "^<<<<<<<", ref, "--", "."], cwd=root,
                          check=False).returncode == 0


def started_between(rec: Recorder, start: float, end: float) -> list[tuple[str, str, int]]:
    return [(s.item_id, s.phase, s.attempt) for s in rec.of(PhaseStarted)
            if start < s.at < end]


# 1 ------------------------------------------------------------------------------------------
def test_a_hung_agent_in_one_lane_times_out_that_item_only_while_the_others_merge(
        tmp_path: Path) -> None:
    script = {"default": "complete", "items": {"WRK-002": {"prd": "hang"}}}
    project = lanes_project(tmp_path / "p", 3, script,
                            agent={"phase_timeout_s": 1, "kill_grace_s": 0.3})
    finished, rec = run_pipeline(project)
    assert (finished.reason, finished.exit_code) == ("no more work", 0)
    assert statuses(project) == ["done", "blocked", "done"]
    hung = stored_item(project, "WRK-002")
    assert hung.blocked_reason == ("prd failed 2 times: timed out after 1 s "
                                   "(agent.phase_timeout_s)")
    outcomes = [(e["phase"], e["outcome"]) for e in worklog_entries(project)
                if e["item"] == "WRK-002"]
    assert outcomes == [("prd", "timeout"), ("prd", "timeout")]  # retried once, then blocked
    hung_pids = [s.pid for s in rec.of(PhaseStarted) if s.item_id == "WRK-002"]
    assert len(hung_pids) == 2 and not any(alive(pid) for pid in hung_pids)
    # The other two went through every phase meanwhile and are merged.
    log = log_subjects(project.root)
    for i in ("WRK-001", "WRK-003"):
        assert any(s.startswith(f"Merge orchestrate/{i}:") for s in log), i
    assert not any("WRK-002" in s for s in log)
    # The hung item keeps its worktree and branch for whoever looks at it.
    assert (project.root / ".orchestrator" / "worktrees" / "WRK-002").is_dir()
    assert "orchestrate/WRK-002" in run_git(project.root, "branch", "--list")


@pytest.mark.local_only  # an agent process of its own
# 2 ------------------------------------------------------------------------------------------
def test_stopping_with_an_agent_deaf_to_sigterm_kills_it_after_the_grace_and_records_all(
        tmp_path: Path) -> None:
    script = {"prd": "hang", "items": {"WRK-002": {"prd": "ignore_term"}}}
    project = lanes_project(tmp_path / "p", 3, script, agent={"kill_grace_s": 1.0})
    logs = project.root / ".orchestrator" / "logs"
    with Background(project) as bg:
        started = wait_for(lambda: len(bg.rec.of(PhaseStarted)) >= 3 and bg.rec.of(PhaseStarted))
        # Every agent has spoken: the deaf one ignores SIGTERM by now.
        wait_for(lambda: all((logs / f"{i}_prd_1.log").exists()
                             and "Working on it" in (logs / f"{i}_prd_1.log").read_text()
                             for i in IDS))
        pids = {s.item_id: s.pid for s in started}
        asked = time.monotonic()
        bg.pipeline.request_stop()
        finished = bg.finish()
        took = time.monotonic() - asked
    assert (finished.reason, finished.exit_code) == ("stopped", exitcodes.INTERRUPTED)
    assert not any(alive(pid) for pid in pids.values())
    assert 1.0 <= took < 6.0  # the deaf one was killed once the grace was over
    assert sorted((e["item"], e["outcome"]) for e in worklog_entries(project)) == [
        (i, "interrupted") for i in IDS]
    assert statuses(project) == ["in_progress"] * 3
    assert read_run_state(project) == {}


# 3 ------------------------------------------------------------------------------------------
def test_a_usage_limit_in_one_lane_pauses_every_lane_then_all_finish(tmp_path: Path) -> None:
    script = {"default": "complete", "prd": {"mode": "complete", "sleep": 0.3},
              "items": {"WRK-002": {"prd": {"1": {"mode": "usage_limit", "resets_in": 1,
                                                  "sleep": 0.15},
                                            "*": "complete"}}}}
    project = lanes_project(tmp_path / "p", 3, script, limits=FAST_LIMITS)
    finished, rec = run_pipeline(project)
    assert (finished.reason, finished.exit_code) == ("no more work", 0)
    (paused,) = rec.of(RunPaused)
    assert (paused.item_id, paused.phase, paused.known_reset) == ("WRK-002", "prd", True)
    (resumed,) = rec.of(RunResumed)
    assert resumed.at >= paused.resumes_at
    # No attempt of any lane started while the account was limited.
    assert started_between(rec, paused.at, paused.resumes_at) == []
    # The others were not idle before it: their prd was running when the limit came.
    first_phases = {(s.item_id, s.phase) for s in rec.of(PhaseStarted) if s.at < paused.at}
    assert {("WRK-001", "prd"), ("WRK-003", "prd")} <= first_phases
    assert statuses(project) == ["done"] * 3
    outcomes = [(e["item"], e["phase"], e["outcome"]) for e in worklog_entries(project)]
    assert outcomes.count(("WRK-002", "prd", "limited")) == 1
    assert not [o for o in outcomes if o[2] not in ("complete", "limited")]
    # As the worklog has them: the limited attempt too, said apart.
    assert (finished.attempts, finished.limited) == (19, 1)
    assert not project.pause_path.exists()


# 4 ------------------------------------------------------------------------------------------
def test_the_circuit_breaker_across_lanes_ends_the_run_and_starts_nothing_more(
        tmp_path: Path) -> None:
    # Two lanes for four items: WRK-001 fails at once and frees its lane for WRK-003, which
    # fails too (two in a row: the breaker trips) while WRK-002's failing attempt still
    # runs. WRK-004, healthy, would be next: it must never start.
    failing = {"prd": "failed"}
    script = {"default": "complete", "items": {
        "WRK-001": failing, "WRK-003": failing,
        "WRK-002": {"prd": {"mode": "failed", "sleep": 1.5}}}}
    project = make_project(tmp_path / "p", [ready(title=f"Item {i}") for i in range(1, 5)],
                           script=script, git=True,
                           run={"max_parallel": 2, "max_retries": 0, "circuit_breaker": 2})
    finished, rec = run_pipeline(project)
    assert finished.exit_code == exitcodes.ERROR
    assert finished.reason.startswith("circuit breaker: 2 phases in a row failed")
    started = [(s.item_id, s.phase, s.attempt) for s in rec.of(PhaseStarted)]
    assert sorted(started) == [(i, "prd", 1) for i in IDS]
    tripped = [f for f in rec.of(PhaseFinished) if f.outcome == "failed"][1]
    assert tripped.item_id == "WRK-003"
    assert started_between(rec, tripped.at, time.time()) == []
    # The attempt running when it tripped finished and counted as its item's failure.
    assert statuses(project, (*IDS, "WRK-004")) == ["blocked"] * 3 + ["ready"]
    assert finished.attempts == 3


# 5 ------------------------------------------------------------------------------------------
def test_rebase_of_two_lanes_writing_one_file_blocks_one_and_leaves_nothing_mid_rebase(
        tmp_path: Path) -> None:
    project = lanes_project(tmp_path / "p", 2, both_write_shared(), parallel=2,
                            run={"merge": "rebase"})
    commit_shared(project)
    main_branch = run_git(project.root, "branch", "--show-current").strip()
    finished, _ = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    by_status = {stored_item(project, i).status: i for i in ("WRK-001", "WRK-002")}
    assert sorted(by_status) == ["blocked", "done"]
    loser, winner = by_status["blocked"], by_status["done"]
    assert stored_item(project, loser).blocked_reason == (
        f"merge conflict in shared.txt; branch orchestrate/{loser} kept")
    assert (project.root / "shared.txt").read_text() == ("one\n" if winner == "WRK-001"
                                                        else "two\n")
    # Rebased: no merge commit; the main checkout is whole, on its branch, clean but for
    # BACKLOG.yaml (the block is not committed).
    assert log_subjects(project.root, "--merges") == []
    assert mid_operation(project.root) == []
    assert run_git(project.root, "branch", "--show-current").strip() == main_branch
    assert run_git(project.root, "status", "--porcelain") == " M BACKLOG.yaml\n"
    # The loser's worktree was left as it was before the rebase: on its branch, with its
    # own text, nothing half done.
    worktree = project.root / ".orchestrator" / "worktrees" / loser
    assert mid_operation(worktree) == []
    assert run_git(worktree, "branch", "--show-current").strip() == f"orchestrate/{loser}"
    assert run_git(worktree, "status", "--porcelain") == ""
    assert (worktree / "shared.txt").read_text() == ("one\n" if loser == "WRK-001"
                                                    else "two\n")


# 6 ------------------------------------------------------------------------------------------
def test_a_project_in_a_subfolder_of_its_repository_works_in_lanes(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    record = tmp_path / "record"
    script = {"default": {"mode": "complete", "record": str(record)},
              "build": {"mode": "complete", "record": str(record),
                        "write": {"feature.txt": "built in the lane\n"}}}
    project = make_project(repo / "sub", [ready(title="Item 1"), ready(title="Item 2")],
                           script=script, run={"max_parallel": 2})
    (repo / "README.md").write_text("the repository's top\n")
    for args in (("init", "-q"), ("config", "user.name", "Test"),
                 ("config", "user.email", "test@example.com"),
                 ("config", "commit.gpgsign", "false"), ("add", "-A"),
                 ("commit", "-q", "-m", "initial")):
        run_git(repo, *args)
    finished, _ = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    assert statuses(project, ("WRK-001", "WRK-002")) == ["done", "done"]
    worktrees = (project.root / ".orchestrator" / "worktrees").resolve()
    for i in ("WRK-001", "WRK-002"):
        for phase in PHASES:
            cwd = Path((record / f"{i}_{phase}.cwd").read_text())
            assert cwd == worktrees / i / "sub", (i, phase)
    # The work landed in the subfolder of the main checkout, merged, and the subfolder's
    # BACKLOG.yaml is committed: nothing is left uncommitted anywhere.
    assert (project.root / "feature.txt").read_text() == "built in the lane\n"
    assert not (repo / "feature.txt").exists()
    assert (project.root / "changes" / "WRK-001_item-1" / "REVIEW.md").is_file()
    log = log_subjects(repo)
    for i, title in (("WRK-001", "Item 1"), ("WRK-002", "Item 2")):
        assert f"Merge orchestrate/{i}: [{i}] {title}" in log
        assert f"[{i}][DONE] {title}" in log
    assert run_git(repo, "status", "--porcelain") == ""
    assert "status: done" in run_git(repo, "show", "HEAD:sub/BACKLOG.yaml")
    assert run_git(repo, "worktree", "list").count("\n") == 1


# 7 ------------------------------------------------------------------------------------------
def test_switching_the_main_checkout_to_another_branch_postpones_the_merge_until_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lanes, "MERGE_RETRY_S", 0.2)
    script = {"default": "complete",
              "build": {"mode": "complete", "write": {"feature.txt": "the agent's\n"}}}
    project = lanes_project(tmp_path / "p", 1, script, parallel=2)
    main_branch = run_git(project.root, "branch", "--show-current").strip()
    run_git(project.root, "branch", "other")
    other_at = run_git(project.root, "rev-parse", "other").strip()
    with Background(project) as bg:
        wait_for(lambda: bg.rec.of(PhaseStarted))
        run_git(project.root, "checkout", "-q", "other")
        said = wait_for(lambda: [t for t in notice_texts(bg.rec) if "waits to be merged" in t])
        assert said[0] == (f"WRK-001 waits to be merged: the main checkout is on other, not "
                           f"{main_branch}: switch back to {main_branch} and the merge goes on")
        time.sleep(0.6)  # a few retries while on the wrong branch: none merges
        assert stored_item(project).status == "in_progress"
        assert run_git(project.root, "rev-parse", "other").strip() == other_at
        assert not (project.root / "feature.txt").exists()
        assert sum("waits to be merged" in t for t in notice_texts(bg.rec)) == 1  # said once
        run_git(project.root, "checkout", "-q", main_branch)
        finished = bg.finish()
    assert finished.exit_code == 0, finished.reason
    assert stored_item(project).status == "done"
    assert (project.root / "feature.txt").read_text() == "the agent's\n"
    assert "Merge orchestrate/WRK-001: [WRK-001] Item 1" in log_subjects(project.root)
    assert run_git(project.root, "rev-parse", "other").strip() == other_at
    assert run_git(project.root, "status", "--porcelain") == ""


# 8 ------------------------------------------------------------------------------------------
def test_pause_with_three_lanes_finishes_each_attempt_and_the_next_run_resumes_them(
        tmp_path: Path) -> None:
    script = {"default": "complete", "prd": {"mode": "complete", "sleep": 0.8}}
    project = lanes_project(tmp_path / "p", 3, script)
    with Background(project) as bg:
        wait_for(lambda: len(bg.rec.of(PhaseStarted)) >= 3)
        asked = time.time()
        bg.pipeline.request_pause()
        finished = bg.finish()
        rec = bg.rec
    assert (finished.reason, finished.exit_code) == ("paused", 0)
    assert started_between(rec, asked, time.time()) == []
    assert sorted((e["item"], e["phase"], e["outcome"]) for e in worklog_entries(project)) == [
        (i, "prd", "complete") for i in IDS]
    assert statuses(project) == ["in_progress"] * 3
    assert [stored_item(project, i).phase for i in IDS] == ["research"] * 3
    worktrees = project.root / ".orchestrator" / "worktrees"
    assert sorted(p.name for p in worktrees.iterdir()) == list(IDS)

    finished, rec = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    assert sum("goes on in the worktree an earlier run left" in t for t in notice_texts(rec)) == 3
    assert {(s.item_id, s.phase) for s in rec.of(PhaseStarted)} == {
        (i, p) for i in IDS for p in PHASES[1:]}  # prd is not done again
    assert statuses(project) == ["done"] * 3
    assert not any(worktrees.iterdir())
    assert run_git(project.root, "status", "--porcelain") == ""


# 9 ------------------------------------------------------------------------------------------
def test_an_unblocked_conflict_the_agent_leaves_unresolved_is_never_merged(
        tmp_path: Path) -> None:
    project = lanes_project(tmp_path / "p", 2, both_write_shared(), parallel=2)
    commit_shared(project)
    finished, _ = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    by_status = {stored_item(project, i).status: i for i in ("WRK-001", "WRK-002")}
    loser, winner = by_status["blocked"], by_status["done"]
    winner_text = (project.root / "shared.txt").read_text()
    main_at = run_git(project.root, "rev-parse", "HEAD").strip()

    actions.unblock(project, loser, notes="merge it")
    (tmp_path / "p-script.json").write_text('{"default": "complete"}')  # resolves nothing
    finished, rec = run_pipeline(project)
    assert finished.exit_code == exitcodes.ALL_BLOCKED  # nothing moved forward, finished.reason
    item = stored_item(project, loser)
    assert item.status == "blocked"
    assert item.blocked_reason == ("review failed 2 times: conflict markers remain in "
                                   "shared.txt: resolve them first")
    assert [(e["phase"], e["outcome"]) for e in worklog_entries(project)
            if e["item"] == loser][-2:] == [("review", "failed"), ("review", "failed")]
    # Nothing of it reached the main branch; no commit anywhere holds the markers.
    assert run_git(project.root, "rev-parse", "HEAD").strip() == main_at
    assert (project.root / "shared.txt").read_text() == winner_text
    for ref in (main_at, f"orchestrate/{loser}"):
        assert not has_markers(project.root, ref), ref
    assert mid_operation(project.root) == []
    assert run_git(project.root, "status", "--porcelain") == " M BACKLOG.yaml\n"
    assert winner not in {s.item_id for s in rec.of(PhaseStarted)}


@pytest.mark.local_only  # an agent process of its own
# 10 -----------------------------------------------------------------------------------------
def test_a_second_run_while_lanes_are_live_exits_3_and_touches_no_worktree(
        tmp_path: Path) -> None:
    project = lanes_project(tmp_path / "p", 3, {"prd": "hang"})
    first = orchestrate(project, "run", start_new_session=True)
    try:
        wait_for(lambda: len(read_run_state(project).get("agents", [])) == 3)
        worktrees = project.root / ".orchestrator" / "worktrees"
        snapshot: Callable[[], Any] = lambda: (  # noqa: E731
            run_git(project.root, "worktree", "list", "--porcelain"),
            run_git(project.root, "branch", "--list", "-v"),
            sorted((str(p.relative_to(worktrees)), p.stat().st_mtime_ns)
                   for p in worktrees.rglob("*") if ".git" not in p.parts),
            project.backlog_path.read_bytes())
        before = snapshot()
        agents = [a["agent_pid"] for a in read_run_state(project)["agents"]]
        second = orchestrate(project, "run")
        out, err = second.communicate(timeout=30)
        assert second.returncode == exitcodes.LOCK_HELD, (out, err)
        assert "lock" in err
        assert snapshot() == before
        assert all(alive(pid) for pid in agents)
        first.send_signal(signal.SIGINT)
        first.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
    assert first.returncode == exitcodes.SIGINT
    assert not any(alive(pid) for pid in agents)


# 4b -----------------------------------------------------------------------------------------
def test_the_circuit_breaker_ends_the_run_even_while_a_merge_waits_for_the_person(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lanes, "MERGE_RETRY_S", 0.2)
    script = {"default": "complete",
              "build": {"mode": "complete", "write": {"feature.txt": "the agent's\n"}},
              "items": {"WRK-002": {"prd": "failed"}, "WRK-003": {"prd": "failed"}}}
    project = make_project(tmp_path / "p", [ready(title="Item 1")], script=script, git=True,
                           run={"max_parallel": 3, "max_retries": 0, "circuit_breaker": 2})
    feature = project.root / "feature.txt"
    feature.write_text("committed\n")
    run_git(project.root, "add", "feature.txt")
    run_git(project.root, "commit", "-q", "-m", "feature")
    feature.write_text("the person's own edit\n")  # WRK-001's merge must wait for it
    with Background(project) as bg:
        wait_for(lambda: any("waits to be merged" in t for t in notice_texts(bg.rec)))
        # Two more items come in while it waits; both fail: the breaker trips.
        with project.store().transaction() as tx:
            tx.add("Item 2", status="ready", size="small", risk="low")
            tx.add("Item 3", status="ready", size="small", risk="low")
        bg.thread.join(10)
        assert not bg.thread.is_alive(), "the run went on waiting after the breaker tripped"
        finished = bg.finish()
    assert finished.exit_code == exitcodes.ERROR
    assert finished.reason.startswith("circuit breaker: 2 phases in a row failed")
    # The waiting item was not merged over the person's edit; it stays in its review,
    # which a later run does again.
    assert feature.read_text() == "the person's own edit\n"
    item = stored_item(project)
    assert (item.status, item.phase) == ("in_progress", "review")
    assert statuses(project, ("WRK-002", "WRK-003")) == ["blocked", "blocked"]


# 9b -----------------------------------------------------------------------------------------
def test_conflicts_a_person_resolved_and_staged_in_the_worktree_are_kept_and_merged(
        tmp_path: Path) -> None:
    project = lanes_project(tmp_path / "p", 2, both_write_shared(), parallel=2)
    commit_shared(project)
    run_pipeline(project)
    loser = next(i for i in ("WRK-001", "WRK-002") if stored_item(project, i).status
                 == "blocked")
    actions.unblock(project, loser, notes="merge it")
    (tmp_path / "p-script.json").write_text('{"default": "complete"}')  # resolves nothing
    run_pipeline(project)
    assert "conflict markers remain" in (stored_item(project, loser).blocked_reason or "")
    # The person resolves it by hand in the lane's worktree, stages it as git taught them,
    # and unblocks the item.
    worktree = project.root / ".orchestrator" / "worktrees" / loser
    (worktree / "shared.txt").write_text("one and two\n")
    run_git(worktree, "add", "shared.txt")
    actions.unblock(project, loser, notes="resolved by hand")
    finished, _ = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    assert stored_item(project, loser).status == "done"
    assert (project.root / "shared.txt").read_text() == "one and two\n"
    assert run_git(project.root, "status", "--porcelain") == ""


# 5b -----------------------------------------------------------------------------------------
def test_rebase_goes_on_when_an_agent_edited_backlog_yaml_in_its_worktree(
        tmp_path: Path) -> None:
    scribble = {"BACKLOG.yaml": "the agent's own idea of the backlog\n"}
    script = {"default": "complete", "items": {
        "WRK-001": {"build": {"mode": "complete", "write": {"a.txt": "a\n", **scribble}}},
        "WRK-002": {"build": {"mode": "complete", "write": {"b.txt": "b\n", **scribble}}}}}
    project = lanes_project(tmp_path / "p", 2, script, parallel=2, run={"merge": "rebase"})
    finished, _ = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    # Neither is blocked by git refusing to rebase over the edit, and the edit went nowhere.
    assert statuses(project, ("WRK-001", "WRK-002")) == ["done", "done"]
    assert log_subjects(project.root, "--merges") == []
    assert (project.root / "a.txt").is_file() and (project.root / "b.txt").is_file()
    assert "the agent's own idea" not in project.backlog_path.read_text()
    assert run_git(project.root, "status", "--porcelain") == ""


# 9c -----------------------------------------------------------------------------------------
def test_an_unblocked_lane_is_brought_up_to_date_over_an_agents_backlog_yaml_edit(
        tmp_path: Path) -> None:
    script = both_write_shared()
    for item in script["items"].values():
        item["build"]["write"]["BACKLOG.yaml"] = "the agent's own idea of the backlog\n"
    project = lanes_project(tmp_path / "p", 2, script, parallel=2)
    commit_shared(project)
    run_pipeline(project)
    loser = next(i for i in ("WRK-001", "WRK-002") if stored_item(project, i).status
                 == "blocked")
    actions.unblock(project, loser, notes="keep yours")
    (tmp_path / "p-script.json").write_text(
        '{"default": "complete", "review": {"mode": "complete", "resolve": true}}')
    finished, rec = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    assert not any("could not be made" in t for t in notice_texts(rec))
    assert stored_item(project, loser).status == "done"
    assert "the agent's own idea" not in project.backlog_path.read_text()
    assert run_git(project.root, "status", "--porcelain") == ""


# 11 -----------------------------------------------------------------------------------------
def test_a_backlog_the_scheduler_cannot_read_ends_the_run_after_the_live_attempts(
        tmp_path: Path) -> None:
    script = {"default": "complete", "prd": {"mode": "complete", "sleep": 1.5}}
    project = lanes_project(tmp_path / "p", 3, script)
    with Background(project) as bg:
        wait_for(lambda: len(bg.rec.of(PhaseStarted)) >= 3)
        good = project.backlog_path.read_bytes()
        project.backlog_path.unlink()  # gone (moved away by hand): no copy to go on from
        broke = time.time()
        time.sleep(0.5)
        project.backlog_path.write_bytes(good)  # ... back a moment later
        finished = bg.finish()
        rec = bg.rec
    # As a single lane's run would: it ends with the error, once the attempts that were
    # running have finished, and starts nothing more (not every item to its end unseen).
    assert finished.exit_code == exitcodes.ERROR
    assert finished.reason.startswith("BACKLOG.yaml not found in")
    assert started_between(rec, broke, time.time()) == []
    assert finished.attempts == 3
    assert statuses(project) == ["in_progress"] * 3


def test_a_broken_save_mid_run_reads_as_the_last_good_copy_and_writes_wait_for_the_fix(
        tmp_path: Path) -> None:
    script = {"default": "complete", "prd": {"mode": "complete", "sleep": 1.5}}
    items = [ready(title=f"Item {i}") for i in (1, 2, 3)] + [
        {"title": "Later idea", "status": "scoped"}]
    project = make_project(tmp_path / "p", items, script=script, git=True,
                           run={"max_parallel": 3})
    path = project.backlog_path
    good = path.read_text()
    assert "    title: Later idea\n" in good
    half = good.replace("title: Later idea", 'title: "Later idea, rewor')  # mid-edit
    fixed = ("# WRK-004 reworded by hand while the run went on\n"
             + good.replace("title: Later idea", 'title: "Later idea, reworded"'))
    with Background(project) as bg:
        wait_for(lambda: len(bg.rec.of(PhaseStarted)) >= 3)
        path.write_text(half)  # the person saves a half-typed edit while agents run
        broke = time.time()
        wait_for(lambda: any("last good copy" in t for t in notice_texts(bg.rec)))
        # The three prd answers come in while it is broken: their moves wait, the lanes
        # read the last good copy meanwhile, and the person's file is never overwritten.
        wait_for(lambda: len(bg.rec.of(PhaseFinished)) >= 3)
        time.sleep(0.8)
        assert path.read_text() == half
        assert bg.thread.is_alive()
        path.write_text(fixed)  # ... and fixes it, with a change of their own
        mended = time.time()
        finished = bg.finish(60)
        rec = bg.rec
    assert (finished.reason, finished.exit_code) == ("no more work", 0)
    assert started_between(rec, broke, mended) == []  # nothing went on unwritten
    assert statuses(project, (*IDS, "WRK-004")) == ["done"] * 3 + ["scoped"]
    # The person's edit is kept, the run's writes were made on top of it.
    text = path.read_text()
    assert text.startswith("# WRK-004 reworded by hand while the run went on\n")
    assert stored_item(project, "WRK-004").title == "Later idea, reworded"
    assert sorted((e["item"], e["outcome"]) for e in worklog_entries(project)) == sorted(
        (i, "complete") for i in IDS for _ in PHASES)
    # Told once, with the line, and told once when it parsed again.
    line = half.count("\n") + 1
    warnings = [t for t in notice_texts(rec) if "last good copy" in t]
    assert warnings == [f"BACKLOG.yaml:{line}:1: found unexpected end of stream (while "
                        "scanning a quoted scalar): the run goes on from the last good copy; "
                        "its writes wait until the file parses again"]
    assert [t for t in notice_texts(rec) if "parses again:" in t] == [
        "BACKLOG.yaml parses again: the run reads it and its writes go on"]


# 12 -----------------------------------------------------------------------------------------
def test_a_failed_last_checkpoint_blocks_the_item_and_never_merges_without_its_work(
        tmp_path: Path) -> None:
    root = (tmp_path / "p").resolve()
    # The review's agent leaves the worktree's index locked while a git of the person's
    # works in the repository (so the lock is not stale, and stays): the checkpoint after
    # it fails, for real.
    lock = root / ".git" / "worktrees" / "WRK-001" / "index.lock"
    fix = {"fix.txt": "the reviewer's fix\n"}
    script = {"default": "complete",
              "review": {"mode": "complete", "write": {**fix, str(lock): ""}}}
    project = lanes_project(root, 1, script, parallel=2)
    persons_git = subprocess.Popen(["git", "cat-file", "--batch"], cwd=root,
                                   stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        finished, rec = run_pipeline(project)
    finally:
        persons_git.kill()
        persons_git.wait()
    assert finished.exit_code == exitcodes.ALL_BLOCKED  # nothing moved forward, finished.reason
    item = stored_item(project)
    assert (item.status, item.blocked_from, item.phase) == ("blocked", "in_progress", "review")
    assert item.blocked_reason == (
        "its last checkpoint failed, so nothing was merged: "
        "changes/WRK-001_item-1/REVIEW.md, fix.txt not committed on orchestrate/WRK-001; "
        "worktree kept")
    assert any("checkpoint of WRK-001 review failed" in t for t in notice_texts(rec))
    # Nothing was merged, and the review's work is still in the worktree.
    assert not any(s.startswith("Merge orchestrate/WRK-001") for s in log_subjects(root))
    worktree = root / ".orchestrator" / "worktrees" / "WRK-001"
    assert (worktree / "fix.txt").read_text() == "the reviewer's fix\n"

    # The person clears the lock and unblocks it: the review is done again and merged.
    lock.unlink()
    actions.unblock(project, "WRK-001", notes="lock cleared")
    (tmp_path / "p-script.json").write_text('{"default": "complete"}')
    finished, rec = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    assert stored_item(project).status == "done"
    assert (root / "fix.txt").read_text() == "the reviewer's fix\n"
    assert run_git(root, "status", "--porcelain") == ""


# 13 -----------------------------------------------------------------------------------------
def test_cap_with_three_lanes_allows_no_more_attempts_than_the_cap(tmp_path: Path) -> None:
    # WRK-002's first attempt meets a usage limit (no reset time: a short wait): it is not
    # an attempt, so it takes nothing from the cap.
    script = {"default": {"mode": "complete", "sleep": 0.2},
              "items": {"WRK-002": {"prd": {"1": {"mode": "usage_limit"}, "*": "complete"}}}}
    project = lanes_project(tmp_path / "p", 3, script, limits=FAST_LIMITS)
    bus = EventBus()
    rec = Recorder(bus)
    finished = Pipeline(project, bus, cap=4).run()
    assert (finished.reason, finished.exit_code) == ("cap reached (4 attempts)", 0)
    assert (finished.attempts, finished.limited) == (5, 1)  # the worklog's lines
    outcomes = [e["outcome"] for e in worklog_entries(project)]
    assert sorted(outcomes) == ["complete"] * 4 + ["limited"]
    assert len(rec.of(PhaseStarted)) == 5


def test_lanes_meeting_one_limit_at_once_wait_once_and_the_wait_grows_once(
        tmp_path: Path) -> None:
    """Three lanes meet the account's limit together (no reset time named): one pause, one
    notice, and the guessed wait is the first interval, not one doubling per lane."""
    # Each lane meets it a moment into its attempt: all three are running by then.
    script = {"default": "complete",
              "prd": {"1": {"mode": "usage_limit", "sleep": 0.5}, "*": "complete"}}
    project = lanes_project(tmp_path / "p", 3, script,
                            limits={"retry_interval_s": 2, "retry_interval_max_s": 60,
                                    "resume_margin_s": 0})
    finished, rec = run_pipeline(project)
    assert finished.exit_code == 0
    paused = rec.of(RunPaused)
    assert len(paused) == 1
    assert paused[0].resumes_at - paused[0].at == pytest.approx(2, abs=0.5)
    assert sum("paused: usage limit" in t for t in notice_texts(rec)) == 1
    assert statuses(project) == ["done"] * 3
