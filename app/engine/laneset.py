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

import dataclasses
import re
import threading
from typing import Protocol

from app.backlog import states
from app.backlog.model import Backlog, Item
from app.backlog.store import BacklogStore
from app.engine import gitlocks
from app.engine.answers import Answers
from app.engine.checkpoint import one_line, subject
from app.engine.config import Config
from app.engine.executor import AgentResult, Judge, Verdict, Workspace
from app.engine.lanes import WorktreeLane
from app.engine.moves import Moves
from app.engine.project import BACKLOG_NAME, Project
from app.engine.worktrees import GitError, MergeOutcome, Repository, git
from app.errors import TransitionError

MERGE_RETRY_S = 5.0
"""How often a postponed merge is tried again."""
STALE_LOCK_S = 10.0
"""While lanes work, a git lock file no process holds counts as stale from this age."""
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


def conflict_reason(files: tuple[str, ...], branch: str) -> str:
    """`merge conflict in shared.txt, b.py; branch orchestrate/WRK-002 kept`."""
    shown = ", ".join(files[:3]) + (", …" if len(files) > 3 else "")
    return f"merge conflict in {shown or 'the branch'}; branch {branch} kept"


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
        run.notice("info", f"up to {width} items at once, each on its own branch "
                           f"({lanes.prefix}ID) in .orchestrator/worktrees/, {mode} when its "
                           "review completes")
        return lanes

    def branch_of(self, item_id: str) -> str:
        return f"{self.prefix}{item_id}"

    def clear_stale_locks(self, min_age_s: float = 0.0) -> None:
        """git's lock files a killed git left (with a killed run): removed, and said. At the
        run's start nothing of the run's runs git yet; later, lanes' git commands may start
        at any moment, so only locks older than `min_age_s` count (STALE_LOCK_S)."""
        with self.git_lock:
            removed = self.repo.clear_stale_locks(min_age_s)
        if removed:
            self.run.notice("warning", gitlocks.removed_notice(removed))

    def tidy(self, backlog: Backlog) -> None:
        """Worktrees an earlier run left: kept for items that go on, removed for the rest."""
        pending = set(self.run.answers.pending())
        for item_id, path in sorted(self.repo.leftover_worktrees().items()):
            item = backlog.by_id.get(item_id)
            if item is not None and item.status in ("in_progress", "blocked", "ready"):
                continue  # opened again (and reused) when its item runs
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
        """The steps after "done" that a killed run did not take for a merged lane:
        BACKLOG.yaml's commit, the worktree's removal, the merged branch's deletion."""
        branch = self.branch_of(item.id)
        with self.git_lock:
            self._commit_backlog(item)
            path = self.repo.worktree_path(item.id).resolve()
            if path.exists():
                self.repo.remove_worktree(path)
            merged = self.mode != "none" and self.repo.branch_exists(branch) and \
                self.repo.is_ancestor(f"refs/heads/{branch}", "HEAD")
            if merged:
                self.repo.delete_branch(branch)

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
    def finish(self, lane: WorktreeLane, item: Item, result: AgentResult) -> None:
        """Bring the branch back, then the item is done; or it is blocked on a conflict."""
        assert lane.branch is not None and lane.worktree is not None
        left = self.repo.uncommitted(lane.worktree)
        if left:
            # The last checkpoint failed (a stale index.lock, a full disk): merging now
            # would leave that work out, and removing the worktree would lose it.
            shown = ", ".join(left[:3]) + (", …" if len(left) > 3 else "")
            self.run.moves.move(item.id, states.Target("blocked"), result=result,
                           reason=f"its last checkpoint failed, so nothing was merged: "
                                  f"{shown} not committed on {lane.branch}; worktree kept")
            return
        message = f"Merge {lane.branch}: [{item.id}] {one_line(item.title)}"
        self._repair(item.id)
        told = False
        while True:
            with self.git_lock:
                try:
                    outcome = self.repo.bring_back(
                        lane.branch, self.into, self.mode, lane.worktree, message,
                        on_fast_forward=lambda head, to: self._record_fast_forward(
                            item.id, head, to))
                except GitError as exc:  # a person must look: never loop on it
                    self.run.moves.move(item.id, states.Target("blocked"), result=result,
                                   reason=f"merging {lane.branch} failed: {exc}; branch "
                                          f"{lane.branch} kept")
                    return
                if outcome.kind in ("merged", "kept"):
                    done = self._done(item, result)
                    self._commit_backlog(done)
            if outcome.kind != "postponed":
                break
            if not told:
                told = True
                self.run.notice("warning", f"{item.id} waits to be merged: {outcome.why}")
            # A git killed meanwhile (not the run) may have left the lock that refuses it.
            self.clear_stale_locks(STALE_LOCK_S)
            # An end another lane decided (circuit breaker, budget, cap) ends the wait as a
            # stop does: else the run would wait for the person forever, never ending.
            # The item stays in its review, which a later run does again.
            self.run.end_if_ended()
            self.run.sleep(MERGE_RETRY_S, item.id)
        self._after(lane, item, outcome, result)

    def _record_fast_forward(self, item_id: str, head: str, to: str) -> None:
        """Before the main checkout moves: which move it is, with the item's answer, so
        a restart after a git killed mid-way knows the half-moved files are the run's."""
        answer = self.run.answers.load(item_id)
        if answer is not None:
            self.run.answers.save(dataclasses.replace(answer, fast_forward=(head, to)))

    def _repair(self, item_id: str) -> None:
        """Before bringing the lane back: git's stale locks cleared, and a fast-forward of
        this item that a killed git left half done put back (the files are the run's,
        the record says so), so that it is made again, once (git's stale locks were
        cleared as the run started)."""
        answer = self.run.answers.load(item_id)
        if answer is None or answer.fast_forward is None:
            return
        with self.git_lock:
            put_back = self.repo.repair_fast_forward(*answer.fast_forward)
        if put_back:
            self.run.notice("warning", f"{item_id}: the main checkout was left half "
                                       f"fast-forwarded by a git killed mid-way (the run's "
                                       f"merge, not your changes): put back "
                                       f"{', '.join(put_back[:5])}, and merged again")
        elif put_back is None:
            self.run.notice("warning", f"{item_id}: files its interrupted merge touched "
                                       "were changed since: they are taken as yours and "
                                       "left as they are")

    def _done(self, item: Item, result: AgentResult) -> Item:
        """The merged item, moved to done. If BACKLOG.yaml went back under the run (a
        person's `git stash` took the run's uncommitted changes of it too), the merge that
        just landed is the truth: the item is done all the same, said, not run again."""
        try:
            return self.run.moves.move(item.id, states.Target("done"), result=result)
        except TransitionError:
            now = self.run.store.load().by_id.get(item.id)
            if now is None or now.status == "done":
                raise
        done = self.run.moves.move(item.id, states.Target("done"), result=result,
                                   by_person=True)
        self.run.notice("warning", f"{item.id} was {states.describe(now)} in BACKLOG.yaml "
                                   "(the file went back under the run: a `git stash`?), but "
                                   f"its branch is merged: marked done")
        return done

    def _after(self, lane: WorktreeLane, item: Item, outcome: MergeOutcome,
               result: AgentResult) -> None:
        assert lane.branch is not None and lane.worktree is not None
        if outcome.kind == "conflict":
            self.run.moves.move(item.id, states.Target("blocked"),
                           reason=conflict_reason(outcome.files, lane.branch), result=result)
            return
        with self.git_lock:
            self.repo.remove_worktree(lane.worktree)
            if outcome.kind == "merged":
                self.repo.delete_branch(lane.branch)
        if outcome.kind == "kept":
            self.run.notice("info", f"{item.id} done; its branch {lane.branch} is left for a "
                                    "pull request")
            return
        how = f" ({outcome.why})" if outcome.why else ""
        self.run.notice("info", f"{item.id} merged into {self.into} at {outcome.commit}{how}")

    def _commit_backlog(self, item: Item) -> None:
        """The main checkout's BACKLOG.yaml, now saying the item is done, committed alone."""
        rel = str(self.repo.project_rel / BACKLOG_NAME)
        top = self.repo.toplevel
        if not git(top, "status", "--porcelain", "--", rel).stdout.strip():
            return
        try:
            git(top, "add", "--", rel)
            git(top, "commit", "-q", "--no-verify", "--only", "-m",
                f"[{item.id}][DONE] {one_line(item.title)}", "--", rel)
        except GitError as exc:
            self.run.notice("warning", f"BACKLOG.yaml was not committed after {item.id}: "
                                       f"{exc}")
