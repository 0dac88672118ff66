"""`orchestrate mcp` in a process of its own, talked to through the official SDK's client
over stdio: the protocol as an agent's CLI speaks it. The SDK's stdio client starts the
server (no shell) and ends it when the session closes (stdin closed, then TERM, then KILL
by its pid)."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import anyio
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult

from app.engine.project import Project

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def params(project: Project, *args: str, env: dict[str, str] | None = None
           ) -> StdioServerParameters:
    """`python -P -m app -C ROOT mcp ARGS` with this checkout of orchestrate."""
    return StdioServerParameters(
        command=sys.executable, args=["-P", "-m", "app", "-C", str(project.root), "mcp", *args],
        env={"PYTHONPATH": str(REPO),
             "ORCHESTRATE_CACHE_DIR": os.environ.get("ORCHESTRATE_CACHE_DIR", ""),
             **(env or {})})


@asynccontextmanager
async def session(project: Project, *args: str,
                  env: dict[str, str] | None = None) -> AsyncIterator[Client]:
    async with Client(params(project, *args, env=env), cache=None,
                      read_timeout_seconds=60) as client:
        yield client


def run(project: Project, body: Callable[[Client], Awaitable[T]], *args: str,
        env: dict[str, str] | None = None) -> T:
    """`body(client)` in one session of a server started with `args`."""

    async def main() -> T:
        async with session(project, *args, env=env) as client:
            return await body(client)

    return anyio.run(main)


def text(result: CallToolResult) -> str:
    """A tool result's text."""
    return " ".join(getattr(block, "text", "") for block in result.content)


def data(result: CallToolResult) -> Any:
    """A successful tool result's JSON."""
    import json

    assert not result.is_error, text(result)
    return json.loads(text(result))
