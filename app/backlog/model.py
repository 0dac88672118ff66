"""The backlog's vocabulary: statuses, phases, assessments, ids, the Item record and the
Backlog snapshot (what every reader of BACKLOG.yaml gets, the board's widgets included)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.errors import UnknownItemError

STATUSES: tuple[str, ...] = (
    "new", "scoped", "researching", "ready", "in_progress", "done", "blocked",
)
PHASES: tuple[str, ...] = ("prd", "research", "design", "spec", "build", "review")
PHASE_TITLES: dict[str, str] = {
    "prd": "PRD", "research": "Research", "design": "Design",
    "spec": "Spec", "build": "Build", "review": "Review",
}
SIZES: tuple[str, ...] = ("small", "medium", "large")
LEVELS: tuple[str, ...] = ("low", "medium", "high")
ASSESSMENT_CHOICES: dict[str, tuple[str, ...]] = {
    "size": SIZES, "complexity": LEVELS, "risk": LEVELS,
}

# Ids become file names (logs, results, change folders): keep the pattern strict.
# ASCII digits only and \Z, not $ (which also matches before a trailing newline).
ID_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*-[0-9]{3,}\Z")
PREFIX_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*\Z")

KNOWN_FIELDS: tuple[str, ...] = (
    "id", "title", "status", "phase", "size", "complexity", "risk", "depends_on",
    "blocked_reason", "blocked_from", "notes", "origin", "created", "updated",
)
# The order fields are written in when the orchestrator creates an item.
NEW_ITEM_ORDER: tuple[str, ...] = (
    "id", "title", "status", "phase", "size", "complexity", "risk", "depends_on",
    "blocked_reason", "blocked_from", "notes", "origin", "created", "updated",
)


def now_iso() -> str:
    """The current UTC time as written in BACKLOG.yaml (seconds, `Z`)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_id(prefix: str, number: int) -> str:
    """`WRK`, 7 -> `WRK-007`."""
    return f"{prefix}-{number:03d}"


def id_number(item_id: str) -> int:
    """`WRK-007` -> 7."""
    return int(item_id.rsplit("-", 1)[1])


def slugify(title: str, max_len: int = 40) -> str:
    """A file-name-safe slug of a title: `Add login page!` -> `add-login-page`."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return (slug[:max_len].rstrip("-")) or "item"


def level_rank(value: str | None, choices: tuple[str, ...]) -> int:
    """Position of an assessment on its scale; unknown counts as the top (cautious)."""
    if value in choices:
        return choices.index(value)
    return len(choices) - 1


@dataclass(frozen=True)
class Item:
    """One backlog item as read from BACKLOG.yaml (a snapshot; change it through the store)."""

    id: str
    title: str
    status: str
    phase: str | None = None
    size: str | None = None
    complexity: str | None = None
    risk: str | None = None
    depends_on: tuple[str, ...] = ()
    blocked_reason: str | None = None
    blocked_from: str | None = None
    notes: str | None = None
    origin: str | None = None
    created: str | None = None
    updated: str | None = None
    line: int = 0
    """1-based line of the item in BACKLOG.yaml (for messages)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys this version does not know; kept untouched."""

    @property
    def change_dir(self) -> str:
        """The item's change folder, relative to the project root."""
        return f"changes/{self.id}_{slugify(self.title)}"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        data: dict[str, Any] = {name: getattr(self, name) for name in KNOWN_FIELDS}
        data["depends_on"] = list(self.depends_on)
        data.update(self.extra)
        return data


@dataclass(frozen=True)
class Backlog:
    """A validated snapshot of BACKLOG.yaml."""

    schema_version: int
    prefix: str
    items: tuple[Item, ...]
    next_number: int
    """The number the next new id gets (never reused, also after a delete)."""
    warnings: tuple[str, ...] = ()
    by_id: dict[str, Item] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.by_id:
            self.by_id.update((i.id, i) for i in self.items)

    def get(self, item_id: str) -> Item:
        """The item with `item_id`; UnknownItemError suggesting close ids otherwise."""
        item = self.by_id.get(item_id) or self.by_id.get(item_id.strip().upper())
        if item is not None:
            return item
        raise UnknownItemError(f"no item {item_id!r}{suggest(item_id, self.items)}")

    def with_status(self, status: str) -> list[Item]:
        """Items in `status`, in file order."""
        return [i for i in self.items if i.status == status]


def suggest(text: str, items: tuple[Item, ...] | list[Item]) -> str:
    """`; did you mean WRK-001?` for a mistyped id (or a number, or words of a title)."""
    ids = [i.id for i in items]
    hits = difflib.get_close_matches(text.upper(), ids, n=3, cutoff=0.6)
    digits = "".join(c for c in text if c.isdigit())
    if digits:
        hits += [i for i in ids if id_number(i) == int(digits) and i not in hits]
    words = text.lower()
    hits += [i.id for i in items if len(words) > 2 and words in i.title.lower()
             and i.id not in hits][:3]
    return f"; did you mean {', '.join(hits[:3])}?" if hits else "; `orchestrate status` lists them"


# --- control characters: never to a terminal ----------------------------------------------
# C0 controls but tab and newline, DEL, and C1 controls: an escape sequence in a title
# would be obeyed by the terminal that shows it (retitle it, hide text, worse).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NAMES = {"\x1b": "ESC", "\x07": "BEL", "\x08": "BS", "\r": "CR", "\x00": "NUL",
          "\x7f": "DEL", "\x9b": "CSI", "\n": "newline", "\t": "tab"}


def visible(text: str, *, one_line: bool = False) -> str:
    """`text` with every control character shown as an escape (`\\x1b`), so printing it
    never drives the terminal; with `one_line`, newlines and tabs are escaped too."""
    if text.isprintable():  # the common case, checked in C: no control character at all
        return text
    pattern = _CONTROL_OR_NEWLINE if one_line else _CONTROL
    if not pattern.search(text):
        return text
    return pattern.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def control_problem(what: str, text: str | None, *, newlines: bool = False) -> str | None:
    """Why a person's `text` is refused (`the title has a control character \\x1b (ESC)
    at character 3: remove it`), or None when it has none."""
    if not text:
        return None
    match = (_CONTROL if newlines else _CONTROL_OR_NEWLINE).search(text)
    if match is None:
        return None
    char = match.group()
    name = _NAMES.get(char, "a control character")
    return (f"the {what} has a control character \\x{ord(char):02x} ({name}) at character "
            f"{match.start() + 1}: remove it")
