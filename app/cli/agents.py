"""`orchestrate agents`: each agent orchestrate.toml names, and how it stands (roster.py)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from app import exitcodes
from app.cli.terminal import colour_on, paint, shown
from app.engine.limits import clock_time
from app.engine.project import Project
from app.engine.roster import AgentFacts, Spend, roster
from app.engine.worklog import money


def cmd_agents(args: argparse.Namespace, project: Project) -> int:
    """List the agents; exit 1 when the CLI of one is not found (as a run would refuse)."""
    facts = roster(project, project.config())
    if args.json:
        json.dump({"agents": [fact.to_json() for fact in facts]}, sys.stdout,
                  ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        on = colour_on(sys.stdout)
        now = time.time()
        width = max(len(fact.name) for fact in facts)
        for fact in facts:
            sys.stdout.write("\n".join(_lines(fact, width, now, on)) + "\n")
    return exitcodes.OK if all(fact.found for fact in facts) else exitcodes.ERROR


def _lines(fact: AgentFacts, width: int, now: float, on: bool) -> list[str]:
    """`codex  codex  codex-cli 0.169.0 (/usr/bin/codex)`, then what it is for, its limit
    and its spend, indented."""
    if fact.found is None:
        cli = paint(f"{fact.command[0]} not found", "red", on)
    else:
        cli = f"{fact.version or 'version unknown'} ({fact.found})"
    lines = [f"{paint(fact.name.ljust(width), 'bold', on)}  {fact.kind:<8} {shown(cli)}"]
    pad = " " * (width + 2)
    uses = []
    if fact.first_for:
        uses.append("first for " + " ".join(fact.first_for))
    if fact.fallback is not None:
        uses.append(f"fallback {fact.fallback}")
    if fact.max_parallel:
        uses.append(f"{fact.max_parallel} at once")
    lines.append(pad + (" · ".join(uses) if uses else "not used: no phase names it and "
                                                      "[run] fallback does not"))
    if fact.limited is not None:
        guess = "" if fact.limited.known_reset else " (a guess: it tries again then)"
        lines.append(pad + paint(f"limited until {clock_time(fact.limited.resumes_at, now)}"
                                 f"{guess}: {shown(fact.limited.reason)}", "yellow", on))
    spend = f"in all: {_spend(fact.total)}"
    if fact.this_run is not None:
        spend = f"this run: {_spend(fact.this_run)} · {spend}"
    lines.append(pad + spend)
    return lines


def _spend(spend: Spend) -> str:
    limited = f" ({spend.limited} limited)" if spend.limited else ""
    return (f"{spend.attempts} attempt{'s' if spend.attempts != 1 else ''}{limited}, "
            f"{money(spend.cost_usd)}")
