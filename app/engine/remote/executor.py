"""`[executor] kind = "ray"`: each attempt a task on a Ray cluster (docs/ray.md).

The attempt's checkout travels as a bundle (bundles.py), its order beside it; the task's
messages come back as they happen: the agent's lines (AgentOutput, within a second), its
log (the same attempt log as a local one), its spend (the budget's eye); its last one the
outcome, the result file and the new commits, which come into the lane's worktree
before the answer is judged, here, exactly as a local attempt's (attempts.settle). A
stop cancels the task, whose runner ends the agent's tree on the worker. A node that dies
mid-attempt, or goes silent past the attempt's timeout, makes the attempt `lost`: not
the agent's failure; the run tries it again, and the lane is as it was.
"""

from __future__ import annotations

import faulthandler
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

from app.backlog.model import Item
from app.engine import agents, fence
from app.engine.attempts import LocalExecutor
from app.engine.config import AgentConfig, Config
from app.engine.events import AgentOutput, EventBus, Notice, PhaseStarted
from app.engine.executor import AttemptFiles, AttemptReport, Judge, Workspace
from app.engine.outcome import ProcessOutcome
from app.engine.project import Project
from app.engine.remote import bundles
from app.engine.remote import order as messages
from app.engine.remote.cluster import Cluster
from app.engine.worktrees import GitError, git
from app.errors import OrchestrateError

SILENCE_S = 60.0
"""Beyond the attempt's own timeout and grace: a task silent this long is lost (a frozen
node never says it died)."""
WATCH_S = 0.1
WAITING_SAID_S = 30.0
"""A task no node has taken for this long is said (it waits on, until a node frees)."""


class _Stream:
    """One live task, and whatever ended it early (watched beside the blocking reads)."""

    def __init__(self, handle: Any, limit_s: float) -> None:
        self.handle = handle
        self.limit_s = limit_s
        self.heard = time.monotonic()
        self.why: str | None = None
        """`interrupted` or `silent`, once the watch cancelled it."""
        self.started = False
        """It said where it runs: a node took it. Until then it waits for one, which is
        not silence (more lanes than the nodes offer attempts)."""
        self.done = threading.Event()


