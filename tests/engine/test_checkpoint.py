"""Git checkpoints in real repositories: one commit per phase with only what it changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import counting_git, make_project, run_git

from app.engine import checkpoint
from app.engine.checkpoint import Checkpointer


def _files_in_head(root: Path) -> set[str]:
    return set(run_git(root, "show", "--name-only", "--format=", "HEAD").split())


def _refusing_hook(root: Path, words: str = "") -> Path:
    """A pre-commit hook that refuses every commit, saying `words` on stderr."""
    hook = root / ".git" / "hooks" / "pre-commit"
    say = f"echo '{words}' >&2\n" if words else ""
    hook.write_text(f"#!/bin/sh\n{say}exit 1\n")
    hook.chmod(0o755)
    return hook


def test_commits_new_and_changed_files_with_the_message_format(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", git=True)
    root = project.root
    cp = Checkpointer(root)
    before = cp.dirty()
    (root / "changes").mkdir()
    (root / "changes" / "PRD.md").write_text("# PRD\n")
    (root / "BACKLOG.yaml").write_text((root / "BACKLOG.yaml").read_text() + "# moved\n")
    (root / ".orchestrator" / "logs").mkdir(parents=True, exist_ok=True)
    (root / ".orchestrator" / "logs" / "x.log").write_text("log")
    done = cp.commit("WRK-001", "prd", "PRD written", before)
    assert done.commit and not done.error
    assert run_git(root, "log", "-1", "--format=%s").strip() == "[WRK-001][PRD] PRD written"
    assert _files_in_head(root) == {"changes/PRD.md", "BACKLOG.yaml"}
    assert run_git(root, "status", "--porcelain").strip() == ""


def test_a_file_dirty_before_the_phase_is_not_swept_in(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", git=True)
    root = project.root
    (root / "mine.txt").write_text("a person's work in progress\n")
    run_git(root, "add", "mine.txt")
    run_git(root, "commit", "-q", "-m", "mine")
    (root / "mine.txt").write_text("edited by the person, not committed\n")
    (root / "staged.txt").write_text("staged by the person\n")
    run_git(root, "add", "staged.txt")
    cp = Checkpointer(root)
    before = cp.dirty()
    assert "mine.txt" in before
    (root / "mine.txt").write_text("edited by the person and then by the agent\n")
    (root / "agent.txt").write_text("the agent's file\n")
    done = cp.commit("WRK-002", "build", "step", before)
    assert done.commit
    assert _files_in_head(root) == {"agent.txt"}
    assert done.left_out == ("mine.txt", "staged.txt")
    status = run_git(root, "status", "--porcelain")
    assert " M mine.txt" in status and "A  staged.txt" in status


def test_nothing_changed_means_no_commit(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", git=True)
    cp = Checkpointer(project.root)
    head = run_git(project.root, "rev-parse", "HEAD")
    assert cp.commit("WRK-001", "prd", "x", cp.dirty()).commit is None
    assert run_git(project.root, "rev-parse", "HEAD") == head


def test_not_a_git_repository_turns_checkpoints_off_with_a_reason(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    cp = Checkpointer(project.root)
    assert not cp.active and "not in a git repository" in (cp.reason_off or "")
    assert cp.commit("WRK-001", "prd", "x", set()).commit is None


def test_checkpoint_false_turns_them_off(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", git=True)
    cp = Checkpointer(project.root, enabled=False)
    assert not cp.active and "run.checkpoint = false" in (cp.reason_off or "")


@pytest.mark.parametrize("state_ignored_by_itself", [False, True])
def test_a_project_in_a_subfolder_of_the_repository(tmp_path: Path,
                                                    state_ignored_by_itself: bool) -> None:
    """With and without the state folder's own .gitignore (a run writes it; then a phase
    begun on a clean tree is committed without a `git status`)."""
    repo = tmp_path / "repo"
    project = make_project(repo / "sub", git=False)
    if state_ignored_by_itself:
        project.ensure_state_dirs()
    run_git(repo, "init", "-q")
    run_git(repo, "config", "user.name", "T")
    run_git(repo, "config", "user.email", "t@example.com")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "init")
    cp = Checkpointer(project.root)
    before = cp.dirty()
    (project.root / "new.md").write_text("x")
    (project.root / ".orchestrator" / "logs").mkdir(parents=True, exist_ok=True)
    (project.root / ".orchestrator" / "logs" / "x.log").write_text("log")
    assert cp.commit("WRK-001", "design", "d", before).commit
    assert _files_in_head(repo) == {"sub/new.md"}


def test_a_failing_commit_hook_is_reported_not_fatal(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", git=True)
    _refusing_hook(project.root, "lint failed: trailing spaces")
    cp = Checkpointer(project.root)
    before = cp.dirty()
    (project.root / "doc.md").write_text("x")
    done = cp.commit("WRK-001", "prd", "PRD", before)
    assert done.commit is None and "lint failed: trailing spaces" in (done.error or "")


def test_a_rejected_checkpoint_unstages_and_the_next_one_takes_its_files(
        tmp_path: Path) -> None:
    """A hook that says no must not leave the phase's files staged (the person could
    commit them by accident), nor make the next phase take them for the person's own
    work: the next checkpoint commits them."""
    project = make_project(tmp_path / "p", git=True)
    hook = _refusing_hook(project.root)
    (project.root / "mine.txt").write_text("the person's own work\n")
    run_git(project.root, "add", "mine.txt")  # staged by the person, before any phase
    cp = Checkpointer(project.root)
    before = cp.dirty()
    (project.root / "PRD.md").write_text("prd\n")
    assert cp.commit("WRK-001", "prd", "PRD", before).commit is None
    assert run_git(project.root, "diff", "--cached", "--name-only").split() == ["mine.txt"]

    hook.unlink()
    before = cp.dirty()  # PRD.md is dirty now, but it is the last phase's
    (project.root / "RESEARCH.md").write_text("research\n")
    done = cp.commit("WRK-001", "research", "Research", before)
    assert done.commit is not None
    assert _files_in_head(project.root) == {"PRD.md", "RESEARCH.md"}
    assert done.left_out == ("mine.txt",)
    assert run_git(project.root, "diff", "--cached", "--name-only").split() == ["mine.txt"]


def test_the_next_phase_starts_from_what_the_checkpoint_left_without_asking_git(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path / "p", git=True)
    root = project.root
    (root / "mine.txt").write_text("a person's file, never committed\n")
    cp = Checkpointer(root)
    before = cp.dirty_at_phase_start()  # no checkpoint yet: git is asked
    assert before == {"mine.txt"}
    (root / "PRD.md").write_text("# PRD\n")
    assert cp.commit("WRK-001", "prd", "PRD", before).commit
    calls = counting_git(monkeypatch)
    assert cp.dirty_at_phase_start() == {"mine.txt"}
    assert calls == []
    assert cp.dirty() == {"mine.txt"}  # what git says too
    # Once only, and only while it is fresh: later, git is asked again.
    calls.clear()
    assert cp.dirty_at_phase_start() == {"mine.txt"} and [c[0] for c in calls] == ["status"]
    (root / "SPEC.md").write_text("# SPEC\n")
    assert cp.commit("WRK-001", "spec", "SPEC", {"mine.txt"}).commit
    monkeypatch.setattr(checkpoint, "KNOWN_FOR_S", 0.0)
    (root / "late.txt").write_text("the person's, after the checkpoint\n")
    calls.clear()
    assert cp.dirty_at_phase_start() == {"mine.txt", "late.txt"}
    assert [c[0] for c in calls] == ["status"]


def test_checkpoints_leave_gits_maintenance_to_one_tidy_after_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path / "p", git=True)
    root = project.root
    cp = Checkpointer(root)
    calls = counting_git(monkeypatch)
    cp.tidy()
    assert calls == []  # nothing committed: nothing to tidy
    for n in range(2):
        (root / f"f{n}.txt").write_text("x\n")
        assert cp.commit("WRK-001", "build", f"step {n}", set()).commit
    commits = [c for c in calls if "commit" in c]
    assert len(commits) == 2
    assert all(c[:2] == ("-c", "maintenance.auto=false") for c in commits)
    calls.clear()
    cp.tidy()
    cp.tidy()
    assert calls == [("maintenance", "run", "--auto", "--quiet")]


def test_the_checkpoints_commit_is_read_from_gits_files_or_asked_of_git(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path / "p", git=True)
    root = project.root
    cp = Checkpointer(root)
    calls = counting_git(monkeypatch)
    (root / "a.txt").write_text("a\n")
    done = cp.commit("WRK-001", "prd", "a", set())
    assert done.commit == run_git(root, "rev-parse", "--short=7", "HEAD").strip()
    assert not [c for c in calls if c[0] == "rev-parse"]  # read from .git/refs/heads/...
    full = run_git(root, "rev-parse", "HEAD").strip()
    git_dir = root / ".git"
    assert checkpoint.read_head(git_dir, git_dir) == full
    # Packed refs (no loose file): not read, so git is asked.
    run_git(root, "pack-refs", "--all")
    assert checkpoint.read_head(git_dir, git_dir) is None
    (root / "b.txt").write_text("b\n")
    calls.clear()
    done = cp.commit("WRK-001", "spec", "b", set())
    assert done.commit == run_git(root, "rev-parse", "--short", "HEAD").strip()
    # A detached HEAD holds the commit itself.
    run_git(root, "checkout", "-q", "--detach")
    assert checkpoint.read_head(git_dir, git_dir) == run_git(root, "rev-parse", "HEAD").strip()


def test_a_linked_worktrees_head_is_its_own(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", git=True)
    root = project.root
    run_git(root, "worktree", "add", "-q", "-b", "side", str(tmp_path / "side"))
    (tmp_path / "side" / "s.txt").write_text("s\n")
    cp = Checkpointer(tmp_path / "side")
    done = cp.commit("WRK-002", "build", "side work", set())
    assert done.commit == run_git(tmp_path / "side", "rev-parse", "--short=7", "HEAD").strip()
    assert done.commit != run_git(root, "rev-parse", "--short=7", "HEAD").strip()


def test_a_phase_begun_on_a_clean_tree_is_committed_without_a_git_status(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The usual case: nothing but BACKLOG.yaml was dirty as the phase began, so all that
    is dirty now is the phase's: one `git add` and one `git commit`, no `git status` to
    list it first. Our state folder stays out even where a person forced a file of it
    into the index."""
    project = make_project(tmp_path / "p", git=True)
    root = project.root
    project.ensure_state_dirs()  # as a run does: the folder's own .gitignore
    # The repository ignores the folder too (a pathspec naming it would make git add fail).
    (root / ".gitignore").write_text(".orchestrator/\n")
    run_git(root, "add", ".gitignore")
    run_git(root, "commit", "-q", "-m", "ignore")
    (root / ".orchestrator" / "forced.txt").write_text("staged by hand\n")
    run_git(root, "add", "-f", ".orchestrator/forced.txt")
    cp = Checkpointer(root)
    # The item was moved into its phase before the phase began: BACKLOG.yaml is ours.
    (root / "BACKLOG.yaml").write_text((root / "BACKLOG.yaml").read_text() + "# moved\n")
    before = cp.dirty_at_phase_start()
    assert before == {"BACKLOG.yaml"}
    (root / "changes").mkdir()
    (root / "changes" / "PRD.md").write_text("# PRD\n")
    (root / "BACKLOG.yaml").write_text((root / "BACKLOG.yaml").read_text() + "# done\n")
    (root / ".orchestrator" / "logs" / "x.log").write_text("log")
    calls = counting_git(monkeypatch)
    done = cp.commit("WRK-001", "prd", "PRD written", before)
    assert done.commit and not done.error and not done.left_out
    assert [c[0] for c in calls] == ["add", "-c"]  # add, then `git -c ... commit`
    assert _files_in_head(root) == {"changes/PRD.md", "BACKLOG.yaml"}
    assert run_git(root, "diff", "--cached", "--name-only").split() == [
        ".orchestrator/forced.txt"]
    calls.clear()
    assert cp.dirty_at_phase_start() == set() and calls == []


