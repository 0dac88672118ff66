"""A stand-in for the OpenAI Responses API, so tests can run the REAL OpenAI Codex CLI.

The CLI (npm `@openai/codex`, checked with 0.169.0, pinned in .ci/run) is pointed at
this server with a model provider of its own (`cli_args()`, or `write_config(home)`);
it listens on 127.0.0.1 only. It scripts nothing but the API's answers: every
`codex exec --json` line orchestrate reads is the CLI's own, and every file the agent
writes is written by the CLI's own tools (its shell, `exec_command`, or `apply_patch`).

Use::

    with FakeResponsesApi(phase_brain()) as api:
        env = {"PATH": os.environ["PATH"], **api.cli_env(tmp_path / "codex-home")}
        subprocess.run([codex, "exec", "--json", "--sandbox", "workspace-write",
                        "--skip-git-repo-check", "-C", str(work), *api.cli_args(),
                        "PROMPT"], env=env, stdin=subprocess.DEVNULL)

`cli_env(home)` gives `HOME` = `CODEX_HOME` = home (an empty dir: no login, no config
needed), a dummy `OPENAI_API_KEY` and a `TMPDIR` beside home: codex refuses to make its
helper binaries under `$TMPDIR` and says so on stderr ("WARNING: proceeding, even
though we could not create PATH aliases"), so home must not lie under it; a TMPDIR of
our own also keeps codex's `codex-daemon-*` folders out of /tmp. stdin must be
/dev/null: codex appends whatever stdin gives to the prompt and blocks on an open pipe.

Tool modes: with its default model (`gpt-6.1-sol`) codex runs in "code mode": the
request's `tools` is empty and the only tool is a custom `exec` (JavaScript that calls
`tools.exec_command(...)`, `tools.apply_patch(...)`), offered in the first input item
(`additional_tools`). With `-m gpt-5.5` it offers plain tools (`exec_command` function,
`apply_patch` custom tool). A brain does not choose: it answers `Shell(cmd)` or
`Patch(text)`, and the server sends each as the request's mode wants it (a
`custom_tool_call` of `exec` with the JavaScript in code mode, else a `function_call` of
`exec_command` / a `custom_tool_call` of `apply_patch`). The `--json` items are the same
either way (`command_execution`, `file_change`).

Writing a brain
---------------
A brain is a function `ResponsesRequest -> Reply`, called once per POST /v1/responses:

- `request.prompt()`: the user's prompt (the last user message that is not codex's
  `<environment_context>` or AGENTS.md); `request.cwd`: the `<cwd>` codex names;
- `request.turn`: how many answers of the model came before in this turn (0 first);
- `request.tool_results()`: each tool call of the turn so far with its output (`command`, `text`,
  `exit_code`; for a Patch, `command` is the patch);
- `request.code_mode`, `request.model`, `request.tools`, `request.body`.

A Reply is a `Response` (`respond(Reasoning("..."), "text", Shell("printf ..."))`: the
items in order; `input_tokens`/`cached_tokens`/`output_tokens`/`reasoning_tokens` per
request, which codex sums into `turn.completed.usage`; `headers`), an `ApiError`
(HTTP status + body: `usage_limit()`, `rate_limited()`, `server_error()`) or a
`StreamFailure` (HTTP 200, then `response.failed`: `insufficient_quota()`).
`scripted(plan)` answers step `request.turn` of `plan(request)` and ends the turn with
a text when the plan runs out. `phase_brain()` does any of orchestrate's phase prompts
(parsed by fake_messages_api's `PhasePrompt`): it follows fake_messages_api's
`phase_steps` (or any plan in its terms), each Write/Read/Bash done with codex's shell,
the Writes of consecutive steps in one command; a phase other than build is then
exactly codex's captured `phase` shape: reasoning, a message, ONE command, a message.

What the CLI makes of each answer (0.169.0, `exec --json`)
------------------------------------------------------------
- `usage_limit(plan, resets_at)`: no retry (one request); stdout is `thread.started`,
  `turn.started`, `{"type":"error","message":"You\u2019ve hit your usage limit. ...
  try again at 3:06 AM."}` (U+2019, not ASCII; the reset in the CLI's local TZ,
  `%-I:%M %p`, with the date, `Dec 10th, 2026 4:06 AM`, when it is another day; `try
  again later.` without resets_at) and `turn.failed` with the same message; exit 1.
- `rate_limited()` (429) / `server_error()` (500): retried (an `error` line
  "Reconnecting... N/5 (...)" each) - 5 retries for a 429 (~9 s with retry-after 1),
  30 requests for a 500 (~28 s); then `error` + `turn.failed`, exit 1. `first(2,
  rate_limited(), phase_brain())` recovers (two `error` lines, then the phase, exit 0).
  A retry-after that is not whole seconds (`0.2`) makes codex give up at once.
- `insufficient_quota()`: "Quota exceeded. Check your plan and billing details.", no
  retry, exit 1.
- A stream without `response.completed` is an error ("stream closed before
  response.completed"). Nothing listening: codex retries forever - always a timeout.

A 400 (the limit below, a brain that raises) is not retried: codex prints its body as
the `error` and `turn.failed` message and exits 1.

Bounds: the server answers at most `max_requests` requests (then a 400), and shuts
itself down after `lifetime_s` even if a test forgets to.
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import fake_messages_api as claude
from fake_messages_api import PhasePrompt, phase_steps

# A loopback server, shared with fake_gemini_api -------------------------------------------


@dataclass(frozen=True)
class Logged:
    """One request as the server saw it."""

    method: str
    path: str
    status: int
    model: str = ""
    agent: bool = False
    """Answered by the brain (not a side request)."""


class LoopbackApi:
    """A ThreadingHTTPServer on 127.0.0.1 (a free port), as a context manager: daemon
    threads, a request limit, and a lifetime after which it stops itself."""

    thread_name = "fake-api"

    def __init__(self, *, max_requests: int, lifetime_s: float) -> None:
        self.max_requests = max_requests
        self.lifetime_s = lifetime_s
        self.log: list[Logged] = []
        self._count = 0
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._timer: threading.Timer | None = None
        self._url = ""

    def handler(self) -> type[JsonHandler]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        return self._url

    def __enter__(self) -> LoopbackApi:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._server = _Server(("127.0.0.1", 0), self.handler())
        host, port = self._server.server_address[:2]
        self._url = f"http://{host!s}:{port}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True,
                         name=self.thread_name).start()
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

    def over_limit(self) -> bool:
        """Counts one request; whether it is past `max_requests`."""
        with self._lock:
            self._count += 1
            return self._count > self.max_requests

    def record(self, entry: Logged) -> None:
        with self._lock:
            self.log.append(entry)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-answer (the CLI killed) is no news


class JsonHandler(BaseHTTPRequestHandler):
    """Reads a JSON body, sends an answer with its length (SSE included)."""

    protocol_version = "HTTP/1.1"
    timeout = 15
    """Idle keep-alive connections end by themselves."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def json_body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def header_dict(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items()}

    def send(self, status: int, body: bytes, content_type: str,
             headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def claude_view(prompt: str, cwd: Path | None,
                results: Sequence[tuple[str, dict[str, Any], str, bool]] = ()
                ) -> claude.ApiRequest:
    """A Messages-API request saying what another CLI's request says, so that
    fake_messages_api's `PhasePrompt.parse` and `phase_steps` read it: the prompt, the
    cwd and the tool calls so far as (Claude tool name, input, output text, is_error)."""
    system = f"Primary working directory: {cwd}\n" if cwd else ""
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": prompt}]}]
    for n, (name, tool_input, text, is_error) in enumerate(results):
        messages.append({"role": "assistant", "content": [
            {"type": "tool_use", "id": f"toolu_{n}", "name": name, "input": tool_input}]})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"toolu_{n}", "content": text,
             "is_error": is_error}]})
    return claude.ApiRequest("POST", "/v1/messages", {}, {
        "system": [{"type": "text", "text": system}], "tools": [{"name": "Write"}],
        "messages": messages})


