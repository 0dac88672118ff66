"""The figures: each a ratio (or a rate) measured side by side in one run on generated data."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.common import CACHE, Stats, interleaved, write_backlog

BACKLOG_MD_VERSION = "1.52.0"
REPO = Path(__file__).resolve().parents[1]
CACHE_ENV = "ORCHESTRATE_CACHE_DIR"
"""app/backlog/cache.py's folder; empty turns the kept snapshots off."""


@dataclass
class Figure:
    """One measured figure: a number, or None with the reason."""

    value: float | None
    note: str = ""
    """Why the value is None, or how it was measured."""
    detail: list[str] = field(default_factory=list)
    """Lines for the table: the two sides with median (min-max)."""


@dataclass(frozen=True)
class Plan:
    """How hard to measure."""

    warmup: int
    repeats: int
    items: int | None
    """Override of every size (`--items N`)."""
    quick: bool

    def size(self, default: int) -> int:
        return self.items or default


def ratio(a: Stats, b: Stats) -> float:
    return round(a.median / b.median, 3)


# --- status vs Backlog.md ---------------------------------------------------------------------
def orchestrate_argv() -> list[str]:
    exe = shutil.which("orchestrate")
    return [exe] if exe else [sys.executable, "-m", "app"]


@dataclass(frozen=True)
class TimedRun:
    """One `orchestrate run --json-events`: the process, its wall time and events."""

    proc: subprocess.CompletedProcess[str]
    wall_s: float
    spawned: float
    """Wall-clock time of the spawn (the events' `at` is wall-clock time too)."""
    exited: float
    events: list[dict[str, Any]]


def timed_run(root: Path, env: dict[str, str], extra: list[str] | None = None) -> TimedRun:
    """`orchestrate run --json-events [extra...]` in `root`, timed, its events parsed."""
    spawned = time.time()
    t0 = time.perf_counter()
    proc = subprocess.run([*orchestrate_argv(), "run", "--json-events", *(extra or [])],
                          cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    exited = time.time()
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return TimedRun(proc, wall, spawned, exited, events)


def backlog_md() -> tuple[Path | None, str]:
    """The `backlog` command of the npm package backlog.md, installed into bench/.cache/."""
    prefix = CACHE / "npm"
    exe = prefix / "node_modules" / ".bin" / "backlog"
    if exe.exists():
        return exe, ""
    if os.environ.get("ORCHESTRATE_BENCH_NO_INSTALL"):
        return None, ("Backlog.md is not installed in bench/.cache/npm and installing was "
                      "turned off (ORCHESTRATE_BENCH_NO_INSTALL)")
    npm = shutil.which("npm")
    if npm is None:
        return None, "npm is not installed, so Backlog.md (npm package backlog.md) cannot be"
    prefix.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                           f"backlog.md@{BACKLOG_MD_VERSION}"], capture_output=True, text=True,
                          timeout=180)
    if proc.returncode != 0 or not exe.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return None, f"npm install backlog.md@{BACKLOG_MD_VERSION} failed: {tail[0]}"
    return exe, ""


