"""OpenAI Codex (`codex exec --json`), as 0.169.0 prints it (../shared/samples/codex-0.169.0).

`turn.completed` carries the turn's tokens (no cost, no model name); `turn.failed` says
the run failed, with the same words as the `error` line before it. Every failure exits 1:
the words tell them apart. `error` lines reading "Reconnecting... N/5" are retries (the
turn may still succeed). A usage limit is exactly "You\u2019ve hit your usage limit. ...
try again at 2:49 AM." (U+2019, a curly apostrophe; the CLI's local time; "Dec 10th, 2026 4:06 AM"
for another day; "try again later." without a reset); a plain 429 that outlasted its
retries is the account's limit too, with no reset named.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from app.engine.agents.reader import Reader
from app.engine.events import AgentLine
from app.engine.executor import UsageLimit
from app.engine.usage import Tokens

_USAGE_LIMIT = re.compile(r"hit your usage limit", re.I)
_RATE_LIMIT = re.compile(r"last status: 429|rate limit exceeded", re.I)
_TRY_AGAIN = re.compile(
    r"try again at (?:(?P<mon>[A-Z][a-z]{2}) (?P<day>\d{1,2})(?:st|nd|rd|th), (?P<year>\d{4}) )?"
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2}) ?(?P<ampm>AM|PM)", re.I)
_IN_SECONDS = re.compile(r"try again in (?P<s>\d+(?:\.\d+)?)s", re.I)
JUST_PASSED = timedelta(minutes=5)
"""A clock time this little behind us is a reset now (the CLI names the minute, and its
clock may run behind ours), not tomorrow's."""
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def reset_of(message: str, now: datetime | None = None) -> float | None:
    """When codex's words say the limit resets (its local time), or None."""
    current = (now or datetime.now().astimezone())
    seconds = _IN_SECONDS.search(message)
    if seconds:
        return current.timestamp() + float(seconds["s"])
    match = _TRY_AGAIN.search(message)
    if not match:
        return None
    hour = int(match["hour"]) % 12 + (12 if match["ampm"].upper() == "PM" else 0)
    minute = int(match["minute"])
    if match["mon"]:
        month = _MONTHS.index(match["mon"].lower()) + 1
        at = current.replace(year=int(match["year"]), month=month, day=int(match["day"]),
                             hour=hour, minute=minute, second=0, microsecond=0)
        return at.timestamp()
    at = current.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if at <= current - JUST_PASSED:
        at += timedelta(days=1)
    elif at <= current:  # named to the minute: a reset within this very minute
        return at.timestamp() + 60
    return at.timestamp()


def limit_of(message: str, now: datetime | None = None) -> UsageLimit | None:
    """The account's limit in codex's words (a usage limit, or a rate limit that outlasted
    its retries), or None."""
    if message.startswith("Reconnecting"):
        return None
    if _USAGE_LIMIT.search(message):
        return UsageLimit(message.strip()[:300], reset_of(message, now), "usage")
    if _RATE_LIMIT.search(message):
        return UsageLimit(message.strip()[:300], reset_of(message, now), "rate")
    return None


class CodexReader(Reader):
    """The facts of a `codex exec --json` stream (module docstring)."""

    def event(self, event: dict[str, Any], text: str, lines: tuple[AgentLine, ...]) -> None:
        out = self.out
        kind = event.get("type")
        if kind == "turn.completed":
            used = event.get("usage")
            if isinstance(used, dict):
                cached = _int(used.get("cached_input_tokens"))
                out.usage.add(Tokens(input=max(_int(used.get("input_tokens")) - cached, 0),
                                     output=_int(used.get("output_tokens")),
                                     cache_write=_int(used.get("cache_write_input_tokens")),
                                     cache_read=cached))
            out.reported_turns = (out.reported_turns or 0) + 1
        elif kind == "turn.failed":
            error = event.get("error")
            message = str(error.get("message") or "") if isinstance(error, dict) else ""
            out.agent_error = message or "the turn failed"
            out.agent_failed = True
            out.limit = out.limit or limit_of(message)
        elif kind == "error":
            message = str(event.get("message") or "")
            out.limit = out.limit or limit_of(message)
        elif kind in ("item.completed", "item.updated"):
            self._item(event.get("item"))

    def _item(self, item: object) -> None:
        if not isinstance(item, dict) or item.get("type") != "command_execution":
            return
        if item.get("status") == "failed":
            said = str(item.get("aggregated_output") or "").strip()
            self.out.last_tool_error = (f"{item.get('command')} exited "
                                        f"{item.get('exit_code')}: {said}")[:600]
        else:
            self.out.last_tool_error = None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0