# The brain's view of one request ------------------------------------------------------------

_OUTPUT_ITEMS = {"reasoning", "message", "function_call", "custom_tool_call"}
_CALLS = {"function_call", "custom_tool_call"}
_CALL_OUTPUTS = {"function_call_output", "custom_tool_call_output"}


@dataclass(frozen=True)
class ToolResult:
    """A tool call of this turn and what came back: `command` is the shell command (or the
    patch of a Patch); `exit_code` is None where the output does not say."""

    kind: str
    """`shell`, `patch` or the tool's name."""
    command: str
    text: str
    exit_code: int | None


@dataclass(frozen=True)
class ResponsesRequest:
    """One request the CLI sent."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def model(self) -> str:
        return str(self.body.get("model") or "")

    @property
    def input(self) -> list[dict[str, Any]]:
        items = self.body.get("input")
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []

    @property
    def tools(self) -> list[str]:
        """The names of the tools offered, in `tools` and in `additional_tools` items."""
        names = [str(t.get("name") or t.get("type")) for t in self.body.get("tools") or []
                 if isinstance(t, dict)]
        for item in self.input:
            if item.get("type") == "additional_tools":
                for tool in item.get("tools") or []:
                    names += [str(t.get("name")) for t in tool.get("tools") or [tool]]
        return names

    @property
    def code_mode(self) -> bool:
        """The tools come as JavaScript through a custom `exec` (the default model)."""
        top = [t.get("name") for t in self.body.get("tools") or [] if isinstance(t, dict)]
        return "exec_command" not in top and "exec" in self.tools

    def user_texts(self) -> list[str]:
        texts = []
        for item in self.input:
            if item.get("type") == "message" and item.get("role") == "user":
                texts.append(_texts(item.get("content")))
        return texts

    def prompt(self) -> str:
        """The user's prompt: the last user message that is not codex's own context."""
        own = ("<environment_context>", "# AGENTS.md instructions", "<user_instructions>")
        prompts = [t for t in self.user_texts() if not t.lstrip().startswith(own)]
        return prompts[-1] if prompts else ""

    @property
    def cwd(self) -> Path | None:
        for text in self.user_texts():
            found = re.search(r"<cwd>(.+?)</cwd>", text)
            if found:
                return Path(found.group(1))
        return None

    def this_turn(self) -> list[dict[str, Any]]:
        """The input items after the last user (or developer) message: the model's answers
        and the tool outputs of the turn under way."""
        starts = [n for n, item in enumerate(self.input)
                  if item.get("type") == "message" and item.get("role") != "assistant"]
        return self.input[starts[-1] + 1:] if starts else self.input

    @property
    def turn(self) -> int:
        """How many answers of the model came before in this turn (runs of its items
        between tool outputs)."""
        turns, inside = 0, False
        for item in self.this_turn():
            model = item.get("type") in _OUTPUT_ITEMS
            if model and not inside:
                turns += 1
            inside = model
        return turns

    def tool_results(self) -> list[ToolResult]:
        """Every tool call of this turn so far, in order, with its output."""
        items = self.this_turn()
        outputs = {str(i.get("call_id")): i for i in items if i.get("type") in _CALL_OUTPUTS}
        results = []
        for item in items:
            if item.get("type") not in _CALLS:
                continue
            kind, command = _call_command(item)
            output = outputs.get(str(item.get("call_id")))
            text, code = _output_text(output.get("output") if output else None)
            results.append(ToolResult(kind, command, text, code))
        return results


def _texts(content: object) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "\n".join(str(c.get("text", "")) for c in content if isinstance(c, dict)
                     and c.get("type") in ("input_text", "output_text", "text"))


def _call_command(item: dict[str, Any]) -> tuple[str, str]:
    """(kind, command) of a call as `render` wrote it (code mode: read back from the JS)."""
    name = str(item.get("name"))
    if item.get("type") == "function_call":
        try:
            args = json.loads(str(item.get("arguments") or "{}"))
        except ValueError:
            args = {}
        if name in ("exec_command", "shell"):
            cmd = args.get("cmd", args.get("command", ""))
            return "shell", " ".join(cmd) if isinstance(cmd, list) else str(cmd)
        return name, json.dumps(args)
    source = str(item.get("input") or "")
    if name == "apply_patch":
        return "patch", source
    if name == "exec":
        found = re.search(r"tools\.(exec_command|apply_patch)\((.*)\);\s*text\(r\);", source,
                          re.S)
        arg = json.loads(found.group(2)) if found else None
        if found and found.group(1) == "apply_patch":
            return "patch", str(arg)
        if isinstance(arg, dict):
            return "shell", str(arg.get("cmd", ""))
    return name, source


def _output_text(output: object) -> tuple[str, int | None]:
    """The command's output and exit code, from either mode's tool output."""
    if isinstance(output, list):  # code mode: "Script completed...", then text(r)
        texts = [str(o.get("text", "")) for o in output if isinstance(o, dict)]
        for text in texts[1:]:
            try:
                data = json.loads(text)
            except ValueError:
                continue
            if isinstance(data, dict) and "output" in data:
                code = data.get("exit_code")
                return str(data["output"]), code if isinstance(code, int) else None
        return "\n".join(texts[1:] or texts), None
    text = str(output or "")
    found = re.search(r"^(?:Process exited with code|Exit code:) (-?\d+)$", text, re.M)
    body = text.split("\nOutput:\n", 1)[1] if "\nOutput:\n" in text else text
    return body, int(found.group(1)) if found else None


# What the brain answers -------------------------------------------------------------------


@dataclass(frozen=True)
class Reasoning:
    """A reasoning item: codex shows its summary as a `reasoning` item."""

    summary: str


@dataclass(frozen=True)
class Text:
    """An assistant message (an `agent_message` item)."""

    text: str


@dataclass(frozen=True)
class Shell:
    """A command for codex's shell (`exec_command`): a `command_execution` item."""

    command: str
    workdir: str | None = None


