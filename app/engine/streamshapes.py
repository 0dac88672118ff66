"""How the other CLIs' events are shown (streamjson.py shows claude's and dispatches here):
Codex's `exec --json`, Gemini's `--output-format stream-json` and OpenCode's `run
--format json`, as ../shared/samples/ holds them. Each event becomes the same kinds of
line as claude's (text, thinking, tool, tool_result, error, retry, result, system), so
the log pane, the CLI and the board read every agent alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.engine.events import AgentLine

Shown = tuple[AgentLine, ...]
OneLine = Callable[[str], str]


def shape(data: dict[str, Any]) -> str | None:
    """Which CLI printed this event: `codex`, `gemini`, `opencode`, or None (claude's, or
    unknown). Told by type names and keys, which do not overlap."""
    kind = str(data.get("type") or "")
    if kind.startswith(("item.", "turn.", "thread.")) or (
            kind == "error" and isinstance(data.get("message"), str)
            and "severity" not in data):
        return "codex"
    if kind in ("step_start", "step_finish", "text") or (
            kind in ("tool_use", "error") and ("part" in data or "sessionID" in data)):
        return "opencode"
    if kind in ("init", "message", "tool_result") or (
            kind == "tool_use" and "tool_name" in data) or (
            kind == "result" and "status" in data) or (
            kind == "error" and "severity" in data):
        return "gemini"
    return None


def codex(data: dict[str, Any], raw: str, one: OneLine) -> Shown:
    kind = data.get("type")
    if kind == "thread.started":
        return (AgentLine("system", "session started (codex)", raw),)
    if kind == "turn.started":
        return (AgentLine("system", "turn started", raw),)
    if kind == "turn.completed":
        used = _dict(data.get("usage"))
        return (AgentLine("result", f"finished: turn completed, "
                                    f"{used.get('input_tokens', 0)} tokens in, "
                                    f"{used.get('output_tokens', 0)} out", raw),)
    if kind == "turn.failed":
        error = _dict(data.get("error"))
        return (AgentLine("error", one(f"error: {error.get('message', 'turn failed')}"), raw),)
    if kind == "error":
        message = str(data.get("message") or "")
        if message.startswith("Reconnecting"):
            return (AgentLine("retry", one(f"API retry: {message}"), raw),)
        return (AgentLine("error", one(f"error: {message}"), raw),)
    item = _dict(data.get("item"))
    return _codex_item(str(kind), item, raw, one)


def _codex_item(kind: str, item: dict[str, Any], raw: str, one: OneLine) -> Shown:
    itype = item.get("type")
    started = kind == "item.started"
    if itype == "agent_message":
        return (AgentLine("text", one(str(item.get("text") or "")), raw),)
    if itype == "reasoning":
        return (AgentLine("thinking", one(str(item.get("text") or "")), raw),)
    if itype == "command_execution":
        if started:
            return (AgentLine("tool", one(f"Bash {item.get('command', '')}"), raw),)
        output = str(item.get("aggregated_output") or "")
        if item.get("status") == "failed":
            return (AgentLine("error", one(f"tool error: exit {item.get('exit_code')}: "
                                           f"{output}"), raw),)
        return (AgentLine("tool_result", one(output) or "(tool result)", raw),)
    if itype == "file_change":
        changes = _list(item.get("changes"))
        paths = ", ".join(f"{c.get('kind')} {c.get('path')}" for c in changes
                          if isinstance(c, dict))
        return (AgentLine("tool" if started else "tool_result",
                          one(f"Edit {paths}" if started else f"edited {paths}"), raw),)
    if itype == "error":
        return (AgentLine("error", one(f"warning: {item.get('message', '')}"), raw),)
    if itype in ("mcp_tool_call", "web_search", "todo_list"):
        return (AgentLine("tool" if started else "tool_result",
                          one(f"{itype} {item.get('tool') or item.get('query') or ''}"),
                          raw),)
    return (AgentLine("system", one(f"{kind} {itype or ''}"), raw),)


def gemini(data: dict[str, Any], raw: str, one: OneLine) -> Shown:
    kind = data.get("type")
    if kind == "init":
        return (AgentLine("system", one(f"session started: model {data.get('model', '?')} "
                                        "(gemini)"), raw),)
    if kind == "message":
        text = str(data.get("content") or "")
        if data.get("role") == "user":
            return (AgentLine("prompt", one(f"prompt: {text}"), raw),)
        return (AgentLine("text", one(text), raw),) if text else ()
    if kind == "tool_use":
        args = _dict(data.get("parameters"))
        arg = next((str(v) for k, v in args.items() if k in ("command", "file_path", "path",
                                                              "pattern", "url")), "")
        return (AgentLine("tool", one(f"{data.get('tool_name', 'tool')} {arg}".rstrip()),
                          raw),)
    if kind == "tool_result":
        if data.get("status") == "error":
            error = _dict(data.get("error"))
            said = error.get("message") or data.get("output") or "tool failed"
            return (AgentLine("error", one(f"tool error: {said}"), raw),)
        return (AgentLine("tool_result", one(str(data.get("output") or "")) or
                          "(tool result)", raw),)
    if kind == "error":
        level = "error" if data.get("severity") == "error" else "system"
        return (AgentLine(level, one(f"{data.get('severity', 'error')}: "
                                     f"{data.get('message', '')}"), raw),)
    if kind == "result":
        if data.get("status") == "error":
            error = _dict(data.get("error"))
            return (AgentLine("error", one(f"error: {error.get('message', 'failed')}"), raw),)
        stats = _dict(data.get("stats"))
        return (AgentLine("result", f"finished: {data.get('status')}, "
                                    f"{stats.get('total_tokens', 0)} tokens", raw),)
    return (AgentLine("system", one(str(kind)), raw),)


def opencode(data: dict[str, Any], raw: str, one: OneLine) -> Shown:
    kind = data.get("type")
    part = _dict(data.get("part"))
    if kind == "step_start":
        return ()  # a step begins: the lines that follow say what it does
    if kind == "text":
        return (AgentLine("text", one(str(part.get("text") or "")), raw),)
    if kind == "tool_use":
        state = _dict(part.get("state"))
        args = _dict(state.get("input"))
        arg = next((str(v) for k, v in args.items() if k in ("command", "filePath", "path",
                                                              "pattern", "url")), "")
        call = one(f"{part.get('tool', 'tool')} {arg}".rstrip())
        if state.get("status") == "error":
            return (AgentLine("tool", call, raw),
                    AgentLine("error", one(f"tool error: {state.get('error', '')}"), raw))
        return (AgentLine("tool", call, raw),
                AgentLine("tool_result", one(str(state.get("output") or "")) or
                          "(tool result)", raw))
    if kind == "step_finish":
        tokens = _dict(part.get("tokens"))
        cost = part.get("cost")
        said = f"step finished ({part.get('reason')}), {tokens.get('total', 0)} tokens"
        if isinstance(cost, (int, float)):
            said += f", ${cost:.4f}"
        return (AgentLine("result" if part.get("reason") == "stop" else "system", said, raw),)
    if kind == "error":
        error = _dict(data.get("error"))
        detail = _dict(error.get("data"))
        return (AgentLine("error", one(f"error: {detail.get('message') or error.get('name')}"),
                          raw),)
    return (AgentLine("system", one(str(kind)), raw),)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


SHOWN: dict[str, Callable[[dict[str, Any], str, OneLine], Shown]] = {
    "codex": codex, "gemini": gemini, "opencode": opencode}
