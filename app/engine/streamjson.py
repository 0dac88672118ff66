"""Classify one line an agent prints for display: claude's `--output-format stream-json
--verbose` here, the other CLIs' streams in streamshapes.py.

Every line an agent prints becomes AgentLines, each with a kind and a one-line
rendering: one per content block of a message (a message may carry several), none
for a `stream_event` (from `--include-partial-messages`: the whole message it builds
follows as its own line). Anything that is not a JSON object (a stack trace, a
progress bar, binary noise) is kept as `raw` text: classification never raises.

Kinds: `text` (the agent's words), `thinking`, `prompt` (a prompt the agent was given:
a subagent's task, a compaction summary), `tool`, `tool_result`, `error`, `retry` (the
CLI retrying the API), `result`, `system`, `stderr`, `raw`. A subagent's lines start
with `↳ `. Readers show `thinking` and `prompt` dimmed: they are not the agent's words.
"""

from __future__ import annotations

import json
from typing import Any

from app.backlog.model import visible
from app.engine import streamshapes
from app.engine.events import AgentLine

MAX_TEXT = 400
"""Display renderings are cut here; the log file keeps the whole line."""


def one_line(text: str, limit: int = MAX_TEXT) -> str:
    """`text` on one line for display: whitespace folded, control characters escaped
    (an agent's `\x1b]0;…` must never reach a terminal), cut at `limit`."""
    if isinstance(text, str) and text.isprintable() and "  " not in text \
            and text[:1] != " " and text[-1:] != " ":
        flat = text  # the common line, checked in C: no other whitespace, nothing to fold
    else:
        flat = visible(" ".join(str(text).split()), one_line=True)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _tool_arg(name: str, args: Any) -> str:
    """The one argument that says what a tool call does (`Bash ls`, `Read app/x.py`)."""
    if not isinstance(args, dict):
        return ""
    for key in ("command", "file_path", "path", "pattern", "url", "query", "description",
                "prompt", "skill"):
        value = args.get(key)
        if isinstance(value, str) and value:
            return value
    for value in args.values():
        if isinstance(value, str) and value:
            return value
    return ""


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [c.get("text", "") for c in content if isinstance(c, dict)]
        return " ".join(p for p in parts if p)
    return ""


_scan_json = json.JSONDecoder().raw_decode
"""json.loads without its checks and whitespace scans (a stripped line has none): the
board classifies every line an agent prints, at 100,000 lines a second."""


def describe(line: str) -> AgentLine:
    """One stdout line as one AgentLine (the first of `describe_lines`); never raises."""
    lines = describe_lines(line)
    return lines[0] if lines else AgentLine("system", "(partial message)", line.rstrip("\r\n"))


def describe_lines(line: str) -> tuple[AgentLine, ...]:
    """Classify one stdout line into the lines a reader shows; never raises."""
    raw = line.rstrip("\r\n")
    return lines_of(parse(raw), raw)


def parse(line: str) -> dict[str, Any] | None:
    """The JSON object one stdout line holds, or None (not JSON, torn, `{...} words`)."""
    stripped = line.strip()
    if not stripped.startswith("{"):
        return None
    try:
        data, end = _scan_json(stripped)
    except (ValueError, RecursionError):
        return None
    if end != len(stripped) or not isinstance(data, dict):  # `{...} trailing words`
        return None
    return data


def lines_of(data: dict[str, Any] | None, raw: str) -> tuple[AgentLine, ...]:
    """The lines a reader shows for a parsed event (`parse`'s answer) of line `raw`:
    the agent process parses each line once and reads its facts from the same dict."""
    if data is None:
        return (AgentLine("raw", one_line(raw), raw),)
    try:
        return _describe_event(data, raw)
    except Exception:  # a shape we did not foresee: show it, never crash
        return (AgentLine("raw", one_line(raw), raw),)


def error_words(data: dict[str, Any]) -> str:
    """An error result's own words: its `errors` ("Reached maximum number of turns (2)"),
    else its `result` text, else its subtype."""
    errors = data.get("errors")
    if isinstance(errors, list):
        said = "; ".join(str(e) for e in errors if e)
        if said:
            return said
    return str(data.get("result") or data.get("subtype") or "the agent reported an error")


