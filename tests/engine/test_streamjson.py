"""streamjson.describe: every line an agent prints is classified, and nothing crashes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.backlog.model import visible
from app.engine.events import AgentLine
from app.engine.streamjson import describe, describe_lines

SAMPLE = (Path(__file__).resolve().parents[3] / "shared" / "samples"
          / "claude-2.1.197-stream-json-not-logged-in.jsonl")


def _assistant(*blocks: dict[str, object]) -> str:
    return json.dumps({"type": "assistant", "message": {"role": "assistant",
                                                        "content": list(blocks)}})


def test_real_not_logged_in_output_is_classified_as_an_error() -> None:
    from app.demo.transcript import NOT_LOGGED_IN_LINES

    lines = SAMPLE.read_text().splitlines() if SAMPLE.exists() else list(NOT_LOGGED_IN_LINES)
    kinds = [describe(line) for line in lines]
    assert kinds[0].kind == "system"
    assert "claude-opus" in kinds[0].text
    assert kinds[1].kind == "error" and "Not logged in" in kinds[1].text
    assert kinds[2].kind == "error" and "Not logged in · Please run /login" in kinds[2].text


def test_tool_use_is_one_line_with_the_tool_and_its_main_argument() -> None:
    line = describe(_assistant({"type": "tool_use", "name": "Bash",
                                "input": {"command": "ls -la\nwc -l"}}))
    assert (line.kind, line.text) == ("tool", "Bash ls -la wc -l")
    read = describe(_assistant({"type": "tool_use", "name": "Read",
                                "input": {"file_path": "app/x.py"}}))
    assert read.text == "Read app/x.py"


def test_tool_results_and_failed_tool_results() -> None:
    ok = describe(json.dumps({"type": "user", "message": {"content": [
        {"type": "tool_result", "content": "14 passed", "is_error": False}]}}))
    bad = describe(json.dumps({"type": "user", "message": {"content": [
        {"type": "tool_result", "content": [{"type": "text", "text": "boom"}],
         "is_error": True}]}}))
    assert (ok.kind, ok.text) == ("tool_result", "14 passed")
    assert bad.kind == "error" and "boom" in bad.text


def test_assistant_text_and_final_result_with_cost_and_turns() -> None:
    assert describe(_assistant({"type": "text", "text": "Hello\nthere"})).text == "Hello there"
    final = describe(json.dumps({"type": "result", "subtype": "success", "is_error": False,
                                 "num_turns": 4, "total_cost_usd": 0.1234, "result": "ok"}))
    assert final.kind == "result"
    assert "4 turns" in final.text and "$0.1234" in final.text


@pytest.mark.parametrize("line", ["not json at all", "{broken json", "[1, 2, 3]", "", "null",
                                  '{"type": "assistant", "message": 5}', "{" * 5000])
def test_anything_else_is_raw_text_and_never_raises(line: str) -> None:
    got = describe(line)
    assert got.kind in ("raw", "system")
    assert got.raw == line


def test_an_object_followed_by_more_text_is_raw_and_surrounding_spaces_are_not() -> None:
    """Two events glued on one line (or JSON then noise) are not one event."""
    glued = '{"type": "result", "result": "ok"} {"type": "result"}'
    assert describe(glued).kind == "raw"
    assert describe('{"type": "result"} trailing words').kind == "raw"
    padded = '  {"type": "result", "subtype": "success", "num_turns": 2}  \r\n'
    assert describe(padded).kind == "result"


def test_a_300_kb_line_is_kept_whole_in_raw_and_cut_for_display() -> None:
    line = _assistant({"type": "text", "text": "x" * 300_000})
    got = describe(line)
    assert got.kind == "text"
    assert len(got.text) <= 400
    assert got.raw == line


def test_result_event_finds_only_the_final_result() -> None:
    from app.engine.streamjson import result_event

    final = json.dumps({"type": "result", "is_error": True, "result": "Not logged in"})
    assert result_event(final) == json.loads(final)
    assert result_event(_assistant({"type": "text", "text": '"result"'})) is None
    assert result_event('{"result": broken') is None


# --- what Claude Code 2.1.197 really prints (../shared/samples/claude-2.1.197) --------------
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples" / "claude-2.1.197"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(),
                                   reason=f"the real CLI's samples are not at {SAMPLES}")


def sample_lines(name: str) -> list[AgentLine]:
    text = (SAMPLES / f"{name}.jsonl").read_text(encoding="utf-8")
    return [shown for line in text.splitlines() for shown in describe_lines(line)]


@needs_samples
def test_an_error_result_says_the_clis_own_words_from_its_errors_list() -> None:
    assert sample_lines("max-turns")[-1] == AgentLine(
        "error", "error: Reached maximum number of turns (2)",
        (SAMPLES / "max-turns.jsonl").read_text().splitlines()[-1])
    assert sample_lines("max-budget")[-1].text == "error: Reached maximum budget ($0.5)"


@needs_samples
def test_api_retries_read_as_a_person_would_say_them() -> None:
    retries = [line.text for line in sample_lines("no-network-api-retry")
               if line.kind == "retry"]
    assert len(retries) == 10
    assert retries[0] == "API retry 1/10 in 1 s (no answer from the API)"
    assert retries[6] == "API retry 7/10 in 38 s (no answer from the API)"
    retry_529 = json.dumps({"type": "system", "subtype": "api_retry", "attempt": 7,
                            "max_retries": 10, "retry_delay_ms": 36000, "error_status": 529,
                            "error": "overloaded"})
    assert describe(retry_529).text == "API retry 7/10 in 36 s (529 overloaded)"


@needs_samples
def test_thinking_and_prompts_are_told_apart_from_the_agents_words() -> None:
    kinds = [(line.kind, line.text) for line in sample_lines("tools-thinking-errors")]
    assert ("thinking", "The user wants a listing. I'll run ls first.") in kinds
    assert ("text", "I'll look at the project first.") in kinds
    sub = sample_lines("subagent")
    assert ("prompt", "↳ prompt: SUBAGENT-PROMPT say hi") in [(s.kind, s.text) for s in sub]
    assert [s.text for s in sub if s.kind == "tool" and s.text.startswith("↳ ")]


def test_each_content_block_gets_its_line_and_partial_messages_none() -> None:
    message = json.dumps({"type": "assistant", "message": {"content": [
        {"type": "thinking", "thinking": "first think"},
        {"type": "text", "text": "then say"},
        {"type": "tool_use", "name": "Bash", "input": {"command": "ls"}}]}})
    assert [(s.kind, s.text) for s in describe_lines(message)] == [
        ("thinking", "first think"), ("text", "then say"), ("tool", "Bash ls")]
    partial = json.dumps({"type": "stream_event", "event": {
        "type": "content_block_delta", "delta": {"type": "text_delta", "text": "th"}}})
    assert describe_lines(partial) == ()


def test_one_line_folds_whitespace_and_escapes_alike_on_its_fast_path() -> None:
    """A printable line with single spaces is returned as it is (checked in C); any
    other whitespace or control character goes the long way, with the same answer."""
    from app.engine.streamjson import one_line

    cases = ["plain words here", " lead", "trail ", "two  spaces", "tab\there",
             "new\nline", "nbsp\u00a0here", "esc \x1b]0;t\x07", "", "x" * 500,
             "sep\x1crecord", "line\u2028sep"]
    for text in cases:
        slow = visible(" ".join(text.split()), one_line=True)
        slow = slow if len(slow) <= 400 else slow[:399] + "…"
        assert one_line(text) == slow, repr(text)
