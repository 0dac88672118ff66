"""One agent process for one phase attempt: spawn, stream, time out, kill its whole group.

The agent runs in its own process group (start_new_session=True) in the project
root, never through a shell. stdout is read as bytes line by line (a 300 KB
line or binary noise cannot break it), appended to the attempt's log file,
classified with streamjson.describe and handed to `on_lines` in batches (every
50 ms or 200 lines) so a chatty agent cannot flood observers. On timeout or
stop the whole group gets SIGTERM, then SIGKILL after the grace period; the
group is also cleared when the leader exits, so nothing the agent started in
its group outlives the attempt.
"""

from __future__ import annotations

import collections
import contextlib
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from app.engine import fence, streamjson
from app.engine.agents.claude import ClaudeReader
from app.engine.agents.reader import Reader
from app.engine.events import AgentLine
from app.engine.outcome import ProcessOutcome
from app.engine.pricing import Price
from app.structs import Struct, field

BATCH_LINES = 200
BATCH_SECONDS = 0.05
READ_LIMIT = 4 * 1024 * 1024
"""Longer lines are handled in pieces of this size (memory stays bounded)."""
STDERR_KEEP = 20
TICK_S = 0.5
"""How often a live agent's spend is looked at (the budget can stop a runaway)."""


class AttemptSpec(Struct, frozen=True):
    """Everything needed to start one attempt."""

    command: tuple[str, ...]
    """agent.command with `{prompt}` still in it."""
    prompt: str
    cwd: Path
    item_id: str
    phase: str
    attempt: int
    change_dir: str
    result_path: Path
    log_path: Path
    timeout_s: float
    kill_grace_s: float
    extra_env: dict[str, str] = field(default_factory=dict)
    token: str = field(default_factory=fence.new_token)
    """Marks every process of the attempt (fence.TOKEN_VAR in their environment)."""
    reader: Callable[[ProcessOutcome], Reader] | None = None
    """How the agent's output is read (agents/): claude's stream-json unless given."""
    price: Price | None = None
    """The agent's price per million tokens, where its CLI reports tokens only."""
    idle_timeout_s: float | None = None
    """No output for this long ends the attempt (`idle_out`); None: no watchdog."""


def build_argv(command: Sequence[str], prompt: str) -> list[str]:
    """agent.command with `{prompt}` replaced inside each element (one argv element each)."""
    return [part.replace("{prompt}", prompt) for part in command]


