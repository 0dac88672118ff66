"""A run started as a process of its own, which outlives whoever started it: `orchestrate
run --detach`, and the board's `D` (and every run a served board starts).

Its own session (no terminal, so no hang-up reaches it), stdin from /dev/null, its output
in `.orchestrator/logs/run-<time>.log`, and a mark in its environment so that the board
that started it never takes it for a daemon of one of its agents.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from app.engine import fence
from app.engine.project import Project
from app.engine.runlock import holder_pid
from app.errors import LockHeldError
from app.structs import Struct


def plain_run_argv(project: Project) -> list[str]:
    """`orchestrate run` of `project`, as this very interpreter runs it."""
    return [sys.executable, "-m", "app", "-C", str(project.root), "run"]


class Detached(Struct, frozen=True):
    """A run started in the background."""

    pid: int
    log_path: Path
    """Where its own console output goes (`.orchestrator/logs/run-<time>.log`)."""


def start_detached(project: Project, argv: list[str] | None = None) -> Detached:
    """Start `argv` (default: a plain `orchestrate run` of `project`) as a run of its own:
    its own session, no terminal, its output in a log file. Raises LockHeldError when a
    run holds the lock already. The board's `D` and `run --detach` both start runs so."""
    pid = holder_pid(project)
    if pid is not None:
        raise LockHeldError(f"another run holds the lock (pid {pid or 'unknown'}); "
                            "`orchestrate stop` stops it")
    project.ensure_state_dirs()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    log_path = project.logs_dir / f"run-{stamp}.log"
    env = dict(os.environ)
    env[fence.KEEP_VAR] = "1"  # never taken for a daemon of the board that started it
    env["PYTHONUNBUFFERED"] = "1"  # the log file fills as the run goes
    if argv is None:
        argv = plain_run_argv(project)
    with open(log_path, "ab") as log, open(os.devnull, "rb") as devnull:
        proc = subprocess.Popen(argv, cwd=project.root, env=env, stdin=devnull, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                close_fds=True)
    return Detached(proc.pid, log_path)
