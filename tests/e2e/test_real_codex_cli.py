"""The REAL OpenAI Codex CLI against a stand-in for the Responses API (tests/fake_responses_api.py).

The CLI (npm `@openai/codex`, pinned 0.169.0 in .ci/run) is found via
`ORCHESTRATE_TEST_CODEX`, else `.ci/node_modules/.bin/codex` in this repo, else `codex`
on PATH; without one every test here is skipped, saying so. The API scripts only the
answers: every `--json` line, command and file below is the CLI's own doing. Each run
gets a clean environment (PATH, TZ and the stand-in's `cli_env`: HOME = CODEX_HOME in
tmp_path, TMPDIR beside it so that codex may make its helper binaries there), stdin
/dev/null, and a timeout (codex retries a dead API forever).

What the runs must look like comes from captures of the same CLI against a stand-in
(0.169.0, `exec --json`, kept in the captures' README as folders `phase`,
`ratelimit-recover`, `usagelimit*`): CAPTURED_* below are copied from them.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_helpers import make_project, ready
from fake_messages_api import document_text
from fake_responses_api import (
    FakeResponsesApi,
    first,
    phase_brain,
    rate_limited,
    usage_limit,
)
from real_clis import find_cli

from app.engine.project import Project
from app.engine.prompts import build_prompt

CODEX, WHY_NOT = find_cli("codex")
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(CODEX is None, reason=WHY_NOT)]

# The captures -------------------------------------------------------------------------------

CAPTURED_PHASE = [
    "thread.started", "turn.started", "item.completed reasoning",
    "item.completed agent_message", "item.started command_execution",
    "item.completed command_execution", "item.completed agent_message", "turn.completed"]
"""`phase`: reasoning + text + one shell call that writes a file, then a final text."""
CAPTURED_PHASE_USAGE = {"input_tokens": 2400, "cached_input_tokens": 400,
                        "cache_write_input_tokens": 0, "output_tokens": 160,
                        "reasoning_output_tokens": 32}
"""Its `turn.completed.usage`: two requests of 1200 input (200 cached), 80 output (16
reasoning) each, summed."""
CAPTURED_RECONNECT = ("Reconnecting... {n}/5 (exceeded retry limit, last status: 429 Too "
                      "Many Requests, request id: ")
"""`ratelimit-recover`: two of these `error` lines, then the phase as above, exit 0."""
YOUVE = "You\u2019ve"
"""With U+2019, as codex prints it (not ASCII `You've`)."""
CAPTURED_LIMIT = ["thread.started", "turn.started", "error", "turn.failed"]
CAPTURED_LIMIT_TEXT = {
    # plan, seconds to the reset: (the captured message, its reset as printed)
    ("plus", 3600): (YOUVE + " hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/"
                     "pro), visit https://chatgpt.com/settings/usage to purchase more credits "
                     "or try again at 3:06 AM.", "3:06 AM"),
    ("pro", 266400): (YOUVE + " hit your usage limit. Visit https://chatgpt.com/settings/usage to "
                      "purchase more credits or try again at Dec 10th, 2026 4:06 AM.",
                      "Dec 10th, 2026 4:06 AM"),
    ("team", 600): (YOUVE + " hit your usage limit. To get more access now, send a request to "
                    "your admin or try again at 2:16 AM.", "2:16 AM"),
    ("free", 7200): (YOUVE + " hit your usage limit. Upgrade to Plus to continue using Codex "
                     "(https://chatgpt.com/explore/plus), or try again at 4:06 AM.", "4:06 AM"),
    ("plus", None): (YOUVE + " hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/"
                     "pro), visit https://chatgpt.com/settings/usage to purchase more credits "
                     "or try again later.", "later"),
}
"""`usagelimit`, `-pro-days`, `-team`, `-free`, `-noreset`: exit 1, one request."""


@pytest.fixture(autouse=True)
def _timed(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test's wall time, in the report's captured output."""
    started = time.monotonic()
    yield
    print(f"{request.node.name}: {time.monotonic() - started:.1f} s with {CODEX}")


