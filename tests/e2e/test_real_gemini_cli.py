"""The REAL Google Gemini CLI against a stand-in for the Gemini API (tests/fake_gemini_api.py).

The CLI (npm `@google/gemini-cli`, pinned 0.61.0 in .ci/run) is found via
`ORCHESTRATE_TEST_GEMINI`, else `.ci/node_modules/.bin/gemini` in this repo, else
`gemini` on PATH; without one every test here is skipped, saying so. The API scripts
only the answers: every stream-json line, tool call and file below is the CLI's own
doing. Each run gets a clean environment (PATH and the stand-in's `cli_env`: HOME with
the settings.json the CLI needs, TMPDIR for its error reports, both in tmp_path), stdin
/dev/null, `--approval-mode yolo --skip-trust`, and a timeout.

What the runs must look like comes from captures of the same CLI against a stand-in
(0.61.0, `-p ... --output-format stream-json`, folders `phase` and `quota`):
CAPTURED_* below are copied from them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_helpers import make_project, ready
from fake_gemini_api import FakeGeminiApi, daily_quota, in_one_command, phase_brain
from fake_messages_api import document_text
from real_clis import find_cli

from app.engine.project import Project
from app.engine.prompts import build_prompt

GEMINI, WHY_NOT = find_cli("gemini")
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(GEMINI is None, reason=WHY_NOT)]

# The captures -------------------------------------------------------------------------------

TOOL = ["tool_use", "tool_result"]
CAPTURED_PHASE = ["init", "message user", "message assistant", *TOOL, "message assistant",
                  "result success"]
"""`phase`: a text and one write_file call, then a text; exit 0."""
CAPTURED_PHASE_STATS = {
    "total_tokens": 3912, "input_tokens": 3600, "output_tokens": 240, "cached": 900,
    "input": 2700, "tool_calls": 1, "models": {
        "gemini-3.5-flash-lite": {"total_tokens": 1304, "input_tokens": 1200,
                                  "output_tokens": 80, "cached": 300, "input": 900},
        "gemini-3.8-flash": {"total_tokens": 2608, "input_tokens": 2400,
                             "output_tokens": 160, "cached": 600, "input": 1800}}}
"""Its `result.stats` but for `duration_ms`: the router's request and two agent requests."""
CAPTURED_QUOTA = ["init", "message user", "result error"]
CAPTURED_QUOTA_ERROR = {"type": "unknown", "message": (
    "[API Error: You have exhausted your daily quota on this model.]\nPlease wait and try "
    "again later. To increase your limits, request a quota increase through AI Studio, or "
    "switch to another /auth method")}
CAPTURED_QUOTA_STATS = {
    "total_tokens": 1304, "input_tokens": 1200, "output_tokens": 80, "cached": 300,
    "input": 900, "duration_ms": 0, "tool_calls": 0, "models": {
        "gemini-3.5-flash-lite": {"total_tokens": 1304, "input_tokens": 1200,
                                  "output_tokens": 80, "cached": 300, "input": 900},
        "gemini-3.8-flash": {"total_tokens": 0, "input_tokens": 0, "output_tokens": 0,
                             "cached": 0, "input": 0}}}
"""`quota`: 429 RESOURCE_EXHAUSTED, QuotaFailure ...PerDay..., RetryInfo 43s; exit 173."""


@pytest.fixture(autouse=True)
def _timed(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test's wall time, in the report's captured output."""
    started = time.monotonic()
    yield
    print(f"{request.node.name}: {time.monotonic() - started:.1f} s with {GEMINI}")


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
        """Each line's type, with the role of a message and the status of a result."""
        return [" ".join([e["type"], *([e["role"]] if e["type"] == "message" else []),
                          *([e["status"]] if e["type"] == "result" else [])])
                for e in self.events]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]


def run_gemini(api: FakeGeminiApi, tmp_path: Path, cwd: Path, prompt: str,
               timeout: float = 40) -> Ran:
    """`gemini -p PROMPT --output-format stream-json` as orchestrate would run it, in a
    session of its own (killed by its group id if it outlives `timeout`)."""
    assert GEMINI is not None
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           **api.cli_env(tmp_path / "home", tmp_path / "gemini-tmp")}
    argv = [GEMINI, "-p", prompt, "--output-format", "stream-json", *api.cli_args()]
    started = time.monotonic()
    with subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          encoding="utf-8", start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            pytest.fail(f"gemini still ran after {timeout} s:\n{out}\n{err}")
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


def assert_the_requests(api: FakeGeminiApi, cwd: Path, prompt: str, agent: int) -> None:
    """The router's side request first, then `agent` agent requests, all with the key."""
    assert [(log.model, log.agent, log.status) for log in api.log] == [
        ("gemini-3.5-flash-lite", False, 200), *[("gemini-3.8-flash", True, 200)] * agent]
    requests = api.agent_requests()
    assert all(r.cwd == cwd and r.prompt() == prompt for r in requests)
    assert all("write_file" in r.tools and "run_shell_command" in r.tools for r in requests)
    assert {r.headers["x-goog-api-key"] for r in api.requests} == {"fake-key-for-tests"}


