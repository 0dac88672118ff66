"""`orchestrate mcp`: serve the backlog to an agent over stdio (app/mcpserver, which alone
imports the MCP SDK, only here), or print the JSON a person pastes into an agent's
config (`--print-config`)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys

from app import exitcodes
from app.engine.mcpattempt import SERVER_NAME, server_entry
from app.engine.project import Project

MISSING = ("orchestrate mcp needs the MCP SDK, an optional part of orchestrate: "
           "pip install 'orchestrate[mcp]' (or pipx inject orchestrate 'mcp>=2.3,<3')")


def config_json(project: Project) -> dict[str, object]:
    """The `mcpServers` entry of this project's server: `orchestrate` on PATH when it is
    there, else this very Python; `-C` names the project so any working folder does."""
    entry = server_entry(project.root.resolve())
    found = shutil.which("orchestrate")
    if found:
        entry["command"], entry["args"] = found, ["-C", str(project.root.resolve()), "mcp"]
    return {"mcpServers": {SERVER_NAME: entry}}


def cmd_mcp(args: argparse.Namespace, project: Project) -> int:
    if args.print_config:
        json.dump(config_json(project), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return exitcodes.OK
    if importlib.util.find_spec("mcp") is None:
        print(f"orchestrate: {MISSING}", file=sys.stderr)
        return exitcodes.ERROR
    from app.mcpserver.server import serve

    return serve(project, read_only=args.read_only)