# Running the CLI --------------------------------------------------------------------------


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def shape(self) -> list[str]:
        """Each line's type, with the item's type for item events."""
        return [" ".join([e["type"], *([e["item"]["type"]] if "item" in e else [])])
                for e in self.events]


def run_codex(api: FakeResponsesApi, tmp_path: Path, cwd: Path, prompt: str, *extra: str,
              tz: str = "UTC", timeout: float = 40) -> Ran:
    """`codex exec --json ... PROMPT` as orchestrate would run it, in a session of its own
    (killed by its group id if it outlives `timeout`)."""
    assert CODEX is not None
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TZ": tz,
           **api.cli_env(tmp_path / "codex-home", tmp_path / "codex-tmp")}
    argv = [CODEX, "exec", "--json", "--sandbox", "workspace-write", "--skip-git-repo-check",
            "-C", str(cwd), *api.cli_args(), *extra, prompt]
    started = time.monotonic()
    with subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, encoding="utf-8",
                          start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            pytest.fail(f"codex still ran after {timeout} s:\n{out}\n{err}")
    return Ran(proc.returncode, out, err, time.monotonic() - started)


def phase_project(root: Path, phase: str) -> tuple[Project, str, Path, Path]:
    """A project with one ready item; orchestrate's own prompt for `phase` (attempt 1),
    the change folder and the result file it names."""
    project = make_project(root, [ready()])
    item = project.store().load().get("WRK-001")
    result_file = project.results_dir / f"WRK-001_{phase}_1.json"
    prompt = build_prompt(item, phase, config=project.config(),
                          prompts_dir=project.prompts_dir, result_file=result_file)
    return project, prompt, project.root / item.change_dir, result_file


def assert_the_result(result_file: Path, phase: str) -> None:
    answer = json.loads(result_file.read_text(encoding="utf-8"))
    assert (answer["item_id"], answer["phase"], answer["result"]) == (
        "WRK-001", phase, "complete")
    assert answer["summary"] == f"{phase} written by the real CLI"


QUIET_STDERR = "Reading additional input from stdin...\n"
"""All codex says on stderr, as in the captures: no "could not create PATH aliases"
warning (CODEX_HOME is not under TMPDIR)."""


# The tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [(), ("-m", "gpt-5.5")], ids=["code-mode", "function-tools"])
def test_a_phase_writes_its_document_and_result_file_as_captured(
        tmp_path: Path, model: tuple[str, ...]) -> None:
    project, prompt, change, result_file = phase_project(tmp_path / "p", "prd")
    with FakeResponsesApi(phase_brain(), lifetime_s=60) as api:
        ran = run_codex(api, tmp_path, project.root, prompt, *model)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.shape() == CAPTURED_PHASE
    assert (change / "PRD.md").read_text(encoding="utf-8") == document_text("WRK-001", "prd")
    assert_the_result(result_file, "prd")

    events = ran.events
    assert events[-1]["usage"] == CAPTURED_PHASE_USAGE
    [done] = [e["item"] for e in events if e["type"] == "item.completed"
              and e["item"]["type"] == "command_execution"]
    assert (done["exit_code"], done["status"]) == (0, "completed")
    assert str(change / "PRD.md") in done["command"] and str(result_file) in done["command"]
    assert events[2]["item"]["text"] == "The prd step wants PRD.md."
    assert events[-2]["item"]["text"] == "Done: the documents and the result file are written."
    assert ran.stderr == QUIET_STDERR

    requests = api.agent_requests()
    assert len(requests) == 2
    assert [r.code_mode for r in requests] == [not model] * 2
    assert all(r.cwd == project.root and r.prompt() == prompt for r in requests)
    assert {r.headers["authorization"] for r in requests} == {"Bearer sk-fake-key-for-tests"}
    assert {r.model for r in requests} == {model[1] if model else "gpt-6.1-sol"}


