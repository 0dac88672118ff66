"""What every executor does alike once its agent has ended: judge the answer it left, and
record the attempt (its worklog line, and PhaseFinished on the run's bus).

The answer is the result file (results.py); a judge (executor.Judge: the phase's rules,
a lane's conflict markers) may turn a valid `complete` into `progress` or a failure. Where
the agent ran (a local process, a thread in the tests, another machine) changes only why
an answer is missing and what the agent said meanwhile, which the executor hands in.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from app.engine import worklog
from app.engine.events import EventBus, PhaseFinished
from app.engine.executor import AgentResult, AttemptReport, GateCheck, Judge
from app.engine.results import ResultError, read_result
from app.structs import asdict, replace


def judge_answer(result_path: Path, item_id: str, phase: str, judge: Judge | None, *,
                 why_missing: str, agent_said: str | None,
                 global_failure: str | None, asked: str | None = None) -> AttemptReport:
    """The attempt's outcome from the result file the agent left (or did not).

    `why_missing`: the reason when there is no file (the agent's own error, its last
    words); `agent_said`: what it said, for a file that is there but unusable;
    `global_failure`: a failure that would hit every item, when the agent showed one;
    `asked`: the question the agent asked a person through its MCP server's block_item
    (mcpattempt.py), which blocks the item whatever the file says (its assessment and
    follow-ups still count when it is valid).
    """
    try:
        result = read_result(result_path, item_id, phase)
    except ResultError as exc:
        if asked is not None:
            return AttemptReport("blocked", asked, result=AgentResult(
                item_id, phase, "blocked", "asked a person through block_item", asked))
        if exc.missing:
            reason = f"{exc}: {why_missing}"
        else:
            reason = f"{exc}" + (f" (the agent said: {agent_said})" if agent_said else "")
        return AttemptReport("failed", reason, global_failure=global_failure)
    if asked is not None:
        result = replace(result, result="blocked", blocked_reason=asked)
    gates: tuple[GateCheck, ...] = ()
    if result.result in ("complete", "progress") and judge is not None:
        verdict = judge(result)
        gates = verdict.gates if verdict is not None else ()
        if verdict is not None and verdict.outcome == "progress":
            result = replace(result, result="progress")
        elif verdict is not None and verdict.outcome != "ok":
            outcome = "interrupted" if verdict.outcome == "interrupted" else "failed"
            return AttemptReport(outcome, verdict.reason, result=result, gates=gates)
    if result.result == "blocked":
        return AttemptReport("blocked", result.blocked_reason, result=result)
    if result.result == "failed":
        reason = result.summary or result.blocked_reason or "the agent answered failed"
        return AttemptReport("failed", reason, result=result)
    return AttemptReport(result.result, None, result=result, gates=gates)


def record_attempt(worklog_path: Path, bus: EventBus, item_id: str, phase: str, attempt: int,
                   started_at: float, report: AttemptReport,
                   cost_estimated: bool = False) -> None:
    """The attempt's worklog line, then PhaseFinished: what the run counts and shows."""
    ended = time.time()
    summary = report.result.summary if report.result else None
    worklog.append(worklog_path, worklog.WorklogEntry(
        item=item_id, phase=phase, attempt=attempt, start=iso(started_at), end=iso(ended),
        duration_s=round(report.duration_s or ended - started_at, 3),
        outcome=report.outcome, reason=report.reason, exit_code=report.exit_code,
        cost_usd=report.cost_usd, num_turns=report.num_turns, summary=summary,
        cost_estimated=cost_estimated, agent=report.agent, kind=report.kind,
        input_tokens=report.input_tokens, output_tokens=report.output_tokens,
        gates=[asdict(check) for check in report.gates] or None,
        assessment=dict(report.result.assessment)
        if report.result is not None and report.result.assessment else None,
    ))
    bus.emit(PhaseFinished(
        item_id=item_id, phase=phase, attempt=attempt, outcome=report.outcome,
        reason=report.reason, summary=summary, duration_s=round(report.duration_s, 3),
        cost_usd=report.cost_usd, num_turns=report.num_turns, exit_code=report.exit_code,
        agent=report.agent,
    ))


def next_attempt(logs_dir: Path, results_dir: Path, item_id: str, phase: str) -> int:
    """1 + the highest attempt number used for this item and phase (its log or its kept
    result), so logs and result files of earlier attempts are never overwritten."""
    highest = 0
    prefix = f"{item_id}_{phase}_"
    for folder, suffix in ((logs_dir, ".log"), (results_dir, ".json")):
        try:
            names = [p.name for p in folder.iterdir()]
        except FileNotFoundError:
            continue
        for name in names:
            if name.startswith(prefix) and name.endswith(suffix):
                number = name[len(prefix):-len(suffix)]
                if number.isdigit():
                    highest = max(highest, int(number))
    return highest + 1


def iso(t: float) -> str:
    """A worklog time: UTC, to the second."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
