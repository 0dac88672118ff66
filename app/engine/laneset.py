"""A run's lanes in git: each item a run takes gets a branch (`orchestrate/WRK-001`) and a
worktree under `.orchestrator/worktrees/`, where every attempt of the item runs and its
checkpoints are commits on that branch; when its review completes the branch comes back.

BACKLOG.yaml and the logs stay in the main checkout, written only by the run's
transactions, never committed from a lane. When the item's review completes, its branch
comes back into the branch that was checked out when the run started (worktrees.py says
how, and why the main checkout is never left mid-merge); then the item is done and its
worktree removed. A conflict blocks the item with the files named and keeps the branch;
unblocked, the lane first brings the branch up to date and the agent resolves the
conflicts in its next phase. Every step after the review's answer happens once, through
any crash (answers.py).
"""

from __future__ import annotations

import re
import threading
from typing import Protocol

from app.backlog import states
from app.backlog.model import Backlog, Item
from app.backlog.store import BacklogStore
from app.engine import gitlocks
from app.engine.answers import Answers
from app.engine.bringback import BringBack
from app.engine.checkpoint import subject
from app.engine.config import Config
from app.engine.executor import AgentResult, Judge, Verdict, Workspace
from app.engine.lanes import WorktreeLane
from app.engine.moves import Moves
from app.engine.project import Project
from app.engine.worktrees import GitError, Repository
from app.errors import OrchestrateError

_MARKER = re.compile(rb"^(<{7}|>{7})( |$)", re.M)
"""A conflict marker line git leaves in a file."""


class LaneHost(Protocol):
    """What lanes need of their run."""

    project: Project
    config: Config
    store: BacklogStore
    moves: Moves
    answers: Answers

    def notice(self, level: str, text: str) -> None: ...

    def sleep(self, seconds: float, item_id: str | None = None) -> None:
        """Wait; RunEnd at a stop, ItemWithdrawn when the item is taken away."""
        ...

    def end_if_ended(self) -> None:
        """RunEnd when the run's end is decided (another lane's breaker, a budget)."""
        ...


