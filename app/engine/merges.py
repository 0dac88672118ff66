"""Bringing a finished lane's branch back into the branch the run started on, without
ever leaving the main checkout mid-merge: the merge is computed by `git merge-tree
--write-tree` (git 2.38+) without touching any working tree, so a conflict changes
nothing, and the main checkout is only fast-forwarded to a commit that is already whole
(`git merge --ff-only`, which refuses, rather than overwrite, a file the person changed).
A rebase happens in the lane's own worktree, where nothing is the person's. After a git
killed mid-fast-forward, the files it left half moved are put back (`repair`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from app.engine.worktrees import GitError, MergeOutcome, Repository, git

FastForwardHook = Callable[[str, str], None]
"""Told (head, commit) just before the main checkout is fast-forwarded from head to commit."""


class Merges:
    """The run's branch side of git, for lanes coming back."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo

    def bring_back(self, branch: str, into: str, mode: str, worktree: Path | None,
                   message: str, on_fast_forward: FastForwardHook | None = None
                   ) -> MergeOutcome:
        """Bring `branch` into `into` (the branch checked out in the main checkout) by
        `mode`; see the module docstring for why the main checkout is never mid-merge.
        `on_fast_forward(head, commit)` hears of the fast-forward just before it starts,
        so a restart after a git killed mid-way knows the half-done files are the run's."""
        hook = on_fast_forward
        if mode == "none":
            return MergeOutcome("kept")
        current = self.repo.current_branch()
        if current != into:
            return MergeOutcome("postponed", why=(
                f"the main checkout is on {current or 'a detached HEAD'}, not {into}: "
                f"switch back to {into} and the merge goes on"))
        head = self.repo.head()
        tip = self.repo.head(f"refs/heads/{branch}")
        if head is None or tip is None:
            raise GitError(f"cannot merge {branch}: it or {into} has no commit")
        if self.repo.is_ancestor(tip, head):
            return MergeOutcome("merged", commit=head[:12])
        touched = self._changed_on(branch, head) & self.repo.dirty_paths()
        if touched:
            shown = " ".join(_quoted(p) for p in sorted(touched)[:5])
            return MergeOutcome("postponed", files=tuple(sorted(touched)), why=(
                f"you have uncommitted changes in the main checkout to "
                f"{', '.join(sorted(touched)[:5])} that the merge would touch: commit them, "
                f"or stash only them (`git stash push -- {shown}`: BACKLOG.yaml is the "
                "run's), and the merge goes on"))
        if mode == "rebase":
            rebased = self._rebase(branch, head, worktree, hook)
            if rebased.kind != "conflict":
                return rebased
            # Replaying commit by commit conflicted, yet the branch as a whole may merge
            # cleanly (a conflict the agent resolved by a merge): a merge commit then.
            merged = self._merge_commit(head, tip, message, hook)
            if merged.kind != "merged":
                return rebased
            return MergeOutcome("merged", commit=merged.commit,
                                why="its rebase conflicted, so it was merged with a merge "
                                    "commit")
        return self._merge_commit(head, tip, message, hook)

    def _merge_commit(self, head: str, tip: str, message: str,
                      hook: FastForwardHook | None) -> MergeOutcome:
        """A merge commit of `tip` into `head`, made without a working tree, then the main
        checkout fast-forwarded to it."""
        proc = git(self.repo.toplevel, "merge-tree", "--write-tree", "--name-only", "--no-messages",
                   "-z", head, tip, check=False)
        if proc.returncode == 1:
            fields = [f for f in proc.stdout.split("\0") if f]
            return MergeOutcome("conflict", files=tuple(dict.fromkeys(fields[1:])))
        if proc.returncode != 0:
            raise GitError(f"git merge-tree failed: {proc.stderr.strip()}")
        tree = proc.stdout.split("\0")[0].strip()
        commit = git(self.repo.toplevel, "commit-tree", tree, "-p", head, "-p", tip, "-m",
                     message).stdout.strip()
        return self._fast_forward(head, commit, hook)

    def _changed_on(self, branch: str, head: str) -> set[str]:
        """Files the branch changed since it left `head`'s history."""
        out = git(self.repo.toplevel, "diff", "--name-only", "--no-renames", "-z",
                  f"{head}...refs/heads/{branch}").stdout
        return {p for p in out.split("\0") if p}

    def _rebase(self, branch: str, head: str, worktree: Path | None,
                hook: FastForwardHook | None) -> MergeOutcome:
        if worktree is None or not worktree.is_dir():
            raise GitError(f"cannot rebase {branch}: its worktree is gone")
        self.repo.discard_backlog_edit(worktree)
        proc = git(worktree, "rebase", "-q", "--no-verify", head, check=False)
        if proc.returncode != 0:
            files = self.repo.conflicted(worktree)
            git(worktree, "rebase", "--abort", check=False)
            if not files:
                raise GitError(f"git rebase failed: {proc.stderr.strip()}")
            return MergeOutcome("conflict", files=files)
        return self._fast_forward(head, git(worktree, "rev-parse", "HEAD").stdout.strip(), hook)

    def _fast_forward(self, head: str, commit: str,
                      hook: FastForwardHook | None) -> MergeOutcome:
        if hook is not None:
            hook(head, commit)
        proc = git(self.repo.toplevel, "merge", "--ff-only", "-q", commit, check=False)
        if proc.returncode != 0:
            # git refused (a file the person changed meanwhile): nothing was changed.
            said = " ".join(proc.stderr.split())[:300]
            return MergeOutcome("postponed", why=f"git would not fast-forward: {said}")
        return MergeOutcome("merged", commit=commit[:12])

    # after a git killed mid-way ---------------------------------------------------------------
    def repair(self, before: str, to: str) -> list[str] | None:
        """A fast-forward of the main checkout from `before` to `to` that a killed git left
        half done: files (in the worktree, the index or both) already at `to`'s content
        while the branch still says `before`, or the other way round. Each such file is
        put back as HEAD has it, so the merge can be made again (once). Returns the paths
        put back ([] when there was nothing to do), or None when a changed file is in a
        third state: then it is the person's, and nothing is touched."""
        head = self.repo.head()
        if head not in (before, to):
            return []  # the branch moved on since: not that fast-forward's leftovers
        top = self.repo.toplevel
        out = git(top, "diff", "--name-only", "--no-renames", "-z", before, to).stdout
        changed = {p for p in out.split("\0") if p}
        left = sorted(changed & self.repo.dirty_paths())
        if not left:
            return []
        for path in left:
            ours = {self._blob(before, path), self._blob(to, path)}
            if self._index_blob(path) not in ours or self._file_blob(path) not in ours:
                return None
        assert head is not None
        for path in left:
            if self._blob(head, path) is not None:
                git(self.repo.toplevel, "checkout", "-q", head, "--", path)
            else:
                git(self.repo.toplevel, "rm", "-q", "--cached", "--ignore-unmatch", "--", path)
                (self.repo.toplevel / path).unlink(missing_ok=True)
        return left

    def _blob(self, commit: str, path: str) -> str | None:
        proc = git(self.repo.toplevel, "rev-parse", "-q", "--verify", f"{commit}:{path}",
                   check=False)
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    def _index_blob(self, path: str) -> str | None:
        out = git(self.repo.toplevel, "ls-files", "-s", "--", path).stdout.split()
        return out[1] if len(out) >= 2 else None

    def _file_blob(self, path: str) -> str | None:
        if not (self.repo.toplevel / path).is_file():
            return None
        return git(self.repo.toplevel, "hash-object", "--", path).stdout.strip() or None


def _quoted(path: str) -> str:
    """A path as a shell word (for a command the person may paste)."""
    return path if re.fullmatch(r"[\w./@%+=:,-]+", path) else "'" + path.replace("'", "'\\''") + "'"
