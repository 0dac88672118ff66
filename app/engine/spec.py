"""SPEC.md: numbered phase sections of `- [ ]` tasks that the build phase works through.

Build attempts name the first SPEC phase with an unchecked task; counting the
ticked boxes before and after an attempt tells whether a `progress` answer
really moved forward.
"""

from __future__ import annotations

import re
from pathlib import Path

from app.structs import Struct

_HEADING = re.compile(r"^#{1,6}\s+(.*\S)\s*$")
_BOX = re.compile(r"^\s*[-*+]\s+\[([ xX])\]\s*(.*)$")


class SpecPhase(Struct, frozen=True):
    """One section of SPEC.md and its tasks."""

    title: str
    done: int
    todo: tuple[str, ...]
    """The unchecked tasks, in order."""


class Spec(Struct, frozen=True):
    """A parsed SPEC.md."""

    phases: tuple[SpecPhase, ...]

    @property
    def ticked(self) -> int:
        return sum(p.done for p in self.phases)

    @property
    def unticked(self) -> int:
        return sum(len(p.todo) for p in self.phases)

    def next_phase(self) -> SpecPhase | None:
        """The first section that still has an unchecked task."""
        return next((p for p in self.phases if p.todo), None)


def parse(text: str) -> Spec:
    """Sections are headings; tasks before any heading belong to an untitled section."""
    phases: list[SpecPhase] = []
    title = ""
    done = 0
    todo: list[str] = []

    def close() -> None:
        if done or todo:
            phases.append(SpecPhase(title or "Tasks", done, tuple(todo)))

    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            close()
            title, done, todo = heading.group(1), 0, []
            continue
        box = _BOX.match(line)
        if box:
            if box.group(1) == " ":
                todo.append(box.group(2).strip())
            else:
                done += 1
    close()
    return Spec(tuple(phases))


def load(path: Path) -> Spec | None:
    """The SPEC at `path`, or None when there is none."""
    try:
        return parse(path.read_text(encoding="utf-8", errors="replace"))
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
