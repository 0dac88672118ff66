"""gitprobe: a run's first checkpoint takes what git was asked as the run began."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import counting_git, make_project

from app.engine import checkpoint, gitprobe
from app.engine.checkpoint import Checkpointer


def test_the_checkpointer_takes_the_early_answers_instead_of_asking_git(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path / "p", git=True)
    (project.root / "mine.txt").write_text("the person's, never committed\n")
    gitprobe.ask_early(project.root)
    gitprobe.ask_early(project.root)  # asked once: a second ask starts no more gits
    calls = counting_git(monkeypatch)
    cp = Checkpointer(project.root)
    assert cp.active and cp.toplevel == project.root.resolve()
    assert cp.dirty_at_phase_start() == {"mine.txt"}
    assert calls == []
    assert gitprobe.take(project.root) is None  # taken once


def test_early_answers_too_old_for_the_first_phase_are_asked_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path / "p", git=True)
    gitprobe.ask_early(project.root)
    cp = Checkpointer(project.root)
    (project.root / "late.txt").write_text("the person's, after the asking\n")
    monkeypatch.setattr(checkpoint, "KNOWN_FOR_S", 0.0)
    calls = counting_git(monkeypatch)
    assert cp.dirty_at_phase_start() == {"late.txt"}
    assert [c[0] for c in calls] == ["status"]


def test_a_folder_outside_git_still_turns_checkpoints_off_with_the_reason(
        tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    gitprobe.ask_early(project.root)
    cp = Checkpointer(project.root)
    assert not cp.active and "not in a git repository" in (cp.reason_off or "")


def test_checkpoints_off_still_collect_the_early_gits(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", git=True)
    gitprobe.ask_early(project.root)
    assert project.root.resolve() in gitprobe._asked
    Checkpointer(project.root, enabled=False)
    assert project.root.resolve() not in gitprobe._asked
