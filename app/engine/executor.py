"""Where an attempt runs: the executor interface between the pipeline and an agent.

The pipeline decides *what* to attempt (an item, a phase, a prompt) and *what the answer
does*; an executor runs the attempt *somewhere* and reports how it ended. Today there is
one executor, `attempts.AttemptRunner`: a local process in the project's folder or in a
lane's git worktree. An attempt's inputs are a commit (the workspace's branch at its
head) and a prompt; its outputs are that branch (the agent's changes in the workspace,
which the pipeline checkpoints) and a result file. docs/engine.md ("Executors") says how
a remote executor (Kubernetes Jobs, Ray, SSH hosts) would plug in behind this interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from app.engine.project import Project

if TYPE_CHECKING:
    from app.backlog.model import Item
    from app.engine.attempts import AttemptReport, Judge


@dataclass(frozen=True)
class Workspace:
    """The checkout an attempt works in."""

    path: Path
    """The project's folder in that checkout: the agent's working directory."""
    branch: str | None = None
    """The lane's branch (`orchestrate/WRK-001`); None for the main checkout."""


@dataclass(frozen=True)
class AttemptFiles:
    """Where one attempt's files are: the one place that names them."""

    result: Path
    """Where the agent writes its result file: inside its workspace, which every permission
    mode lets it write to (a lane's worktree has its own git-ignored `.orchestrator/`)."""
    kept: Path
    """Where the run keeps the result afterwards: the main checkout's results folder."""
    log: Path
    """The attempt's log, in the main checkout."""


def attempt_files(project: Project, item_id: str, phase: str, attempt: int,
                  workspace: Workspace | None) -> AttemptFiles:
    """The files of attempt `attempt` of the item's phase, run in `workspace`."""
    name = f"{item_id}_{phase}_{attempt}"
    kept = (project.results_dir / f"{name}.json").resolve()
    result = kept if workspace is None else \
        (Project(workspace.path).results_dir / f"{name}.json").resolve()
    return AttemptFiles(result=result, kept=kept, log=project.logs_dir / f"{name}.log")


class Executor(Protocol):
    """Runs one phase attempt and judges its answer."""

    def next_attempt(self, item_id: str, phase: str) -> int:
        """The number of the next attempt of this item's phase (1 + the highest used)."""
        ...

    def files(self, item_id: str, phase: str, attempt: int,
              workspace: Workspace | None) -> AttemptFiles:
        """The attempt's files; `result` is the path the prompt gives the agent (where it
        will see it)."""
        ...

    def run(self, item: Item, phase: str, attempt: int, prompt: str, *,
            judge: Judge | None = None, workspace: Workspace | None = None) -> AttemptReport:
        """Run the attempt in `workspace` (None: the project's own folder), blocking until
        it ended; report PhaseStarted / AgentOutput / PhaseFinished on the run's bus and
        return how it ended. Must end the attempt early when the run is told to stop."""
        ...
