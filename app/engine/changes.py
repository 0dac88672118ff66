"""An item's change folder read back: its Markdown documents in phase order, and how far
the build has worked through SPEC.md.

The agents write `changes/<ID>_<slug>/PRD.md`, RESEARCH.md, DESIGN.md, SPEC.md and
REVIEW.md (and whatever else they choose). `orchestrate show --docs` and the board's
documents view list them in the order the phases wrote them, then the rest
alphabetically; the build phase's `3/7` comes from SPEC.md's ticked boxes (spec.py).
While an item has a lane (`[run] max_parallel` > 1), its agent writes the folder in the
lane's worktree (`.orchestrator/worktrees/<ID>`, lanes.py): that copy is the one read
until the lane is merged and removed. Reads only: nothing here writes a file.
"""

from __future__ import annotations

import os
from pathlib import Path

from app.backlog.model import Item
from app.engine import spec
from app.engine.project import Project
from app.structs import Struct

PHASE_DOCUMENTS: tuple[str, ...] = ("PRD", "RESEARCH", "DESIGN", "SPEC", "BUILD", "REVIEW")
"""Documents named after a phase (any case, `.md`), in the order the phases write them."""
MAX_DOCUMENT_BYTES = 1_000_000
"""A document longer than this is read up to here (and says so)."""


class Document(Struct, frozen=True):
    """One Markdown document of a change folder."""

    name: str
    """Its path inside the change folder (`PRD.md`, `notes/api.md`)."""
    path: str
    """Its path from the project root (`changes/WRK-001_add-login/PRD.md`; in a lane's
    worktree `.orchestrator/worktrees/WRK-001/changes/…`)."""
    text: str
    """Its text (undecodable bytes replaced), cut at the reader's limit."""
    cut: bool = False
    """Whether the file is longer than `text`."""


def _repository_top(folder: Path) -> Path | None:
    """The nearest folder at or above `folder` holding `.git` (a folder, or the file of a
    worktree), found without running git."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def change_folder(root: Path, item: Item) -> Path:
    """Where `item`'s change folder is written now: in its lane's worktree while that
    worktree holds it, else under the project `root`."""
    worktree = Project(root).worktrees_dir / item.id
    if worktree.is_dir():
        top = _repository_top(root.resolve())
        if top is not None:
            in_lane = worktree / root.resolve().relative_to(top) / item.change_dir
            if in_lane.is_dir():
                return in_lane
    return root / item.change_dir


def _order(name: str) -> tuple[bool, int, str]:
    """Top-level phase documents first, in phase order; then the rest alphabetically."""
    stem = name.rsplit(".", 1)[0].upper()
    nested = "/" in name
    rank = PHASE_DOCUMENTS.index(stem) if stem in PHASE_DOCUMENTS and not nested \
        else len(PHASE_DOCUMENTS)
    return nested, rank, name.lower()


def document_names(folder: Path) -> tuple[str, ...]:
    """The `.md` files under `folder` (relative, with `/`), in reading order; none when
    the folder does not exist. Hidden files and folders are left out."""
    names: list[str] = []
    try:
        for top, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            rel = Path(top).relative_to(folder)
            names += [(rel / f).as_posix() for f in files
                      if f.lower().endswith(".md") and not f.startswith(".")]
    except OSError:
        return ()
    return tuple(sorted(names, key=_order))


def read_documents(root: Path, item: Item,
                   max_bytes: int | None = MAX_DOCUMENT_BYTES) -> tuple[Document, ...]:
    """The Markdown documents of `item`'s change folder under the project `root` (in its
    lane's worktree while it has one), in reading order, each cut at `max_bytes` (None:
    whole). A file that vanished or cannot be read is left out."""
    folder = change_folder(root, item)
    shown = os.path.relpath(folder, root).replace(os.sep, "/")
    documents: list[Document] = []
    for name in document_names(folder):
        try:
            with open(folder / name, "rb") as handle:
                data = handle.read(max_bytes + 1 if max_bytes is not None else -1)
        except OSError:
            continue
        cut = max_bytes is not None and len(data) > max_bytes
        if cut:
            data = data[:max_bytes]
        documents.append(Document(name, f"{shown}/{name}",
                                  data.decode("utf-8", errors="replace"), cut))
    return tuple(documents)


class SpecProgress(Struct, frozen=True):
    """How many of SPEC.md's tasks are ticked."""

    ticked: int
    total: int

    def __str__(self) -> str:
        return f"{self.ticked}/{self.total}"


def spec_progress(root: Path, item: Item) -> SpecProgress | None:
    """SPEC.md's ticked tasks out of all of them (in the item's lane while it has one);
    None without a SPEC.md or a task in it."""
    try:
        parsed = spec.load(change_folder(root, item) / "SPEC.md")
    except OSError:  # unreadable: no progress to show, as without one
        return None
    if parsed is None:
        return None
    total = parsed.ticked + parsed.unticked
    return SpecProgress(parsed.ticked, total) if total else None
