"""Git for lanes: a branch and a worktree per item, brought up to date and checkpointed
(merges.py brings a finished branch back).

Every command runs `git` with an argv (never a shell), with no editor, pager or prompt:
git never waits for a person in an unattended run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from app.engine import gitlocks
from app.engine.checkpoint import porcelain_paths
from app.engine.project import BACKLOG_NAME, STATE_DIR, Project
from app.structs import Struct

MIN_GIT = (2, 38)
"""`git merge-tree --write-tree` arrived in git 2.38."""


class GitError(Exception):
    """A git command failed; the message says which and what git said."""


class MergeOutcome(Struct, frozen=True):
    """What bringing a branch back did."""

    kind: str
    """`merged` (the run's branch has it now), `kept` (merge = "none": the branch is left),
    `conflict` (nothing changed; `files` conflict), `postponed` (nothing changed; `why`)."""
    commit: str | None = None
    files: tuple[str, ...] = ()
    why: str = ""


def git(cwd: Path, *args: str, check: bool = True, env: dict[str, str] | None = None,
        input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run git in `cwd` (with `env` beside its own, `input_text` on its stdin); GitError
    with git's words when `check` and it fails."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          errors="surrogateescape", check=False, input=input_text,
                          env={**_environment(), **(env or {})})
    if check and proc.returncode != 0:
        said = " | ".join(line for line in (proc.stderr or proc.stdout).splitlines()
                          if line.strip())[-400:]
        raise GitError(f"git {' '.join(args[:3])} failed: {said or f'exit {proc.returncode}'}")
    return proc


def _environment() -> dict[str, str]:
    """No editor, no pager, no prompt: git never waits for a person in an unattended run."""
    env = dict(os.environ)
    env.update({"GIT_EDITOR": "true", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat",
                "GIT_MERGE_AUTOEDIT": "no"})
    return env


def git_version() -> tuple[int, int] | None:
    """(major, minor) of the git on PATH, or None without one."""
    if shutil.which("git") is None:
        return None
    out = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"(\d+)\.(\d+)", out.stdout)
    return (int(match.group(1)), int(match.group(2))) if match else None


class Repository:
    """The project's git repository seen from its main checkout."""

    def __init__(self, project_root: Path) -> None:
        self.project_root = project_root.resolve()
        top = git(self.project_root, "rev-parse", "--show-toplevel").stdout.strip()
        self.toplevel = Path(top).resolve()
        self.project_rel = self.project_root.relative_to(self.toplevel)
        """Where the project sits inside the repository (`.` usually)."""
        self.worktrees_dir = Project(self.project_root).worktrees_dir
        common = git(self.toplevel, "rev-parse", "--git-common-dir").stdout.strip()
        self.common_dir = (self.toplevel / common).resolve()
        """The repository's git folder (`.git`), shared by every worktree."""

    def clear_stale_locks(self, min_age_s: float = 0.0) -> list[str]:
        """Remove git lock files a killed git left (gitlocks.py); returns what was removed,
        relative to the top."""
        removed = gitlocks.clear_stale(self.common_dir, (self.toplevel, self.common_dir),
                                       min_age_s)
        return [_shown(p, self.toplevel) for p in removed]

    # what the run starts from -------------------------------------------------------------
    def current_branch(self) -> str | None:
        """The branch checked out in the main checkout, None when HEAD is detached."""
        proc = git(self.toplevel, "symbolic-ref", "-q", "--short", "HEAD", check=False)
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    def head(self, ref: str = "HEAD") -> str | None:
        """The commit `ref` names, or None (an empty repository has no HEAD)."""
        proc = git(self.toplevel, "rev-parse", "-q", "--verify", f"{ref}^{{commit}}",
                   check=False)
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    def lanes_unavailable(self) -> str | None:
        """Why this repository cannot have lanes, or None."""
        version = git_version()
        if version is None or version < MIN_GIT:
            have = ".".join(map(str, version)) if version else "none"
            return f"lanes need git {MIN_GIT[0]}.{MIN_GIT[1]} or newer (this is {have})"
        if self.current_branch() is None:
            return "the main checkout has no branch checked out (detached HEAD)"
        if self.head() is None:
            return "the repository has no commit yet (make a first commit)"
        return None

    # a lane's worktree ----------------------------------------------------------------------
    def worktree_path(self, item_id: str) -> Path:
        return self.worktrees_dir / item_id

    def project_dir_in(self, worktree: Path) -> Path:
        """The project's folder inside a worktree (the agent's working directory)."""
        return worktree / self.project_rel

    def branch_exists(self, branch: str) -> bool:
        return git(self.toplevel, "show-ref", "--verify", "-q", f"refs/heads/{branch}",
                   check=False).returncode == 0

    def registered_worktrees(self) -> dict[Path, str | None]:
        """Every worktree git knows of (but the main one): path → its branch (or None)."""
        out = git(self.toplevel, "worktree", "list", "--porcelain").stdout
        found: dict[Path, str | None] = {}
        path: Path | None = None
        for line in out.splitlines():
            if line.startswith("worktree "):
                path = Path(line[len("worktree "):]).resolve()
                found[path] = None
            elif line.startswith("branch ") and path is not None:
                found[path] = line[len("branch "):].removeprefix("refs/heads/")
        found.pop(self.toplevel, None)
        return found

    def ensure_worktree(self, item_id: str, branch: str, base: str) -> tuple[Path, bool]:
        """The item's worktree on `branch` (made from `base` when the branch is new).

        Returns (path, reused): a worktree left by an earlier run is used again as it is.
        """
        path = self.worktree_path(item_id).resolve()
        registered = self.registered_worktrees()
        if path in registered and registered[path] == branch and path.is_dir():
            return path, True
        if path in registered or path.exists():
            # A stale registration or a folder git does not know: start it afresh.
            git(self.toplevel, "worktree", "remove", "--force", str(path), check=False)
            if path.exists():
                shutil.rmtree(path)
        git(self.toplevel, "worktree", "prune")
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.branch_exists(branch):
            git(self.toplevel, "worktree", "add", "--quiet", str(path), branch)
        else:
            git(self.toplevel, "worktree", "add", "--quiet", "-b", branch, str(path), base)
        return path, False

    def remove_worktree(self, path: Path) -> None:
        """Remove a lane's worktree (its branch stays)."""
        git(self.toplevel, "worktree", "remove", "--force", str(path), check=False)
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
        git(self.toplevel, "worktree", "prune", check=False)

    def leftover_worktrees(self) -> dict[str, Path]:
        """Worktrees under .orchestrator/worktrees/, by item id (after pruning vanished ones)."""
        git(self.toplevel, "worktree", "prune", check=False)
        found = {}
        for path in self.registered_worktrees():
            if path.parent == self.worktrees_dir.resolve():
                found[path.name] = path
        if self.worktrees_dir.is_dir():
            for child in self.worktrees_dir.iterdir():
                found.setdefault(child.name, child.resolve())
        return found

    # bringing a lane up to date ---------------------------------------------------------------
    def update_lane(self, worktree: Path, upstream: str) -> tuple[str, ...]:
        """Merge `upstream` into the lane's branch in its worktree; the conflicted files
        (left for the agent to resolve, the merge in progress) or () when it merged."""
        if self.is_ancestor(upstream, "HEAD", cwd=worktree):
            return ()
        if self.is_ancestor("HEAD", upstream, cwd=worktree) and not self.in_merge(worktree):
            # Nothing of the branch's own is missing upstream (a restart after its merge):
            # follow it, rather than a merge commit that would be merged back a second time.
            self.discard_backlog_edit(worktree)
            git(worktree, "merge", "--ff-only", "-q", upstream)
            return ()
        if self.in_merge(worktree):
            # An earlier update's merge is still open (its conflicts were left, or a person
            # resolved and staged them): a new merge would fail, and aborting it would throw
            # that resolution away. Leave it; the next checkpoint concludes it.
            return self.conflicted(worktree)
        self.discard_backlog_edit(worktree)
        proc = git(worktree, "merge", "--no-edit", "--no-ff", "--no-verify", "-q", upstream,
                   check=False)
        if proc.returncode == 0:
            return ()
        conflicted = self.conflicted(worktree)
        if not conflicted:  # failed for another reason: leave nothing half done
            git(worktree, "merge", "--abort", check=False)
            raise GitError(f"bringing the branch up to date failed: {proc.stderr.strip()}")
        return conflicted

    def discard_backlog_edit(self, worktree: Path) -> None:
        """Put the lane's BACKLOG.yaml back as its branch has it (or remove one the branch
        lacks). An agent that edited it anyway left a change no checkpoint commits (the
        run's transactions own BACKLOG.yaml, in the main checkout), and git would refuse
        to merge or rebase in the worktree over it, blocking an item whose work is fine.
        Call it only outside a merge: mid-merge, HEAD's copy is not the merge's."""
        rel = str(self.project_rel / BACKLOG_NAME)
        if git(worktree, "cat-file", "-e", f"HEAD:{rel}", check=False).returncode == 0:
            git(worktree, "checkout", "-q", "HEAD", "--", rel, check=False)
        else:
            (worktree / rel).unlink(missing_ok=True)

    def in_merge(self, worktree: Path) -> bool:
        """Whether a merge is in progress in the worktree (MERGE_HEAD exists)."""
        merge_head = git(worktree, "rev-parse", "--git-path", "MERGE_HEAD").stdout.strip()
        return (worktree / merge_head).exists()

    def conflicted(self, worktree: Path) -> tuple[str, ...]:
        out = git(worktree, "diff", "--name-only", "--diff-filter=U", "-z", check=False).stdout
        return tuple(p for p in out.split("\0") if p)

    def is_ancestor(self, older: str, newer: str, *, cwd: Path | None = None) -> bool:
        return git(cwd or self.toplevel, "merge-base", "--is-ancestor", older, newer,
                   check=False).returncode == 0

    # the checkpoint of a lane ----------------------------------------------------------------
    def commit_lane(self, worktree: Path, message: str) -> tuple[str | None, tuple[str, ...]]:
        """Commit everything the lane changed (never BACKLOG.yaml or .orchestrator/).

        The worktree is the lane's alone, so all of it is the agent's work; a merge the
        agent resolved is concluded by the same commit. Returns (short hash or None when
        nothing changed, the paths committed).
        """
        # Pathspecs relative to the worktree's top, which is where git runs here.
        git(worktree, "add", "-A", "--", *self._lane_paths(worktree))
        staged = git(worktree, "diff", "--cached", "--name-only", "-z").stdout
        paths = tuple(p for p in staged.split("\0") if p)
        if not paths and not self.in_merge(worktree):
            return None, ()
        git(worktree, "commit", "-q", "--no-verify", "-m", message)
        return git(worktree, "rev-parse", "--short", "HEAD").stdout.strip(), paths

    def _lane_paths(self, worktree: Path) -> list[str]:
        return lane_pathspecs(worktree, self.project_rel)

    def uncommitted(self, worktree: Path) -> tuple[str, ...]:
        """What changed in the lane that no checkpoint committed (BACKLOG.yaml and
        .orchestrator/ aside, which never are): empty after a checkpoint that worked."""
        backlog = str(self.project_rel / BACKLOG_NAME)
        state = str(self.project_rel / STATE_DIR)
        out = git(worktree, "status", "--porcelain", "-z", "--no-renames",
                  "--untracked-files=all", "--", ".", f":(exclude){backlog}",
                  f":(exclude){state}").stdout
        return tuple(entry[3:] for entry in out.split("\0") if len(entry) > 3)

    # bringing a finished lane back --------------------------------------------------------------
    def dirty_paths(self) -> set[str]:
        """Paths the person has changed in the main checkout (relative to the top), without
        BACKLOG.yaml and .orchestrator/ (the orchestrator's own)."""
        out = git(self.toplevel, "status", "--porcelain", "-z", "--untracked-files=all").stdout
        paths = porcelain_paths(out)
        backlog = str(self.project_rel / BACKLOG_NAME)
        state = str(self.project_rel / STATE_DIR).removeprefix("./")
        return {p for p in paths if p != backlog.removeprefix("./")
                and not (p == state or p.startswith(state + "/"))}

    def delete_branch(self, branch: str) -> None:
        """Delete a merged branch (`-d`: git refuses an unmerged one)."""
        git(self.toplevel, "branch", "-q", "-d", branch, check=False)


def _shown(path: Path, top: Path) -> str:
    try:
        return str(path.relative_to(top))
    except ValueError:
        return str(path)


def lane_pathspecs(checkout: Path, project_rel: Path) -> list[str]:
    """Pathspecs of what a lane's commit takes: all but BACKLOG.yaml and the checkout's
    `.orchestrator/` (its result files). The latter is left out by an exclude only where
    git does not ignore it already: naming an ignored path (the person's .gitignore lists
    `.orchestrator/`) makes `git add` fail."""
    backlog = str(project_rel / BACKLOG_NAME)
    state = str(project_rel / STATE_DIR)
    specs = [".", f":(exclude){backlog}"]
    ignored = git(checkout, "check-ignore", "-q", "--", f"{state}/x", check=False)
    if ignored.returncode != 0:
        specs.append(f":(exclude){state}")
    return specs
