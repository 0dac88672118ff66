"""A remote attempt's checkout, there and back, as git bundles (no shared filesystem).

There: the lane's branch (or the checkout's HEAD) as a bundle, and the commit it stood
at (`base`). On the worker: a clone of it; afterwards what the agent left uncommitted
becomes one transport commit, and the commits on top of `base` go back as a bundle.
Back: the lane's worktree fast-forwarded to them, and the transport commit undone into
staged changes, so the lane's checkpoint commits the phase's work as it does locally
(`[WRK-001][BUILD] …`), and the agent's own commits, if it made any, stay as they are.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from app.engine.remote.order import Merge
from app.engine.worktrees import GitError, git, lane_pathspecs
from app.structs import Struct

TRANSPORT = "orchestrate: uncommitted work of the attempt"
"""The subject of the commit that carries what the agent left uncommitted (never kept)."""
BACK_REF = "refs/heads/orchestrate-attempt"
"""The ref the worker's bundle carries its commits under."""
_IDENTITY = ("-c", "user.name=orchestrate", "-c", "user.email=orchestrate@localhost",
             "-c", "commit.gpgsign=false")


class Packed(Struct, frozen=True):
    """What goes to the worker: the bundle, and the commit its checkout stands at."""

    bundle: bytes
    base: str
    head: str
    """The lane's HEAD when it was packed: `base` too, unless the lane had uncommitted
    state (a merge with its conflicts, which the agent is to resolve) that a snapshot
    commit carries: then the work comes back as the worktree's files (bring_back)."""
    merge: Merge | None = None

    @property
    def snapshot(self) -> bool:
        return self.base != self.head


def pack(checkout: Path, ref: str, project_rel: str = ".") -> Packed:
    """The bundle of `ref` in `checkout`'s repository; for a lane (`ref` a branch) whose
    worktree holds uncommitted state or a merge in progress, of a snapshot commit of it
    (never on a branch), so the agent on the node sees what it would see here."""
    head = git(checkout, "rev-parse", "--verify", f"{ref}^{{commit}}").stdout.strip()
    snapshot = _snapshot(checkout, head, project_rel) if ref != "HEAD" else None
    merging = git(checkout, "rev-parse", "-q", "--verify", "MERGE_HEAD", check=False)
    merge = Merge(merging.stdout.strip(), git(checkout, "ls-files", "-u", "-z").stdout) \
        if snapshot is not None and merging.returncode == 0 else None
    with tempfile.TemporaryDirectory(prefix="orchestrate-bundle-") as tmp:
        path = Path(tmp) / "out.bundle"
        if snapshot is None:
            git(checkout, "bundle", "create", "-q", str(path), ref)
            return Packed(path.read_bytes(), head, head)
        temp_ref = f"refs/orchestrate/snapshots/{snapshot}"
        git(checkout, "update-ref", temp_ref, snapshot)
        try:
            git(checkout, "bundle", "create", "-q", str(path), temp_ref)
        finally:
            git(checkout, "update-ref", "-d", temp_ref, check=False)
        return Packed(path.read_bytes(), snapshot, head, merge)


def _snapshot(worktree: Path, head: str, project_rel: str) -> str | None:
    """A commit of the worktree as it is, on HEAD and any MERGE_HEAD; None when it is
    clean and not mid-merge. Made in a copy of the lane's index (the lane's own is left
    as it is), so what a merge staged (BACKLOG.yaml's side of it too) is as it stands."""
    merging = git(worktree, "rev-parse", "-q", "--verify", "MERGE_HEAD", check=False)
    specs = lane_pathspecs(worktree, Path(project_rel))
    dirty = git(worktree, "status", "--porcelain", "--untracked-files=all", "--", *specs)
    if merging.returncode != 0 and not dirty.stdout.strip():
        return None
    with tempfile.TemporaryDirectory(prefix="orchestrate-index-") as tmp:
        index = Path(tmp) / "index"
        env = {"GIT_INDEX_FILE": str(index)}
        own = worktree / git(worktree, "rev-parse", "--git-path", "index").stdout.strip()
        if own.is_file():
            shutil.copyfile(own, index)
        else:
            git(worktree, "read-tree", head, env=env)
        git(worktree, "add", "-A", "--", *specs, env=env)
        tree = git(worktree, "write-tree", env=env).stdout.strip()
    parents = ["-p", head]
    if merging.returncode == 0:
        parents += ["-p", merging.stdout.strip()]
    return git(worktree, *_IDENTITY, "commit-tree", tree, *parents, "-m",
               "orchestrate: the lane's uncommitted state").stdout.strip()


