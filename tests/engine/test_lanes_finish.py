"""A lane's finish happens exactly once, whatever falls in between its steps.

After the review's answer a lane takes several steps outside the agent: the review's
checkpoint, the merge (a merge commit, then the main checkout fast-forwarded), the item
moved to done, BACKLOG.yaml committed, the worktree removed. Each test kills the run
with -9 at one of those steps, for real: a git `reference-transaction` hook kills the
run (git's parent) the moment git is about to write (`prepared`: with git itself, which
leaves git's lock files and a half-moved checkout behind) or has just written
(`committed`) the commit of that step. The next run must finish the item (never ask the
agent again, never merge twice) and leave the checkout clean.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import stored_item
from engine_helpers import (
    Background,
    lanes_project,
    log_subjects,
    notice_texts,
    orchestrate,
    run_git,
    run_pipeline,
    wait_for,
    worklog_entries,
)

from app.engine import bringback as lanes
from app.engine.project import Project

HOOK = """#!{python}
# The test's kill switch: kills the run (git's parent), and git too when asked, at the
# first ref update whose new commit's subject starts with the plan's.
import json, os, signal, subprocess, sys
try:
    with open({plan!r}) as fh:
        plan = json.load(fh)
except OSError:
    sys.exit(0)
if sys.argv[1] != plan["state"]:
    sys.exit(0)
for line in sys.stdin:
    old, new, ref = line.split()
    if set(new) == {{"0"}}:
        continue
    subject = subprocess.run(["git", "log", "-1", "--format=%s", new], capture_output=True,
                             text=True).stdout
    if not subject.startswith(plan["subject"]):
        continue
    os.unlink({plan!r})  # once
    git = os.getppid()
    with open(f"/proc/{{git}}/stat") as fh:
        run = int(fh.read().rsplit(")", 1)[1].split()[1])
    os.kill(run, signal.SIGKILL)
    if plan["kill_git"]:
        os.kill(git, signal.SIGKILL)
    sys.exit(0)
"""


def armed(root: Path, subject: str, state: str, kill_git: bool) -> Path:
    """The project's repository with the kill switch set for one step."""
    plan = root.parent / "kill-plan.json"
    plan.write_text(json.dumps({"subject": subject, "state": state, "kill_git": kill_git}))
    hook = root / ".git" / "hooks" / "reference-transaction"
    hook.write_text(HOOK.format(python=sys.executable, plan=str(plan)))
    hook.chmod(0o755)
    return plan


def git_locks(root: Path) -> list[str]:
    git_dir = root / ".git"
    return sorted(str(p.relative_to(git_dir)) for p in git_dir.rglob("*.lock"))


STEPS = [
    # (the commit whose ref update is the moment, prepared or committed, git killed too)
    ("[WRK-001][REVIEW]", "prepared", True),  # the review's checkpoint never lands
    ("[WRK-001][REVIEW]", "committed", False),  # checkpointed, not merged
    ("Merge orchestrate/WRK-001", "prepared", True),  # git dies mid-fast-forward
    ("Merge orchestrate/WRK-001", "committed", False),  # merged, not yet done
    ("[WRK-001][DONE]", "prepared", True),  # done, BACKLOG.yaml's commit cut short
    ("[WRK-001][DONE]", "committed", False),  # committed, worktree not yet removed
]


@pytest.mark.local_only  # an agent process of its own
@pytest.mark.parametrize(("subject", "state", "kill_git"), STEPS,
                         ids=[f"{s.split()[0]}-{st}" for s, st, _ in STEPS])
