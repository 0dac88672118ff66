"""A symlinked BACKLOG.yaml (kept in another folder, a notes repository say) is written
where it points (app/backlog/atomic.py): the board watches that folder too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, statuses
from test_board import settle, wait_for

from app.engine.project import Project
from app.ui.app import BoardApp
from widgets.board import BoardColumn

sys.path.insert(0, str(REPO / "tests"))
from engine_helpers import make_project, ready

pytestmark = pytest.mark.anyio


async def test_a_symlinked_backlog_is_watched_where_it_points(tmp_path: Path) -> None:
    """Writes go to the link's target (app/backlog/atomic.py), in another folder: a write
    by another process shows on the board."""
    project = make_project(tmp_path / "p", [ready(title="Add login page")])
    notes = tmp_path / "notes"
    notes.mkdir()
    target = notes / "our-backlog.yaml"
    project.backlog_path.rename(target)
    project.backlog_path.symlink_to(target)
    app = BoardApp(Project(project.root), watch_files=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: app.main.feed is not None and any(
            w.group == "watch-backlog" for w in app.workers))
        await pilot.pause(1.0)  # the watcher is set up (watchfiles imported, folders watched)
        moved = subprocess.run([sys.executable, "-m", "app", "-C", str(project.root),
                                "advance", "WRK-001", "--to", "scoped"],
                               capture_output=True, text=True, timeout=30)
        assert moved.returncode == 0, moved.stderr
        assert project.backlog_path.is_symlink()  # written through the link
        assert statuses(project) == {"WRK-001": "scoped"}
        await wait_for(pilot, lambda: "WRK-001" in
                       app.query_one("#col-scoped", BoardColumn).item_ids, timeout=10)
