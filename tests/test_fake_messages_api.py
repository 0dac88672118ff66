"""The stand-in Messages API itself (tests/fake_messages_api.py), without the CLI: its wire
format, its bounds, and that `phase_brain` still understands orchestrate's prompts."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import make_project, ready
from fake_messages_api import (
    ApiRequest,
    FakeMessagesApi,
    PhasePrompt,
    Text,
    Thinking,
    ToolUse,
    document_text,
    first,
    overloaded,
    phase_brain,
    say,
    usage_limit,
)

from app.engine.prompts import build_prompt

TOOLS = [{"name": "Write", "input_schema": {"type": "object"}}]


def post(api: FakeMessagesApi, body: dict[str, Any],
         path: str = "/v1/messages?beta=true") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(api.url + path, data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def sse(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for chunk in raw.decode().split("\n\n"):
        if chunk.strip():
            name, data = chunk.split("\n", 1)
            events.append((name.removeprefix("event: "),
                           json.loads(data.removeprefix("data: "))))
    return events


def test_a_streamed_answer_has_every_event_the_cli_reads() -> None:
    reply = say(Thinking("plan it"), "Writing.", ToolUse("Write", {"file_path": "/x",
                                                                    "content": "y" * 100}))
    with FakeMessagesApi(lambda request: reply) as api:
        status, headers, raw = post(api, {"stream": True, "tools": TOOLS, "messages": []})
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    events = sse(raw)
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert names.count("content_block_start") == names.count("content_block_stop") == 3
    deltas = [data["delta"] for name, data in events if name == "content_block_delta"]
    assert {d["type"] for d in deltas} == {"thinking_delta", "signature_delta", "text_delta",
                                           "input_json_delta"}
    tool_json = "".join(d["partial_json"] for d in deltas if d["type"] == "input_json_delta")
    assert json.loads(tool_json) == {"file_path": "/x", "content": "y" * 100}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
    assert events[-2][1]["usage"]["output_tokens"] == 80


def test_unstreamed_answers_errors_and_other_paths() -> None:
    with FakeMessagesApi(first(1, overloaded(), lambda request: say("Hello.")),
                         side=lambda request: usage_limit(1796076229)) as api:
        assert post(api, {"tools": TOOLS, "messages": []})[0] == 529
        status, _, raw = post(api, {"tools": TOOLS, "messages": []})
        message = json.loads(raw)
        assert (status, message["content"], message["stop_reason"]) == (
            200, [{"type": "text", "text": "Hello."}], "end_turn")
        status, headers, raw = post(api, {"messages": []})  # no tools: the side brain
        assert status == 429 and json.loads(raw)["error"]["type"] == "rate_limit_error"
        assert headers["anthropic-ratelimit-unified-reset"] == "1796076229"
        assert headers["anthropic-ratelimit-unified-status"] == "rejected"
        assert json.loads(post(api, {}, "/v1/messages/count_tokens")[2]) == {
            "input_tokens": 1200}
        assert post(api, {}, "/v1/other")[0] == 404
    assert [(entry.status, entry.agent) for entry in api.log] == [
        (529, True), (200, True), (429, False), (200, False), (404, False)]


def test_the_server_is_bounded_in_requests_and_lifetime() -> None:
    with FakeMessagesApi(lambda request: say("again"), max_requests=2,
                         lifetime_s=0.5) as api:
        assert [post(api, {"tools": TOOLS})[0] for _ in range(3)] == [200, 200, 400]
        assert api.url.startswith("http://127.0.0.1:")
        time.sleep(1.0)
        with pytest.raises(OSError):
            post(api, {"tools": TOOLS})


def test_a_broken_brain_answers_an_error_the_cli_does_not_retry() -> None:
    with FakeMessagesApi(lambda request: 1 / 0) as api:  # type: ignore[arg-type,return-value]
        status, _, raw = post(api, {"tools": TOOLS})
    assert status == 400 and "ZeroDivisionError" in json.loads(raw)["error"]["message"]


def _request(prompt: str, cwd: Path, *turns: dict[str, Any]) -> ApiRequest:
    system = f"You are Claude Code.\n - Primary working directory: {cwd}\n"
    first_message = {"role": "user", "content": [
        {"type": "text", "text": "<system-reminder>\nctx\n</system-reminder>\n"},
        {"type": "text", "text": prompt}]}
    return ApiRequest("POST", "/v1/messages", {}, {
        "system": [{"type": "text", "text": system}], "tools": TOOLS,
        "messages": [first_message, *turns]})


@pytest.mark.parametrize("phase", ["prd", "build"])
def test_phase_brain_reads_orchestrates_own_prompt(tmp_path: Path, phase: str) -> None:
    project = make_project(tmp_path / "p", [ready()])
    item = project.store().load().get("WRK-001")
    result_file = project.results_dir / f"WRK-001_{phase}_1.json"
    prompt = build_prompt(item, phase, config=project.config(),
                          prompts_dir=project.prompts_dir, result_file=result_file)
    request = _request(prompt, project.root)
    parsed = PhasePrompt.parse(request)
    assert parsed == PhasePrompt("WRK-001", phase, project.root / item.change_dir, result_file)

    brain = phase_brain()
    answers = []
    turns: list[dict[str, Any]] = []
    for _ in range(5):
        answer = brain(_request(prompt, project.root, *turns))
        answers.append(answer)
        blocks = list(getattr(answer, "content", ()))
        tools = [b for b in blocks if isinstance(b, ToolUse)]
        if not tools:
            break
        turns.append({"role": "assistant", "content": [
            {"type": "tool_use", "id": t.id, "name": t.name, "input": t.input}
            for t in tools]})
        text = ("     1\u2192" + document_text("WRK-001", "spec")) if tools[0].name == "Read" \
            else "File created successfully"
        turns.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": t.id, "content": text} for t in tools]})
    calls = [(b.name, b.input["file_path"]) for a in answers
             for b in getattr(a, "content", ()) if isinstance(b, ToolUse)]
    change = str(project.root / item.change_dir)
    documents = ([("Read", f"{change}/SPEC.md"), ("Write", f"{change}/SPEC.md")]
                 if phase == "build" else [("Write", f"{change}/PRD.md")])
    assert calls == [*documents, ("Write", str(result_file))]
    written = json.loads(next(b.input["content"] for a in answers
                              for b in getattr(a, "content", ())
                              if isinstance(b, ToolUse) and b.input["file_path"]
                              == str(result_file)))
    assert (written["item_id"], written["phase"], written["result"]) == (
        "WRK-001", phase, "complete")
    last = answers[-1]
    assert isinstance(getattr(last, "content", (None,))[0], Text)  # the turn ends in words
