"""A stand-in for the Gemini API (generativelanguage), so tests can run the REAL Gemini CLI.

The CLI (npm `@google/gemini-cli`, checked with 0.61.0, pinned in .ci/run) talks to
`GOOGLE_GEMINI_BASE_URL` (the origin only: the SDK adds `/v1beta/models/...`); this
server answers on 127.0.0.1 only. It scripts nothing but the API's answers: every
stream-json line orchestrate reads is the CLI's own, and every file the agent writes is
written by the CLI's own tools (write_file, read_file, run_shell_command).

Use::

    with FakeGeminiApi(phase_brain()) as api:
        env = {"PATH": os.environ["PATH"], **api.cli_env(tmp_path / "home")}
        subprocess.run([gemini, "-p", "PROMPT", "--output-format", "stream-json",
                        *api.cli_args()], cwd=work, env=env, stdin=subprocess.DEVNULL)

`cli_env(home)` writes `home/.gemini/settings.json` (auth type `gemini-api-key`, which
the CLI REQUIRES here: with the env vars alone the base URL makes it pick auth
`gateway` and stop with "Invalid auth method selected.", exit 41; and usage statistics,
telemetry and update checks off) and gives `HOME`, a dummy `GEMINI_API_KEY`,
`GOOGLE_GEMINI_BASE_URL` and a `TMPDIR` beside home (the CLI writes
`gemini-client-error-*.json` reports there on API errors). `cli_args()` is
`--approval-mode yolo --skip-trust`: without `--skip-trust` a fresh folder is
untrusted (exit 55, yolo downgraded). stdin must be /dev/null.

Requests: per turn first a side request `POST
/v1beta/models/gemini-3.5-flash-lite:generateContent` (the model router; it wants JSON
`{"complexity_reasoning": str, "complexity_score": number}`: `side` answers it, by
default score 20, which routes to `gemini-3.8-flash`), then one `POST
.../<model>:streamGenerateContent?alt=sse` per agent step, answered by the brain.

Writing a brain
---------------
A brain is a function `GeminiRequest -> Reply`:

- `request.prompt()`: the user's prompt (the first user content's texts after the CLI's
  `<session_context>`); `request.cwd`: the first of its "Workspace Directories";
- `request.turn`: how many model contents came before (0 on the first call);
- `request.tool_results()`: each functionCall so far with its functionResponse
  (`name`, `args`, `output`, `error`); `request.tools` (the names offered),
  `request.model`, `request.body`.

A Reply is a `Response` (`respond(Thought("..."), "text", Call("write_file",
{"file_path": "/abs", "content": "..."}))`: one SSE chunk per part, the last with
`finishReason: STOP` and `usageMetadata`) or an `ApiError` (the google.rpc shape:
`daily_quota()`, `per_minute_quota()`, `server_error()`). `scripted(plan)` answers
step `request.turn` of `plan(request)`; `phase_brain()` does orchestrate's phase
prompts with fake_messages_api's `phase_steps` (or any plan in its terms), each Write,
Read and Bash as write_file, read_file and run_shell_command (two write_file calls for a
phase's two files: `phase_brain(in_one_command())` writes both with one shell command,
the captured `phase` shape exactly).

What the CLI makes of each answer (0.61.0, `-p --output-format stream-json`)
------------------------------------------------------------------------------
- `daily_quota()` (429 RESOURCE_EXHAUSTED, QuotaFailure `...PerDay...`, RetryInfo):
  no retry; stdout `init`, the user `message`, then `{"type":"result","status":"error",
  "error":{"type":"unknown","message":"[API Error: You have exhausted your daily quota
  on this model.]\\nPlease wait and try again later. To increase your limits, request a
  quota increase through AI Studio, or switch to another /auth method"},...}`; exit 173
  (429 & 255). The reset time is nowhere in stdout.
- `per_minute_quota()` is retried for minutes (10 attempts, ~6 s, ~11 s, ... apart);
  `server_error()` too (~5 min): use them with `first(n, ..., then)` only.
- A 400 (a brain that raises, more than `max_requests`) is not retried: a `result`
  error "[API Error: {the JSON body}]", exit 144.
- Text parts are `message` lines with `"delta": true`; thought parts are not shown,
  nor the contents read_file gave the model (its `tool_result` output is empty).

Bounds: the server answers at most `max_requests` requests (then a 400), and shuts
itself down after `lifetime_s` even if a test forgets to.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fake_messages_api as claude
from fake_messages_api import PhasePrompt, phase_steps
from fake_responses_api import JsonHandler, Logged, LoopbackApi, claude_view, write_command

# The brain's view of one request ------------------------------------------------------------


@dataclass(frozen=True)
class ToolResult:
    """A function call and the CLI's response to it."""

    name: str
    args: dict[str, Any]
    output: str
    error: str | None
    """The tool's error message, if it failed (a missing file...)."""


