"""The backlog's vocabulary: statuses, phases, assessments, ids, the Item record and the
Backlog snapshot (what every reader of BACKLOG.yaml gets, the board's widgets included)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from app.errors import UnknownItemError
from app.structs import Struct, field

STATUSES: tuple[str, ...] = (
    "new", "scoped", "researching", "ready", "in_progress", "to_review", "approved", "done",
    "blocked",
)
"""`to_review` and `approved` hold a lane's finished item for a person's review before its
merge (`[run] merge_when = "review"`): approved, a run merges it."""
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


class Item(Struct, frozen=True, gc=False):
    """One backlog item as read from BACKLOG.yaml (a snapshot; change it through the store).
    Plain data only, never in a cycle: untracked by the garbage collector (`gc=False`),
    which walked 10,000 of them again after each parse."""

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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Item:
        """The item `to_dict` gave (known fields by name, every other key an extra one)."""
        known = {k: v for k, v in data.items() if k in KNOWN_FIELDS}
        known["depends_on"] = tuple(known.get("depends_on") or ())
        return cls(**known, extra={k: v for k, v in data.items() if k not in KNOWN_FIELDS})


class Backlog(Struct, frozen=True, dict=True):
    """A validated snapshot of BACKLOG.yaml. (`dict=True`: room for `by_id`, derived from
    `items` once and neither compared nor shown as a field.)"""

    schema_version: int
    prefix: str
    items: tuple[Item, ...]
    next_number: int
    """The number the next new id gets (never reused, also after a delete)."""
    warnings: tuple[str, ...] = ()

    @cached_property
    def by_id(self) -> dict[str, Item]:
        """The items by id."""
        return {i.id: i for i in self.items}

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
    import difflib  # only for a mistyped id, not at every command's start

    ids = [i.id for i in items]
    hits = difflib.get_close_matches(text.upper(), ids, n=3, cutoff=0.6)
    digits = "".join(c for c in text if c.isdigit())
    if digits:
        hits += [i for i in ids if id_number(i) == int(digits) and i not in hits]
    words = text.lower()
    hits += [i.id for i in items if len(words) > 2 and words in i.title.lower()
             and i.id not in hits][:3]
    return f"; did you mean {', '.join(hits[:3])}?" if hits else "; `orchestrate status` lists them"


# --- what a person may set: checked alike by the CLI, the engine and the board's form ---------
CLEAR_WORDS: tuple[str, ...] = ("none", "")
"""What clears an assessment (`orchestrate edit WRK-001 --size none`)."""


def choice_problem(field_name: str, value: str | None) -> str | None:
    """Why `value` cannot be an item's `field_name` (size, complexity or risk), or None:
    `size must be small, medium or large (or none to clear it), not 'huge'`."""
    choices = ASSESSMENT_CHOICES[field_name]
    if value is None or value.strip().lower() in (*choices, *CLEAR_WORDS):
        return None
    allowed = ", ".join(choices[:-1]) + f" or {choices[-1]}"
    return f"{field_name} must be {allowed} (or none to clear it), not {value!r}"


def choice_value(value: str) -> str | None:
    """A valid size, complexity or risk as stored: lower case, None for `none`."""
    value = value.strip().lower()
    return None if value in CLEAR_WORDS else value


def parse_ids(text: str) -> list[str]:
    """`wrk-1, WRK-002 WRK-002` -> the ids written, upper case, each once, in order."""
    ids: list[str] = []
    for word in re.split(r"[\s,]+", text.strip()):
        if word and word.upper() not in ids:
            ids.append(word.upper())
    return ids


def dependency_problem(items: tuple[Item, ...] | list[Item], item_id: str,
                       depends_on: list[str] | tuple[str, ...]) -> str | None:
    """Why `item_id` cannot depend on `depends_on`, or None. Only what is new is checked (a
    dependency written by hand before stays): an id that names no item, the item itself,
    or a cycle (`WRK-001 → WRK-002 → WRK-001 would be a cycle`)."""
    by_id = {i.id: i for i in items}
    old = set(by_id[item_id].depends_on) if item_id in by_id else set()
    new = [d for d in depends_on if d not in old]
    for dep in new:
        if dep == item_id:
            return f"{item_id} cannot depend on itself"
        if dep not in by_id:
            return f"no item {dep!r} to depend on{suggest(dep, items)}"
    graph = {i.id: i.depends_on for i in items}
    graph[item_id] = tuple(depends_on)
    for dep in new:
        path = _path(graph, dep, item_id)
        if path:
            return " → ".join([item_id, *path]) + " would be a cycle"
    return None


def _path(graph: dict[str, tuple[str, ...]], start: str, goal: str) -> list[str] | None:
    """The shortest chain of dependencies from `start` to `goal` (both included), if any."""
    came: dict[str, str | None] = {start: None}
    queue = [start]
    for node in queue:  # breadth first: the shortest cycle is the clearest message
        if node == goal:
            path = [node]
            back = came[node]
            while back is not None:
                path.append(back)
                back = came[back]
            return path[::-1]
        for nxt in graph.get(node, ()):
            if nxt not in came:
                came[nxt] = node
                queue.append(nxt)
    return None


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
