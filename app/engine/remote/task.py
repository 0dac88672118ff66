"""The Ray task of one remote attempt, on a worker node (a streaming generator).

It clones the attempt's bundle into a temp folder of its own, starts the runner
(runner.py) with a pipe on its stdin, and yields what the runner tells (the agent's
pid, its lines, its log, its spend) as it comes; its last message carries the outcome,
the result file the agent wrote and the new commits as a bundle. Whatever ends it (the
attempt's end, `ray.cancel`, the driver's death) closes the runner's stdin, which stops
the agent and all it started; the temp folder is removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.engine import fence
from app.engine.project import Project
from app.engine.remote import bundles
from app.engine.remote.order import Order

STOP_WAIT_S = 10.0
"""Beyond the agent's grace: how long the task waits for its runner to end its tree."""


def where() -> dict[str, str]:
    """This node, as a person reads it: its Ray id and address, and its host name."""
    node, ip = "", ""
    try:
        import ray

        node = ray.get_runtime_context().get_node_id()
        ip = ray.util.get_node_ip_address()  # type: ignore[no-untyped-call]
    except Exception:  # outside a Ray worker (a test calling it directly): no id
        pass
    return {"node": node, "host": socket.gethostname(), "ip": ip or socket.gethostname()}


def attempt(order: Order, bundle: bytes, base: str) -> Iterator[dict[str, Any]]:
    """The attempt on this node (module docstring), as messages."""
    work = Path(tempfile.mkdtemp(prefix="orchestrate-attempt-"))
    runner: subprocess.Popen[str] | None = None
    runner_pid: int | None = None
    try:
        yield {"where": where()}
        repo = work / "repo"
        bundles.clone(bundle, base, order.branch, repo)
        if order.head and order.head != base:
            bundles.as_in_the_lane(repo, order.head, order.merge)
        project_dir = repo / order.project_rel
        Project(project_dir).ensure_state_dirs()
        order_path = work / "order.pickle"
        order_path.write_bytes(pickle.dumps(order))
        errors = work / "runner.err"
        with errors.open("wb") as err:
            runner = subprocess.Popen(
                # -P: the checkout (its cwd) may hold an `app` package of its own
                [sys.executable, "-P", "-m", "app.engine.remote.launch",
                 str(order_path), str(work), str(project_dir)], cwd=project_dir,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
                start_new_session=True)
        assert runner.stdout is not None
        last: dict[str, Any] | None = None
        for line in runner.stdout:
            message = json.loads(line)
            if "outcome" in message:
                last = message
            elif "runner" in message:
                runner_pid = int(message["runner"])
            else:
                yield message
        if last is None:
            said = errors.read_text(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"the attempt's runner on {socket.gethostname()} ended "
                               "without an outcome" + (": " + " / ".join(said) if said else
                                                       " and said nothing"))
        result_path = project_dir / ".orchestrator" / "results" / order.result_name
        result = result_path.read_text(encoding="utf-8", errors="replace") \
            if result_path.is_file() else None
        back = bundles.collect(repo, base, order.project_rel,
                               f"{order.item_id} {order.phase} #{order.attempt}") \
            if order.branch else None
        yield {"outcome": last["outcome"], "result": result, "bundle": back}
    finally:
        _end(runner, runner_pid, order.kill_grace_s)
        shutil.rmtree(work, ignore_errors=True)


def _end(launcher: subprocess.Popen[str] | None, runner_pid: int | None,
         grace_s: float) -> None:
    """The runner ends its agent's tree once its stdin closes; killed if it does not.
    (It is not our child, launch.py says why: watched by pid.)"""
    if launcher is None:
        return
    if launcher.stdin is not None:
        try:
            launcher.stdin.close()
        except OSError:
            pass
    launcher.wait()
    deadline = time.monotonic() + grace_s + STOP_WAIT_S
    while runner_pid is not None and fence.alive(runner_pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(runner_pid, signal.SIGKILL)
            break
        time.sleep(0.05)
