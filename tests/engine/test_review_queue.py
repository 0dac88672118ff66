"""Review before merge (`[run] merge_when = "review"`): a lane's finished item waits in
`to_review` with its branch and worktree kept; `orchestrate approve` merges it with the
lanes' own machinery, `orchestrate reject` sends it back to build with notes, `undo` takes
either back while nothing is merged, and items that depend on it wait.

Real runs of the scripted agent in real git repositories, and the real CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import stored_item
from engine_helpers import (
    Background,
    lanes_project,
    log_subjects,
    make_project,
    notice_texts,
    ready,
    run_git,
    run_pipeline,
    wait_for,
    worklog_entries,
)

from app.engine.project import Project

pytestmark = pytest.mark.local_only  # agent processes of their own

WORK = {"default": "complete",
        "build": {"mode": "complete", "write": {"feature.txt": "the agent's work\n"}}}
REVIEW = {"merge_when": "review"}


def cli(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    """`orchestrate ARGS` in the project, to its end."""
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=project.root,
                          capture_output=True, text=True, timeout=120)


def reviewed(tmp_path: Path, n: int = 1, parallel: int = 1,
             script: dict[str, Any] | None = None) -> Project:
    """A project whose first item has been through its phases and waits for review."""
    project = lanes_project((tmp_path / "p").resolve(), n, script or WORK, parallel=parallel,
                            run=REVIEW)
    finished, _ = run_pipeline(project, target="WRK-001")
    assert finished.exit_code == 0, finished.reason
    assert stored_item(project, "WRK-001").status == "to_review"
    return project


def test_a_finished_item_waits_for_review_with_its_branch_and_worktree_kept(
        tmp_path: Path) -> None:
    project = lanes_project((tmp_path / "p").resolve(), 1, WORK, parallel=1, run=REVIEW)
    finished, rec = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    item = stored_item(project)
    assert item.status == "to_review"
    root = project.root
    # Nothing reached main: the work is on the kept branch, in the kept worktree.
    assert not (root / "feature.txt").exists()
    assert not any(s.startswith("Merge ") for s in log_subjects(root))
    assert "feature.txt" in run_git(root, "ls-tree", "--name-only", "orchestrate/WRK-001")
    assert (root / ".orchestrator" / "worktrees" / "WRK-001" / "feature.txt").is_file()
    assert any("WRK-001 waits for your review on orchestrate/WRK-001: `orchestrate approve "
               "WRK-001`" in t for t in notice_texts(rec))
    # Six phases, each once: holding it is not an attempt.
    assert [e["phase"] for e in worklog_entries(project)] == [
        "prd", "research", "design", "spec", "build", "review"]


def test_approve_merges_it_now_as_a_lane_is_merged_and_removes_its_worktree(
        tmp_path: Path) -> None:
    project = reviewed(tmp_path)
    root = project.root
    done = cli(project, "approve", "WRK-001")
    assert done.returncode == 0, done.stderr
    assert "WRK-001 approved" in done.stdout
    assert stored_item(project).status == "done"
    assert (root / "feature.txt").read_text() == "the agent's work\n"
    subjects = log_subjects(root)
    assert sum(s.startswith("Merge orchestrate/WRK-001") for s in subjects) == 1
    assert "[WRK-001][DONE] Item 1" in subjects
    assert not (root / ".orchestrator" / "worktrees" / "WRK-001").exists()
    assert "orchestrate/WRK-001" not in run_git(root, "branch", "--list")
    # No agent was asked again: approving merges, it runs no phase.
    assert len(worklog_entries(project)) == 6
    assert run_git(root, "status", "--porcelain") == ""


def test_an_item_that_depends_on_one_under_review_waits_and_then_starts_with_its_work(
        tmp_path: Path) -> None:
    root = (tmp_path / "p").resolve()
    project = make_project(root, [ready(title="Item 1"), ready(title="Item 2",
                                                              depends_on=["WRK-001"])],
                           script=WORK, git=True, command=None,
                           run={"max_parallel": 1, **REVIEW})
    finished, rec = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    assert stored_item(project, "WRK-001").status == "to_review"
    assert stored_item(project, "WRK-002").status == "ready"
    assert any("WRK-002 waits for WRK-001 to be done and merged (WRK-001 waits for your "
               "review: `orchestrate approve WRK-001`)" in t for t in notice_texts(rec))
    assert cli(project, "approve", "WRK-001").returncode == 0
    finished, _ = run_pipeline(project)
    assert stored_item(project, "WRK-002").status == "to_review"
    # WRK-002's branch starts from main with WRK-001's work in it.
    assert "feature.txt" in run_git(root, "ls-tree", "--name-only", "orchestrate/WRK-002")
    assert run_git(root, "merge-base", "--is-ancestor", "HEAD", "orchestrate/WRK-002") == ""


def test_reject_sends_it_back_to_build_with_the_notes_in_the_next_build_prompt(
        tmp_path: Path) -> None:
    project = reviewed(tmp_path)
    rejected = cli(project, "reject", "WRK-001", "--notes", "rate-limit the login form")
    assert rejected.returncode == 0, rejected.stderr
    item = stored_item(project)
    assert (item.status, item.phase) == ("in_progress", "build")
    assert "Sent back from review: rate-limit the login form" in (item.notes or "")
    tip = run_git(project.root, "rev-parse", "orchestrate/WRK-001").strip()
    seen = tmp_path / "seen"
    script = json.loads((tmp_path / "p-script.json").read_text())
    script["build"]["record"] = str(seen)
    (tmp_path / "p-script.json").write_text(json.dumps(script))
    finished, _ = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    assert stored_item(project).status == "to_review"  # reviewed again, not merged
    builds = [e for e in worklog_entries(project) if e["phase"] == "build"]
    assert len(builds) == 2
    prompt = (seen / "WRK-001_build.prompt").read_text()
    assert "Notes from people (follow them):\nSent back from review: rate-limit the login " \
           "form" in prompt
    # The branch went on from where the review left it.
    assert run_git(project.root, "merge-base", "--is-ancestor", tip,
                   "orchestrate/WRK-001") == ""
    assert not (project.root / "feature.txt").exists()


def test_undo_takes_back_an_approve_before_its_merge_and_a_reject_but_not_a_merge(
        tmp_path: Path) -> None:
    project = reviewed(tmp_path)
    held = cli(project, "approve", "WRK-001", "--no-merge")
    assert held.returncode == 0, held.stderr
    assert "the next `orchestrate run` merges WRK-001" in held.stdout
    assert stored_item(project).status == "approved"
    undone = cli(project, "undo")
    assert undone.returncode == 0, undone.stderr
    assert stored_item(project).status == "to_review"
    assert cli(project, "reject", "WRK-001", "--notes", "smaller").returncode == 0
    assert cli(project, "undo").returncode == 0
    item = stored_item(project)
    assert item.status == "to_review" and not item.notes
    assert cli(project, "approve", "WRK-001").returncode == 0
    assert stored_item(project).status == "done"
    refused = cli(project, "undo")
    assert refused.returncode == 1
    assert "cannot undo the approve of WRK-001: it is merged already (done)" in refused.stderr


def test_approve_and_reject_refuse_what_is_not_under_review_saying_why(
        tmp_path: Path) -> None:
    project = make_project((tmp_path / "p").resolve(), [ready(title="Item 1")], git=True)
    before = project.backlog_path.read_bytes()
    refused = cli(project, "approve", "WRK-001")
    assert refused.returncode == 1
    assert ("WRK-001 is ready, not waiting for review: approve takes an item in to_review"
            in refused.stderr)
    refused = cli(project, "reject", "WRK-001", "--notes", "  ")
    assert refused.returncode == 1
    assert "rejecting WRK-001 needs notes saying what to change" in refused.stderr
    assert project.backlog_path.read_bytes() == before


def test_a_live_run_merges_an_item_approved_while_it_works(tmp_path: Path) -> None:
    slow = {**WORK, "items": {"WRK-002": {"default": {"mode": "complete", "sleep": 2}}}}
    project = reviewed(tmp_path, n=2, parallel=2, script=slow)
    with Background(project) as live:
        wait_for(lambda: stored_item(project, "WRK-002").status == "in_progress")
        said = cli(project, "approve", "WRK-001")
        assert said.returncode == 0, said.stderr
        assert "a run or triage is live" in said.stdout
        wait_for(lambda: stored_item(project, "WRK-001").status == "done", timeout=60)
        finished = live.finish(timeout=120)
    assert finished.exit_code == 0, finished.reason
    assert (project.root / "feature.txt").is_file()
    assert stored_item(project, "WRK-002").status == "to_review"


def test_an_approved_merge_that_conflicts_blocks_it_and_unblocking_reviews_it_again(
        tmp_path: Path) -> None:
    project = reviewed(tmp_path)
    root = project.root
    (root / "feature.txt").write_text("the person's own version\n")
    run_git(root, "add", "feature.txt")
    run_git(root, "commit", "-q", "-m", "mine")
    merged = cli(project, "approve", "WRK-001")
    assert merged.returncode in (0, 6), merged.stderr
    item = stored_item(project)
    assert item.status == "blocked"
    assert item.blocked_reason == ("merge conflict in feature.txt; branch orchestrate/WRK-001 "
                                   "kept")
    assert (item.blocked_from, item.phase) == ("in_progress", "review")
    assert (root / "feature.txt").read_text() == "the person's own version\n"
    assert cli(project, "unblock", "WRK-001").returncode == 0
    item = stored_item(project)
    assert (item.status, item.phase) == ("in_progress", "review")


def test_notify_tells_the_person_an_item_is_ready_for_review(tmp_path: Path) -> None:
    heard = tmp_path / "heard.jsonl"
    notify = [sys.executable, "-c",
              f"import sys; open({str(heard)!r}, 'a').write(sys.stdin.read() + '\\n')"]
    project = lanes_project((tmp_path / "p").resolve(), 1, WORK, parallel=1, run=REVIEW,
                            notify={"command": notify})
    finished, _ = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    events = [json.loads(line) for line in heard.read_text().splitlines() if line.strip()]
    review = [e for e in events if e["event"] == "item_ready_for_review"]
    assert len(review) == 1
    assert review[0]["item_id"] == "WRK-001"
    assert "orchestrate approve WRK-001" in review[0]["message"]


@pytest.mark.parametrize(("subject", "state", "kill_git"), [
    ("Merge orchestrate/WRK-001", "prepared", True),  # git dies mid-fast-forward
    ("Merge orchestrate/WRK-001", "committed", False),  # merged, not yet done
])
def test_an_approve_killed_mid_merge_is_merged_once_by_the_next_run(
        tmp_path: Path, subject: str, state: str, kill_git: bool) -> None:
    from test_lanes_finish import armed

    project = reviewed(tmp_path)
    root = project.root
    plan = armed(root, subject, state, kill_git)
    killed = cli(project, "approve", "WRK-001")
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert not plan.exists()
    assert stored_item(project).status == "approved"
    again = cli(project, "run")
    assert again.returncode == 0, again.stdout + again.stderr
    assert stored_item(project).status == "done"
    assert sum(s.startswith("Merge orchestrate/WRK-001") for s in log_subjects(root)) == 1
    assert (root / "feature.txt").read_text() == "the agent's work\n"
    assert len(worklog_entries(project)) == 6  # the agents were not asked again
    assert run_git(root, "status", "--porcelain") == ""
