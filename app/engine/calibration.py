"""Triage calibration, for `orchestrate report`: the size and risk items were assessed at,
against what they then took (cost, time, attempts), and how often the assessment changed.

Only done items count: one still going has not yet taken what it will take. An item's
assessment is its initial one where the records hold it, else its fields now. The
initial assessment of a field is the first agent answer that gave it (the worklog's
`assessment`, recorded since the report came; triage's in the usual flow), else the
value the item was added with (history.jsonl's add); the final one is the item's field
now. Attempts are those that answered for the item (not a usage limit, not a stop);
cost and time are every attempt's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from app.backlog.model import LEVELS, SIZES, Item
from app.engine.records import Attempt, Change
from app.structs import Struct

FIELDS = ("size", "risk")
"""The assessment the report calibrates (the guardrails' two)."""
UNASSESSED = "unassessed"


class Row(Struct, frozen=True):
    """The done items assessed at one value of one field, and what they took on average."""

    field: str
    value: str
    items: int
    mean_cost_usd: float
    mean_duration_s: float
    mean_attempts: float


class Reassessed(Struct, frozen=True):
    """How many items' `field` went from `initial` to `final`."""

    field: str
    initial: str
    final: str
    items: int


class Calibration(Struct, frozen=True):
    rows: tuple[Row, ...] = ()
    reassessed: tuple[Reassessed, ...] = ()
    """Only the changed ones."""
    compared: int = 0
    """(item, field) pairs with both an initial and a final value on record."""
    unchanged: int = 0


def initial_assessment(attempts: Sequence[Attempt], changes: Sequence[Change]
                       ) -> dict[str, str]:
    """An item's initial assessment (module docstring); its attempts and changes, oldest
    first."""
    found: dict[str, str] = {}
    for attempt in attempts:
        for name in FIELDS:
            value = attempt.assessment.get(name)
            if value and name not in found:
                found[name] = value
    added = next((c.now for c in changes if c.action == "add"), {})
    for name in FIELDS:
        value = added.get(name)
        if name not in found and isinstance(value, str) and value:
            found[name] = value
    return found


def _order(name: str) -> tuple[str, ...]:
    return (*(SIZES if name == "size" else LEVELS), UNASSESSED)


def calibrate(items: Sequence[Item], attempts: Mapping[str, Sequence[Attempt]],
              changes: Mapping[str, Sequence[Change]]) -> Calibration:
    """The calibration over the done ones of `items`; `attempts` and `changes` by item id,
    each oldest first."""
    measured: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
    moved: dict[tuple[str, str, str], int] = {}
    compared = unchanged = 0
    for item in items:
        if item.status != "done":
            continue
        mine = attempts.get(item.id, ())
        initial = initial_assessment(mine, changes.get(item.id, ()))
        took = (sum(a.cost_usd or 0.0 for a in mine), sum(a.duration_s for a in mine),
                sum(1 for a in mine if a.counted))
        for name in FIELDS:
            final = getattr(item, name)
            value = initial.get(name) or final or UNASSESSED
            measured.setdefault((name, value), []).append(took)
            if name in initial and final:
                compared += 1
                if initial[name] == final:
                    unchanged += 1
                else:
                    key = (name, initial[name], final)
                    moved[key] = moved.get(key, 0) + 1
    rows = []
    for name in FIELDS:
        for value in _order(name):
            group = measured.get((name, value))
            if group:
                n = len(group)
                rows.append(Row(name, value, n, sum(g[0] for g in group) / n,
                                sum(g[1] for g in group) / n, sum(g[2] for g in group) / n))
    reassessed = tuple(Reassessed(f, a, b, n) for (f, a, b), n in sorted(moved.items()))
    return Calibration(tuple(rows), reassessed, compared, unchanged)
