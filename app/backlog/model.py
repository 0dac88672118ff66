"""The backlog's vocabulary: statuses, phases, assessments, ids, and the Item record."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

STATUSES: tuple[str, ...] = (
    "new", "scoped", "researching", "ready", "in_progress", "done", "blocked",
)
PHASES: tuple[str, ...] = ("prd", "research", "design", "spec", "build", "review")
PHASE_TITLES: dict[str, str] = {
    "prd": "PRD", "research": "Research", "design": "Design",
    "spec": "Spec", "build": "Build", "review": "Review",
}
# Steps that run before the workflow proper (triage, investigate) share the agent contract.
PRE_PHASES: tuple[str, ...] = ("triage", "investigate")
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
