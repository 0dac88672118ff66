"""An executor with no agent process: each attempt is answered in this process, from the
same script the scripted agent reads (`--script PATH` in agent.command), by writing what
the agent would have written in the attempt's workspace.

It implements app/engine/executor.py's `Executor` from that interface alone (and the
engine's public helpers every executor shares: judging.py), so the pipeline, lanes and
triage tests that run once per executor prove that the run never depends on a process:
`[executor] kind = "inprocess"` (registered below) in a project's orchestrate.toml.

Modes: complete, progress, blocked, failed, no_result, garbage, wrong_id, crash, hang
(until stopped or timed out), usage_limit, not_logged_in; options: reason, summary,
assessment, follow_ups, needs_investigation, sleep, record, write, resolve, tick, resets_in.
Modes that need a process of their own (daemons, signals, binary output) are the local
executor's only.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from msgspec import structs

from app.backlog.model import Item
from app.engine import executors, judging
from app.engine.config import Config
from app.engine.events import AgentLine, AgentOutput, EventBus, PhaseStarted
from app.engine.executor import AttemptFiles, AttemptReport, Judge, UsageLimit, Workspace
from app.engine.project import Project

DOCS = {"prd": "PRD.md", "research": "RESEARCH.md", "design": "DESIGN.md",
        "spec": "SPEC.md", "review": "REVIEW.md", "investigate": "INVESTIGATION.md"}
SPEC_TEXT = ("# SPEC {id}\n\n## Phase 1: Groundwork\n\n- [ ] Add the data model\n"
             "- [ ] Write its tests\n\n## Phase 2: Wire it up\n\n- [ ] Connect the handler\n"
             "- [ ] Document the behaviour\n")
NOT_LOGGED_IN = ("the agent is not logged in (Not logged in · Please run /login): run "
                 "`claude` once and log in with /login (or set ANTHROPIC_API_KEY), then run "
                 "again")
COST_USD = 0.01
"""What every in-process attempt costs, as the scripted agent's one-turn answer does."""
_BOX = re.compile(r"^(\s*[-*] )\[ \]", re.M)


def behaviour(script: dict[str, Any], item_id: str, phase: str, attempt: int
              ) -> dict[str, Any]:
    """The scripted agent's lookup: items[ID][phase][attempt], ...[phase]["*"],
    ...[phase], items[ID]["default"], then the same without `items`."""
    scopes = []
    items = script.get("items")
    if isinstance(items, dict) and isinstance(items.get(item_id), dict):
        scopes.append(items[item_id])
    scopes.append(script)
    for scope in scopes:
        entry = scope.get(phase)
        if isinstance(entry, dict) and "mode" not in entry:
            entry = entry.get(str(attempt), entry.get("*"))
        if entry is None:
            entry = scope.get("default")
        if entry is not None:
            return dict(entry) if isinstance(entry, dict) else {"mode": str(entry)}
    return {"mode": "complete"}


def _script_of(command: tuple[str, ...]) -> dict[str, Any]:
    words = list(command)
    path = words[words.index("--script") + 1] if "--script" in words else None
    return dict(json.loads(Path(path).read_text())) if path else {}