def group_alive(pgid: int) -> bool:
    """Whether any process of the group is still alive (zombies count as gone)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # killpg succeeds while zombies remain; look for a live member where /proc allows.
    if not fence.PROC.is_dir():
        return True
    return any(p.pgrp == pgid and p.alive for p in fence.processes())


def kill_group(pgid: int, grace_s: float, leader: subprocess.Popen[bytes] | None = None,
               now: threading.Event | None = None) -> None:
    """SIGTERM the group, wait up to `grace_s` for it to go, then SIGKILL what is left.

    `now`, when set during the wait, skips the rest of the grace (a second Ctrl-C).
    """
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    except PermissionError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if leader is not None:
            leader.poll()  # reap the leader so it does not linger as a zombie
        if not group_alive(pgid):
            return
        if now is not None and now.is_set():
            break
        time.sleep(0.02)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if leader is not None:
        try:
            leader.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    # Wait briefly for the members to be reaped, so callers can trust "nothing alive".
    end = time.monotonic() + 2
    while group_alive(pgid) and time.monotonic() < end:
        time.sleep(0.01)


class _Batcher:
    """Collects classified lines and hands them on in batches."""

    def __init__(self, on_lines: Callable[[tuple[AgentLine, ...]], None]) -> None:
        self._on_lines = on_lines
        self._pending: list[AgentLine] = []
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()

    def add(self, line: AgentLine) -> None:
        with self._lock:
            self._pending.append(line)
            if len(self._pending) >= BATCH_LINES:
                self._flush_locked()

    def flush(self, force: bool = False) -> None:
        with self._lock:
            if self._pending and (force or
                                  time.monotonic() - self._last_flush >= BATCH_SECONDS):
                self._flush_locked()

    def _flush_locked(self) -> None:
        batch = tuple(self._pending)
        self._pending.clear()
        self._last_flush = time.monotonic()
        self._on_lines(batch)


class _ExitWatch:
    """Waits for a process to exit, woken the moment it does.

    `Popen.wait(timeout)` polls with sleeps that grow to 50 ms, so an agent's exit was
    noticed up to tens of milliseconds late, on every attempt. Linux's pidfd becomes
    readable when the process exits: `select` on it wakes at once. Without pidfd (another
    OS, an old kernel) it falls back to `Popen.wait`.
    """

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.fd: int | None = None
        with contextlib.suppress(AttributeError, OSError):
            self.fd = os.pidfd_open(proc.pid)

    def within(self, timeout: float) -> bool:
        """Whether the process exited (and was reaped) within `timeout` seconds."""
        if self.fd is None:
            try:
                self.proc.wait(timeout=timeout)
                return True
            except subprocess.TimeoutExpired:
                return False
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        self.proc.wait()  # it has exited: this reaps it without waiting
        return True

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class AgentProcess:
    """Runs one attempt to the end (exit, timeout or stop) and reports what happened."""

    def __init__(self, spec: AttemptSpec,
                 on_lines: Callable[[tuple[AgentLine, ...]], None] | None = None,
                 on_spawn: Callable[[int], None] | None = None,
                 stop: threading.Event | None = None,
                 on_tick: Callable[[], None] | None = None,
                 also_stop: threading.Event | None = None) -> None:
        self.spec = spec
        self.also_stop = also_stop or threading.Event()
        """This attempt's own stop (its item taken away), beside the run's `stop`."""
        self._on_tick = on_tick
        """Called every TICK_S while the agent lives (the run's budget looks at spend)."""
        self._ticked = 0.0
        self._batcher = _Batcher(on_lines or (lambda lines: None))
        self._on_spawn = on_spawn
        self.stop = stop or threading.Event()
        self.kill_now = threading.Event()
        """Set to skip the grace period (a second Ctrl-C)."""
        self.outcome = ProcessOutcome()
        self._log_lock = threading.Lock()
        self._log: IO[bytes] | None = None
        self._reader: Reader = (spec.reader or ClaudeReader)(self.outcome)
        self.outcome.usage.price = spec.price
        self._heard = time.monotonic()
        """When the agent last printed a line (the idle watchdog's clock)."""

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        # A detached run carries the mark that keeps it from being taken for a daemon;
        # its agents' daemons must not inherit it (fence.adopted would spare them).
        env.pop(fence.KEEP_VAR, None)
        env.update(self.spec.extra_env)
        env.update({
            "ORCHESTRATE_RESULT_FILE": str(self.spec.result_path.resolve()),
            "ORCHESTRATE_ITEM_ID": self.spec.item_id,
            "ORCHESTRATE_PHASE": self.spec.phase,
            "ORCHESTRATE_ATTEMPT": str(self.spec.attempt),
            "ORCHESTRATE_CHANGE_DIR": self.spec.change_dir,
            fence.TOKEN_VAR: self.spec.token,
        })
        return env

    def run(self) -> ProcessOutcome:
        spec = self.spec
        out = self.outcome
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        spec.result_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            spec.result_path.unlink()  # a stale result must never be mistaken for this one
        except FileNotFoundError:
            pass
        argv = build_argv(spec.command, spec.prompt)
        started = time.monotonic()
        with open(spec.log_path, "ab") as log:
            self._log = log
            try:
                proc = subprocess.Popen(
                    argv, cwd=spec.cwd, env=self.environment(), stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                )
            except FileNotFoundError:
                out.start_error_kind = "missing"
                out.start_error = f"agent command not found: {argv[0]!r}"
                self._write_log(f"[orchestrate] {out.start_error}\n".encode())
                return out
            except PermissionError:
                out.start_error_kind = "permission"
                out.start_error = f"agent command not executable: {argv[0]!r}"
                self._write_log(f"[orchestrate] {out.start_error}\n".encode())
                return out
            except OSError as exc:
                out.start_error_kind = "other"
                out.start_error = f"cannot start the agent {argv[0]!r}: {exc.strerror or exc}"
                self._write_log(f"[orchestrate] {out.start_error}\n".encode())
                return out
            out.pid = proc.pid
            group = fence.AttemptCgroup.create(spec.token)
            out.cgroup = str(group.path) if group is not None else None
            readers = [
                threading.Thread(target=self._read_stdout, args=(proc.stdout,), daemon=True,
                                 name=f"agent-stdout-{proc.pid}"),
                threading.Thread(target=self._read_stderr, args=(proc.stderr,), daemon=True,
                                 name=f"agent-stderr-{proc.pid}"),
            ]
            try:
                # Inside the try (if it fails, the agent dies) and before the readers start
                # (observers see PhaseStarted before any of the agent's output).
                if self._on_spawn is not None:
                    self._on_spawn(proc.pid)
                # The agent has only just exec'd: it joins its cgroup before it can start
                # much (the token catches what would slip through this instant). After
                # PhaseStarted: moving a process between cgroups waits for the kernel (an
                # RCU grace period, 10-20 ms), and the attempt has begun meanwhile.
                if group is not None and not group.add(proc.pid):
                    group.remove()
                    group = None
                    out.cgroup = None
                for t in readers:
                    t.start()
                self._supervise(proc, started)
            finally:
                # Whatever the agent left running in its group goes with it.
                kill_group(proc.pid, min(spec.kill_grace_s, 1.0), proc, self.kill_now)
                # And what left the group (setsid, a double fork): by token and cgroup.
                out.strays = self._end_strays(group)
                for t in readers:
                    if t.is_alive():
                        t.join(timeout=5)
                self._batcher.flush(force=True)
                self._reader.close()
                out.exit_code = proc.poll()
                out.duration_s = time.monotonic() - started
            self._log = None
        return out

    def _end_strays(self, group: fence.AttemptCgroup | None) -> list[fence.Stray]:
        """End every process of the attempt that outlived its agent's group."""
        grace = 0 if self.kill_now.is_set() else min(self.spec.kill_grace_s, 1.0)
        if group is not None:
            # Everything the agent started is in its cgroup: no scan of /proc is needed.
            ended = fence.end(group.members(), grace)
            seen = {s.pid for s in ended}
            ended += [s for s in group.kill() if s.pid not in seen]  # forked meanwhile
            group.remove()
        else:
            ended = fence.end_marked([self.spec.token], grace)
        if ended:
            names = ", ".join(f"pid {s.pid} ({s.command})" for s in ended)
            self._write_log(f"[orchestrate] ended what the agent left running: {names}\n"
                            .encode())
        return ended

    def _supervise(self, proc: subprocess.Popen[bytes], started: float) -> None:
        """Until the agent exits, or is stopped (told to, or timed out)."""
        exited = _ExitWatch(proc)
        try:
            while not exited.within(BATCH_SECONDS):
                if self._check(proc, started):
                    return
        finally:
            exited.close()

    def _check(self, proc: subprocess.Popen[bytes], started: float) -> bool:
        """Every BATCH_SECONDS while the agent lives: flush its lines; stop it when told
        to or when it timed out (True: it was stopped)."""
        spec = self.spec
        out = self.outcome
        self._batcher.flush()
        if self._on_tick is not None and time.monotonic() - self._ticked >= TICK_S:
            self._ticked = time.monotonic()
            self._on_tick()
        if self.stop.is_set() or self.also_stop.is_set():
            out.interrupted = True
            self._write_log(b"[orchestrate] stopping the agent (interrupted)\n")
            kill_group(proc.pid, 0 if self.kill_now.is_set() else spec.kill_grace_s,
                       proc, self.kill_now)
            return True
        idle = spec.idle_timeout_s
        if idle is not None and time.monotonic() - max(self._heard, started) > idle:
            out.idle_out = True
            self._write_log(f"[orchestrate] no output for {idle:g} s (idle_timeout_s): "
                            "stopping the agent\n".encode())
            kill_group(proc.pid, spec.kill_grace_s, proc, self.kill_now)
            return True
        if time.monotonic() - started > spec.timeout_s:
            out.timed_out = True
            self._write_log(f"[orchestrate] phase timeout after {spec.timeout_s:g} s: "
                            "stopping the agent\n".encode())
            kill_group(proc.pid, spec.kill_grace_s, proc, self.kill_now)
            return True
        return False

    def _write_log(self, data: bytes) -> None:
        with self._log_lock:
            if self._log is not None:
                self._log.write(data)
                self._log.flush()

    def _read_stdout(self, stream: IO[bytes]) -> None:
        out = self.outcome
        while True:
            chunk = stream.readline(READ_LIMIT)
            if not chunk:
                break
            self._heard = time.monotonic()
            text = chunk.decode("utf-8", errors="replace").rstrip("\r\n")
            self._write_log(text.encode("utf-8") + b"\n")
            event = streamjson.parse(text)  # once: the lines and the facts read from it
            lines = streamjson.lines_of(event, text)
            if event is not None:
                self._reader.event(event, text, lines)
            else:
                self._reader.raw(text)
            out.lines += 1
            for line in lines:
                out.last_line = line
                self._batcher.add(line)

    def _read_stderr(self, stream: IO[bytes]) -> None:
        tail: collections.deque[str] = collections.deque(maxlen=STDERR_KEEP)
        while True:
            chunk = stream.readline(READ_LIMIT)
            if not chunk:
                break
            self._heard = time.monotonic()
            text = chunk.decode("utf-8", errors="replace").rstrip("\r\n")
            self._write_log(b"[stderr] " + text.encode("utf-8") + b"\n")
            tail.append(text[:2000])
            self._reader.stderr(text)
            self.outcome.stderr_tail = list(tail)
            self._batcher.add(AgentLine("stderr", streamjson.one_line(text), text))

