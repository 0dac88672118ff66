"""`python -m bench [--quick] [--json] [--items N] [--no-write] [FIGURE ...]`.

Every figure is measured side by side in one run on generated data, with warm-up runs and
medians of at least five (min-max shown in the table). The full run prints a table and
rewrites bench/RESULTS.md; `--quick --json` prints one JSON object
`{"figures": {NAME: number|null}, "notes": {NAME: "why null"}}` and writes nothing.
Naming figures (`python -m bench parallel_speedup_4`) measures those alone and prints
their rows; it never rewrites RESULTS.md, whose other rows it did not measure.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict

from bench.figures import Figure, Plan, all_figures

NAMES = ("status_1k_vs_backlogmd", "update_1k_vs_pyyaml_c", "update_10k_vs_pyyaml_c",
         "board_paint_1k_vs_bare", "board_paint_10k_vs_bare", "run_start_ms",
         "phase_overhead_vs_floor", "parallel_speedup_4", "remote_overhead_ms",
         "fallback_switch_ms", "reload_ms", "log_lines_per_s", "log_key_p99_ms",
         "log_key_p99_ms_4_lanes", "log_open_1m_vs_toolong", "log_rss_growth_mb",
         "limit_resume_late_s")
# name -> (goal as text, the test it must pass)
GOALS: dict[str, tuple[str, Callable[[float], bool]]] = {
    "status_1k_vs_backlogmd": ("≤ 1.0", lambda v: v <= 1.0),
    "update_1k_vs_pyyaml_c": ("≤ 1.0", lambda v: v <= 1.0),
    "update_10k_vs_pyyaml_c": ("≤ 1.0", lambda v: v <= 1.0),
    "board_paint_1k_vs_bare": ("≤ 1.5", lambda v: v <= 1.5),
    "board_paint_10k_vs_bare": ("≤ 2.0", lambda v: v <= 2.0),
    # Spawn of `orchestrate run` -> its first attempt's PhaseStarted (ms).
    "run_start_ms": ("≤ 150", lambda v: v <= 150),
    "phase_overhead_vs_floor": ("≤ 1.5", lambda v: v <= 1.5),
    # Eight items, four lanes: two waves instead of eight items in a row (ideal 4.0).
    "parallel_speedup_4": ("≥ 3.5", lambda v: v >= 3.5),
    # An attempt on a local Ray cluster minus the same attempt here, both in a lane (ms).
    "remote_overhead_ms": ("≤ 500", lambda v: v <= 500),
    # When one account runs out, the next attempt on another agent starts as soon as a
    # step between phases would (~20-40 ms): a person never waits for the switch.
    "fallback_switch_ms": ("≤ 100", lambda v: v <= 100),
    # An external edit of a 10,000-item BACKLOG.yaml -> the board shows it (ms).
    "reload_ms": ("≤ 300", lambda v: v <= 300),
    "log_lines_per_s": ("≥ 150000", lambda v: v >= 150_000),
    "log_key_p99_ms": ("≤ 50", lambda v: v <= 50),
    # Four lanes streaming at once (4 x 2,000 lines/s, labels on).
    "log_key_p99_ms_4_lanes": ("≤ 30", lambda v: v <= 30),
    # Opening a finished 1,000,000-line log to its end: our time over toolong's.
    "log_open_1m_vs_toolong": ("≤ 1.0", lambda v: v <= 1.0),
    "log_rss_growth_mb": ("≤ 50", lambda v: v <= 50),
    # After the reset plus resume_margin_s, the next attempt starts within 2 s.
    "limit_resume_late_s": ("≤ 2.0", lambda v: v <= 2.0),
}
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


class FiguresJson(TypedDict):
    """What `--json` prints."""

    figures: dict[str, float | None]
    notes: dict[str, str]


def as_json(figures: dict[str, Figure]) -> FiguresJson:
    """The machine-readable shape: every name present, a number or null with a note."""
    out: FiguresJson = {"figures": {}, "notes": {}}
    for name in NAMES:
        fig = figures.get(name) or Figure(None, "not measured")
        out["figures"][name] = fig.value
        if fig.value is None:
            out["notes"][name] = " ".join(fig.note.split()) or "not measured"
    return out


def table(figures: dict[str, Figure], names: tuple[str, ...] = NAMES) -> str:
    rows = ["| figure | value | goal | met | how |", "| --- | --- | --- | --- | --- |"]
    for name in names:
        fig = figures.get(name) or Figure(None, "not measured")
        goal, ok = GOALS[name]
        value = "null" if fig.value is None else f"{fig.value:g}"
        met = "—" if fig.value is None else ("yes" if ok(fig.value) else "**no**")
        note = " ".join(fig.note.split()).replace("|", "/")
        rows.append(f"| {name} | {value} | {goal} | {met} | {note} |")
    return "\n".join(rows)


def details(figures: dict[str, Figure], names: tuple[str, ...] = NAMES) -> str:
    lines = []
    for name in names:
        fig = figures.get(name)
        if fig and fig.detail:
            lines.append(f"- **{name}**")
            lines += [f"  - {d}" for d in fig.detail]
    scale = figures.get("_scaling")
    if scale is not None:
        lines += ["", "## Scaling (ratios at each size, same method)", ""]
        lines += [f"- {d}" if not d.startswith("  ") else f"  - {d.strip()}"
                  for d in scale.detail] or [f"- not measured: {scale.note}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer runs (under 5 minutes)")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument("--items", type=int, metavar="N",
                        help="use N items for every size (and N x 1,000 streamed log lines)")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite RESULTS.md")
    parser.add_argument("figure", nargs="*", metavar="FIGURE",
                        help="measure only these (never rewrites RESULTS.md): "
                             f"{', '.join(NAMES)}")
    args = parser.parse_args(argv)
    unknown = [name for name in args.figure if name not in NAMES]
    if unknown:
        parser.error(f"no figure named {', '.join(unknown)}; the figures are: "
                     f"{', '.join(NAMES)}")
    only = tuple(dict.fromkeys(args.figure)) or None
    plan = Plan(warmup=1 if args.quick else 2, repeats=5 if args.quick else 7,
                items=args.items, quick=args.quick)
    started = time.perf_counter()

    def progress(step: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {step}", file=sys.stderr, flush=True)

    figures = all_figures(plan, progress, only)
    shown = only or NAMES
    if args.json:
        print(json.dumps(as_json(figures)))
    else:
        print(table(figures, shown))
        print()
        print(details(figures, shown))
    if not (args.quick or args.json or args.no_write or args.items or only):
        command = "python -m bench"
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        RESULTS.write_text(
            f"# Benchmark results\n\nCommand: `{command}` (from the repository root)  \n"
            f"Date: {stamp}  \nMachine: {platform.platform()}, Python "
            f"{platform.python_version()}, {_cpus()} CPUs  \nTook: "
            f"{time.perf_counter() - started:.0f} s\n\n"
            "Each figure is a ratio (or a rate) of two things measured side by side in one "
            "run, alternating, on generated data: warm-up runs first, then the median of at "
            "least five; min-max in brackets below. Our packages are byte-compiled first "
            "(as `pip install` does). The run keeps BACKLOG.yaml snapshots in a cache "
            "folder of its own; the figures that read the file also show the same without "
            "one (the first read after an edit by hand).\n\n"
            f"{table(figures)}\n\n## Measurements\n\n{details(figures)}\n",
            encoding="utf-8")
        progress(f"wrote {RESULTS}")
    return 0


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        (os.cpu_count() or 1)


if __name__ == "__main__":
    raise SystemExit(main())