# The tests ----------------------------------------------------------------------------------


def test_a_phase_in_one_command_is_exactly_the_captured_phase(tmp_path: Path) -> None:
    project, prompt, change, result_file = phase_project(tmp_path / "p", "prd")
    with FakeGeminiApi(phase_brain(in_one_command()), lifetime_s=60) as api:
        ran = run_gemini(api, tmp_path, project.root, prompt)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.shape() == CAPTURED_PHASE
    assert (change / "PRD.md").read_text(encoding="utf-8") == document_text("WRK-001", "prd")
    assert_the_result(result_file, "prd")
    [use] = ran.of_type("tool_use")
    assert use["tool_name"] == "run_shell_command"
    assert str(result_file) in use["parameters"]["command"]
    [result] = ran.of_type("tool_result")
    assert (result["tool_id"], result["status"]) == (use["tool_id"], "success")
    stats = dict(ran.events[-1]["stats"])
    assert stats.pop("duration_ms") >= 0
    assert stats == CAPTURED_PHASE_STATS
    assert ran.events[0]["model"] == "auto" and ran.events[1]["content"] == prompt
    assert_the_requests(api, project.root, prompt, agent=2)


def test_a_phase_with_write_file_writes_both_files(tmp_path: Path) -> None:
    # phase_brain's default: write_file for the document, then for the result file (as
    # claude's Write): the captured shape with its tool_use/tool_result pair once a file.
    project, prompt, change, result_file = phase_project(tmp_path / "p", "prd")
    with FakeGeminiApi(phase_brain(), lifetime_s=60) as api:
        ran = run_gemini(api, tmp_path, project.root, prompt)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.shape() == [*CAPTURED_PHASE[:3], *TOOL, *TOOL, *CAPTURED_PHASE[-2:]]
    assert (change / "PRD.md").read_text(encoding="utf-8") == document_text("WRK-001", "prd")
    assert_the_result(result_file, "prd")
    uses = ran.of_type("tool_use")
    assert [(u["tool_name"], u["parameters"]["file_path"]) for u in uses] == [
        ("write_file", str(change / "PRD.md")), ("write_file", str(result_file))]
    assert [r["status"] for r in ran.of_type("tool_result")] == ["success", "success"]
    assert ran.events[-1]["stats"]["tool_calls"] == 2
    assert_the_requests(api, project.root, prompt, agent=3)


def test_the_build_phase_reads_spec_md_then_ticks_every_task(tmp_path: Path) -> None:
    project, prompt, change, result_file = phase_project(tmp_path / "p", "build")
    change.mkdir(parents=True)
    (change / "SPEC.md").write_text(document_text("WRK-001", "spec"), encoding="utf-8")
    with FakeGeminiApi(phase_brain(), lifetime_s=60) as api:
        ran = run_gemini(api, tmp_path, project.root, prompt)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert [u["tool_name"] for u in ran.of_type("tool_use")] == [
        "read_file", "write_file", "write_file"]
    assert (change / "SPEC.md").read_text(encoding="utf-8") == document_text(
        "WRK-001", "spec").replace("- [ ]", "- [x]")
    assert_the_result(result_file, "build")
    # What the CLI gave the model back for the read (stdout shows no file contents).
    [read] = [r for r in api.agent_requests()[1].tool_results() if r.name == "read_file"]
    assert read.output == document_text("WRK-001", "spec")


def test_a_daily_quota_prints_the_captured_error_and_exits_173(tmp_path: Path) -> None:
    project, prompt, _, result_file = phase_project(tmp_path / "p", "prd")
    quota = daily_quota()
    with FakeGeminiApi(lambda request: quota, lifetime_s=60) as api:
        ran = run_gemini(api, tmp_path, project.root, prompt)
    assert ran.returncode == 173, ran.stdout + ran.stderr
    assert ran.shape() == CAPTURED_QUOTA
    result = ran.events[-1]
    assert result["error"] == CAPTURED_QUOTA_ERROR
    assert result["stats"] == CAPTURED_QUOTA_STATS
    # No retry: the router's request and one agent request.
    assert [(log.agent, log.status) for log in api.log] == [(False, 200), (True, 429)]
    assert "TerminalQuotaError: You have exhausted your daily quota on this model." in (
        ran.stderr)
    # The CLI's error report goes to our TMPDIR, not /tmp.
    reports = list((tmp_path / "gemini-tmp").glob("gemini-client-error-*.json"))
    assert len(reports) == 1 and str(reports[0]) in ran.stderr
    assert not result_file.exists()
