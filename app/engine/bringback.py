"""Bringing a worktree lane back when its item's review completes (or, with `[run]
merge_when = "review"`, once a person approves it: until then it waits in `to_review`,
its worktree and branch kept): the merge into the run's branch (worktrees.py makes it
without ever leaving the main checkout mid-merge), the item done, BACKLOG.yaml committed
alone, the worktree removed and the merged branch deleted; or the item blocked saying
why (a conflict, a checkpoint that failed, git).

Every step happens once through any crash: the answer is recorded first (answers.py),
the fast-forward's ends too (a git killed mid-way leaves files that are the run's), and
each step first looks at what already happened (`bring_back` of a merged branch merges
nothing; `finished` does only what a killed run left).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.backlog import states
from app.backlog.model import Item
from app.engine.checkpoint import one_line
from app.engine.executor import AgentResult
from app.engine.lanes import WorktreeLane
from app.engine.merges import Merges
from app.engine.project import BACKLOG_NAME
from app.engine.worktrees import GitError, MergeOutcome, git
from app.errors import TransitionError
from app.structs import replace

if TYPE_CHECKING:
    from app.engine.laneset import LaneSet

MERGE_RETRY_S = 5.0
"""How often a postponed merge is tried again."""
STALE_LOCK_S = 10.0
"""While lanes work, a git lock file no process holds counts as stale from this age."""


def conflict_reason(files: tuple[str, ...], branch: str) -> str:
    """`merge conflict in shared.txt, b.py; branch orchestrate/WRK-002 kept`."""
    shown = ", ".join(files[:3]) + (", …" if len(files) > 3 else "")
    return f"merge conflict in {shown or 'the branch'}; branch {branch} kept"


class BringBack:
    """A run's finished lanes, brought back (module docstring)."""

    def __init__(self, lanes: LaneSet) -> None:
        self.lanes = lanes
        self.run = lanes.run
        self.repo = lanes.repo
        self.merges = Merges(lanes.repo)

    def finished(self, item: Item) -> None:
        """The steps after "done" that a killed run did not take for a merged lane:
        BACKLOG.yaml's commit, the worktree's removal, the merged branch's deletion."""
        branch = self.lanes.branch_of(item.id)
        with self.lanes.git_lock:
            self._commit_backlog(item)
            path = self.repo.worktree_path(item.id).resolve()
            if path.exists():
                self.repo.remove_worktree(path)
            merged = self.lanes.mode != "none" and self.repo.branch_exists(branch) \
                and self.repo.is_ancestor(f"refs/heads/{branch}", "HEAD")
            if merged:
                self.repo.delete_branch(branch)

    def finish(self, lane: WorktreeLane, item: Item, result: AgentResult) -> None:
        """Bring the branch back, then the item is done; or it is blocked on a conflict.
        With `merge_when = "review"` an item not approved yet waits for the person."""
        assert lane.branch is not None
        left = self.repo.uncommitted(lane.worktree) if lane.worktree.is_dir() else ()
        if left:
            # The last checkpoint failed (a stale index.lock, a full disk): merging now
            # would leave that work out, and removing the worktree would lose it.
            shown = ", ".join(left[:3]) + (", …" if len(left) > 3 else "")
            self._block(item, result, f"its last checkpoint failed, so nothing was merged: "
                                      f"{shown} not committed on {lane.branch}; worktree kept")
            return
        if self.run.config.run.merge_when == "review" and item.status != "approved":
            self._hold(lane, item, result)
            return
        self._repair(item.id)
        outcome = self._bring_back(lane, item, result)
        if outcome is not None:
            self._after(lane, item, outcome, result)

    def _bring_back(self, lane: WorktreeLane, item: Item, result: AgentResult
                    ) -> MergeOutcome | None:
        """Merge (or rebase) the branch into the run's, waiting while a person's changes
        are in the way; the item done once merged. None when it was blocked instead."""
        assert lane.branch is not None
        lanes, run = self.lanes, self.run
        message = f"Merge {lane.branch}: [{item.id}] {one_line(item.title)}"
        told = False
        while True:
            with lanes.git_lock:
                try:
                    outcome = self.merges.bring_back(
                        lane.branch, lanes.into, lanes.mode, lane.worktree, message,
                        on_fast_forward=lambda head, to: self._record_fast_forward(
                            item.id, head, to))
                except GitError as exc:  # a person must look: never loop on it
                    self._block(item, result, f"merging {lane.branch} failed: {exc}; branch "
                                              f"{lane.branch} kept")
                    return None
                if outcome.kind in ("merged", "kept"):
                    self._commit_backlog(self._done(item, result))
            if outcome.kind != "postponed":
                return outcome
            if not told:
                told = True
                run.notice("warning", f"{item.id} waits to be merged: {outcome.why}")
            # A git killed meanwhile (not the run) may have left the lock that refuses it.
            lanes.clear_stale_locks(STALE_LOCK_S)
            # An end another lane decided (circuit breaker, budget, cap) ends the wait as a
            # stop does: else the run would wait for the person forever, never ending.
            # The item stays in its review, which the next run merges (answers.py).
            run.end_if_ended()
            run.sleep(MERGE_RETRY_S, item.id)

    def _hold(self, lane: WorktreeLane, item: Item, result: AgentResult) -> None:
        """The review completed: the item waits for a person, its worktree and branch kept."""
        self.run.moves.move(item.id, states.Target("to_review"), result=result)
        self.run.notice("info", f"{item.id} waits for your review on {lane.branch}: "
                                f"`orchestrate approve {item.id}` merges it into "
                                f"{self.lanes.into}, `orchestrate reject {item.id} --notes "
                                "\"...\"` sends it back to build")

    def _block(self, item: Item, result: AgentResult, reason: str) -> None:
        # An approved item's merge that conflicts goes back through its review phase when
        # unblocked: the lane is brought up to date, its agent resolves the conflict, and
        # the person reviews the resolution before it merges.
        via = states.Target("in_progress", "review") if item.status == "approved" else None
        self.run.moves.move(item.id, states.Target("blocked"), result=result, reason=reason,
                            via=via)

    def _record_fast_forward(self, item_id: str, head: str, to: str) -> None:
        """Before the main checkout moves: which move it is, with the item's answer, so
        a restart after a git killed mid-way knows the half-moved files are the run's."""
        answer = self.run.answers.load(item_id)
        if answer is not None:
            self.run.answers.save(replace(answer, fast_forward=(head, to)))

    def _repair(self, item_id: str) -> None:
        """Before bringing the lane back: a fast-forward of this item that a killed git
        left half done is put back (the files are the run's, the record says so), so that
        it is made again, once (git's stale locks were cleared as the run started)."""
        answer = self.run.answers.load(item_id)
        if answer is None or answer.fast_forward is None:
            return
        with self.lanes.git_lock:
            put_back = self.merges.repair(*answer.fast_forward)
        if put_back:
            self.run.notice("warning", f"{item_id}: the main checkout was left half "
                                       "fast-forwarded by a git killed mid-way (the run's "
                                       f"merge, not your changes): put back "
                                       f"{', '.join(put_back[:5])}, and merged again")
        elif put_back is None:
            self.run.notice("warning", f"{item_id}: files its interrupted merge touched were "
                                       "changed since: they are taken as yours and left as "
                                       "they are")

    def _done(self, item: Item, result: AgentResult) -> Item:
        """The merged item, moved to done. If BACKLOG.yaml went back under the run (a
        person's `git stash` took the run's uncommitted changes of it too), the merge that
        just landed is the truth: the item is done all the same, said, not run again."""
        moves = self.run.moves
        try:
            return moves.move(item.id, states.Target("done"), result=result)
        except TransitionError:
            now = self.run.store.load().by_id.get(item.id)
            if now is None or now.status == "done":
                raise
        done = moves.move(item.id, states.Target("done"), result=result, by_person=True)
        self.run.notice("warning", f"{item.id} was {states.describe(now)} in BACKLOG.yaml "
                                   "(the file went back under the run: a `git stash`?), but "
                                   "its branch is merged: marked done")
        return done

    def _after(self, lane: WorktreeLane, item: Item, outcome: MergeOutcome,
               result: AgentResult) -> None:
        assert lane.branch is not None
        if outcome.kind == "conflict":
            self._block(item, result, conflict_reason(outcome.files, lane.branch))
            return
        with self.lanes.git_lock:
            self.repo.remove_worktree(lane.worktree)
            if outcome.kind == "merged":
                self.repo.delete_branch(lane.branch)
        if outcome.kind == "kept":
            self.run.notice("info", f"{item.id} done; its branch {lane.branch} is left for a "
                                    "pull request")
            return
        how = f" ({outcome.why})" if outcome.why else ""
        self.run.notice("info", f"{item.id} merged into {self.lanes.into} at "
                                f"{outcome.commit}{how}")

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
