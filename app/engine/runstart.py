"""What a run and a triage batch both do before their first agent, in one place."""

from __future__ import annotations

import os

from app.engine.attempts import preflight
from app.engine.config import Config
from app.engine.events import EventBus, Notice, RunStarted
from app.engine.project import Project
from app.engine.runlock import reap_orphan


def begin(project: Project, config: Config, bus: EventBus, kind: str) -> str | None:
    """Announce the run, stop a crashed run's orphaned agents, check the agent command.

    Call it holding the run lock. Returns why the run cannot start (a failure that would
    hit every item, such as a missing agent command), or None.
    """
    project.ensure_state_dirs()
    bus.emit(RunStarted(kind=kind, pid=os.getpid()))
    for message in reap_orphan(project, config.agent.kill_grace_s):
        bus.emit(Notice(level="warning", text=message))
    for warning in config.warnings:
        bus.emit(Notice(level="warning", text=warning))
    failure, warnings = preflight(config.agent.command)
    for warning in warnings:
        bus.emit(Notice(level="warning", text=warning))
    return failure
