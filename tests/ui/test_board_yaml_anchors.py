"""The board on a BACKLOG.yaml with anchors, aliases, a merge key and comments: it opens,
and a move (`>`) and an add (`a`) are written through the round-trip writer, keeping them
(app/backlog/roundtrip.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import make_board_project
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from app.engine.project import Project
from app.ui.app import BoardApp
from app.ui.dialogs.items import AddItemScreen
from app.ui.dialogs.moves import AdvanceScreen
from widgets.board import BoardColumn

pytestmark = pytest.mark.anyio

SHARED = """\
# The team's backlog -- shared defaults below
schema_version: 1
prefix: WRK
defaults: &defaults   # every item starts from these
  status: new
  size: small
items:
  # the first one
  - id: WRK-001
    <<: *defaults
    title: &login Login page   # the anchor of a title
  - id: WRK-002
    <<: *defaults
    title: *login
    status: ready
# the end
"""


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until loads, detail gathering and backlog actions are done and painted."""
    app = pilot.app
    for _ in range(100):
        busy = [w for w in app.workers if w.group in ("load", "detail", "action")
                and not w.is_finished]
        if not busy:
            break
        await app.workers.wait_for_complete(busy)
        await pilot.pause()
    await pilot.pause()


async def wait_for(pilot: Pilot[Any], condition: Callable[[], object],
                   timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await pilot.pause(0.05)


def kept(text: str) -> None:
    for part in ("defaults: &defaults   # every item starts from these\n", "<<: *defaults",
                 "&login", "# The team's backlog", "# the first one", "# the end"):
        assert part in text, part


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_board_project(tmp_path / "project", SHARED)


async def test_moving_and_adding_on_the_board_keep_anchors_aliases_and_comments(
        project: Project) -> None:
    app = BoardApp(project, watch_files=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.main.board.selected_id == "WRK-001"  # read, not refused
        await pilot.press("greater_than_sign")
        assert isinstance(app.screen, AdvanceScreen)
        targets = app.screen.query_one("#advance-targets", OptionList)
        targets.highlighted = app.screen.targets.index("scoped")
        await pilot.press("enter")  # new -> scoped
        await settle(pilot)
        await wait_for(pilot, lambda: "WRK-001" in app.query_one("#col-scoped",
                                                                 BoardColumn).item_ids)
        text = project.backlog_path.read_text(encoding="utf-8")
        kept(text)
        assert "  status: new\n  size: small\n" in text  # the shared defaults, unchanged
        backlog = project.store().load()
        assert [(i.id, i.status, i.size, i.title) for i in backlog.items] == [
            ("WRK-001", "scoped", "small", "Login page"),
            ("WRK-002", "ready", "small", "Login page")]

        await pilot.press("a")
        assert isinstance(app.screen, AddItemScreen)
        await pilot.press(*"Audit log")
        app.screen.query_one("#add-notes", Input).value = "who changed what"
        await pilot.press("enter")
        await settle(pilot)
        await wait_for(pilot, lambda: app.main.board.selected_id == "WRK-003")
        text = project.backlog_path.read_text(encoding="utf-8")
        kept(text)
        assert text.endswith("# the end\n")
        item = project.store().load().get("WRK-003")
        assert (item.title, item.status, item.notes) == ("Audit log", "new", "who changed what")