@dataclass(frozen=True)
class GeminiRequest:
    """One request the CLI sent."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def model(self) -> str:
        found = re.search(r"/models/([^/:?]+)", self.path)
        return found.group(1) if found else ""

    @property
    def action(self) -> str:
        """`generateContent`, `streamGenerateContent`, `countTokens`..."""
        found = re.search(r":(\w+)", self.path.split("/models/", 1)[-1])
        return found.group(1) if found else ""

    @property
    def tools(self) -> list[str]:
        return [str(f.get("name")) for t in self.body.get("tools") or [] if isinstance(t, dict)
                for f in t.get("functionDeclarations") or [] if isinstance(f, dict)]

    @property
    def contents(self) -> list[dict[str, Any]]:
        contents = self.body.get("contents")
        return [c for c in contents if isinstance(c, dict)] if isinstance(contents, list) else []

    @property
    def turn(self) -> int:
        """How many model contents came before."""
        return sum(1 for c in self.contents if c.get("role") == "model")

    def _first_user_texts(self) -> list[str]:
        for content in self.contents:
            if content.get("role") == "user":
                return [str(p["text"]) for p in content.get("parts") or []
                        if isinstance(p, dict) and "text" in p]
        return []

    def prompt(self) -> str:
        texts = [t for t in self._first_user_texts()
                 if not t.lstrip().startswith("<session_context>")]
        return "\n".join(texts)

    @property
    def cwd(self) -> Path | None:
        for text in self._first_user_texts():
            found = re.search(r"Workspace Directories:\*\*\n\s*- (.+)", text)
            if found:
                return Path(found.group(1).strip())
        return None

    def tool_results(self) -> list[ToolResult]:
        """Every function call so far, in order, with the CLI's response (matched by id,
        else by order)."""
        calls: list[dict[str, Any]] = []
        responses: list[dict[str, Any]] = []
        for content in self.contents:
            for part in content.get("parts") or []:
                if isinstance(part, dict) and isinstance(part.get("functionCall"), dict):
                    calls.append(part["functionCall"])
                if isinstance(part, dict) and isinstance(part.get("functionResponse"), dict):
                    responses.append(part["functionResponse"])
        by_id = {str(r.get("id")): r for r in responses if r.get("id")}
        results = []
        for n, call in enumerate(calls):
            response = by_id.get(str(call.get("id"))) or (
                responses[n] if n < len(responses) else {})
            answer = response.get("response") or {}
            error = answer.get("error") if isinstance(answer, dict) else None
            output = answer.get("output", "") if isinstance(answer, dict) else answer
            results.append(ToolResult(str(call.get("name")), dict(call.get("args") or {}),
                                      str(output if output is not None else ""),
                                      str(error) if error else None))
        return results


# What the brain answers -------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A text part (the CLI prints it as an assistant `message`)."""

    text: str


@dataclass(frozen=True)
class Thought:
    """A thought part (`"thought": true`; the CLI does not print it)."""

    text: str


@dataclass(frozen=True)
class Call:
    """A functionCall part: one of the CLI's tools (`write_file`, `read_file`,
    `run_shell_command`, `replace`, ...) with its arguments."""

    name: str
    args: dict[str, Any]


Part = Text | Thought | Call


@dataclass(frozen=True)
class Response:
    """A normal answer; the usageMetadata of this request."""

    parts: tuple[Part, ...]
    prompt_tokens: int = 1200
    cached_tokens: int = 300
    output_tokens: int = 80
    thought_tokens: int = 24


@dataclass(frozen=True)
class ApiError:
    """An error in google.rpc's shape: `{"error": {code, message, status, details}}`."""

    code: int
    status: str
    message: str
    details: tuple[dict[str, Any], ...] = ()
    headers: dict[str, str] = field(default_factory=dict)


