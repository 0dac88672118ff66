"""`[agent] mcp = true`: each attempt starts with its own orchestrate MCP server, scoped to
its item (app/engine/mcpattempt.py). A question the agent asks through `block_item`
blocks the item as a result file's `blocked` would; what the CLI says of the server (a
failed start, a denied call) is a warning and part of a failure's reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_helpers import make_project, notice_texts, ready, run_pipeline, worklog_entries

from app.engine import judging, mcpattempt
from app.engine.agents.claude import ClaudeReader
from app.engine.config import parse_config
from app.engine.outcome import ProcessOutcome
from app.errors import ConfigError

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples" / "claude-2.1.197"

pytestmark = pytest.mark.local_only  # the agent is a process whose argv carries the config


def test_an_agent_that_asks_through_its_server_blocks_the_item_with_the_question(
        tmp_path: Path) -> None:
    question = "Should the login use the existing session table or a new one?"
    record = tmp_path / "record"
    project = make_project(tmp_path / "p", [ready()], agent={"mcp": True},
                           script={"prd": {"mode": "mcp_block", "reason": question,
                                           "record": str(record)}})
    finished, rec = run_pipeline(project)
    assert f"WRK-001: {question}" in finished.reason  # the run's own summary names it
    item = project.store().load().get("WRK-001")
    assert (item.status, item.blocked_reason, item.blocked_from) == (
        "blocked", question, "in_progress")
    [entry] = worklog_entries(project)
    assert (entry["outcome"], entry["reason"]) == ("blocked", question)
    # The ask the server left is kept beside the attempt; the CLI's config file is gone.
    ask = json.loads((project.mcp_dir / "WRK-001_prd_1.ask.json").read_text())
    assert (ask["item"], ask["question"]) == ("WRK-001", question)
    assert not (project.mcp_dir / "WRK-001_prd_1.json").exists()
    # The prompt said the tools exist; the CLI saw its server connected: no warning.
    prompt = (record / "WRK-001_prd.prompt").read_text()
    assert "mcp__orchestrate__" in prompt and "block_item" in prompt
    assert not [t for t in notice_texts(rec) if "MCP" in t]
    # The person sees the question where any blocked reason shows, and answers it.
    assert project.store().load().get("WRK-001").blocked_reason == question


def test_a_follow_up_through_the_server_is_an_item_of_its_own_that_undo_takes_back(
        tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], agent={"mcp": True},
                           script={"prd": {"mode": "mcp_follow_up", "title": "Rate limits"}})
    run_pipeline(project, cap=1)
    backlog = project.store().load()
    [follow] = [i for i in backlog.items if i.origin == "WRK-001"]
    assert (follow.title, follow.status) == ("Rate limits", "new")
    # recorded as a person's add: `orchestrate undo` would take it back
    history = (project.history_path).read_text().splitlines()
    assert json.loads(history[-1])["action"] == "add"
    assert backlog.get("WRK-001").status == "in_progress"  # its prd went on: complete


def test_the_ask_wins_over_a_complete_result_file_whose_assessment_still_counts(
        tmp_path: Path) -> None:
    result = tmp_path / "r.json"
    result.write_text(json.dumps({"item_id": "WRK-001", "phase": "prd", "result": "complete",
                                  "summary": "done", "assessment": {"size": "large"},
                                  "follow_ups": ["More"]}))
    report = judging.judge_answer(result, "WRK-001", "prd", None, why_missing="",
                                  agent_said=None, global_failure=None, asked="Which DB?")
    assert (report.outcome, report.reason) == ("blocked", "Which DB?")
    assert report.result is not None
    assert (report.result.result, report.result.blocked_reason) == ("blocked", "Which DB?")
    assert report.result.assessment == {"size": "large"}
    assert [f.title for f in report.result.follow_ups] == ["More"]
    missing = judging.judge_answer(tmp_path / "none.json", "WRK-001", "prd", None,
                                   why_missing="", agent_said=None, global_failure=None,
                                   asked="Which DB?")
    assert (missing.outcome, missing.reason) == ("blocked", "Which DB?")
    unasked = judging.judge_answer(tmp_path / "none.json", "WRK-001", "prd", None,
                                   why_missing="x", agent_said=None, global_failure=None)
    assert unasked.outcome == "failed"


def test_without_mcp_the_prompt_and_argv_are_as_before(tmp_path: Path) -> None:
    record = tmp_path / "record"
    project = make_project(tmp_path / "p", [ready()],
                           script={"prd": {"mode": "complete", "record": str(record)}})
    run_pipeline(project, cap=1)
    assert "mcp__orchestrate__" not in (record / "WRK-001_prd.prompt").read_text()
    assert not project.mcp_dir.exists()


def test_claude_gets_a_config_file_and_the_permission_codex_gets_overrides(
        tmp_path: Path) -> None:
    command = ("claude", "-p", "{prompt}", "--output-format", "stream-json", "--verbose")
    wired = mcpattempt.wire("claude", command, tmp_path, tmp_path / "mcp", "WRK-001_prd_2",
                            "WRK-001")
    assert wired.argv[:len(command)] == command
    assert wired.argv[len(command):] == ("--mcp-config", str(wired.config),
                                         "--allowedTools", "mcp__orchestrate")
    assert wired.config is not None
    assert wired.env == {"MCP_CONNECTION_NONBLOCKING": "0"}  # claude -p waits for it
    entry = json.loads(wired.config.read_text())["mcpServers"]["orchestrate"]
    assert entry["args"][-4:] == ["-m", "app", "-C", str(tmp_path)] or \
        entry["args"][-5:] == ["-m", "app", "-C", str(tmp_path), "mcp"]
    assert entry["env"]["ORCHESTRATE_MCP_ITEM"] == "WRK-001"
    assert entry["env"]["ORCHESTRATE_MCP_ASK"] == str(wired.ask)

    codex = ("codex", "exec", "--json", "{prompt}")
    wired = mcpattempt.wire("codex", codex, tmp_path, tmp_path / "mcp", "WRK-001_prd_3",
                            "WRK-001")
    assert wired.config is None and wired.argv[-1] == "{prompt}"
    flags = wired.argv[3:-1]
    assert flags[0::2] == ("-c", "-c", "-c")
    assert flags[1].startswith('mcp_servers.orchestrate.command="')
    assert json.loads(flags[3].split("=", 1)[1])[-1] == "mcp"
    assert 'ORCHESTRATE_MCP_ITEM = "WRK-001"' in flags[5]


@pytest.mark.parametrize("kind", ["gemini", "opencode", "amp"])
def test_mcp_for_a_kind_whose_cli_takes_no_server_per_run_is_refused_with_its_line(
        kind: str) -> None:
    text = f'[agent]\nkind = "claude"\n\n[agents.other]\nkind = "{kind}"\nmcp = true\n'
    with pytest.raises(ConfigError) as caught:
        parse_config({"agent": {"kind": "claude"},
                      "agents": {"other": {"kind": kind, "mcp": True}}}, text)
    said = str(caught.value)
    assert said.startswith("orchestrate.toml:6: agents.other.mcp = true needs an agent")
    assert f"not {kind}" in said


def test_mcp_must_be_true_or_false() -> None:
    with pytest.raises(ConfigError, match=r"orchestrate.toml:2: agent.mcp must be true or "
                                          r"false, not 'yes'"):
        parse_config({"agent": {"mcp": "yes"}}, '[agent]\nmcp = "yes"\n')
    config = parse_config({"agent": {"mcp": True}, "agents": {"c": {"kind": "codex"}}})
    assert config.agent.mcp is True and config.agents["c"].mcp is False  # not inherited


def _read(lines: list[dict[str, object]]) -> ProcessOutcome:
    out = ProcessOutcome()
    reader = ClaudeReader(out)
    for event in lines:
        reader.event(event, json.dumps(event), ())
    return out


def test_a_failed_server_in_the_real_init_line_is_said() -> None:
    init = json.loads((SAMPLES / "mcp-tool-call.jsonl").read_text().splitlines()[0]) \
        if SAMPLES.is_dir() else {"type": "system", "subtype": "init", "mcp_servers": []}
    init["mcp_servers"] = [{"name": "orchestrate", "status": "failed"}]
    out = _read([init])
    assert out.mcp_servers == {"orchestrate": "failed"}
    [said] = mcpattempt.server_trouble("claude", out.mcp_servers, [])
    assert "did not start" in said and "'failed'" in said
    init["mcp_servers"] = [{"name": "orchestrate", "status": "connected"}]
    assert mcpattempt.server_trouble("claude", _read([init]).mcp_servers, []) == []
    init["mcp_servers"] = []
    [said] = mcpattempt.server_trouble("claude", _read([init]).mcp_servers, [])
    assert "did not list" in said
    init["mcp_servers"] = [{"name": "orchestrate", "status": "pending"}]  # as measured
    [said] = mcpattempt.server_trouble("claude", _read([init]).mcp_servers, [])
    assert "still starting" in said and "MCP_CONNECTION_NONBLOCKING=0" in said


def test_a_denied_call_of_the_servers_tool_is_said() -> None:
    result = {"type": "result", "subtype": "success", "is_error": False,
              "permission_denials": [{"tool_name": "mcp__orchestrate__block_item",
                                      "tool_use_id": "toolu_1",
                                      "tool_input": {"question": "why?"}}]}
    out = _read([result])
    from app.engine import usage

    [said] = mcpattempt.server_trouble("claude", None, usage.denials(out.final_event))
    assert "denied its call of mcp__orchestrate__block_item" in said
    assert "--allowedTools" in said