class RayExecutor(LocalExecutor):
    """The Ray executor (executor.Executor): the local one's judging and records, its
    attempts on the cluster."""

    def __init__(self, project: Project, config: Config, bus: EventBus) -> None:
        mcp = [a.name for a in config.agents.values() if getattr(a, "mcp", False)]
        if mcp:
            raise OrchestrateError(f"mcp = true ({', '.join(mcp)}) needs the agent beside "
                                   "BACKLOG.yaml: it is not available with [executor] kind = "
                                   "\"ray\"")
        super().__init__(project, config, bus)
        _fault_log(project)
        self.cluster = Cluster(config.executor)
        self._spent: dict[str, float] = {}

    def live_cost(self) -> float:
        """What the remote attempts running now have spent so far, as they said."""
        with self._state_lock:
            return sum(self._spent.values())

    def files(self, item_id: str, phase: str, attempt: int,
              workspace: Workspace | None) -> AttemptFiles:
        """`result` is where the agent writes on its worker: relative to its working
        directory, a clone there (the kept copy and the log are here)."""
        local = super().files(item_id, phase, attempt, workspace)
        return AttemptFiles(result=Path(".orchestrator") / "results" / local.result.name,
                            kept=local.kept, log=local.log)

    def run(self, item: Item, phase: str, attempt: int, prompt: str, *,
            judge: Judge | None = None, workspace: Workspace | None = None,
            agent: str = "default") -> AttemptReport:
        """The attempt on the cluster, judged here once its work came back."""
        local = super().files(item.id, phase, attempt, workspace)
        agent_cfg = self.config.agent_named(agent)
        checkout = workspace.path if workspace is not None else self.project.root
        branch = workspace.branch if workspace is not None else None
        started_at = time.time()
        try:
            top = Path(git(checkout, "rev-parse", "--show-toplevel").stdout.strip())
            project_rel = os.path.relpath(checkout.resolve(), top.resolve())
            packed = bundles.pack(checkout, branch or "HEAD", project_rel)
        except GitError as exc:
            raise OrchestrateError(f"{item.id} {phase}: its checkout cannot travel to the "
                                   f"cluster: {exc}") from None
        order = messages.Order(
            item_id=item.id, phase=phase, attempt=attempt, prompt=prompt,
            command=agent_cfg.argv_template(), kind=agent_cfg.kind,
            change_dir=item.change_dir, result_name=local.result.name,
            timeout_s=agent_cfg.phase_timeout_s, kill_grace_s=agent_cfg.kill_grace_s,
            token=fence.new_token(), env=dict(agent_cfg.env), price=agent_cfg.price,
            idle_timeout_s=agent_cfg.idle_timeout_s if agent_cfg.idle_timeout_s is not None
            else agents.kind(agent_cfg.kind).idle_timeout_s,
            branch=branch, project_rel=project_rel, head=packed.head, merge=packed.merge)
        said = _Said(self, item, phase, attempt, local, agent_cfg, branch)
        try:
            final = self._follow(order, packed.bundle, packed.base, said)
        except _Lost as lost:
            return self._lost(item.id, phase, attempt, started_at, agent_cfg, str(lost))
        finally:
            self._unrecord(item.id, phase)
            with self._state_lock:
                self._spent.pop(f"{item.id}/{phase}", None)
        out = final.outcome
        if final.bundle is not None and workspace is not None and not out.interrupted:
            try:
                own = bundles.bring_back(checkout, final.bundle, packed)
            except GitError as exc:
                return self._lost(item.id, phase, attempt, started_at, agent_cfg,
                                  f"its work could not be brought back: {exc}")
            if own:
                self.bus.emit(Notice(level="info", text=f"{item.id} {phase}: the agent's "
                                     f"own commits came back: {'; '.join(own[:3])}"))
        if final.result is not None:
            local.result.parent.mkdir(parents=True, exist_ok=True)
            local.result.write_text(final.result, encoding="utf-8")
        else:
            local.result.unlink(missing_ok=True)
        return self.settle(out, item.id, phase, attempt, local, judge, agent_cfg, started_at)

    def _follow(self, order: messages.Order, bundle: bytes, base: str,
                said: _Said) -> _Final:
        """The task's messages to its last, each where it belongs; _Lost when the node went
        away or fell silent."""
        key = f"{order.item_id}/{order.phase}"
        stream = _Stream(self.cluster.submit(order, bundle, base),
                         order.timeout_s + order.kill_grace_s + SILENCE_S)
        watch = threading.Thread(target=self._watch, args=(stream, order.item_id,
                                                           order.phase),
                                 daemon=True, name=f"ray-watch-{key}")
        watch.start()
        try:
            while True:
                try:
                    message = self.cluster.next_message(stream.handle)
                except Exception as exc:
                    if stream.why == "silent":  # cancelled by the watch: lost, not stopped
                        raise _Lost(f"no word from its node for {stream.limit_s:.0f} s") \
                            from None
                    if self.cluster.cancelled(exc) or stream.why == "interrupted":
                        return _Final.interrupted(self.live_cost_of(key))
                    # The node or its worker went away, or the task itself failed there
                    # (no git, a clone that failed, a runner that crashed): none of it the
                    # agent's doing.
                    raise _Lost(_cause(exc)) from None
                if message is None:
                    raise _Lost("the task ended without its outcome")
                stream.heard = time.monotonic()
                stream.started = True
                if "outcome" in message:
                    return _Final(messages.outcome_of(message), message.get("result"),
                                  message.get("bundle"))
                said.heard(message, key)
        finally:
            stream.done.set()
            watch.join(timeout=5)

    def live_cost_of(self, key: str) -> float:
        with self._state_lock:
            return self._spent.get(key, 0.0)

    def _watch(self, stream: _Stream, item_id: str, phase: str) -> None:
        """Cancel the task when the run stops, the item is taken away, or it falls silent
        once a node took it; say so when no node takes it for a while."""
        item_stop = self._item_stop(item_id)
        waiting_said = False
        while not stream.done.wait(WATCH_S):
            quiet = time.monotonic() - stream.heard
            if self._stop.is_set() or item_stop.is_set():
                stream.why = "interrupted"
            elif stream.started and quiet > stream.limit_s:
                stream.why = "silent"
            elif not stream.started and quiet > WAITING_SAID_S and not waiting_said:
                waiting_said = True
                wanted = ", ".join(f"{name} {amount:g}" for name, amount
                                   in self.config.executor.resources.items())
                self.bus.emit(Notice(level="warning", text=(
                    f"{item_id} {phase} waits for a node of the cluster with {wanted} free "
                    "([executor] resources): every node's attempts are taken, or none "
                    "is up")))
            if stream.why:
                self.cluster.cancel(stream.handle)
                return

    def spent_so_far(self, key: str, usd: float) -> None:
        """A live remote attempt's spend as its node said: the budget looks at once."""
        with self._state_lock:
            self._spent[key] = usd
        self._tick()

    def record_remote(self, item_id: str, phase: str, attempt: int, pid: int, node: str,
                       node_id: str, branch: str | None, agent: AgentConfig) -> None:
        """run.json: the live attempt and its node (its pid is the node's, not ours: a
        later run reaps nothing of it here; the cluster ends it with its driver)."""
        from app.engine import judging

        self._put_live({"item": item_id, "phase": phase, "attempt": attempt, "node": node,
                        "node_id": node_id, "remote_pid": pid, "agent": agent.label,
                        "kind": agent.kind, "branch": branch,
                        "started": judging.iso(time.time())})

    def _lost(self, item_id: str, phase: str, attempt: int, started_at: float,
              agent_cfg: AgentConfig, why: str) -> AttemptReport:
        """The attempt's node went away: recorded, not judged (the run tries again)."""
        from app.engine import judging

        report = AttemptReport("lost", f"the attempt was lost on the cluster ({why}); it "
                                       "runs again", agent=agent_cfg.name, kind=agent_cfg.kind,
                               duration_s=round(time.time() - started_at, 3))
        judging.record_attempt(self.project.worklog_path, self.bus, item_id, phase, attempt,
                               started_at, report)
        return report