def test_kill_9_at_each_step_of_a_finish_is_finished_once_by_the_next_run(
        tmp_path: Path, subject: str, state: str, kill_git: bool) -> None:
    root = (tmp_path / "p").resolve()
    script = {"default": "complete",
              "build": {"mode": "complete", "write": {"feature.txt": "the agent's work\n"}}}
    project = lanes_project(root, 1, script, parallel=2)
    plan = armed(root, subject, state, kill_git)
    killed = orchestrate(project, "run")
    killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL, "the kill switch never fired"
    assert not plan.exists()
    if kill_git:  # what a git killed mid-write leaves: its lock files
        assert git_locks(root), "git was killed before it took any lock"
    if subject.startswith("Merge") and state == "prepared":
        # The main checkout already holds the merge's files; its branch does not.
        assert "feature.txt" in run_git(root, "status", "--porcelain")

    with Background(project) as again:  # bounded: a finish that waits for ever fails
        finished = again.finish(timeout=90)
    rec = again.rec
    assert finished.exit_code == 0, finished.reason
    assert stored_item(project).status == "done"
    reviews = [e for e in worklog_entries(project) if e["phase"] == "review"]
    assert len(reviews) == 1  # the agent was not asked twice
    assert log_subjects(root, "--merges") == [
        "Merge orchestrate/WRK-001: [WRK-001] Item 1"]  # merged once
    done = [s for s in log_subjects(root) if s.startswith("[WRK-001][DONE]")]
    assert len(done) == 1
    assert (root / "feature.txt").read_text() == "the agent's work\n"
    assert run_git(root, "status", "--porcelain") == ""
    assert run_git(root, "branch", "--list", "orchestrate/WRK-001") == ""
    assert not (root / ".orchestrator" / "worktrees" / "WRK-001").exists()
    assert git_locks(root) == []
    assert not (project.state_dir / "answers" / "WRK-001.json").exists()
    said = notice_texts(rec)
    if kill_git:
        assert any("removed git lock files that a git killed mid-way left" in t
                   for t in said), said
    if subject.startswith("Merge") and state == "prepared":
        assert any("left half fast-forwarded by a git killed mid-way" in t for t in said)


def test_following_the_advice_to_stash_ends_with_the_item_done_and_merged_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lanes, "MERGE_RETRY_S", 0.2)
    root = (tmp_path / "p").resolve()
    script = {"default": "complete",
              "build": {"mode": "complete", "write": {"feature.txt": "the agent's work\n"}}}
    project = lanes_project(root, 1, script, parallel=2)
    (root / "feature.txt").write_text("the person's first draft\n")
    run_git(root, "add", "feature.txt")
    run_git(root, "commit", "-q", "-m", "a draft")
    (root / "feature.txt").write_text("the person's own edit\n")  # uncommitted
    with Background(project) as run:
        wait_for(lambda: any("waits to be merged" in t for t in notice_texts(run.rec)))
        # A plain `git stash` (not only their file) takes the run's BACKLOG.yaml too:
        # the item goes back to ready in the file, under the run.
        stash(root)
        finished = run.finish(timeout=60)
    assert finished.exit_code == 0, finished.reason
    assert stored_item(project).status == "done"
    assert log_subjects(root, "--merges") == ["Merge orchestrate/WRK-001: [WRK-001] Item 1"]
    assert any("the file went back under the run" in t and "marked done" in t
               for t in notice_texts(run.rec))
    # The next run has nothing to do: no phase is run again, nothing merged again.
    again, _ = run_pipeline(project)
    assert again.exit_code == 0 and again.attempts == 0
    assert len(log_subjects(root, "--merges")) == 1
    assert run_git(root, "stash", "list") != ""  # the person's edit is in their stash


def stash(root: Path) -> None:
    """`git stash`, retried while a git of the run holds the index for an instant."""
    for _ in range(50):
        done = subprocess.run(["git", "stash"], cwd=root, capture_output=True, text=True)
        if done.returncode == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"git stash kept failing: {done.stderr}")


def test_a_stale_git_lock_without_a_git_at_work_is_cleared_at_the_start(
        tmp_path: Path) -> None:
    root = (tmp_path / "p").resolve()
    project: Project = lanes_project(root, 1, {"default": "complete"}, parallel=2)
    (root / ".git" / "index.lock").write_text("")
    (root / ".git" / "refs" / "heads" / "stale.lock").write_text("")
    with Background(project) as run:  # bounded: it used to wait for ever to merge
        finished = run.finish(timeout=60)
    rec = run.rec
    assert finished.exit_code == 0, finished.reason
    assert git_locks(root) == []
    assert any("removed git lock files" in t and "index.lock" in t
               for t in notice_texts(rec))


def test_a_git_lock_while_a_git_works_in_the_repository_is_left_alone(tmp_path: Path) -> None:
    root = (tmp_path / "p").resolve()
    lanes_project(root, 1, {"default": "complete"}, parallel=2)
    lock = root / ".git" / "index.lock"
    lock.write_text("")
    persons_git = subprocess.Popen(["git", "cat-file", "--batch"], cwd=root,
                                   stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        from app.engine.worktrees import Repository
        assert Repository(root).clear_stale_locks() == []
        assert lock.exists()
    finally:
        persons_git.kill()
        persons_git.wait()
    assert os.path.exists(lock)
