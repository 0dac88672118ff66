"""What happened to one agent process, and what its output said: the facts an attempt is
judged by (attempts.py, judging.py), whichever CLI the agent is (agents/).
"""

from __future__ import annotations

from typing import Any

from app.engine import fence, streamjson, usage
from app.engine.events import AgentLine
from app.engine.executor import UsageLimit
from app.structs import Struct, field


class ProcessOutcome(Struct):
    """What happened to the process (the result file is judged elsewhere)."""

    exit_code: int | None = None
    start_error: str | None = None
    """Set when the command could not be started at all."""
    start_error_kind: str | None = None
    """`missing` (no such program) or `permission` (not executable) or `other`."""
    timed_out: bool = False
    interrupted: bool = False
    final_event: dict[str, Any] | None = None
    """The last `{"type": "result"}` stream-json event."""
    stderr_tail: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    pid: int | None = None
    lines: int = 0
    last_line: AgentLine | None = None
    cgroup: str | None = None
    """The attempt's cgroup v2 folder, where the kernel allowed one."""
    limit: UsageLimit | None = None
    """The account's usage limit, when the agent met one (not the item's fault)."""
    limit_notices: list[str] = field(default_factory=list)
    """Warnings of a limit drawing near (`allowed_warning`): notices, never a stop."""
    strays: list[fence.Stray] = field(default_factory=list)
    """Processes of the attempt still alive after its agent ended, which were then ended
    (daemons that left the agent's process group)."""
    usage: usage.UsageMeter = field(default_factory=usage.UsageMeter)
    """The tokens the stream said it spent: the cost of an attempt without a result line."""
    last_tool_error: str | None = None
    """The words of the last failed tool call, while no tool call succeeded after it."""
    agent_error: str | None = None
    """The agent's own error words where its CLI has no claude-like result line (codex's
    `turn.failed`, gemini's error result, opencode's `error` line)."""
    agent_failed: bool = False
    """The CLI says the run failed though it may have written an answer (gemini's error
    event of severity `error`: a turn limit, a loop it detected)."""
    reported_cost: float | None = None
    """Dollars the CLI reported where it is not a claude result line (opencode's steps)."""
    reported_turns: int | None = None
    denied: list[str] = field(default_factory=list)
    """Tool calls the CLI's permissions refused (`write /elsewhere/x.json`), beside
    claude's `permission_denials`."""
    idle_out: bool = False
    """Ended by the idle watchdog: no output for `idle_timeout_s`."""
    quota_said: bool = False
    """What the agent printed names a quota (an idle attempt was waiting on one)."""
    mcp_servers: dict[str, str] | None = None
    """Each MCP server's status as the CLI's init line lists them (claude); None: no
    init line was read."""

    @property
    def error_text(self) -> str | None:
        """The agent's own error: the text of an is_error result event (claude), or what
        another CLI said when it failed."""
        ev = self.final_event
        if ev and ev.get("is_error"):
            return streamjson.error_words(ev).strip() or "the agent reported an error"
        return self.agent_error

    @property
    def cost_usd(self) -> float | None:
        """The agent's own figure (its result line, its steps' costs), else the tokens its
        stream carried at the model's (or the agent's configured) price
        (`cost_estimated`), else None."""
        value = (self.final_event or {}).get("total_cost_usd")
        if isinstance(value, (int, float)):
            return float(value)
        if self.reported_cost is not None:
            return self.reported_cost
        return self.usage.cost_usd()

    @property
    def cost_estimated(self) -> bool:
        """Whether `cost_usd` was reckoned from the stream's tokens (no figure of its own)."""
        value = (self.final_event or {}).get("total_cost_usd")
        return not isinstance(value, (int, float)) and self.reported_cost is None \
            and self.usage.seen

    @property
    def num_turns(self) -> int | None:
        value = (self.final_event or {}).get("num_turns")
        return value if isinstance(value, int) else self.reported_turns

    def failure_reason(self) -> str:
        """Why the agent failed, in its own words where it gave any."""
        if self.start_error:
            return self.start_error
        if self.error_text:
            return self.error_text
        denied = usage.denials(self.final_event) or self.denied
        if denied:
            shown = "; ".join(denied[:3]) + ("; …" if len(denied) > 3 else "")
            return (f"the agent's permission mode denied {shown} (give it the permission "
                    "in agent.command, or another --permission-mode)")
        if self.last_tool_error:
            return f"its last tool call failed: {self.last_tool_error[:400]}"
        tail = [line for line in self.stderr_tail if line.strip()]
        if tail:
            return " | ".join(tail[-3:])[-600:]
        if self.exit_code is not None and self.exit_code < 0:
            return f"the agent was killed by signal {-self.exit_code}"
        return f"the agent exited with code {self.exit_code}"
