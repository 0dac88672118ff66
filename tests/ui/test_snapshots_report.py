"""Snapshot tests of the report view (`i`; SVG baselines in snapshots/test_snapshots_report/)
at 80x24 and 160x48, over a night of fixed records (tests/report_project.py).

Deterministic: the records' times are fixed, the charts' clock labels are shown in UTC
(TZ is set for the test), the App's clock is fixed and file watching is off. Update with
`pytest -p no:xdist tests/ui/test_snapshots_report.py --snapshot-update`, after looking.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SNAPSHOT_DIR
from report_project import make_report_project
from test_board_reading import settle_all
from textual.pilot import Pilot

from app.engine.project import Project
from app.ui.app import BoardApp


@pytest.fixture
def night(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield make_report_project(tmp_path / "project")
    monkeypatch.undo()
    time.tzset()


def board_app(project: Project) -> BoardApp:
    return BoardApp(project, watch_files=False, clock=lambda: 1192.0)


async def open_report(pilot: Pilot[int]) -> None:
    await settle_all(pilot)
    await pilot.press("i")
    await settle_all(pilot, 0.2)


def test_report_80x24(snap_compare: Any, night: Project) -> None:
    """`i` at 80x24: the title line `report · 27 attempts (1 met a usage limit) · $9.45 ·
    20:50 → 05:40 (8h50m)`; the timeline with its legend (complete, blocked, failed,
    timeout, limited in their colours), a `paused` row with a grey line from 23:20 to
    23:50 and two lanes whose bars stop there, time labels Mon 22:00 … Tue 04:00; below
    it cost per hour (a bar for every hour, the highest about $2.70) beside success per
    phase (triage 100% … review 67%, each bar on its own row with its share after it).
    Footer: esc Close."""
    assert snap_compare(board_app(night), terminal_size=(80, 24), run_before=open_report)


def test_report_160x48(snap_compare: Any, night: Project) -> None:
    """`i` at 160x48: taller charts, the items' ids (WRK-001, WRK-002, WRK-003, WRK-005)
    over their runs of attempts in the lanes, hourly time labels from Mon 21:00; below the
    charts the tables start: `by phase` (triage … review with attempts, success, median,
    p90, tokens and cost), then `by agent`."""
    assert snap_compare(board_app(night), terminal_size=(160, 48), run_before=open_report)


def test_baselines_live_in_snapshots_folder() -> None:
    """One SVG per snapshot test above, in snapshots/test_snapshots_report/, none stale."""
    folder = SNAPSHOT_DIR / Path(__file__).stem
    assert {p.name for p in folder.glob("*.svg")} == {
        f"{name}.svg" for name in globals() if name.startswith("test_report_")}
