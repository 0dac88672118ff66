"""A fence around everything one attempt started, so nothing outlives the attempt.

The agent runs in its own process group, but what it starts may leave that group:
a dev server started with `setsid`, `nohup … &` or a double fork is in a session
of its own, beyond `killpg`. Three fences catch those, strongest first:

- a cgroup v2 of the attempt, where the kernel offers a writable one: every
  descendant is in it whatever it does with sessions, and `cgroup.kill` ends
  them all at once;
- a token in the agent's environment (`ORCHESTRATE_ATTEMPT_TOKEN`), inherited
  by every descendant that does not scrub its environment: a scan of /proc
  finds them, also after the orchestrator itself was killed with -9 (run.json
  keeps the token for the next run);
- the orchestrator as a child subreaper (Linux `PR_SET_CHILD_SUBREAPER`), so an
  escaped daemon is re-parented to us instead of to init and can be reaped.

Only processes that carry the attempt's exact token or sit in its cgroup are ever
touched: a process of the person's with the same name is not a target.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from app.structs import Struct

TOKEN_VAR = "ORCHESTRATE_ATTEMPT_TOKEN"
"""The environment variable that marks every process of an attempt."""
KEEP_VAR = "ORCHESTRATE_DETACHED"
"""Set (to 1) in a process we start in a session of its own on purpose (a detached
run): a re-parented child carrying it is never taken for an escaped daemon."""
_PR_SET_CHILD_SUBREAPER = 36
PROC = Path("/proc")


class Stray(Struct, frozen=True):
    """A process of an attempt found alive."""

    pid: int
    command: str
    """Its command line, shortened, for the notice that names it."""


def new_token() -> str:
    """A token unique to one attempt (the pid keeps tokens of two runs apart)."""
    return f"{os.getpid()}-{os.urandom(8).hex()}"  # secrets.token_hex's, without its imports


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _command_of(pid: int) -> str:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return "?"
    text = " ".join(part.decode("utf-8", "replace") for part in raw.split(b"\0") if part)
    return text[:120] or "?"


def alive(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return False
    # The state follows the command name in parentheses, which may itself hold ')'.
    return stat[stat.rfind(")") + 2:][:1] not in ("Z", "X", "")


def marked(tokens: Iterable[str]) -> list[Stray]:
    """Live processes (never this one) whose environment carries one of `tokens`."""
    wanted = {f"{TOKEN_VAR}={token}".encode() for token in tokens if token}
    if not wanted:
        return []
    found = []
    me = os.getpid()
    try:
        entries = list(PROC.iterdir())
    except OSError:
        return []
    for entry in entries:
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if wanted.intersection(environ.split(b"\0")) and alive(int(entry.name)):
            found.append(Stray(int(entry.name), _command_of(int(entry.name))))
    return found


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _reap(pid: int) -> None:
    """Collect a re-parented child's exit status (we are its subreaper), if it is ours."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def end(strays: list[Stray], grace_s: float) -> list[Stray]:
    """TERM each stray, KILL those still alive after `grace_s`; returns those ended."""
    for stray in strays:
        _signal(stray.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    pending = list(strays)
    while pending and time.monotonic() < deadline:
        for stray in pending:
            _reap(stray.pid)
        pending = [s for s in pending if alive(s.pid)]
        if pending:
            time.sleep(0.05)
    for stray in pending:
        _signal(stray.pid, signal.SIGKILL)
    for stray in strays:
        _reap(stray.pid)
    return strays


def end_marked(tokens: Iterable[str], grace_s: float, rounds: int = 3) -> list[Stray]:
    """End every process carrying one of `tokens`. A daemon may fork again while its
    parent dies, so look again until a scan finds none (at most `rounds` times)."""
    tokens = list(tokens)
    ended: list[Stray] = []
    for _ in range(rounds):
        strays = marked(tokens)
        if not strays:
            break
        ended.extend(end(strays, grace_s))
    return ended


class ProcStat(Struct, frozen=True):
    """The fields of /proc/PID/stat we look at."""

    pid: int
    state: str
    ppid: int
    pgrp: int
    session: int

    @property
    def alive(self) -> bool:
        """Running or sleeping, not a zombie waiting to be reaped."""
        return self.state not in ("Z", "X")


def processes() -> Iterator[ProcStat]:
    """Every process /proc shows now (those that vanish meanwhile are skipped)."""
    try:
        entries = list(PROC.iterdir())
    except OSError:
        return
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The fields after the command name, which is in parentheses and may hold ')'.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) >= 4:
            yield ProcStat(int(entry.name), fields[0], int(fields[1]), int(fields[2]),
                           int(fields[3]))


