"""`fallback_switch_ms`: how long the night stops when one account runs out.

One ready item, two agents (`[run] fallback = ["default", "b"]`, both the scripted agent,
each with its own script): the default agent answers its first attempt with Claude
Code's usage-limit message (a reset two hours away), `b` completes every phase. A real
`orchestrate run --json-events` records the limit, routes the item's next attempt to `b`
and walks it through its six phases. Figure: the limited attempt's PhaseFinished -> the
next PhaseStarted (stamped just after `b`'s agent was spawned), in ms, the median over
fresh runs (one switch each: the default agent stays out until its reset).

Beside it, from the same runs: a step between two completed phases (PhaseFinished ->
the next phase's PhaseStarted, with its checkpoint commit between), what the switch is
held against, and that every run ended with the item done and every later attempt on `b`.
"""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

from bench.common import Stats
from bench.figures import AGENT, GIT_ENV, Figure, Plan, run_project, timed_run

RESETS_IN_S = 7200
"""The limit's reset: far beyond the run, so the default agent is never tried again."""


def make_project(root: Path, scripts: Path) -> None:
    """The item, the limited default agent and `b` (scripts by --script: one environment)."""
    limited, complete = scripts / "limited.json", scripts / "complete.json"
    limited.write_text(json.dumps({"default": {"mode": "usage_limit",
                                               "resets_in": RESETS_IN_S}}))
    complete.write_text(json.dumps({"default": "complete"}))

    def agent(script: Path) -> list[str]:
        return [*AGENT[:3], "--script", str(script), *AGENT[3:]]

    run_project(root, agent(limited), f'fallback = ["default", "b"]\n[agents.b]\n'
                f'kind = "claude"\ncommand = {json.dumps(agent(complete))}\n')


def gaps(events: list[dict[str, object]]) -> tuple[float, list[float]]:
    """(the switch, the steps between completed phases), in ms, from one run's events;
    ValueError when the run did not switch once and then finish on `b`."""
    started = [e for e in events if e.get("type") == "PhaseStarted"]
    finished = [e for e in events if e.get("type") == "PhaseFinished"]
    limited = [e for e in finished if e.get("outcome") == "limited"]
    if len(limited) != 1 or limited[0].get("agent") != "default":
        raise ValueError(f"expected one limited attempt on default, got {len(limited)}")
    if [e.get("agent") for e in started[1:]] != ["b"] * (len(started) - 1) or \
            [e.get("outcome") for e in finished[1:]] != ["complete"] * 6:
        raise ValueError("the item's later attempts did not all complete on b")
    at = [float(str(e["at"])) for e in started]
    done = [float(str(e["at"])) for e in finished]
    # finished[i] is followed by started[i + 1]: the switch first, then phase to phase.
    steps = [(at[i + 1] - done[i]) * 1000 for i in range(len(done) - 1)]
    return steps[0], steps[1:]


def fallback_switch(plan: Plan, tmp: Path) -> Figure:
    scripts = tmp / "fallback-scripts"
    scripts.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    env.pop("ORCHESTRATE_FAKE_SCRIPT", None)  # each agent's own script decides
    switches: list[float] = []
    steps: list[float] = []
    runs = (5 if plan.quick else 9) + plan.warmup
    for k in range(runs):
        root = tmp / "fallback"
        make_project(root, scripts)
        run = timed_run(root, env)
        if run.proc.returncode != 0:
            return Figure(None, f"orchestrate run failed ({run.proc.returncode}): "
                                f"{(run.proc.stderr or run.proc.stdout).strip()[-300:]}")
        try:
            switch, between = gaps(run.events)
        except ValueError as exc:
            return Figure(None, f"the run did not fall back as meant: {exc}")
        if k >= plan.warmup:
            switches.append(switch)
            steps.extend(between)
    switch_stats = Stats(tuple(s / 1000 for s in switches))
    step_stats = Stats(tuple(s / 1000 for s in steps))
    return Figure(round(statistics.median(switches), 1),
                  "one ready item; the default agent's first attempt meets a usage limit "
                  "(reset in 2 h), `[run] fallback` sends the next to agent b; limited "
                  "PhaseFinished -> b's PhaseStarted, from --json-events",
                  [f"the switch, {len(switches)} runs: {switch_stats.show()}",
                   f"a step between two completed phases (its checkpoint commit between), "
                   f"the same runs: {step_stats.show()}"])