def test_the_build_phase_reads_spec_md_then_ticks_every_task(tmp_path: Path) -> None:
    project, prompt, change, result_file = phase_project(tmp_path / "p", "build")
    change.mkdir(parents=True)
    (change / "SPEC.md").write_text(document_text("WRK-001", "spec"), encoding="utf-8")
    with FakeResponsesApi(phase_brain(), lifetime_s=60) as api:
        ran = run_codex(api, tmp_path, project.root, prompt)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    command = ["item.started command_execution", "item.completed command_execution"]
    assert ran.shape() == [
        "thread.started", "turn.started", "item.completed reasoning",
        "item.completed agent_message", *command, "item.completed agent_message", *command,
        "item.completed agent_message", "turn.completed"]
    read = next(e["item"] for e in ran.events if e["type"] == "item.completed"
                and e["item"]["type"] == "command_execution")
    assert read["aggregated_output"] == document_text("WRK-001", "spec")
    assert (change / "SPEC.md").read_text(encoding="utf-8") == document_text(
        "WRK-001", "spec").replace("- [ ]", "- [x]")
    assert_the_result(result_file, "build")


RETRY_AFTER = 1


def test_a_rate_limit_is_retried_and_the_phase_goes_on(tmp_path: Path) -> None:
    project, prompt, _, result_file = phase_project(tmp_path / "p", "prd")
    brain = first(2, rate_limited(retry_after_s=RETRY_AFTER), phase_brain())
    with FakeResponsesApi(brain, lifetime_s=60) as api:
        ran = run_codex(api, tmp_path, project.root, prompt)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.shape() == [*CAPTURED_PHASE[:2], "error", "error", *CAPTURED_PHASE[2:]]
    retries = [e["message"] for e in ran.events if e["type"] == "error"]
    assert [m.startswith(CAPTURED_RECONNECT.format(n=n)) for n, m in
            enumerate(retries, 1)] == [True, True], retries
    assert [log.status for log in api.log] == [429, 429, 200, 200]
    assert_the_result(result_file, "prd")


def retry_time(resets_at: int, tz: str) -> str:
    """The reset as codex prints it (`format_retry_timestamp`): local time, 12-hour clock;
    with the date when it is not today."""
    zone = ZoneInfo(tz)
    at, now = datetime.fromtimestamp(resets_at, zone), datetime.now(zone)
    clock = f"{at.hour % 12 or 12}:{at:%M} {'AM' if at.hour < 12 else 'PM'}"
    if at.date() == now.date():
        return clock
    day = at.day
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{at:%b} {day}{suffix}, {at.year} {clock}"


@pytest.mark.parametrize(("plan", "reset_in", "tz"), [
    ("plus", 3600, "UTC"), ("pro", 266400, "UTC"), ("team", 600, "UTC"), ("free", 7200, "UTC"),
    ("plus", None, "UTC"), ("plus", 3600, "America/New_York"),
], ids=["plus", "pro-days", "team", "free", "no-reset", "plus-new-york"])
def test_a_usage_limit_prints_the_captured_message_and_exits_1(
        tmp_path: Path, plan: str, reset_in: int | None, tz: str) -> None:
    # A reset on a whole minute: the printed minute is the same whether codex rounds or not.
    resets_at = (int(time.time()) + (reset_in or 0)) // 60 * 60
    limit = usage_limit(plan, resets_at, reset=reset_in is not None)
    project, prompt, _, result_file = phase_project(tmp_path / "p", "prd")
    with FakeResponsesApi(lambda request: limit, lifetime_s=60) as api:
        ran = run_codex(api, tmp_path, project.root, prompt, tz=tz)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert ran.shape() == CAPTURED_LIMIT
    captured, captured_time = CAPTURED_LIMIT_TEXT[plan, reset_in]
    printed = "later" if reset_in is None else retry_time(resets_at, tz)
    expected = captured.replace(f" {captured_time}.", f" {printed}.")
    error, failed = ran.events[2], ran.events[3]
    assert error["message"] == expected
    assert failed["error"]["message"] == expected
    assert expected.startswith(YOUVE)
    if reset_in in (600, 3600, 7200) and printed.count(" ") == 1:  # today: "H:MM AM"
        assert re.fullmatch(YOUVE + r" hit your usage limit\. .* try again at \d{1,2}:\d\d "
                            r"[AP]M\.", error["message"])
    assert ran.stderr == QUIET_STDERR
    assert len(api.log) == 1  # no retry
    assert not result_file.exists()
    assert ran.seconds < 10
