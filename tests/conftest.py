"""Shared fixtures: snapshot baselines kept in snapshots/, a board test project, a fake engine.

pytest-textual-snapshot has no folder option; subclassing its SVGImageExtension with a
`dirname` that points at `<repo>/snapshots/<test module>` and assigning it back works
because `snap_compare` looks the name up on each call (STYLE.md).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
import pytest_textual_snapshot
from syrupy.location import PyTestLocation

from app.backlog.model import Item
from app.engine.events import (
    AgentLine,
    AgentOutput,
    EventBus,
    ItemChanged,
    PhaseFinished,
    PhaseStarted,
    RunFinished,
    RunStarted,
)
from app.engine.project import Project

# Snapshots cached between processes (app/backlog/cache.py) go to a folder of this test
# session, never the person's own cache; subprocesses inherit it.
os.environ["ORCHESTRATE_CACHE_DIR"] = tempfile.mkdtemp(prefix="orchestrate-test-cache-")

REPO = Path(__file__).resolve().parent.parent
SNAPSHOT_DIR = REPO / "snapshots"
"""Where the SVG baselines live (one folder per test module)."""


class RepoSnapshots(pytest_textual_snapshot.SVGImageExtension):
    """Baselines in `<repo>/snapshots/<test module>/` instead of next to the tests."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(SNAPSHOT_DIR / test_location.basename)


pytest_textual_snapshot.SVGImageExtension = RepoSnapshots  # type: ignore[misc]

ORCHESTRATE: tuple[str, ...] = (sys.executable, "-m", "app")
"""The CLI as a command, found without the console script being on PATH."""
CLI_ENV = {"PYTHONPATH": str(REPO)}
"""What a minimal env needs so that `python -m app` imports this checkout."""


def stored_item(project: Project, item_id: str = "WRK-001") -> Item:
    """The item as BACKLOG.yaml holds it now."""
    return project.store().load().get(item_id)


def statuses(project: Project) -> dict[str, str]:
    """Every item's status, by id."""
    return {i.id: i.status for i in project.store().load().items}


def cells(strips: list[Any]) -> list[list[tuple[str, Any]]]:
    """Each line as (character, style without meta) per cell: what a person sees."""
    return [[(char, segment.style.clear_meta_and_links() if segment.style else None)
             for segment in strip for char in segment.text] for strip in strips]


BOARD_BACKLOG = """\
# A fixture backlog with fixed timestamps (snapshots must not depend on the clock).
schema_version: 1
prefix: WRK
next_id: 10
items:
  - id: WRK-001
    title: Add login page
    status: new
    phase: null
    size: small
    complexity: low
    risk: low
    depends_on: []
    blocked_reason: null
    blocked_from: null
    notes: Use the design system's form components.
    created: 2026-11-20T09:00:00Z
    updated: 2026-11-20T09:00:00Z
  - id: WRK-002
    title: Rate-limit the public API
    status: new
    phase: null
    size: null
    complexity: null
    risk: null
    depends_on: []
    blocked_reason: null
    blocked_from: null
    notes: null
    created: 2026-11-20T09:05:00Z
    updated: 2026-11-20T09:05:00Z
  - id: WRK-003
    title: Export tasks as CSV
    status: scoped
    phase: null
    size: medium
    complexity: medium
    risk: medium
    depends_on: []
    blocked_reason: null
    blocked_from: null
    notes: null
    created: 2026-11-20T09:10:00Z
    updated: 2026-11-21T10:00:00Z
  - id: WRK-004
    title: Dark mode for the settings screen
    status: ready
    phase: null
    size: small
    complexity: low
    risk: low
    depends_on: []
    blocked_reason: null
    blocked_from: null
    notes: null
    created: 2026-11-20T09:15:00Z
    updated: 2026-11-21T11:00:00Z
  - id: WRK-005
    title: Password reset by email
    status: in_progress
    phase: build
    size: medium
    complexity: medium
    risk: low
    depends_on: [WRK-001]
    blocked_reason: null
    blocked_from: null
    notes: Tokens expire after one hour.
    created: 2026-11-20T09:20:00Z
    updated: 2026-11-22T08:00:00Z
  - id: WRK-006
    title: Migrate sessions to Redis
    status: blocked
    phase: design
    size: large
    complexity: high
    risk: high
    depends_on: []
    blocked_reason: Which Redis cluster should sessions use? Ops has two.
    blocked_from: in_progress
    notes: null
    created: 2026-11-20T09:25:00Z
    updated: 2026-11-22T09:00:00Z
  - id: WRK-007
    title: Set up CI
    status: done
    phase: null
    size: small
    complexity: low
    risk: low
    depends_on: []
    blocked_reason: null
    blocked_from: null
    notes: null
    created: 2026-11-19T09:00:00Z
    updated: 2026-11-19T18:00:00Z
  - id: WRK-008
    title: Health-check endpoint
    status: done
    phase: null
    size: small
    complexity: low
    risk: low
    depends_on: []
    blocked_reason: null
    blocked_from: null
    notes: null
    created: 2026-11-19T10:00:00Z
    updated: 2026-11-20T12:00:00Z
  - id: WRK-009
    title: Investigate flaky upload test
    status: researching
    phase: null
    size: small
    complexity: medium
    risk: low
    depends_on: []
    blocked_reason: null
    blocked_from: null
    notes: null
    created: 2026-11-20T09:30:00Z
    updated: 2026-11-21T12:00:00Z
"""
"""Items in every status, with fixed timestamps."""