def adopted(exclude: Iterable[int] = ()) -> list[Stray]:
    """Live children of ours in a session of their own that we did not start: daemons
    of our agents, re-parented to us because we are their subreaper. `exclude` holds
    the agents themselves (their own session, our children, still being supervised)."""
    me, my_session = os.getpid(), os.getsid(0)
    skip = set(exclude)
    found = []
    for proc in processes():
        if proc.pid in skip or not proc.alive or proc.ppid != me:
            continue
        if proc.session == my_session:
            continue  # started by us in our own session (git, a notifier): not a daemon
        try:
            environ = (PROC / str(proc.pid) / "environ").read_bytes()
        except OSError:
            continue
        if f"{KEEP_VAR}=1".encode() in environ.split(b"\0"):
            continue  # a detached run we started on purpose
        found.append(Stray(proc.pid, _command_of(proc.pid)))
    return found


# --- cgroup v2 -------------------------------------------------------------------------------
def _cgroup2_mount() -> Path | None:
    try:
        lines = (PROC / "self" / "mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split(" - ")
        if len(fields) == 2 and fields[1].split(" ")[0] == "cgroup2":
            return Path(fields[0].split(" ")[4])
    return None


def _own_cgroup() -> str | None:
    try:
        lines = (PROC / "self" / "cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("0::"):
            return line[3:]
    return None


class AttemptCgroup:
    """A cgroup v2 for one attempt, created beside our own; None where not allowed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        """The cgroup's folder."""

    @classmethod
    def create(cls, token: str) -> AttemptCgroup | None:
        """A fresh cgroup named after `token`, or None (no cgroup v2, not writable)."""
        mount, own = _cgroup2_mount(), _own_cgroup()
        if mount is None or own is None:
            return None
        path = mount / own.lstrip("/") / f"orchestrate-{token}"
        try:
            path.mkdir()
        except OSError:
            return None
        group = cls(path)
        if not (path / "cgroup.kill").exists():  # kernels before 5.14: no one-shot kill
            group.remove()
            return None
        return group

    def add(self, pid: int) -> bool:
        """Move `pid` (and so its future descendants) into the cgroup."""
        try:
            (self.path / "cgroup.procs").write_text(str(pid))
            return True
        except OSError:
            return False

    def pids(self) -> list[int]:
        """The processes in it now."""
        try:
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def members(self) -> list[Stray]:
        """The live processes in it now."""
        return [Stray(pid, _command_of(pid)) for pid in self.pids() if alive(pid)]

    def kill(self, wait_s: float = 2.0) -> list[Stray]:
        """SIGKILL everything in the cgroup; returns what was there."""
        found = self.members()
        if not found:
            return []
        with contextlib.suppress(OSError):
            (self.path / "cgroup.kill").write_text("1")
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            for stray in found:
                _reap(stray.pid)
            if not any(alive(s.pid) for s in found):
                break
            time.sleep(0.02)
        return found

    def remove(self) -> None:
        """Remove the (empty) cgroup's folder."""
        with contextlib.suppress(OSError):
            self.path.rmdir()


def remove_cgroup(path: str | None) -> list[Stray]:
    """Kill and remove a cgroup a crashed run left (its path from run.json)."""
    if not path:
        return []
    folder = Path(path)
    if not folder.name.startswith("orchestrate-") or not folder.is_dir():
        return []  # never touch a folder that is not one of ours
    group = AttemptCgroup(folder)
    ended = group.kill()
    group.remove()
    return ended
