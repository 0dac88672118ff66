"""Lanes (`[run] max_parallel` > 1): real git repositories, real worktrees, real scripted
agent processes; overlapping attempts, merges, conflicts, dependencies, stop and kill -9."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import stored_item
from engine_helpers import (
    Background,
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
from app.engine import bringback as lanes
from app.engine.events import PhaseStarted
from app.engine.runlock import read_run_state

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc")


def test_items_run_at_once_each_in_its_worktree_and_all_are_merged(tmp_path: Path) -> None:
    record = tmp_path / "record"
    script = {"default": {"mode": "complete", "sleep": 0.4, "record": str(record)}}
    project = lanes_project(tmp_path / "p", 3, script)
    finished, rec = run_pipeline(project)
    assert (finished.reason, finished.exit_code) == ("no more work", 0)
    assert finished.attempts == 18
    assert [stored_item(project, f"WRK-00{i}").status for i in (1, 2, 3)] == ["done"] * 3

    # The attempts of different items overlapped: each prd started before another ended.
    def span(item: str, phase: str) -> tuple[float, float]:
        return (float((record / f"{item}_{phase}.start").read_text()),
                float((record / f"{item}_{phase}.end").read_text()))

    prd = [span(f"WRK-00{i}", "prd") for i in (1, 2, 3)]
    assert max(start for start, _ in prd) < min(end for _, end in prd)
    # Every attempt of an item ran in that item's worktree, on its branch.
    worktrees = (project.root / ".orchestrator" / "worktrees").resolve()
    for i in (1, 2, 3):
        for phase in PHASES:
            cwd = Path((record / f"WRK-00{i}_{phase}.cwd").read_text())
            assert cwd == worktrees / f"WRK-00{i}"
    assert {s.branch for s in rec.of(PhaseStarted)} == {
        "orchestrate/WRK-001", "orchestrate/WRK-002", "orchestrate/WRK-003"}
    # All checkpoints are on the main branch now, and each item has its merge commit.
    log = log_subjects(project.root)
    for i in (1, 2, 3):
        for phase in PHASES:
            assert any(s.startswith(f"[WRK-00{i}][{phase.upper()}]") for s in log), (i, phase)
        assert f"Merge orchestrate/WRK-00{i}: [WRK-00{i}] Item {i}" in log
        assert f"[WRK-00{i}][DONE] Item {i}" in log
    merges = log_subjects(project.root, "--merges")
    assert len(merges) == 3
    # The documents are in the main checkout; worktrees and merged branches are gone;
    # the main checkout is clean (BACKLOG.yaml was committed with each item's end).
    assert (project.root / "changes" / "WRK-002_item-2" / "REVIEW.md").is_file()
    assert not any(worktrees.iterdir())
    assert "orchestrate/" not in run_git(project.root, "branch", "--list")
    assert run_git(project.root, "status", "--porcelain") == ""
    assert run_git(project.root, "worktree", "list").count("\n") == 1


def test_two_items_writing_one_file_one_is_merged_one_blocked_with_the_conflict(
        tmp_path: Path) -> None:
    script = {"default": "complete", "items": {
        "WRK-001": {"build": {"mode": "complete", "write": {"shared.txt": "one\n"}}},
        "WRK-002": {"build": {"mode": "complete", "write": {"shared.txt": "two\n"}}}}}
    project = lanes_project(tmp_path / "p", 2, script, parallel=2)
    (project.root / "shared.txt").write_text("base\n")
    run_git(project.root, "add", "shared.txt")
    run_git(project.root, "commit", "-q", "-m", "shared")
    finished, rec = run_pipeline(project)
    assert finished.exit_code == 0
    statuses = {i: stored_item(project, i).status for i in ("WRK-001", "WRK-002")}
    assert sorted(statuses.values()) == ["blocked", "done"]
    loser = next(i for i, s in statuses.items() if s == "blocked")
    winner = next(i for i, s in statuses.items() if s == "done")
    item = stored_item(project, loser)
    assert item.blocked_reason == (f"merge conflict in shared.txt; branch orchestrate/{loser} "
                                   "kept")
    assert (item.blocked_from, item.phase) == ("in_progress", "review")
    # The main checkout holds the winner's text, is not mid-merge, and is clean.
    winner_text = "one\n" if winner == "WRK-001" else "two\n"
    assert (project.root / "shared.txt").read_text() == winner_text
    git_dir = project.root / ".git"
    assert not (git_dir / "MERGE_HEAD").exists()
    # (BACKLOG.yaml says the loser is blocked: a block is not a checkpoint.)
    assert run_git(project.root, "status", "--porcelain") == " M BACKLOG.yaml\n"
    assert f"orchestrate/{loser}" in run_git(project.root, "branch", "--list")
    assert (project.root / ".orchestrator" / "worktrees" / loser).is_dir()

    # Unblocked, its lane brings the branch up to date first; the agent resolves the
    # conflict in its review (keeping its own side), and the branch merges.
    from app.engine import actions

    actions.unblock(project, loser, notes="keep yours")
    (tmp_path / "p-script.json").write_text(json.dumps(
        {"default": "complete", "review": {"mode": "complete", "resolve": True}}))
    finished, rec = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    assert stored_item(project, loser).status == "done"
    said = notice_texts(rec)
    assert any(f"{loser}: bringing orchestrate/{loser} up to date" in t and "shared.txt" in t
               for t in said)
    prompts = [p for p in (project.root / ".orchestrator" / "logs").glob(f"{loser}_review_*")]
    assert prompts
    assert (project.root / "shared.txt").read_text() == ("one\n" if loser == "WRK-001"
                                                        else "two\n")
    assert "<<<<<<<" not in (project.root / "shared.txt").read_text()
    assert run_git(project.root, "status", "--porcelain") == ""


def test_an_item_waits_for_its_dependency_to_be_merged(tmp_path: Path) -> None:
    record = tmp_path / "record"
    script = {"default": {"mode": "complete", "record": str(record)}}
    project = make_project(
        tmp_path / "p", [ready(title="Base"), ready(title="On top", depends_on=["WRK-001"])],
        script=script, git=True, run={"max_parallel": 2})
    finished, rec = run_pipeline(project)
    assert finished.exit_code == 0
    assert stored_item(project, "WRK-002").status == "done"
    base_end = float((record / "WRK-001_review.end").read_text())
    assert float((record / "WRK-002_prd.start").read_text()) > base_end
    assert any("WRK-002 waits for WRK-001 to be done and merged" in t for t in notice_texts(rec))
    # Its branch was made from the run's branch after the merge: WRK-001's review is in
    # WRK-002's history.
    hashes = dict(line.split(" ", 1)[::-1] for line in run_git(
        project.root, "log", "--format=%h %s").splitlines())
    review = next(h for s, h in hashes.items() if s.startswith("[WRK-001][REVIEW]"))
    prd = next(h for s, h in hashes.items() if s.startswith("[WRK-002][PRD]"))
    run_git(project.root, "merge-base", "--is-ancestor", review, prd)


def test_a_dirty_main_checkout_postpones_the_merge_and_is_never_clobbered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lanes, "MERGE_RETRY_S", 0.2)
    script = {"default": "complete",
              "build": {"mode": "complete", "write": {"feature.txt": "the agent's\n"}}}
    project = lanes_project(tmp_path / "p", 1, script, parallel=2)
    feature = project.root / "feature.txt"
    feature.write_text("committed\n")
    run_git(project.root, "add", "feature.txt")
    run_git(project.root, "commit", "-q", "-m", "feature")
    feature.write_text("the person's own edit\n")
    with Background(project) as run:
        said = wait_for(lambda: [t for t in notice_texts(run.rec)
                                 if "waits to be merged" in t])
        assert "feature.txt" in said[0]
        assert "stash only them (`git stash push -- feature.txt`" in said[0]
        time.sleep(0.5)
        assert feature.read_text() == "the person's own edit\n"
        assert stored_item(project).status == "in_progress"
        # The person commits their edit elsewhere: put it away, and the merge goes on.
        run_git(project.root, "checkout", "--", "feature.txt")
        assert run.finish().exit_code == 0
    assert stored_item(project).status == "done"
    assert feature.read_text() == "the agent's\n"


@pytest.mark.local_only  # an agent process of its own
def test_ctrl_c_with_three_lanes_live_stops_every_agent_and_records_each(
        tmp_path: Path) -> None:
    project = lanes_project(tmp_path / "p", 3, {"prd": "hang"})
    with Background(project) as run:
        started = wait_for(lambda: len(run.rec.of(PhaseStarted)) >= 3
                           and run.rec.of(PhaseStarted))
        pids = [s.pid for s in started]
        assert all(alive(pid) for pid in pids)
        run.pipeline.request_stop()
        finished = run.finish()
    assert finished.exit_code == 130 and finished.reason == "stopped"
    assert not any(alive(pid) for pid in pids)
    entries = worklog_entries(project)
    assert sorted((e["item"], e["outcome"]) for e in entries) == [
        (f"WRK-00{i}", "interrupted") for i in (1, 2, 3)]
    assert [stored_item(project, f"WRK-00{i}").status for i in (1, 2, 3)] == [
        "in_progress"] * 3


@pytest.mark.local_only  # an agent process of its own
def test_kill_9_with_three_lanes_live_is_recovered_by_the_next_run(tmp_path: Path) -> None:
    script_path = tmp_path / "p-script.json"
    project = lanes_project(tmp_path / "p", 3, {"prd": "hang"})
    proc = orchestrate(project, "run", start_new_session=True)
    try:
        state = wait_for(lambda: len(read_run_state(project).get("agents", [])) == 3
                         and read_run_state(project))
        agents = [a["agent_pid"] for a in state["agents"]]
        assert all(alive(pid) for pid in agents)
        # Each agent has said its line: none dies of a closed pipe after the kill.
        logs = project.root / ".orchestrator" / "logs"
        wait_for(lambda: all("Working on it" in (logs / f"WRK-00{i}_prd_1.log").read_text()
                             for i in (1, 2, 3) if (logs / f"WRK-00{i}_prd_1.log").exists())
                 and len(list(logs.glob("WRK-00?_prd_1.log"))) == 3)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert all(alive(pid) for pid in agents)  # their own groups: they outlive the run
        script_path.write_text(json.dumps({"default": "complete"}))
        finished, rec = run_pipeline(project)
    finally:
        if proc.poll() is None:
            proc.kill()
    said = notice_texts(rec)
    assert sum("left its agent running" in t for t in said) == 3, said
    assert not any(alive(pid) for pid in agents)
    assert sum("goes on in the worktree an earlier run left" in t for t in said) == 3
    assert finished.exit_code == 0
    assert [stored_item(project, f"WRK-00{i}").status for i in (1, 2, 3)] == ["done"] * 3
    assert run_git(project.root, "status", "--porcelain") == ""


def test_rebase_keeps_the_main_history_linear(tmp_path: Path) -> None:
    project = lanes_project(tmp_path / "p", 2, {"default": "complete"}, parallel=2,
                            run={"merge": "rebase"})
    finished, _ = run_pipeline(project)
    assert finished.exit_code == 0
    assert log_subjects(project.root, "--merges") == []
    log = log_subjects(project.root)
    assert sum(s.startswith("[WRK-001][") for s in log) == 7  # six phases and DONE
    assert sum(s.startswith("[WRK-002][") for s in log) == 7
    assert run_git(project.root, "status", "--porcelain") == ""


def test_merge_none_leaves_the_branch_for_a_pull_request(tmp_path: Path) -> None:
    project = lanes_project(tmp_path / "p", 1, {"default": "complete"}, parallel=2,
                            run={"merge": "none"})
    finished, rec = run_pipeline(project)
    assert finished.exit_code == 0
    assert stored_item(project).status == "done"
    assert "orchestrate/WRK-001" in run_git(project.root, "branch", "--list")
    assert not any(s.startswith("[WRK-001][PRD]") for s in log_subjects(project.root))
    branch_log = log_subjects(project.root, "orchestrate/WRK-001")
    assert branch_log[0].startswith("[WRK-001][REVIEW]")
    assert not (project.root / ".orchestrator" / "worktrees" / "WRK-001").exists()
    assert any("left for a pull request" in t for t in notice_texts(rec))


def test_new_ideas_are_triaged_beside_the_lanes_and_then_run(tmp_path: Path) -> None:
    script = {"default": "complete",
              "triage": {"mode": "complete",
                         "assessment": {"size": "small", "complexity": "low", "risk": "low"}}}
    project = make_project(tmp_path / "p", [ready(title="Ready one"), {"title": "New idea"}],
                           script=script, git=True, run={"max_parallel": 2})
    finished, _ = run_pipeline(project)
    assert finished.exit_code == 0
    assert stored_item(project, "WRK-002").status == "done"
    phases = [(e["item"], e["phase"]) for e in worklog_entries(project)]
    assert ("WRK-002", "triage") in phases
    # The triage ran while WRK-001's lane was working.
    triage_at = phases.index(("WRK-002", "triage"))
    assert any(item == "WRK-001" for item, _ in phases[triage_at + 1:])


def test_without_git_lanes_fall_back_to_one_item_at_a_time(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready(title=f"Item {i}") for i in (1, 2)],
                           script={"default": "complete"}, run={"max_parallel": 2})
    finished, rec = run_pipeline(project)
    assert finished.exit_code == 0
    assert any("max_parallel = 2, but" in t and "not in a git repository" in t
               and "one item at a time" in t for t in notice_texts(rec))
    assert [stored_item(project, i).status for i in ("WRK-001", "WRK-002")] == ["done"] * 2


def test_a_leftover_worktree_of_a_done_item_is_removed_with_a_notice(tmp_path: Path) -> None:
    project = lanes_project(tmp_path / "p", 1, {"default": "complete"}, parallel=2)
    (project.root / ".orchestrator" / "worktrees").mkdir(parents=True, exist_ok=True)
    path = project.root / ".orchestrator" / "worktrees" / "WRK-009"
    run_git(project.root, "worktree", "add", "-q", "-b", "orchestrate/WRK-009", str(path))
    _, rec = run_pipeline(project)
    assert any("removed the worktree of WRK-009 (deleted)" in t for t in notice_texts(rec))
    assert not path.exists()
    assert "orchestrate/WRK-009" in run_git(project.root, "branch", "--list")


def test_a_merge_git_refuses_blocks_the_item_instead_of_looping(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.engine import merges, worktrees

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise worktrees.GitError("git commit-tree failed: fatal: out of disk space")

    monkeypatch.setattr(merges.Merges, "bring_back", refuse)
    project = lanes_project(tmp_path / "p", 1, {"default": "complete"}, parallel=2)
    finished, _ = run_pipeline(project)
    assert finished.exit_code == exitcodes.ALL_BLOCKED  # nothing moved forward
    item = stored_item(project)
    assert item.status == "blocked"
    assert item.blocked_reason == ("merging orchestrate/WRK-001 failed: git commit-tree "
                                   "failed: fatal: out of disk space; branch "
                                   "orchestrate/WRK-001 kept")
    assert [e["phase"] for e in worklog_entries(project)].count("review") == 1


def test_an_item_made_ready_while_lanes_run_is_taken_in_the_same_run(tmp_path: Path) -> None:
    """The scheduler looks again when BACKLOG.yaml is written, not only when a lane ends."""
    from app.engine import actions

    script = {"default": {"mode": "complete", "sleep": 0.3}}
    project = lanes_project(tmp_path / "p", 1, script, parallel=2)
    with Background(project) as run:
        wait_for(lambda: run.rec.of(PhaseStarted))
        item = actions.add_item(project, "Late idea", size="small", risk="low")
        actions.advance(project, item.id, "ready")
        assert run.finish(60).exit_code == 0
    rec = run.rec
    assert stored_item(project, "WRK-002").status == "done"
    first = {s.item_id: s.at for s in rec.of(PhaseStarted) if s.phase == "prd"}
    assert first["WRK-002"] < max(s.at for s in rec.of(PhaseStarted)
                                  if s.item_id == "WRK-001")  # beside WRK-001, not after


def test_merge_none_starts_a_dependent_from_its_dependencys_unmerged_branch(
        tmp_path: Path) -> None:
    script = {"default": "complete",
              "items": {"WRK-001": {"build": {"mode": "complete",
                                              "write": {"base.txt": "WRK-001's work\n"}}}}}
    project = make_project(tmp_path / "p", [ready(title="Base"),
                                            ready(title="On top", depends_on=["WRK-001"])],
                           script=script, git=True, run={"max_parallel": 2, "merge": "none"})
    finished, rec = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    assert [stored_item(project, i).status for i in ("WRK-001", "WRK-002")] == ["done"] * 2
    # WRK-002's branch holds WRK-001's work: its pull request builds on WRK-001's.
    run_git(project.root, "merge-base", "--is-ancestor", "orchestrate/WRK-001",
            "orchestrate/WRK-002")
    assert run_git(project.root, "show", "orchestrate/WRK-002:base.txt") == "WRK-001's work\n"
    assert not (project.root / "base.txt").exists()  # nothing merged into the main branch
    said = notice_texts(rec)
    assert any(t.startswith("WRK-002 starts from orchestrate/WRK-001, not ") for t in said)
    assert not any("and merged" in t for t in said)


def test_merge_none_with_two_unmerged_dependencies_waits_for_a_person(
        tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [
        ready(title="One"), ready(title="Two"),
        ready(title="Both", depends_on=["WRK-001", "WRK-002"])],
        script={"default": "complete"}, git=True, run={"max_parallel": 3, "merge": "none"})
    finished, rec = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    assert stored_item(project, "WRK-003").status == "ready"  # never started without both
    assert run_git(project.root, "branch", "--list", "orchestrate/WRK-003") == ""
    assert any("WRK-003 waits until a person merges orchestrate/WRK-001, orchestrate/WRK-002"
               in t for t in notice_texts(rec))
    # The person merges both pull requests: the next run starts it from the main branch.
    run_git(project.root, "merge", "-q", "--no-edit", "orchestrate/WRK-001",
            "orchestrate/WRK-002")
    finished, _ = run_pipeline(project)
    assert finished.exit_code == 0 and stored_item(project, "WRK-003").status == "done"


def test_lanes_checkpoint_when_the_persons_gitignore_lists_the_state_folder(
        tmp_path: Path) -> None:
    # The result file lies in the worktree's own .orchestrator/; a .gitignore of the
    # person's naming that folder must not make the lane's `git add` refuse it.
    project = lanes_project(tmp_path / "p", 2, {"default": "complete"}, parallel=2)
    (project.root / ".gitignore").write_text(".orchestrator/\n")
    run_git(project.root, "add", ".gitignore")
    run_git(project.root, "commit", "-q", "-m", "ignore the state folder")
    finished, rec = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    assert not [t for t in notice_texts(rec) if "checkpoint of" in t and "failed" in t]
    assert len(log_subjects(project.root, "--merges")) == 2
