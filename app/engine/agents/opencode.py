"""OpenCode (`opencode run --format json`), as 1.18.33 prints it
(../shared/samples/opencode-1.18.33).

Each `step_finish` carries the step's tokens and cost (from the provider's prices in its
config); there is no final result line: the run's end is the process's. An API failure is
one `error` line after silent retries (its `statusCode` and body say which), exit 1. A
tool touching a path outside the project is refused (`permission requested:
external_directory ... auto-rejecting` on stderr) and the run stops, exit 0, with no answer:
that refusal is why. A 429 retried for long is silence: the idle watchdog ends it.
"""

from __future__ import annotations

import re
from typing import Any

from app.engine.agents.reader import Reader
from app.engine.events import AgentLine
from app.engine.executor import UsageLimit
from app.engine.usage import Tokens

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_REJECTED = re.compile(r"permission requested: (\S+) \(([^)]*)\); auto-rejecting")


class OpenCodeReader(Reader):
    """The facts of an opencode JSON stream (module docstring)."""

    def event(self, event: dict[str, Any], text: str, lines: tuple[AgentLine, ...]) -> None:
        out = self.out
        kind = event.get("type")
        part = event.get("part") if isinstance(event.get("part"), dict) else None
        if kind == "step_finish" and part is not None:
            cost = part.get("cost")
            if isinstance(cost, (int, float)):
                out.reported_cost = (out.reported_cost or 0.0) + float(cost)
            tokens = part.get("tokens")
            if isinstance(tokens, dict):
                cache = tokens.get("cache")
                cache = cache if isinstance(cache, dict) else {}
                out.usage.add(Tokens(input=_int(tokens.get("input")),
                                     output=_int(tokens.get("output")),
                                     cache_write=_int(cache.get("write")),
                                     cache_read=_int(cache.get("read"))))
            out.reported_turns = (out.reported_turns or 0) + 1
        elif kind == "tool_use" and part is not None:
            state = part.get("state")
            if isinstance(state, dict) and state.get("status") == "error":
                out.last_tool_error = str(state.get("error") or "a tool failed")
            else:
                out.last_tool_error = None
        elif kind == "error":
            self._error(event.get("error"))

    def _error(self, error: object) -> None:
        out = self.out
        data = error.get("data") if isinstance(error, dict) else None
        data = data if isinstance(data, dict) else {}
        message = str(data.get("message") or (error.get("name") if isinstance(error, dict)
                                               else "") or "the CLI reported an error")
        out.agent_error = " ".join(message.split())
        out.agent_failed = True
        if data.get("statusCode") == 429:
            out.limit = UsageLimit(out.agent_error[:300], None, "rate")

    def stderr(self, text: str) -> None:
        rejected = _REJECTED.search(_ANSI.sub("", text))
        if rejected:
            self.out.denied.append(f"{rejected[1]} {rejected[2]}")

    def idle_limit(self) -> bool:
        return self.out.quota_said


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0
