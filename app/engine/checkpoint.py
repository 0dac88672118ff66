"""Git checkpoints: one commit per completed phase, holding only what the phase changed.

Before a phase the set of dirty paths is noted; after it, the paths that became
dirty (plus BACKLOG.yaml) are committed with `[WRK-001][PRD] summary`. A file
that was already dirty before the phase is the person's own work: it is left
out, and the caller tells the person so. `.orchestrator/` is never committed.

A commit that fails (a pre-commit hook said no) leaves the index as it was, and
its paths stay ours: the next checkpoint commits them, although they were already
dirty when that phase began.

A phase that begins right after a checkpoint (within KNOWN_FOR_S) takes what that
checkpoint left dirty as its dirty set instead of asking git again (the run's first
phase, what `orchestrate run` asked git as it began: gitprobe.py), and git's own
upkeep (`maintenance run --auto`) runs once after the run's checkpoints, not after each.
A phase begun on a tree clean but for BACKLOG.yaml is committed whole (`git add -A`)
without a `git status` to list its paths first.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from pathlib import Path

from app.engine import gitlocks, gitprobe
from app.engine.project import BACKLOG_NAME, STATE_DIR
from app.structs import Struct


class CheckpointResult(Struct, frozen=True):
    """What a checkpoint did."""

    commit: str | None
    """The new commit's hash, or None when nothing was committed."""
    left_out: tuple[str, ...] = ()
    """Paths dirty before the phase that the phase also touched: not committed."""
    error: str | None = None


def _git(cwd: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True,
                          check=False)


KNOWN_FOR_S = 1.0
"""How long what a checkpoint left dirty stands for the dirty set of the phase that starts
next (`dirty_at_phase_start`): a person's edit in that instant counts as the agent's, as
one made while the agent works does."""