def backlog_md_project(exe: Path, root: Path, n: int) -> str:
    """A Backlog.md project of `n` tasks: `backlog init` by its CLI, task files in its format
    (as `backlog task create` writes them, checked against 1.52.0). Returns an error or ''."""
    root.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([str(exe), "init", "bench", "--defaults", "--integration-mode", "none",
                           "--check-branches", "false", "--include-remote", "false", "--no-git"],
                          cwd=root, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    tasks = root / "backlog" / "tasks"
    if proc.returncode != 0 or not tasks.is_dir():
        return f"backlog init failed: {(proc.stderr or proc.stdout).strip()[-200:]}"
    statuses = ("To Do", "In Progress", "Done")
    for i in range(1, n + 1):
        title = f"Item number {i} with a reasonably long title"
        slug = title.replace(" ", "-")
        (tasks / f"task-{i} - {slug}.md").write_text(
            f"---\nid: TASK-{i}\ntitle: {title}\nstatus: {statuses[i % 3]}\nassignee: []\n"
            f"created_date: '2026-11-24 10:00'\nlabels: []\ndependencies: []\n"
            f"ordinal: {i * 1000}\n---\n\n## Description\n\n"
            f"<!-- SECTION:DESCRIPTION:BEGIN -->\nDescription of item {i}.\n"
            f"<!-- SECTION:DESCRIPTION:END -->\n", encoding="utf-8")
    listed = 0
    for _ in range(3):  # at 10,000 tasks its first listing sometimes misses some (~2 %)
        check = subprocess.run([str(exe), "task", "list", "--plain"], cwd=root,
                               capture_output=True, text=True, timeout=300)
        listed = sum(1 for line in check.stdout.splitlines() if "TASK-" in line)
        if check.returncode == 0 and listed == n:
            return ""
    return f"backlog task list --plain listed {listed} of {n} generated tasks"


def status_vs_backlogmd(plan: Plan, tmp: Path) -> Figure:
    n = plan.size(1000)
    exe, why = backlog_md()
    if exe is None:
        return Figure(None, why)
    err = backlog_md_project(exe, tmp / "backlogmd", n)
    if err:
        return Figure(None, err)
    write_backlog(tmp / "orch", n)
    ours = [*orchestrate_argv(), "status"]
    env = {**os.environ, "NO_COLOR": "1"}

    def orchestrate() -> None:
        subprocess.run(ours, cwd=tmp / "orch", stdout=subprocess.DEVNULL, check=True, env=env)

    def theirs() -> None:
        subprocess.run([str(exe), "task", "list", "--plain"], cwd=tmp / "backlogmd",
                       stdout=subprocess.DEVNULL, check=True, env=env)

    cold_env = {**env, CACHE_ENV: ""}  # no snapshot: the first read after an edit by hand

    def orchestrate_cold() -> None:
        subprocess.run(ours, cwd=tmp / "orch", stdout=subprocess.DEVNULL, check=True,
                       env=cold_env)

    a, b = interleaved(orchestrate, theirs, warmup=plan.warmup, repeats=plan.repeats)
    cold, b2 = interleaved(orchestrate_cold, theirs, warmup=plan.warmup, repeats=plan.repeats)
    return Figure(ratio(a, b), f"{n} items; Backlog.md {BACKLOG_MD_VERSION} via npm",
                  [f"`orchestrate status` ({n} items): {a.show()}",
                   f"`backlog task list --plain` ({n} tasks): {b.show()}",
                   f"without a kept snapshot (first read after an edit by hand): {cold.show()}, "
                   f"{ratio(cold, b2)}x"])


# --- one-item update vs PyYAML C load + dump --------------------------------------------------
def update_vs_pyyaml(plan: Plan, tmp: Path, default_n: int) -> Figure:
    from app.backlog.store import BacklogStore

    n = plan.size(default_n)
    path = write_backlog(tmp / f"upd{n}", n)
    store = BacklogStore(path)
    store.load()  # warm: the board and a pipeline keep their store
    target = f"WRK-{n // 2:03d}"
    flip = iter(range(10**9))

    def update() -> None:
        with store.transaction() as tx:
            tx.set(target, status="ready" if next(flip) % 2 else "scoped")

    def pyyaml() -> None:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True)

    a, b = interleaved(update, pyyaml, warmup=plan.warmup, repeats=plan.repeats)
    return Figure(ratio(a, b), f"{n} items, warm in-process store",
                  [f"store transaction setting one field, atomic write ({n} items): {a.show()}",
                   f"PyYAML CSafeLoader load + CSafeDumper dump ({n} items): {b.show()}"])


