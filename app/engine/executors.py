"""The executors a run may use, by the name `[executor] kind` gives (default `local`).

`local` is this machine's (attempts.LocalExecutor), `ray` a Ray cluster's
(remote/executor.py, imported only then). Another executor registers its kind
with a factory; a run makes its executor from the configuration unless one is handed to
it (Pipeline, Triage: `executor=`). docs/engine.md ("Executors") says how one plugs in.
"""

from __future__ import annotations

from collections.abc import Callable

from app.engine.attempts import LocalExecutor
from app.engine.config import EXECUTOR_KINDS, Config
from app.engine.events import EventBus
from app.engine.executor import Executor
from app.engine.project import Project

Factory = Callable[[Project, Config, EventBus], Executor]
"""Makes a run's executor: one per run, told the run's bus."""

_FACTORIES: dict[str, Factory] = {"local": LocalExecutor}


def register(kind: str, factory: Factory) -> None:
    """Make `kind` a name `[executor] kind` may give, made by `factory`."""
    _FACTORIES[kind] = factory
    EXECUTOR_KINDS.add(kind)


def _ray(project: Project, config: Config, bus: EventBus) -> Executor:
    """A Ray cluster's: imported only when a run asks for it (it brings in Ray)."""
    from app.engine.remote.executor import RayExecutor

    return RayExecutor(project, config, bus)


_FACTORIES["ray"] = _ray


def make(project: Project, config: Config, bus: EventBus) -> Executor:
    """The run's executor, as its configuration names it."""
    return _FACTORIES[config.executor.kind](project, config, bus)
