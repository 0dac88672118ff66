"""The throwaway sample project behind `orchestrate demo`.

A git repository with a small web app's backlog of a dozen realistic items in
every status, and an orchestrate.toml whose agent is the scripted demo agent
(`python -m app.demo.scripted_agent`), so a run needs no Claude account.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app.engine.project import Project

SAMPLE_BACKLOG = """\
# The demo backlog of "Tasklane", a small team task tracker.
# Edit this file while the board is open: the board follows.
schema_version: 1
prefix: TL
next_id: 13
items:
  # Shipped already.
  - id: TL-001
    title: Set up CI for the web app
    status: done
    phase: null
    size: small
    complexity: low
    risk: low
    depends_on: []
    blocked_reason: null
    blocked_from: null
    notes: null
    created: 2026-11-20T09:00:00Z
    updated: 2026-11-21T16:40:00Z
  - id: TL-002
    title: Health-check endpoint for the load balancer
    status: done
    phase: null
    size: small
    complexity: low
    risk: low
    depends_on: []
    blocked_reason: null
    blocked_from: null
    notes: null
    created: 2026-11-20T09:05:00Z
    updated: 2026-11-22T11:02:00Z
  # Half-way through the pipeline: a run resumes it at design.
  - id: TL-003
    title: Add a login page with email and password
    status: in_progress
    phase: design
    size: small
    complexity: medium
    risk: low
    depends_on: []
    blocked_reason: null
    blocked_from: null
    notes: Reuse the form components from the settings page.
    created: 2026-11-20T10:00:00Z
    updated: 2026-11-23T15:20:00Z
  - id: TL-004
    title: Export a project's tasks as CSV
    status: ready
    phase: null
    size: small
    complexity: low
    risk: low
    depends_on: []
    blocked_reason: null
    blocked_from: null
    notes: Excel must open the file without an import dialog (UTF-8 BOM).
    created: 2026-11-21T08:30:00Z
    updated: 2026-11-21T08:30:00Z
  - id: TL-005
    title: Dark mode for the settings page
    status: ready
    phase: null
    size: small
    complexity: low
    risk: low
    depends_on: []
    blocked_reason: null
    blocked_from: null
    notes: null
    created: 2026-11-21T08:45:00Z
    updated: 2026-11-21T08:45:00Z
  - id: TL-006
    title: Rate-limit the public API per token
    status: ready
    phase: null
    size: medium
    complexity: medium
    risk: low
    depends_on: [TL-002]
    blocked_reason: null
    blocked_from: null
    notes: 100 requests a minute; answer 429 with Retry-After.
    created: 2026-11-21T09:00:00Z
    updated: 2026-11-22T10:00:00Z
  # Waits for a person: press u on the board to unblock it with notes.
  - id: TL-007
    title: Move sessions from cookies to Redis
    status: blocked
    phase: null
    size: medium
    complexity: medium
    risk: low
    depends_on: []
    blocked_reason: "Needs a decision: managed Redis or self-hosted?"
    blocked_from: ready
    notes: null
    created: 2026-11-21T10:00:00Z
    updated: 2026-11-23T09:12:00Z
  - id: TL-008
    title: Password reset by email
    status: scoped
    phase: null
    size: medium
    complexity: medium
    risk: medium
    depends_on: [TL-003]
    blocked_reason: null
    blocked_from: null
    notes: Over the risk guardrail (tokens, email); a person moves it to ready.
    created: 2026-11-22T08:00:00Z
    updated: 2026-11-22T12:00:00Z
  - id: TL-009
    title: Full-text search across projects
    status: researching
    phase: null
    size: large
    complexity: high
    risk: medium
    depends_on: []
    blocked_reason: null
    blocked_from: null
    notes: Postgres full-text search or a search service? Triage asked to investigate.
    created: 2026-11-22T09:00:00Z
    updated: 2026-11-22T09:30:00Z
  # New ideas: press t on the board to triage them.
  - id: TL-010
    title: Audit log of admin actions
    status: new
    phase: null
    size: null
    complexity: null
    risk: null
    depends_on: []
    blocked_reason: null
    blocked_from: null
    notes: null
    created: 2026-11-23T08:00:00Z
    updated: 2026-11-23T08:00:00Z
  - id: TL-011
    title: Invite teammates by link
    status: new
    phase: null
    size: null
    complexity: null
    risk: null
    depends_on: [TL-003]
    blocked_reason: null
    blocked_from: null
    notes: null
    created: 2026-11-23T08:10:00Z
    updated: 2026-11-23T08:10:00Z
  - id: TL-012
    title: Keyboard shortcuts cheat sheet
    status: new
    phase: null
    size: null
    complexity: null
    risk: null
    depends_on: []
    blocked_reason: null
    blocked_from: null
    notes: null
    created: 2026-11-23T08:20:00Z
    updated: 2026-11-23T08:20:00Z
"""

SAMPLE_README = """\
# Tasklane

A small team task tracker: the sample project of `orchestrate demo`.
Everything in `changes/` was written by the scripted demo agent.
"""


DEMO_SCRIPT_NAME = "demo-agent.json"


def demo_config(speed: float, script: Path) -> str:
    """orchestrate.toml for the demo: the scripted agent, short waits."""
    command = [sys.executable, "-m", "app.demo.scripted_agent", "--script", str(script),
               "--speed", f"{speed:g}", "-p", "{prompt}", "--output-format", "stream-json",
               "--verbose"]
    return (
        "# The demo's configuration: the agent is orchestrate's scripted demo agent,\n"
        "# which speaks the same protocol as `claude -p --output-format stream-json`.\n"
        "[agent]\n"
        f"command = {json.dumps(command)}\n"
        "phase_timeout_s = 120\nkill_grace_s = 2\n\n"
        "[run]\n"
        f"max_retries = 2\nbackoff_s = {max(0.5, 3 / speed):g}\n"
        f"cooldown_s = {max(0.2, 1 / speed):g}\ncircuit_breaker = 3\ncheckpoint = true\n\n"
        "[guardrails]\nmax_size = \"medium\"\nmax_risk = \"low\"\n\n"
        "[triage]\nmax_concurrent = 3\n"
    )


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def make_demo_project(root: Path, speed: float = 1.0) -> Project:
    """Create the sample project in `root` (which must be empty or missing)."""
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        from app.errors import OrchestrateError

        raise OrchestrateError(f"{root} is not empty; give `orchestrate demo --dir` a new folder")
    project = Project(root.resolve())
    project.backlog_path.write_text(SAMPLE_BACKLOG, encoding="utf-8")
    project.ensure_state_dirs()
    script = project.state_dir / DEMO_SCRIPT_NAME
    script.write_text(json.dumps({"default": "demo"}) + "\n", encoding="utf-8")
    project.config_path.write_text(demo_config(speed, script), encoding="utf-8")
    (root / "README.md").write_text(SAMPLE_README, encoding="utf-8")
    _git(root, "init", "-q")
    _git(root, "config", "user.name", "orchestrate demo")
    _git(root, "config", "user.email", "demo@orchestrate.invalid")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "Tasklane: the demo's starting point")
    return project