# --- board: process start to first frame with cards -------------------------------------------
def board_paint(plan: Plan, tmp: Path, default_n: int = 1000) -> Figure:
    try:
        import app.ui.app  # noqa: F401
    except ImportError as exc:
        return Figure(None, f"the board (app/ui/app.py) is not importable: {exc}")
    n = plan.size(default_n)
    root = tmp / f"paint-{n}"
    write_backlog(root, n)

    def child(mode: str, env: dict[str, str] | None = None) -> Callable[[], float]:
        def go() -> float:
            started = time.monotonic_ns()
            out = subprocess.run([sys.executable, "-m", "bench.paint", mode, str(root)],
                                 cwd=REPO, capture_output=True, text=True, timeout=120,
                                 env=env)
            said = out.stdout.split()
            if out.returncode != 0 or len(said) != 2 or said[0] != "painted":
                last = (out.stderr.strip().splitlines() or ["no output"])[-1]
                raise RuntimeError(f"bench.paint {mode} failed: {last[-300:]}")
            return (int(said[1]) - started) / 1e9  # process start -> first frame
        return go

    cold_env = {**os.environ, CACHE_ENV: ""}  # no snapshot: the first open after an edit
    try:
        a, b = interleaved(child("board"), child("bare"), warmup=plan.warmup,
                           repeats=plan.repeats)
        cold, b2 = interleaved(child("board", cold_env), child("bare"), warmup=plan.warmup,
                               repeats=plan.repeats)
    except RuntimeError as exc:
        return Figure(None, str(exc))
    return Figure(ratio(a, b), f"{n} items, headless 160x50, to the first frame",
                  [f"board: process start -> first frame with cards ({n} items): {a.show()}",
                   f"bare Textual app with one Label: {b.show()}",
                   f"board without a kept snapshot (first open after an edit by hand): "
                   f"{cold.show()}, {ratio(cold, b2)}x"])


# --- phase overhead of `orchestrate run` ------------------------------------------------------
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@invalid"}
AGENT = [sys.executable, "-m", "app.demo.scripted_agent", "-p", "{prompt}"]


