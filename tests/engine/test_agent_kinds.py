"""Each agent kind read from what its real CLI printed (../shared/samples): a process
replays a capture (its stdout, its stderr, its exit code) and the kind's reader says what
the attempt spent, whether the CLI failed, a usage limit and its reset, why no answer came.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import REPO

from app.engine import agents
from app.engine.agent_process import AgentProcess, AttemptSpec
from app.engine.agents.codex import reset_of
from app.engine.attempts import global_failure
from app.engine.outcome import ProcessOutcome
from app.engine.pricing import Price
from app.engine.streamjson import describe_lines

SAMPLES = REPO.parent / "shared" / "samples"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(),
                                   reason=f"the real CLIs' samples are not at {SAMPLES}")
REPLAY = ("import sys, pathlib; d = pathlib.Path(sys.argv[1]); "
          "sys.stderr.write((d / 'stderr.txt').read_text()); sys.stderr.flush(); "
          "sys.stdout.write((d / 'stdout.jsonl').read_text()); sys.stdout.flush(); "
          "sys.exit(int((d / 'exit_code.txt').read_text()))")


def replay(tmp_path: Path, kind: str, folder: str, price: Price | None = None,
           idle_timeout_s: float | None = None) -> ProcessOutcome:
    """The capture `folder` of `kind`'s CLI, printed by a real process, read by the kind's
    reader as an attempt reads it."""
    where = SAMPLES / {"codex": "codex-0.169.0", "gemini": "gemini-0.61.0",
                       "opencode": "opencode-1.18.33"}[kind] / folder
    spec = AttemptSpec(command=(sys.executable, "-c", REPLAY, str(where), "{prompt}"),
                       prompt="p", cwd=tmp_path, item_id="WRK-001", phase="prd", attempt=1,
                       change_dir="changes/x", result_path=tmp_path / "r" / "x.json",
                       log_path=tmp_path / "l" / "x.log", timeout_s=20, kill_grace_s=0.5,
                       reader=agents.kind(kind).reader, price=price,
                       idle_timeout_s=idle_timeout_s)
    return AgentProcess(spec).run()


@needs_samples
def test_codex_phase_tokens_are_priced_at_the_agents_price(tmp_path: Path) -> None:
    out = replay(tmp_path, "codex", "phase", price=Price(1.25, 10, 0.125))
    assert out.exit_code == 0 and not out.agent_failed and out.limit is None
    total = out.usage.total()
    assert (total.input, total.cache_read, total.output) == (2000, 400, 160)
    assert out.cost_usd == pytest.approx((2000 * 1.25 + 400 * 0.125 + 160 * 10) / 1e6)
    assert out.cost_estimated and out.num_turns == 1


@needs_samples
@pytest.mark.parametrize(("folder", "printed"), [
    ("usagelimit", "3:06 AM"), ("usagelimit-pro-days", "Dec 10th, 2026 4:06 AM"),
    ("usagelimit-noreset", None)])
def test_a_codex_usage_limit_is_a_limit_with_the_reset_it_printed(
        tmp_path: Path, folder: str, printed: str | None) -> None:
    out = replay(tmp_path, "codex", folder)
    assert out.exit_code == 1 and out.limit is not None
    assert out.limit.message.startswith("You\u2019ve hit your usage limit.")
    if printed is None:
        assert out.limit.resets_at is None
    else:
        assert out.limit.resets_at is not None
        assert printed in out.limit.message


def test_codexs_reset_words_are_its_local_time() -> None:
    zone = ZoneInfo("America/New_York")
    now = datetime(2026, 12, 7, 21, 0, tzinfo=zone)
    assert reset_of("try again at 10:06 PM.", now) == datetime(
        2026, 12, 7, 22, 6, tzinfo=zone).timestamp()
    assert reset_of("try again at 2:16 AM.", now) == datetime(  # tomorrow
        2026, 12, 8, 2, 16, tzinfo=zone).timestamp()
    assert reset_of("try again at Dec 10th, 2026 4:06 AM.", now) == datetime(
        2026, 12, 10, 4, 6, tzinfo=zone).timestamp()
    assert reset_of("Please try again in 1.5s.", now) == now.timestamp() + 1.5
    assert reset_of("try again later.", now) is None
    # The minute it names has begun (a reset seconds away): the end of that minute, not
    # the same time tomorrow; an hour behind us is tomorrow's.
    assert reset_of("try again at 9:00 PM.", now.replace(second=40)) == now.timestamp() + 60
    assert reset_of("try again at 8:58 PM.", now) == now.timestamp() - 60
    assert reset_of("try again at 8:00 PM.", now) == datetime(
        2026, 12, 8, 20, 0, tzinfo=zone).timestamp()


@needs_samples
@pytest.mark.parametrize(("folder", "words"), [
    ("auth401", "the agent is not logged in (unexpected status 401 Unauthorized"),
    ("quota", "the account's credit balance is too low")])
def test_a_codex_failure_of_every_item_stops_the_run_with_what_to_do(
        tmp_path: Path, folder: str, words: str) -> None:
    out = replay(tmp_path, "codex", folder)
    assert out.agent_failed and out.limit is None
    failure = global_failure(out, "codex")
    assert failure is not None and failure.startswith(words)


@needs_samples
def test_a_codex_rate_limit_outlasting_its_retries_is_a_limit_without_a_reset(
        tmp_path: Path) -> None:
    out = replay(tmp_path, "codex", "ratelimit")
    assert out.limit is not None and out.limit.resets_at is None
    retries = [line for line in (tmp_path / "l" / "x.log").read_text().splitlines()
               for shown in describe_lines(line) if shown.kind == "retry"]
    assert len(retries) == 5  # "Reconnecting... N/5" are retries, shown as such


@needs_samples
def test_gemini_phase_tokens_and_its_model(tmp_path: Path) -> None:
    out = replay(tmp_path, "gemini", "phase")
    assert out.exit_code == 0 and not out.agent_failed and out.limit is None
    total = out.usage.total()
    assert (total.input, total.cache_read, total.output) == (2700, 900, 240)
    assert out.usage.model == "gemini-3.5-flash-lite"


@needs_samples
@pytest.mark.parametrize(("folder", "delay_s"), [("quota", 43.412),
                                                   ("quota-errorinfo", 3600.0)])
def test_a_gemini_quota_is_a_limit_whose_reset_only_stderr_names(
        tmp_path: Path, folder: str, delay_s: float) -> None:
    before = time.time()
    out = replay(tmp_path, "gemini", folder)
    assert out.exit_code == 173 and out.limit is not None  # 429 & 255
    assert out.limit.message.startswith("[API Error: ")
    assert out.limit.resets_at is not None
    assert before + delay_s - 1 <= out.limit.resets_at <= time.time() + delay_s


@needs_samples
@pytest.mark.parametrize(("folder", "words"), [
    ("auth400", "the agent is not logged in"),
    ("untrusted", "gemini will not work in a folder it does not trust"),
    ("no-settings", "the agent is not logged in (Invalid auth method selected.")])
def test_gemini_failures_of_every_item(tmp_path: Path, folder: str, words: str) -> None:
    out = replay(tmp_path, "gemini", folder)
    failure = global_failure(out, "gemini")
    assert failure is not None and failure.startswith(words), failure


@needs_samples
def test_opencode_steps_report_their_cost(tmp_path: Path) -> None:
    out = replay(tmp_path, "opencode", "phase")
    assert out.exit_code == 0 and not out.agent_failed
    assert out.cost_usd == pytest.approx(0.00852) and not out.cost_estimated
    assert out.num_turns == 2


@needs_samples
def test_an_opencode_write_outside_the_project_is_why_no_answer_came(tmp_path: Path) -> None:
    out = replay(tmp_path, "opencode", "external-dir-rejected")
    assert out.exit_code == 0
    assert out.failure_reason().startswith("the agent's permission mode denied "
                                           "external_directory /srv/scratch*")


@needs_samples
def test_an_opencode_429_is_a_limit(tmp_path: Path) -> None:
    out = replay(tmp_path, "opencode", "quota")
    assert out.exit_code == 1 and out.agent_failed
    assert out.limit is not None and "exceeded your current quota" in out.limit.message


def test_a_silent_gemini_that_named_a_quota_on_stderr_is_limited_when_the_watchdog_ends_it(
        tmp_path: Path) -> None:
    quiet = ("import sys, time; sys.stderr.write('Attempt 1 failed: You have exhausted your "
             "capacity on this model. Retrying after 3741051ms...\\n'); sys.stderr.flush(); "
             "time.sleep(30)")
    spec = AttemptSpec(command=(sys.executable, "-c", quiet, "{prompt}"), prompt="p",
                       cwd=tmp_path, item_id="WRK-001", phase="prd", attempt=1,
                       change_dir="changes/x", result_path=tmp_path / "x.json",
                       log_path=tmp_path / "x.log", timeout_s=20, kill_grace_s=0.5,
                       reader=agents.kind("gemini").reader, idle_timeout_s=1)
    started = time.monotonic()
    out = AgentProcess(spec).run()
    assert time.monotonic() - started < 10 and out.idle_out
    assert out.limit is not None and out.quota_said


def test_every_kind_has_a_preset_and_a_reader() -> None:
    from app.engine.config import PRESETS
    assert set(PRESETS) == set(agents.KINDS)
    assert all("{prompt}" in " ".join(command) for command in PRESETS.values())


def test_every_kinds_reader_is_importable_and_imported_only_when_asked() -> None:
    """A run imports the readers of the kinds it drives, not all of them."""
    code = ("import sys; from app.engine import agents; "
            "assert 'app.engine.agents.codex' not in sys.modules; "
            "r = agents.kind('codex').reader; "
            "assert r.__name__ == 'CodexReader' and 'app.engine.agents.codex' in sys.modules; "
            "assert 'app.engine.agents.gemini' not in sys.modules; "
            "print(sorted(k.reader.__name__ for k in agents.KINDS.values()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO)
    assert out.stdout.strip() == str(sorted(["ClaudeReader", "CodexReader", "GeminiReader",
                                             "OpenCodeReader", "ClaudeReader"]))
