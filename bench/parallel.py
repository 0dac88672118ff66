"""`parallel_speedup_4`: the same backlog run one item at a time and four at once.

Eight independent ready items, the scripted agent answering `complete` after 1.0 s in
every phase, a real git repository: the wall time of `orchestrate run` (a real process)
with `[run] max_parallel = 1` divided by the same with `max_parallel = 4`, both with
`cooldown_s = 0` and `backoff_s = 0` so the ratio measures the lanes, not the pacing.
Ideal: 4.0 (two waves of four items instead of eight items in a row).

Beside it, from the run's own events (`--json-events`, epoch time stamps): what a lane
adds at its end (the review attempt's end to the item's "merged" notice, split into the
review's checkpoint commit, the merge, and the tidying), and the fixed costs every run
pays once (process start to the first attempt, the last event to the exit).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from bench.figures import AGENT, GIT_ENV, Figure, Plan, timed_run

ITEMS = 8
WIDTH = 4
PHASE_S = 1.0
"""The agent's time per phase; `--items N` scales it down for a quick check."""


@dataclass(frozen=True)
class RunTiming:
    """One `orchestrate run`: its wall time, the events it printed, and the agents' own
    time stamps (the scripted agent's `record` option)."""

    wall_s: float
    spawned_at: float
    """Epoch seconds just before the process was started."""
    exited_at: float
    events: list[dict[str, Any]]
    agent_start: list[float]
    """Per attempt: PhaseStarted (stamped just after the spawn) -> the agent's script
    running (interpreter up, modules imported)."""
    agent_end: list[float]
    """Per attempt: the agent's last act (its result written) -> PhaseFinished."""


def phase_seconds(plan: Plan) -> float:
    """1.0 s; with `--items N`, N/1000 s (at least 0.1), as the log figures scale."""
    return PHASE_S if plan.items is None else min(PHASE_S, max(0.1, plan.items / 1000))


def make_project(root: Path, width: int) -> None:
    """ITEMS independent ready items, the scripted agent, no pacing, committed in git."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    items = "".join(f"  - id: WRK-{i:03d}\n    title: Independent item {i}\n"
                    "    status: ready\n    size: small\n    complexity: low\n    risk: low\n"
                    for i in range(1, ITEMS + 1))
    (root / "BACKLOG.yaml").write_text(
        f"schema_version: 1\nprefix: WRK\nnext_id: {ITEMS + 1}\nitems:\n{items}")
    (root / "orchestrate.toml").write_text(
        f"[agent]\ncommand = {json.dumps(AGENT)}\n"
        f"[run]\ncooldown_s = 0\nbackoff_s = 0\nmax_parallel = {width}\n")
    (root / ".gitignore").write_text(".orchestrator/\n")
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "start"]):
        subprocess.run(["git", *args], cwd=root, check=True, env=env, capture_output=True)


def run_once(root: Path, width: int, phase_s: float) -> RunTiming:
    """A fresh project, then `orchestrate run --json-events` timed; RuntimeError unless
    every item ended done (and, with lanes, merged)."""
    make_project(root, width)
    record = root.parent / f"{root.name}-record"
    shutil.rmtree(record, ignore_errors=True)
    script = root.parent / f"{root.name}-script.json"
    script.write_text(json.dumps({"default": {"mode": "complete", "sleep": phase_s,
                                              "record": str(record)}}))
    env = {**os.environ, **GIT_ENV, "ORCHESTRATE_FAKE_SCRIPT": str(script), "NO_COLOR": "1",
           "ORCHESTRATE_FAKE_SPEED": "1"}
    timed = timed_run(root, env)
    proc, events = timed.proc, timed.events
    done = {e["item_id"] for e in events
            if e["type"] == "ItemChanged" and e["status"] == "done"}
    if proc.returncode != 0 or len(done) != ITEMS:
        raise RuntimeError(f"orchestrate run (max_parallel = {width}) exit "
                           f"{proc.returncode}, {len(done)} of {ITEMS} items done: "
                           f"{(proc.stderr or proc.stdout).strip()[-300:]}")
    if width > 1:
        merged = [e for e in events if any(_merged(e, f"WRK-{i:03d}")
                                           for i in range(1, ITEMS + 1))]
        unlaned = [e for e in events if e["type"] == "PhaseStarted" and not e.get("branch")]
        if len(merged) != ITEMS or unlaned:
            raise RuntimeError(f"max_parallel = {width} did not run in lanes: "
                               f"{len(merged)} merges, {len(unlaned)} attempts in the "
                               "main checkout")

    def stamp(event: dict[str, Any], what: str) -> float:
        return float((record / f"{event['item_id']}_{event['phase']}.{what}").read_text())

    # Every attempt completes at once, so each item and phase has exactly one of each.
    starts = [stamp(e, "start") - e["at"] for e in events if e["type"] == "PhaseStarted"]
    ends = [e["at"] - stamp(e, "end") for e in events if e["type"] == "PhaseFinished"]
    return RunTiming(timed.wall_s, timed.spawned, timed.exited, events, starts, ends)


def _notice(event: dict[str, Any], words: str) -> bool:
    return event["type"] == "Notice" and words in event["text"]


def _merged(event: dict[str, Any], item: str) -> bool:
    """lanes.py's "WRK-001 merged into main at 5c17de7b95ab"."""
    if event["type"] != "Notice":
        return False
    text: str = event["text"]
    return text.startswith(f"{item} merged into ")


