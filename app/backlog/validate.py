"""BACKLOG.yaml checked against its format: one located message per problem.

`validate` turns an indexed document (app/backlog/yamldoc.py) into a `Backlog` snapshot, or
raises a BacklogError naming the place: `BACKLOG.yaml:LINE:COL: message`. Unknown keys are
kept and reported as warnings, never errors, so a newer file still opens.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.backlog import yamldoc
from app.backlog.model import (
    ASSESSMENT_CHOICES,
    ID_PATTERN,
    KNOWN_FIELDS,
    PHASES,
    PREFIX_PATTERN,
    STATUSES,
    Backlog,
    Item,
    id_number,
)
from app.errors import BacklogError

SCHEMA_VERSION = 1
"""The newest BACKLOG.yaml format this orchestrate reads and writes."""
TOP_LEVEL_KEYS = ("schema_version", "prefix", "next_id", "items")


def _where(path: Path, line: int, col: int | None = None) -> str:
    return f"{path.name}:{line}:{col}" if col else f"{path.name}:{line}"


def validate(doc: yamldoc.Document, path: Path) -> Backlog:
    """Check the document against the format in DESIGN.md and build a snapshot."""
    warnings: list[str] = []
    root = doc.root.entries

    def fail(entry_line: int, col: int, message: str) -> BacklogError:
        return BacklogError(f"{_where(path, entry_line, col)}: {message}")

    version_entry = root.get("schema_version")
    if version_entry is None:
        version = SCHEMA_VERSION
        warnings.append(f"{path.name}: no schema_version; assuming {SCHEMA_VERSION}")
    else:
        version = version_entry.value
        if not isinstance(version, int) or isinstance(version, bool):
            raise fail(version_entry.line, version_entry.column,
                       f"schema_version must be a whole number, not {version!r}")
        if version > SCHEMA_VERSION:
            raise fail(version_entry.line, version_entry.column,
                       f"schema_version {version} is newer than this orchestrate understands "
                       f"({SCHEMA_VERSION}); upgrade orchestrate")
        if version < 1:
            raise fail(version_entry.line, version_entry.column,
                       f"schema_version must be 1 or more, not {version}")

    prefix_entry = root.get("prefix")
    if prefix_entry is None:
        raise BacklogError(f"{path.name}:1: no prefix (add e.g. `prefix: WRK`)")
    prefix = prefix_entry.value
    if not isinstance(prefix, str) or not PREFIX_PATTERN.match(prefix):
        raise fail(prefix_entry.line, prefix_entry.column,
                   f"prefix must be capital letters and digits, starting with a letter "
                   f"(like WRK), not {prefix!r}")

    for key, entry in root.items():
        if key not in TOP_LEVEL_KEYS:
            warnings.append(f"{_where(path, entry.line)}: unknown top-level key {key!r} (kept)")

    items_entry = root.get("items")
    if items_entry is not None and items_entry.value is not None and not isinstance(
            items_entry.value, list):
        raise fail(items_entry.line, items_entry.column,
                   "items must be a list of items (`items: []` when empty)")

    items: list[Item] = []
    seen: dict[str, int] = {}
    for index in doc.items:
        item = _validate_item(index, path, warnings, doc.text)
        if item.id in seen:
            raise fail(index.line, index.column,
                       f"duplicate id {item.id} (first at line {seen[item.id]}); "
                       "give one of them a new id")
        seen[item.id] = index.line
        items.append(item)

    highest = max((id_number(i.id) for i in items if i.id.startswith(prefix + "-")), default=0)
    next_entry = root.get("next_id")
    next_number = highest + 1
    if next_entry is not None:
        if not isinstance(next_entry.value, int) or next_entry.value < 1:
            raise fail(next_entry.line, next_entry.column,
                       f"next_id must be a positive whole number, not {next_entry.value!r}")
        next_number = max(next_number, next_entry.value)

    for item in items:
        for dep in item.depends_on:
            if dep not in seen:
                warnings.append(f"{_where(path, item.line)}: {item.id} depends on unknown {dep}")
    return Backlog(version, prefix, tuple(items), next_number, tuple(warnings))


def _validate_item(index: yamldoc.MapIndex, path: Path, warnings: list[str],
                   source: str = "") -> Item:
    e = index.entries

    def fail(key: str | None, message: str) -> BacklogError:
        entry = e.get(key) if key else None
        line, col = (entry.line, entry.column) if entry else (index.line, index.column)
        return BacklogError(f"{_where(path, line, col)}: {message}")

    raw_id = e["id"].value if "id" in e else None
    if raw_id is None:
        raise fail(None, "item without an id (add `id: PREFIX-NNN`)")
    item_id = str(raw_id)
    if not ID_PATTERN.match(item_id):
        raise fail("id", f"invalid id {item_id!r}: ids look like WRK-001 "
                         "(capital letters and digits, a dash, three or more digits)")

    def text(key: str, required: bool = False) -> str | None:
        if key not in e or e[key].value is None:
            if required:
                raise fail(key, f"{item_id} has no {key}")
            return None
        entry = e[key]
        value = entry.value
        if isinstance(value, (list, dict)):
            raise fail(key, f"{item_id}: {key} must be text, not a {type(value).__name__}")
        if not isinstance(value, str) and entry.kind == "scalar" and source:
            # A title `1e3` or `1.10` means those characters, not a number.
            # A number or boolean is one token: the last one (after any anchor or tag).
            return source[entry.value_start:entry.value_end].split()[-1]
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    title = text("title", required=True)
    status = text("status", required=True)
    if status not in STATUSES:
        raise fail("status", f"{item_id}: unknown status {status!r} "
                             f"(expected one of: {', '.join(STATUSES)})")
    phase = text("phase")
    if phase is not None and phase not in PHASES:
        raise fail("phase", f"{item_id}: unknown phase {phase!r} "
                            f"(expected one of: {', '.join(PHASES)}, or null)")
    if status == "in_progress" and phase is None:
        warnings.append(f"{_where(path, index.line)}: {item_id} is in_progress without a phase; "
                        "it resumes at prd")
    assessed: dict[str, str | None] = {}
    for key, choices in ASSESSMENT_CHOICES.items():
        value = text(key)
        if value is not None and value not in choices:
            raise fail(key, f"{item_id}: {key} must be one of {', '.join(choices)}, "
                            f"not {value!r}")
        assessed[key] = value
    deps = _depends_on(e["depends_on"].value if "depends_on" in e else None, item_id,
                       lambda message: fail("depends_on", message))
    blocked_from = text("blocked_from")
    if blocked_from is not None and blocked_from not in STATUSES:
        raise fail("blocked_from", f"{item_id}: blocked_from must be a status, "
                                   f"not {blocked_from!r}")
    extra = {k: v.value for k, v in e.items() if k not in KNOWN_FIELDS}
    for key in extra:
        warnings.append(f"{_where(path, e[key].line)}: {item_id}: unknown key {key!r} (kept)")
    return Item(
        id=item_id, title=title or "", status=status, phase=phase,
        size=assessed["size"], complexity=assessed["complexity"], risk=assessed["risk"],
        depends_on=deps, blocked_reason=text("blocked_reason"), blocked_from=blocked_from,
        notes=text("notes"), origin=text("origin"), created=text("created"),
        updated=text("updated"), line=index.line, extra=extra,
    )


def _depends_on(raw: Any, item_id: str, fail: Callable[[str], BacklogError]
                ) -> tuple[str, ...]:
    """An item's dependencies: a list of ids, one id alone, or none (null, no key)."""
    if raw is None:
        return ()
    if isinstance(raw, list) and all(isinstance(d, str) for d in raw):
        deps = tuple(raw)
        bad = [d for d in deps if not ID_PATTERN.match(d)]
        if bad:
            raise fail(f"{item_id}: depends_on holds invalid ids {bad}")
        return deps
    if isinstance(raw, str) and ID_PATTERN.match(raw):
        return (raw,)
    raise fail(f"{item_id}: depends_on must be a list of ids like [WRK-001]")
