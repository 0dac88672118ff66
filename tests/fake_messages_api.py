"""A stand-in for the Anthropic Messages API, so tests can run the REAL Claude Code CLI.

The CLI (npm `@anthropic-ai/claude-code`, checked with 2.1.197) talks to
`ANTHROPIC_BASE_URL`; this server answers on 127.0.0.1 only. It scripts nothing but
the API's answers: every stream-json line orchestrate reads is the CLI's own, and
every file the agent writes is written by the CLI's own tools (Write, Read, Bash).

Use::

    with FakeMessagesApi(brain) as api:
        env = {**os.environ, **api.cli_env(home=tmp_path / "home")}
        subprocess.run([claude, "-p", "...", "--output-format", "stream-json",
                        "--verbose", "--permission-mode", "acceptEdits"], env=env)

`cli_env` sets `ANTHROPIC_BASE_URL`, a dummy `ANTHROPIC_API_KEY` (or, with
`subscription=True`, a dummy `CLAUDE_CODE_OAUTH_TOKEN`, needed for the usage-limit
lines), `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1` and `HOME` (a tmp dir, so no
person's config leaks in). As root, claude refuses `--dangerously-skip-permissions`;
`--permission-mode acceptEdits` lets it Write/Edit inside its cwd and run read-only
Bash such as `echo`. The CLI must Read an existing file before it may overwrite it.

Writing a brain
---------------
A brain is a function `ApiRequest -> Reply`, called once per agent request (a POST
/v1/messages that offers tools; others get `side`, "OK." by default). Derive what
to answer from the request alone, so a brain is reusable and survives retries:

- `request.prompt()`: the texts of the first user message (the `-p` prompt, after
  the CLI's `<system-reminder>`); `request.system`: the system prompt (it names the
  cwd: `Primary working directory: /abs/path`, see `request.cwd`);
- `request.turn`: how many assistant messages came before (0 on the first call);
- `request.tool_results()`: each tool result so far, with the call it answers
  (`name`, `input`, `text`, `is_error`); a Read of a missing file comes back as
  `is_error` with "File does not exist.";
- `request.model`, `request.tools` (names offered), `request.body` (everything).

A Reply is a `Message` (`say("text", Thinking("..."), ToolUse("Write",
{"file_path": "/abs", "content": "..."}))`; stop_reason becomes `tool_use` when it
calls a tool, else `end_turn`; `input_tokens`/`output_tokens` drive the CLI's cost,
`headers` are sent with it) or an `ApiError(status, type, message, headers)`.
Streaming requests get SSE (message_start, content_block_start/delta/stop with
text_delta, thinking_delta + signature_delta and input_json_delta, message_delta
with stop_reason and usage, message_stop); others get the message as JSON.
`scripted(plan)` turns a function `ApiRequest -> [Reply, ...]` into a brain that
answers step `request.turn` of the plan, and ends the turn when the plan runs out.
`phase_brain()` is such a plan for orchestrate's phase prompts: it reads the change
folder and result file from the prompt, writes the phase's document(s) with the
Write tool (the build phase Reads SPEC.md first, then ticks every box), writes the
result JSON, and ends with a text.

What the CLI makes of each answer (2.1.197, `-p --output-format stream-json
--verbose`)
----------------------------------------------------------------------------
- 429 + `anthropic-ratelimit-unified-status: rejected`,
  `anthropic-ratelimit-unified-reset: <epoch s>`,
  `anthropic-ratelimit-unified-representative-claim: five_hour` (seven_day, ...)
  [+ `anthropic-ratelimit-unified-overage-status: rejected`], logged in with
  `CLAUDE_CODE_OAUTH_TOKEN`: `{"type":"rate_limit_event","rate_limit_info":
  {"status":"rejected","resetsAt":<reset>,"rateLimitType":"five_hour",...}}`, a
  `<synthetic>` assistant message with `"error":"rate_limit"`, and a result with
  `is_error: true`, `api_error_status: 429`, `"result": "You've hit your session
  limit · resets 10:55pm (UTC)"` (with the overage header: "You've hit your limit ·
  resets ..."); exit code 1, no retry. Without representative-claim and
  overage-status: a rejected event without resetsAt and "API Error: Server is
  temporarily limiting requests (not your usage limit) · ...". See `usage_limit()`.
- The same 429 with `ANTHROPIC_API_KEY` instead: the CLI retries it (api_retry
  lines, 10 retries, minutes): not a usage limit for API-key users.
- 200 with `anthropic-ratelimit-unified-status: allowed_warning`,
  `anthropic-ratelimit-unified-5h-surpassed-threshold: 0.9`,
  `anthropic-ratelimit-unified-5h-utilization: 0.93`,
  `anthropic-ratelimit-unified-5h-reset: <epoch>` (subscription):
  a rate_limit_event `allowed_warning` with utilization; `-status: allowed` plus
  `-reset` and `-representative-claim`: an `allowed` event. See `limit_warning()`.
- 529 `overloaded_error` (a 500 the same, with `"error":"server_error"`):
  `{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,
  "retry_delay_ms":~550,"error_status":529,"error":"overloaded"}` per retry; the
  delay doubles from ~0.5 s and
  `retry-after`/`retry-after-ms` do not shorten it. `CLAUDE_CODE_MAX_RETRIES=N`
  bounds the retries; when they run out the result is `is_error`, "API Error: 529
  ...". See `overloaded()` and `first()`.
- Tool calls forever with `--max-turns 2`: result `subtype: error_max_turns`,
  `is_error: true` and no `result` text, exit 1; with `--max-budget-usd 0.5` and
  400000 input tokens a turn: `error_max_budget_usd` after the first answer. See
  `endless_tools()`.
- At start the CLI sends `HEAD /` (answered 404, harmlessly); with the
  nonessential traffic off nothing else but /v1/messages (`?beta=true`).

Bounds: the server listens on 127.0.0.1 only, answers at most `max_requests`
requests (then a 400 the CLI does not retry), and shuts itself down after
`lifetime_s` even if a test forgets to.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# The brain's view of one request ------------------------------------------------------------


@dataclass(frozen=True)
class ToolResult:
    """A tool's answer as the CLI sent it back, with the call it answers."""

    name: str
    input: dict[str, Any]
    text: str
    is_error: bool