class Checkpointer:
    """Commits phase results in the project's git repository (if it is one)."""

    def __init__(self, root: Path, enabled: bool = True) -> None:
        self.root = root
        self.toplevel: Path | None = None
        self.common_dir: Path | None = None
        """The repository's git folder (a worktree's too: where git's locks are)."""
        self._git_dir: Path | None = None
        """This checkout's own git folder (where its HEAD is)."""
        self.uncommitted: set[str] = set()
        """Paths a phase changed whose checkpoint failed: the next checkpoint takes them."""
        self.reason_off: str | None = None
        """Why checkpoints are off (None while they are on)."""
        self._known: tuple[float, frozenset[str]] | None = None
        """When the last checkpoint read the dirty set, and what it left dirty."""
        self._committed = False
        """A checkpoint was committed since the last `tidy`."""
        early = gitprobe.take(root)  # asked as the run began (`orchestrate run`)
        if not enabled:
            self.reason_off = "checkpoints are off (run.checkpoint = false)"
            return
        try:
            # One git for all three: the top, where its locks are (`clear_stale_locks`) and
            # this checkout's own folder (its HEAD: `_head`).
            proc = early.rev_parse if early else _git(root, *gitprobe.REV_PARSE)
        except OSError:
            self.reason_off = "git is not installed: checkpoints are off"
            return
        if proc.returncode != 0:
            self.reason_off = (f"{root} is not in a git repository: checkpoints are off "
                               "(run `git init` to have every phase committed)")
            return
        top, common, git_dir = [*proc.stdout.decode().strip().split("\n"), "", ""][:3]
        self.toplevel = Path(top)
        self.common_dir = (root / common).resolve() if common else None  # git's: from root
        self._git_dir = Path(git_dir) if git_dir else None
        if early is not None and early.status.returncode == 0:
            # The first phase's dirty set, if it begins within KNOWN_FOR_S of the asking.
            self._known = (early.asked_at, frozenset(self._dirty_of(early.status.stdout)))

    @property
    def active(self) -> bool:
        return self.toplevel is not None

    def clear_stale_locks(self) -> list[str]:
        """git's lock files a killed git left (a kill -9 mid-checkpoint): removed, so the
        next checkpoints are not refused for ever; returns what was removed."""
        if self.toplevel is None or self.common_dir is None:
            return []
        removed = gitlocks.clear_stale(self.common_dir, (self.toplevel,))
        return [str(p) for p in removed]

    def dirty(self) -> set[str]:
        """Paths (relative to the repository top) with uncommitted changes, untracked too."""
        if self.toplevel is None:
            return set()
        proc = _git(self.toplevel, *gitprobe.STATUS)
        if proc.returncode != 0:
            return set()
        return self._dirty_of(proc.stdout)

    def _dirty_of(self, porcelain: bytes) -> set[str]:
        paths = porcelain_paths(porcelain.decode("utf-8", errors="surrogateescape"))
        return {p for p in paths if not self._is_state(p)}

    def dirty_at_phase_start(self) -> set[str]:
        """The dirty set as a phase begins: what the last checkpoint left dirty, when it
        read the tree under KNOWN_FOR_S ago (the next phase at once: no git status of its
        own, ~3 ms a phase), else `dirty()`."""
        known, self._known = self._known, None
        if known is not None and time.monotonic() - known[0] < KNOWN_FOR_S:
            return set(known[1])
        return self.dirty()

    def tidy(self) -> None:
        """git's own upkeep (`maintenance run --auto`: packing loose objects when there are
        many), once after a run's checkpoints instead of after each of them."""
        if self.toplevel is None or not self._committed:
            return
        self._committed = False
        with contextlib.suppress(OSError):  # a git before 2.29 only says it has none
            _git(self.toplevel, "maintenance", "run", "--auto", "--quiet")

    def _is_state(self, path: str) -> bool:
        assert self.toplevel is not None
        state = (self.root / STATE_DIR).resolve()
        full = (self.toplevel / path).resolve()
        return full == state or state in full.parents

    def commit(self, item_id: str, phase: str, summary: str | None,
               before: set[str]) -> CheckpointResult:
        """Commit what changed since `before` (the dirty set at phase start) and the backlog."""
        if self.toplevel is None:
            return CheckpointResult(None)
        self._known = None
        read_at = time.monotonic()
        before = before - self.uncommitted  # an earlier phase's, not the person's
        backlog = str((self.root / BACKLOG_NAME).resolve().relative_to(self.toplevel.resolve()))
        if before <= {backlog} and (self.root / STATE_DIR / ".gitignore").is_file():
            return self._commit_everything(item_id, phase, summary, read_at)
        now = self.dirty()
        new = sorted(p for p in now if p not in before)
        left_out = tuple(sorted(p for p in now & before if p != backlog))
        paths = new + ([backlog] if backlog in now and backlog not in new else [])
        if not paths:
            return CheckpointResult(None, left_out=left_out)
        spec = b"\0".join(p.encode("utf-8", errors="surrogateescape") for p in paths) + b"\0"
        add = _git(self.toplevel, "add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul",
                   stdin=spec)
        if add.returncode != 0:
            return self._failed(paths, left_out, spec, _tail(add.stderr) or "git add failed")
        message = subject(item_id, phase, summary)
        # --only: commit exactly these paths, whatever else the person has staged. No
        # maintenance after each checkpoint (a git of its own): `tidy` runs it once.
        done = _git(self.toplevel, "-c", "maintenance.auto=false", "commit", "-q", "-m",
                    message, "--only", "--pathspec-from-file=-", "--pathspec-file-nul",
                    stdin=spec)
        if done.returncode != 0:
            return self._failed(paths, left_out, spec, _tail(done.stderr)
                                or _tail(done.stdout) or "git commit failed")
        self.uncommitted.clear()
        self._committed = True
        self._known = (read_at, frozenset(now.difference(paths)))
        return CheckpointResult(self._head(), left_out)

    def _commit_everything(self, item_id: str, phase: str, summary: str | None,
                           read_at: float) -> CheckpointResult:
        """The tree was clean as the phase began but for BACKLOG.yaml (the usual case): all
        that is dirty now is the phase's, so git adds and commits it all, without a `git
        status` to list it first (~2 ms a phase). Our state folder's own .gitignore keeps
        its files out of the add, and the commit's pathspec leaves out any a person tracked
        there (staged, never committed): a pathspec excluding the folder from the add would
        fail where the repository ignores the folder itself."""
        assert self.toplevel is not None
        every = (":/", f":(top,exclude,literal){self._state_in_repository()}")
        what, failed = "add", _git(self.toplevel, "add", "-A")
        if failed.returncode == 0:
            what, failed = "commit", _git(self.toplevel, "-c", "maintenance.auto=false",
                                          "commit", "-q", "-m", subject(item_id, phase, summary),
                                          "--only", "--", *every)
            if failed.returncode == 0:
                self.uncommitted.clear()
                self._committed = True
                self._known = (read_at, frozenset())
                return CheckpointResult(self._head())
        # git said no, or there was nothing to commit. All that is dirty is the phase's (the
        # tree was clean before it): unstaged again, it waits for the next checkpoint.
        error = _tail(failed.stderr) or _tail(failed.stdout) or f"git {what} failed"
        paths = sorted(self.dirty())
        if not paths:  # an add that failed says why; an empty commit is no news
            return CheckpointResult(None, error=error if what == "add" else None)
        spec = b"\0".join(p.encode("utf-8", errors="surrogateescape") for p in paths) + b"\0"
        return self._failed(paths, (), spec, error)

    def _state_in_repository(self) -> str:
        """`.orchestrator/` relative to the repository's top."""
        assert self.toplevel is not None
        return (self.root / STATE_DIR).resolve().relative_to(self.toplevel.resolve()).as_posix()

    def _head(self) -> str | None:
        """HEAD's commit, short: read where git's files are plain (HEAD naming a loose
        branch ref, as a commit leaves it; a git of its own spared), else asked of git."""
        assert self.toplevel is not None
        if self._git_dir is not None and self.common_dir is not None:
            full = read_head(self._git_dir, self.common_dir)
            if full is not None:
                return full[:SHORT]
        head = _git(self.toplevel, "rev-parse", "--short", "HEAD").stdout.decode().strip()
        return head or None

    def _failed(self, paths: list[str], left_out: tuple[str, ...], spec: bytes,
                error: str) -> CheckpointResult:
        """Unstage what we added (the person's `git status` shows what it showed before the
        phase) and keep the paths for the next checkpoint."""
        assert self.toplevel is not None
        # On a repository without commits there is no HEAD to reset to: rm --cached.
        if _git(self.toplevel, "rev-parse", "-q", "--verify", "HEAD").returncode == 0:
            _git(self.toplevel, "reset", "-q", "--pathspec-from-file=-",
                 "--pathspec-file-nul", stdin=spec)
        else:
            _git(self.toplevel, "rm", "-q", "--cached", "--ignore-unmatch", "-r",
                 "--pathspec-from-file=-", "--pathspec-file-nul", stdin=spec)
        self.uncommitted.update(paths)
        return CheckpointResult(None, left_out, error=error)


