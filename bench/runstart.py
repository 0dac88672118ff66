"""`run_start_ms`, and the run's costs at 100, 1,000 and 10,000 items.

`run_start_ms`: from spawning `orchestrate run --json-events` (one ready item, the
scripted agent answering at once) to its first attempt's PhaseStarted, whose `at` is
wall-clock time stamped just after the agent's spawn. What a person waits for between
pressing Enter and an agent working: the interpreter, our imports, the config, the
backlog read, the run's records, the first prompt and the spawn.

`sized_project` makes the same one-item run inside a backlog of N items, so the curve
shows what grows with the backlog's size: the start (reading BACKLOG.yaml) and each
phase (every answer is a transaction on the whole file, and a checkpoint commits it).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
from pathlib import Path

from bench.common import write_backlog
from bench.figures import AGENT, GIT_ENV, Figure, Plan, timed_run

SIZED_TARGET = "WRK-003"
"""A ready item of bench/common.py's generated backlog that depends on nothing."""


def sized_project(root: Path, n: int) -> str:
    """A git project whose BACKLOG.yaml has `n` items (bench/common.py's), the scripted
    agent, no pacing. Returns the id of the ready item a run should take."""
    if root.exists():
        shutil.rmtree(root)
    write_backlog(root, n)
    (root / "orchestrate.toml").write_text(
        f"[agent]\ncommand = {json.dumps(AGENT)}\n[run]\ncooldown_s = 0\nbackoff_s = 0\n")
    (root / ".gitignore").write_text(".orchestrator/\n")
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "start"]):
        subprocess.run(["git", *args], cwd=root, check=True, env=env, capture_output=True)
    return SIZED_TARGET


def run_env(tmp: Path) -> dict[str, str]:
    """The environment of a bench run: the scripted agent answers `complete` at once."""
    script = tmp / "runstart-script.json"
    script.write_text('{"default": "complete"}')
    return {**os.environ, **GIT_ENV, "ORCHESTRATE_FAKE_SCRIPT": str(script), "NO_COLOR": "1"}


def first_attempt_s(root: Path, env: dict[str, str], target: str | None = None) -> float:
    """One `orchestrate run --json-events` (of `target` only, if given): process start ->
    its first PhaseStarted, in seconds; RuntimeError if the run did not end its item."""
    extra = ["--target", target] if target else []
    run = timed_run(root, env, extra)
    started = [e["at"] for e in run.events if e["type"] == "PhaseStarted"]
    done = [e for e in run.events if e["type"] == "ItemChanged" and e["status"] == "done"]
    if run.proc.returncode != 0 or not started or not done:
        raise RuntimeError(f"orchestrate run exit {run.proc.returncode}, "
                           f"{len(started)} attempts, {len(done)} items done: "
                           f"{(run.proc.stderr or run.proc.stdout).strip()[-300:]}")
    return float(min(started)) - run.spawned


def run_start(plan: Plan, tmp: Path) -> Figure:
    """The figure (module docstring): one ready item alone in its backlog."""
    from bench.figures import run_project

    env = run_env(tmp)
    root = tmp / "runstart"
    samples: list[float] = []
    for k in range(plan.warmup + max(plan.repeats, 5)):
        run_project(root)
        took = first_attempt_s(root, env)
        if k >= plan.warmup:
            samples.append(took)
    ms = sorted(s * 1000 for s in samples)
    return Figure(round(statistics.median(ms), 1),
                  "one ready item, scripted agent; spawn of `orchestrate run --json-events` "
                  "-> its first PhaseStarted (stamped just after the agent's spawn)",
                  [f"process start -> first attempt, {len(ms)} runs: "
                   f"{statistics.median(ms):.0f} ms ({ms[0]:.0f}-{ms[-1]:.0f})",
                   "imports alone: `python -X importtime -m app run --help` shows them"])


def sized_run(n: int, tmp: Path, repeats: int) -> tuple[list[float], list[float]]:
    """`repeats` runs of one item through its six phases inside a backlog of `n` items:
    (process start -> first attempt, whole run wall time), seconds each."""
    env = run_env(tmp)
    starts: list[float] = []
    walls: list[float] = []
    for _ in range(repeats):
        root = tmp / f"sized-{n}"
        target = sized_project(root, n)
        extra = ["--target", target]
        run = timed_run(root, env, extra)
        started = [e["at"] for e in run.events if e["type"] == "PhaseStarted"]
        if run.proc.returncode != 0 or not started:
            raise RuntimeError(f"orchestrate run at {n} items exit {run.proc.returncode}: "
                               f"{(run.proc.stderr or run.proc.stdout).strip()[-300:]}")
        starts.append(float(min(started)) - run.spawned)
        walls.append(run.wall_s)
    return starts, walls


def run_curve(tmp: Path, sizes: tuple[int, ...] = (100, 1000, 10_000),
              repeats: int = 3) -> list[str]:
    """Rows for RESULTS.md's scaling section: the run's start and a phase at each size."""
    from app.backlog.model import PHASES

    rows = []
    for n in sizes:
        starts, walls = sized_run(n, tmp, repeats)
        per_phase = [w / len(PHASES) for w in walls]
        rows.append(f"{n} items, one of them run through its six phases ({repeats} runs): "
                    f"process start -> first attempt {_ms(starts)}; a phase (run wall "
                    f"time / {len(PHASES)}) {_ms(per_phase)}")
    return rows


def _ms(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    return f"{statistics.median(ms):.0f} ms ({ms[0]:.0f}-{ms[-1]:.0f})"
