"""The grooming commands of the CLI (init, add, status, show, advance, unblock, delete),
rendered with rich."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from app import actions, states, worklog
from app.model import PHASE_TITLES, PHASES, STATUSES, Item
from app.project import Project, find_project, init_project

STATUS_STYLE = {
    "new": "cyan", "scoped": "blue", "researching": "magenta", "ready": "green",
    "in_progress": "yellow", "done": "dim", "blocked": "red",
}


def console(stderr: bool = False) -> Console:
    """A console that respects NO_COLOR and pipes (rich does both)."""
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def project_for(args: argparse.Namespace) -> Project:
    """The project named by -C, or found from the current folder.

    orchestrate.toml is checked here too, so a broken config is reported by every
    command (`orchestrate.toml:LINE: ...`), not only when a run needs it.
    """
    project = find_project(args.project_dir)
    project.config()
    return project


def warn(project: Project, warnings: tuple[str, ...] | list[str]) -> None:
    """Print file warnings (unknown keys and the like) to stderr."""
    err = console(stderr=True)
    for w in warnings:
        err.print(Text(f"warning: {w}", style="yellow"))


def cmd_init(args: argparse.Namespace) -> int:
    root = args.project_dir or Path.cwd()
    for note in init_project(root, args.prefix):
        print(note)
    print("next: orchestrate add \"your first idea\"")
    return 0


def cmd_add(args: argparse.Namespace, project: Project) -> int:
    item = actions.add_item(project, args.title, size=args.size, complexity=args.complexity,
                            risk=args.risk, notes=args.notes, depends_on=args.depends_on)
    warn(project, project.store().load().warnings)
    print(f"{item.id} added: {item.title}")
    return 0


def phase_progress(item: Item) -> str:
    """`build 5/6` for an item in progress."""
    if item.status != "in_progress" or item.phase not in PHASES:
        return ""
    return f"{item.phase} {PHASES.index(item.phase) + 1}/{len(PHASES)}"


def cmd_status(args: argparse.Namespace, project: Project) -> int:
    backlog = project.store().load()
    entries = worklog.read(project.worklog_path)
    total = worklog.totals(entries)
    if args.json:
        data = {
            "prefix": backlog.prefix,
            "counts": {s: len(backlog.with_status(s)) for s in STATUSES},
            "items": [i.to_dict() for i in backlog.items],
            "totals": {"attempts": total.attempts, "duration_s": round(total.duration_s, 3),
                       "cost_usd": round(total.cost_usd, 6),
                       "outcomes": dict(total.outcomes)},
            "warnings": list(backlog.warnings),
        }
        json.dump(data, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    warn(project, backlog.warnings)
    out = console()
    table = Table(show_edge=False, pad_edge=False, expand=False)
    table.add_column("id", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("phase", no_wrap=True)
    table.add_column("title", overflow="fold")
    table.add_column("size/risk", no_wrap=True)
    table.add_column("why blocked", overflow="fold")
    for status in STATUSES:
        group = backlog.with_status(status)
        for item in group:
            table.add_row(item.id, Text(status, style=STATUS_STYLE[status]),
                          phase_progress(item), item.title,
                          f"{item.size or '-'}/{item.risk or '-'}", item.blocked_reason or "")
        if group:
            table.add_section()
    if backlog.items:
        out.print(table)
    else:
        out.print("the backlog is empty: orchestrate add \"your first idea\"")
    counts = "  ".join(f"{s} {len(backlog.with_status(s))}" for s in STATUSES)
    out.print(f"\n{len(backlog.items)} items: {counts}")
    if total.attempts:
        out.print(f"worklog: {total.attempts} attempts, {format_duration(total.duration_s)}, "
                  f"${total.cost_usd:.2f}")
    return 0


def format_duration(seconds: float) -> str:
    """`1h02m`, `3m12s`, `45s`."""
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def cmd_show(args: argparse.Namespace, project: Project) -> int:
    backlog = project.store().load()
    item = backlog.get(args.id)
    attempts = worklog.for_item(worklog.read(project.worklog_path), item.id)
    change_dir = project.root / item.change_dir
    files = sorted(p.name for p in change_dir.iterdir()) if change_dir.is_dir() else []
    if args.json:
        data: dict[str, Any] = {**item.to_dict(), "change_dir": item.change_dir,
                                "change_files": files, "attempts": attempts}
        json.dump(data, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    out = console()
    out.print(Text(f"{item.id}  {item.title}", style="bold"))
    rows = [("status", states.describe(item)), ("size", item.size), ("complexity",
            item.complexity), ("risk", item.risk),
            ("depends on", ", ".join(item.depends_on) or None),
            ("blocked", item.blocked_reason), ("blocked from", item.blocked_from),
            ("origin", item.origin), ("created", item.created), ("updated", item.updated),
            ("change folder", item.change_dir + ("" if files else " (not yet)"))]
    rows += [(k, repr(v)) for k, v in item.extra.items()]
    for label, value in rows:
        if value:
            out.print(f"  {label:<14}{value}")
    if item.notes:
        out.print("  notes:")
        for line in item.notes.splitlines():
            out.print(f"    {line}")
    if files:
        out.print("  files: " + ", ".join(files))
    if attempts:
        out.print("  attempts:")
        for a in attempts:
            cost = f" ${a['cost_usd']:.2f}" if a.get("cost_usd") else ""
            why = f"  {a['reason']}" if a.get("reason") else ""
            out.print(f"    {a.get('start', '')}  {PHASE_TITLES.get(a['phase'], a['phase'])} "
                      f"#{a['attempt']}  {a['outcome']}  "
                      f"{format_duration(a.get('duration_s') or 0)}{cost}{why}")
    return 0


def cmd_advance(args: argparse.Namespace, project: Project) -> int:
    item = actions.advance(project, args.id, args.to, reason=args.reason, notes=args.notes)
    print(f"{item.id} is now {states.describe(item)}")
    return 0


def cmd_unblock(args: argparse.Namespace, project: Project) -> int:
    item = actions.unblock(project, args.id, args.notes)
    print(f"{item.id} unblocked: back to {states.describe(item)}")
    return 0


def cmd_delete(args: argparse.Namespace, project: Project) -> int:
    item = actions.delete_item(project, args.id)
    print(f"{item.id} deleted ({item.title}); its id will not be reused")
    return 0