Reply = Response | ApiError
Brain = Callable[[GeminiRequest], Reply]


def respond(*parts: Part | str, **kwargs: Any) -> Response:
    """A Response of `parts`; a plain str is a Text. Keywords go to Response."""
    return Response(tuple(Text(p) if isinstance(p, str) else p for p in parts), **kwargs)


# Canned answers ------------------------------------------------------------------------------

_QUOTA_MESSAGE = (
    "You exceeded your current quota, please check your plan and billing details. For "
    "more information on this error, head to: https://ai.google.dev/gemini-api/docs/"
    "rate-limits. To monitor your current usage, head to: https://ai.dev/usage?tab=rate-"
    "limit. \n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_"
    "content_free_tier_requests, limit: 50, model: gemini-2.5-pro\nPlease retry in {s}s.")


def _quota(quota_id: str, retry_s: float) -> ApiError:
    violation = {"quotaMetric": "generativelanguage.googleapis.com/"
                                "generate_content_free_tier_requests",
                 "quotaId": quota_id,
                 "quotaDimensions": {"location": "global", "model": "gemini-2.5-pro"},
                 "quotaValue": "50"}
    details = (
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [violation]},
        {"@type": "type.googleapis.com/google.rpc.Help", "links": [
            {"description": "Learn more about Gemini API quotas",
             "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{int(retry_s)}s"})
    return ApiError(429, "RESOURCE_EXHAUSTED", _QUOTA_MESSAGE.format(s=f"{retry_s:g}"),
                    details)


def daily_quota(retry_s: float = 43.412) -> ApiError:
    """The free tier's daily quota: the CLI does not retry; "[API Error: You have exhausted
    your daily quota on this model.]...", exit 173."""
    return _quota("GenerateRequestsPerDayPerProjectPerModel-FreeTier", retry_s)


def per_minute_quota(retry_s: float = 1) -> ApiError:
    """A per-minute quota: the CLI retries (10 attempts, growing delays)."""
    return _quota("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", retry_s)


def server_error() -> ApiError:
    """500 INTERNAL: the CLI retries for minutes, then exit 244."""
    return ApiError(500, "INTERNAL", "An internal error has occurred. Please retry or "
                    "report in https://developers.generativeai.google/guide/troubleshooting")


def route(score: int = 20) -> Callable[[GeminiRequest], Reply]:
    """The router's side request answered: `score` 20 routes to gemini-3.8-flash."""

    def side(request: GeminiRequest) -> Reply:
        return respond(json.dumps({"complexity_reasoning": "A small, well-defined task.",
                                   "complexity_score": score}))

    return side


def first(times: int, answer: Reply | Brain, then: Brain) -> Brain:
    """A brain that gives `answer` to the first `times` agent requests, then asks `then`."""
    count = itertools.count(1)
    lock = threading.Lock()

    def brain(request: GeminiRequest) -> Reply:
        with lock:
            n = next(count)
        if n > times:
            return then(request)
        return answer if isinstance(answer, (Response, ApiError)) else answer(request)

    return brain


def scripted(plan: Callable[[GeminiRequest], Sequence[Reply]], done: str = "Done.") -> Brain:
    """Answers step `request.turn` of `plan(request)`; after the last step, `done`."""

    def brain(request: GeminiRequest) -> Reply:
        steps = plan(request)
        return steps[request.turn] if request.turn < len(steps) else respond(done)

    return brain


# orchestrate's phase prompts, through fake_messages_api's plan -----------------------------

ClaudeSteps = Callable[[PhasePrompt, claude.ApiRequest], Sequence[claude.Reply]]

TOOLS = {"Write": "write_file", "Read": "read_file", "Bash": "run_shell_command",
         "Edit": "replace"}
"""Claude Code's tool names and the Gemini CLI's for the same thing."""


def _args(name: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    if name == "Bash":
        return {"command": tool_input["command"],
                "description": tool_input.get("description") or "Run a command"}
    if name == "Edit":
        return {"file_path": tool_input["file_path"], "old_string": tool_input["old_string"],
                "new_string": tool_input["new_string"],
                "instruction": "Apply the planned change."}
    return dict(tool_input)


def claude_results(request: GeminiRequest) -> list[tuple[str, dict[str, Any], str, bool]]:
    """The CLI's function calls so far as the Claude tool calls they stand for."""
    names = {v: k for k, v in TOOLS.items()}
    return [(names.get(r.name, r.name), r.args, r.output, r.error is not None)
            for r in request.tool_results()]


def from_claude(steps: Sequence[claude.Reply]) -> list[Reply]:
    """fake_messages_api's plan in Gemini's terms, step for step: Thinking is a Thought,
    Text a Text, Write/Read/Bash/Edit the CLI's write_file/read_file/run_shell_command/
    replace."""
    answers: list[Reply] = []
    for step in steps:
        if isinstance(step, claude.ApiError):
            answers.append(ApiError(step.status, "UNAVAILABLE", step.message))
            continue
        parts: list[Part] = []
        for block in step.content:
            if isinstance(block, claude.Thinking):
                parts.append(Thought(block.thinking))
            elif isinstance(block, claude.Text):
                parts.append(Text(block.text))
            else:
                parts.append(Call(TOOLS.get(block.name, block.name),
                                  _args(block.name, block.input)))
        answers.append(Response(tuple(parts)))
    return answers


def in_one_command(steps: ClaudeSteps = phase_steps) -> ClaudeSteps:
    """`steps` with every Write done by ONE shell command (run_shell_command), after the
    first step's thinking and text: a phase is then exactly the CLI's captured `phase`
    shape (a message, one tool_use/tool_result, a message). For a plan without Reads."""

    def plan(p: PhasePrompt, request: claude.ApiRequest) -> list[claude.Reply]:
        planned = [s for s in steps(p, request) if isinstance(s, claude.Message)]
        writes = [(str(b.input["file_path"]), str(b.input["content"])) for s in planned
                  for b in s.content if isinstance(b, claude.ToolUse) and b.name == "Write"]
        said = [b for b in planned[0].content if not isinstance(b, claude.ToolUse)]
        command = claude.ToolUse("Bash", {"command": write_command(writes),
                                          "description": "Write the document and the result"})
        return [claude.say(*said, command)]

    return plan


def phase_brain(steps: ClaudeSteps = phase_steps) -> Brain:
    """Works through any orchestrate phase prompt with `steps`, a plan in
    fake_messages_api's terms (default its `phase_steps`: write_file of the phase's
    document, then of the result file; build read_files SPEC.md first and ticks it)."""

    def plan(request: GeminiRequest) -> Sequence[Reply]:
        view = claude_view(request.prompt(), request.cwd, claude_results(request))
        p = PhasePrompt.parse(view)
        if p is None:
            return [respond("This is not an orchestrate phase prompt.")]
        return from_claude(steps(p, view))

    return scripted(plan, done="Done: the documents and the result file are written.")


# The server ---------------------------------------------------------------------------------

SETTINGS: dict[str, Any] = {
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "privacy": {"usageStatisticsEnabled": False},
    "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
    "telemetry": {"enabled": False},
}
"""~/.gemini/settings.json as the captures had it."""


def write_settings(home: Path | str, **extra: Any) -> Path:
    """`home/.gemini/settings.json`: SETTINGS with `extra` top-level keys."""
    path = Path(home) / ".gemini" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**SETTINGS, **extra}, indent=2) + "\n", encoding="utf-8")
    return path