def _fault_log(project: Project) -> None:
    """Ray's connect turns on faulthandler on sys.stderr, and refuses (`file.fileno()
    is not a valid file descriptor`) where that has no descriptor, as the board's has
    not: turn it on first, into a log of the project's own, where that is so."""
    if faulthandler.is_enabled():
        return
    try:
        if sys.stderr is not None and sys.stderr.fileno() >= 0:
            return
    except (AttributeError, OSError, ValueError):
        pass
    project.logs_dir.mkdir(parents=True, exist_ok=True)
    faulthandler.enable(open(project.logs_dir / "faults.log", "a"), all_threads=False)  # noqa: SIM115


class _Lost(Exception):
    """The attempt's node or worker went away."""


class _Final:
    """The task's last word."""

    def __init__(self, outcome: ProcessOutcome, result: str | None,
                 bundle: bytes | None) -> None:
        self.outcome = outcome
        self.result = result
        self.bundle = bundle

    @classmethod
    def interrupted(cls, spent: float) -> _Final:
        # What its stream had spent when it was stopped (its own figure never came).
        return cls(ProcessOutcome(interrupted=True, reported_cost=spent or None), None, None)


class _Said:
    """Where each message of a task goes: the log, the bus, run.json, the budget."""

    def __init__(self, executor: RayExecutor, item: Item, phase: str, attempt: int,
                 files: AttemptFiles, agent_cfg: AgentConfig, branch: str | None) -> None:
        self.executor = executor
        self.item = item
        self.phase = phase
        self.attempt = attempt
        self.files = files
        self.agent_cfg = agent_cfg
        self.branch = branch
        self.node = "?"
        self.node_id = ""
        files.log.parent.mkdir(parents=True, exist_ok=True)
        # The attempt's number is taken (judging.next_attempt counts logs) even when its
        # node dies before a byte of its log came back: the retry is the next attempt.
        files.log.touch()

    def heard(self, message: dict[str, Any], key: str) -> None:
        ex, item, phase = self.executor, self.item, self.phase
        if "log" in message:
            with open(self.files.log, "ab") as log:
                log.write(messages.log_bytes(message))
        elif "lines" in message:
            ex.bus.emit(AgentOutput(item_id=item.id, phase=phase, attempt=self.attempt,
                                    lines=messages.agent_lines(message)))
        elif "spend" in message:
            ex.spent_so_far(key, float(message["spend"]))
        elif "where" in message:
            self.node = str(message["where"].get("ip") or message["where"].get("host"))
            self.node_id = str(message["where"].get("node") or "")
        elif "started" in message:
            pid = int(message["started"])
            ex.record_remote(item.id, phase, self.attempt, pid, self.node, self.node_id,
                             self.branch, self.agent_cfg)
            ex.bus.emit(PhaseStarted(item_id=item.id, phase=phase, attempt=self.attempt,
                                     title=item.title, log_path=str(self.files.log), pid=pid,
                                     branch=self.branch, agent=self.agent_cfg.name,
                                     kind=self.agent_cfg.kind, node=self.node))


def _cause(exc: BaseException) -> str:
    """The words that say why: a task's error ends with its cause (its first lines are
    the task's name and traceback), Ray's own errors begin with it."""
    lines = [ANSI.sub("", line).strip() for line in str(exc).strip().splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return type(exc).__name__
    return (lines[-1] if lines[0].startswith("ray::") else lines[0])[:300]


ANSI = re.compile(r"\x1b\[[0-9;]*m")
