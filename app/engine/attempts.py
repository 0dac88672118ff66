"""One phase attempt from start to judgement, shared by the pipeline and triage.

Spawns the agent (AgentProcess), reports PhaseStarted / batched AgentOutput /
PhaseFinished, records run.json while the agent lives, writes the worklog line,
reads and validates the result file, and recognises failures that would hit
every item alike (agent missing, not logged in, refused to start, usage limit)
so the caller can stop the whole run instead of blocking item after item.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.backlog.model import Item
from app.engine import agents, fence, judging, mcpattempt, usage
from app.engine.agent_process import AgentProcess, AttemptSpec
from app.engine.config import AgentConfig, Config
from app.engine.events import (
    AgentLine,
    AgentOutput,
    EventBus,
    Notice,
    PhaseStarted,
)
from app.engine.executor import AttemptFiles, AttemptReport, Judge, Workspace
from app.engine.outcome import ProcessOutcome
from app.engine.project import Project
from app.engine.runlock import update_run_state, with_agents
from app.structs import Struct, replace

INSTALL_HINT = ("install Claude Code with `npm install -g @anthropic-ai/claude-code`, or "
                "point agent.command in orchestrate.toml at another agent")
_NOT_LOGGED_IN = re.compile(r"not logged in|please run /login|invalid api key|"
                            r"authentication[_ ]failed|oauth token has expired|"
                            r"incorrect api key|api key not valid|401 unauthorized|"
                            r"invalid auth method selected|API_KEY_INVALID", re.I)
_UNTRUSTED = re.compile(r"not running in a trusted directory", re.I)
_ROOT = re.compile(r"cannot be used with root/sudo", re.I)
_BAD_ARGS = re.compile(r"requires --verbose|error: unknown option|error: missing required "
                       r"argument|error: option '.*' argument missing", re.I)
_CREDIT = re.compile(r"credit balance is too low|quota exceeded\. check your plan and "
                     r"billing", re.I)
_NO_API = re.compile(r"unable to connect to api", re.I)
_LIMIT = re.compile(r"usage limit|rate[ _-]?limit|limit reached|too many requests", re.I)
"""Another agent's words for a limit with no structure to read: the run stops (exit 4).
Claude Code's own limits are recognised by limits.LimitDetector and pause the run."""


LOGIN_HINTS = {
    "claude": "run `claude` once and log in with /login (or set ANTHROPIC_API_KEY)",
    "amp": "run `amp login` (or set AMP_API_KEY)",
    "codex": "run `codex login`, or set OPENAI_API_KEY (an account's CODEX_HOME in its "
             "[agents.NAME] env)",
    "gemini": "set GEMINI_API_KEY and the auth type in ~/.gemini/settings.json",
    "opencode": "set the provider's apiKey in opencode.json (`opencode auth login`)",
}
"""How a person logs each kind of agent in."""


def install_hint(kind: str = "claude") -> str:
    """How to get an agent of `kind`, for a message that it is missing."""
    if kind == "claude":
        return INSTALL_HINT
    return (f"install it with `npm install -g {agents.kind(kind).package}`, or point its "
            "command in orchestrate.toml at another agent")


def global_failure(out: ProcessOutcome, kind: str = "claude") -> str | None:
    """A message for a failure that is not this item's fault, else None."""
    if out.start_error_kind in ("missing", "permission"):
        return f"{out.start_error}: {install_hint(kind)}"
    # Only the agent's own error channels: its words about the work (a feature named
    # "rate limiting") must never stop the run.
    texts = [out.error_text or "", *out.stderr_tail]
    blob = "\n".join(t for t in texts if t)
    if _NOT_LOGGED_IN.search(blob):
        said = out.error_text or next(
            (t.strip() for t in out.stderr_tail if _NOT_LOGGED_IN.search(t)), "Not logged in")
        hint = LOGIN_HINTS.get(kind, LOGIN_HINTS["claude"])
        return f"the agent is not logged in ({said}): {hint}, then run again"
    if _UNTRUSTED.search(blob):
        return ("gemini will not work in a folder it does not trust: add --skip-trust to its "
                "command (the preset has it), or set GEMINI_CLI_TRUST_WORKSPACE=true")
    if _ROOT.search(blob):
        return ("claude refuses --dangerously-skip-permissions as root/sudo: run orchestrate "
                "as a normal user (or in a sandbox user), or change agent.command in "
                "orchestrate.toml")
    if _BAD_ARGS.search(blob):
        said = next((t for t in reversed(out.stderr_tail) if _BAD_ARGS.search(t)),
                    out.error_text or "")
        return (f"the agent rejected its command line ({said.strip()}): fix agent.command "
                "in orchestrate.toml")
    if _NO_API.search(blob):
        said = out.error_text or "Unable to connect to API"
        return (f"the agent cannot reach the API ({said}): check the network, a proxy or "
                "ANTHROPIC_BASE_URL, then run again")
    if _CREDIT.search(blob):
        return ("the account's credit balance is too low: add credits (or log in with a "
                "subscription), then run again; waiting will not help")
    if _LIMIT.search(blob):
        said = out.error_text or next((t for t in out.stderr_tail if _LIMIT.search(t)), "")
        return (f"the agent hit a usage/rate limit ({said.strip() or 'limit reached'}): "
                "wait until it resets, then run again")
    return None