@dataclass(frozen=True)
class ApiRequest:
    """One request the CLI sent."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def model(self) -> str:
        return str(self.body.get("model") or "")

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def tools(self) -> list[str]:
        """The names of the tools offered (none on the CLI's side requests)."""
        return [str(t.get("name")) for t in self.body.get("tools") or [] if isinstance(t, dict)]

    @property
    def system(self) -> str:
        system = self.body.get("system")
        if isinstance(system, str):
            return system
        if isinstance(system, list):
            return "\n".join(str(b.get("text", "")) for b in system if isinstance(b, dict))
        return ""

    @property
    def cwd(self) -> Path | None:
        """The CLI's working directory, as its system prompt names it."""
        found = re.search(r"Primary working directory: (.+)", self.system)
        return Path(found.group(1).strip()) if found else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages = self.body.get("messages")
        return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []

    @property
    def turn(self) -> int:
        """How many assistant messages came before this request."""
        return sum(1 for m in self.messages if m.get("role") == "assistant")

    def prompt(self) -> str:
        """Every text of the first user message (the CLI's reminders, then the prompt)."""
        for message in self.messages:
            if message.get("role") == "user":
                return _texts(message.get("content"))
        return ""

    def tool_results(self) -> list[ToolResult]:
        """Every tool result so far, in order, with the call it answers."""
        calls: dict[str, dict[str, Any]] = {}
        results: list[ToolResult] = []
        for message in self.messages:
            content = message.get("content")
            if not isinstance(content, list):
                continue
            for block in content:
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "tool_use":
                    calls[str(block.get("id"))] = block
                elif block.get("type") == "tool_result":
                    call = calls.get(str(block.get("tool_use_id")), {})
                    results.append(ToolResult(
                        name=str(call.get("name", "")), input=dict(call.get("input") or {}),
                        text=_texts(block.get("content")),
                        is_error=bool(block.get("is_error"))))
        return results


def _texts(content: object) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "\n".join(str(b.get("text", "")) for b in content
                     if isinstance(b, dict) and b.get("type") == "text")


# What the brain answers -----------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A text block."""

    text: str


@dataclass(frozen=True)
class Thinking:
    """A thinking block (streamed as thinking_delta, then its signature_delta)."""

    thinking: str
    signature: str = "EqQBCkYIBxgCKkA" + "0" * 32


@dataclass(frozen=True)
class ToolUse:
    """A tool call (streamed as input_json_delta pieces)."""

    name: str
    input: dict[str, Any]
    id: str = field(default_factory=lambda: "toolu_" + uuid.uuid4().hex[:24])


Block = Text | Thinking | ToolUse


@dataclass(frozen=True)
class Message:
    """A normal answer; `stop_reason` defaults to tool_use when it calls a tool."""

    content: tuple[Block, ...]
    stop_reason: str | None = None
    input_tokens: int = 1200
    output_tokens: int = 80
    headers: dict[str, str] = field(default_factory=dict)
    model: str = "claude-sonnet-4-5-20250929"


@dataclass(frozen=True)
class ApiError:
    """An error answer: HTTP `status` with the API's error body."""

    status: int
    type: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


Reply = Message | ApiError
Brain = Callable[[ApiRequest], Reply]


def say(*blocks: Block | str, **kwargs: Any) -> Message:
    """A Message of `blocks`; a plain str is a Text. Keywords go to Message."""
    return Message(tuple(Text(b) if isinstance(b, str) else b for b in blocks), **kwargs)


# Canned answers ------------------------------------------------------------------------------


def usage_limit(resets_at: float | None = None, claim: str = "five_hour",
                overage: bool = True) -> ApiError:
    """A subscription's usage limit (needs `cli_env(subscription=True)`): the CLI prints a
    rejected rate_limit_event with this resetsAt and a 429 result."""
    reset = int(resets_at if resets_at is not None else time.time() + 3600)
    headers = {"anthropic-ratelimit-unified-status": "rejected",
               "anthropic-ratelimit-unified-reset": str(reset),
               "anthropic-ratelimit-unified-representative-claim": claim}
    if overage:
        headers["anthropic-ratelimit-unified-overage-status"] = "rejected"
    return ApiError(429, "rate_limit_error", "This request would exceed your account's rate "
                    "limit. Please try again later.", headers)


def limit_warning(utilization: float = 0.93, resets_at: float | None = None) -> dict[str, str]:
    """Headers for a normal answer: the CLI prints an `allowed_warning` rate_limit_event
    (subscription only)."""
    reset = int(resets_at if resets_at is not None else time.time() + 3600)
    return {"anthropic-ratelimit-unified-status": "allowed_warning",
            "anthropic-ratelimit-unified-5h-surpassed-threshold": "0.9",
            "anthropic-ratelimit-unified-5h-utilization": str(utilization),
            "anthropic-ratelimit-unified-5h-reset": str(reset)}


def overloaded() -> ApiError:
    """529: the CLI prints a system/api_retry line and tries again (~0.5 s, then doubling)."""
    return ApiError(529, "overloaded_error", "Overloaded")


def first(times: int, answer: Reply | Brain, then: Brain) -> Brain:
    """A brain that gives `answer` to the first `times` agent requests, then asks `then`:
    `first(2, overloaded(), phase_brain())`, or `first(1, usage_limit(t), phase_brain())`
    for a limit that is gone when the attempt is repeated."""
    count = itertools.count(1)
    lock = threading.Lock()

    def brain(request: ApiRequest) -> Reply:
        with lock:
            n = next(count)
        if n > times:
            return then(request)
        return answer if isinstance(answer, (Message, ApiError)) else answer(request)

    return brain


def endless_tools(input_tokens: int = 1200) -> Brain:
    """Calls `echo step N` with Bash forever (stop it with --max-turns or --max-budget-usd;
    400000 input tokens a turn cost about $2 each on the CLI's default model)."""

    def brain(request: ApiRequest) -> Reply:
        return say(ToolUse("Bash", {"command": f"echo step {request.turn}",
                                    "description": "One more step"}),
                   input_tokens=input_tokens)

    return brain


def scripted(plan: Callable[[ApiRequest], Sequence[Reply]],
             done: str = "Done.") -> Brain:
    """Answers step `request.turn` of `plan(request)`; after the last step ends the turn
    with `done`."""

    def brain(request: ApiRequest) -> Reply:
        steps = plan(request)
        return steps[request.turn] if request.turn < len(steps) else say(done)

    return brain


# orchestrate's phase prompts -------------------------------------------------------------------


@dataclass(frozen=True)
class PhasePrompt:
    """What orchestrate's prompt tells the agent (app/engine/prompts)."""

    item_id: str
    phase: str
    change_dir: Path
    """Absolute (the prompt's relative folder under the CLI's cwd)."""
    result_file: Path

    @classmethod
    def parse(cls, request: ApiRequest) -> PhasePrompt | None:
        text = request.prompt()
        item = re.search(r"^ID: (\S+)", text, re.M)
        folder = re.search(r"^Change folder: (\S+)", text, re.M)
        result = re.search(r"Write this JSON file, exactly this shape, to (.+?):\n", text)
        phase = re.search(r'"phase": "(\w+)"', text)
        if not (item and folder and result and phase):
            return None
        result_file = Path(result.group(1))
        cwd = request.cwd or result_file.parents[2]  # <root>/.orchestrator/results/x.json
        return cls(item.group(1), phase.group(1), cwd / folder.group(1), result_file)


DOCUMENTS = {"prd": "PRD.md", "research": "RESEARCH.md", "design": "DESIGN.md",
             "spec": "SPEC.md", "review": "REVIEW.md", "investigate": "INVESTIGATION.md"}


def document_text(item_id: str, phase: str) -> str:
    """What `phase_brain` writes in a phase's document (tests compare with it)."""
    if phase == "spec":
        return (f"# SPEC for {item_id}\n\n## Phase 1: The form\n\n- [ ] Add the form\n"
                "- [ ] Test the form\n\n## Phase 2: The route\n\n- [ ] Add the route\n")
    return (f"# {DOCUMENTS.get(phase, phase)} for {item_id}\n\n"
            f"Written by the real claude CLI's Write tool in the {phase} phase.\n")


def phase_steps(p: PhasePrompt, request: ApiRequest, result: str = "complete") -> list[Reply]:
    """The default plan of `phase_brain` for one phase attempt."""
    steps: list[Reply] = []
    if p.phase == "build":
        spec = p.change_dir / "SPEC.md"
        steps.append(say(Thinking("SPEC.md lists the tasks; read it before ticking."),
                         f"Reading the plan for {p.item_id}.",
                         ToolUse("Read", {"file_path": str(spec)})))
        read = next((r.text for r in request.tool_results() if r.name == "Read"), "")
        # Read numbers its lines ("     1→# SPEC"); the file itself is what we wrote.
        ticked = (document_text(p.item_id, "spec") if "SPEC" in read
                  else f"# SPEC for {p.item_id}\n").replace("- [ ]", "- [x]")
        steps.append(say("Every task is done; ticking them.",
                         ToolUse("Write", {"file_path": str(spec), "content": ticked})))
    else:
        name = DOCUMENTS.get(p.phase, f"{p.phase.upper()}.md")
        steps.append(say(Thinking(f"The {p.phase} step wants {name}."),
                         f"Writing {name} for {p.item_id}.",
                         ToolUse("Write", {"file_path": str(p.change_dir / name),
                                           "content": document_text(p.item_id, p.phase)})))
    answer: dict[str, Any] = {"item_id": p.item_id, "phase": p.phase, "result": result,
              "summary": f"{p.phase} written by the real CLI", "blocked_reason": None,
              "assessment": {"size": "small", "complexity": "low", "risk": "low"},
              "follow_ups": []}
    steps.append(say(ToolUse("Write", {"file_path": str(p.result_file),
                                       "content": json.dumps(answer, indent=2) + "\n"})))
    return steps


def phase_brain(steps: Callable[[PhasePrompt, ApiRequest], Sequence[Reply]] = phase_steps
                ) -> Brain:
    """Works through any orchestrate phase prompt with `steps` (default `phase_steps`)."""

    def plan(request: ApiRequest) -> Sequence[Reply]:
        p = PhasePrompt.parse(request)
        if p is None:
            return [say("This is not an orchestrate phase prompt.")]
        return steps(p, request)

    return scripted(plan, done="Done: the documents and the result file are written.")


# The server --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Logged:
    """One request as the server saw it."""

    method: str
    path: str
    status: int
    model: str = ""
    agent: bool = False
    """A request with tools (answered by the brain)."""


class FakeMessagesApi:
    """The server (a context manager); `brain` answers the agent's requests, `side` any
    request without tools."""

    def __init__(self, brain: Brain, *, side: Brain | None = None, max_requests: int = 200,
                 lifetime_s: float = 300.0) -> None:
        self.brain = brain
        self.side: Brain = side or (lambda request: say("OK."))
        self.max_requests = max_requests
        self.lifetime_s = lifetime_s
        self.log: list[Logged] = []
        self.requests: list[ApiRequest] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None
        self._url = ""

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT` (for ANTHROPIC_BASE_URL)."""
        return self._url

    def cli_env(self, home: Path | str, *, subscription: bool = False) -> dict[str, str]:
        """What the CLI's environment needs to talk to this server and nothing else."""
        Path(home).mkdir(parents=True, exist_ok=True)
        env = {"ANTHROPIC_BASE_URL": self.url, "HOME": str(home),
               "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1",
               "CLAUDE_CONFIG_DIR": str(Path(home) / ".claude")}
        if subscription:
            env["CLAUDE_CODE_OAUTH_TOKEN"] = "sk-ant-oat01-fake-token-for-tests"
        else:
            env["ANTHROPIC_API_KEY"] = "sk-ant-api03-fake-key-for-tests"
        return env

    def agent_requests(self) -> list[ApiRequest]:
        with self._lock:
            return [r for r in self.requests if r.tools]

    def __enter__(self) -> FakeMessagesApi:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        api = self

        class Handler(_Handler):
            fake = api

        self._server = _Server(("127.0.0.1", 0), Handler)
        host, port = self._server.server_address[:2]
        self._url = f"http://{host!s}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True, name="fake-messages-api")
        self._thread.start()
        self._timer = threading.Timer(self.lifetime_s, self.stop)
        self._timer.daemon = True
        self._timer.start()

    def stop(self) -> None:
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.cancel()
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def answer(self, request: ApiRequest) -> tuple[Reply, bool]:
        """The reply for one POST /v1/messages, and whether the brain was asked."""
        agent = bool(request.tools)
        with self._lock:
            self.requests.append(request)
            count = len(self.requests)
        if count > self.max_requests:
            return ApiError(400, "invalid_request_error",
                            f"fake API: more than {self.max_requests} requests"), agent
        try:
            return (self.brain(request) if agent else self.side(request)), agent
        except Exception as exc:  # a broken brain must show, not hang the CLI in retries
            return ApiError(400, "invalid_request_error",
                            f"fake API brain failed: {exc!r}"), agent

    def record(self, entry: Logged) -> None:
        with self._lock:
            self.log.append(entry)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-answer (the CLI killed) is no news


class _Handler(BaseHTTPRequestHandler):
    fake: FakeMessagesApi
    protocol_version = "HTTP/1.1"
    timeout = 15
    """Idle keep-alive connections end by themselves."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _send(self, status: int, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("request-id", "req_" + uuid.uuid4().hex[:24])
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _not_found(self) -> None:
        self.fake.record(Logged(self.command, self.path, 404))
        body = json.dumps({"type": "error", "error": {
            "type": "not_found_error", "message": f"fake API: no {self.path}"}}).encode()
        self._send(404, body, "application/json")

    def do_GET(self) -> None:
        self._not_found()

    def do_HEAD(self) -> None:
        self._not_found()

    def do_POST(self) -> None:
        body = self._body()
        path = self.path.split("?")[0]
        request = ApiRequest("POST", self.path,
                             {k.lower(): v for k, v in self.headers.items()}, body)
        if path == "/v1/messages/count_tokens":
            self.fake.record(Logged("POST", self.path, 200, request.model))
            self._send(200, json.dumps({"input_tokens": 1200}).encode(), "application/json")
            return
        if path != "/v1/messages":
            self._not_found()
            return
        reply, agent = self.fake.answer(request)
        if isinstance(reply, ApiError):
            self.fake.record(Logged("POST", self.path, reply.status, request.model, agent))
            error = {"type": "error", "error": {"type": reply.type, "message": reply.message}}
            self._send(reply.status, json.dumps(error).encode(), "application/json",
                       reply.headers)
            return
        self.fake.record(Logged("POST", self.path, 200, request.model, agent))
        msg_id = "msg_" + uuid.uuid4().hex[:24]
        if request.stream:
            self._send(200, b"".join(_sse(msg_id, reply)), "text/event-stream",
                       {"Cache-Control": "no-cache", **reply.headers})
        else:
            self._send(200, json.dumps(_message_json(msg_id, reply)).encode(),
                       "application/json", reply.headers)


def _stop_reason(reply: Message) -> str:
    if reply.stop_reason:
        return reply.stop_reason
    return "tool_use" if any(isinstance(b, ToolUse) for b in reply.content) else "end_turn"


def _block_json(block: Block) -> dict[str, Any]:
    if isinstance(block, Text):
        return {"type": "text", "text": block.text}
    if isinstance(block, Thinking):
        return {"type": "thinking", "thinking": block.thinking, "signature": block.signature}
    return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}


def _usage(reply: Message, output: int) -> dict[str, Any]:
    return {"input_tokens": reply.input_tokens, "output_tokens": output,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


def _message_json(msg_id: str, reply: Message) -> dict[str, Any]:
    return {"id": msg_id, "type": "message", "role": "assistant", "model": reply.model,
            "content": [_block_json(b) for b in reply.content],
            "stop_reason": _stop_reason(reply), "stop_sequence": None,
            "usage": _usage(reply, reply.output_tokens)}


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _pieces(text: str, size: int = 40) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start:start + size]


def _delta(index: int, delta: dict[str, Any]) -> bytes:
    return _event("content_block_delta",
                  {"type": "content_block_delta", "index": index, "delta": delta})


def _start(index: int, block: dict[str, Any]) -> bytes:
    return _event("content_block_start",
                  {"type": "content_block_start", "index": index, "content_block": block})


def _sse(msg_id: str, reply: Message) -> Iterator[bytes]:
    start: dict[str, Any] = {
        "id": msg_id, "type": "message", "role": "assistant", "model": reply.model,
        "content": [], "stop_reason": None, "stop_sequence": None, "usage": _usage(reply, 1)}
    yield _event("message_start", {"type": "message_start", "message": start})
    yield _event("ping", {"type": "ping"})
    for index, block in enumerate(reply.content):
        if isinstance(block, Text):
            yield _start(index, {"type": "text", "text": ""})
            for piece in _pieces(block.text):
                yield _delta(index, {"type": "text_delta", "text": piece})
        elif isinstance(block, Thinking):
            yield _start(index, {"type": "thinking", "thinking": "", "signature": ""})
            for piece in _pieces(block.thinking):
                yield _delta(index, {"type": "thinking_delta", "thinking": piece})
            yield _delta(index, {"type": "signature_delta", "signature": block.signature})
        else:
            yield _start(index, {"type": "tool_use", "id": block.id, "name": block.name,
                                 "input": {}})
            for piece in _pieces(json.dumps(block.input)):
                yield _delta(index, {"type": "input_json_delta", "partial_json": piece})
        yield _event("content_block_stop", {"type": "content_block_stop", "index": index})
    yield _event("message_delta", {
        "type": "message_delta",
        "delta": {"stop_reason": _stop_reason(reply), "stop_sequence": None},
        "usage": {"output_tokens": reply.output_tokens}})
    yield _event("message_stop", {"type": "message_stop"})
