"""An attempt's agent, by quota: the run's side of routing.py.

Before each attempt the run asks `agent_for` its item's phase: the first agent of the
phase's chain with quota and a free slot (its slot taken; the run gives it back after the
attempt). Where the chain's agents with quota are all busy, it waits for a slot. Where
every agent of the chain is limited, it waits for the first reset: the whole run pauses
(pausing.py) when that is every agent the run may use, else this step alone waits while
the other lanes go on. `--no-wait`, or a reset beyond `[limits] max_wait_h`, ends the run
instead (exit 4), naming each agent and when it resets. An agent that met a limit is
said once, with where its attempts go meanwhile.
"""

from __future__ import annotations

import time
from typing import Protocol

from app.engine.executor import UsageLimit
from app.engine.limits import Pause, clock_time
from app.engine.pausing import LimitPause, PauseHost, ended_by
from app.engine.routing import Router

SLOT_CHECK_S = 0.2
"""How often a step waiting for a slot looks whether it was stopped or taken away."""


class QuotaHost(PauseHost, Protocol):
    """What routing by quota needs of its run."""

    limits: LimitPause

    def check_stop(self) -> None: ...

    def check_withdrawn(self, item_id: str) -> None: ...

    def agents_used(self) -> tuple[str, ...]: ...


class Quota:
    """The run's choice of agent per attempt (module docstring); thread-safe."""

    def __init__(self, run: QuotaHost) -> None:
        self.run = run
        self.router = Router(run.config, run.project.limits_path)

    def agent_free(self) -> bool:
        """Whether an agent the run may use is known to be free of a limit: the kept
        limits name some of them, not all (without kept limits, a kept pause is kept)."""
        used = self.run.agents_used()
        return self.router.knows_limits() and \
            len(self.router.limited(used, time.time())) < len(used)

    def agent_for(self, item_id: str, phase: str) -> str:
        """The agent the next attempt goes to, its slot taken: the first of the phase's
        chain with quota and room. Waits for a slot; where every agent of the chain is
        limited, for the first reset: the whole run pauses when that is every agent the
        run uses (pausing.py), else this step alone waits while other lanes go on."""
        run = self.run
        told = False
        while True:
            now = time.time()
            route = self.router.take(phase, now)
            if isinstance(route, str):
                return route
            if route.earliest is None:  # an agent with quota, busy: its slot frees soon
                self.router.wait_for_slot(SLOT_CHECK_S)
                run.check_withdrawn(item_id)
                run.check_stop()
                continue
            used = run.agents_used()
            everyone = self.router.limited(used, now)
            if len(everyone) == len(used):
                run.limits.pause_until(everyone, item_id, phase)
                continue
            self._wait_for_chain(route.limited, item_id, phase, told)
            told = True

    def _wait_for_chain(self, limited: tuple[tuple[str, Pause], ...], item_id: str,
                        phase: str, told: bool) -> None:
        """Every agent of this step's chain is limited, not every agent of the run: this
        step waits for the first of them to reset (RunEnd when the run must not wait)."""
        run, now = self.run, time.time()
        name, first = min(limited, key=lambda pair: pair[1].resumes_at)
        cfg = run.config.limits
        if not run.wait_on_limit:
            run.end_for_every_item(f"{item_id} {phase}: {ended_by(limited, now)}; nothing "
                                   "was blocked: run again once one has reset")
        if first.known_reset and first.resumes_at - now > cfg.max_wait_h * 3600:
            run.end_for_every_item(f"{item_id} {phase}: {ended_by(limited, now)}, more "
                                   f"than [limits] max_wait_h = {cfg.max_wait_h:g} h away; "
                                   "nothing was blocked: run again once one has reset")
        if not told:
            run.notice("warning", f"{item_id} {phase} waits for {name} to reset at "
                                  f"{clock_time(first.resumes_at, now)}: every agent it may "
                                  f"use ({', '.join(n for n, _ in limited)}) is limited; "
                                  "the other lanes go on")
        run.sleep(min(first.resumes_at - now, 1.0), item_id)

    def met_limit(self, limit: UsageLimit, agent: str, item_id: str, phase: str) -> None:
        """`agent` met a usage limit: it is not used until its reset, and the attempt goes
        to the next agent of the chain (said once), or waits (`agent_for`)."""
        now = time.time()
        pause, news = self.router.limit(agent, limit, now)
        if not news:
            return
        chain = self.run.config.chain(phase)
        limited = {name for name, _ in self.router.limited(chain, now)}
        other = next((name for name in chain if name not in limited), None)
        if other is not None:
            self.run.notice("warning", f"{item_id} {phase}: {agent} met a usage limit "
                                       f"({pause.reason}); until it resets at "
                                       f"{clock_time(pause.resumes_at, now)} its attempts go "
                                       f"to {other}")
