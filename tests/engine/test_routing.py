"""The router alone: which agent of a phase's chain an attempt goes to, by quota and free
slots; limits remembered across runs (limits.json), joined by lanes meeting the same one,
guessed waits that grow. The runs that use it are tests/engine/test_routing_runs.py."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from app.engine.config import parse_config
from app.engine.executor import UsageLimit
from app.engine.limits import Pause
from app.engine.routing import NoRoute, Router, load_limits, save_limits

NOW = 1_800_000_000.0


def router(tmp_path: Path, **agents: dict[str, object]) -> Router:
    config = parse_config({
        "agents": {name: {"kind": "claude", **body} for name, body in agents.items()},
        "run": {"fallback": ["default", *agents]},
        "limits": {"resume_margin_s": 60, "retry_interval_s": 300,
                   "retry_interval_max_s": 3600},
    })
    return Router(config, tmp_path / "limits.json")


def test_an_attempt_goes_to_the_first_agent_of_its_chain(tmp_path: Path) -> None:
    routes = router(tmp_path, b={})
    assert routes.take("prd", NOW) == "default"
    assert routes.take("prd", NOW) == "default"  # no max_parallel: no cap of its own


def test_a_limited_agent_is_passed_over_until_its_reset_plus_the_margin(tmp_path: Path) -> None:
    routes = router(tmp_path, b={})
    pause, news = routes.limit("default", UsageLimit("You've hit your limit", NOW + 600), NOW)
    assert news and pause.resumes_at == NOW + 660 and pause.resets_at == NOW + 600
    assert routes.take("build", NOW + 1) == "b"
    assert routes.take("build", NOW + 659) == "b"
    assert routes.take("build", NOW + 661) == "default"


def test_every_agent_limited_names_the_one_that_resets_first(tmp_path: Path) -> None:
    routes = router(tmp_path, b={})
    routes.limit("default", UsageLimit("a", NOW + 900), NOW)
    routes.limit("b", UsageLimit("b", NOW + 300), NOW)
    route = routes.take("review", NOW + 1)
    assert isinstance(route, NoRoute) and not route.full
    assert route.earliest is not None and route.earliest[0] == "b"
    assert [name for name, _ in routes.limited(("default", "b"), NOW + 1)] == ["default", "b"]


def test_an_agent_with_no_free_slot_is_passed_over_and_its_slot_comes_back(
        tmp_path: Path) -> None:
    routes = router(tmp_path, b={"max_parallel": 1})
    routes.limit("default", UsageLimit("a", NOW + 900), NOW)
    assert routes.take("prd", NOW) == "b"
    route = routes.take("prd", NOW)
    assert isinstance(route, NoRoute) and route.full == ("b",) and route.earliest is None
    freed = threading.Timer(0.2, routes.give_back, ("b",))
    freed.start()
    started = time.monotonic()
    routes.wait_for_slot(5)  # woken by the give_back, not by the timeout
    assert time.monotonic() - started < 4
    assert routes.take("prd", NOW) == "b"


def test_a_second_lane_meeting_the_same_limit_joins_it(tmp_path: Path) -> None:
    routes = router(tmp_path)
    first, news = routes.limit("default", UsageLimit("limit", None), NOW)
    assert news and not first.known_reset and first.resumes_at == NOW + 300
    again, news = routes.limit("default", UsageLimit("limit", None), NOW + 5)
    assert not news and again == first  # the guessed wait did not grow for the second lane


def test_a_guessed_wait_doubles_with_each_limit_in_a_row_and_starts_over_after_none(
        tmp_path: Path) -> None:
    routes = router(tmp_path)
    waits = []
    at = NOW
    for _ in range(3):
        pause, _ = routes.limit("default", UsageLimit("limit", None), at)
        waits.append(pause.resumes_at - at)
        at = pause.resumes_at + 1
    assert waits == [300, 600, 1200]
    routes.met_none("default")
    pause, _ = routes.limit("default", UsageLimit("limit", None), at)
    assert pause.resumes_at - at == 300


def test_limits_are_kept_for_the_next_run_and_forgotten_once_one_attempt_passes(
        tmp_path: Path) -> None:
    routes = router(tmp_path, b={})
    routes.limit("b", UsageLimit("You've hit your limit", NOW + 600), NOW)
    kept = json.loads((tmp_path / "limits.json").read_text())
    assert kept["b"]["resumes_at"] == NOW + 660 and kept["b"]["reason"].startswith("You've")
    later = router(tmp_path, b={})  # the next run
    ((name, pause),) = later.limited(("default", "b"), NOW + 1)
    assert (name, pause.resumes_at) == ("b", NOW + 660)
    assert later.take("prd", NOW + 1) == "default"
    later.met_none("b")
    assert "b" not in json.loads((tmp_path / "limits.json").read_text())


def test_a_torn_or_foreign_limits_file_is_read_as_no_limits(tmp_path: Path) -> None:
    path = tmp_path / "limits.json"
    path.write_text('{"default": {"resumes_at": ')
    assert load_limits(path) == {}
    path.write_text('{"default": {"reason": "no time"}, "b": {"resumes_at": 5, "reason": "x"}}')
    assert load_limits(path) == {"b": Pause(5.0, "x", True)}
    save_limits(path, {"c": Pause(7.0, "y", False, None)})
    assert load_limits(path) == {"c": Pause(7.0, "y", False, None)}


def test_an_agent_no_longer_named_is_not_remembered(tmp_path: Path) -> None:
    save_limits(tmp_path / "limits.json", {"gone": Pause(NOW + 900, "x", True)})
    assert router(tmp_path, b={}).limited(("gone",), NOW) == []


def test_a_phase_of_its_own_agent_falls_back_along_the_run_s_chain(tmp_path: Path) -> None:
    config = parse_config({"agents": {"codex": {"kind": "codex"}, "b": {}},
                           "phases": {"review": "codex"}, "triage": {"agent": "b"},
                           "run": {"fallback": ["default", "b"]}})
    assert config.chain("review") == ("codex", "default", "b")
    assert config.chain("build") == ("default", "b")
    assert config.chain("triage") == ("b", "default")
    routes = Router(config, tmp_path / "limits.json")
    routes.limit("codex", UsageLimit("x", NOW + 100), NOW)
    assert routes.take("review", NOW) == "default"
