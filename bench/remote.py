"""`remote_overhead_ms`: what an attempt on a Ray cluster costs beyond the same attempt here.

One ready item walked through its six phases by `orchestrate run` (a real process, the
scripted agent answering at once, as phase_overhead_vs_floor), once with the default
local executor and once with `[executor] kind = "ray"` pointing at a local Ray cluster
(tests/ray_cluster.py: a head and two worker nodes on 127.0.0.1, up during both sides).
A Ray run always works in a lane (a git worktree, merged at the end), so the local run
gets one too (`[run] max_parallel = 2`, one item): the two projects differ in their
`[executor]` table only, and the difference is the remote part (the bundle there and
back, the scheduling, the clone and the runner's start on the worker, the driver's
connection to the cluster). Figure: (Ray run's wall time - local run's) / 6, in ms,
per alternating pair; the median of the pairs (min-max).

Beside it, from the runs' `--json-events`, on either side: an attempt's cycle (one
PhaseFinished to the item's next), and what a run pays once (the process's start to its
first attempt, its last event to its exit).
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import sys
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from bench.common import interleaved
from bench.figures import AGENT, GIT_ENV, REPO, Figure, Plan, run_project, timed_run

HELPER = REPO / "tests" / "ray_local.py"
"""The tests' local cluster (standard library only), which the bench starts too."""


def make_project(root: Path, script: Path, executor: str) -> None:
    """One ready item, the scripted agent (its script by --script: a worker does not get
    this process's environment), no pacing, a lane (`max_parallel = 2`), committed in
    git; `executor` is orchestrate.toml's `[executor]` table, or ''."""
    run_project(root, [*AGENT, "--script", str(script)], f"max_parallel = 2\n{executor}")


@dataclass(frozen=True)
class Run:
    """One `orchestrate run`: its wall time and what its events say."""

    wall_s: float
    cycles: list[float]
    """PhaseFinished -> the next PhaseFinished: one whole attempt after the first."""
    first_s: float
    """The process's start -> its first PhaseStarted."""
    exit_s: float
    """Its last event -> the process's exit."""


def run_once(root: Path, script: Path, executor: str, remote: bool,
             ray_env: dict[str, str]) -> Run:
    """A fresh project, then `orchestrate run --json-events` timed; RuntimeError unless the
    item ended done and merged, every attempt in the lane, where it was meant to run."""
    from app.backlog.model import PHASES

    make_project(root, script, executor)
    # ray_env (tests/ray_local.py's) on both sides: what reaching the cluster needs
    timed = timed_run(root, {**os.environ, **GIT_ENV, **ray_env, "NO_COLOR": "1"})
    proc, events = timed.proc, timed.events
    side = "on Ray" if remote else "local"
    done = any(e["type"] == "ItemChanged" and e.get("status") == "done" for e in events)
    merged = any(e["type"] == "Notice" and e["text"].startswith("WRK-001 merged into ")
                 for e in events)
    if proc.returncode != 0 or not done or not merged:
        raise RuntimeError(f"orchestrate run ({side}) exit {proc.returncode}, done "
                           f"{done}, merged {merged}: "
                           f"{(proc.stderr or proc.stdout).strip()[-300:]}")
    started = [e for e in events if e["type"] == "PhaseStarted"]
    finished = [e["at"] for e in events if e["type"] == "PhaseFinished"]
    astray = [e for e in started if not e.get("branch") or bool(e.get("node")) != remote]
    if len(started) != len(PHASES) or len(finished) != len(PHASES) or astray:
        raise RuntimeError(f"orchestrate run ({side}): {len(started)} attempts, "
                           f"{len(astray)} not in a lane or not where meant")
    return Run(timed.wall_s, [b - a for a, b in pairwise(finished)],
               started[0]["at"] - timed.spawned, timed.exited - events[-1]["at"])


def _show(samples: list[float]) -> str:
    """`98 ms (85-140)` from seconds."""
    ms = [s * 1000 for s in samples]
    return f"{statistics.median(ms):.0f} ms ({min(ms):.0f}-{max(ms):.0f})"


def remote_overhead(plan: Plan, tmp: Path) -> Figure:
    """The figure (module docstring)."""
    if importlib.util.find_spec("ray") is None:
        return Figure(None, "Ray is not installed: pip install 'orchestrate[ray]'")
    from app.backlog.model import PHASES
    from app.engine.worktrees import MIN_GIT, git_version

    version = git_version()
    if version is None or version < MIN_GIT:
        return Figure(None, f"lanes need git {MIN_GIT[0]}.{MIN_GIT[1]}+ (found "
                            f"{'none' if version is None else '.'.join(map(str, version))})")
    if not HELPER.is_file():
        return Figure(None, f"the tests' local cluster is missing: {HELPER}")
    sys.path.insert(0, str(HELPER.parent))
    from ray_local import RAY_ENV, LocalCluster

    script = tmp / "remote-script.json"
    script.write_text('{"default": "complete"}')
    try:
        cluster = LocalCluster(tmp / "ray")
    except RuntimeError as exc:
        return Figure(None, str(exc))
    try:
        executor = (f"[executor]\nkind = \"ray\"\naddress = {json.dumps(cluster.address)}\n"
                    "resources = { orchestrate = 1 }\n")
        local_runs: list[Run] = []
        ray_runs: list[Run] = []

        def local() -> float:
            local_runs.append(run_once(tmp / "remote-local", script, "", remote=False,
                                       ray_env=RAY_ENV))
            return local_runs[-1].wall_s

        def on_ray() -> float:
            ray_runs.append(run_once(tmp / "remote-ray", script, executor, remote=True,
                                     ray_env=RAY_ENV))
            return ray_runs[-1].wall_s

        # Alternating, warm-up pairs first (the cluster's first tasks start its workers).
        here, there = interleaved(local, on_ray, warmup=plan.warmup, repeats=plan.repeats)
    except RuntimeError as exc:
        return Figure(None, str(exc))
    finally:
        cluster.end()
    kept = len(here.samples)
    local_runs, ray_runs = local_runs[-kept:], ray_runs[-kept:]
    n = len(PHASES)
    per = [(b - a) / n for a, b in zip(here.samples, there.samples, strict=True)]
    value = round(statistics.median(per) * 1000, 1)
    how = (f"one ready item, six phases, agent answers at once; `orchestrate run` wall time "
           f"with `[executor] kind = \"ray\"` (local cluster on 127.0.0.1: head + 2 workers) "
           f"minus with the local executor, both in a lane (max_parallel = 2), / {n}; "
           f"median of {kept} alternating pairs")
    return Figure(value, how, [
        f"per attempt, (Ray run - local run) / {n}, {kept} pairs: "
        f"{_show(per)}",
        f"`orchestrate run`, local executor, in a lane: {here.show()}",
        f"`orchestrate run`, Ray executor: {there.show()}",
        f"an attempt's cycle (one PhaseFinished to the item's next): "
        f"{_show([c for r in local_runs for c in r.cycles])} local, "
        f"{_show([c for r in ray_runs for c in r.cycles])} on Ray",
        f"process start -> first PhaseStarted (on Ray: the driver's connection, then the "
        f"first bundle, clone and runner start, as a remote PhaseStarted comes once the "
        f"agent runs on the worker): "
        f"{_show([r.first_s for r in local_runs])} local, "
        f"{_show([r.first_s for r in ray_runs])} on Ray; last event -> exit "
        f"{_show([r.exit_s for r in local_runs])} local, "
        f"{_show([r.exit_s for r in ray_runs])} on Ray",
    ])
