"""The grooming commands of the CLI (init, add, status, show, advance, unblock, delete, edit,
move, undo), rendered with rich."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len

from app import exitcodes
from app.backlog import states
from app.backlog.model import PHASE_TITLES, PHASES, STATUSES, Item, visible
from app.cli.terminal import STATUS_STYLE, colour_on, console, fit, paint, shown, warn
from app.engine import actions, jsonl, worklog
from app.engine.liverun import LiveRun, ago, live_run, since
from app.engine.project import Project, init_project

if TYPE_CHECKING:
    from app.cli.reading import Reading

def cmd_init(args: argparse.Namespace) -> int:
    root = args.project_dir or Path.cwd()
    for note in init_project(root, args.prefix):
        print(note)
    print("next: orchestrate add \"your first idea\"")
    return exitcodes.OK


def cmd_add(args: argparse.Namespace, project: Project) -> int:
    store = project.store()
    item = actions.add_item(project, args.title, store=store, size=args.size,
                            complexity=args.complexity, risk=args.risk, notes=args.notes,
                            depends_on=args.depends_on)
    warn(project, store.load().warnings)  # the parse of the write, cached: no second parse
    print(f"{item.id} added: {visible(item.title)}")
    return exitcodes.OK


def phase_progress(item: Item) -> str:
    """`build 5/6` for an item in progress."""
    if item.status != "in_progress" or item.phase not in PHASES:
        return ""
    return f"{item.phase} {PHASES.index(item.phase) + 1}/{len(PHASES)}"


def cmd_status(args: argparse.Namespace, project: Project) -> int:
    backlog = project.store().load()
    entries, torn = jsonl.read(project.worklog_path, "item")
    total = worklog.totals(entries)
    run = live_run(project, entries=entries)
    if args.json:
        data = {
            "prefix": backlog.prefix,
            "counts": {s: len(backlog.with_status(s)) for s in STATUSES},
            "items": [i.to_dict() for i in backlog.items],
            "totals": {"attempts": total.attempts, "duration_s": round(total.duration_s, 3),
                       "cost_usd": round(total.cost_usd, 6),
                       "outcomes": dict(total.outcomes)},
            "run": run.to_json() if run is not None else None,
            "warnings": [*backlog.warnings, *torn],
        }
        json.dump(data, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return exitcodes.OK
    warn(project, [*backlog.warnings, *torn])
    # A plain fixed-width table written directly: rich's Table took ~0.6 s for 1,000 rows.
    on = colour_on(sys.stdout)
    width = shutil.get_terminal_size((100, 24)).columns
    rows = [(i.id, i.status, phase_progress(i), shown(i.title),
             f"{i.size or '-'}/{i.risk or '-'}", shown(i.blocked_reason or ""))
            for status in STATUSES for i in backlog.with_status(status)]
    lines: list[str] = []
    if rows:
        heads = ("id", "status", "phase", "title", "size/risk", "why blocked")
        fixed = [max(cell_len(r[c]) for r in [heads, *rows]) for c in (0, 1, 2, 4)]
        title_natural = max(cell_len(r[3]) for r in [heads, *rows])
        why_natural = min(max(cell_len(r[5]) for r in [heads, *rows]), 40)
        room = width - sum(fixed) - 2 * 4
        # The title has the first claim on the width; when the reason does not fit beside
        # it, the reason goes on its own line under the title instead of squeezing both.
        why_inline = title_natural + 2 + why_natural <= room
        title_w = max(min(title_natural, room - (why_natural + 2 if why_inline else 0)), 10)
        indent = sum(fixed[:3]) + 2 * 3

        def line(r: tuple[str, ...], status_style: str | None) -> str:
            cells = [fit(r[0], fixed[0]), fit(r[1], fixed[1]), fit(r[2], fixed[2]),
                     fit(r[3], title_w), fit(r[4], fixed[3])]
            if why_inline:
                cells.append(fit(r[5], why_natural))
            if status_style:
                cells[1] = paint(cells[1], status_style, on)
            return "  ".join(cells).rstrip()

        lines.append(paint(line(heads if why_inline else heads[:5], None), "bold", on))
        previous = None
        for r in rows:
            if previous is not None and r[1] != previous:
                lines.append("")
            previous = r[1]
            lines.append(line(r, STATUS_STYLE[r[1]]))
            if r[5] and not why_inline:
                reason = fit("↳ " + r[5], max(width - indent, 10)).rstrip()
                lines.append(" " * indent + paint(reason, "red", on))
    else:
        lines.append('the backlog is empty: orchestrate add "your first idea"')
    if run is not None:
        lines += ["", *run_lines(run, time.time())]
    counts = "  ".join(f"{s} {len(backlog.with_status(s))}" for s in STATUSES)
    lines.append(f"\n{len(backlog.items)} items: {counts}")
    if total.attempts:
        took = worklog.format_duration(total.duration_s)
        lines.append(f"worklog: {total.attempts} attempts, {took}, ${total.cost_usd:.2f}")
    sys.stdout.write("\n".join(lines) + "\n")
    return exitcodes.OK


def run_lines(run: LiveRun, now: float) -> list[str]:
    """What `status` says of a live run: `run: pid 4242, started 21:04 (2h13m ago), 3 lanes
    of 4 · $4.18 over 57 attempts`, a line per lane and the usage-limit pause."""
    from app.engine.limits import clock_time  # only with a run live: it costs ~4 ms

    head = f"run: pid {run.pid}" if run.kind in (None, "run") else f"{run.kind}: pid {run.pid}"
    if run.started is not None:
        head += f", started {since(run.started.timestamp(), now)}"
    n = len(run.lanes)
    if run.kind == "run":
        head += f", {n} lane{'s' if n != 1 else ''} of {run.max_parallel or 1}"
    elif run.kind is not None:
        head += f", {n} agent{'s' if n != 1 else ''}"
    if run.attempts is not None and run.cost_usd is not None:
        head += (f" · ${run.cost_usd:.2f} over {run.attempts} "
                 f"attempt{'s' if run.attempts != 1 else ''}")
    rows = [(lane.item, f"{lane.phase} #{lane.attempt}" if lane.attempt else lane.phase,
             lane.agent or "", lane.branch or "", f"on {lane.node}" if lane.node else "",
             ago(now - lane.started.timestamp()) if lane.started else "")
            for lane in run.lanes]
    widths = [max((cell_len(r[c]) for r in rows), default=0) for c in range(6)]
    lines = [shown(head)]
    lines += ["  " + "  ".join(fit(cell, w) for cell, w in zip(r, widths, strict=True)
                               if w).rstrip() for r in rows]
    if run.pause is not None:
        guess = "" if run.pause.known_reset else " (no reset time was given: it tries again then)"
        lines.append(f"  paused: usage limit, resumes at {clock_time(run.pause.resumes_at, now)}"
                     f"{guess}")
    return lines


def cmd_show(args: argparse.Namespace, project: Project) -> int:
    from app.cli import reading

    backlog = project.store().load()
    item = backlog.get(args.id)
    docs, diff = args.docs, args.diff
    if (docs or diff) and not args.json:  # the documents and/or the diffs, nothing else
        _print_docs_and_diffs(project, item, docs, diff)
        return exitcodes.OK
    attempts = worklog.for_item(worklog.read(project.worklog_path), item.id)
    change_dir = reading.change_folder(project, item)  # in its lane's worktree, if any
    files = sorted(p.name for p in change_dir.iterdir()) if change_dir.is_dir() else []
    found = reading.read(project, backlog, item)
    if args.json:
        data: dict[str, Any] = {**item.to_dict(), "change_dir": item.change_dir,
                                "change_files": files, "attempts": attempts,
                                **reading.to_json(project, item, found, docs=docs, diff=diff)}
        json.dump(data, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return exitcodes.OK
    _print_item(item, found, files, attempts)
    return exitcodes.OK


def _print_docs_and_diffs(project: Project, item: Item, docs: bool, diff: bool) -> None:
    """`show --docs`, `--diff` or both: the documents, then the checkpoints' diffs."""
    from app.cli import reading

    if docs:
        reading.print_documents(project, item)
    if docs and diff:
        sys.stdout.write("\n")
    if diff:
        reading.print_checkpoints(project, item, colour=colour_on(sys.stdout))


