"""The board tails an agent's attempt log, never a detached run's console log beside it."""

from __future__ import annotations

import os
from pathlib import Path

from app.ui.jobs.runwatch import newest_log


def test_the_newest_attempt_log_wins_over_a_newer_console_log(tmp_path: Path) -> None:
    attempt = tmp_path / "WRK-001_build_2.log"
    attempt.write_text("{}\n")
    console = tmp_path / "run-20261130-230000.log"
    console.write_text("run started\n")  # written on and on by a detached run
    os.utime(attempt, (1_000, 1_000))
    os.utime(console, (2_000, 2_000))
    (tmp_path / "notes.txt").write_text("x")
    assert newest_log(tmp_path) == attempt
    attempt.unlink()
    assert newest_log(tmp_path) is None


def test_with_lanes_the_selected_items_log_wins_and_the_tailed_one_stays(
        tmp_path: Path) -> None:
    """Several lanes write at once: the board tails the selected in-progress card's log,
    else keeps the log it tails while that is written (no hopping between lanes)."""
    one = tmp_path / "WRK-001_build_1.log"
    two = tmp_path / "WRK-002_prd_1.log"
    for path, at in ((one, 1_000), (two, 1_005)):
        path.write_text("{}\n")
        os.utime(path, (at, at))
    assert newest_log(tmp_path, now=1_010) == two
    assert newest_log(tmp_path, prefer="WRK-001", now=1_010) == one
    assert newest_log(tmp_path, current=one, now=1_010) == one  # still being written
    assert newest_log(tmp_path, current=one, now=1_000 + 60) == two  # gone quiet
    newer = tmp_path / "WRK-001_build_2.log"  # a new attempt of the tailed item
    newer.write_text("{}\n")
    os.utime(newer, (1_002, 1_002))
    assert newest_log(tmp_path, current=one, now=1_010) == two
