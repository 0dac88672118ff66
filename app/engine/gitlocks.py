"""Git's own lock files that a killed git left behind.

git takes `index.lock`, `HEAD.lock`, `refs/heads/main.lock` (and a worktree's own) for
the moment it writes; killed mid-way (with the run that started it: a kill -9, a power
cut) it leaves them, and every later git command that needs them refuses ("Unable to
create '.git/index.lock': File exists"). A run would then wait for ever on "your
uncommitted changes" or block items on failed checkpoints. A lock is stale when no
process has it open and no git process works in the repository: then it is removed, and
the run says which. Without /proc to look at, nothing is called stale.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from app.engine import fence

PATTERNS = ("*.lock", "refs/**/*.lock", "worktrees/*/*.lock")
"""Where git keeps its locks, under the repository's common git folder."""


def lock_files(common_dir: Path) -> list[Path]:
    """Every lock file git may have left in the repository's git folder."""
    found: set[Path] = set()
    for pattern in PATTERNS:
        try:
            found.update(p for p in common_dir.glob(pattern) if p.is_file())
        except OSError:
            continue
    return sorted(found)


def _git_at_work(roots: tuple[Path, ...], locks: set[Path]) -> bool:
    """Whether a live git process works under one of `roots`, or any process holds one of
    `locks` open (True also when /proc cannot tell)."""
    if not fence.PROC.is_dir():
        return True
    for proc in fence.processes():
        if not proc.alive or proc.pid == os.getpid():
            continue
        base = fence.PROC / str(proc.pid)
        try:
            comm = (base / "comm").read_text().strip()
            cwd = Path(os.readlink(base / "cwd"))
        except OSError:
            continue  # gone, or not ours to look at
        if comm.startswith("git") and any(cwd == r or r in cwd.parents for r in roots):
            return True
        try:
            fds = os.listdir(base / "fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if Path(os.readlink(base / "fd" / fd)) in locks:
                    return True
            except OSError:
                continue
    return False


def clear_stale(common_dir: Path, roots: tuple[Path, ...], min_age_s: float = 0.0
                ) -> list[Path]:
    """Remove the lock files under `common_dir` that no live process can be writing (no
    git process works under `roots`, none holds one open) and that are at least
    `min_age_s` old; returns those removed. While git commands of the run itself may start
    (lanes at work), give an age: a git that starts between the look at /proc and the
    removal takes a fresh lock, which must not be the one removed."""
    now = time.time()
    locks = [p for p in lock_files(common_dir) if _age(p, now) >= min_age_s]
    if not locks:
        return []
    if _git_at_work(tuple(r.resolve() for r in roots), {p.resolve() for p in locks}):
        return []
    removed = []
    for lock in locks:
        try:
            lock.unlink()
            removed.append(lock)
        except FileNotFoundError:
            continue
        except OSError:
            continue
    return removed


def _age(path: Path, now: float) -> float:
    try:
        return now - path.stat().st_mtime
    except OSError:
        return 0.0


def removed_notice(removed: list[str]) -> str:
    """What a run says when it removed stale locks."""
    return (f"removed git lock files that a git killed mid-way left ({', '.join(removed)}): "
            "no git process was working in the repository")