def _print_item(item: Item, found: Reading, files: list[str],
                attempts: list[dict[str, Any]]) -> None:
    """`show`: every field that has a value, the notes, files, attempts, checkpoints and
    the names of the documents."""
    from rich.text import Text

    from app.cli import reading

    out = console()
    out.print(Text(f"{item.id}  {visible(item.title, one_line=True)}", style="bold"))
    rows = [("status", states.describe(item)), ("size", item.size), ("complexity",
            item.complexity), ("risk", item.risk), *reading.rows(item, found),
            ("blocked", item.blocked_reason), ("blocked from", item.blocked_from),
            ("origin", item.origin), ("created", item.created), ("updated", item.updated),
            ("change folder", item.change_dir + ("" if files else " (not yet)"))]
    rows += [(k, repr(v)) for k, v in item.extra.items()]
    for label, value in rows:
        if value:
            out.print(f"  {label:<14}{visible(value, one_line=True)}")
    if item.notes:
        out.print("  notes:")
        for line in item.notes.splitlines():
            out.print(f"    {visible(line, one_line=True)}")
    if files:
        out.print("  files: " + ", ".join(files))
    if attempts:
        out.print("  attempts:")
        for a in attempts:
            out.print(f"    {_attempt_line(a)}")
    if found.log.checkpoints:
        out.print("  checkpoints (show --diff for the diffs):")
        for checkpoint in found.log.checkpoints:
            out.print(f"    {reading.checkpoint_line(checkpoint)}")
    if found.documents:
        names = visible(", ".join(found.documents), one_line=True)
        out.print(f"  documents (show --docs to read them): {names}")


