"""`orchestrate run --detach` and `orchestrate stop`: a run that outlives its terminal,
and stopping whichever run holds the lock, whoever started it.

A detached run is the same `orchestrate run` started as a process of its own: its own
session (no terminal, so no hang-up reaches it), stdin from /dev/null, its output in
`.orchestrator/logs/run-<time>.log`. `stop` sends the lock holder SIGTERM, the signal
every run handles as "stop the agent, record the attempt as interrupted, leave the
item resumable, release the lock", then waits until the lock is free.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from app import exitcodes
from app.engine.detached import plain_run_argv, start_detached
from app.engine.project import Project
from app.engine.runlock import RunLock, holder_pid, reap_orphan
from app.errors import LockHeldError, OrchestrateError

STOP_WAIT_S = 60.0
"""How long `stop` waits, beyond the agent's kill grace, for the run to be gone."""


def run_argv(args: argparse.Namespace, project: Project) -> list[str]:
    """The `orchestrate run` command line of the detached process (same options)."""
    argv = plain_run_argv(project)
    if args.target:
        argv += ["--target", args.target]
    if args.cap is not None:
        argv += ["--cap", str(args.cap)]
    if args.max_cost is not None:
        argv += ["--max-cost", f"{args.max_cost:g}"]
    if args.no_wait:
        argv.append("--no-wait")
    if args.json_events:
        argv.append("--json-events")
    elif args.quiet:
        argv.append("--quiet")
    return argv


def cmd_detach(args: argparse.Namespace, project: Project) -> int:
    """Start the run in the background and return at once (pid and log path printed)."""
    started = start_detached(project, run_argv(args, project))
    print(f"run started in the background: pid {started.pid}, log {started.log_path}")
    print("it goes on when this terminal closes; `orchestrate stop` stops it")
    return exitcodes.OK


def cmd_stop(args: argparse.Namespace, project: Project) -> int:
    """Stop the run holding the lock, as SIGTERM does, and wait until it is gone."""
    del args
    pid = holder_pid(project)
    if pid is None:
        left = _end_leftovers(project)
        for line in left:
            print(line)
        if left:
            return exitcodes.OK
        print("orchestrate: no run is going", file=sys.stderr)
        return exitcodes.ERROR
    if pid == 0:
        raise OrchestrateError("a run holds the lock but its pid cannot be read from "
                               f"{project.run_lock_path}")
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass  # ended meanwhile: the lock says so below
    except PermissionError:
        raise OrchestrateError(f"the run of pid {pid} belongs to another user: cannot stop "
                               "it") from None
    print(f"stopping the run of pid {pid}…", flush=True)
    grace = project.config().agent.kill_grace_s
    deadline = time.monotonic() + grace + STOP_WAIT_S
    while holder_pid(project) is not None:
        if time.monotonic() > deadline:
            raise OrchestrateError(f"the run of pid {pid} is still going after "
                                   f"{grace + STOP_WAIT_S:.0f} s; `kill -9 {pid}` ends it "
                                   "(the next run cleans up after it)")
        time.sleep(0.1)
    print(f"stopped: the run of pid {pid} is gone; its item resumes where it was")
    return exitcodes.OK


def _end_leftovers(project: Project) -> list[str]:
    """What a crashed run left (its agents, their daemons), ended under the run lock."""
    if not project.run_state_path.exists():
        return []
    lock = RunLock(project)
    try:
        lock.acquire()
    except LockHeldError:
        return []  # a run started meanwhile: it cleans up itself
    try:
        return reap_orphan(project, project.config().agent.kill_grace_s)
    finally:
        lock.release()
