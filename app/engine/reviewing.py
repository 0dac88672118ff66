"""What a person reads before approving an item held for review (`merge_when = "review"`):
its branch's whole change against the checked-out branch, SPEC progress, and what its
attempts cost. The board's review view shows it (app/ui/screens/review.py); read in a
worker, never on the UI's thread.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from app.backlog.model import Item
from app.engine import commits, worklog
from app.engine.changes import SpecProgress, spec_progress
from app.engine.project import Project
from app.structs import Struct


class ReviewFacts(Struct, frozen=True):
    """The figures beside a review's diff."""

    branch: str
    """The item's lane branch (`orchestrate/WRK-001`)."""
    into: str | None
    """The branch checked out in the main checkout, which approving merges into."""
    spec: SpecProgress | None
    attempts: int
    cost_usd: float
    duration_s: float

    def line(self) -> str:
        """`orchestrate/WRK-001 → main · SPEC 4/4 · 6 attempts · $0.12 · 3m20s`."""
        parts = [f"{self.branch} → {self.into or 'a detached HEAD'}"]
        if self.spec is not None:
            parts.append(f"SPEC {self.spec}")
        parts += [f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}",
                  worklog.money(self.cost_usd), worklog.format_duration(self.duration_s)]
        return " · ".join(parts)


def branch_of(project: Project, item_id: str) -> str:
    """The item's lane branch, as orchestrate.toml names it."""
    return f"{project.config().run.branch_prefix}{item_id}"


def facts(project: Project, item: Item) -> ReviewFacts:
    """The item's review facts (reads the worklog, SPEC.md and git)."""
    spent = worklog.totals(worklog.for_item(worklog.read(project.worklog_path), item.id))
    head = subprocess.run(["git", "symbolic-ref", "--quiet", "--short", "HEAD"],
                          cwd=project.root, capture_output=True, text=True, check=False)
    return ReviewFacts(branch_of(project, item.id), head.stdout.strip() or None,
                       spec_progress(project.root, item), spent.attempts, spent.cost_usd,
                       spent.duration_s)


def diff(root: Path, branch: str, width: int) -> tuple[tuple[str, str], ...]:
    """The branch's change as (kind, line) pairs, stat first, up to MAX_DIFF_LINES lines,
    then a note saying how to see the rest (runs git; OrchestrateError when it fails)."""
    shown = commits.first_lines(commits.branch_diff_lines(root, branch, width))
    lines = tuple(commits.line_kinds(shown.lines))
    if not shown.lines:
        return (("note", f"{branch} changes nothing against the checked-out branch"),)
    if shown.cut:
        lines += (("note", f"… the diff goes on: shown up to {commits.MAX_DIFF_LINES:,} "
                           f"lines; `git diff HEAD...{branch}` shows it whole"),)
    return lines
