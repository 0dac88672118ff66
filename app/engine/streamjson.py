"""Classify one line of `claude --output-format stream-json --verbose` for display.

Every line an agent prints becomes an AgentLine with a kind and a one-line
rendering. Anything that is not a JSON object (a stack trace, a progress bar,
binary noise) is kept as `raw` text: classification never raises.
"""

from __future__ import annotations

import json
from typing import Any

from app.engine.events import AgentLine

MAX_TEXT = 400
"""Display renderings are cut here; the log file keeps the whole line."""


def one_line(text: str, limit: int = MAX_TEXT) -> str:
    flat = " ".join(str(text).split())
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
    """Classify one stdout line; never raises."""
    raw = line.rstrip("\r\n")
    stripped = raw.strip()
    if not stripped.startswith("{"):
        return AgentLine("raw", one_line(raw), raw)
    try:
        data, end = _scan_json(stripped)
    except (ValueError, RecursionError):
        return AgentLine("raw", one_line(raw), raw)
    if end != len(stripped) or not isinstance(data, dict):  # `{...} trailing words`
        return AgentLine("raw", one_line(raw), raw)
    try:
        return _describe_event(data, raw)
    except Exception:  # a shape we did not foresee: show it, never crash
        return AgentLine("raw", one_line(raw), raw)


def _describe_event(data: dict[str, Any], raw: str) -> AgentLine:
    kind = data.get("type")
    if kind == "system":
        if data.get("subtype") == "init":
            model = data.get("model", "?")
            version = data.get("claude_code_version", "")
            text = f"session started: model {model}" + (f", claude {version}" if version else "")
            return AgentLine("system", text, raw)
        return AgentLine("system", one_line(f"system: {data.get('subtype', '')}"), raw)
    if kind == "result":
        if data.get("is_error"):
            return AgentLine("error", one_line(f"error: {data.get('result') or 'agent failed'}"),
                             raw)
        bits = [f"finished: {data.get('subtype', 'done')}"]
        if isinstance(data.get("num_turns"), int):
            bits.append(f"{data['num_turns']} turns")
        if isinstance(data.get("total_cost_usd"), (int, float)):
            bits.append(f"${data['total_cost_usd']:.4f}")
        return AgentLine("result", ", ".join(bits), raw)
    if kind in ("assistant", "user"):
        message = data.get("message") or {}
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list):
            return AgentLine("raw", one_line(raw), raw)
        texts: list[str] = []
        for block in content:
            if not isinstance(block, dict):
                continue
            btype = block.get("type")
            if btype == "tool_use":
                name = str(block.get("name", "tool"))
                arg = _tool_arg(name, block.get("input"))
                return AgentLine("tool", one_line(f"{name} {arg}".rstrip()), raw)
            if btype == "tool_result":
                text = _result_text(block.get("content"))
                if block.get("is_error"):
                    return AgentLine("error", one_line(f"tool error: {text}"), raw)
                return AgentLine("tool_result", one_line(text) or "(tool result)", raw)
            if btype == "text" and block.get("text"):
                texts.append(str(block["text"]))
            if btype == "thinking" and block.get("thinking"):
                texts.append(str(block["thinking"]))
        if data.get("error") and texts:
            return AgentLine("error", one_line(" ".join(texts)), raw)
        if texts:
            return AgentLine("text", one_line(" ".join(texts)), raw)
        return AgentLine("system", f"({kind} message)", raw)
    return AgentLine("system", one_line(f"{kind or 'event'}"), raw)


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