def preflight(command: tuple[str, ...] | list[str], kind: str = "claude",
              name: str = "default") -> tuple[str | None, list[str]]:
    """Check an agent's command before any item moves: (an every-item failure or None,
    warnings). `name` is the agent's, as orchestrate.toml names it."""
    warnings = []
    table = "agent" if name == "default" else f"agents.{name}"
    if not any("{prompt}" in part for part in command):
        warnings.append(f"[{table}] command has no {{prompt}}: the agent will not get the "
                        "phase prompt")
    program = command[0]
    whose = "agent" if name == "default" else f"agent {name!r}: its"
    if os.sep in program:
        path = Path(program)
        if not path.exists():
            return f"{whose} command not found: {program!r}: {install_hint(kind)}", warnings
        if not os.access(path, os.X_OK) or path.is_dir():
            return (f"{whose} command not executable: {program!r}: {install_hint(kind)}",
                    warnings)
    elif shutil.which(program) is None:
        return f"{whose} command not found: {program!r}: {install_hint(kind)}", warnings
    return None, warnings


def _keep(files: AttemptFiles) -> None:
    """The result file the agent wrote in its workspace, kept with the run's others."""
    if files.result == files.kept or not files.result.exists():
        return
    try:
        files.kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(files.result, files.kept)
    except OSError:
        pass  # judged already; only `show` and later runs' numbering read the copy


class Asked(Struct, frozen=True):
    """What an attempt's MCP server left: the question asked through it, and why the
    agent may not have had its tools (empty: no trouble seen)."""

    question: str | None = None
    trouble: str = ""


def _rounded(usd: float | None) -> float | None:
    return None if usd is None else round(usd, 6)


