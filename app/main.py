"""The `orchestrate` console script: parse, dispatch, and turn errors into one-line messages.

The parser is app/cli/parser.py and the commands are in app/cli; the board (app/ui) and
the demo (app/demo) are imported only when asked for, so a shell command never loads
Textual. The exit codes are app/exitcodes.py, where `orchestrate --help` takes them from.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from app import exitcodes
from app.cli.parser import COMMANDS, build_parser
from app.errors import OrchestrateError

if TYPE_CHECKING:
    from app.engine.project import Project


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script (`argv` None: this process's own arguments,
    and the process ends with the command)."""
    if argv is None:
        # No collections while the command's modules are imported (~7 ms of `run`'s
        # start): what they make lives as long as the process. Collecting starts again
        # as the command begins its work (`_main`).
        gc.disable()
        try:
            code = _main(argv)
        finally:
            # The interpreter's own exit collects garbage over every object the command's
            # imports made (~30 ms after `orchestrate run`); nothing is left to collect
            # that would say anything (files are closed, the lock released).
            gc.freeze()
        _leave_ray(code)
        return code
    return _main(argv)


def _leave_ray(code: int) -> None:
    """A run on a Ray cluster is over: end the process without Ray's own goodbye.

    Ray's exit handler (`ray.shutdown` and its core worker's end) takes ~0.9 s after the
    run's last line, and says nothing the cluster needs: it ends the job's workers when
    the driver's connection closes, as it does when a driver is killed. The command's
    work is done (its files closed, its locks released), so only the standard streams
    are flushed."""
    ray = sys.modules.get("ray")
    if ray is None or not getattr(ray, "is_initialized", lambda: False)():
        return
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said there
            pass
    os._exit(code)


def _main(argv: Sequence[str] | None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    # `orchestrate run ...`: only that command's parser is built (anything else, such as
    # `--help`, `-C DIR run` or a completion, builds them all).
    parser = build_parser(only=words[0] if words[:1] and words[0] in COMMANDS else None)
    if words[:1] == ["__complete"]:  # asked by the completion script, on TAB
        from app.cli.completion import complete

        return complete(words[1:], parser)
    args = parser.parse_args(words)
    try:
        command = command_for(args)
        if not gc.isenabled():  # the process's start is over (main): its objects are kept
            gc.freeze()  # for good, out of every later collection's way
            gc.enable()
        return command()
    except OrchestrateError as exc:
        print(f"orchestrate: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("orchestrate: interrupted", file=sys.stderr)
        return exitcodes.SIGINT
    except BrokenPipeError:
        return exitcodes.ERROR


def project_for(args: argparse.Namespace) -> Project:
    """The project named by -C, or found from the current folder.

    orchestrate.toml is checked here too, so a broken config is reported by every
    command (`orchestrate.toml:LINE: ...`), not only when a run needs it.
    """
    from app.engine.project import find_project

    project = find_project(args.project_dir)
    project.config()
    return project


def dispatch(args: argparse.Namespace) -> int:
    """Run the chosen command."""
    return command_for(args)()


def command_for(args: argparse.Namespace) -> Callable[[], int]:
    """The chosen command, ready to run: its module imported when it is chosen (the
    grooming commands' too: `orchestrate run` has no use for their tables), its project
    found."""
    command = args.command or "board"
    if command == "init":
        from app.cli.groom import cmd_init

        return partial(cmd_init, args)
    if command == "demo":
        from app.demo.command import cmd_demo

        return partial(cmd_demo, args)
    if command == "completion":
        from app.cli.completion import script

        def completion() -> int:
            print(script(args.shell), end="")
            return exitcodes.OK

        return completion
    if command == "worker":  # on a worker node, where there is no project
        from app.cli.worker import cmd_worker

        return partial(cmd_worker, args)
    project = project_for(args)
    if command == "board" and getattr(args, "served", False):  # a tab of `orchestrate serve`
        from app.ui.served import run_served_board

        return partial(run_served_board, project, read_only=args.read_only)
    if command == "board":
        from app.ui.app import run_board

        return partial(run_board, project)
    if command == "serve":
        from app.cli.serve import cmd_serve

        return partial(cmd_serve, args, project)
    if command == "stop" or (command == "run" and args.detach):
        from app.cli import detach

        return partial(detach.cmd_stop if command == "stop" else detach.cmd_detach, args,
                       project)
    if command in ("run", "triage", "approve"):
        if command == "run":  # its first checkpoint's gits work while the engine imports
            from app.engine import gitprobe

            gitprobe.ask_early(project.root)
        from app.cli import run as cli_run

        return partial({"run": cli_run.cmd_run, "triage": cli_run.cmd_triage,
                        "approve": cli_run.cmd_approve}[command], args, project)
    if command == "mcp":
        from app.cli.mcp import cmd_mcp

        return partial(cmd_mcp, args, project)
    if command == "agents":
        from app.cli.agents import cmd_agents

        return partial(cmd_agents, args, project)
    if command == "report":
        from app.cli.report import cmd_report

        return partial(cmd_report, args, project)
    from app.cli import groom as cli_groom

    handler = getattr(cli_groom, f"cmd_{command}")
    return lambda: int(handler(args, project))


if __name__ == "__main__":
    raise SystemExit(main())