@dataclass(frozen=True)
class LaneEnd:
    """Where the time goes at the end of one lane, in seconds."""

    total: float
    """The review attempt's end to the item's "merged" notice."""
    checkpoint: float
    """The review attempt's end to its checkpoint commit on the lane's branch."""
    merge: float
    """The checkpoint to the item's `done` (waiting for the git lock, merge-tree,
    fast-forward, BACKLOG.yaml's transaction)."""
    tidy: float
    """`done` to the "merged" notice (BACKLOG.yaml's commit, the worktree and branch
    removed)."""


def lane_ends(events: list[dict[str, Any]]) -> list[LaneEnd]:
    """One LaneEnd per merged item of a run with lanes."""
    out = []
    for i in range(1, ITEMS + 1):
        item = f"WRK-{i:03d}"
        review = _first(e["at"] for e in events if e["type"] == "PhaseFinished"
                        and e["item_id"] == item and e["phase"] == "review"
                        and e["outcome"] == "complete")
        checkpoint = _first(e["at"] for e in events if _notice(e, f"[{item}][REVIEW]"))
        done = _first(e["at"] for e in events if e["type"] == "ItemChanged"
                      and e["item_id"] == item and e["status"] == "done")
        merged = _first(e["at"] for e in events if _merged(e, item))
        out.append(LaneEnd(merged - review, checkpoint - review, done - checkpoint,
                           merged - done))
    return out


def _first(values: Iterable[float]) -> float:
    for value in values:
        return float(value)
    raise RuntimeError("an event the figure needs is missing from the run's events")


def fixed_costs(run: RunTiming) -> tuple[float, float]:
    """(process start to the first attempt, the last event to the process's exit)."""
    first = min(e["at"] for e in run.events if e["type"] == "PhaseStarted")
    return first - run.spawned_at, run.exited_at - run.events[-1]["at"]


def item_spans(run: RunTiming) -> list[float]:
    """Each item's time from `in_progress` to its end (`done`, or with lanes the "merged"
    notice): six phases of the agent's time plus what the engine adds."""
    spans = []
    for i in range(1, ITEMS + 1):
        item = f"WRK-{i:03d}"
        start = _first(e["at"] for e in run.events if e["type"] == "ItemChanged"
                       and e["item_id"] == item and e["status"] == "in_progress")
        end = max(e["at"] for e in run.events
                  if (e["type"] == "ItemChanged" and e["item_id"] == item
                      and e["status"] == "done") or _merged(e, item))
        spans.append(end - start)
    return spans


def between_phases(run: RunTiming) -> list[float]:
    """PhaseFinished -> the item's next PhaseStarted: the answer applied to BACKLOG.yaml,
    the checkpoint commit, the next prompt and spawn."""
    gaps = []
    for i in range(1, ITEMS + 1):
        item = f"WRK-{i:03d}"
        mine = [e for e in run.events if e.get("item_id") == item
                and e["type"] in ("PhaseStarted", "PhaseFinished")]
        gaps += [b["at"] - a["at"] for a, b in pairwise(mine)
                 if a["type"] == "PhaseFinished"]
    return gaps


def _show(samples: list[float], unit: str = "s") -> str:
    """`55.5 s (55.1-56.0)` or `98 ms (85-140)`."""
    if unit == "ms":
        ms = [s * 1000 for s in samples]
        return f"{statistics.median(ms):.0f} ms ({min(ms):.0f}-{max(ms):.0f})"
    return f"{statistics.median(samples):.1f} s ({min(samples):.1f}-{max(samples):.1f})"