SHORT = 7
"""Hex digits of a checkpoint's commit in its notice (git's own shortest)."""
_OBJECT_ID = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


def read_head(git_dir: Path, common_dir: Path) -> str | None:
    """The commit HEAD names, from git's files: a detached HEAD's own id, or a branch's
    loose ref (in the common folder); None where they are not that plain (a packed ref,
    the reftable format), for git to be asked instead."""
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
        if head.startswith("ref: "):
            ref = head[5:].strip()
            if not ref.startswith("refs/heads/") or ".." in ref:
                return None
            head = (common_dir / ref).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return head if _OBJECT_ID.fullmatch(head) else None


def porcelain_paths(out: str) -> set[str]:
    """The paths of `git status --porcelain -z` output (both sides of a rename or copy)."""
    paths: set[str] = set()
    entries = out.split("\0")
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        status, path = entry[:2], entry[3:]
        paths.add(path)
        if "R" in status or "C" in status:  # the source path follows
            if i < len(entries) and entries[i]:
                paths.add(entries[i])
            i += 1
    return paths


def subject(item_id: str, phase: str, summary: str | None) -> str:
    """A checkpoint's commit subject: `[WRK-001][PRD] summary` (a lane's commits too)."""
    return f"[{item_id}][{phase.upper()}] {one_line(summary) or phase + ' done'}"


def one_line(text: str | None, limit: int = 72) -> str:
    """`text` flattened to one line of at most `limit` characters, for a commit subject."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _tail(data: bytes) -> str:
    lines = [line for line in data.decode("utf-8", errors="replace").splitlines() if line]
    return " | ".join(lines[-3:])
