"""A usage limit of every agent the run may use pauses the whole run: every lane (and
triage) waits for the earliest reset, then the attempts that met it repeat (on whichever
agent is free again: routing.py).

The first lane to meet it decides for all (one notice; a guessed wait grows once, not
once per lane) and keeps the pause in `.orchestrator/pause.json`, so a run started again
before the reset waits too. A reset further away than `[limits] max_wait_h`, or
`run --no-wait`, ends the run (exit 4) saying when each agent resets; nothing is blocked.
Each pause, once it ends (resumed, or the run stopped meanwhile), is one line of
`.orchestrator/pauses.jsonl`: how long the run waited (`orchestrate report`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NoReturn, Protocol

from app.engine import jsonl
from app.engine.config import Config
from app.engine.events import EventBus, RunPaused, RunResumed
from app.engine.limits import Pause, clear_pause, clock_time, load_pause, save_pause
from app.engine.project import Project

CHECK_S = 1.0
"""How often a paused lane looks whether it was stopped meanwhile."""


class PauseHost(Protocol):
    """What the pause needs of its run."""

    project: Project
    config: Config
    bus: EventBus
    wait_on_limit: bool

    def notice(self, level: str, text: str) -> None: ...

    def sleep(self, seconds: float, item_id: str | None = None) -> None:
        """Wait; RunEnd at once when the run is stopped (or paused by a person)."""
        ...

    def end_for_every_item(self, reason: str) -> NoReturn: ...


class LimitPause:
    """The run's pause for a usage limit (module docstring); thread-safe."""

    def __init__(self, run: PauseHost) -> None:
        self.run = run
        self._lock = threading.Lock()
        self._resume_at: float | None = None
        """While every agent is limited: no attempt of any lane starts before this."""
        self._since: tuple[float, str] | None = None
        """While paused: since when, and why (pauses.jsonl's line once it ends)."""

    def pause_until(self, limited: Sequence[tuple[str, Pause]], item_id: str,
                    phase: str) -> None:
        """Every agent the run may use is `limited`: pause every lane until the first of
        them resets (plus the margin), then return; RunEnd when the run must not wait
        (`--no-wait`, or that reset beyond `max_wait_h`)."""
        run, cfg = self.run, self.run.config.limits
        now = time.time()
        first = min((pause for _, pause in limited), key=lambda pause: pause.resumes_at)
        with self._lock:  # one decision per limit, however many lanes meet it at once
            # A lane meeting the limit the run already waits for joins that wait.
            joined = self._resume_at is not None and self._resume_at > now \
                and first.resumes_at <= self._resume_at
            too_far = first.known_reset and first.resumes_at - now > cfg.max_wait_h * 3600
            later = not joined and run.wait_on_limit and not too_far and (
                self._resume_at is None or first.resumes_at > self._resume_at)
            if later:
                self._resume_at = first.resumes_at
                if self._since is None:
                    self._since = (now, reason_of(limited))
        if not joined:
            if not run.wait_on_limit:
                run.end_for_every_item(f"{ended_by(limited, now)}; nothing was blocked: "
                                       f"run again once {_it(limited)} reset")
            if too_far:
                run.end_for_every_item(f"{ended_by(limited, now)}, more than [limits] "
                                       f"max_wait_h = {cfg.max_wait_h:g} h away; nothing was "
                                       f"blocked: run again once {_it(limited)} reset")
        if later:  # the first lane to meet it speaks for all
            pause = Pause(first.resumes_at, reason_of(limited), first.known_reset,
                          first.resets_at)
            save_pause(run.project.pause_path, pause)
            self._announce(pause, item_id, phase)
        self.wait()

    def resume_kept(self, agent_free: bool = False) -> None:
        """A run stopped while paused and started again before the reset waits too,
        unless an agent it may use is free now (`agent_free`: one added since, say)."""
        run = self.run
        pause = load_pause(run.project.pause_path)
        if pause is None:
            return
        if pause.resumes_at <= time.time() or agent_free:
            clear_pause(run.project.pause_path)
            return
        if not run.wait_on_limit:  # `--no-wait` never waits, not even for an old pause
            run.end_for_every_item(
                f"usage limit: {pause.reason}; an earlier run paused until "
                f"{clock_time(pause.resumes_at, time.time())}, and --no-wait does not wait: "
                "run again once it has reset")
        with self._lock:
            self._resume_at = pause.resumes_at
            if self._since is None:
                self._since = (time.time(), pause.reason)
        self._announce(pause, None, None)
        self.wait()

    def wait(self) -> None:
        """Block while the run is paused for a limit (a stop still ends it at once)."""
        run = self.run
        while True:
            with self._lock:
                at = self._resume_at
            if at is None:
                return
            left = at - time.time()
            if left > 0:
                try:
                    run.sleep(min(left, CHECK_S))
                except Exception:  # the run ends while paused (a stop): still a wait
                    self._ended("stopped")
                    raise
                continue
            with self._lock:
                resumed = self._resume_at == at
                if resumed:
                    self._resume_at = None
            if resumed:
                clear_pause(run.project.pause_path)
                self._ended("resumed")
                run.bus.emit(RunResumed())
                run.notice("info", "resumed after the usage limit")

    def _ended(self, how: str) -> None:
        """The pause is over (`resumed`, or `stopped`: the run ended while it waited): one
        line in pauses.jsonl, written by the first lane to see it."""
        with self._lock:
            since, self._since = self._since, None
        if since is None:
            return
        start, reason = since
        end = time.time()
        jsonl.append(self.run.project.pauses_path, {
            "start": iso(start), "end": iso(end), "waited_s": round(end - start, 3),
            "reason": reason, "ended": how})

    def _announce(self, pause: Pause, item_id: str | None, phase: str | None) -> None:
        now = time.time()
        self.run.bus.emit(RunPaused(reason=pause.reason, resumes_at=pause.resumes_at,
                                    item_id=item_id, phase=phase,
                                    known_reset=pause.known_reset))
        guess = "" if pause.known_reset else " (no reset time was given: it tries again then)"
        self.run.notice("warning", f"paused: usage limit, resumes at "
                                   f"{clock_time(pause.resumes_at, now)}{guess}: {pause.reason}")


def iso(t: float) -> str:
    """A pauses.jsonl time: UTC, to the second (as the worklog's)."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reason_of(limited: Sequence[tuple[str, Pause]]) -> str:
    """The agents' words: alone for the default agent, else after each agent's name."""
    if len(limited) == 1 and limited[0][0] == "default":
        return limited[0][1].reason
    return "; ".join(f"{name}: {pause.reason}" for name, pause in limited)


def ended_by(limited: Sequence[tuple[str, Pause]], now: float) -> str:
    """`usage limit: <words>; it resets at 22:15 (in 1h02m)`, for each limited agent."""
    def resets(pause: Pause) -> str:
        at = pause.resets_at if pause.resets_at is not None else \
            (pause.resumes_at if pause.known_reset else None)
        return f"it resets at {clock_time(at, now)}" if at is not None \
            else "no reset time was given"

    if len(limited) == 1 and limited[0][0] == "default":
        pause = limited[0][1]
        return f"usage limit: {pause.reason}; {resets(pause)}"
    return "usage limit of every agent: " + "; ".join(
        f"{name} ({pause.reason}): {resets(pause)}" for name, pause in limited)


def _it(limited: Sequence[tuple[str, Pause]]) -> str:
    return "it has" if len(limited) == 1 else "one has"