def _attempt_line(a: dict[str, Any]) -> str:
    """One attempt as `show` lists it: start, phase and number, agent, outcome, time, cost,
    why."""
    cost = f" ${a['cost_usd']:.2f}" if a.get("cost_usd") else ""
    why = f"  {visible(str(a['reason']), one_line=True)}" if a.get("reason") else ""
    agent = worklog.agent_of(a)
    agent = f"  {visible(agent, one_line=True)}" if agent else ""
    return (f"{a.get('start', '')}  {PHASE_TITLES.get(a['phase'], a['phase'])} "
            f"#{a['attempt']}{agent}  {a['outcome']}  "
            f"{worklog.format_duration(a.get('duration_s') or 0)}{cost}{why}")


def let_go(project: Project, item_id: str, force: bool, what: str) -> int | None:
    """An item a live run works on (its lane is live) is not changed under it: refused
    (an exit code) unless `force`, which has the run let go of it first (withdraw.py);
    None to go on."""
    from app.engine.liverun import live_run  # a lock check only: cheap when no run is live

    item_id = item_id.strip().upper()
    run = live_run(project, spend=False)
    if run is None or item_id not in run.working:
        return None
    if not force:
        print(f"orchestrate {what}: {item_id}'s lane is live in the run of pid {run.pid}: "
              f"to {what} it now would leave that lane working on it. Give --force to stop "
              "that lane first (the rest of the run goes on), or wait until the run is done "
              "with it", file=sys.stderr)
        return exitcodes.ERROR
    from app.engine import withdraw
    from app.engine.runlock import holder_pid

    grace = project.config().agent.kill_grace_s
    if not withdraw.wait_until_let_go(project, item_id, grace + LET_GO_S,
                                      lambda: holder_pid(project) == run.pid):
        print(f"orchestrate {what}: the run of pid {run.pid} did not let go of {item_id} "
              f"within {grace + LET_GO_S:g} s; nothing was changed", file=sys.stderr)
        return exitcodes.ERROR
    print(f"stopped {item_id}'s lane in the run of pid {run.pid} (its agent was stopped; "
          "the rest of the run goes on); a lane's branch is kept for you, its worktree is "
          "removed by the next run")
    return None