class InProcessExecutor:
    """executor.Executor, answering in this process (module docstring)."""

    def __init__(self, project: Project, config: Config, bus: EventBus) -> None:
        self.project = project
        self.config = config
        self.bus = bus
        self.on_spend: Callable[[float], None] | None = None
        self._stop = threading.Event()
        self._item_stops: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self.scripts = {name: _script_of(agent.command) for name, agent in config.agents.items()}
        """Each agent's script (`--script PATH` in its command), by the agent's name."""

    # the interface ------------------------------------------------------------------------------
    def next_attempt(self, item_id: str, phase: str) -> int:
        return judging.next_attempt(self.project.logs_dir, self.project.results_dir,
                                    item_id, phase)

    def files(self, item_id: str, phase: str, attempt: int,
              workspace: Workspace | None) -> AttemptFiles:
        name = f"{item_id}_{phase}_{attempt}"
        kept = (self.project.results_dir / f"{name}.json").resolve()
        where = Project(workspace.path) if workspace is not None else self.project
        return AttemptFiles(result=(where.results_dir / f"{name}.json").resolve(), kept=kept,
                            log=self.project.logs_dir / f"{name}.log")

    def stop(self, now: bool = False) -> None:
        self._stop.set()

    def stop_item(self, item_id: str) -> None:
        self._stopper(item_id).set()

    def run(self, item: Item, phase: str, attempt: int, prompt: str, *,
            judge: Judge | None = None, workspace: Workspace | None = None,
            agent: str = "default") -> AttemptReport:
        files = self.files(item.id, phase, attempt, workspace)
        cwd = workspace.path if workspace is not None else self.project.root
        files.log.parent.mkdir(parents=True, exist_ok=True)
        files.result.parent.mkdir(parents=True, exist_ok=True)
        files.result.unlink(missing_ok=True)
        started = time.time()
        self.bus.emit(PhaseStarted(item_id=item.id, phase=phase, attempt=attempt,
                                   title=item.title, log_path=str(files.log), pid=0,
                                   branch=workspace.branch if workspace else None,
                                   agent=agent, kind=self.config.agent_named(agent).kind))
        answerer = _Answerer(self, item, phase, attempt, cwd, files,
                             behaviour(self.scripts.get(agent, {}), item.id, phase,
                                       attempt))
        report = structs.replace(answerer.answer(judge), exit_code=answerer.exit,
                                     duration_s=round(time.time() - started, 3),
                                     cost_usd=COST_USD, num_turns=1, agent=agent,
                                     kind=self.config.agent_named(agent).kind)
        if files.result != files.kept and files.result.exists():
            files.kept.write_bytes(files.result.read_bytes())
        judging.record_attempt(self.project.worklog_path, self.bus, item.id, phase, attempt,
                               started, report)
        return report

    # helpers -----------------------------------------------------------------------------------
    def _stopper(self, item_id: str) -> threading.Event:
        with self._lock:
            return self._item_stops.setdefault(item_id, threading.Event())

    def stopped(self, item_id: str) -> bool:
        return self._stop.is_set() or self._stopper(item_id).is_set()


