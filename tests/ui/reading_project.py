"""A board project in a real git repository for the reading tests (pilot and snapshots):
dependencies both ways, a ready item outside the guardrails, an item in the build phase
with SPEC.md 3/7, change documents, and checkpoint commits with fixed dates and authors
(so their hashes, and the pictures, never change)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from app.engine.project import Project

READING_BACKLOG = """\
schema_version: 1
prefix: WRK
next_id: 6
items:
  - id: WRK-001
    title: Remember me on the login page
    status: ready
    size: small
    complexity: low
    risk: low
    depends_on: [WRK-002]
    created: 2026-11-20T09:00:00Z
    updated: 2026-11-20T09:00:00Z
  - id: WRK-002
    title: Password reset by email
    status: in_progress
    phase: build
    size: medium
    complexity: medium
    risk: low
    depends_on: [WRK-005]
    notes: Tokens expire after one hour.
    created: 2026-11-20T09:05:00Z
    updated: 2026-11-22T08:00:00Z
  - id: WRK-003
    title: Migrate sessions to Redis
    status: ready
    size: small
    complexity: high
    risk: high
    depends_on: []
    created: 2026-11-20T09:10:00Z
    updated: 2026-11-21T10:00:00Z
  - id: WRK-004
    title: Audit log of logins
    status: new
    depends_on: [WRK-002]
    created: 2026-11-20T09:15:00Z
    updated: 2026-11-21T11:00:00Z
  - id: WRK-005
    title: Set up CI
    status: done
    size: small
    complexity: low
    risk: low
    depends_on: []
    created: 2026-11-19T09:00:00Z
    updated: 2026-11-19T18:00:00Z
"""
"""WRK-001 (ready) waits on WRK-002 (build, SPEC 3/7), which WRK-004 needs too and which
depends on WRK-005 (done); WRK-003 is ready but its risk is over the guardrails."""

FOLDER = "changes/WRK-002_password-reset-by-email"

PRD = """\
# Password reset by email

People who forgot their password get a link by email that lets them set a new one.

## Goals

- A reset link that works **once** and expires after one hour
- No hint whether an address has an account

## Out of scope

| what | why |
| --- | --- |
| SMS reset | no SMS provider yet |
| security questions | weak |
"""

DESIGN = """\
# Design

A `reset_tokens` table holds a hash of each token:

```python
def issue(user: User) -> str:
    token = secrets.token_urlsafe(32)
    store(hash_of(token), user.id, expires=now() + HOUR)
    return token
```
"""

SPEC = """\
# Spec

## Phase 1: tokens
- [x] reset_tokens table
- [x] issue a token
- [x] hash tokens at rest

## Phase 2: email
- [ ] send the email
- [ ] the reset form
- [ ] expire after use
- [ ] tests
"""

RESET_PY = '''\
"""Password reset tokens."""

import secrets

HOUR = 3600


def issue(user):
    token = secrets.token_urlsafe(32)
    store(hash_of(token), user.id, expires=now() + HOUR)
    return token
'''

RESET_PY_2 = RESET_PY.replace("HOUR = 3600", "HOUR = 60 * 60  # one hour") + '''

def redeem(token):
    row = find(hash_of(token))
    if row is None or row.expired or row.used:
        return None
    row.used = True
    return row.user_id
'''


def git(root: Path, *args: str, when: str = "2026-11-21T10:00:00+00:00") -> None:
    """git with a fixed author, committer and date (the same hashes on every run)."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "orchestrate", "GIT_AUTHOR_EMAIL": "bot@example.com",
           "GIT_COMMITTER_NAME": "orchestrate", "GIT_COMMITTER_EMAIL": "bot@example.com",
           "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, "GIT_CONFIG_GLOBAL": "/dev/null",
           "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main",
                    *args], cwd=root, env=env, check=True, capture_output=True)


def commit_all(root: Path, message: str, when: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message, when=when)


def make_reading_project(root: Path, *, with_git: bool = True) -> Project:
    """The project: BACKLOG.yaml, WRK-002's documents, and (with `with_git`) a repository
    whose history holds three checkpoints of WRK-002 and one of WRK-005."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "BACKLOG.yaml").write_text(READING_BACKLOG)
    project = Project(root)
    project.ensure_state_dirs()
    folder = root / FOLDER
    folder.mkdir(parents=True)
    if with_git:
        git(root, "init", "-q")
        commit_all(root, "initial", "2026-11-20T09:00:00+00:00")
    (folder / "PRD.md").write_text(PRD)
    if with_git:
        commit_all(root, "[WRK-002][PRD] PRD: reset links by email, once, for an hour",
                   "2026-11-21T10:02:00+00:00")
    (root / "ci.yml").write_text("steps: [test]\n")
    if with_git:
        commit_all(root, "[WRK-005][BUILD] CI runs the tests", "2026-11-21T11:00:00+00:00")
    (folder / "DESIGN.md").write_text(DESIGN)
    (folder / "SPEC.md").write_text(SPEC.replace("- [x]", "- [ ]"))
    if with_git:
        commit_all(root, "[WRK-002][DESIGN] Design and spec: hashed tokens in a table",
                   "2026-11-21T14:30:00+00:00")
    (root / "reset.py").write_text(RESET_PY)
    if with_git:
        commit_all(root, "[WRK-002][BUILD] Tokens are issued and stored hashed",
                   "2026-11-22T07:45:00+00:00")
    (root / "reset.py").write_text(RESET_PY_2)
    (folder / "SPEC.md").write_text(SPEC)
    (folder / "notes.md").write_text("Ask ops about the mail relay.\n")
    if with_git:
        commit_all(root, "[WRK-002][BUILD] Tokens are redeemed once, then used up",
                   "2026-11-22T08:00:00+00:00")
    return project