def parallel_speedup(plan: Plan, tmp: Path) -> Figure:
    """The figure (module docstring)."""
    from app.backlog.model import PHASES
    from app.engine.worktrees import MIN_GIT, git_version

    version = git_version()
    if version is None or version < MIN_GIT:
        return Figure(None, f"lanes need git {MIN_GIT[0]}.{MIN_GIT[1]}+ (found "
                            f"{'none' if version is None else '.'.join(map(str, version))})")
    phase_s = phase_seconds(plan)
    # Each pair takes ~70 s at 1.0 s a phase: three pairs, not the usual five or more.
    pairs = 1 if plan.quick else 3
    if not plan.quick:  # a warm-up: the cheap side only
        run_once(tmp / "parallel-warm", WIDTH, phase_s)
    one: list[RunTiming] = []
    four: list[RunTiming] = []
    eight: list[RunTiming] = []  # the curve's third point: every item in a lane of its own
    for _ in range(pairs):  # alternating, so both sides see the same machine load
        one.append(run_once(tmp / "parallel-1", 1, phase_s))
        four.append(run_once(tmp / f"parallel-{WIDTH}", WIDTH, phase_s))
        if not plan.quick:
            eight.append(run_once(tmp / f"parallel-{ITEMS}", ITEMS, phase_s))
    seq = [r.wall_s for r in one]
    par = [r.wall_s for r in four]
    value = round(statistics.median(seq) / statistics.median(par), 3)
    ends = [end for run in four for end in lane_ends(run.events)]
    phases = len(PHASES) * ITEMS
    scaled = "" if phase_s == PHASE_S else f" (scaled down by --items {plan.items})"
    how = (f"{ITEMS} independent items, agent {phase_s:g} s a phase{scaled}, real git; "
           f"`orchestrate run` wall time, max_parallel 1 / {WIDTH}; {pairs} alternating "
           f"pair{'s' if pairs > 1 else ''}; merge overhead = review attempt's end -> "
           "\"merged\" notice, from --json-events")

    def both(measure: Callable[[RunTiming], list[float]], unit: str = "ms") -> str:
        alone = [x for r in one for x in measure(r)]
        beside = [x for r in four for x in measure(r)]
        return f"{_show(alone, unit)} alone, {_show(beside, unit)} in {WIDTH} lanes"

    per_phase = statistics.median(seq) / phases * 1000
    return Figure(value, how, [
        f"`orchestrate run`, max_parallel = 1: {_show(seq)}, {per_phase:.0f} ms a phase "
        f"(whole run / {phases})",
        f"`orchestrate run`, max_parallel = {WIDTH}: {_show(par)} (ideal: the first / {WIDTH})",
        f"merge overhead per item (review attempt's end -> \"merged\" notice, "
        f"{len(ends)} items): {_show([e.total for e in ends], 'ms')}; of which the review's "
        f"checkpoint commit {_show([e.checkpoint for e in ends], 'ms')}, the merge (git "
        f"lock, merge-tree, fast-forward, item done) {_show([e.merge for e in ends], 'ms')}, "
        f"BACKLOG.yaml's commit and the worktree and branch removed "
        f"{_show([e.tidy for e in ends], 'ms')}",
        f"one item, in progress -> done, or merged in a lane "
        f"({len(PHASES) * phase_s:g} s of agent time): {both(item_spans, 's')}",
        f"an attempt's edges: PhaseStarted (stamped just after the spawn) -> the agent's "
        f"script running "
        f"{both(lambda r: r.agent_start)}; its result written -> PhaseFinished "
        f"{both(lambda r: r.agent_end)}",
        f"between an item's phases (answer applied, checkpoint commit, next spawn): "
        f"{both(between_phases)}",
        *([f"`orchestrate run`, max_parallel = {ITEMS} (one wave, ideal: the first / "
           f"{ITEMS}): {_show([r.wall_s for r in eight])}, speedup "
           f"{statistics.median(seq) / statistics.median([r.wall_s for r in eight]):.2f}; "
           f"an attempt's start {_show([x for r in eight for x in r.agent_start], 'ms')}, "
           f"between phases {_show([x for r in eight for x in between_phases(r)], 'ms')}"]
          if eight else []),
        f"paid once by every run: process start -> first attempt "
        f"{_show([fixed_costs(r)[0] for r in one + four], 'ms')}; last event -> exit "
        f"{_show([fixed_costs(r)[1] for r in one + four], 'ms')}",
    ])
