"""Which agent an attempt goes to: the first of its phase's chain with quota and room.

An attempt of a phase goes to the first agent of its chain (`Config.chain`: the phase's
own agent, then `[run] fallback`) that is not limited and has a free slot (its
`max_parallel`; 0: no cap of its own). An agent that met a usage limit is remembered as
limited until its reset plus the margin (where it named none: a guessed interval that
doubles with each limit in a row, as the pause's), kept in `.orchestrator/limits.json` so
a run started again before the reset skips it too, and its attempt goes to the next agent
of the chain. What happens when no agent of a chain may take an attempt (wait for a
slot, for the chain's earliest reset, or pause the whole run) is the run's (skeleton.py).

With one agent and no fallback, the chain is that agent alone: routing changes nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from app.engine.config import Config
from app.engine.executor import UsageLimit
from app.engine.limits import Pause, plan_pause
from app.structs import Struct


class NoRoute(Struct, frozen=True):
    """No agent of the chain may take the attempt now."""

    limited: tuple[tuple[str, Pause], ...]
    """The chain's limited agents, with until when."""
    full: tuple[str, ...]
    """The chain's agents that are not limited and have no free slot."""

    @property
    def earliest(self) -> tuple[str, Pause] | None:
        """When every agent of the chain is limited: the one that resets first."""
        if self.full or not self.limited:
            return None
        return min(self.limited, key=lambda pair: pair[1].resumes_at)


class Router:
    """The agents' limits and slots for one run (thread-safe); see the module docstring."""

    def __init__(self, config: Config, path: Path) -> None:
        self.config = config
        self.path = path
        self._cond = threading.Condition()
        self._limited: dict[str, Pause] = {
            name: pause for name, pause in load_limits(path).items() if name in config.agents}
        """An agent's limit: no attempt goes to it before `resumes_at`."""
        self._streak: dict[str, int] = {}
        """Limits an agent met in a row; its guessed wait grows with it."""
        self._busy: dict[str, int] = {}

    # choosing ------------------------------------------------------------------------------------
    def take(self, phase: str, now: float) -> str | NoRoute:
        """The agent the attempt goes to, its slot taken (`give_back` after the attempt),
        or why none may take it now."""
        limited: list[tuple[str, Pause]] = []
        full: list[str] = []
        with self._cond:
            for name in self.config.chain(phase):
                pause = self._limited.get(name)
                if pause is not None and pause.resumes_at > now:
                    limited.append((name, pause))
                    continue
                cap = self.config.agent_named(name).max_parallel
                busy = self._busy.get(name, 0)
                if cap and busy >= cap:
                    full.append(name)
                    continue
                self._busy[name] = busy + 1
                return name
        return NoRoute(tuple(limited), tuple(full))

    def give_back(self, agent: str) -> None:
        """The attempt on `agent` ended: its slot is free."""
        with self._cond:
            self._busy[agent] = max(0, self._busy.get(agent, 0) - 1)
            self._cond.notify_all()

    def wait_for_slot(self, timeout: float) -> None:
        """Block until a slot frees (or `timeout` seconds pass)."""
        with self._cond:
            self._cond.wait(timeout)

    # limits ----------------------------------------------------------------------------------
    def limit(self, agent: str, limit: UsageLimit, now: float) -> tuple[Pause, bool]:
        """`agent` met `limit`: until when it is limited, and whether that is news (False
        when another lane already met the limit it is limited for: one notice, and a
        guessed wait grows once, not once per lane)."""
        cfg = self.config.limits
        with self._cond:
            known = self._limited.get(agent)
            if known is not None and known.resumes_at > now and (
                    limit.resets_at is None or limit.resets_at <= known.resumes_at):
                return known, False
            streak = self._streak[agent] = self._streak.get(agent, 0) + 1
            pause = plan_pause(limit, now=now, margin_s=cfg.resume_margin_s,
                               retry_interval_s=cfg.retry_interval_s,
                               retry_interval_max_s=cfg.retry_interval_max_s, streak=streak)
            self._limited[agent] = pause
            self._save()
            self._cond.notify_all()
        return pause, True

    def met_none(self, agent: str) -> None:
        """An attempt on `agent` ended without a limit: it is not limited, and its next
        guessed wait starts small again."""
        with self._cond:
            self._streak.pop(agent, None)
            if self._limited.pop(agent, None) is not None:
                self._save()

    def knows_limits(self) -> bool:
        """Whether any agent's limit is known (this run's, or kept by an earlier one)."""
        with self._cond:
            return bool(self._limited)

    def limited(self, agents: Iterable[str], now: float) -> list[tuple[str, Pause]]:
        """Those of `agents` limited at `now`, with until when."""
        with self._cond:
            return [(name, pause) for name in agents
                    if (pause := self._limited.get(name)) is not None
                    and pause.resumes_at > now]

    def _save(self) -> None:
        save_limits(self.path, self._limited)


def save_limits(path: Path, limited: dict[str, Pause]) -> None:
    """Keep each agent's limit (written whole by rename: a crash leaves the old file or the
    new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({name: pause.as_json() for name, pause in limited.items()},
                              indent=1), encoding="utf-8")
    os.replace(tmp, path)


def load_limits(path: Path) -> dict[str, Pause]:
    """The kept limits by agent name; an entry (or a file) torn or not ours is skipped."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    kept: dict[str, Pause] = {}
    for name, entry in data.items():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            kept[str(name)] = Pause.from_json(entry)
    return kept
