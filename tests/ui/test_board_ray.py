"""The board running items on a real Ray cluster (`[executor] kind = "ray"`): the header
and the log pane say on which node the live attempt runs, and the agent's lines stream
into the pane from the worker as they come."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import REPO
from ray_helpers import RAY_GROUP, LocalCluster, needs_ray, ray_executor
from test_board import settle, wait_for

from app.ui.app import BoardApp
from widgets.logpane import LogPane
from widgets.status import RunHeader

sys.path.insert(0, str(REPO / "tests"))
from engine_helpers import make_project, ready

pytestmark = [pytest.mark.anyio, needs_ray, RAY_GROUP]


async def test_the_header_and_log_pane_name_the_node_of_a_remote_attempt(
        tmp_path: Path, ray_cluster: LocalCluster) -> None:
    script = {"default": "complete", "prd": {"mode": "slow", "lines": 12}}
    project = make_project((tmp_path / "p").resolve(), [ready(title="On the cluster")],
                           script=script, git=True, executor=ray_executor(ray_cluster))
    app = BoardApp(project, watch_files=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        header = app.query_one(RunHeader)
        await wait_for(pilot, lambda: "on 127.0.0.1" in str(header.render()), timeout=60)
        assert "WRK-001 · prd · attempt 1 · on 127.0.0.1" in str(header.render())
        pane = app.query_one(LogPane)
        assert pane.source.endswith("· on 127.0.0.1"), pane.source
        await wait_for(pilot, lambda: any("slow line 3" in line
                                          for line in pane.log_view.lines), timeout=30)
        await wait_for(pilot, lambda: app.main.run_state == "idle", timeout=120)