def clone(bundle: bytes, base: str, branch: str | None, into: Path) -> None:
    """The worker's checkout: the bundle's commits (every ref of it: a snapshot's is not
    a branch), checked out at `base` (on `branch`, if any)."""
    into.mkdir(parents=True, exist_ok=True)
    path = into.parent / "in.bundle"
    path.write_bytes(bundle)
    git(into, "init", "-q")
    git(into, "fetch", "-q", str(path), "+refs/*:refs/bundle/*")
    git(into, "checkout", "-q", "-B", branch or "orchestrate-base", base)


def as_in_the_lane(repo: Path, head: str, merge: Merge | None) -> None:
    """A clone of a snapshot, back where the lane stood: HEAD at the lane's, the
    snapshot's files as its uncommitted changes, and a merge in progress with its
    unmerged entries as they were."""
    git(repo, "reset", "-q", "--soft", head)
    if merge is None:
        return
    git(repo, "update-ref", "MERGE_HEAD", merge.merge_head)
    entries = [entry for entry in merge.unmerged.split("\0") if entry]
    paths = sorted({entry.split("\t", 1)[1] for entry in entries})
    if paths:
        git(repo, "update-index", "--force-remove", "--", *paths)
        git(repo, "update-index", "--index-info", input_text="".join(
            entry + "\n" for entry in entries))


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


def bring_back(worktree: Path, bundle: bytes, packed: Packed) -> list[str]:
    """The worker's commits into the lane's worktree (a fast-forward from its base), the
    transport commit undone into staged changes; returns the agent's own commits'
    subjects. GitError when the lane moved meanwhile (it cannot: the lane waits)."""
    head = git(worktree, "rev-parse", "HEAD").stdout.strip()
    if head != packed.head:
        raise GitError(f"the lane moved from {packed.head[:12]} to {head[:12]} during the "
                       "attempt")
    with tempfile.TemporaryDirectory(prefix="orchestrate-bundle-") as tmp:
        path = Path(tmp) / "back.bundle"
        path.write_bytes(bundle)
        git(worktree, "fetch", "-q", str(path), BACK_REF)
    base = packed.base
    if packed.snapshot:
        return _onto_worktree(worktree, base)
    git(worktree, "merge", "--ff-only", "-q", "FETCH_HEAD")
    subjects = git(worktree, "log", "--format=%s", f"{base}..HEAD").stdout.splitlines()
    if subjects and subjects[0].startswith(TRANSPORT):
        git(worktree, "reset", "-q", "--soft", "HEAD~1")
        subjects = subjects[1:]
    return subjects


def _onto_worktree(worktree: Path, snapshot: str) -> list[str]:
    """The work done on a snapshot, as the worktree's files: each file the node changed
    written (or removed) here, the lane's index left as it is, so a merge in progress
    keeps its unmerged entries: the lane judges what remains and its checkpoint commits
    and concludes the merge, as it does locally. The agent's own commits are not kept as
    commits there (their work is in the files)."""
    top = Path(git(worktree, "rev-parse", "--show-toplevel").stdout.strip())
    changed = git(top, "diff", "--name-status", "-z", "--no-renames", snapshot,
                  "FETCH_HEAD").stdout.split("\0")
    for status, rel in zip(changed[::2], changed[1::2], strict=False):
        target = top / rel
        if status == "D":
            target.unlink(missing_ok=True)
            continue
        blob = subprocess.run(["git", "cat-file", "blob", f"FETCH_HEAD:{rel}"], cwd=top,
                              capture_output=True, check=True).stdout
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob)
        mode = git(top, "ls-tree", "FETCH_HEAD", "--", rel).stdout.split(" ", 1)[0]
        target.chmod(0o755 if mode == "100755" else 0o644)
    subjects = git(worktree, "log", "--format=%s", f"{snapshot}..FETCH_HEAD").stdout
    return [s for s in subjects.splitlines() if not s.startswith(TRANSPORT)]