def test_a_rejected_checkpoint_of_a_clean_start_unstages_and_the_next_takes_its_files(
        tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", git=True)
    project.ensure_state_dirs()
    hook = _refusing_hook(project.root, "no commits today")
    cp = Checkpointer(project.root)
    before = cp.dirty_at_phase_start()
    (project.root / "PRD.md").write_text("prd\n")
    done = cp.commit("WRK-001", "prd", "PRD", before)
    assert done.commit is None and "no commits today" in (done.error or "")
    assert run_git(project.root, "diff", "--cached", "--name-only").strip() == ""
    hook.unlink()
    before = cp.dirty_at_phase_start()
    assert before == {"PRD.md"}  # dirty, but the last phase's: still ours
    (project.root / "RESEARCH.md").write_text("research\n")
    assert cp.commit("WRK-001", "research", "Research", before).commit is not None
    assert _files_in_head(project.root) == {"PRD.md", "RESEARCH.md"}
    assert run_git(project.root, "status", "--porcelain").strip() == ""


def test_a_clean_start_with_nothing_changed_commits_nothing_and_says_nothing(
        tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", git=True)
    project.ensure_state_dirs()
    head = run_git(project.root, "rev-parse", "HEAD")
    cp = Checkpointer(project.root)
    done = cp.commit("WRK-001", "prd", "x", cp.dirty_at_phase_start())
    assert done.commit is None and done.error is None
    assert run_git(project.root, "rev-parse", "HEAD") == head


def test_a_clean_starts_add_that_git_refuses_is_reported(tmp_path: Path) -> None:
    """A git that could not add (here: another git's index.lock) says why; nothing is
    committed and the files wait for the next checkpoint."""
    project = make_project(tmp_path / "p", git=True)
    project.ensure_state_dirs()
    cp = Checkpointer(project.root)
    before = cp.dirty_at_phase_start()
    (project.root / "PRD.md").write_text("prd\n")
    lock = project.root / ".git" / "index.lock"
    lock.write_text("")
    done = cp.commit("WRK-001", "prd", "PRD", before)
    assert done.commit is None and "remove the file manually" in (done.error or "")
    lock.unlink()
    assert cp.commit("WRK-001", "prd", "PRD", cp.dirty_at_phase_start()).commit
    assert _files_in_head(project.root) == {"PRD.md"}
