"""`orchestrate edit`, `move` and `undo` through the real console script (`python -m app`):
only what was asked changes (every comment and other line byte for byte), bad input is one
clear line and an untouched file, and undo walks back through every kind of change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli_groom import assert_refused, project, run

BACKLOG = """\
# our backlog: people edit it too
schema_version: 1
prefix: WRK
next_id: 5
items:
  # the first thing to do
  - id: WRK-001
    title: Add login   # short for now
    status: ready
    size: small
    depends_on: []
    created: 2026-11-24T10:00:00Z
    updated: 2026-11-24T10:00:00Z
  - id: WRK-002
    title: Rate limits
    status: new
    depends_on: [WRK-001]
    # ask ops about the numbers
    created: 2026-11-24T10:00:00Z
    updated: 2026-11-24T10:00:00Z

  # later
  - id: WRK-003
    title: Export
    status: blocked
    blocked_reason: which format?
    blocked_from: ready
    created: 2026-11-24T10:00:00Z
    updated: 2026-11-24T10:00:00Z
  - id: WRK-004
    title: Search
    status: new
    created: 2026-11-24T10:00:00Z
    updated: 2026-11-24T10:00:00Z
# end of the list
"""

ORDER = ["WRK-001", "WRK-002", "WRK-003", "WRK-004"]


def order(path: Path) -> list[str]:
    return [line.split("id: ")[1].strip() for line in path.read_text().splitlines()
            if line.startswith("  - id: ")]


def history(tmp_path: Path) -> list[dict[str, object]]:
    text = (tmp_path / ".orchestrator" / "history.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


# --- edit --------------------------------------------------------------------------------------
def test_edit_changes_only_the_values_asked(tmp_path: Path) -> None:
    path = project(tmp_path, BACKLOG)
    r = run(tmp_path, "edit", "WRK-001", "--title", "Add the login page", "--size", "medium",
            "--risk", "low")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "WRK-001 edited: title, size, risk"
    text = path.read_text()
    changed = [line for line in text.splitlines() if line not in BACKLOG.splitlines()]
    assert changed[0] == "    title: Add the login page   # short for now"
    assert changed[1] == "    size: medium"
    assert changed[2].startswith("    updated: ")
    assert changed[3] == "    risk: low"  # a key it lacked: after its last one
    assert len(changed) == 4
    # Every other line as it was, in order.
    kept = [line for line in BACKLOG.splitlines() if not line.startswith(
        ("    title: Add login", "    size: small", "    updated: 2026-11-24T10:00:00Z"))]
    assert [line for line in text.splitlines() if line in kept] == kept


def test_edit_dependencies_notes_and_clearing(tmp_path: Path) -> None:
    path = project(tmp_path, BACKLOG)
    assert run(tmp_path, "edit", "WRK-004", "--add-dep", "wrk-001", "--add-dep",
               "WRK-002").returncode == 0
    assert "    depends_on: [WRK-001, WRK-002]" in path.read_text()
    assert run(tmp_path, "edit", "WRK-004", "--remove-dep", "WRK-001").returncode == 0
    r = run(tmp_path, "edit", "WRK-004", "--depends-on", "WRK-001,WRK-003", "--notes",
            "two\nlines", "--json")
    data = json.loads(r.stdout)
    assert data["depends_on"] == ["WRK-001", "WRK-003"] and data["notes"] == "two\nlines"
    assert data["changed"] == ["notes", "depends_on"]
    r = run(tmp_path, "edit", "WRK-004", "--clear-deps", "--notes", "", "--size", "none")
    assert r.stdout.strip() == "WRK-004 edited: notes, depends_on"  # size was not set
    shown = json.loads(run(tmp_path, "show", "WRK-004", "--json").stdout)
    assert shown["depends_on"] == [] and shown["notes"] is None and shown["size"] is None
    r = run(tmp_path, "edit", "WRK-001", "--size", "small")
    assert r.stdout.strip() == "WRK-001 unchanged: it already was as asked"


@pytest.mark.parametrize(("args", "message"), [
    (["--size", "huge"], "size must be small, medium or large (or none to clear it), "
                         "not 'huge'"),
    (["--risk", "extreme"], "risk must be low, medium or high (or none to clear it), "
                            "not 'extreme'"),
    (["--add-dep", "WRK-099"], "no item 'WRK-099' to depend on; did you mean"),
    (["--add-dep", "WRK-001"], "WRK-001 cannot depend on itself"),
    (["--remove-dep", "WRK-004"], "WRK-001 does not depend on WRK-004 (it depends on nothing)"),
    (["--title", "  "], "an item needs a title"),
    (["--title", "evil \x1b]0;x\x07"], "the title has a control character \\x1b (ESC) at "
                                       "character 6: remove it"),
    (["--notes", "ring \x07"], "the notes has a control character \\x07 (BEL)"),
])
def test_edit_refuses_bad_values_and_leaves_the_file(tmp_path: Path, args: list[str],
                                                     message: str) -> None:
    path = project(tmp_path, BACKLOG)
    assert_refused(run(tmp_path, "edit", "WRK-001", *args), message)
    assert path.read_bytes() == BACKLOG.encode()


def test_a_dependency_cycle_is_refused_naming_it(tmp_path: Path) -> None:
    path = project(tmp_path, BACKLOG)  # WRK-002 depends on WRK-001
    r = run(tmp_path, "edit", "WRK-001", "--add-dep", "WRK-002")
    assert_refused(r, "WRK-001 → WRK-002 → WRK-001 would be a cycle")
    assert r.stderr.strip() == "orchestrate: WRK-001 → WRK-002 → WRK-001 would be a cycle"
    assert run(tmp_path, "edit", "WRK-004", "--add-dep", "WRK-002").returncode == 0
    bytes_before = path.read_bytes()
    assert_refused(run(tmp_path, "edit", "WRK-001", "--depends-on", "WRK-004"),
                   "WRK-001 → WRK-004 → WRK-002 → WRK-001 would be a cycle")
    assert path.read_bytes() == bytes_before


def test_edit_of_an_unknown_item_and_edit_without_changes(tmp_path: Path) -> None:
    path = project(tmp_path, BACKLOG)
    assert_refused(run(tmp_path, "edit", "WRK-099", "--size", "small"), "no item 'WRK-099'")
    r = run(tmp_path, "edit", "WRK-001")
    assert r.returncode == 2 and "nothing to change: give --title" in r.stderr
    assert path.read_bytes() == BACKLOG.encode()


# --- move --------------------------------------------------------------------------------------
def test_move_takes_the_items_comments_and_leaves_every_other_line(tmp_path: Path) -> None:
    path = project(tmp_path, BACKLOG)
    r = run(tmp_path, "move", "WRK-003", "--top")
    assert r.returncode == 0 and r.stdout.strip() == "WRK-003 moved: now #1 of 4"
    block = ("  # later\n  - id: WRK-003\n    title: Export\n    status: blocked\n"
             "    blocked_reason: which format?\n    blocked_from: ready\n"
             "    created: 2026-11-24T10:00:00Z\n    updated: 2026-11-24T10:00:00Z\n")
    assert path.read_text() == BACKLOG.replace(block, "").replace(
        "  # the first thing to do\n", block + "  # the first thing to do\n")
    assert order(path) == ["WRK-003", "WRK-001", "WRK-002", "WRK-004"]


@pytest.mark.parametrize(("args", "want"), [
    (["WRK-001", "--bottom"], ["WRK-002", "WRK-003", "WRK-004", "WRK-001"]),
    (["WRK-004", "--before", "WRK-002"], ["WRK-001", "WRK-004", "WRK-002", "WRK-003"]),
    (["WRK-001", "--after", "WRK-003"], ["WRK-002", "WRK-003", "WRK-001", "WRK-004"]),
    (["WRK-002", "--after", "WRK-004"], ["WRK-001", "WRK-003", "WRK-004", "WRK-002"]),
    (["wrk-004", "--top"], ["WRK-004", "WRK-001", "WRK-002", "WRK-003"]),
])
def test_move_puts_the_item_where_asked(tmp_path: Path, args: list[str],
                                        want: list[str]) -> None:
    path = project(tmp_path, BACKLOG)
    r = run(tmp_path, "move", *args, "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["order"] == want and data["moved"] is True
    assert want[data["position"] - 1] == data["id"] and data["total"] == 4
    assert order(path) == want
    # Each item's own lines are as they were.
    for item_id in ORDER:
        start = BACKLOG.index(f"  - id: {item_id}\n")
        own = BACKLOG[start:BACKLOG.index("updated:", start)]
        assert own in path.read_text()


def test_move_where_it_already_is_writes_nothing(tmp_path: Path) -> None:
    path = project(tmp_path, BACKLOG)
    r = run(tmp_path, "move", "WRK-001", "--top")
    assert r.stdout.strip() == "WRK-001 already stands there (#1 of 4)"
    assert path.read_bytes() == BACKLOG.encode()
    assert not (tmp_path / ".orchestrator" / "history.jsonl").exists()


def test_move_refusals(tmp_path: Path) -> None:
    path = project(tmp_path, BACKLOG)
    assert_refused(run(tmp_path, "move", "WRK-001", "--before", "WRK-001"),
                   "cannot move WRK-001 before itself")
    assert_refused(run(tmp_path, "move", "WRK-001", "--after", "WRK-009"), "no item 'WRK-009'")
    assert run(tmp_path, "move", "WRK-001").returncode == 2  # where to is required
    assert run(tmp_path, "move", "WRK-001", "--top", "--bottom").returncode == 2
    assert path.read_bytes() == BACKLOG.encode()


# --- undo --------------------------------------------------------------------------------------
def test_undo_walks_back_every_kind_of_change(tmp_path: Path) -> None:
    path = project(tmp_path, BACKLOG)
    steps = [
        ["add", "Reports", "--size", "large"],
        ["edit", "WRK-001", "--title", "Login", "--notes", "use oauth"],
        ["move", "WRK-004", "--top"],
        ["advance", "WRK-001", "--to", "prd"],
        ["unblock", "WRK-003", "--notes", "csv"],
        ["delete", "WRK-002"],
    ]
    texts = [path.read_text()]
    for step in steps:
        r = run(tmp_path, *step)
        assert r.returncode == 0, r.stderr
        texts.append(path.read_text())
    said = []
    for n in range(len(steps)):
        r = run(tmp_path, "undo")
        assert r.returncode == 0, r.stderr
        said.append(r.stdout.strip())
        back = json.loads(run(tmp_path, "status", "--json").stdout)["items"]
        was = texts[len(steps) - 1 - n]
        # The same items, in the same order, with the same fields (ids stay used).
        assert [(i["id"], i["title"], i["status"], i["phase"], i["notes"], i["depends_on"],
                 i["updated"]) for i in back] == _items(tmp_path, was)
    assert said == [
        "undid the delete of WRK-002: back at #3 of 5",
        "undid the unblock of WRK-003: back to blocked",
        "undid the advance of WRK-001: back to ready",
        "undid the move of WRK-004: back to #4 of 5",
        "undid the edit of WRK-001: back to ready (notes, title)",
        "undid the add of WRK-005: deleted (its id will not be reused)",
    ]
    # Every line as it was, in order, blank lines too; what is new is next_id and the keys
    # the changes added, back to null (`notes: null`).
    lines = path.read_text().splitlines()
    added = [line for line in lines if line not in BACKLOG.splitlines()]
    assert added[0] == "next_id: 6"
    assert all(line.startswith("    ") and line.endswith(": null") for line in added[1:])
    assert [line for line in lines if line not in added] == \
        BACKLOG.replace("next_id: 5\n", "").splitlines()
    assert_refused(run(tmp_path, "undo"), "nothing to undo")
    assert run(tmp_path, "add", "Again").stdout.startswith("WRK-006 added")
    assert [h["action"] for h in history(tmp_path)] == [
        *(s[0] for s in steps), *["undo"] * len(steps), "add"]


def _items(tmp_path: Path, text: str) -> list[tuple[object, ...]]:
    """What `status --json` says of the items of `text` (read in a folder of its own)."""
    other = tmp_path / "then"
    other.mkdir(exist_ok=True)
    (other / "BACKLOG.yaml").write_text(text)
    items = json.loads(run(other, "status", "--json").stdout)["items"]
    return [(i["id"], i["title"], i["status"], i["phase"], i["notes"], i["depends_on"],
             i["updated"]) for i in items]


def test_undo_refuses_when_the_item_changed_since(tmp_path: Path) -> None:
    path = project(tmp_path, BACKLOG)
    assert run(tmp_path, "edit", "WRK-004", "--title", "Search box").returncode == 0
    # A run (or a person, by hand) changes the item afterwards.
    path.write_text(path.read_text().replace("title: Search box\n    status: new",
                                             "title: Search box\n    status: ready"))
    before = path.read_bytes()
    r = run(tmp_path, "undo")
    assert_refused(r, "cannot undo the edit of WRK-004: it changed since (status new → ready)")
    assert path.read_bytes() == before
    # Deleted since: nothing to take back either.
    assert run(tmp_path, "move", "WRK-001", "--bottom").returncode == 0
    path.write_text(path.read_text().replace("    size: small\n", "    size: large\n"))
    assert_refused(run(tmp_path, "undo"), "cannot undo the move of WRK-001: it changed since "
                                          "(size small → large)")


def test_undo_of_a_delete_refuses_when_the_id_is_back(tmp_path: Path) -> None:
    path = project(tmp_path, BACKLOG)
    assert run(tmp_path, "delete", "WRK-004").returncode == 0
    path.write_text(path.read_text().replace(
        "# end of the list", "  - id: WRK-004\n    title: by hand\n    status: new\n"
                             "# end of the list"))
    assert_refused(run(tmp_path, "undo"),
                   "cannot undo the delete of WRK-004: an item WRK-004 is in the backlog again")


def test_undo_json_and_an_entry_without_what_undo_needs(tmp_path: Path) -> None:
    project(tmp_path, BACKLOG)
    assert run(tmp_path, "edit", "WRK-004", "--size", "large").returncode == 0
    data = json.loads(run(tmp_path, "undo", "--json").stdout)
    assert data["undid"] == "edit" and data["id"] == "WRK-004"
    assert data["item"]["size"] is None
    assert data["said"] == "undid the edit of WRK-004: back to new (size)"
    # A line an older orchestrate wrote: said, not guessed at.
    with (tmp_path / ".orchestrator" / "history.jsonl").open("a") as fh:
        fh.write('{"at": "2026-11-20T09:00:00Z", "action": "advance", "item": "WRK-001", '
                 '"from": "new", "to": "ready"}\n')
    assert_refused(run(tmp_path, "undo"), "cannot undo the advance of WRK-001 "
                                          "(2026-11-20T09:00:00Z): it was recorded without "
                                          "what undo needs")