class LocalExecutor:
    """The executor of this machine (executor.Executor): each attempt a local agent process
    in its workspace's folder, fenced (agent_process.py, fence.py). One per run; safe for
    several lanes at once."""

    def __init__(self, project: Project, config: Config, bus: EventBus) -> None:
        self.project = project
        self.config = config
        self.bus = bus
        self._stop = threading.Event()
        self._kill_now = threading.Event()
        """Set with the second stop: the grace period is skipped."""
        self._state_lock = threading.Lock()
        self._live: dict[str, AgentProcess] = {}
        self._item_stops: dict[str, threading.Event] = {}
        """Set for an item a person took away from the run: its agent is stopped."""
        self.on_spend: Callable[[float], None] | None = None
        """Told, every few tenths of a second while agents live, what the live attempts
        have spent so far (by the tokens their streams carried): the budget's eye."""

    def stop(self, now: bool = False) -> None:
        """Every agent gets TERM, then KILL after `kill_grace_s` (`now`: at once); no
        attempt starts any more (executor.Executor)."""
        if now:
            self._kill_now.set()
        self._stop.set()

    def stop_item(self, item_id: str) -> None:
        """Stop the item's agent (if one runs) and every later one: the item is gone from
        the run (an attempt stopped so reports `interrupted`)."""
        with self._state_lock:
            self._item_stops.setdefault(item_id, threading.Event()).set()

    def _item_stop(self, item_id: str) -> threading.Event:
        with self._state_lock:
            return self._item_stops.setdefault(item_id, threading.Event())

    def live_cost(self) -> float:
        """What the attempts running now have spent so far, by their streams."""
        with self._state_lock:
            live = list(self._live.values())
        return sum(p.outcome.cost_usd or 0.0 for p in live)

    def _tick(self) -> None:
        if self.on_spend is not None:
            self.on_spend(self.live_cost())

    def next_attempt(self, item_id: str, phase: str) -> int:
        """1 + the highest attempt number used for this item and phase (logs stay apart)."""
        return judging.next_attempt(self.project.logs_dir, self.project.results_dir,
                                    item_id, phase)

    def files(self, item_id: str, phase: str, attempt: int,
              workspace: Workspace | None) -> AttemptFiles:
        """The attempt's files: its result inside the workspace the agent works in."""
        name = f"{item_id}_{phase}_{attempt}"
        kept = (self.project.results_dir / f"{name}.json").resolve()
        result = kept if workspace is None else \
            (Project(workspace.path).results_dir / f"{name}.json").resolve()
        return AttemptFiles(result=result, kept=kept, log=self.project.logs_dir / f"{name}.log")

    def run(self, item: Item, phase: str, attempt: int, prompt: str, *,
            judge: Judge | None = None, workspace: Workspace | None = None,
            agent: str = "default") -> AttemptReport:
        """Run one attempt with `agent` and judge it (executor.Executor); `judge` may turn
        a valid result into a failure, or a `complete` into `progress`. In a lane's
        `workspace` the agent works in its worktree, and ORCHESTRATE_CHANGE_DIR names the
        folder there."""
        files = self.files(item.id, phase, attempt, workspace)
        result_path, log_path = files.result, files.log
        agent_cfg = self.config.agent_named(agent)
        kind = agents.kind(agent_cfg.kind)
        cwd = workspace.path if workspace is not None else self.project.root
        change_dir = str(cwd / item.change_dir) if workspace is not None else item.change_dir
        command = agent_cfg.argv_template()
        wiring = None
        if agent_cfg.mcp:  # its own orchestrate MCP server, scoped to the item
            wiring = mcpattempt.wire(agent_cfg.kind, command, self.project.root,
                                     self.project.mcp_dir, files.log.stem, item.id)
            command = wiring.argv
        spec = AttemptSpec(
            command=command, prompt=prompt, cwd=cwd,
            item_id=item.id, phase=phase, attempt=attempt, change_dir=change_dir,
            result_path=result_path, log_path=log_path, timeout_s=agent_cfg.phase_timeout_s,
            kill_grace_s=agent_cfg.kill_grace_s,
            extra_env={**(wiring.env if wiring else {}), **agent_cfg.env},
            reader=kind.reader, price=agent_cfg.price,
            idle_timeout_s=agent_cfg.idle_timeout_s if agent_cfg.idle_timeout_s is not None
            else kind.idle_timeout_s,
        )
        started_at = time.time()
        key = f"{item.id}/{phase}"

        def on_lines(lines: tuple[AgentLine, ...]) -> None:
            self.bus.emit(AgentOutput(item_id=item.id, phase=phase, attempt=attempt,
                                      lines=lines))

        def on_spawn(pid: int) -> None:
            self._record(item.id, phase, attempt, pid, result_path, spec.token,
                         process.outcome.cgroup, branch, agent_cfg)
            self.bus.emit(PhaseStarted(item_id=item.id, phase=phase, attempt=attempt,
                                       title=item.title, log_path=str(log_path), pid=pid,
                                       branch=branch, agent=agent_cfg.name,
                                       kind=agent_cfg.kind))

        branch = workspace.branch if workspace is not None else None
        process = AgentProcess(spec, on_lines, on_spawn, self._stop, on_tick=self._tick,
                               also_stop=self._item_stop(item.id))
        process.kill_now = self._kill_now
        with self._state_lock:
            self._live[key] = process
        out = process.outcome  # what `run` fills; read here too if it raised
        try:
            out = process.run()
        finally:
            with self._state_lock:
                self._live.pop(key, None)
                if not self._live and out.cgroup is None:
                    # Without a cgroup, re-parented daemons that scrubbed their token: ours
                    # to end once no agent is live (under the lock: none can start now).
                    out.strays += fence.end(fence.adopted(), min(agent_cfg.kill_grace_s, 1.0))
            self._unrecord(item.id, phase)
        asked = self._mcp_after(wiring, out, item.id, f"{item.id} {phase} #{attempt}",
                                agent_cfg)
        strays = out.strays
        for said in out.limit_notices:
            self.bus.emit(Notice(level="warning", text=f"{item.id} {phase}: {said}"))
        if strays:
            names = ", ".join(f"pid {s.pid} ({s.command})" for s in strays)
            self.bus.emit(Notice(level="warning", text=(
                f"{item.id} {phase} #{attempt} left processes running after its agent "
                f"ended; they were stopped: {names}")))
        if out.start_error:
            self.bus.emit(PhaseStarted(item_id=item.id, phase=phase, attempt=attempt,
                                       title=item.title, log_path=str(log_path), pid=0,
                                       branch=branch, agent=agent_cfg.name,
                                       kind=agent_cfg.kind))
        return self.settle(out, item.id, phase, attempt, files, judge, agent_cfg,
                           started_at, asked)

    def settle(self, out: ProcessOutcome, item_id: str, phase: str, attempt: int,
               files: AttemptFiles, judge: Judge | None, agent_cfg: AgentConfig,
               started_at: float, asked: Asked | None = None) -> AttemptReport:
        """The ended attempt judged (its result file at `files.result`, here), kept and
        recorded: what every executor of agent processes does once its agent ended."""
        tokens = out.usage.total() if out.usage.seen else None
        report = replace(self._judge(out, item_id, phase, files.result, judge,
                                                 agent_cfg, asked or Asked()),
                                     cost_usd=_rounded(out.cost_usd), num_turns=out.num_turns,
                                     duration_s=round(out.duration_s, 3),
                                     exit_code=out.exit_code, agent=agent_cfg.name,
                                     kind=agent_cfg.kind,
                                     input_tokens=tokens.input + tokens.cache_read
                                     + tokens.cache_write if tokens else None,
                                     output_tokens=tokens.output if tokens else None)
        _keep(files)
        judging.record_attempt(self.project.worklog_path, self.bus, item_id, phase, attempt,
                               started_at, report, out.cost_estimated)
        return report

    def _mcp_after(self, wiring: mcpattempt.Wiring | None, out: ProcessOutcome,
                   item_id: str, attempt: str, agent: AgentConfig) -> Asked:
        """Once an agent with its MCP server has ended: its config file goes, what its CLI
        said of the server is a warning (and part of a failure's reason), and the question
        it asked through `block_item` is returned."""
        if wiring is None:
            return Asked()
        if wiring.config is not None:
            wiring.config.unlink(missing_ok=True)
        trouble = mcpattempt.server_trouble(agent.kind, out.mcp_servers,
                                            usage.denials(out.final_event) + out.denied)
        for said in trouble:
            self.bus.emit(Notice(level="warning", text=f"{attempt}: {said}"))
        return Asked(mcpattempt.read_ask(wiring.ask, item_id), "; ".join(trouble))

    def _judge(self, out: ProcessOutcome, item_id: str, phase: str, result_path: Path,
               judge: Judge | None, agent: AgentConfig, asked: Asked) -> AttemptReport:
        if out.interrupted:
            return AttemptReport("interrupted", "stopped by the person (the item resumes "
                                 "in this phase)")
        if out.limit is not None:
            # The account's, not the item's: never a failure, a retry or a blocked item.
            return AttemptReport("limited", f"usage limit: {out.limit.message}",
                                 limit=out.limit)
        if asked.question is not None:  # asked a person through its MCP server: blocked
            return judging.judge_answer(result_path, item_id, phase, None, why_missing="",
                                        agent_said=None, global_failure=None,
                                        asked=asked.question)
        if out.timed_out:
            reason = (f"timed out after {agent.phase_timeout_s:g} s "
                      "(agent.phase_timeout_s)")
            return AttemptReport("timeout", reason)
        if out.idle_out:
            return AttemptReport("timeout", f"no output for {agent.idle_timeout_s or 0:g} s "
                                 f"(agents.{agent.name}.idle_timeout_s): {out.failure_reason()}")
        if out.agent_failed and out.error_text:
            # The CLI says the run failed (a turn limit, a loop it found, an API error):
            # whatever it left is not an answer.
            return AttemptReport("failed", out.error_text,
                                 global_failure=global_failure(out, agent.kind))
        if out.start_error:
            return AttemptReport("failed", out.start_error,
                                 global_failure=global_failure(out, agent.kind))
        tail = [line for line in out.stderr_tail if line.strip()]
        why = out.failure_reason() + (f" ({asked.trouble})" if asked.trouble else "")
        return judging.judge_answer(
            result_path, item_id, phase, judge, why_missing=why,
            agent_said=out.error_text or (" | ".join(tail[-3:])[-600:] if tail else None),
            global_failure=global_failure(out, agent.kind))

    # run.json: the live agents, so a later run can reap them after a crash -----------------
    def _record(self, item_id: str, phase: str, attempt: int, pid: int,
                result_path: Path, token: str, cgroup: str | None,
                branch: str | None, agent: AgentConfig) -> None:
        self._put_live({"item": item_id, "phase": phase, "attempt": attempt,
                        "agent_pid": pid, "agent_pgid": pid,
                        "result_file": str(result_path.resolve()), "token": token,
                        "cgroup": cgroup, "agent": agent.label, "kind": agent.kind,
                        "branch": branch, "started": judging.iso(time.time())})

    def _put_live(self, entry: dict[str, Any]) -> None:
        """run.json's live attempts: `entry` in place of its item and phase's."""
        def add(state: dict[str, Any]) -> dict[str, Any]:
            agents = [a for a in state.get("agents", []) if isinstance(a, dict)
                      and (a.get("item"), a.get("phase")) != (entry["item"], entry["phase"])]
            return with_agents(state, [*agents, entry])

        update_run_state(self.project, add)

    def _unrecord(self, item_id: str, phase: str) -> None:
        def drop(state: dict[str, Any]) -> dict[str, Any]:
            agents = [a for a in state.get("agents", []) if isinstance(a, dict)
                      and (a.get("item"), a.get("phase")) != (item_id, phase)]
            return with_agents(state, agents)

        update_run_state(self.project, drop)