class _Answerer:
    """One attempt's answer, as the scripted agent would give it."""

    def __init__(self, executor: InProcessExecutor, item: Item, phase: str, attempt: int,
                 cwd: Path, files: AttemptFiles, plan: dict[str, Any]) -> None:
        self.executor, self.item, self.phase, self.attempt = executor, item, phase, attempt
        self.cwd, self.files, self.plan = cwd, files, plan
        self.mode = str(plan.get("mode", "complete"))
        self.exit = int(plan.get("exit", 0))
        self.change_dir = cwd / item.change_dir

    def say(self, text: str) -> None:
        with self.files.log.open("a", encoding="utf-8") as log:
            log.write(json.dumps({"type": "assistant", "message": {
                "content": [{"type": "text", "text": text}]}}) + "\n")
        self.executor.bus.emit(AgentOutput(item_id=self.item.id, phase=self.phase,
                                           attempt=self.attempt,
                                           lines=(AgentLine("text", text),)))

    def wait(self, seconds: float | None) -> str | None:
        """Wait `seconds` (None: for ever, that is until the phase times out);
        `interrupted` or `timeout` when it ended so."""
        timeout = self.executor.config.agent.phase_timeout_s
        end = time.monotonic() + min(seconds if seconds is not None else timeout, timeout)
        while time.monotonic() < end:
            if self.executor.stopped(self.item.id):
                return "interrupted"
            time.sleep(0.02)
        return "timeout" if seconds is None or seconds >= timeout else None

    def answer(self, judge: Judge | None) -> AttemptReport:
        self.record("start")
        try:
            return self._answer(judge)
        finally:
            self.record("end")

    def _answer(self, judge: Judge | None) -> AttemptReport:
        plan, item = self.plan, self.item
        self.say(f"Starting the {self.phase} phase for {item.id}.")
        if self.mode == "not_logged_in":
            self.exit = 1
            return AttemptReport("failed", "Not logged in · Please run /login",
                                 global_failure=NOT_LOGGED_IN)
        ended = self.wait(float(plan.get("sleep", 0)))
        if self.mode == "usage_limit" and ended is None:
            resets = plan.get("resets_in")
            at = time.time() + float(resets) if resets is not None else None
            self.exit = 1
            limit = UsageLimit("You've hit your limit", at, "five_hour")
            return AttemptReport("limited", f"usage limit: {limit.message}", limit=limit)
        if self.mode == "hang" and ended is None:
            ended = self.wait(None)
        if ended == "interrupted":
            return AttemptReport("interrupted", "stopped by the person (the item resumes in "
                                 "this phase)")
        if ended == "timeout":
            return AttemptReport("timeout", f"timed out after "
                                 f"{self.executor.config.agent.phase_timeout_s:g} s "
                                 "(agent.phase_timeout_s)")
        self.write_files()
        said = self.act()
        if said is not None:
            return said
        return judging.judge_answer(self.files.result, item.id, self.phase, judge,
                                    why_missing=f"the agent exited with code {self.exit}",
                                    agent_said=None, global_failure=None)

    def act(self) -> AttemptReport | None:
        """Write the phase's files and answer as the mode says (a report: no file judged)."""
        mode, plan = self.mode, self.plan
        if mode == "crash":
            self.exit = int(plan.get("exit", 3))
            return AttemptReport("failed", "the agent wrote no result file: Traceback (most "
                                 "recent call last): | RuntimeError: the scripted agent "
                                 "crashed")
        if mode in ("blocked", "failed"):
            reason = plan.get("reason", "needs a decision from a person" if mode == "blocked"
                              else "the scripted agent failed")
            extra = {"blocked_reason": reason} if mode == "blocked" else {"reason": reason}
            self.write_result(mode, "blocked" if mode == "blocked" else reason, **extra)
            return None
        if mode in ("garbage", "no_result", "wrong_id"):
            self.write_doc()
            if mode == "garbage":
                self.files.result.write_text("{this is not json")
            elif mode == "wrong_id":
                self.write_result("complete", "done", item_id="ZZZ-999")
            return None
        if self.phase == "build":
            result = self.build()
            summary = plan.get("summary", "build step done" if result == "progress" else
                               "build finished")
        else:
            self.write_doc()
            result = "complete"
            summary = plan.get("summary", f"{self.phase} done for {self.item.id}")
        self.write_result(result, summary)
        return None

    def build(self) -> str:
        """Tick SPEC.md's boxes: one (`progress`), or all / `tick` of them (`complete`)."""
        spec = self.change_dir / "SPEC.md"
        if not spec.exists():
            return "complete"
        text = spec.read_text()
        if self.mode == "progress":
            ticks = bool(self.plan.get("tick", True))
            text = _BOX.sub(r"\1[x]", text, count=1 if ticks else 0) if ticks else text
            spec.write_text(text)
            return "progress" if _BOX.search(text) or not ticks else "complete"
        count = self.plan.get("tick")
        if count is None or count is True:
            spec.write_text(_BOX.sub(r"\1[x]", text))  # every box
        elif int(count) > 0:
            spec.write_text(_BOX.sub(r"\1[x]", text, count=int(count)))
        return "complete"

    def write_doc(self) -> None:
        name = DOCS.get(self.phase)
        if name is None:
            return
        self.change_dir.mkdir(parents=True, exist_ok=True)
        text = SPEC_TEXT.format(id=self.item.id) if self.phase == "spec" else (
            f"# {name[:-3].title()} for {self.item.id}\n\nWritten in process, attempt "
            f"{self.attempt}.\n")
        (self.change_dir / name).write_text(text)

    def write_files(self) -> None:
        if self.plan.get("resolve"):
            out = subprocess.run(["git", "diff", "--name-only", "--diff-filter=U"],
                                 cwd=self.cwd, capture_output=True, text=True).stdout
            for name in filter(None, out.splitlines()):
                subprocess.run(["git", "checkout", "--ours", "--", name], cwd=self.cwd)
        for name, text in dict(self.plan.get("write") or {}).items():
            path = self.cwd / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(str(text))

    def write_result(self, result: str, summary: str, **extra: Any) -> None:
        triage = self.phase in ("triage", "investigate")
        data: dict[str, Any] = {
            "item_id": self.item.id, "phase": self.phase, "result": result,
            "summary": summary, "blocked_reason": None,
            "assessment": self.plan.get("assessment", {"size": "small", "complexity": "low",
                                                       "risk": "low"} if triage else None),
            "follow_ups": self.plan.get("follow_ups", [])}
        if "needs_investigation" in self.plan:
            data["needs_investigation"] = bool(self.plan["needs_investigation"])
        data.update(extra)
        self.files.result.write_text(json.dumps(data))

    def record(self, what: str) -> None:
        folder = self.plan.get("record")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            Path(folder, f"{self.item.id}_{self.phase}.{what}").write_text(f"{time.time():.6f}\n")
            if what == "start":
                Path(folder, f"{self.item.id}_{self.phase}.cwd").write_text(str(self.cwd))


executors.register("inprocess", InProcessExecutor)
