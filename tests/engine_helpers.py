"""Shared helpers for the engine tests: a real project in a tmp dir, driven by the scripted
agent (a real subprocess speaking claude's protocol)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

from app.engine.events import Event, EventBus, Notice, RunFinished
from app.engine.pipeline import Pipeline
from app.engine.project import Project, init_project

AGENT = [sys.executable, "-m", "app.demo.scripted_agent", "-p", "{prompt}",
         "--output-format", "stream-json", "--verbose"]

T = TypeVar("T")

EXECUTOR = "local"
"""The executor the projects made now name (conftest's `executor_kind` sets it per test)."""

FAST: dict[str, dict[str, Any]] = {
    "agent": {"phase_timeout_s": 20, "kill_grace_s": 0.5},
    "run": {"max_retries": 1, "backoff_s": 0, "cooldown_s": 0, "circuit_breaker": 3},
    "triage": {"max_concurrent": 3},
}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table: `env = { HOME = "..." }`
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}"
                                for k, v in value.items()) + " }"
    return json.dumps(str(value))


def write_config(project: Project, sections: dict[str, dict[str, Any]]) -> None:
    lines = []
    for name, body in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in body.items()]
        lines.append("")
    project.config_path.write_text("\n".join(lines), encoding="utf-8")


def make_project(root: Path, items: list[dict[str, Any]] | tuple[()] = (), *,
                 script: dict[str, Any] | None = None, git: bool = False,
                 command: list[str] | None = None,
                 agents: dict[str, dict[str, Any]] | None = None,
                 **overrides: dict[str, Any]) -> Project:
    """A project with `items` (dicts of fields; `title` required), the scripted agent as
    its agent (script passed with --script, kept outside the project folder); `agents`:
    more agents by name (`[agents.NAME]`)."""
    root.mkdir(parents=True, exist_ok=True)
    init_project(root)
    project = Project(root.resolve())
    agent_cmd = list(command or AGENT)
    if script is not None and command is None:
        script_path = root.parent / f"{root.name}-script.json"
        script_path.write_text(json.dumps(script), encoding="utf-8")
        agent_cmd += ["--script", str(script_path)]
    sections: dict[str, dict[str, Any]] = {k: dict(v) for k, v in FAST.items()}
    sections["agent"]["command"] = agent_cmd
    for name, body in overrides.items():
        sections.setdefault(name, {}).update(body)
    for name, body in (agents or {}).items():
        sections[f"agents.{name}"] = dict(body)
    if EXECUTOR != "local":
        sections.setdefault("executor", {})["kind"] = EXECUTOR
    write_config(project, sections)
    with project.store().transaction() as tx:
        for fields in items:
            fields = dict(fields)
            tx.add(fields.pop("title"), **fields)
    if git:
        run_git(root, "init", "-q")
        run_git(root, "config", "user.name", "Test")
        run_git(root, "config", "user.email", "test@example.com")
        run_git(root, "config", "commit.gpgsign", "false")
        run_git(root, "add", "-A")
        run_git(root, "commit", "-q", "-m", "initial")
    return project


def run_git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return proc.stdout


def ready(**fields: Any) -> dict[str, Any]:
    """An item ready to run, within the default guardrails."""
    base = {"title": "Add login page", "status": "ready", "size": "small", "risk": "low"}
    base.update(fields)
    return base


class Recorder:
    """Collects every event of a bus."""

    def __init__(self, bus: EventBus) -> None:
        self.events: list[Event] = []
        bus.subscribe(self.events.append)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return not Path("/proc").is_dir()
    return stat[stat.rfind(")") + 2:].split()[0] != "Z"


def wait_for(predicate: Callable[[], T | Literal[False] | None], timeout: float = 20.0,
             interval: float = 0.02) -> T:
    """Poll until `predicate()` is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {predicate}")


def worklog_entries(project: Project) -> list[dict[str, Any]]:
    from app.engine import worklog

    return worklog.read(project.worklog_path)


def orchestrate(project: Project, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
    """`orchestrate ARGS` as a real process in the project (no TTY: plain output)."""
    return subprocess.Popen([sys.executable, "-m", "app", "-C", str(project.root), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)


# --- runs of the pipeline, and lanes ---------------------------------------------------------
def run_pipeline(project: Project, **kwargs: Any) -> tuple[RunFinished, Recorder]:
    """A whole run of the pipeline in this thread, with every event it reported."""
    bus = EventBus()
    recorder = Recorder(bus)
    return Pipeline(project, bus, **kwargs).run(), recorder


class Background:
    """A run in a thread, so the test can act on it while it works."""

    def __init__(self, project: Project) -> None:
        bus = EventBus()
        self.rec = Recorder(bus)
        self.pipeline = Pipeline(project, bus)
        self.result: list[RunFinished] = []
        self.thread = threading.Thread(target=lambda: self.result.append(self.pipeline.run()))
        self.thread.start()

    def finish(self, timeout: float = 30) -> RunFinished:
        self.thread.join(timeout)
        assert self.result, "the run did not finish"
        return self.result[0]

    def __enter__(self) -> Background:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.thread.is_alive():
            self.pipeline.request_stop()
            self.pipeline.request_stop()
            self.thread.join(30)


def notice_texts(rec: Recorder) -> list[str]:
    """The text of every Notice a run reported."""
    return [n.text for n in rec.of(Notice)]


def lanes_project(root: Path, n: int, script: dict[str, Any] | None = None,
                  parallel: int = 3, **sections: dict[str, Any]) -> Project:
    """A git project of `n` ready items (`Item 1`...) run in `parallel` lanes."""
    run_cfg = {"max_parallel": parallel, **sections.pop("run", {})}
    # command named, so that **sections (config sections) is not taken for it.
    return make_project(root, [ready(title=f"Item {i}") for i in range(1, n + 1)],
                        script=script, git=True, command=None, run=run_cfg, **sections)


def log_subjects(root: Path, *args: str) -> list[str]:
    """`git log --format=%s ARGS` in `root`, newest first."""
    return run_git(root, "log", "--format=%s", *args).splitlines()


def counting_git(monkeypatch: Any) -> list[tuple[str, ...]]:
    """Every git command the checkpointer (app/engine/checkpoint.py) runs from now on."""
    from app.engine import checkpoint

    calls: list[tuple[str, ...]] = []
    real = checkpoint._git

    def counted(cwd: Path, *args: str, stdin: bytes | None = None) -> Any:
        calls.append(args)
        return real(cwd, *args, stdin=stdin)

    monkeypatch.setattr(checkpoint, "_git", counted)
    return calls
