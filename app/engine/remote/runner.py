"""The worker's side of one remote attempt, as a process of its own:
`python -m app.engine.remote.runner ORDER WORK PROJECT` (started through launch.py).

The Ray task (task.py) starts it with a pipe on its stdin that only the task holds. The
runner becomes a child subreaper and runs the agent exactly as a local attempt does
(agent_process.py: its own process group, the attempt's token, a cgroup where writable),
telling the task on stdout what happens (order.py's messages). When its stdin ends (the
task finished, was cancelled, or its worker died with the driver or the node), it stops
the agent: TERM, then KILL after the grace, then everything the attempt left, by token,
cgroup and re-parenting. So nothing of an attempt outlives it on the worker, which
`ray.cancel` alone does not promise (it kills only the worker's direct children).
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
from pathlib import Path
from typing import IO

from app.engine import fence
from app.engine.agent_process import AgentProcess, AttemptSpec
from app.engine.remote import order as messages


class _Teller:
    """One message a line on stdout, whole, from any thread."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self.lock:
            try:
                self.out.write(line + "\n")
                self.out.flush()
            except (BrokenPipeError, ValueError):
                pass  # the task is gone: the stdin watch stops the agent


class _Forwarding(AgentProcess):
    """An AgentProcess whose log also goes to the task, as it is written."""

    tell: _Teller

    def _write_log(self, data: bytes) -> None:
        super()._write_log(data)
        self.tell(messages.log(data))


def run(spec: AttemptSpec, tell: _Teller, stdin: int) -> int:
    """The attempt, to its end; its outcome is the last message."""
    fence.become_subreaper()
    stop = threading.Event()

    def watch() -> None:
        # The raw descriptor, not sys.stdin: a buffered reader still busy in this daemon
        # thread aborts the interpreter at exit.
        while True:
            try:
                if not os.read(stdin, 4096):
                    break  # EOF: the task is gone, or told us to stop
            except InterruptedError:
                continue
            except OSError:
                break
        stop.set()

    threading.Thread(target=watch, daemon=True, name="runner-stdin").start()
    process: _Forwarding

    def on_tick() -> None:
        tell(messages.spend(process.outcome.cost_usd or 0.0))

    process = _Forwarding(spec, lambda batch: tell(messages.lines(batch)),
                          lambda pid: tell(messages.started(pid)), stop, on_tick=on_tick)
    process.tell = tell
    if stop.is_set():
        process.kill_now.set()
    outcome = process.run()
    # Daemons that scrubbed their token and left the group came to us, the subreaper.
    outcome.strays += fence.end(fence.adopted(), min(spec.kill_grace_s, 1.0))
    tell(messages.ended(outcome))
    return 0


def main(argv: list[str]) -> int:
    order_path, work = Path(argv[0]), Path(argv[1])
    with open(order_path, "rb") as fh:
        order = pickle.load(fh)  # written by our own task, beside us
    assert isinstance(order, messages.Order)
    spec = messages.spec_in(order, Path(argv[2]), work)
    return run(spec, _Teller(sys.stdout), sys.stdin.fileno())


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

