"""What a person may set, checked alike by `orchestrate edit` and the board's form
(app/backlog/model.py): assessments, dependency ids, cycles."""

from __future__ import annotations

import pytest

from app.backlog.model import (
    Item,
    choice_problem,
    choice_value,
    dependency_problem,
    parse_ids,
)

ITEMS = [
    Item("WRK-001", "one", "new", depends_on=("WRK-002",)),
    Item("WRK-002", "two", "new", depends_on=("WRK-003",)),
    Item("WRK-003", "three", "new"),
    Item("WRK-004", "four", "new", depends_on=("WRK-005",)),  # a hand-made cycle
    Item("WRK-005", "five", "new", depends_on=("WRK-004",)),
]


@pytest.mark.parametrize("value", [None, "small", "Medium", " large ", "none", "", "NONE"])
def test_allowed_sizes_and_clearing_words_pass(value: str | None) -> None:
    assert choice_problem("size", value) is None


def test_a_bad_value_names_the_field_and_the_allowed_values() -> None:
    assert choice_problem("complexity", "big") == (
        "complexity must be low, medium or high (or none to clear it), not 'big'")
    assert choice_value(" Low ") == "low" and choice_value("none") is None


def test_ids_are_read_by_commas_or_spaces_upper_cased_once_each() -> None:
    assert parse_ids(" wrk-001,WRK-002  wrk-001 ,, ") == ["WRK-001", "WRK-002"]
    assert parse_ids("") == []


def test_the_shortest_cycle_is_named_from_the_item_edited() -> None:
    assert dependency_problem(ITEMS, "WRK-003", ["WRK-001"]) == (
        "WRK-003 → WRK-001 → WRK-002 → WRK-003 would be a cycle")
    assert dependency_problem(ITEMS, "WRK-003", ["WRK-002"]) == (
        "WRK-003 → WRK-002 → WRK-003 would be a cycle")


def test_only_new_dependencies_are_checked() -> None:
    """A cycle or an unknown id written by hand before does not stop another change."""
    assert dependency_problem(ITEMS, "WRK-004", ["WRK-005", "WRK-003"]) is None
    gone = [*ITEMS[:2], Item("WRK-003", "three", "new", depends_on=("WRK-099",))]
    assert dependency_problem(gone, "WRK-003", ["WRK-099"]) is None
    problem = dependency_problem(gone, "WRK-003", ["WRK-099", "WRK-098"])
    assert problem is not None and problem.startswith("no item 'WRK-098' to depend on")


def test_an_item_cannot_depend_on_itself() -> None:
    assert dependency_problem(ITEMS, "WRK-003", ["WRK-003"]) == \
        "WRK-003 cannot depend on itself"


def test_an_item_round_trips_through_its_dict() -> None:
    item = Item("WRK-001", "t", "blocked", depends_on=("WRK-002",), blocked_reason="why",
                blocked_from="ready", extra={"estimate": [1, "2d"]})
    assert Item.from_dict(item.to_dict()) == item
