"""orchestrate driving the REAL Claude Code CLI against a stand-in Messages API.

The CLI (npm `@anthropic-ai/claude-code`, pinned 2.1.197 in .ci/run) is found via
`ORCHESTRATE_TEST_CLAUDE`, else `.ci/node_modules/.bin/claude` in this repo, else
`claude` on PATH; without one every test here is skipped, saying so. The API
(tests/fake_messages_api.py) scripts only the answers: every stream-json line, tool
call and file below is the CLI's own doing. Each test runs `orchestrate run` as a
person would (a subprocess), with the CLI's HOME in tmp_path and no credentials but
dummies for 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_helpers import make_project, ready, run_git, worklog_entries
from fake_messages_api import (
    Brain,
    FakeMessagesApi,
    ToolUse,
    document_text,
    endless_tools,
    first,
    overloaded,
    phase_brain,
    say,
    usage_limit,
)
from real_clis import find_cli

from app.backlog.model import PHASES
from app.engine.project import Project
from app.engine.streamjson import describe_lines

REPO = Path(__file__).resolve().parents[2]


CLAUDE, WHY_NOT = find_cli("claude")
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(CLAUDE is None, reason=WHY_NOT)]


@pytest.fixture(autouse=True)
def _timed(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test's wall time, in the report's captured output (the whole file is meant to
    stay well under two minutes on two cores)."""
    started = time.monotonic()
    yield
    print(f"{request.node.name}: {time.monotonic() - started:.1f} s with {CLAUDE}")


def claude_project(root: Path, *extra: str) -> Project:
    """One ready item; the agent is the real CLI with `extra` flags."""
    assert CLAUDE is not None
    command = [CLAUDE, "-p", "{prompt}", "--output-format", "stream-json", "--verbose",
               "--permission-mode", "acceptEdits", *extra]
    return make_project(root, [ready()], git=True, command=command,
                        agent={"phase_timeout_s": 90, "kill_grace_s": 2})


def run(project: Project, api: FakeMessagesApi, *args: str, subscription: bool = False,
        timeout: float = 150) -> subprocess.CompletedProcess[str]:
    """`orchestrate run ARGS` in a real process whose agents talk only to `api`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANTHROPIC_", "CLAUDE_"))}
    env.update(api.cli_env(project.root.parent / "home", subscription=subscription))
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "app", "-C", str(project.root), "run", *args],
                          env=env, capture_output=True, text=True, timeout=timeout)


def log_events(project: Project, phase: str, attempt: int = 1) -> list[dict[str, Any]]:
    """The JSON lines of one attempt's log (its stderr and remarks are not JSON)."""
    text = (project.logs_dir / f"WRK-001_{phase}_{attempt}.log").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def serve(brain: Brain) -> FakeMessagesApi:
    return FakeMessagesApi(brain, max_requests=120, lifetime_s=240)


def test_an_item_walks_all_six_phases_with_the_real_cli(tmp_path: Path) -> None:
    project = claude_project(tmp_path / "p")
    with serve(phase_brain()) as api:
        done = run(project, api)
    assert done.returncode == 0, done.stdout + done.stderr
    item = project.store().load().get("WRK-001")
    assert item.status == "done"

    change = project.root / item.change_dir
    for phase in ("prd", "research", "design", "review"):
        name = "REVIEW.md" if phase == "review" else f"{phase.upper()}.md"
        assert (change / name).read_text() == document_text("WRK-001", phase)
    spec = (change / "SPEC.md").read_text()
    assert spec == document_text("WRK-001", "spec").replace("- [ ]", "- [x]")

    entries = worklog_entries(project)
    assert [(e["phase"], e["attempt"], e["outcome"]) for e in entries] == [
        (p, 1, "complete") for p in PHASES]
    assert all(e["cost_usd"] > 0 and e["num_turns"] >= 3 for e in entries)
    assert [e["summary"] for e in entries] == [f"{p} written by the real CLI" for p in PHASES]

    for phase in PHASES:
        events = log_events(project, phase)
        init = events[0]
        assert (init["type"], init["subtype"], init["claude_code_version"]) == (
            "system", "init", init["claude_code_version"])
        assert init["permissionMode"] == "acceptEdits"
        assert init["cwd"] == str(project.root)
        writes = [b["input"]["file_path"] for e in events if e["type"] == "assistant"
                  for b in e["message"]["content"] if b.get("name") == "Write"]
        assert writes[-1] == str(project.results_dir / f"WRK-001_{phase}_1.json")
        tool_errors = [b for e in events if e["type"] == "user"
                       for b in e["message"]["content"] if b.get("is_error")]
        assert tool_errors == []  # every Write and Read was allowed and worked
        assert events[-1]["type"] == "result" and events[-1]["is_error"] is False
    build = log_events(project, "build")
    assert any(b.get("type") == "thinking" for e in build if e["type"] == "assistant"
               for b in e["message"]["content"])

    subjects = run_git(project.root, "log", "--format=%s").splitlines()
    assert subjects[:6] == [f"[WRK-001][{p.upper()}] {p} written by the real CLI"
                            for p in reversed(PHASES)]
    assert all(r.cwd == project.root for r in api.agent_requests())