LET_GO_S = 30.0
"""How long `--force` waits for a run to let go of an item, beyond the agent's grace."""


def cmd_advance(args: argparse.Namespace, project: Project) -> int:
    refused = let_go(project, args.id, args.force, "advance")
    if refused is not None:
        return refused
    item = actions.advance(project, args.id, args.to, reason=args.reason, notes=args.notes)
    print(f"{item.id} is now {states.describe(item)}")
    return exitcodes.OK


def cmd_unblock(args: argparse.Namespace, project: Project) -> int:
    item = actions.unblock(project, args.id, args.notes)
    print(f"{item.id} unblocked: back to {states.describe(item)}")
    return exitcodes.OK


def cmd_reject(args: argparse.Namespace, project: Project) -> int:
    item = actions.reject(project, args.id, args.notes)
    print(f"{item.id} sent back to build with your notes; the next run builds it again on "
          "its branch (`orchestrate undo` takes this back)")
    return exitcodes.OK


def cmd_delete(args: argparse.Namespace, project: Project) -> int:
    refused = let_go(project, args.id, args.force, "delete")
    if refused is not None:
        return refused
    item = actions.delete_item(project, args.id)
    print(f"{item.id} deleted ({visible(item.title)}); its id will not be reused")
    return exitcodes.OK


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


def cmd_edit(args: argparse.Namespace, project: Project) -> int:
    # --clear-deps is the one way to an empty list (the parser refuses --depends-on alone).
    depends_on = [] if args.clear_deps else args.depends_on
    given = (args.title, args.notes, args.size, args.complexity, args.risk, depends_on)
    if all(v is None for v in given) and not args.add_dep and not args.remove_dep:
        print("orchestrate edit: nothing to change: give --title, --notes, --size, "
              "--complexity, --risk, --depends-on, --clear-deps, --add-dep or --remove-dep",
              file=sys.stderr)
        return exitcodes.USAGE
    done = actions.edit_item(project, args.id, title=args.title, notes=args.notes,
                             size=args.size, complexity=args.complexity, risk=args.risk,
                             depends_on=depends_on, add_deps=args.add_dep,
                             remove_deps=args.remove_dep)
    if args.json:
        _print_json({**done.item.to_dict(), "changed": list(done.fields)})
    elif done.fields:
        print(f"{done.item.id} edited: {', '.join(done.fields)}")
    else:
        print(f"{done.item.id} unchanged: it already was as asked")
    return exitcodes.OK


def cmd_move(args: argparse.Namespace, project: Project) -> int:
    done = actions.move_item(project, args.id, top=args.top, before=args.before,
                             after=args.after)
    if args.json:
        order = [i.id for i in project.store().load().items]
        _print_json({"id": done.item.id, "position": done.index + 1, "total": done.total,
                     "moved": done.moved, "order": order})
    elif done.moved:
        print(f"{done.item.id} moved: now {done.place}")
    else:
        print(f"{done.item.id} already stands there ({done.place})")
    return exitcodes.OK


def cmd_undo(args: argparse.Namespace, project: Project) -> int:
    done = actions.undo(project)
    if args.json:
        _print_json({"undid": done.action, "id": done.item_id,
                     "item": done.item.to_dict() if done.item else None, "said": done.said})
    else:
        print(done.said)
    return exitcodes.OK
