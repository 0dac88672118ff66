"""What the scripted agent prints: claude's stream-json lines, one JSON object a line.

`Transcript` is the scripted agent's voice (app/demo/scripted_agent.py): the init line,
assistant text and tool calls with their results, the final `result` line, and the lines
the real CLI prints at a rate limit, a usage limit, an API retry or a run of turns that
never ends; `NOT_LOGGED_IN_LINES`, what it prints when not logged in. Every line is flushed
at once, as the real CLI does.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from typing import Any, NoReturn

# The real CLI's output when not logged in (claude 2.1.197), byte for byte.
NOT_LOGGED_IN_LINES = (
    (
        '{"type":"system","subtype":"init","cwd":"/home/dev/project","session_id":"75e148d3-8b6e-'
        '47aa-befa-65c9a47ef5de","tools":["Task","Bash","CronCreate","CronDelete","CronList","Des'
        'ignSync","Edit","EnterWorktree","ExitWorktree","NotebookEdit","Read","ReportFindings","S'
        'cheduleWakeup","SendMessage","Skill","TaskCreate","TaskGet","TaskList","TaskOutput","Tas'
        'kStop","TaskUpdate","ToolSearch","WebFetch","WebSearch","Workflow","Write"],"mcp_servers'
        '":[],"model":"claude-opus-4-8[1m]","permissionMode":"default","slash_commands":["deep-re'
        'search","design-sync","update-config","verify","debug","code-review","simplify","batch",'
        '"fewer-permission-prompts","loop","claude-api","run","run-skill-generator","clear","comp'
        'act","config","context","heapdump","init","reload-skills","review","security-review","us'
        'age","insights","goal","team-onboarding"],"apiKeySource":"none","claude_code_version":"2'
        '.1.197","output_style":"default","agents":["claude","Explore","general-purpose","Plan","'
        'statusline-setup"],"skills":["deep-research","design-sync","update-config","verify","deb'
        'ug","code-review","simplify","batch","fewer-permission-prompts","loop","claude-api","run'
        '","run-skill-generator"],"plugins":[],"analytics_disabled":false,"product_feedback_disab'
        'led":false,"uuid":"7a27700a-4e67-441e-8552-b8b71162db0d","memory_paths":{"auto":"/home/d'
        'ev/.claude/projects/-home-dev-project/memory/"},"fast_mode_state":"off"}'
    ),
    (
        '{"type":"assistant","message":{"id":"261d0cfe-ea7e-4dd5-ae40-8be70c08d537","container":n'
        'ull,"model":"<synthetic>","role":"assistant","stop_details":null,"stop_reason":"stop_seq'
        'uence","stop_sequence":"","type":"message","usage":{"input_tokens":0,"output_tokens":0,"'
        'cache_creation_input_tokens":0,"cache_read_input_tokens":0,"server_tool_use":{"web_searc'
        'h_requests":0,"web_fetch_requests":0},"service_tier":null,"cache_creation":{"ephemeral_1'
        'h_input_tokens":0,"ephemeral_5m_input_tokens":0},"inference_geo":null,"iterations":null,'
        '"speed":null},"content":[{"type":"text","text":"Not logged in · Please run /login"}],"co'
        'ntext_management":null},"parent_tool_use_id":null,"session_id":"75e148d3-8b6e-47aa-befa-'
        '65c9a47ef5de","uuid":"45322ca2-bc08-4997-9ab8-02cda7d8d24a","error":"authentication_fail'
        'ed"}'
    ),
    (
        '{"type":"result","subtype":"success","is_error":true,"api_error_status":null,"duration_m'
        's":117,"duration_api_ms":0,"num_turns":1,"result":"Not logged in · Please run /login","s'
        'top_reason":"stop_sequence","session_id":"75e148d3-8b6e-47aa-befa-65c9a47ef5de","total_c'
        'ost_usd":0,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_t'
        'okens":0,"output_tokens":0,"server_tool_use":{"web_search_requests":0,"web_fetch_request'
        's":0},"service_tier":"standard","cache_creation":{"ephemeral_1h_input_tokens":0,"ephemer'
        'al_5m_input_tokens":0},"inference_geo":"","iterations":[],"speed":"standard"},"modelUsag'
        'e":{},"permission_denials":[],"terminal_reason":"completed","fast_mode_state":"off","uui'
        'd":"f4bf1e01-3eb7-4430-a314-491df31a5d22"}'
    ),
)


class Transcript:
    """One agent's stream-json output: its session, turns and time so far."""

    def __init__(self, speed: float, model: str) -> None:
        self.speed = speed
        """Pauses are divided by this."""
        self.model = model
        """The init line's model, as Claude Code names it."""
        self.session = str(uuid.uuid4())
        self.turns = 0
        self.started = time.monotonic()
        self.mcp_servers: list[dict[str, str]] | None = None
        """The init line's MCP servers (claude lists those of its --mcp-config)."""

    def emit(self, data: dict[str, Any] | str | bytes, pause: float = 0.0) -> None:
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data + b"\n")
        else:
            text = data if isinstance(data, str) else json.dumps(
                data, ensure_ascii=False, separators=(",", ":"))
            sys.stdout.buffer.write(text.encode("utf-8") + b"\n")
        sys.stdout.buffer.flush()
        if pause:
            time.sleep(pause / self.speed)

    def init(self) -> None:
        self.emit({"type": "system", "subtype": "init", "cwd": os.getcwd(),
                   "session_id": self.session, "tools": ["Bash", "Edit", "Read", "Write"],
                   "model": self.model,
                   "permissionMode": "bypassPermissions",
                   "claude_code_version": "scripted",
                   **({"mcp_servers": self.mcp_servers} if self.mcp_servers is not None
                      else {})})

    def say(self, text: str, pause: float = 0.0) -> None:
        self.turns += 1
        self.emit({"type": "assistant", "session_id": self.session, "message": {
            "role": "assistant", "type": "message",
            "content": [{"type": "text", "text": text}]}}, pause)

    def tool(self, name: str, args: dict[str, Any], output: str, pause: float = 0.0,
             is_error: bool = False) -> None:
        self.turns += 1
        tool_id = "toolu_" + uuid.uuid4().hex[:20]
        self.emit({"type": "assistant", "session_id": self.session, "message": {
            "role": "assistant", "type": "message",
            "content": [{"type": "tool_use", "id": tool_id, "name": name, "input": args}]}})
        self.emit({"type": "user", "session_id": self.session, "message": {
            "role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id,
                                         "content": output, "is_error": is_error}]}}, pause)

    def final(self, text: str, is_error: bool = False) -> None:
        self.emit({"type": "result", "subtype": "success", "is_error": is_error,
                   "duration_ms": int((time.monotonic() - self.started) * 1000),
                   "num_turns": max(self.turns, 1), "result": text,
                   "session_id": self.session,
                   "total_cost_usd": round(0.01 * max(self.turns, 1), 4),
                   # As the real CLI sums them up at its end (never per line here: a
                   # live budget would count them).
                   "usage": {"input_tokens": 1200 * max(self.turns, 1),
                             "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                             "output_tokens": 40 * max(self.turns, 1)}})

    # the CLI's own lines -----------------------------------------------------------------------
    def limit_warning(self, utilization: float) -> None:
        """An `allowed_warning` rate_limit_event: the account nears its five-hour limit."""
        self.emit({"type": "rate_limit_event", "rate_limit_info": {
            "status": "allowed_warning", "resetsAt": int(time.time()) + 3600,
            "rateLimitType": "five_hour", "utilization": utilization,
            "isUsingOverage": False}, "session_id": self.session})

    def api_retry(self, attempt: int, status: int | None, error: str) -> None:
        """One `system/api_retry` line as the CLI prints it (no real wait)."""
        self.emit({"type": "system", "subtype": "api_retry", "attempt": attempt,
                   "max_retries": 10, "retry_delay_ms": 500.0 * 2 ** (attempt - 1),
                   "error_status": status, "error": error, "session_id": self.session})

    def max_turns(self) -> None:
        """The CLI's error_max_turns result."""
        self.emit({"type": "result", "subtype": "error_max_turns", "is_error": True,
                   "num_turns": 3, "stop_reason": "tool_use", "session_id": self.session,
                   "total_cost_usd": 0.01,
                   "errors": ["Reached maximum number of turns (2)"]})

    def no_api(self) -> None:
        """Ten retries, then the CLI's words when it cannot reach the API."""
        for n in range(10):
            self.api_retry(n + 1, None, "unknown")
        words = "API Error: Unable to connect to API (ConnectionRefused)"
        self.emit({"type": "assistant", "message": {
            "model": "<synthetic>", "role": "assistant", "type": "message",
            "content": [{"type": "text", "text": words}]}, "error": "server_error",
            "session_id": self.session})
        self.emit({"type": "result", "subtype": "success", "is_error": True,
                   "num_turns": 1, "result": words, "session_id": self.session,
                   "total_cost_usd": 0})

    def usage_limit(self, resets_in: float | None) -> None:
        """The real CLI's three lines at a usage limit (samples/usage-limit-subscription)."""
        info: dict[str, Any] = {"status": "rejected", "rateLimitType": "five_hour",
                                "overageStatus": "rejected", "isUsingOverage": False}
        if resets_in is not None:
            at = time.time() + float(resets_in)
            info["resetsAt"] = int(at + 0.999)  # whole seconds, as the CLI gives them
            clock = time.strftime("%I:%M%p", time.gmtime(at)).lstrip("0").lower()
            words = f"You've hit your limit \u00b7 resets {clock} (UTC)"
        else:
            words = "You've hit your session limit"
        self.emit({"type": "rate_limit_event", "rate_limit_info": info,
                   "session_id": self.session})
        self.emit({"type": "assistant", "message": {
            "model": "<synthetic>", "role": "assistant", "type": "message",
            "content": [{"type": "text", "text": words}]}, "error": "rate_limit",
            "session_id": self.session})
        self.emit({"type": "result", "subtype": "success", "is_error": True,
                   "api_error_status": 429, "duration_ms": 185, "num_turns": 1,
                   "result": words, "session_id": self.session, "total_cost_usd": 0})

    def runaway(self, tokens: int, every: float) -> NoReturn:
        """Tool calls forever, each a new message of `tokens` input tokens (as the real CLI
        prints them: samples/claude-2.1.197/max-turns.jsonl), never answering."""
        n = 0
        while True:
            n += 1
            tool_id = f"toolu_{n:020d}"
            self.emit({"type": "assistant", "session_id": self.session, "message": {
                "id": f"msg_{n:024d}", "type": "message", "role": "assistant",
                "model": "claude-sonnet-4-5-20250929",
                "content": [{"type": "tool_use", "id": tool_id, "name": "Bash",
                             "input": {"command": f"echo step {n}"}}],
                "usage": {"input_tokens": tokens, "output_tokens": 1,
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}})
            self.emit({"type": "user", "session_id": self.session, "message": {
                "role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id,
                                             "content": f"step {n}", "is_error": False}]}},
                      every)