def run_project(root: Path, agent: list[str] = AGENT, run_extra: str = "") -> None:
    """One ready item, the scripted agent (`agent`), no pacing, committed in git;
    `run_extra`: more lines after `[run]`'s (more tables too)."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / "BACKLOG.yaml").write_text(
        "schema_version: 1\nprefix: WRK\nnext_id: 2\nitems:\n  - id: WRK-001\n"
        "    title: Add a health endpoint\n    status: ready\n    size: small\n"
        "    complexity: low\n    risk: low\n")
    (root / "orchestrate.toml").write_text(
        f"[agent]\ncommand = {json.dumps(agent)}\n[run]\ncooldown_s = 0\nbackoff_s = 0\n"
        f"{run_extra}")
    (root / ".gitignore").write_text(".orchestrator/\n")
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "start"]):
        subprocess.run(["git", *args], cwd=root, check=True, env=env, capture_output=True)


def phase_overhead(plan: Plan, tmp: Path) -> Figure:
    try:
        import app.demo.scripted_agent
        import app.engine.pipeline  # noqa: F401 (only: is the engine importable?)
    except ImportError as exc:
        return Figure(None, f"the engine is not importable yet: {exc}")
    if shutil.which("git") is None:
        return Figure(None, "git is not installed (the floor includes a git commit)")
    from app.backlog.atomic import atomic_write
    from app.backlog.model import PHASES

    script = tmp / "script.json"
    script.write_text('{"default": "complete"}')
    env = {**os.environ, **GIT_ENV, "ORCHESTRATE_FAKE_SCRIPT": str(script), "NO_COLOR": "1"}
    root = tmp / "run"
    runs: list[float] = []

    def whole_run() -> None:
        run_project(root)
        import time

        t0 = time.perf_counter()
        proc = subprocess.run([*orchestrate_argv(), "run", "--target", "WRK-001", "--quiet"],
                              cwd=root, env=env, capture_output=True, text=True, timeout=300)
        runs.append(time.perf_counter() - t0)
        item = subprocess.run([*orchestrate_argv(), "show", "WRK-001", "--json"], cwd=root,
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0 or '"status": "done"' not in item.stdout:
            raise RuntimeError(f"orchestrate run failed ({proc.returncode}): "
                               f"{(proc.stderr or proc.stdout).strip()[-300:]}")

    floor_root = tmp / "floor"
    counter = iter(range(10**9))
    repeats = 5 if plan.quick else 11

    def floor() -> None:
        k = next(counter)
        if k == 0 or not floor_root.exists():
            run_project(floor_root)
        results = floor_root / ".orchestrator" / "results"
        results.mkdir(parents=True, exist_ok=True)
        agent_env = {**env, "ORCHESTRATE_RESULT_FILE": str(results / f"WRK-001_prd_{k}.json"),
                     "ORCHESTRATE_ITEM_ID": "WRK-001", "ORCHESTRATE_PHASE": "prd",
                     "ORCHESTRATE_ATTEMPT": str(k + 1),
                     "ORCHESTRATE_CHANGE_DIR": "changes/WRK-001_add-a-health-endpoint"}
        argv = [a.replace("{prompt}", "Write the PRD for WRK-001") for a in AGENT]
        subprocess.run(argv, cwd=floor_root, env=agent_env, stdout=subprocess.DEVNULL,
                       check=True)
        atomic_write(floor_root / "BACKLOG.yaml",
                     (floor_root / "BACKLOG.yaml").read_bytes() + f"# {k}\n".encode())
        subprocess.run(["git", "add", "-A"], cwd=floor_root, env=env, check=True)
        subprocess.run(["git", "commit", "-q", "-m", f"[WRK-001][PRD] {k}"], cwd=floor_root,
                       env=env, check=True, stdout=subprocess.DEVNULL)

    try:
        # Alternating: one whole run (six phases), then one floor sample, so both see the
        # same machine load. A whole run is ~0.6 s and swings by ~15 % on a busy machine:
        # eleven of them (five in a quick run), plus a warm-up.
        _, fl = interleaved(whole_run, floor, warmup=min(plan.warmup, 1), repeats=repeats)
    except RuntimeError as exc:
        return Figure(None, str(exc))
    per_phase = Stats(tuple(r / len(PHASES) for r in runs[-repeats:]))
    return Figure(ratio(per_phase, fl), "one ready item through the six phases, agent "
                  "answers at once; run wall time / 6",
                  [f"`orchestrate run`, per phase (whole run / {len(PHASES)}): "
                   f"{per_phase.show()}",
                   f"floor: spawn the agent + one fsync'd write + git add/commit: {fl.show()}"])


# --- board figures (Pilot) --------------------------------------------------------------------
BOARD_FIGURES = ("reload_ms", "log_lines_per_s", "log_key_p99_ms", "log_key_p99_ms_4_lanes",
                 "log_rss_growth_mb")


def limit_resume(plan: Plan, tmp: Path) -> Figure:
    """How late after `resetsAt + resume_margin_s` a paused run starts its next attempt.

    A real run: the scripted agent prints Claude Code's three usage-limit lines with a
    reset a few seconds ahead, the pipeline pauses, and the repeat's PhaseStarted time is
    compared with the reset it waited for."""
    sys.path.insert(0, str(REPO / "tests"))
    from engine_helpers import make_project, ready  # the tests' project maker

    from app.engine.events import EventBus, PhaseStarted, RunPaused
    from app.engine.pipeline import Pipeline

    late: list[float] = []
    for n in range(2 if plan.quick else 5):
        project = make_project(tmp / f"limit-{n}", [ready()], run={"checkpoint": False},
                               limits={"resume_margin_s": 1},
                               script={"prd": {"1": {"mode": "usage_limit", "resets_in": 2},
                                               "*": "complete"}})
        bus = EventBus()
        seen: list[object] = []
        bus.subscribe(seen.append)
        Pipeline(project, bus, cap=1).run()
        (paused,) = [e for e in seen if isinstance(e, RunPaused)]
        repeat = [e for e in seen if isinstance(e, PhaseStarted)][1]
        late.append(repeat.at - paused.resumes_at)
    late.sort()
    median = late[len(late) // 2]
    return Figure(round(median, 3), f"{len(late)} pauses of ~3 s (reset in 2 s, margin 1 s)",
                  [f"next attempt after reset + margin: median {median * 1000:.0f} ms "
                   f"({late[0] * 1000:.0f}-{late[-1] * 1000:.0f})"])


def pilot(root: Path, lines: int, plan: Plan) -> dict[str, Figure]:
    """bench/pilot.py on the project `root` (LINES 0: the reload alone)."""
    argv = [sys.executable, "-m", "bench.pilot", str(root), str(lines),
            str(max(plan.repeats, 5)), str(plan.warmup)]
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=900)
    try:
        data = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"bench.pilot failed: {last[-300:]}") from None
    return {key: Figure(entry.get("value"), entry.get("note", ""), entry.get("detail", []))
            for key, entry in data.items()}


def board_figures(plan: Plan, tmp: Path) -> dict[str, Figure]:
    """The log figures on a board of 1,000 cards; `reload_ms` on one of 10,000."""
    try:
        import app.ui.app  # noqa: F401
    except ImportError as exc:
        return {k: Figure(None, f"the board (app/ui/app.py) is not importable: {exc}")
                for k in BOARD_FIGURES}
    n = plan.size(1000)
    root = tmp / "pilot"
    write_backlog(root, n)
    # The figure is defined for a million lines (~5 s); `--items N` scales it down.
    lines = 1_000_000 if plan.items is None else min(1_000_000, max(10_000, 1000 * plan.items))
    try:
        out = pilot(root, lines, plan)
    except RuntimeError as exc:
        return {k: Figure(None, str(exc)) for k in BOARD_FIGURES}
    small = out.pop("reload_ms", Figure(None, "not measured"))
    lanes = [out.pop(f"log_key_p99_ms_{k}_lanes", None) for k in (1, 8)]
    four = out.get("log_key_p99_ms_4_lanes")
    if four is not None:
        four.detail += [f"{k} lane{'s' if k > 1 else ''}: p99 {_show(fig)} ms; "
                        f"{'; '.join(fig.detail)}" for k, fig in zip((1, 8), lanes, strict=True)
                        if fig is not None]
    big_n = plan.size(10_000)
    big = tmp / "pilot-reload"
    write_backlog(big, big_n)
    try:
        reload = pilot(big, 0, plan)["reload_ms"]
    except (RuntimeError, KeyError) as exc:
        reload = Figure(None, f"{type(exc).__name__}: {exc}"[:300])
    reload.detail += [f"at {n} items: {d}" for d in small.detail]
    out["reload_ms"] = reload
    return {k: out.get(k) or Figure(None, "bench.pilot did not measure it")
            for k in BOARD_FIGURES}


def scaling(tmp: Path) -> Figure:
    """The side-by-side comparisons at 100, 1,000 and 10,000 items (full run only)."""
    from bench.runstart import run_curve

    rows = []
    for n in (100, 1000, 10_000):
        sized = Plan(warmup=1, repeats=5, items=n, quick=True)
        st = status_vs_backlogmd(sized, tmp / f"scale-status-{n}")
        up = update_vs_pyyaml(sized, tmp / f"scale-update-{n}", n)
        paint = board_paint(sized, tmp / f"scale-paint-{n}")
        rows.append(f"{n} items: status vs Backlog.md {_show(st)}; "
                    f"one-item update vs PyYAML C {_show(up)}; "
                    f"board's first frame vs a bare app {_show(paint)}")
        rows += [f"  {d}" for d in st.detail + up.detail + paint.detail]
        try:
            rows += [f"  {d}" for d in run_curve(tmp, (n,))]
        except RuntimeError as exc:
            rows.append(f"  a run at {n} items: not measured ({exc})")
    return Figure(None, "", rows)


def _show(fig: Figure) -> str:
    return f"{fig.value:g}" if fig.value is not None else f"null ({fig.note})"


def compile_sources() -> None:
    """Byte-compile our packages, as `pip install` does when it installs them.

    The children run from this checkout; where PYTHONDONTWRITEBYTECODE is set no
    `__pycache__` is ever written there, and every child would compile the board's
    modules from source again (~40 ms a start) -- a cost an installed orchestrate never
    pays. A checkout that cannot be written to is measured as it is.
    """
    import compileall

    for package in ("app", "widgets", "styles", "bench"):
        with contextlib.suppress(OSError):
            compileall.compile_dir(REPO / package, quiet=2)


def all_figures(plan: Plan, progress: Callable[[str], None],
                only: tuple[str, ...] | None = None) -> dict[str, Figure]:
    """Every figure (or those `only` names), in the order of the table."""
    from bench.fallback import fallback_switch
    from bench.logopen import log_open_vs_toolong
    from bench.parallel import parallel_speedup  # they build on this module
    from bench.remote import remote_overhead
    from bench.runstart import run_start

    figures: dict[str, Figure] = {}
    compile_sources()
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-") as name:
        tmp = Path(name)
        # Snapshots kept between processes (app/backlog/cache.py) go to a folder of this
        # run, for every child too: never the person's cache, never one from before.
        os.environ[CACHE_ENV] = str(tmp / "snapshot-cache")
        steps: list[tuple[str, Callable[[], Figure]]] = [
            ("status_1k_vs_backlogmd", lambda: status_vs_backlogmd(plan, tmp)),
            ("update_1k_vs_pyyaml_c", lambda: update_vs_pyyaml(plan, tmp, 1000)),
            ("update_10k_vs_pyyaml_c", lambda: update_vs_pyyaml(plan, tmp, 10_000)),
            ("board_paint_1k_vs_bare", lambda: board_paint(plan, tmp)),
            ("board_paint_10k_vs_bare", lambda: board_paint(plan, tmp, 10_000)),
            ("run_start_ms", lambda: run_start(plan, tmp)),
            ("phase_overhead_vs_floor", lambda: phase_overhead(plan, tmp)),
            ("parallel_speedup_4", lambda: parallel_speedup(plan, tmp)),
            ("remote_overhead_ms", lambda: remote_overhead(plan, tmp)),
            ("fallback_switch_ms", lambda: fallback_switch(plan, tmp)),
            ("log_open_1m_vs_toolong", lambda: log_open_vs_toolong(plan, tmp)),
            ("limit_resume_late_s", lambda: limit_resume(plan, tmp)),
        ]
        for name_, step in steps:
            if only is not None and name_ not in only:
                continue
            progress(name_)
            try:
                figures[name_] = step()
            except Exception as exc:  # a broken figure must not hide the others
                figures[name_] = Figure(None, f"{type(exc).__name__}: {exc}"[:300])
        if not plan.quick and plan.items is None and only is None:
            progress("scaling: 100 / 1,000 / 10,000 items")
            try:
                figures["_scaling"] = scaling(tmp)
            except Exception as exc:
                figures["_scaling"] = Figure(None, f"{type(exc).__name__}: {exc}"[:300])
        if only is not None and not set(only) & set(BOARD_FIGURES):
            return figures
        progress("board figures")
        try:
            figures.update(board_figures(plan, tmp))
        except Exception as exc:
            figures.update({k: Figure(None, f"{type(exc).__name__}: {exc}"[:300])
                            for k in BOARD_FIGURES})
    return figures
