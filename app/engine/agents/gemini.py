"""Google Gemini CLI (`gemini -p ... --output-format stream-json`), as 0.61.0 prints it
(../shared/samples/gemini-0.61.0).

The `result` line says success or error and carries the tokens (`stats`, no cost); its
error's words are the agent's. An `error` event of severity `error` (a turn limit, a loop
the CLI detected) fails the attempt although the result says success. A quota is "You
have exhausted your daily quota", "Resource has been exhausted", "exhausted your
capacity" or a 429 in the words; its reset is on stderr only (`retryDelayMs: 3600000`,
"Please retry in 43.4s"). Retries show on stderr only, and a capacity 429 makes the CLI
sleep silently for the whole delay: the idle watchdog ends such an attempt, `limited`
when stderr named a quota.
"""

from __future__ import annotations

import re
import time
from typing import Any

from app.engine.agents.reader import Reader
from app.engine.events import AgentLine
from app.engine.executor import UsageLimit
from app.engine.usage import Tokens

_QUOTA = re.compile(r"exhausted your (?:daily )?(?:quota|capacity)|resource has been "
                    r"exhausted|RESOURCE_EXHAUSTED|QUOTA_EXHAUSTED|\b429\b|exceeded your "
                    r"current quota|capacity exceeded", re.I)
_DELAY_MS = re.compile(r"retryDelayMs: (\d+)")
_RETRY_IN = re.compile(r"retry in (\d+(?:\.\d+)?)s", re.I)


class GeminiReader(Reader):
    """The facts of a gemini stream-json stream (module docstring)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._delay_s: float | None = None
        """The reset the CLI's stderr named (RetryInfo), in seconds from when it said so."""
        self._said_at = time.time()

    def event(self, event: dict[str, Any], text: str, lines: tuple[AgentLine, ...]) -> None:
        out = self.out
        kind = event.get("type")
        if kind == "tool_result":
            if event.get("status") == "error":
                error = event.get("error")
                said = error.get("message") if isinstance(error, dict) else None
                out.last_tool_error = str(said or event.get("output") or "a tool failed")
            else:
                out.last_tool_error = None
        elif kind == "error" and event.get("severity") == "error":
            out.agent_error = str(event.get("message") or "the CLI reported an error")
            out.agent_failed = True
        elif kind == "result":
            self._result(event)

    def _result(self, event: dict[str, Any]) -> None:
        out = self.out
        stats = event.get("stats")
        if isinstance(stats, dict):
            models = stats.get("models")
            model = next(iter(models), None) if isinstance(models, dict) and models else None
            cached = _int(stats.get("cached"))
            out.usage.add(Tokens(input=max(_int(stats.get("input_tokens")) - cached, 0),
                                 output=_int(stats.get("output_tokens")), cache_read=cached),
                          model if isinstance(model, str) else None)
        if event.get("status") == "error":
            error = event.get("error")
            said = str(error.get("message") or "") if isinstance(error, dict) else ""
            out.agent_error = " ".join(said.split()) or "the CLI reported an error"
            out.agent_failed = True
            if _QUOTA.search(said):
                out.quota_said = True

    def stderr(self, text: str) -> None:
        delay = _DELAY_MS.search(text)
        if delay:
            self._delay_s, self._said_at = int(delay[1]) / 1000, time.time()
        elif (retry := _RETRY_IN.search(text)) and self._delay_s is None:
            self._delay_s, self._said_at = float(retry[1]), time.time()
        if _QUOTA.search(text):
            self.out.quota_said = True

    def close(self) -> None:
        out = self.out
        words = out.agent_error or ""
        if (words and _QUOTA.search(words)) or (out.idle_out and out.quota_said):
            resets = self._said_at + self._delay_s if self._delay_s is not None else None
            out.limit = UsageLimit(words[:300] or "the Gemini quota is exhausted", resets,
                                   "quota")

    def idle_limit(self) -> bool:
        return self.out.quota_said


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0
