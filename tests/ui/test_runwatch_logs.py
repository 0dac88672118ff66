"""The board tails an agent's attempt log, never a detached run's console log beside it."""

from __future__ import annotations

import os
from pathlib import Path

from app.ui.runwatch import newest_log


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
