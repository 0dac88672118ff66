"""Usage limits recognised in what Claude Code really prints (../shared/samples), and
reset times read from the texts other versions print."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import REPO

from app.engine.limits import LimitDetector, limit_in_text, reset_from_text

SAMPLES = REPO.parent / "shared" / "samples" / "claude-2.1.197"
NOW = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)


def detect(path: Path) -> LimitDetector:
    detector = LimitDetector(now=NOW)
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            detector.feed(json.loads(line))
    return detector


needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(),
                                   reason=f"the real CLI's samples are not at {SAMPLES}")


@needs_samples
def test_the_real_subscription_limit_is_a_limit_with_the_events_reset_time() -> None:
    limit = detect(SAMPLES / "usage-limit-subscription.jsonl").limit
    assert limit is not None
    assert limit.resets_at == 1796076229.0  # resetsAt of the rate_limit_event, not the text
    assert limit.kind == "five_hour"
    assert limit.message == "You've hit your limit · resets 10:03pm (UTC)"


@needs_samples
@pytest.mark.parametrize("sample", ["limit-warning-subscription", "credit-too-low",
                                    "max-turns", "max-budget", "no-network-api-retry",
                                    "tools-thinking-errors", "subagent", "permission-denied",
                                    "compact"])
def test_no_other_real_sample_is_a_limit(sample: str) -> None:
    assert detect(SAMPLES / f"{sample}.jsonl").limit is None


def test_an_allowed_warning_is_a_notice_never_a_stop() -> None:
    detector = LimitDetector(now=NOW)
    detector.feed({"type": "rate_limit_event", "rate_limit_info": {
        "status": "allowed_warning", "resetsAt": 1796072632, "rateLimitType": "five_hour",
        "utilization": 0.93}})
    assert detector.limit is None
    assert detector.notices == ["five-hour limit nearly reached (93% used)"]


def test_a_429_result_alone_is_a_limit_and_its_text_gives_the_reset() -> None:
    detector = LimitDetector(now=NOW)
    detector.feed({"type": "result", "is_error": True, "api_error_status": 429,
                   "result": "You've hit your limit · resets 10:15pm (UTC)"})
    limit = detector.limit
    assert limit is not None
    assert limit.resets_at == datetime(2026, 11, 30, 22, 15, tzinfo=UTC).timestamp()


def test_an_assistant_line_with_error_rate_limit_is_a_limit() -> None:
    detector = LimitDetector(now=NOW)
    detector.feed({"type": "assistant", "error": "rate_limit", "message": {
        "model": "<synthetic>", "content": [{"type": "text", "text": "You've hit your limit"}]}})
    assert detector.limit is not None and detector.limit.resets_at is None


def test_the_agents_own_words_about_rate_limits_are_not_a_limit() -> None:
    detector = LimitDetector(now=NOW)
    detector.feed({"type": "assistant", "message": {"model": "claude-sonnet-5", "content": [
        {"type": "text", "text": "You've hit your limit of patience with rate limits; "
                                 "usage limit reached in the tests, I fixed it."}]}})
    detector.feed({"type": "result", "is_error": False,
                   "result": "Added rate limiting: usage limit reached returns 429"})
    assert detector.limit is None


def test_credit_balance_too_low_with_a_429_is_not_a_limit() -> None:
    detector = LimitDetector(now=NOW)
    detector.feed({"type": "result", "is_error": True, "api_error_status": 429,
                   "result": "Credit balance is too low"})
    assert detector.limit is None


@pytest.mark.parametrize("text", [
    "You've hit your limit · resets 8:12pm (UTC)",
    "You've hit your session limit",
    "You\u2019ve hit your weekly limit",
    "Claude AI usage limit reached|1796069524",
    "5-hour limit reached \u2219 resets 5am",
    "You've hit your org's monthly spend limit",
])
def test_every_known_limit_text_is_recognised(text: str) -> None:
    assert limit_in_text(text, NOW) is not None


@pytest.mark.parametrize("text", ["Credit balance is too low", "Unable to connect to API",
                                  "Reached maximum number of turns (2)", ""])
def test_other_error_texts_are_not_limits(text: str) -> None:
    assert limit_in_text(text, NOW) is None


def test_reset_times_in_texts() -> None:
    assert reset_from_text("Claude AI usage limit reached|1796069524", NOW) == 1796069524.0
    # Later today in the named zone, else tomorrow.
    assert reset_from_text("resets 10:03pm (UTC)", NOW) == \
        datetime(2026, 11, 30, 22, 3, tzinfo=UTC).timestamp()
    assert reset_from_text("resets 8:12pm (UTC)", NOW) == \
        datetime(2026, 12, 1, 20, 12, tzinfo=UTC).timestamp()
    berlin = ZoneInfo("Europe/Berlin")
    # NOW is 22:00 in Berlin: 11pm is still today there, 9pm is tomorrow.
    assert reset_from_text("resets 11pm (Europe/Berlin)", NOW) == \
        datetime(2026, 11, 30, 23, 0, tzinfo=berlin).timestamp()
    assert reset_from_text("resets 9pm (Europe/Berlin)", NOW) == \
        datetime(2026, 12, 1, 21, 0, tzinfo=berlin).timestamp()
    # No zone: the machine's own (given here).
    assert reset_from_text("resets 5am", NOW, local=UTC) == \
        datetime(2026, 12, 1, 5, 0, tzinfo=UTC).timestamp()
    assert reset_from_text("resets at 12am (UTC)", NOW) == \
        datetime(2026, 12, 1, 0, 0, tzinfo=UTC).timestamp()
    assert reset_from_text("You've hit your session limit", NOW) is None
    assert reset_from_text("resets 9pm (Mars/Olympus)", NOW) is None  # unknown zone
