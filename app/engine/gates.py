"""Quality gates: what a phase's `complete` answer must also pass (`[gates.PHASE]`).

After an agent answers complete (and the phase's own judge agrees), the phase's gates run
in the item's workspace: the built-in checks that need no command (`min_success_criteria`
of PRD.md, `min_tasks` of SPEC.md), then `command`, an argv (never a shell) with the
agent's `ORCHESTRATE_*` variables set. A failed gate turns the attempt into a failure
whose reason is the gate's word (a command's last lines of output), which the next
attempt's prompt carries; the worklog records every gate's verdict (`gates`).

A gate command runs in a process group of its own, ended (TERM, then KILL) at its
`timeout_s` or when the run stops, so nothing it started outlives it.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from app.engine import spec
from app.engine.agent_process import kill_group
from app.engine.config import GateConfig
from app.engine.executor import AgentResult, GateCheck, Judge, Verdict

TAIL_LINES = 15
TAIL_CHARS = 1500
"""How much of a failed command's output its reason (and the next prompt) carries."""
POLL_S = 0.1
KILL_GRACE_S = 3.0

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S")


def success_criteria(text: str) -> int:
    """The list items under PRD.md's "Success criteria" heading (any level, any case),
    up to the next heading of the same or a higher level."""
    count, level = 0, 0
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            depth = len(heading.group(1))
            if level and depth <= level:
                break
            if not level and heading.group(2).strip().lower().rstrip(":") \
                    == "success criteria":
                level = depth
            continue
        if level and _LIST_ITEM.match(line):
            count += 1
    return count


def _tasks(text: str) -> int:
    """SPEC.md's task boxes, ticked or not."""
    parsed = spec.parse(text)
    return parsed.ticked + parsed.unticked


def tail(text: str) -> str:
    """The last lines of a command's output, as much as a reason holds."""
    lines = [line.rstrip() for line in text.strip().splitlines()][-TAIL_LINES:]
    shown = "\n".join(lines)
    return shown[-TAIL_CHARS:]


class GateRun:
    """The gates of one attempt's phase, in the item's workspace."""

    def __init__(self, gate: GateConfig, workdir: Path, change_dir: str,
                 env: dict[str, str], stopping: Callable[[], bool]) -> None:
        self.gate = gate
        self.workdir = workdir
        self.change_dir = change_dir
        self.env = env
        """The agent's ORCHESTRATE_* variables for this attempt."""
        self.stopping = stopping

    def checks(self) -> list[GateCheck]:
        """Every gate's verdict, built-in checks first; a command only runs when they
        passed (it may be slow, and their failure already says what to do)."""
        done: list[GateCheck] = []
        folder = self.workdir / self.change_dir
        if self.gate.min_success_criteria:
            done.append(self._count("min_success_criteria", folder / "PRD.md",
                                    self.gate.min_success_criteria, success_criteria,
                                    "success criteria (list items under its \"Success "
                                    "criteria\" heading)"))
        if self.gate.min_tasks:
            done.append(self._count("min_tasks", folder / "SPEC.md", self.gate.min_tasks,
                                    _tasks, "tasks (`- [ ]` boxes)"))
        if self.gate.command and all(check.passed for check in done):
            done.append(self._command())
        return done

    def _count(self, name: str, path: Path, least: int, count: Callable[[str], int],
               what: str) -> GateCheck:
        rel = f"{self.change_dir}/{path.name}"
        try:
            found = count(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            return GateCheck(name, False, f"{rel} is missing or unreadable: it must hold at "
                                          f"least {least} {what}")
        if found < least:
            return GateCheck(name, False, f"{rel} has {found} {what}; the gate asks for at "
                                          f"least {least}")
        return GateCheck(name, True, f"{rel} has {found} {what} (at least {least})")

    def _command(self) -> GateCheck:
        argv = list(self.gate.command)
        name = "command: " + " ".join(argv)
        env = {**os.environ, **self.env}
        import tempfile  # here: only a gate's command needs it, not every run's start

        with tempfile.TemporaryFile() as out:
            try:
                proc = subprocess.Popen(argv, cwd=self.workdir, env=env, stdout=out,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
            except OSError as exc:
                return GateCheck(name, False, f"the gate command could not start: {exc} "
                                              "([gates] command in orchestrate.toml)")
            ended = self._wait(proc)
            out.seek(0)
            said = tail(out.read().decode("utf-8", "replace"))
        if ended is not None:
            return GateCheck(name, False, f"the gate {ended}" + (f": {said}" if said else ""))
        if proc.returncode != 0:
            return GateCheck(name, False, f"the gate `{' '.join(argv)}` failed (exit "
                                          f"{proc.returncode})" + (f":\n{said}" if said else ""))
        return GateCheck(name, True, f"`{' '.join(argv)}` passed" + (
            f": {said.splitlines()[-1]}" if said else ""))

    def _wait(self, proc: subprocess.Popen[bytes]) -> str | None:
        """Until the command ends; why it was ended instead (its timeout, the run's stop),
        its whole group gone either way."""
        deadline = time.monotonic() + self.gate.timeout_s
        why: str | None = None
        while proc.poll() is None:
            if self.stopping():
                why = "was stopped with the run"
            elif time.monotonic() > deadline:
                why = f"timed out after {self.gate.timeout_s:g}s ([gates] timeout_s)"
            if why:
                break
            time.sleep(POLL_S)
        # Whatever the leader left in its group (a test server) ends with it.
        kill_group(proc.pid, KILL_GRACE_S, leader=proc)
        return why


def gated(inner: Judge, run: GateRun | None) -> Judge:
    """`inner`, then the gates on an answer that stays complete (not on progress, and not
    on one `inner` already failed)."""
    if run is None:
        return inner

    def judge(result: AgentResult) -> Verdict | None:
        verdict = inner(result)
        if result.result != "complete" or (verdict is not None and verdict.outcome != "ok"):
            return verdict
        checks = tuple(run.checks())
        failed = [check for check in checks if not check.passed]
        if failed:  # a gate the run's stop ended judged nothing: the attempt was cut short
            return Verdict("interrupted" if run.stopping() else "failed",
                           "; ".join(check.detail for check in failed), gates=checks)
        return Verdict("ok", gates=checks)

    return judge
