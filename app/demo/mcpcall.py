"""The scripted agent's MCP client: it starts the servers its `--mcp-config` names, as
claude does, and calls a tool through the official SDK's client over stdio (the
`mcp_block` and `mcp_follow_up` modes), so a run's own MCP server is exercised for real
without the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def servers(config: str) -> dict[str, dict[str, Any]]:
    """The `mcpServers` of a claude `--mcp-config` (a file, or the JSON itself)."""
    text = config if config.lstrip().startswith("{") else \
        Path(config).read_text(encoding="utf-8")
    found = json.loads(text).get("mcpServers")
    return found if isinstance(found, dict) else {}


def call_tool(entry: dict[str, Any], tool: str, arguments: dict[str, Any]) -> tuple[bool, str]:
    """Start the server `entry` describes, call `tool`, end it: (is_error, its text)."""
    import anyio
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(command=str(entry["command"]),
                                   args=[str(a) for a in entry.get("args", [])],
                                   env={str(k): str(v) for k, v in
                                        (entry.get("env") or {}).items()} or None)

    async def call() -> tuple[bool, str]:
        async with Client(params, cache=None, mode="legacy") as client:
            result = await client.call_tool(tool, arguments)
        text = " ".join(getattr(block, "text", "") for block in result.content)
        return bool(result.is_error), text

    return anyio.run(call)
