"""`orchestrate demo`: a full run on a throwaway sample project, no account needed."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from app import exitcodes
from app.demo.project import make_demo_project


def cmd_demo(args: argparse.Namespace) -> int:
    """Make the sample project, then open the board running it (or run headless)."""
    if args.speed <= 0:
        from app.errors import OrchestrateError

        raise OrchestrateError("--speed must be a positive number, like 1 or 4")
    root = args.demo_dir or Path(tempfile.mkdtemp(prefix="orchestrate-demo-"))
    project = make_demo_project(root, args.speed)
    print(f"demo project: {project.root} (a throwaway git repository; delete it when done)")
    if args.headless:
        from app.cli import run as cli_run

        # Triage the new ideas first, then walk every ready item through the phases.
        triage_args = argparse.Namespace(investigate=False, quiet=False, json_events=False,
                                         no_wait=False)
        code = cli_run.cmd_triage(triage_args, project)
        if code != exitcodes.OK:
            return code
        run_args = argparse.Namespace(target=None, cap=None, quiet=False, json_events=False,
                                      no_wait=False, max_cost=None)
        return cli_run.cmd_run(run_args, project)
    from app.ui.app import run_board

    return run_board(project, demo=True)
