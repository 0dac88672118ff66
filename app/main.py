"""The `orchestrate` console script: parse, dispatch, and turn errors into one-line messages.

The parser is app/cli/parser.py and the commands are in app/cli; the board (app/ui) and
the demo (app/demo) are imported only when asked for, so a shell command never loads
Textual. The exit codes are app/exitcodes.py, where `orchestrate --help` takes them from.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from app import exitcodes
from app.cli.parser import build_parser
from app.errors import OrchestrateError


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["__complete"]:  # asked by the completion script, on TAB
        from app.cli.completion import complete

        return complete(words[1:], parser)
    args = parser.parse_args(words)
    try:
        return dispatch(args)
    except OrchestrateError as exc:
        print(f"orchestrate: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("orchestrate: interrupted", file=sys.stderr)
        return exitcodes.SIGINT
    except BrokenPipeError:
        return exitcodes.ERROR


def dispatch(args: argparse.Namespace) -> int:
    """Run the chosen command."""
    from app.cli import groom as cli_groom

    command = args.command or "board"
    if command == "init":
        return cli_groom.cmd_init(args)
    if command == "demo":
        from app.demo.command import cmd_demo

        return cmd_demo(args)
    if command == "completion":
        from app.cli.completion import script

        print(script(args.shell), end="")
        return exitcodes.OK
    if command == "worker":  # on a worker node, where there is no project
        from app.cli.worker import cmd_worker

        return cmd_worker(args)
    project = cli_groom.project_for(args)
    if command == "board" and getattr(args, "served", False):  # a tab of `orchestrate serve`
        from app.ui.served import run_served_board

        return run_served_board(project, read_only=args.read_only)
    if command == "board":
        from app.ui.app import run_board

        return run_board(project)
    if command == "serve":
        from app.cli.serve import cmd_serve

        return cmd_serve(args, project)
    if command == "stop" or (command == "run" and args.detach):
        from app.cli import detach

        return detach.cmd_stop(args, project) if command == "stop" else \
            detach.cmd_detach(args, project)
    if command in ("run", "triage", "approve"):
        from app.cli import run as cli_run

        return {"run": cli_run.cmd_run, "triage": cli_run.cmd_triage,
                "approve": cli_run.cmd_approve}[command](args, project)
    if command == "mcp":
        from app.cli.mcp import cmd_mcp

        return cmd_mcp(args, project)
    if command == "agents":
        from app.cli.agents import cmd_agents

        return cmd_agents(args, project)
    if command == "report":
        from app.cli.report import cmd_report

        return cmd_report(args, project)
    handler = getattr(cli_groom, f"cmd_{command}")
    return int(handler(args, project))


if __name__ == "__main__":
    raise SystemExit(main())
