"""An attempt whose process supervision itself raises (not the agent failing: our own
code, the disk, the kernel) says what raised, not a secondary error of the cleanup."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import make_project, ready, run_pipeline

from app.engine.agent_process import AgentProcess
from app.engine.events import Notice


def test_an_error_inside_an_attempt_is_reported_as_itself(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: AgentProcess) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(AgentProcess, "run", broken)
    project = make_project(tmp_path / "p", [ready()], script={"default": "complete"})
    finished, rec = run_pipeline(project)
    said = " ".join(n.text for n in rec.of(Notice)) + " " + finished.reason
    assert "No space left on device" in said, said
    assert "cannot access local variable" not in said
