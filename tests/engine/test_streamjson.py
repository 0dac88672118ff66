"""streamjson.describe: every line an agent prints is classified, and nothing crashes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.engine.streamjson import describe

SAMPLE = Path("/work/shared/samples/claude-2.1.197-stream-json-not-logged-in.jsonl")


def _assistant(*blocks: dict) -> str:
    return json.dumps({"type": "assistant", "message": {"role": "assistant",
                                                        "content": list(blocks)}})


def test_real_not_logged_in_output_is_classified_as_an_error() -> None:
    from app.demo.scripted_agent import NOT_LOGGED_IN_LINES

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