@dataclass(frozen=True)
class Patch:
    """An `apply_patch` call (`*** Begin Patch` ... `*** End Patch`): a `file_change`."""

    patch: str


Item = Reasoning | Text | Shell | Patch


@dataclass(frozen=True)
class Response:
    """A normal answer: its items, and the tokens reported for this request."""

    items: tuple[Item, ...]
    input_tokens: int = 1200
    cached_tokens: int = 200
    output_tokens: int = 80
    reasoning_tokens: int = 16
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiError:
    """An HTTP error with the API's JSON body."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StreamFailure:
    """HTTP 200, `response.created`, then `response.failed` with this error."""

    code: str
    message: str


Reply = Response | ApiError | StreamFailure
Brain = Callable[[ResponsesRequest], Reply]


def respond(*items: Item | str, **kwargs: Any) -> Response:
    """A Response of `items`; a plain str is a Text. Keywords go to Response."""
    return Response(tuple(Text(i) if isinstance(i, str) else i for i in items), **kwargs)


def write_command(files: Sequence[tuple[Path | str, str]]) -> str:
    """One shell command that writes each (path, content), making the folders."""
    parts = []
    for path, content in files:
        parts.append(f"mkdir -p {shlex.quote(str(Path(path).parent))}")
        parts.append(f"printf '%s' {shlex.quote(content)} > {shlex.quote(str(path))}")
    return " && ".join(parts)


def add_file_patch(path: Path | str, content: str) -> str:
    """An apply_patch that adds a file (codex 0.169.0 overwrites one that exists)."""
    lines = content.splitlines()
    return ("*** Begin Patch\n" f"*** Add File: {path}\n"
            + "".join(f"+{line}\n" for line in lines) + "*** End Patch\n")


# Canned answers ------------------------------------------------------------------------------


def usage_limit(plan: str = "plus", resets_at: float | None = None, *,
                reset: bool = True) -> ApiError:
    """A ChatGPT plan's usage limit (429 `usage_limit_reached`): codex does not retry and
    prints "You\u2019ve hit your usage limit. ... try again at H:MM AM." (`reset=False`:
    no resets_at, "try again later.")."""
    error: dict[str, Any] = {"type": "usage_limit_reached", "plan_type": plan,
                             "message": "The usage limit has been reached"}
    if reset:
        at = int(resets_at if resets_at is not None else time.time() + 3600)
        error.update(resets_at=at, resets_in_seconds=max(0, at - int(time.time())))
    return ApiError(429, {"error": error})


def rate_limited(retry_after_s: int = 1) -> ApiError:
    """A plain 429: codex retries it 5 times, then fails. `retry-after` is whole seconds
    (codex 0.169.0 does not retry at all on `retry-after: 0.2`)."""
    return ApiError(429, {"error": {
        "type": "rate_limit_exceeded", "code": "rate_limit_exceeded",
        "message": "Rate limit reached for requests. Please try again in 1s."}},
        {"retry-after": str(int(retry_after_s))})


def server_error() -> ApiError:
    """A 500: codex retries it (30 requests, ~28 s), then fails."""
    return ApiError(500, {"error": {"type": "server_error", "code": "server_error",
                                    "message": "The server had an error while processing "
                                               "your request."}})


def insufficient_quota() -> StreamFailure:
    """API-key billing exhausted: "Quota exceeded. Check your plan and billing details."
    (no retry)."""
    return StreamFailure("insufficient_quota", "You exceeded your current quota, please "
                         "check your plan and billing details.")


def first(times: int, answer: Reply | Brain, then: Brain) -> Brain:
    """A brain that gives `answer` to the first `times` requests, then asks `then`."""
    count = itertools.count(1)
    lock = threading.Lock()

    def brain(request: ResponsesRequest) -> Reply:
        with lock:
            n = next(count)
        if n > times:
            return then(request)
        if isinstance(answer, (Response, ApiError, StreamFailure)):
            return answer
        return answer(request)

    return brain


def scripted(plan: Callable[[ResponsesRequest], Sequence[Reply]],
             done: str = "Done.") -> Brain:
    """Answers step `request.turn` of `plan(request)`; after the last step, `done`."""

    def brain(request: ResponsesRequest) -> Reply:
        steps = plan(request)
        return steps[request.turn] if request.turn < len(steps) else respond(done)

    return brain


# orchestrate's phase prompts, through fake_messages_api's plan -----------------------------

ClaudeSteps = Callable[[PhasePrompt, claude.ApiRequest], Sequence[claude.Reply]]

_READ = re.compile(r"cat -- ('[^']*'|\S+)$")


def claude_results(request: ResponsesRequest) -> list[tuple[str, dict[str, Any], str, bool]]:
    """codex's tool calls so far as the Claude tool calls they stand for (a `cat -- PATH`
    is a Read, anything else a Bash)."""
    results = []
    for r in request.tool_results():
        read = _READ.match(r.command) if r.kind == "shell" else None
        failed = r.exit_code not in (0, None)
        if read:
            path = shlex.split(read.group(1))[0]
            results.append(("Read", {"file_path": path}, r.text, failed))
        else:
            results.append(("Bash", {"command": r.command}, r.text, failed))
    return results


def from_claude(steps: Sequence[claude.Reply]) -> list[Reply]:
    """fake_messages_api's plan in codex's terms: Thinking is Reasoning, a Write, Read or
    Bash is a Shell command; the Writes of consecutive steps that only write go into one
    command (so a plain phase is one command, as in codex's captured `phase`)."""
    answers: list[Reply] = []
    merge = False  # the last answer only wrote files: more writes join its command
    for step in steps:
        if isinstance(step, claude.ApiError):
            answers.append(ApiError(step.status, {"error": {"type": step.type,
                                                            "message": step.message}}))
            merge = False
            continue
        items: list[Item] = []
        writes: list[tuple[str, str]] = []
        other = False
        for block in step.content:
            if isinstance(block, claude.Thinking):
                items.append(Reasoning(block.thinking))
            elif isinstance(block, claude.Text):
                items.append(Text(block.text))
            elif block.name == "Write":
                writes.append((str(block.input["file_path"]), str(block.input["content"])))
            elif block.name == "Read":
                other = True
                items.append(Shell(f"cat -- {shlex.quote(str(block.input['file_path']))}"))
            else:
                other = True
                items.append(Shell(str(block.input.get("command", "true"))))
        last = answers[-1] if answers else None
        if (merge and writes and not other and not items and isinstance(last, Response)
                and isinstance(last.items[-1], Shell)):
            joined = Shell(last.items[-1].command + " && " + write_command(writes))
            answers[-1] = Response((*last.items[:-1], joined))
            continue
        if writes:
            items.append(Shell(write_command(writes)))
        answers.append(Response(tuple(items)))
        merge = bool(writes) and not other
    return answers


def phase_brain(steps: ClaudeSteps = phase_steps) -> Brain:
    """Works through any orchestrate phase prompt with `steps`, a plan in
    fake_messages_api's terms (default its `phase_steps`: the phase's document, then the
    result file; build reads SPEC.md first and ticks it)."""

    def plan(request: ResponsesRequest) -> Sequence[Reply]:
        view = claude_view(request.prompt(), request.cwd, claude_results(request))
        p = PhasePrompt.parse(view)
        if p is None:
            return [respond("This is not an orchestrate phase prompt.")]
        return from_claude(steps(p, view))

    return scripted(plan, done="Done: the documents and the result file are written.")


# The server ---------------------------------------------------------------------------------


class FakeResponsesApi(LoopbackApi):
    """The server (a context manager); `brain` answers every POST /v1/responses."""

    thread_name = "fake-responses-api"
    provider = "orchestrate_fake"

    def __init__(self, brain: Brain, *, max_requests: int = 200,
                 lifetime_s: float = 300.0) -> None:
        super().__init__(max_requests=max_requests, lifetime_s=lifetime_s)
        self.brain = brain
        self.requests: list[ResponsesRequest] = []

    def __enter__(self) -> FakeResponsesApi:
        self.start()
        return self

    def handler(self) -> type[JsonHandler]:
        api = self

        class Handler(_ResponsesHandler):
            fake = api

        return Handler

    @property
    def base_url(self) -> str:
        """The provider's `base_url` (codex POSTs `{base_url}/responses`)."""
        return f"{self.url}/v1"

    def provider_toml(self) -> str:
        """The model provider as an inline TOML table."""
        return (f'{{name="{self.provider}", base_url="{self.base_url}", '
                'env_key="OPENAI_API_KEY", wire_api="responses"}')

    def cli_args(self) -> list[str]:
        """`-c` options that make `codex exec` use this server (put them before the
        prompt)."""
        return ["-c", f"model_provider={self.provider}",
                "-c", f"model_providers.{self.provider}={self.provider_toml()}"]

    def write_config(self, home: Path | str) -> Path:
        """The same as `cli_args`, in `home/config.toml` (for a fixed agent command)."""
        path = Path(home) / "config.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'model_provider = "{self.provider}"\n\n'
                        f"[model_providers.{self.provider}]\n"
                        f'name = "{self.provider}"\nbase_url = "{self.base_url}"\n'
                        'env_key = "OPENAI_API_KEY"\nwire_api = "responses"\n',
                        encoding="utf-8")
        return path

    def cli_env(self, home: Path | str, tmpdir: Path | str | None = None) -> dict[str, str]:
        """HOME and CODEX_HOME (`home`, made), the dummy key, and TMPDIR (`tmpdir`, default
        a sibling `<home>-tmp`, made), which must not contain home."""
        home = Path(home).absolute()
        tmp = Path(tmpdir).absolute() if tmpdir else home.with_name(home.name + "-tmp")
        if home.is_relative_to(tmp):
            raise ValueError(f"CODEX_HOME {home} must not lie under TMPDIR {tmp}")
        home.mkdir(parents=True, exist_ok=True)
        tmp.mkdir(parents=True, exist_ok=True)
        return {"HOME": str(home), "CODEX_HOME": str(home), "TMPDIR": str(tmp),
                "OPENAI_API_KEY": "sk-fake-key-for-tests"}

    def agent_requests(self) -> list[ResponsesRequest]:
        with self._lock:
            return list(self.requests)

    def answer(self, request: ResponsesRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
        if self.over_limit():
            return ApiError(400, {"error": {"type": "invalid_request_error", "message":
                                            f"fake API: more than {self.max_requests} "
                                            "requests"}})
        try:
            return self.brain(request)
        except Exception as exc:  # a broken brain must show, not hang the CLI in retries
            return ApiError(400, {"error": {"type": "invalid_request_error",
                                            "message": f"fake API brain failed: {exc!r}"}})


class _ResponsesHandler(JsonHandler):
    fake: FakeResponsesApi

    def _not_found(self) -> None:
        self.fake.record(Logged(self.command, self.path, 404))
        body = {"error": {"type": "invalid_request_error", "message": f"no {self.path}"}}
        self.send(404, json.dumps(body).encode(), "application/json")

    def do_GET(self) -> None:
        self._not_found()

    def do_HEAD(self) -> None:
        self._not_found()

    def do_POST(self) -> None:
        body = self.json_body()
        if self.path.split("?")[0] != "/v1/responses":
            self._not_found()
            return
        request = ResponsesRequest("POST", self.path, self.header_dict(), body)
        reply = self.fake.answer(request)
        request_id = {"x-request-id": "req_" + uuid.uuid4().hex[:24]}
        if isinstance(reply, ApiError):
            self.fake.record(Logged("POST", self.path, reply.status, request.model, True))
            self.send(reply.status, json.dumps(reply.body).encode(), "application/json",
                      {**request_id, **reply.headers})
            return
        self.fake.record(Logged("POST", self.path, 200, request.model, True))
        events = (_failed_sse(reply) if isinstance(reply, StreamFailure)
                  else _sse(reply, code_mode=request.code_mode))
        headers = reply.headers if isinstance(reply, Response) else {}
        self.send(200, b"".join(events), "text/event-stream",
                  {**request_id, "Cache-Control": "no-cache", **headers})


# The wire format ---------------------------------------------------------------------------


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _event(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


def _js(tool: str, argument: object) -> str:
    """Code mode's JavaScript for one nested tool call (its result is the exec's output)."""
    return f"const r = await tools.{tool}({json.dumps(argument)});\ntext(r);"


def render(item: Item, *, code_mode: bool) -> dict[str, Any]:
    """The complete output item for `item`, as the request's tool mode wants it."""
    if isinstance(item, Reasoning):
        return {"type": "reasoning", "id": _id("rs"), "content": [], "encrypted_content": None,
                "summary": [{"type": "summary_text", "text": item.summary}]}
    if isinstance(item, Text):
        return {"type": "message", "id": _id("msg"), "role": "assistant",
                "status": "completed", "content": [
                    {"type": "output_text", "text": item.text, "annotations": []}]}
    call: dict[str, Any] = {"id": _id("fc"), "call_id": _id("call"), "status": "completed"}
    if isinstance(item, Shell):
        args: dict[str, Any] = {"cmd": item.command}
        if item.workdir:
            args["workdir"] = item.workdir
        if code_mode:
            return {**call, "type": "custom_tool_call", "name": "exec",
                    "input": _js("exec_command", args)}
        return {**call, "type": "function_call", "name": "exec_command",
                "arguments": json.dumps(args)}
    if code_mode:
        return {**call, "type": "custom_tool_call", "name": "exec",
                "input": _js("apply_patch", item.patch)}
    return {**call, "type": "custom_tool_call", "name": "apply_patch", "input": item.patch}


def _added(item: dict[str, Any]) -> dict[str, Any]:
    """The item as `output_item.added` announces it (before its content streams)."""
    if item["type"] == "message":
        return {**item, "status": "in_progress", "content": []}
    if item["type"] == "reasoning":
        return {**item, "summary": []}
    if item["type"] == "function_call":
        return {**item, "status": "in_progress", "arguments": ""}
    return {**item, "status": "in_progress", "input": ""}


def _deltas(index: int, item: dict[str, Any]) -> Iterator[dict[str, Any]]:
    base = {"item_id": item["id"], "output_index": index}
    if item["type"] == "message":
        text = item["content"][0]["text"]
        yield {"type": "response.content_part.added", **base, "content_index": 0,
               "part": {"type": "output_text", "text": "", "annotations": []}}
        yield {"type": "response.output_text.delta", **base, "content_index": 0,
               "delta": text}
        yield {"type": "response.output_text.done", **base, "content_index": 0,
               "text": text}
        yield {"type": "response.content_part.done", **base, "content_index": 0,
               "part": item["content"][0]}
    elif item["type"] == "reasoning":
        text = item["summary"][0]["text"]
        yield {"type": "response.reasoning_summary_part.added", **base, "summary_index": 0,
               "part": {"type": "summary_text", "text": ""}}
        yield {"type": "response.reasoning_summary_text.delta", **base, "summary_index": 0,
               "delta": text}
        yield {"type": "response.reasoning_summary_text.done", **base, "summary_index": 0,
               "text": text}
    elif item["type"] == "function_call":
        yield {"type": "response.function_call_arguments.delta", **base,
               "delta": item["arguments"]}
        yield {"type": "response.function_call_arguments.done", **base,
               "arguments": item["arguments"]}
    else:
        yield {"type": "response.custom_tool_call_input.delta", **base,
               "delta": item["input"]}
        yield {"type": "response.custom_tool_call_input.done", **base,
               "input": item["input"]}


def _created(response_id: str) -> dict[str, Any]:
    return {"type": "response.created", "sequence_number": 0, "response": {
        "id": response_id, "object": "response", "status": "in_progress", "output": [],
        "created_at": int(time.time())}}


def _sse(reply: Response, *, code_mode: bool) -> Iterator[bytes]:
    response_id = _id("resp")
    yield _event(_created(response_id))
    output = []
    for index, item in enumerate(reply.items):
        full = render(item, code_mode=code_mode)
        output.append(full)
        yield _event({"type": "response.output_item.added", "output_index": index,
                      "item": _added(full)})
        for delta in _deltas(index, full):
            yield _event(delta)
        yield _event({"type": "response.output_item.done", "output_index": index,
                      "item": full})
    usage = {"input_tokens": reply.input_tokens,
             "input_tokens_details": {"cached_tokens": reply.cached_tokens},
             "output_tokens": reply.output_tokens,
             "output_tokens_details": {"reasoning_tokens": reply.reasoning_tokens},
             "total_tokens": reply.input_tokens + reply.output_tokens}
    yield _event({"type": "response.completed", "response": {
        "id": response_id, "object": "response", "status": "completed", "output": output,
        "usage": usage}})


def _failed_sse(reply: StreamFailure) -> Iterator[bytes]:
    response_id = _id("resp")
    yield _event(_created(response_id))
    yield _event({"type": "response.failed", "response": {
        "id": response_id, "object": "response", "status": "failed", "output": [],
        "error": {"code": reply.code, "message": reply.message}}})