def usage_limited_run(root: Path, brain: Brain, *args: str
                      ) -> tuple[Project, subprocess.CompletedProcess[str]]:
    """`orchestrate run ARGS` logged in with a subscription whose agent meets `brain`:
    `lambda r: usage_limit(t)` for a limit that stays, `first(1, usage_limit(t),
    phase_brain())` for one gone on the next attempt. A one-second resume margin."""
    project = claude_project(root)
    with project.config_path.open("a", encoding="utf-8") as fh:
        fh.write("\n[limits]\nresume_margin_s = 1\n")
    with serve(brain) as api:
        return project, run(project, api, *args, subscription=True)


def assert_the_clis_limit_lines(project: Project, resets_at: int) -> None:
    """The CLI's own lines, whole, in the first prd attempt's log."""
    events = log_events(project, "prd")
    [limit] = [e for e in events if e["type"] == "rate_limit_event"]
    assert limit["rate_limit_info"]["status"] == "rejected"
    assert limit["rate_limit_info"]["resetsAt"] == resets_at
    assert limit["rate_limit_info"]["rateLimitType"] == "five_hour"
    [synthetic] = [e for e in events if e["type"] == "assistant"]
    assert (synthetic["error"], synthetic["message"]["model"]) == ("rate_limit", "<synthetic>")
    result = events[-1]
    assert (result["type"], result["is_error"], result["api_error_status"]) == (
        "result", True, 429)
    assert result["result"].startswith("You've hit your limit · resets ")