class FakeGeminiApi(LoopbackApi):
    """The server (a context manager); `brain` answers the agent's streamGenerateContent
    requests, `side` every other request (the router's, by default `route()`)."""

    thread_name = "fake-gemini-api"

    def __init__(self, brain: Brain, *, side: Brain | None = None, max_requests: int = 200,
                 lifetime_s: float = 300.0) -> None:
        super().__init__(max_requests=max_requests, lifetime_s=lifetime_s)
        self.brain = brain
        self.side: Brain = side or route()
        self.requests: list[GeminiRequest] = []

    def __enter__(self) -> FakeGeminiApi:
        self.start()
        return self

    def handler(self) -> type[JsonHandler]:
        api = self

        class Handler(_GeminiHandler):
            fake = api

        return Handler

    def cli_env(self, home: Path | str, tmpdir: Path | str | None = None) -> dict[str, str]:
        """HOME (`home`, with its settings.json written), TMPDIR (`tmpdir`, default a
        sibling `<home>-tmp`), the dummy key and the base URL."""
        home = Path(home).absolute()
        tmp = Path(tmpdir).absolute() if tmpdir else home.with_name(home.name + "-tmp")
        write_settings(home)
        tmp.mkdir(parents=True, exist_ok=True)
        return {"HOME": str(home), "TMPDIR": str(tmp), "GEMINI_API_KEY": "fake-key-for-tests",
                "GOOGLE_GEMINI_BASE_URL": self.url}

    @staticmethod
    def cli_args() -> list[str]:
        """Tools without asking, in a folder never seen before."""
        return ["--approval-mode", "yolo", "--skip-trust"]

    def agent_requests(self) -> list[GeminiRequest]:
        with self._lock:
            return [r for r in self.requests if self.is_agent(r)]

    @staticmethod
    def is_agent(request: GeminiRequest) -> bool:
        return request.action == "streamGenerateContent" and bool(request.tools)

    def answer(self, request: GeminiRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
        if self.over_limit():
            return ApiError(400, "INVALID_ARGUMENT",
                            f"fake API: more than {self.max_requests} requests")
        try:
            return (self.brain if self.is_agent(request) else self.side)(request)
        except Exception as exc:  # a broken brain must show, not hang the CLI in retries
            return ApiError(400, "INVALID_ARGUMENT", f"fake API brain failed: {exc!r}")


class _GeminiHandler(JsonHandler):
    fake: FakeGeminiApi

    def _not_found(self) -> None:
        self.fake.record(Logged(self.command, self.path, 404))
        body = {"error": {"code": 404, "message": f"no {self.path}", "status": "NOT_FOUND"}}
        self.send(404, json.dumps(body).encode(), "application/json")

    def do_GET(self) -> None:
        self._not_found()

    def do_HEAD(self) -> None:
        self._not_found()

    def do_POST(self) -> None:
        body = self.json_body()
        if not self.path.startswith(("/v1beta/models/", "/v1/models/")):
            self._not_found()
            return
        request = GeminiRequest("POST", self.path, self.header_dict(), body)
        reply = self.fake.answer(request)
        agent = self.fake.is_agent(request)
        if isinstance(reply, ApiError):
            self.fake.record(Logged("POST", self.path, reply.code, request.model, agent))
            error = {"error": {"code": reply.code, "message": reply.message,
                               "status": reply.status, "details": list(reply.details)}}
            self.send(reply.code, json.dumps(error).encode(), "application/json",
                      reply.headers)
            return
        self.fake.record(Logged("POST", self.path, 200, request.model, agent))
        if request.action == "streamGenerateContent":
            self.send(200, b"".join(_sse(reply, request.model)), "text/event-stream")
        else:
            self.send(200, json.dumps(_chunk(reply, reply.parts, request.model, last=True))
                      .encode(), "application/json")


# The wire format ---------------------------------------------------------------------------


def _part(part: Part) -> dict[str, Any]:
    if isinstance(part, Text):
        return {"text": part.text}
    if isinstance(part, Thought):
        return {"text": part.text, "thought": True}
    return {"functionCall": {"name": part.name, "args": part.args}}


def _chunk(reply: Response, parts: Sequence[Part], model: str, *, last: bool
           ) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model",
                                             "parts": [_part(p) for p in parts]},
                                 "index": 0}
    chunk: dict[str, Any] = {"candidates": [candidate], "modelVersion": model,
                             "responseId": "fake-" + model}
    if last:
        candidate["finishReason"] = "STOP"
        chunk["usageMetadata"] = {
            "promptTokenCount": reply.prompt_tokens,
            "candidatesTokenCount": reply.output_tokens,
            "thoughtsTokenCount": reply.thought_tokens,
            "cachedContentTokenCount": reply.cached_tokens,
            "totalTokenCount": reply.prompt_tokens + reply.output_tokens
            + reply.thought_tokens}
    return chunk


def _sse(reply: Response, model: str) -> Iterator[bytes]:
    """One chunk per part, the last with finishReason and usage (`data: {...}\\r\\n\\r\\n`)."""
    parts = reply.parts or (Text(""),)
    for n, part in enumerate(parts):
        chunk = _chunk(reply, [part], model, last=n == len(parts) - 1)
        yield f"data: {json.dumps(chunk)}\r\n\r\n".encode()
