"""`orchestrate report`: the figures of past runs (app/engine/report.py) as tables on a
terminal (plain when piped), `--plot` as charts, `--json` as stable JSON."""

from __future__ import annotations

import argparse
import json
import shutil
import sys

from app import exitcodes
from app.cli.charts import terminal_charts
from app.cli.reporttables import headline, summary
from app.cli.terminal import colour_on, console, warn
from app.engine.project import Project
from app.engine.report import build_report

PIPED_WIDTH = 120
"""Piped output is this wide, so no table is cut for an 80-column default."""


def cmd_report(args: argparse.Namespace, project: Project) -> int:
    report = build_report(project, since=args.since, item=args.item)
    if args.json:
        json.dump(report.to_json(), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return exitcodes.OK
    warn(project, list(report.problems))
    on_terminal = sys.stdout.isatty()
    if args.plot:
        width = shutil.get_terminal_size((100, 24)).columns if on_terminal else PIPED_WIDTH
        sys.stdout.write(headline(report) + "\n\n")
        sys.stdout.write(terminal_charts(report, max(width - 1, 40), colour_on(sys.stdout)))
        return exitcodes.OK
    out = console()
    if on_terminal:
        out.print(summary(report))
        return exitcodes.OK
    out.width = PIPED_WIDTH
    with out.capture() as captured:
        out.print(summary(report))
    # rich pads a table's lines to its width: piped, they end where their words do
    sys.stdout.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
    return exitcodes.OK