WORKLOG_ENTRIES: tuple[dict[str, Any], ...] = (
    {"item": "WRK-005", "phase": "prd", "attempt": 1, "start": "2026-11-21T10:00:00Z",
     "end": "2026-11-21T10:03:12Z", "duration_s": 192.0, "outcome": "complete",
     "cost_usd": 0.42, "num_turns": 7, "agent": "default", "kind": "claude"},
    {"item": "WRK-005", "phase": "build", "attempt": 1, "start": "2026-11-22T07:30:00Z",
     "end": "2026-11-22T07:45:00Z", "duration_s": 900.0, "outcome": "failed",
     "reason": "tests failed: 2 errors", "cost_usd": 1.1, "num_turns": 30, "agent": "codex",
     "kind": "codex", "input_tokens": 182000, "output_tokens": 9100},
)
"""Two attempts of WRK-005 in the fixture worklog."""


def make_board_project(root: Path, backlog: str = BOARD_BACKLOG) -> Project:
    """A project folder with the fixture backlog, a worklog and a change folder."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "BACKLOG.yaml").write_text(backlog)
    project = Project(root)
    project.ensure_state_dirs()
    project.worklog_path.write_text("".join(json.dumps(e) + "\n" for e in WORKLOG_ENTRIES))
    change = root / "changes" / "WRK-005_password-reset-by-email"
    change.mkdir(parents=True)
    for name in ("PRD.md", "research.md", "design.md", "SPEC.md"):
        (change / name).write_text(f"# {name}\n")
    return project


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts BACKLOG.yaml parses (the length of each text parsed), in this process."""
    from app.backlog import yamldoc

    calls: list[int] = []
    real = yamldoc.parse

    def counting(text: str) -> yamldoc.Document:
        calls.append(len(text))
        return real(text)

    monkeypatch.setattr(yamldoc, "parse", counting)
    return calls


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (marked `anyio`) run on asyncio, as Textual does."""
    return "asyncio"


@pytest.fixture
def board_project(tmp_path: Path) -> Project:
    """A project with the fixture backlog (items in every status)."""
    return make_board_project(tmp_path / "project")


class FakeEngine:
    """A stand-in for Pipeline: walks one ready item to done, emitting the engine's events.

    `gate` (when given) holds the run after the first agent output until it is set,
    so a test can look at the board mid-run.
    """

    def __init__(self, project: Project, bus: EventBus, target: str | None = None, *,
                 gate: threading.Event | None = None, lines: int = 3) -> None:
        self.project = project
        self.bus = bus
        self.target = target
        self.gate = gate
        self.lines = lines
        self.stop = threading.Event()
        self.pause = threading.Event()

    def request_stop(self) -> None:
        self.stop.set()
        if self.gate is not None:
            self.gate.set()

    def request_pause(self) -> None:
        self.pause.set()

    def run(self) -> RunFinished:
        from app.backlog.states import Target
        from app.engine.actions import move_in

        self.bus.emit(RunStarted(kind="run", pid=1))
        store = self.project.store()
        ready = store.load().with_status("ready")
        if not ready:
            finished = RunFinished(reason="no more work")
            self.bus.emit(finished)
            return finished
        item = ready[0]
        for n, phase in enumerate(("prd", "research", "design", "spec", "build", "review")):
            with store.transaction() as tx:
                move_in(tx, item.id, Target("in_progress", phase), by_person=False)
            self.bus.emit(ItemChanged(item_id=item.id, status="in_progress", phase=phase))
            self.bus.emit(PhaseStarted(item_id=item.id, phase=phase, attempt=1,
                                       title=item.title, at=1000.0 + n))
            batch = tuple(AgentLine("text", f"{phase} line {i}", f'{{"n": {i}}}')
                          for i in range(self.lines))
            batch += (AgentLine("tool", "Bash pytest -q", '{"type": "tool_use"}'),
                      AgentLine("error", "tool failed: exit 1", '{"is_error": true}'))
            self.bus.emit(AgentOutput(item_id=item.id, phase=phase, attempt=1, lines=batch))
            if self.gate is not None:
                self.gate.wait(10)
            if self.stop.is_set():
                self.bus.emit(PhaseFinished(item_id=item.id, phase=phase, attempt=1,
                                            outcome="interrupted"))
                finished = RunFinished(reason="stopped")
                self.bus.emit(finished)
                return finished
            self.bus.emit(PhaseFinished(item_id=item.id, phase=phase, attempt=1,
                                        outcome="complete", duration_s=1.0, cost_usd=0.25))
            if self.pause.is_set():
                finished = RunFinished(reason="paused")
                self.bus.emit(finished)
                return finished
        with store.transaction() as tx:
            move_in(tx, item.id, Target("done"), by_person=False)
        self.bus.emit(ItemChanged(item_id=item.id, status="done"))
        finished = RunFinished(reason="no more work", attempts=6, cost_usd=1.5)
        self.bus.emit(finished)
        return finished


# --- one suite, once per executor ---------------------------------------------------------------
import engine_helpers  # noqa: E402  (the helpers read which executor the test runs on)
import inprocess_executor  # noqa: E402, F401  (registers `[executor] kind = "inprocess"`)
from ray_helpers import ray_cluster  # noqa: E402, F401  (one test cluster for the session)

PER_EXECUTOR = {"test_pipeline.py", "test_lanes.py", "test_triage.py", "test_lanes_finish.py",
                "test_run_honesty.py", "test_lanes_faults.py"}
"""The engine's tests that run once per executor (as harlequin runs its suite once per
adapter): the local process one and the in-process one of tests/inprocess_executor.py.
A test that needs an agent process of its own is marked `local_only`."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "executor_kind" not in metafunc.fixturenames:
        return
    local_only = metafunc.definition.get_closest_marker("local_only") is not None
    if Path(str(metafunc.module.__file__)).name in PER_EXECUTOR and not local_only:
        # Other tests keep their ids (snapshots are named by them): the fixture's "local".
        metafunc.parametrize("executor_kind", ["local", "inprocess"], indirect=True)


@pytest.fixture(autouse=True)
def executor_kind(request: pytest.FixtureRequest) -> Any:
    """The executor a test's projects name (engine_helpers.make_project writes it)."""
    kind = getattr(request, "param", "local")
    engine_helpers.EXECUTOR = kind
    yield kind
    engine_helpers.EXECUTOR = "local"
