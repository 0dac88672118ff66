"""What `orchestrate show` reads beyond BACKLOG.yaml: the item's place among its
dependencies, the guardrails' verdict, SPEC.md's progress, its change documents
(`--docs`) and its checkpoint commits with their diffs (`--diff`).

On a terminal the documents are rendered as Markdown and the diffs coloured (rich, and
git's colours); piped, both are plain text. Every text is shown with its control
characters escaped: a document or a diff never drives the terminal.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any, TextIO

from app.backlog.model import Backlog, Item, visible
from app.cli.terminal import paint
from app.engine import changes, commits, dependencies
from app.engine.config import within_guardrails
from app.engine.project import Project
from app.structs import Struct

DIFF_STYLE = {"commit": "yellow", "file": "bold", "hunk": "cyan", "added": "green",
              "removed": "red", "summary": "dim"}
"""ANSI colours of the kinds of diff lines (commits.line_kinds), as git colours them."""


class Reading(Struct, frozen=True):
    """What `show` says about an item beyond its fields."""

    depends: tuple[tuple[str, str], ...]
    """(id, where it stands) of each item it depends on."""
    waits_on: tuple[str, ...]
    """Those not done yet."""
    needed_by: tuple[str, ...]
    outside_guardrails: str | None
    """`outside the guardrails: risk high, max low`, or None within them."""
    spec: changes.SpecProgress | None
    documents: tuple[str, ...]
    """The change folder's Markdown documents, in reading order."""
    log: commits.CheckpointLog


def change_folder(project: Project, item: Item) -> Path:
    """Where `item`'s change folder is written now (its lane's worktree, if it has one)."""
    return changes.change_folder(project.root, item)


def read(project: Project, backlog: Backlog, item: Item) -> Reading:
    """Everything `show` adds for `item` (reads the change folder and asks git)."""
    return Reading(
        depends=dependencies.dependency_states(backlog, item),
        waits_on=dependencies.waits_on(backlog, item),
        needed_by=dependencies.needed_by(backlog, item.id),
        outside_guardrails=within_guardrails(item, project.config()),
        spec=changes.spec_progress(project.root, item),
        documents=changes.document_names(changes.change_folder(project.root, item)),
        log=commits.checkpoints(project.root, item.id),
    )


def rows(item: Item, reading: Reading) -> list[tuple[str, str | None]]:
    """The lines `show` prints for it: (label, value), None values left out."""
    depends = ", ".join(f"{d} ({state})" for d, state in reading.depends)
    return [
        ("depends on", depends or None),
        ("waits on", ", ".join(reading.waits_on) or None),
        ("needed by", ", ".join(reading.needed_by) or None),
        ("guardrails", reading.outside_guardrails if item.status not in ("done", "in_progress")
         else None),
        ("spec", f"{reading.spec} tasks ticked" if reading.spec else None),
    ]


def checkpoint_line(checkpoint: commits.Checkpoint) -> str:
    """`a1b2c3d  2026-11-22 10:02  [WRK-001][PRD] PRD written`."""
    return f"{checkpoint.short}  {checkpoint.when}  {visible(checkpoint.subject, one_line=True)}"


def to_json(project: Project, item: Item, reading: Reading, *, docs: bool,
            diff: bool) -> dict[str, Any]:
    """The keys `show --json` adds; the documents' text with `docs`, each checkpoint's stat
    and whole diff with `diff`."""
    data: dict[str, Any] = {
        "waits_on": list(reading.waits_on),
        "needed_by": list(reading.needed_by),
        "outside_guardrails": reading.outside_guardrails,
        "spec": {"ticked": reading.spec.ticked, "total": reading.spec.total}
        if reading.spec else None,
        "documents": list(reading.documents),
        "checkpoints": [],
        "checkpoints_unavailable": reading.log.unavailable,
    }
    if docs:
        data["documents"] = [{"name": d.name, "path": d.path, "text": d.text}
                             for d in changes.read_documents(project.root, item, None)]
    for c in reading.log.checkpoints:
        entry: dict[str, Any] = {"commit": c.commit, "short": c.short, "date": c.date,
                                 "phase": c.phase, "summary": c.summary, "subject": c.subject}
        if diff:
            entry["stat"] = commits.stat(project.root, c.commit)
            entry["diff"] = "\n".join(commits.diff_lines(project.root, c.commit)) + "\n"
        data["checkpoints"].append(entry)
    return data


def _terminal(stream: TextIO) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def print_documents(project: Project, item: Item, out: TextIO = sys.stdout) -> None:
    """Every document of `item`'s change folder: rendered Markdown on a terminal (under a
    rule naming the file), else the text under a `==> path <==` line."""
    documents = changes.read_documents(project.root, item, None)
    if not documents:
        out.write(f"{item.id} has no documents yet (none in {item.change_dir}/)\n")
        return
    if not _terminal(out):
        for index, doc in enumerate(documents):
            text = visible(doc.text)
            out.write(("\n" if index else "") + f"==> {visible(doc.path, one_line=True)} <==\n"
                      + text + ("" if text.endswith("\n") or not text else "\n"))
        return
    from rich.console import Console
    from rich.markdown import Markdown
    from rich.rule import Rule

    console = Console(file=out, highlight=False, markup=False)
    for doc in documents:
        console.print(Rule(visible(doc.path, one_line=True), style="cyan"))
        console.print(Markdown(visible(doc.text)))
        console.print()


def print_checkpoints(project: Project, item: Item, *, colour: bool,
                      out: TextIO = sys.stdout) -> None:
    """Every checkpoint of `item`, oldest first, as `git show --stat --patch` prints it
    (coloured with `colour`), a blank line between them."""
    log = commits.checkpoints(project.root, item.id)
    if not log.checkpoints:
        why = f": {log.unavailable}" if log.unavailable else " yet"
        out.write(f"{item.id} has no checkpoints{why}\n")
        return
    width = shutil.get_terminal_size((100, 24)).columns if _terminal(out) else 80
    for index, checkpoint in enumerate(log.checkpoints):
        if index:
            out.write("\n")
        lines = commits.diff_lines(project.root, checkpoint.commit, width)
        for kind, line in commits.line_kinds(lines):
            shown = visible(line)
            if colour and kind == "stat":
                out.write(paint_stat(shown) + "\n")
            else:
                out.write(paint(shown, DIFF_STYLE.get(kind, ""), colour) + "\n")


def paint_stat(line: str) -> str:
    """A stat line (` login.py |  4 ++--`) with its pluses green and minuses red."""
    graph = commits.stat_graph(line)
    if graph is None:
        return line
    head, pluses, minuses = graph
    return (head + (paint(pluses, "green", True) if pluses else "")
            + (paint(minuses, "red", True) if minuses else ""))
