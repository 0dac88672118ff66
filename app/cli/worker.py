"""`orchestrate worker check [--cluster]`: whether this machine, or every node of the Ray
cluster, can take remote attempts (app/engine/remote/workercheck.py, docs/ray.md)."""

from __future__ import annotations

import argparse
import json
import sys

from app import exitcodes
from app.cli.terminal import colour_on, paint, shown
from app.engine.config import Config
from app.engine.project import find_project
from app.engine.remote import workercheck
from app.engine.remote.workercheck import FAIL, OK, NodeReport
from app.errors import BacklogError

MARKS = {OK: ("✓", "green"), workercheck.WARN: ("!", "yellow"), FAIL: ("✗", "red")}


def _config(args: argparse.Namespace) -> Config:
    """The project's configuration where there is one (its agents, its cluster); on a
    worker, where there is none, the defaults (the claude CLI)."""
    try:
        project = find_project(args.project_dir)
    except BacklogError:
        return Config()
    return project.config()


def cmd_worker(args: argparse.Namespace) -> int:
    config = _config(args)
    agents = list(config.agents.values())
    if args.cluster:
        from app.engine.remote.cluster import Cluster
        from app.structs import replace

        executor = config.executor if args.address is None \
            else replace(config.executor, address=args.address)
        cluster = Cluster(executor)
        reports = [NodeReport.from_json(data) for data in cluster.check_nodes(
            workercheck.agents_json(agents), workercheck.versions())]
        if not reports:
            wanted = ", ".join(f"{k} {v:g}" for k, v in executor.resources.items())
            print(f"orchestrate: no live node of the cluster offers {wanted} "
                  "([executor] resources)", file=sys.stderr)
            return exitcodes.ERROR
    else:
        reports = [workercheck.check_here(agents)]
    if args.json:
        json.dump({"ok": all(r.ok for r in reports), "nodes": [r.to_json() for r in reports]},
                  sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        on = colour_on(sys.stdout)
        for report in reports:
            sys.stdout.write("\n".join(_lines(report, on)) + "\n")
    return exitcodes.OK if all(r.ok for r in reports) else exitcodes.ERROR


def _lines(report: NodeReport, on: bool) -> list[str]:
    """`vm (127.0.0.1)`, then a line a check: `  ✓ git  git version 2.39.5`."""
    head = report.host if report.ip == report.host else f"{report.host} ({report.ip})"
    verdict = "can take attempts" if report.ok else "cannot take attempts"
    lines = [f"{paint(head, 'bold', on)}: {verdict}"]
    width = max(len(check.name) for check in report.checks)
    for check in report.checks:
        mark, colour = MARKS.get(check.level, ("?", "yellow"))
        lines.append(f"  {paint(mark, colour, on)} {check.name.ljust(width)}  "
                     f"{shown(check.detail)}")
        if check.hint:
            lines.append(f"  {' ' * (width + 4)}{shown(check.hint)}")
    return lines