def _retry(data: dict[str, Any]) -> str:
    """`API retry 7/10 in 36 s (529 overloaded)`."""
    attempt, most = data.get("attempt"), data.get("max_retries")
    count = f" {attempt}/{most}" if attempt is not None and most is not None else ""
    delay = data.get("retry_delay_ms")
    wait = f" in {float(delay) / 1000:.0f} s" if isinstance(delay, (int, float)) else ""
    status, error = data.get("error_status"), data.get("error")
    if error == "unknown" and status is None:
        error = "no answer from the API"
    why = " ".join(str(x) for x in (status, error) if x)
    return f"API retry{count}{wait}" + (f" ({why})" if why else "")


def _describe_event(data: dict[str, Any], raw: str) -> tuple[AgentLine, ...]:
    other = streamshapes.shape(data)
    if other is not None:  # Codex's, Gemini's or OpenCode's (streamshapes.py)
        return streamshapes.SHOWN[other](data, raw, one_line)
    kind = data.get("type")
    if kind == "stream_event":
        return ()
    if kind == "system":
        subtype = data.get("subtype")
        if subtype == "init":
            model = data.get("model", "?")
            version = data.get("claude_code_version", "")
            text = f"session started: model {model}" + (f", claude {version}" if version else "")
            return (AgentLine("system", text, raw),)
        if subtype == "api_retry":
            return (AgentLine("retry", _retry(data), raw),)
        return (AgentLine("system", one_line(f"system: {subtype or ''}"), raw),)
    if kind == "result":
        if data.get("is_error"):
            return (AgentLine("error", one_line(f"error: {error_words(data)}"), raw),)
        bits = [f"finished: {data.get('subtype', 'done')}"]
        if isinstance(data.get("num_turns"), int):
            bits.append(f"{data['num_turns']} turns")
        if isinstance(data.get("total_cost_usd"), (int, float)):
            bits.append(f"${data['total_cost_usd']:.4f}")
        return (AgentLine("result", ", ".join(bits), raw),)
    if kind in ("assistant", "user"):
        return _message(data, kind, raw)
    return (AgentLine("system", one_line(f"{kind or 'event'}"), raw),)


def _message(data: dict[str, Any], kind: str, raw: str) -> tuple[AgentLine, ...]:
    """One line per content block of an assistant or user message."""
    message = data.get("message") or {}
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    if not isinstance(content, list):
        return (AgentLine("raw", one_line(raw), raw),)
    lead = "↳ " if data.get("parent_tool_use_id") else ""  # a subagent's
    lines: list[AgentLine] = []
    for block in content:
        if not isinstance(block, dict):
            continue
        btype = block.get("type")
        if btype == "tool_use":
            name = str(block.get("name", "tool"))
            arg = _tool_arg(name, block.get("input"))
            lines.append(AgentLine("tool", one_line(f"{lead}{name} {arg}".rstrip()), raw))
        elif btype == "tool_result":
            text = _result_text(block.get("content"))
            if block.get("is_error"):
                lines.append(AgentLine("error", one_line(f"{lead}tool error: {text}"), raw))
            else:
                lines.append(AgentLine("tool_result",
                                       one_line(f"{lead}{text}") or "(tool result)", raw))
        elif btype == "thinking" and block.get("thinking"):
            lines.append(AgentLine("thinking", one_line(f"{lead}{block['thinking']}"), raw))
        elif btype == "text" and block.get("text"):
            text = str(block["text"])
            if data.get("error"):
                lines.append(AgentLine("error", one_line(f"{lead}{text}"), raw))
            elif kind == "user":  # words given to the agent, not the agent's own
                lines.append(AgentLine("prompt", one_line(f"{lead}prompt: {text}"), raw))
            else:
                lines.append(AgentLine("text", one_line(f"{lead}{text}"), raw))
    return tuple(lines) or (AgentLine("system", f"({kind} message)", raw),)


def result_event(line: str) -> dict[str, Any] | None:
    """The parsed final `{"type": "result", ...}` event, or None for any other line."""
    stripped = line.strip()
    if not stripped.startswith("{") or '"result"' not in stripped:
        return None
    try:
        data = json.loads(stripped)
    except (ValueError, RecursionError):
        return None
    if isinstance(data, dict) and data.get("type") == "result":
        return data
    return None
