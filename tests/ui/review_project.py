"""A board project whose items wait for review (`merge_when = "review"`), in a real git
repository with fixed dates and authors (so its hashes, and the pictures, never change):
WRK-001 to review on its branch and worktree, WRK-002 approved, WRK-003 ready and
waiting on WRK-001, and the worklog of WRK-001's six phases."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from reading_project import commit_all, git

from app.engine.project import Project

BACKLOG = """\
schema_version: 1
prefix: WRK
next_id: 4
items:
  - id: WRK-001
    title: Password reset by email
    status: to_review
    size: small
    complexity: low
    risk: low
    depends_on: []
    created: 2026-11-20T09:00:00Z
    updated: 2026-11-22T08:00:00Z
  - id: WRK-002
    title: Remember me on the login page
    status: approved
    size: small
    complexity: low
    risk: low
    depends_on: []
    created: 2026-11-20T09:05:00Z
    updated: 2026-11-22T09:00:00Z
  - id: WRK-003
    title: Audit log of logins
    status: ready
    size: small
    complexity: low
    risk: low
    depends_on: [WRK-001]
    created: 2026-11-20T09:10:00Z
    updated: 2026-11-20T09:10:00Z
"""

FOLDER = "changes/WRK-001_password-reset-by-email"
PRD = """\
# Password reset by email

People who forgot their password get a link by email.

## Success criteria

- A reset link works once
- It expires after one hour
- No hint whether an address has an account
"""
SPEC = """\
# Spec

## Phase 1: tokens
- [x] reset_tokens table
- [x] redeem a token once
"""
REVIEW = """\
# Review

The tokens are hashed at rest and used up on redeem. Ready to merge.
"""
RESET_PY = '''\
"""Password reset tokens."""

HOUR = 60 * 60


def redeem(token):
    row = find(hash_of(token))
    if row is None or row.expired or row.used:
        return None
    row.used = True
    return row.user_id
'''
PHASES = ("prd", "research", "design", "spec", "build", "review")


def make_review_project(root: Path) -> Project:
    """The project (module docstring); its agent is the scripted one, so a merge run
    started from the board needs no agent at all, and a reject's build could run."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "BACKLOG.yaml").write_text(BACKLOG)
    agent = json.dumps([sys.executable, "-m", "app.demo.scripted_agent", "-p", "{prompt}"])
    (root / "orchestrate.toml").write_text(
        f"[agent]\ncommand = {agent}\n\n[run]\nmerge_when = \"review\"\ncooldown_s = 0\n"
        "backoff_s = 0\n")
    project = Project(root)
    project.ensure_state_dirs()
    (root / ".gitignore").write_text(".orchestrator/\n")
    (root / "app.py").write_text("print('hello')\n")
    git(root, "init", "-q")
    commit_all(root, "initial", "2026-11-20T09:00:00+00:00")
    for item in ("WRK-001", "WRK-002"):
        git(root, "branch", f"orchestrate/{item}")
    git(root, "worktree", "add", "-q", str(project.worktrees_dir / "WRK-001"),
        "orchestrate/WRK-001")
    lane = project.worktrees_dir / "WRK-001"
    folder = lane / FOLDER
    folder.mkdir(parents=True)
    for name, text, phase, when in (
            ("PRD.md", PRD, "PRD", "2026-11-21T10:00:00+00:00"),
            ("SPEC.md", SPEC, "SPEC", "2026-11-21T11:00:00+00:00"),
            ("../../reset.py", RESET_PY, "BUILD", "2026-11-21T12:00:00+00:00"),
            ("REVIEW.md", REVIEW, "REVIEW", "2026-11-21T13:00:00+00:00")):
        (folder / name).write_text(text)
        commit_all(lane, f"[WRK-001][{phase}] {name.rsplit('/', 1)[-1]}", when)
    with project.worklog_path.open("w") as log:
        for n, phase in enumerate(PHASES):
            log.write(json.dumps({
                "item": "WRK-001", "phase": phase, "attempt": 1,
                "start": f"2026-11-21T1{n // 6}:{n * 5:02d}:00Z",
                "end": f"2026-11-21T1{n // 6}:{n * 5 + 1:02d}:00Z", "duration_s": 30.0,
                "outcome": "complete", "cost_usd": 0.07, "agent": "default",
                "kind": "claude"}) + "\n")
    return project
