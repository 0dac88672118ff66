"""`orchestrate agents`: every agent orchestrate.toml names, as a person checks them.

For each: its kind and command, whether its CLI is found and which version it says it is
(`CLI --version`, with the agent's env, asked of every agent at once), the phases it is
first for and its place in `[run] fallback`, until when it is limited (routing.py's
limits.json), and its attempts and cost: in the live run, and in the whole worklog.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.backlog.model import PHASES
from app.engine import worklog
from app.engine.config import AgentConfig, Config
from app.engine.limits import Pause
from app.engine.liverun import iso, live_run
from app.engine.project import Project
from app.engine.routing import load_limits
from app.structs import Struct

VERSION_TIMEOUT_S = 10.0
"""A CLI that has not said its version by then is shown without one."""


class Spend(Struct, frozen=True):
    attempts: int
    cost_usd: float
    limited: int
    """Attempts that met a usage limit."""

    def to_json(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "cost_usd": round(self.cost_usd, 6),
                "limited": self.limited}


class AgentFacts(Struct, frozen=True):
    """One agent; see the module docstring."""

    name: str
    kind: str
    command: tuple[str, ...]
    found: str | None
    """Where its CLI is (a path); None: not found."""
    version: str | None
    """The first line its `--version` printed, or None."""
    first_for: tuple[str, ...]
    """The phases (and `triage`) whose attempts go to it first."""
    fallback: int | None
    """Its place (1, 2, ...) in `[run] fallback`, or None."""
    max_parallel: int
    limited: Pause | None
    """While it is limited: until when, and the agent's words."""
    this_run: Spend | None
    """Its attempts in the run going on now; None: no run is going on."""
    total: Spend
    """Its attempts in the whole worklog."""

    def to_json(self) -> dict[str, Any]:
        limited = None
        if self.limited is not None:
            limited = {"until": iso(datetime.fromtimestamp(self.limited.resumes_at, UTC)),
                       "reason": self.limited.reason, "known_reset": self.limited.known_reset}
        return {"name": self.name, "kind": self.kind, "command": list(self.command),
                "cli": {"found": self.found, "version": self.version},
                "first_for": list(self.first_for), "fallback": self.fallback,
                "max_parallel": self.max_parallel, "limited": limited,
                "this_run": self.this_run.to_json() if self.this_run else None,
                "total": self.total.to_json()}


def roster(project: Project, config: Config, now: float | None = None
           ) -> list[AgentFacts]:
    """Every agent, `default` first; see the module docstring."""
    now = time.time() if now is None else now
    entries = worklog.read(project.worklog_path)
    run = live_run(project, entries=entries, spend=False, now=now)
    started = iso(run.started) if run is not None and run.started is not None else None
    limits = load_limits(project.limits_path)
    agents = list(config.agents.values())
    with ThreadPoolExecutor(max_workers=max(1, len(agents))) as pool:
        versions = list(pool.map(lambda agent: version_of(agent, project.root), agents))
    facts = []
    for agent, (found, version) in zip(agents, versions, strict=True):
        mine = [e for e in entries if _by(e, agent.name)]
        pause = limits.get(agent.name)
        fallback = config.run.fallback
        facts.append(AgentFacts(
            name=agent.name, kind=agent.kind, command=agent.command, found=found,
            version=version,
            first_for=tuple(p for p in (*PHASES, "triage") if config.chain(p)[0] == agent.name),
            fallback=fallback.index(agent.name) + 1 if agent.name in fallback else None,
            max_parallel=agent.max_parallel,
            limited=pause if pause is not None and pause.resumes_at > now else None,
            this_run=_spend([e for e in mine if str(e.get("start") or "") >= started])
            if started is not None else None,
            total=_spend(mine)))
    return facts


def _by(entry: dict[str, Any], name: str) -> bool:
    """Whether the attempt ran on agent `name` (an entry from before agents were recorded
    ran on the default one)."""
    return bool(entry.get("agent", "default") == name)


def _spend(entries: list[dict[str, Any]]) -> Spend:
    total = worklog.totals(entries)
    return Spend(total.attempts, total.cost_usd,
                 sum(1 for e in entries if e.get("outcome") == "limited"))


def version_of(agent: AgentConfig, cwd: Path) -> tuple[str | None, str | None]:
    """(where its CLI is, the first line of its `--version`), either None when not known."""
    program = agent.command[0]
    found = program if os.sep in program and os.access(program, os.X_OK) \
        else shutil.which(program) if os.sep not in program else None
    if found is None:
        return None, None
    # The CLI's own flags after a wrapper (`python -m app.demo.scripted_agent`, `npx`)
    # are not ours to guess: ask with the words before `{prompt}` and its flags.
    words = [w for w in agent.command if "{" not in w]
    head = words[:words.index("-p")] if "-p" in words else words[:1]
    try:
        proc = subprocess.Popen([*head, "--version"], cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env={**os.environ, **agent.env}, start_new_session=True)
    except OSError:
        return found, None
    try:
        out, _ = proc.communicate(timeout=VERSION_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # a group of its own: nothing of it stays
        proc.communicate()
        return found, None
    lines = [line.strip() for line in out.decode(errors="replace").splitlines() if line.strip()]
    return found, (lines[0][:80] if proc.returncode == 0 and lines else None)
