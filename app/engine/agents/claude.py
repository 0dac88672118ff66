"""Claude Code (`claude -p ... --output-format stream-json --verbose`), and Amp, which
speaks the same stream (`amp -x ... --stream-json`).

The final `result` event carries the agent's cost, turns and its own error (`is_error`,
`errors`), and the permissions it was denied; assistant lines carry each message's token
usage (usage.py); the init line lists the MCP servers it started and their status
(`mcp_servers`: connected or failed, mcpattempt.py); a usage limit is a rejected
`rate_limit_event` with its reset, or the CLI's words on an error channel (limits.py).
"""

from __future__ import annotations

from typing import Any

from app.engine import usage
from app.engine.agents.reader import Reader
from app.engine.events import AgentLine
from app.engine.limits import LimitDetector
from app.engine.outcome import ProcessOutcome


class ClaudeReader(Reader):
    """The facts of a claude stream-json stream (module docstring)."""

    def __init__(self, out: ProcessOutcome) -> None:
        super().__init__(out)
        self._limits = LimitDetector()

    def event(self, event: dict[str, Any], text: str, lines: tuple[AgentLine, ...]) -> None:
        out = self.out
        kind = event.get("type")
        if kind == "result":
            out.final_event = event
            out.usage.settle(event.get("usage"))
        if kind == "result" or '"rate_limit' in text \
                or any(line.kind == "error" for line in lines):
            self._limits.feed(event)
        if kind == "assistant" or kind == "system":
            out.usage.feed(event)
        if kind == "system" and event.get("subtype") == "init":
            servers = event.get("mcp_servers")
            if isinstance(servers, list):  # each server claude started: connected, failed
                out.mcp_servers = {str(s.get("name")): str(s.get("status"))
                                   for s in servers if isinstance(s, dict)}
        elif kind == "user":
            failed = usage.tool_error(event)
            if failed is not None:
                out.last_tool_error = failed[1]

    def raw(self, text: str) -> None:
        if '"rate_limit' in text:
            self._limits.feed_text(text)

    def stderr(self, text: str) -> None:
        self._limits.feed_text(text)

    def close(self) -> None:
        self.out.limit = self._limits.limit
        self.out.limit_notices = list(self._limits.notices)
