"""A remote attempt's checkout, there and back, as git bundles (no shared filesystem).

There: the lane's branch (or the checkout's HEAD) as a bundle, and the commit it stood
at (`base`). On the worker: a clone of it; afterwards what the agent left uncommitted
becomes one transport commit, and the commits on top of `base` go back as a bundle.
Back: the lane's worktree fast-forwarded to them, and the transport commit undone into
staged changes, so the lane's checkpoint commits the phase's work as it does locally
(`[WRK-001][BUILD] …`), and the agent's own commits, if it made any, stay as they are.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from app.engine.worktrees import GitError, git, lane_pathspecs

TRANSPORT = "orchestrate: uncommitted work of the attempt"
"""The subject of the commit that carries what the agent left uncommitted (never kept)."""
BACK_REF = "refs/heads/orchestrate-attempt"
"""The ref the worker's bundle carries its commits under."""
_IDENTITY = ("-c", "user.name=orchestrate", "-c", "user.email=orchestrate@localhost",
             "-c", "commit.gpgsign=false")


def pack(checkout: Path, ref: str) -> tuple[bytes, str]:
    """(the bundle of `ref` in `checkout`'s repository, the commit `ref` is at)."""
    base = git(checkout, "rev-parse", "--verify", f"{ref}^{{commit}}").stdout.strip()
    with tempfile.TemporaryDirectory(prefix="orchestrate-bundle-") as tmp:
        path = Path(tmp) / "out.bundle"
        git(checkout, "bundle", "create", "-q", str(path), ref)
        return path.read_bytes(), base


def clone(bundle: bytes, base: str, branch: str | None, into: Path) -> None:
    """The worker's checkout: a clone of the bundle at `base` (on `branch`, if any)."""
    into.parent.mkdir(parents=True, exist_ok=True)
    path = into.parent / "in.bundle"
    path.write_bytes(bundle)
    git(into.parent, "clone", "-q", "--no-checkout", str(path), str(into))
    git(into, "checkout", "-q", "-B", branch or "orchestrate-base", base)


def collect(repo: Path, base: str, project_rel: str, what: str) -> bytes | None:
    """After the agent: its uncommitted work as one transport commit (the orchestrator's
    own files and BACKLOG.yaml left out), and every commit on top of `base` as a bundle;
    None when there is none."""
    git(repo, "add", "-A", "--", *lane_pathspecs(repo, Path(project_rel)))
    staged = git(repo, "diff", "--cached", "--quiet", check=False).returncode != 0
    if staged:
        git(repo, *_IDENTITY, "commit", "-q", "--no-verify", "-m", f"{TRANSPORT}: {what}")
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    if head == base:
        return None
    git(repo, "update-ref", BACK_REF, head)
    path = repo.parent / "back.bundle"
    git(repo, "bundle", "create", "-q", str(path), BACK_REF, f"^{base}")
    return path.read_bytes()


def bring_back(worktree: Path, bundle: bytes, base: str) -> list[str]:
    """The worker's commits into the lane's worktree (a fast-forward from `base`), the
    transport commit undone into staged changes; returns the agent's own commits'
    subjects. GitError when the lane moved meanwhile (it cannot: the lane waits)."""
    head = git(worktree, "rev-parse", "HEAD").stdout.strip()
    if head != base:
        raise GitError(f"the lane moved from {base[:12]} to {head[:12]} during the attempt")
    with tempfile.TemporaryDirectory(prefix="orchestrate-bundle-") as tmp:
        path = Path(tmp) / "back.bundle"
        path.write_bytes(bundle)
        git(worktree, "fetch", "-q", str(path), BACK_REF)
    git(worktree, "merge", "--ff-only", "-q", "FETCH_HEAD")
    subjects = git(worktree, "log", "--format=%s", f"{base}..HEAD").stdout.splitlines()
    if subjects and subjects[0].startswith(TRANSPORT):
        git(worktree, "reset", "-q", "--soft", "HEAD~1")
        subjects = subjects[1:]
    return subjects


def git_version() -> str | None:
    """`git version 2.43.0`, or None without git."""
    try:
        proc = subprocess.run(["git", "--version"], capture_output=True, text=True,
                              check=False)
    except OSError:
        return None
    return proc.stdout.strip() or None
