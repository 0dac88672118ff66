"""The run lock (one pipeline or triage per project) and `.orchestrator/run.json`.

The lock is a flock lock (app/backlog/locking.py) on `.orchestrator/run.lock`, taken without
waiting, with our pid written inside for messages. The kernel drops it when its
process dies, kill -9 included, so a stale file never blocks a new run.

run.json records our pid and each live agent's pid/pgid with its item, phase,
attempt, fence token and cgroup. A run that starts after a crash of the previous
one finds the agent group it left behind, and every process carrying the token
or sitting in the cgroup (daemons that left the group), and ends them before
doing anything else, saying which.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from app.backlog.locking import lock_exclusive, try_shared, unlock
from app.engine import fence
from app.engine.agent_process import group_alive, kill_group
from app.engine.project import Project
from app.errors import LockHeldError

ACQUIRE_RETRY_S = 0.2


class RunLock:
    """`with RunLock(project):` holds `.orchestrator/run.lock` or raises LockHeldError."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._fh: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._fh is not None

    def acquire(self) -> None:
        """Take the lock now or raise LockHeldError naming the holder's pid."""
        if self._fh is not None:
            return
        path = self.project.run_lock_path
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held past this call)
        # holder_pid() takes a shared lock for an instant: a few quick retries keep a
        # board's polling from looking like a run that holds the lock.
        if not lock_exclusive(fh, ACQUIRE_RETRY_S, 0.01):
            fh.close()
            pid = _read_pid(path)
            who = f"pid {pid}" if pid else "pid unknown"
            raise LockHeldError(f"another run holds the lock ({who})")
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        """Give the lock back (the file stays; it is the lock, not a marker)."""
        fh, self._fh = self._fh, None
        if fh is None:
            return
        try:
            fh.seek(0)
            fh.truncate()
            fh.flush()
            unlock(fh)
        finally:
            fh.close()

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(path: Path) -> int | None:
    # The holder writes its pid right after locking: give it a moment.
    for _ in range(20):
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        if text.isdigit():
            return int(text)
        time.sleep(0.01)
    return None


def holder_pid(project: Project) -> int | None:
    """The pid of the live process holding the run lock, or None when nobody holds it.

    Checked by trying the lock (a pid left in the file by a dead run does not count).
    Returns 0 when the lock is held but the pid cannot be read.
    """
    path = project.run_lock_path
    if not path.exists():
        return None
    try:
        fh = open(path, encoding="utf-8")  # noqa: SIM115 (closed by the with below)
    except OSError:
        return None
    with fh:
        if not try_shared(fh):
            return _read_pid(path) or 0
        unlock(fh)
        return None


# run.json ------------------------------------------------------------------------------------
def write_run_state(project: Project, data: dict[str, Any]) -> None:
    """Replace run.json atomically (a reader never sees half a file)."""
    path = project.run_state_path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".run.json.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


RUN_KEYS = ("pid", "kind", "started", "max_parallel", "working")
"""run.json's facts about the run itself (kept while its agents come and go); `working`:
the items whose lanes are live, agent or not (between attempts too)."""
_STATE_LOCK = threading.Lock()
"""One read-change-write of run.json at a time in this process (agents and lanes)."""


def update_run_state(project: Project, change: Callable[[dict[str, Any]], dict[str, Any]]
                     ) -> None:
    """run.json read, changed by `change` and written back, as one step in this process."""
    with _STATE_LOCK:
        write_run_state(project, change(read_run_state(project)))


def set_working(project: Project, items: Iterable[str]) -> None:
    """The items whose lanes are live now (what `delete` and `advance` must not pull out
    from under a run without stopping that lane first)."""
    working = sorted(items)
    update_run_state(project, lambda state: {**state, "working": working})


def start_run_state(project: Project, kind: str, max_parallel: int) -> None:
    """run.json as a run begins: who runs, what kind, since when, how wide; no agent yet."""
    write_run_state(project, {"pid": os.getpid(), "kind": kind,
                              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                              "max_parallel": max_parallel, "agents": []})


def with_agents(state: dict[str, Any], agents: list[dict[str, Any]]) -> dict[str, Any]:
    """run.json with these live agents: the run's own facts kept, and the latest agent's
    fields at the top level too (what older readers look at), but for those that would
    overwrite the run's (an agent's `started` is not the run's)."""
    data: dict[str, Any] = {key: state[key] for key in RUN_KEYS if key in state}
    data.setdefault("pid", os.getpid())
    data["agents"] = agents
    if agents:
        data.update({k: v for k, v in agents[-1].items() if k not in RUN_KEYS})
    return data


def read_run_state(project: Project) -> dict[str, Any]:
    """run.json's content, or {} when missing or torn."""
    try:
        data = json.loads(project.run_state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def clear_run_state(project: Project) -> None:
    """Remove run.json (the run ended cleanly)."""
    try:
        project.run_state_path.unlink()
    except FileNotFoundError:
        pass


def _is_our_agent(pgid: int, marker: str | None) -> bool:
    """Whether a live member of group `pgid` carries our result-file variable (pid reuse)."""
    if not marker or not fence.PROC.is_dir():
        return True
    needle = f"ORCHESTRATE_RESULT_FILE={marker}".encode()
    readable = False
    for proc in fence.processes():
        if proc.pgrp != pgid or not proc.alive:
            continue
        try:
            environ = (fence.PROC / str(proc.pid) / "environ").read_bytes()
        except OSError:
            continue
        readable = True
        if needle in environ.split(b"\0"):
            return True
    return not readable  # could not look: trust the record


def reap_orphan(project: Project, grace_s: float) -> list[str]:
    """Kill agent groups a dead run left behind; returns what was done, for Notices.

    Call only while holding the run lock (so the recorded run is surely gone).
    """
    state = read_run_state(project)
    agents = [a for a in state.get("agents", []) if isinstance(a, dict)]
    if not agents and "agent_pgid" in state:
        agents = [state]
    done: list[str] = []
    for agent in agents:
        what = f"{agent.get('item')} {agent.get('phase')} attempt {agent.get('attempt')}"
        pgid = agent.get("agent_pgid")
        if isinstance(pgid, int) and pgid > 1 and pgid != os.getpgid(0) \
                and group_alive(pgid) and _is_our_agent(pgid, agent.get("result_file")):
            kill_group(pgid, grace_s)
            done.append(f"a previous run (pid {state.get('pid')}) left its agent running "
                        f"(pid {agent.get('agent_pid')}, {what}): stopped it; the item "
                        "resumes")
        # What the agent started outside its group: found by its token, or its cgroup.
        token = agent.get("token")
        strays = fence.end_marked([token], grace_s) if isinstance(token, str) else []
        cgroup = agent.get("cgroup")
        seen = {s.pid for s in strays}
        strays += [s for s in fence.remove_cgroup(cgroup if isinstance(cgroup, str) else None)
                   if s.pid not in seen]
        if strays:
            names = ", ".join(f"pid {s.pid} ({s.command})" for s in strays)
            done.append(f"a previous run (pid {state.get('pid')}) left processes of {what} "
                        f"running: stopped {names}")
    clear_run_state(project)
    return done