def test_a_real_usage_limit_pauses_the_run_until_the_reset_then_resumes(
        tmp_path: Path) -> None:
    resets_at = int(time.time()) + 4
    project, done = usage_limited_run(tmp_path / "p",
                                      first(1, usage_limit(resets_at), phase_brain()),
                                      "--cap", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert_the_clis_limit_lines(project, resets_at)
    entries = worklog_entries(project)
    assert [(e["phase"], e["outcome"]) for e in entries] == [
        ("prd", "limited"), ("prd", "complete"), ("research", "complete")]
    # The repeat started after the reset plus the one-second margin, and soon after it.
    repeat = datetime.fromisoformat(entries[1]["start"].replace("Z", "+00:00")).timestamp()
    assert resets_at + 1 - 1 <= repeat <= resets_at + 1 + 3  # start is kept to the second
    assert "paused: usage limit, resumes at" in done.stdout
    item = project.store().load().get("WRK-001")
    assert item.status == "in_progress" and item.blocked_reason is None


def test_no_wait_stops_at_a_real_usage_limit_saying_when_it_resets(tmp_path: Path) -> None:
    resets_at = int(time.time()) + 2 * 3600
    project, done = usage_limited_run(tmp_path / "p", lambda request: usage_limit(resets_at),
                                      "--no-wait")
    assert done.returncode == 4, done.stdout + done.stderr
    assert_the_clis_limit_lines(project, resets_at)
    assert "You've hit your limit" in done.stderr
    assert re.search(r"it resets at .* \(in (1h59m|2h00m)\)", done.stderr), done.stderr
    item = project.store().load().get("WRK-001")
    assert item.status != "blocked"
    assert [e["outcome"] for e in worklog_entries(project)] == ["limited"]


@pytest.mark.parametrize(("flags", "brain", "subtype"), [
    (("--max-turns", "2"), endless_tools(), "error_max_turns"),
    (("--max-budget-usd", "0.5"), endless_tools(input_tokens=400_000), "error_max_budget_usd"),
], ids=["max-turns", "max-budget"])
def test_a_cli_limit_fails_the_attempt_with_its_reason(tmp_path: Path, flags: tuple[str, str],
                                                       brain: Brain, subtype: str) -> None:
    project = claude_project(tmp_path / "p", *flags)
    with serve(brain) as api:
        done = run(project, api, "--cap", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    result = log_events(project, "prd")[-1]
    assert (result["type"], result["subtype"], result["is_error"]) == ("result", subtype, True)

    # The CLI says why in `errors` ("Reached maximum number of turns (2)", "Reached
    # maximum budget ($0.5)"): those words are the attempt's reason, not the subtype.
    assert result["errors"] and "maximum" in result["errors"][0]
    [entry] = worklog_entries(project)
    assert entry["outcome"] == "failed"
    assert entry["reason"] == f"the agent wrote no result file: {result['errors'][0]}"
    assert entry["exit_code"] == 1
    assert entry["cost_usd"] == result["total_cost_usd"]
    assert entry["num_turns"] == result["num_turns"]
    assert project.store().load().get("WRK-001").status == "in_progress"
    if subtype == "error_max_turns":
        assert len(api.agent_requests()) == 2
    else:
        assert entry["cost_usd"] > 0.5


def test_api_retries_of_the_cli_reach_the_log(tmp_path: Path) -> None:
    project = claude_project(tmp_path / "p")
    with serve(first(2, overloaded(), phase_brain())) as api:
        done = run(project, api, "--cap", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    events = log_events(project, "prd")
    retries = [e for e in events if e.get("subtype") == "api_retry"]
    assert [(e["attempt"], e["error_status"], e["error"]) for e in retries] == [
        (1, 529, "overloaded"), (2, 529, "overloaded")]
    assert all(e["retry_delay_ms"] > 0 and e["max_retries"] == 10 for e in retries)
    assert [e["outcome"] for e in worklog_entries(project)] == ["complete"]
    assert [log.status for log in api.log if log.agent][:3] == [529, 529, 200]
    # Read as a person would say it, in the log pane and the CLI.
    shown = (project.logs_dir / "WRK-001_prd_1.log").read_text(encoding="utf-8").splitlines()
    said = [s.text for line in shown for s in describe_lines(line) if s.kind == "retry"]
    assert [s.split(" in ")[0] for s in said] == ["API retry 1/10", "API retry 2/10"]
    assert all(s.endswith("(529 overloaded)") for s in said)


def test_lanes_under_accept_edits_write_their_results_inside_their_worktrees(
        tmp_path: Path) -> None:
    # acceptEdits lets the agent write only under its working directory: a lane's result
    # file lies in its own worktree (git-ignored), never in the main checkout beside it.
    assert CLAUDE is not None
    command = [CLAUDE, "-p", "{prompt}", "--output-format", "stream-json", "--verbose",
               "--permission-mode", "acceptEdits"]
    project = make_project(tmp_path / "p", [ready(), ready(title="Second")], git=True,
                           command=command, run={"max_parallel": 2},
                           agent={"phase_timeout_s": 90, "kill_grace_s": 2})
    with FakeMessagesApi(phase_brain(), max_requests=240, lifetime_s=400) as api:
        done = run(project, api, timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    backlog = project.store().load()
    assert [i.status for i in backlog.items] == ["done", "done"]
    for item_id in ("WRK-001", "WRK-002"):
        text = (project.logs_dir / f"{item_id}_prd_1.log").read_text(encoding="utf-8")
        events = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        assert events[0]["permissionMode"] == "acceptEdits"
        worktree = project.root / ".orchestrator" / "worktrees" / item_id
        writes = [b["input"]["file_path"] for e in events if e["type"] == "assistant"
                  for b in e["message"]["content"] if b.get("name") == "Write"]
        assert writes[-1] == str(worktree / ".orchestrator" / "results" /
                                 f"{item_id}_prd_1.json")
        assert events[-1]["permission_denials"] == []
        assert (project.results_dir / f"{item_id}_prd_1.json").exists()  # kept by the run
    merged = run_git(project.root, "log", "--format=%s", "--merges").splitlines()
    assert sorted(merged) == [f"Merge orchestrate/{i}: [{i}] {t}" for i, t in
                              (("WRK-001", "Add login page"), ("WRK-002", "Second"))]
    assert run_git(project.root, "ls-files", ".orchestrator") == ""


def test_a_write_the_permission_mode_denies_is_the_attempts_reason(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "answer.json"  # not under the agent's cwd

    def steps(p: Any, request: Any) -> list[Any]:
        return [say(ToolUse("Write", {"file_path": str(outside), "content": "{}"}))]

    project = claude_project(tmp_path / "p")
    with serve(phase_brain(steps)) as api:
        done = run(project, api, "--cap", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    [entry] = worklog_entries(project)
    assert entry["outcome"] == "failed"
    assert entry["reason"] == (f"the agent wrote no result file: the agent's permission "
                               f"mode denied Write {outside} (give it the permission in "
                               "agent.command, or another --permission-mode)")
    assert not outside.exists()
