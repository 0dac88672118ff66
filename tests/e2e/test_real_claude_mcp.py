"""The REAL Claude Code CLI with orchestrate's MCP server, against the stand-in Messages
API (tests/fake_messages_api.py scripts only the API's answers: each tool_use below is
answered by the CLI itself, which starts `orchestrate mcp` from its --mcp-config and
calls it over stdio). Found as tests/e2e/test_real_claude.py finds it; skipped, saying
why, without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import make_project, ready, worklog_entries
from fake_messages_api import (
    ApiRequest,
    FakeMessagesApi,
    PhasePrompt,
    Reply,
    ToolUse,
    say,
    scripted,
)
from real_clis import find_cli

from app.engine import mcpattempt, usage
from app.engine.project import Project

REPO = Path(__file__).resolve().parents[2]
CLAUDE, WHY_NOT = find_cli("claude")
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(CLAUDE is None, reason=WHY_NOT)]


def clean_env(api: FakeMessagesApi, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_"))}
    env.update(api.cli_env(home))
    env["PYTHONPATH"] = str(REPO)
    # Measured with 2.1.197: `claude -p` starts MCP servers in the background and sends the
    # first turn at once; a server still connecting offers no tools ("No such tool
    # available: ... still connecting"). This makes it wait, as a run's attempts do.
    env["MCP_CONNECTION_NONBLOCKING"] = "0"
    return env


def events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def claude_with_the_server(project: Project, api: FakeMessagesApi, *flags: str
                           ) -> list[dict[str, Any]]:
    """`claude -p` with the config `orchestrate mcp --print-config` prints, as a person
    pastes it."""
    assert CLAUDE is not None
    env = clean_env(api, project.root.parent / "home")
    printed = subprocess.run([sys.executable, "-P", "-m", "app", "-C", str(project.root), "mcp",
                              "--print-config"], env=env, capture_output=True, text=True,
                             timeout=60, check=True).stdout
    config = project.root.parent / "mcp.json"
    config.write_text(printed, encoding="utf-8")
    done = subprocess.run([CLAUDE, "-p", "Add the item.", "--output-format", "stream-json",
                           "--verbose", "--mcp-config", str(config), *flags],
                          cwd=project.root, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return events(done.stdout)


def add_brain(request: ApiRequest) -> list[Reply]:
    return [say("Adding the item.", ToolUse("mcp__orchestrate__add_item",
                                            {"title": "From the real CLI", "size": "small"}))]


def test_the_real_cli_adds_an_item_through_the_server(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()])
    with FakeMessagesApi(scripted(add_brain), max_requests=40, lifetime_s=150) as api:
        lines = claude_with_the_server(project, api, "--allowedTools", "mcp__orchestrate")
        offered = api.agent_requests()[0].tools
    init = lines[0]
    assert {"name": "orchestrate", "status": "connected"} in init["mcp_servers"]
    assert "mcp__orchestrate__add_item" in offered and "mcp__orchestrate__block_item" in offered
    results = [b for e in lines if e["type"] == "user" for b in e["message"]["content"]
               if b.get("type") == "tool_result"]
    assert [r.get("is_error", False) for r in results] == [False]
    assert lines[-1]["permission_denials"] == []
    added = project.store().load().get("WRK-002")
    assert (added.title, added.size, added.status) == ("From the real CLI", "small", "new")
    history = project.history_path.read_text().splitlines()
    assert json.loads(history[-1])["action"] == "add"  # `orchestrate undo` takes it back


def test_without_the_permission_the_real_cli_denies_the_call_and_ends_success(
        tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()])
    with FakeMessagesApi(scripted(add_brain), max_requests=40, lifetime_s=150) as api:
        lines = claude_with_the_server(project, api)  # no --allowedTools
    final = lines[-1]
    assert (final["subtype"], final["is_error"]) == ("success", False)
    assert [d["tool_name"] for d in final["permission_denials"]] == [
        "mcp__orchestrate__add_item"]
    assert [i.id for i in project.store().load().items] == ["WRK-001"]
    # ... which is what a run reads from that line and says as a warning:
    [said] = mcpattempt.server_trouble("claude", {"orchestrate": "connected"},
                                       usage.denials(final))
    assert "denied its call of mcp__orchestrate__add_item" in said


def test_a_run_whose_real_agent_asks_through_block_item_blocks_the_item(
        tmp_path: Path) -> None:
    assert CLAUDE is not None
    question = "Should sessions last a day or a week?"
    command = [CLAUDE, "-p", "{prompt}", "--output-format", "stream-json", "--verbose",
               "--permission-mode", "acceptEdits"]
    project = make_project(tmp_path / "p", [ready()], git=True, command=command,
                           agent={"phase_timeout_s": 90, "kill_grace_s": 2, "mcp": True})

    def plan(request: ApiRequest) -> list[Reply]:
        prompt = PhasePrompt.parse(request)
        assert prompt is not None and "mcp__orchestrate__" in request.prompt()
        assert "mcp__orchestrate__block_item" in request.tools  # connected before turn 1
        return [say("I need a person's decision.",
                    ToolUse("mcp__orchestrate__block_item", {"question": question}))]

    with FakeMessagesApi(scripted(plan, done="Asked; stopping."), max_requests=40,
                         lifetime_s=150) as api:
        env = clean_env(api, tmp_path / "home")
        done = subprocess.run([sys.executable, "-P", "-m", "app", "-C", str(project.root), "run",
                               "--cap", "1"], env=env, capture_output=True, text=True,
                              timeout=150)
    assert done.returncode == 6, done.stdout + done.stderr  # every item it took blocked
    item = project.store().load().get("WRK-001")
    assert (item.status, item.blocked_reason) == ("blocked", question)
    [entry] = worklog_entries(project)
    assert (entry["outcome"], entry["reason"]) == ("blocked", question)
    log = (project.logs_dir / "WRK-001_prd_1.log").read_text(encoding="utf-8")
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert {"name": "orchestrate", "status": "connected"} in lines[0]["mcp_servers"]
    assert lines[-1]["permission_denials"] == []
    assert "MCP" not in done.stdout  # no warning of a failed server or a denied call