class LaneSet:
    """The git side of a run's lanes: open a worktree, checkpoint it, bring it back."""

    def __init__(self, run: LaneHost, repo: Repository, into: str) -> None:
        self.run = run
        self.repo = repo
        self.into = into
        """The branch checked out when the run started: finished lanes merge into it."""
        self.mode = run.config.run.merge
        self.prefix = run.config.run.branch_prefix
        self.git_lock = threading.Lock()
        """One git operation on the shared repository state at a time (worktree add and
        remove, merges, the backlog's commit): git's own locks would fail, not wait."""
        self.bringing = BringBack(self)
        """Finished lanes brought back (bringback.py)."""

    @classmethod
    def for_run(cls, run: LaneHost) -> LaneSet | None:
        """Lanes for this run, or None (with a warning saying why) to run one item at a
        time in the main checkout."""
        width = run.config.run.max_parallel
        why: str | None
        repo: Repository | None = None
        if not run.config.run.checkpoint:
            why = "lanes commit to their branches, and run.checkpoint = false"
        else:
            try:
                repo = Repository(run.project.root)
                why = repo.lanes_unavailable()
            except (GitError, OSError):
                why = f"{run.project.root} is not in a git repository"
        if (why or repo is None) and run.config.executor.kind == "ray":
            # An attempt on a node brings its work back as commits onto its lane's branch:
            # without lanes it would have nowhere to go.
            raise OrchestrateError(f"[executor] kind = \"ray\" needs lanes, and {why}")
        if why or repo is None:
            run.notice("warning", f"max_parallel = {width}, but {why}: running one item at "
                                  "a time in the main checkout")
            return None
        into = repo.current_branch()
        assert into is not None  # lanes_unavailable() said so
        lanes = cls(run, repo, into)
        lanes.clear_stale_locks()
        lanes.tidy(run.store.load())
        mode = {"merge": f"merged into {into}", "rebase": f"rebased onto {into}",
                "none": "left for a pull request"}[lanes.mode]
        when = "once you approve it (`orchestrate approve ID`)" \
            if run.config.run.merge_when == "review" else "when its review completes"
        at_once = f"up to {width} items at once" if width > 1 else "one item at a time"
        run.notice("info", f"{at_once}, each on its own branch ({lanes.prefix}ID) in "
                           f".orchestrator/worktrees/, {mode} {when}")
        return lanes

    def branch_of(self, item_id: str) -> str:
        return f"{self.prefix}{item_id}"

    def clear_stale_locks(self, min_age_s: float = 0.0) -> None:
        """git's lock files a killed git left (with a killed run): removed, and said. At the
        run's start nothing of the run's runs git yet; later, lanes' git commands may start
        at any moment, so only locks older than `min_age_s` count (bringback.STALE_LOCK_S)."""
        with self.git_lock:
            removed = self.repo.clear_stale_locks(min_age_s)
        if removed:
            self.run.notice("warning", gitlocks.removed_notice(removed))

    def tidy(self, backlog: Backlog) -> None:
        """Worktrees an earlier run left: kept for items that go on, removed for the rest."""
        pending = set(self.run.answers.pending())
        for item_id, path in sorted(self.repo.leftover_worktrees().items()):
            item = backlog.by_id.get(item_id)
            if item is not None and item.status in ("in_progress", "blocked", "ready",
                                                    *states.HELD):
                continue  # opened again (and reused) when its item runs, or reviewed
            if item is not None and item_id in pending:
                continue  # its finish was cut short: `finished` completes it
            what = "deleted" if item is None else states.describe(item)
            with self.git_lock:
                self.repo.remove_worktree(path)
            self.run.notice("warning", f"removed the worktree of {item_id} ({what}) that an "
                                       f"earlier run left in {path}; its branch "
                                       f"{self.branch_of(item_id)} is kept")

    def leftover(self, item_id: str) -> WorktreeLane | None:
        """The lane an earlier run left for the item (its worktree still there), or None."""
        path = self.repo.worktree_path(item_id).resolve()
        if not path.is_dir():
            return None
        return WorktreeLane(self, item_id, Workspace(self.repo.project_dir_in(path),
                                                     self.branch_of(item_id)), path)

    def finished(self, item: Item) -> None:
        """The steps after "done" that a killed run did not take for a merged lane."""
        self.bringing.finished(item)

    def finish(self, lane: WorktreeLane, item: Item, result: AgentResult) -> None:
        """Bring the branch back, then the item is done; or it is blocked saying why."""
        self.bringing.finish(lane, item, result)

    def unmerged_dependencies(self, item: Item) -> list[str]:
        """With `merge = "none"`: the branches of the item's dependencies that are not in
        the run's branch yet (their pull request not merged). A dependency whose branch is
        gone counts as merged: the person took it in (a squash merge, say) and deleted it."""
        if self.mode != "none":
            return []
        with self.git_lock:
            return [branch for branch in map(self.branch_of, item.depends_on)
                    if self.repo.branch_exists(branch)
                    and not self.repo.is_ancestor(f"refs/heads/{branch}", self.into)]

    def waits_for_merge(self, item: Item) -> str | None:
        """Why the item may not start yet, or None: with `merge = "none"` a lane starts
        from one dependency's unmerged branch (`open`), but not from two, which only a
        person can bring together."""
        unmerged = self.unmerged_dependencies(item)
        if len(unmerged) < 2:
            return None
        return (f"{item.id} waits until a person merges {', '.join(unmerged)} into "
                f"{self.into} (merge = \"none\": it cannot start from two unmerged branches)")

    def held(self, item: Item) -> WorktreeLane:
        """The lane of an item held for review (approved now, to be merged): its worktree as
        the review left it (made again from its branch if a person removed it), never
        brought up to date: the merge takes the branch as the person approved it."""
        branch = self.branch_of(item.id)
        with self.git_lock:
            if not self.repo.branch_exists(branch):
                raise GitError(f"its branch {branch} is gone (deleted by hand?): nothing to "
                               f"merge; `orchestrate advance {item.id} done` if you merged "
                               "it yourself")
            path, _ = self.repo.ensure_worktree(item.id, branch, self.into)
        return WorktreeLane(self, item.id, Workspace(self.repo.project_dir_in(path), branch),
                            path)

    def open(self, item: Item) -> WorktreeLane:
        """The item's worktree (reused when an earlier run left it), brought up to date
        with the run's branch when the item's branch already existed. A new branch starts
        from the run's branch, or (merge = "none") from the one dependency whose branch is
        not merged yet, so the item never starts without its dependency's work."""
        branch = self.branch_of(item.id)
        unmerged = self.unmerged_dependencies(item)
        base = unmerged[0] if len(unmerged) == 1 else self.into
        with self.git_lock:
            existed = self.repo.branch_exists(branch)
            path, reused = self.repo.ensure_worktree(item.id, branch, base)
            conflicts = self.repo.update_lane(path, self.into) if existed else ()
        lane = WorktreeLane(self, item.id, Workspace(self.repo.project_dir_in(path), branch),
                            path)
        # Its own .orchestrator/ (git-ignored by its own .gitignore), where its agents write
        # their result files: inside the worktree, which every permission mode allows.
        Project(self.repo.project_dir_in(path)).ensure_state_dirs()
        if not existed and base != self.into:
            self.run.notice("info", f"{item.id} starts from {base}, not {self.into}: its "
                                    f"dependency's work is not merged yet (merge = \"none\"); "
                                    f"its pull request builds on {base}'s")
        if reused:
            self.run.notice("info", f"{item.id} goes on in the worktree an earlier run left "
                                    f"({branch})")
        if conflicts:
            self.run.notice("warning", f"{item.id}: bringing {branch} up to date with "
                                       f"{self.into} met conflicts in "
                                       f"{', '.join(conflicts)}; the agent resolves them first")
        return lane

    # during the phases ---------------------------------------------------------------------------
    def workspace_note(self, lane: WorktreeLane) -> str:
        """What the prompt tells the agent about its worktree (and conflicts to resolve)."""
        assert lane.worktree is not None
        note = (f"You work in a git worktree of the project of your own (the current "
                f"directory), on branch {lane.branch}; other items are being worked on at "
                "the same time in other worktrees. Stay in this directory, do not switch "
                "branches, and leave BACKLOG.yaml alone: the orchestrator commits your "
                f"changes after this step and brings the branch into {self.into} when the "
                "item is done.")
        unresolved = self.unresolved(lane)
        if unresolved:
            note += (f"\n\nFirst: the branch was brought up to date with {self.into} and git "
                     f"left conflicts in {', '.join(unresolved)} (the files hold conflict "
                     "markers). Resolve them, keeping what both sides meant, then do this "
                     "step.")
        return note

    def unresolved(self, lane: WorktreeLane) -> tuple[str, ...]:
        """Conflicted files of the lane that still hold conflict markers."""
        if lane.worktree is None:
            return ()
        left = []
        for name in self.repo.conflicted(lane.worktree):
            try:
                if _MARKER.search((lane.worktree / name).read_bytes()):
                    left.append(name)
            except OSError:
                continue  # deleted as the resolution
        return tuple(left)

    def judge(self, lane: WorktreeLane, inner: Judge) -> Judge:
        """`inner`, and no step is complete while conflict markers remain."""

        def judge(result: AgentResult) -> Verdict | None:
            left = self.unresolved(lane)
            if left:
                return Verdict("failed", f"conflict markers remain in {', '.join(left)}: "
                                         "resolve them first")
            return inner(result)

        return judge

    def checkpoint(self, lane: WorktreeLane, item_id: str, phase: str, summary: str | None) -> None:
        """Commit what the phase changed in the lane (a commit on the lane's branch)."""
        assert lane.worktree is not None
        message = subject(item_id, phase, summary)
        try:
            commit, _ = self.repo.commit_lane(lane.worktree, message)
        except GitError as exc:
            self.run.notice("warning", f"checkpoint of {item_id} {phase} failed: {exc}")
            return
        if commit:
            self.run.notice("info", f"checkpoint {commit} on {lane.branch}: {message}")

    # when the review completes -----------------------------------------------------------------
