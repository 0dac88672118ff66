"""Recognise an account's usage limit in what the agent printed, and when it resets.

A usage limit is not the item's fault and not a failure: the whole run waits for
the reset and repeats the same attempt. Claude Code 2.1.197 says so in structured
lines first (../shared/samples/claude-2.1.197/usage-limit-subscription.jsonl):

    {"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":...}}
    {"type":"assistant",...,"error":"rate_limit"}
    {"type":"result","is_error":true,"api_error_status":429,"result":"You've hit ..."}

and in texts that older versions and other wrappers print; those are the fallback.
`status: allowed` / `allowed_warning` events are notices, never a stop. A credit
balance that is too low is not a limit: waiting does not help, adding credits does.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from app.engine.executor import UsageLimit
from app.structs import Struct

_LIMIT_TEXT = re.compile(
    "you[\u2019']ve hit your (?:[\\w\u2019']+ )*?limit"  # session, weekly, org's monthly ...
    r"|claude ai usage limit reached"
    r"|\b\d+-hour limit reached"
    r"|usage limit reached",
    re.IGNORECASE)
_EPOCH_SUFFIX = re.compile(r"usage limit reached\|(\d{9,11})", re.IGNORECASE)
_RESETS = re.compile(
    r"resets?\s+(?:at\s+)?(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)?"
    r"(?:\s*\((?P<zone>[^)]+)\))?",
    re.IGNORECASE)
_NOT_A_LIMIT = re.compile(r"credit balance is too low", re.IGNORECASE)


def reset_from_text(text: str, now: datetime | None = None,
                    local: tzinfo | None = None) -> float | None:
    """The reset time a limit message names, as epoch seconds, or None.

    `Claude AI usage limit reached|1796069524` carries the epoch itself. `resets 8:12pm
    (UTC)` and `resets 5am` name a clock time: the next such time after `now`, in the
    named zone, else in `local` (the machine's zone).
    """
    epoch = _EPOCH_SUFFIX.search(text)
    if epoch:
        return float(epoch.group(1))
    match = _RESETS.search(text)
    if match is None:
        return None
    hour = int(match["hour"])
    minute = int(match["minute"] or 0)
    ampm = (match["ampm"] or "").replace(".", "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    zone = _zone(match["zone"]) if match["zone"] else None
    if match["zone"] and zone is None:
        return None  # a zone we cannot read: better no time than a wrong one
    where = zone or local or datetime.now().astimezone().tzinfo or UTC
    current = (now or datetime.now(UTC)).astimezone(where)
    at = current.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if at <= current:
        at += timedelta(days=1)
    return at.timestamp()


def _zone(name: str) -> tzinfo | None:
    name = name.strip()
    if name.upper() in ("UTC", "GMT", "Z"):
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # rarely needed; ~2 ms at start

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def limit_in_text(text: str, now: datetime | None = None) -> UsageLimit | None:
    """A limit named by a text alone (the fallback), or None."""
    if not text or _NOT_A_LIMIT.search(text) or not _LIMIT_TEXT.search(text):
        return None
    return UsageLimit(message=text.strip()[:300], resets_at=reset_from_text(text, now))


class LimitDetector:
    """Fed every stdout event (and error texts) of one attempt; says whether it met a
    usage limit and when it resets. Structured signals win over texts."""

    def __init__(self, now: datetime | None = None) -> None:
        self._now = now
        self._rejected = False
        self._resets_at: float | None = None
        self._kind: str | None = None
        self._words: str | None = None
        self._text_limit: UsageLimit | None = None
        self.notices: list[str] = []
        """`allowed_warning` events, said once each as a person would read them."""

    def feed(self, event: dict[str, Any]) -> None:
        """One parsed stdout line of the agent."""
        kind = event.get("type")
        if kind == "rate_limit_event":
            self._rate_limit_event(event.get("rate_limit_info"))
        elif kind == "assistant":
            if event.get("error") == "rate_limit":
                self._rejected = True
                self._words = self._words or _message_text(event.get("message"))
            else:
                self._text(_message_text(event.get("message")), only_synthetic=event)
        elif kind == "result":
            words = event.get("result") if isinstance(event.get("result"), str) else None
            if event.get("is_error") and event.get("api_error_status") == 429:
                if not (words and _NOT_A_LIMIT.search(words)):
                    self._rejected = True
                    self._words = words or self._words
            elif event.get("is_error") and words:
                self._text(words)

    def feed_text(self, text: str) -> None:
        """A line that is not JSON (stderr, or a wrapper's own words)."""
        self._text(text)

    def _rate_limit_event(self, info: object) -> None:
        if not isinstance(info, dict):
            return
        status = info.get("status")
        resets = info.get("resetsAt")
        if status == "rejected":
            self._rejected = True
            if isinstance(resets, (int, float)) and not isinstance(resets, bool):
                self._resets_at = float(resets)
            kind = info.get("rateLimitType")
            self._kind = kind if isinstance(kind, str) else None
        elif status == "allowed_warning":
            used = info.get("utilization")
            window = str(info.get("rateLimitType") or "usage").replace("_", "-")
            said = f"{window} limit nearly reached"
            if isinstance(used, (int, float)):
                said += f" ({used * 100:.0f}% used)" if used <= 1 else f" ({used:.0f}% used)"
            if said not in self.notices:
                self.notices.append(said)

    def _text(self, text: str | None, only_synthetic: dict[str, Any] | None = None) -> None:
        if not text or self._text_limit is not None:
            return
        if only_synthetic is not None:
            # The agent's own words about its work ("add rate limiting") are never a
            # limit; Claude Code writes its limit messages as a `<synthetic>` model.
            message = only_synthetic.get("message")
            if not isinstance(message, dict) or message.get("model") != "<synthetic>":
                return
        self._text_limit = limit_in_text(text, self._now)

    @property
    def limit(self) -> UsageLimit | None:
        """The limit this attempt met, or None."""
        if self._rejected:
            words = self._words or (self._text_limit.message if self._text_limit else None)
            resets = self._resets_at
            if resets is None and words:
                resets = reset_from_text(words, self._now)
            if resets is None and self._text_limit is not None:
                resets = self._text_limit.resets_at
            return UsageLimit(message=words or "usage limit reached", resets_at=resets,
                              kind=self._kind)
        return self._text_limit


def _message_text(message: object) -> str | None:
    if not isinstance(message, dict):
        return None
    content = message.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    texts = [block.get("text") for block in content
             if isinstance(block, dict) and block.get("type") == "text"]
    joined = " ".join(t for t in texts if isinstance(t, str))
    return joined or None


# --- waiting for the reset --------------------------------------------------------------------
class Pause(Struct, frozen=True):
    """How long the run waits for a limit: until `resumes_at` (epoch seconds)."""

    resumes_at: float
    reason: str
    """The agent's words about the limit."""
    known_reset: bool
    """False when no reset time was named and `resumes_at` is only a time to try again."""
    resets_at: float | None = None
    """The reset the agent named (`resumes_at` adds the margin to it)."""

    def as_json(self) -> dict[str, Any]:
        return {"resumes_at": self.resumes_at, "reason": self.reason,
                "known_reset": self.known_reset, "resets_at": self.resets_at}

    @classmethod
    def from_json(cls, data: Any) -> Pause:
        """ValueError, KeyError or TypeError when `data` is not one."""
        resets = data.get("resets_at")
        return cls(float(data["resumes_at"]), str(data["reason"]),
                   bool(data.get("known_reset", True)),
                   float(resets) if resets is not None else None)


def plan_pause(limit: UsageLimit, *, now: float, margin_s: float, retry_interval_s: float,
               retry_interval_max_s: float, streak: int) -> Pause:
    """When to try again: the reset plus the margin, or (no reset named) an interval
    that doubles with each limit in a row (`streak` counts from 1), capped."""
    if limit.resets_at is not None:
        return Pause(max(now, limit.resets_at + margin_s), limit.message, True,
                     limit.resets_at)
    interval = min(retry_interval_s * 2 ** max(0, streak - 1), retry_interval_max_s)
    return Pause(now + interval, limit.message, False)


def clock_time(at: float, now: float) -> str:
    """`22:15 (in 1h02m)` in the machine's own time zone; a day name when not today."""
    when = datetime.fromtimestamp(at).astimezone()
    today = datetime.fromtimestamp(now).astimezone().date()
    shown = when.strftime("%H:%M") if when.date() == today else when.strftime("%a %H:%M")
    return f"{shown} (in {duration(at - now)})"


def duration(seconds: float) -> str:
    """`1h02m`, `4m05s`, `12s`."""
    whole = max(0, int(seconds + 0.5))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def save_pause(path: Path, pause: Pause) -> None:
    """Keep the pause in `.orchestrator/` so a run started again before the reset waits
    too (written whole by rename: a crash leaves the old file or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(pause.as_json()), encoding="utf-8")
    os.replace(tmp, path)


def load_pause(path: Path) -> Pause | None:
    """The kept pause, or None (missing, torn or not ours to trust)."""
    try:
        return Pause.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def clear_pause(path: Path) -> None:
    """The limit is over: forget the kept pause."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
