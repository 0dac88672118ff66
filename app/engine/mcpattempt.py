"""An attempt's own orchestrate MCP server (`[agent] mcp = true`): how the agent's CLI is
told to start it, what scopes it to the item, and the question it leaves for the run.

Each attempt of an agent with `mcp = true` starts with `orchestrate mcp` as an MCP server
of its CLI (claude: `--mcp-config FILE --allowedTools mcp__orchestrate`, and
MCP_CONNECTION_NONBLOCKING=0 so that `claude -p` waits for the server before its first
turn; codex: `-c mcp_servers.orchestrate.*` overrides). The server runs the same
orchestrate as the run (`sys.executable -P -m app`) over the run's project (a lane's too),
and two variables scope it:

- ORCHESTRATE_MCP_ITEM: the item the attempt works on; the server's writes are only a
  follow-up of that item and a question about it;
- ORCHESTRATE_MCP_ASK: where `block_item` leaves the question (`.orchestrator/mcp/
  <ID>_<phase>_<attempt>.ask.json`). The server never blocks the item itself (the run
  owns it during the attempt): once the agent has ended, the run reads the ask and the
  attempt's outcome is `blocked` with the question as the item's blocked reason, exactly
  as a result file answering `blocked` would be.

Nothing here imports the MCP SDK: the server is app/mcpserver, started by the CLI.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

from app.backlog.atomic import atomic_write
from app.backlog.model import now_iso
from app.structs import Struct

SERVER_NAME = "orchestrate"
"""The server's name in every CLI's config: its tools are `mcp__orchestrate__*`."""
ITEM_VAR = "ORCHESTRATE_MCP_ITEM"
ASK_VAR = "ORCHESTRATE_MCP_ASK"
MCP_KINDS = ("claude", "codex")
"""The agent kinds whose CLI takes an MCP server for one invocation."""
WHY_NOT = {
    "gemini": "gemini reads MCP servers only from its settings.json files (~/.gemini/ or "
              "the project's .gemini/), which orchestrate does not write: add it yourself "
              "with `gemini mcp add orchestrate orchestrate mcp`",
    "opencode": "opencode reads MCP servers only from its opencode.json: add orchestrate "
                "there yourself (the README's recipe)",
    "amp": "amp's one-invocation MCP settings are not supported by orchestrate yet: add "
           "orchestrate to amp's settings yourself",
}
"""Why `mcp = true` is refused for the other kinds (config.py says so with the line)."""


def server_command(root: Path) -> list[str]:
    """The argv of the server over `root`: this very orchestrate, whatever PATH holds
    (`-P`: an `app` package in the working folder, the project's own, never shadows it)."""
    return [sys.executable, "-P", "-m", "app", "-C", str(root), "mcp"]


def server_env(item_id: str | None = None, ask: Path | None = None) -> dict[str, str]:
    """What the server's environment needs beyond a CLI's defaults (an MCP client passes
    only a few variables on): where this orchestrate is importable from, and its scope."""
    env = {name: os.environ[name] for name in ("PYTHONPATH", "ORCHESTRATE_CACHE_DIR")
           if os.environ.get(name)}
    if item_id is not None:
        env[ITEM_VAR] = item_id
    if ask is not None:
        env[ASK_VAR] = str(ask)
    return env


def server_entry(root: Path, item_id: str | None = None,
                 ask: Path | None = None) -> dict[str, Any]:
    """One server as `mcpServers` holds it (claude's --mcp-config, `mcp --print-config`)."""
    argv = server_command(root)
    entry: dict[str, Any] = {"type": "stdio", "command": argv[0], "args": argv[1:]}
    env = server_env(item_id, ask)
    if env:
        entry["env"] = env
    return entry


class Wiring(Struct, frozen=True):
    """What an attempt with its MCP server adds to the agent's command."""

    argv: tuple[str, ...]
    """The agent's command template ({prompt} still in it) with the server's flags."""
    ask: Path
    """Where a question asked through `block_item` lands."""
    config: Path | None
    """The config file written for the CLI (claude), removed after the attempt."""
    env: dict[str, str]
    """For the agent's process (its own `env` still wins)."""


def wire(kind: str, command: tuple[str, ...], root: Path, mcp_dir: Path, name: str,
         item_id: str) -> Wiring:
    """The command of one attempt (`name`: `<ID>_<phase>_<attempt>`) with its MCP server
    scoped to `item_id`; an old ask of the same name is removed first."""
    mcp_dir.mkdir(parents=True, exist_ok=True)
    ask = (mcp_dir / f"{name}.ask.json").resolve()
    ask.unlink(missing_ok=True)
    entry = server_entry(root, item_id, ask)
    if kind == "codex":
        prefix = f"mcp_servers.{SERVER_NAME}"
        flags = ["-c", f"{prefix}.command={json.dumps(entry['command'])}",
                 "-c", f"{prefix}.args={json.dumps(entry['args'])}",
                 "-c", f"{prefix}.env={_toml_table(entry.get('env', {}))}"]
        return Wiring(_before_prompt(command, flags), ask, None, {})
    config = (mcp_dir / f"{name}.json").resolve()
    text = json.dumps({"mcpServers": {SERVER_NAME: entry}}, indent=2) + "\n"
    atomic_write(config, text.encode())
    flags = ["--mcp-config", str(config), "--allowedTools", f"mcp__{SERVER_NAME}"]
    # claude -p starts its MCP servers in the background and asks the model at once: the
    # first turn has no orchestrate tools ("still connecting") unless it waits for them.
    return Wiring((*command, *flags), ask, config, {"MCP_CONNECTION_NONBLOCKING": "0"})


def _toml_table(values: dict[str, str]) -> str:
    """An inline TOML table of strings (`{A = "x"}`): JSON strings are TOML strings."""
    return "{" + ", ".join(f"{k} = {json.dumps(v)}" for k, v in values.items()) + "}"


def _before_prompt(command: tuple[str, ...], flags: list[str]) -> tuple[str, ...]:
    """`flags` just before the word holding {prompt} (codex's prompt is its last
    positional), else at the end."""
    at = next((i for i, part in enumerate(command) if "{prompt}" in part), len(command))
    return (*command[:at], *flags, *command[at:])


def sdk_missing(agent: str) -> str | None:
    """Why an agent with `mcp = true` cannot have its server here (the SDK, an optional
    part of orchestrate, is not installed), else None; looked for, not imported."""
    if importlib.util.find_spec("mcp") is not None:
        return None
    table = "agent" if agent == "default" else f"agents.{agent}"
    return (f"{table}.mcp = true needs the MCP SDK, an optional part of orchestrate: "
            "pip install 'orchestrate[mcp]'")


# the question --------------------------------------------------------------------------------
def write_ask(path: Path, item_id: str, question: str) -> None:
    """The scoped server's `block_item`: the question, for the run to read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps({"item": item_id, "question": question,
                                   "at": now_iso()}, ensure_ascii=False).encode() + b"\n")


def read_ask(path: Path, item_id: str) -> str | None:
    """The question the agent asked through its server, None when it asked none (a file
    that is not an ask of this item counts as none)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("item") != item_id:
        return None
    question = data.get("question")
    return question.strip() or None if isinstance(question, str) else None


# what the CLI said of the server --------------------------------------------------------------
def server_trouble(kind: str, servers: dict[str, str] | None,
                   denied: list[str]) -> list[str]:
    """Why the agent may not have had its orchestrate tools, from what its CLI printed:
    the init line's server status (claude: `failed`, or not listed at all) and the tool
    calls its permissions denied. The CLI ends `success` either way."""
    said = []
    if kind == "claude" and servers is not None:
        status = servers.get(SERVER_NAME)
        if status is None:
            said.append(f"the agent's CLI did not list the {SERVER_NAME} MCP server at start "
                        "(its init line's mcp_servers): its tools were not offered")
        elif status == "pending":
            said.append(f"the {SERVER_NAME} MCP server was still starting when the agent's "
                        "CLI began (status 'pending'): its first turns may have had none of "
                        "its tools (MCP_CONNECTION_NONBLOCKING=0 in the agent's env waits)")
        elif status != "connected":
            said.append(f"the {SERVER_NAME} MCP server did not start in the agent's CLI "
                        f"(status {status!r} in its init line): its tools were not offered; "
                        "`orchestrate mcp` run by hand in the project says why")
    calls = [d for d in denied if d.startswith(f"mcp__{SERVER_NAME}")]
    if calls:
        said.append(f"the agent's CLI denied its call of {', '.join(calls[:3])}: its "
                    f"permissions must allow mcp__{SERVER_NAME} (--allowedTools)")
    return said
