"""`orchestrate mcp` over stdio, driven by the MCP SDK's own client in another process:
the tools with their schemas, every call going through the same actions as the CLI (undo
sees it), refusals as tool errors that leave BACKLOG.yaml as it was, `--read-only`, an
attempt's scoped server, the documents as resources, and a writer beside it losing
nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import make_project
from mcp import Client
from mcp_session import REPO, data, run, text

from app.engine.project import Project

ALL = {"list_items", "show_item", "backlog_status", "add_item", "edit_item", "move_item",
       "advance_item", "unblock_item", "block_item", "add_follow_up"}
READING = {"list_items", "show_item", "backlog_status"}
COMMENTED = """\
# The team's backlog: keep this comment
prefix: WRK
items:
  - id: WRK-001   # the first one
    title: Add login page
    status: new
  - id: WRK-002
    title: Rate limits
    status: new
    depends_on: [WRK-001]
"""


def project_with_comments(root: Path) -> Project:
    project = make_project(root)
    project.backlog_path.write_text(COMMENTED, encoding="utf-8")
    return project


def orchestrate(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-P", "-m", "app", "-C", str(project.root), *args],
                          env=env, capture_output=True, text=True, timeout=60)


def test_every_tool_is_listed_with_a_description_and_a_schema_describing_its_arguments(
        tmp_path: Path) -> None:
    project = project_with_comments(tmp_path / "p")

    async def body(client: Client) -> list[Any]:
        return (await client.list_tools()).tools

    tools = run(project, body)
    assert {t.name for t in tools} == ALL
    for tool in tools:
        assert tool.description and len(tool.description) > 40, tool.name
        assert tool.input_schema["type"] == "object"
        for name, prop in tool.input_schema.get("properties", {}).items():
            assert prop.get("description") or prop.get("anyOf") or "enum" in str(prop), \
                (tool.name, name)
    add = next(t for t in tools if t.name == "add_item").input_schema
    assert add["required"] == ["title"]
    assert ["small", "medium", "large", "none"] in [
        b.get("enum") for b in add["properties"]["size"]["anyOf"]]
    assert next(t for t in tools if t.name == "list_items").annotations.read_only_hint


def test_each_tool_writes_through_the_actions_keeps_the_comments_and_undo_takes_it_back(
        tmp_path: Path) -> None:
    project = project_with_comments(tmp_path / "p")

    async def body(client: Client) -> dict[str, Any]:
        got: dict[str, Any] = {}
        got["add"] = data(await client.call_tool("add_item", {
            "title": "Audit log", "notes": "every write\nkept", "size": "small",
            "risk": "low", "depends_on": ["wrk-001"]}))
        got["edit"] = data(await client.call_tool("edit_item", {
            "id": "WRK-003", "title": "Audit the log", "complexity": "medium",
            "remove_deps": ["WRK-001"]}))
        got["move"] = data(await client.call_tool("move_item", {"id": "WRK-003",
                                                                "where": "top"}))
        got["advance"] = data(await client.call_tool("advance_item", {"id": "WRK-001",
                                                                      "to": "ready"}))
        got["block"] = data(await client.call_tool("block_item", {
            "id": "WRK-002", "question": "Per user or per IP?"}))
        got["unblock"] = data(await client.call_tool("unblock_item", {
            "id": "WRK-002", "notes": "per user"}))
        got["follow"] = data(await client.call_tool("add_follow_up", {
            "id": "WRK-001", "title": "Password reset"}))
        got["list"] = data(await client.call_tool("list_items", {"status": ["new"],
                                                                 "text": "audit"}))
        got["show"] = data(await client.call_tool("show_item", {"id": "WRK-002"}))
        got["status"] = data(await client.call_tool("backlog_status", {}))
        return got

    got = run(project, body)
    assert (got["add"]["id"], got["add"]["depends_on"]) == ("WRK-003", ["WRK-001"])
    assert got["edit"]["changed"] == ["title", "complexity", "depends_on"]
    assert got["move"] == {"id": "WRK-003", "position": 1, "total": 3, "moved": True}
    assert got["advance"]["status"] == "ready"
    assert (got["block"]["status"], got["block"]["blocked_reason"]) == (
        "blocked", "Per user or per IP?")
    assert (got["unblock"]["status"], got["unblock"]["notes"]) == ("new", "per user")
    assert (got["follow"]["id"], got["follow"]["origin"]) == ("WRK-004", "WRK-001")
    assert [i["id"] for i in got["list"]["items"]] == ["WRK-003"]
    assert got["show"]["needed_by"] == [] and got["show"]["notes"] == "per user"
    assert got["status"]["counts"]["new"] == 3 and got["status"]["run"] is None

    text_now = project.backlog_path.read_text(encoding="utf-8")
    assert text_now.startswith("# The team's backlog: keep this comment\n")
    assert "  - id: WRK-001   # the first one\n" in text_now
    backlog = project.store().load()
    assert [i.id for i in backlog.items] == ["WRK-003", "WRK-001", "WRK-002", "WRK-004"]
    history = [json.loads(line)["action"]
               for line in project.history_path.read_text().splitlines()]
    assert history == ["add", "edit", "move", "advance", "advance", "unblock", "add"]

    undone = orchestrate(project, "undo")  # the person's undo sees the agent's change
    assert undone.returncode == 0, undone.stderr
    assert "undid the add of WRK-004" in undone.stdout
    assert [i.id for i in project.store().load().items] == ["WRK-003", "WRK-001", "WRK-002"]


@pytest.mark.parametrize(("tool", "arguments", "said"), [
    ("show_item", {"id": "WRK-099"}, "id: no item 'WRK-099'"),
    ("edit_item", {"id": "WRK-001", "depends_on": ["WRK-002"]},
     "depends_on: WRK-001 → WRK-002 → WRK-001 would be a cycle"),
    ("edit_item", {"id": "WRK-001", "size": "huge"}, "size"),
    ("add_item", {"title": "Ring \x07 the bell"},
     "title: the title has a control character \\x07 (BEL)"),
    ("add_item", {"title": "Depends on a ghost", "depends_on": ["WRK-404"]},
     "depends_on: no item 'WRK-404'"),
    ("move_item", {"id": "WRK-001", "where": "before"}, "anchor: give the item to go before"),
    ("advance_item", {"id": "WRK-001", "to": "sideways"}, "to: "),
    ("block_item", {"id": "WRK-404", "question": "why?"}, "id: no item 'WRK-404'"),
], ids=["unknown-id", "cycle", "bad-size", "control-character", "unknown-dependency",
        "no-anchor", "bad-target", "block-unknown"])
def test_a_bad_argument_is_a_tool_error_naming_it_and_the_file_is_untouched(
        tmp_path: Path, tool: str, arguments: dict[str, Any], said: str) -> None:
    project = project_with_comments(tmp_path / "p")
    before = project.backlog_path.read_bytes()

    async def body(client: Client) -> Any:
        return await client.call_tool(tool, arguments)

    result = run(project, body)
    assert result.is_error
    assert said in text(result), text(result)
    if tool == "edit_item" and "size" in arguments:  # the schema's words: what is allowed
        assert "'small', 'medium', 'large' or 'none'" in text(result)
    assert project.backlog_path.read_bytes() == before
    assert not project.history_path.exists() or not project.history_path.read_text()


def test_read_only_offers_only_the_reading_tools_and_refuses_a_write(tmp_path: Path) -> None:
    project = project_with_comments(tmp_path / "p")
    before = project.backlog_path.read_bytes()

    async def body(client: Client) -> tuple[set[str], Any, str | None]:
        names = {t.name for t in (await client.list_tools()).tools}
        refused = await client.call_tool("add_item", {"title": "sneaky"})
        return names, refused, client.instructions

    names, refused, instructions = run(project, body, "--read-only")
    assert names == READING
    assert refused.is_error and "add_item" in text(refused)
    assert instructions is not None and "read-only" in instructions
    assert project.backlog_path.read_bytes() == before


def test_the_change_documents_are_resources_listed_and_read(tmp_path: Path) -> None:
    project = project_with_comments(tmp_path / "p")
    item = project.store().load().get("WRK-001")
    folder = project.root / item.change_dir
    (folder / "notes").mkdir(parents=True)
    (folder / "PRD.md").write_text("# PRD\nThe login page.\n", encoding="utf-8")
    (folder / "SPEC.md").write_text("# SPEC\n- [ ] the form\n", encoding="utf-8")
    (folder / "notes" / "api.md").write_text("the API\n", encoding="utf-8")

    async def body(client: Client) -> tuple[list[str], str, str, Any, Any]:
        listed = [str(r.uri) for r in (await client.list_resources()).resources]
        prd = await client.read_resource("orchestrate://items/WRK-001/documents/PRD.md")
        nested = await client.read_resource(
            "orchestrate://items/WRK-001/documents/notes%2Fapi.md")
        shown = data(await client.call_tool("show_item", {"id": "WRK-001"}))
        try:
            await client.read_resource("orchestrate://items/WRK-001/documents/DESIGN.md")
        except Exception as exc:  # the SDK raises the server's error
            missing: Any = exc
        else:
            missing = None
        return listed, getattr(prd.contents[0], "text", ""), \
            getattr(nested.contents[0], "text", ""), shown, missing

    listed, prd, nested, shown, missing = run(project, body)
    assert listed == ["orchestrate://items/WRK-001/documents/PRD.md",
                      "orchestrate://items/WRK-001/documents/SPEC.md",
                      "orchestrate://items/WRK-001/documents/notes%2Fapi.md"]
    assert prd == "# PRD\nThe login page.\n" and nested == "the API\n"
    assert [d["uri"] for d in shown["documents"]] == listed
    assert missing is not None and "has no document 'DESIGN.md'" in str(missing)


def test_an_attempts_scoped_server_writes_only_about_its_item(tmp_path: Path) -> None:
    project = project_with_comments(tmp_path / "p")
    ask = tmp_path / "ask.json"
    before = project.backlog_path.read_bytes()
    scope = {"ORCHESTRATE_MCP_ITEM": "WRK-002", "ORCHESTRATE_MCP_ASK": str(ask)}

    async def body(client: Client) -> tuple[set[str], Any, Any, Any, Any]:
        names = {t.name for t in (await client.list_tools()).tools}
        block_schema = next(t for t in (await client.list_tools()).tools
                            if t.name == "block_item").input_schema
        asked = data(await client.call_tool("block_item", {"question": "Per user or IP?"}))
        first = data(await client.call_tool("add_follow_up", {"title": "Burst limits"}))
        again = data(await client.call_tool("add_follow_up", {"title": "Burst  limits"}))
        return names, block_schema, asked, first, again

    names, block_schema, asked, first, again = run(project, body, env=scope)
    assert names == READING | {"block_item", "add_follow_up"}
    assert list(block_schema["properties"]) == ["question"]  # no id: its item only
    assert asked["asked"] == "Per user or IP?"
    assert json.loads(ask.read_text())["question"] == "Per user or IP?"
    backlog = project.store().load()
    assert backlog.get("WRK-002").status == "new"  # the run blocks it, not the server
    assert (first["added"], first["origin"], again["added"]) == (True, "WRK-002", False)
    assert [i.id for i in backlog.items if i.origin == "WRK-002"] == ["WRK-003"]
    assert project.backlog_path.read_bytes().startswith(before[:40])


def test_an_mcp_writer_beside_cli_writers_loses_no_update(tmp_path: Path) -> None:
    project = project_with_comments(tmp_path / "p")
    count = 15
    script = (f"for i in $(seq 1 {count}); do {sys.executable} -P -m app -C "
              f"'{project.root}' add \"from the shell $i\" || exit 1; done")
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    async def body(client: Client) -> int:
        shell = subprocess.Popen(["bash", "-c", script], env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
        try:
            for i in range(1, count + 1):
                data(await client.call_tool("add_item", {"title": f"from the agent {i}"}))
        finally:
            try:
                shell.wait(timeout=120)
            finally:
                if shell.poll() is None:
                    os.kill(shell.pid, 9)
        assert shell.stderr is not None
        assert shell.returncode == 0, shell.stderr.read()
        return shell.returncode

    run(project, body)
    items = project.store().load().items
    titles = [i.title for i in items]
    assert len(items) == 2 + 2 * count
    assert len({i.id for i in items}) == len(items)
    for i in range(1, count + 1):
        assert f"from the agent {i}" in titles and f"from the shell {i}" in titles
    assert project.backlog_path.read_text().startswith("# The team's backlog")


def test_print_config_is_the_json_to_paste_and_names_the_project(tmp_path: Path) -> None:
    project = project_with_comments(tmp_path / "p")
    done = orchestrate(project, "mcp", "--print-config")
    assert done.returncode == 0, done.stderr
    entry = json.loads(done.stdout)["mcpServers"]["orchestrate"]
    assert entry["type"] == "stdio"
    argv = [entry["command"], *entry["args"]]
    assert argv[-3:] == ["-C", str(project.root), "mcp"]


def test_status_never_imports_the_mcp_sdk(tmp_path: Path) -> None:
    project = project_with_comments(tmp_path / "p")
    code = ("import sys; from app.main import main; main(['-C', sys.argv[1], 'status']); "
            "print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith(('mcp.', "
            "'pydantic'))))")
    done = subprocess.run([sys.executable, "-P", "-c", code, str(project.root)],
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
