"""Values the command line refuses as usage errors (exit 2) before anything is read or
written: numbers orchestrate.toml (or common sense) refuses, and `--depends-on` without
ids, which once cleared every dependency without a word. `edit --clear-deps` is the
explicit way to depend on nothing, and `undo` takes it back."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import pytest
from test_cli_edit_move_undo import BACKLOG, history
from test_cli_groom import project, run

from app.cli.completion import candidates
from app.cli.parser import DOLLARS, build_parser
from app.engine.config import parse_config
from app.errors import ConfigError


def assert_usage_error(result: subprocess.CompletedProcess[str], command: str,
                       message: str) -> None:
    """Exit 2, argparse's usage and one `orchestrate COMMAND: error: ...` line, no traceback."""
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"usage: orchestrate {command} "), result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last == f"orchestrate {command}: error: {message}", last
    assert result.stdout == ""


# --- numbers ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "message"), [
    (["run", "--cap", "-1"], "argument --cap: must be a whole number of attempts, 0 or more, "
                             "not '-1'"),
    (["run", "--cap", "1.5"], "argument --cap: must be a whole number of attempts, 0 or more, "
                              "not '1.5'"),
    (["run", "--max-cost", "-1"], "argument --max-cost: must be a number of dollars, 0 or "
                                  "more, not '-1'"),
    (["run", "--max-cost", "nan"], "argument --max-cost: must be a number of dollars, 0 or "
                                   "more, not 'nan'"),
    (["run", "--detach", "--max-cost", "five"], "argument --max-cost: must be a number of "
                                                "dollars, 0 or more, not 'five'"),
    (["serve", "--port", "65536"], "argument --port: must be a port from 0 to 65535 (0: any "
                                   "free one), not '65536'"),
    (["serve", "--port", "-1"], "argument --port: must be a port from 0 to 65535 (0: any free "
                                "one), not '-1'"),
])
def test_numbers_out_of_range_are_usage_errors(tmp_path: Path, args: list[str],
                                               message: str) -> None:
    path = project(tmp_path, BACKLOG)
    assert_usage_error(run(tmp_path, *args), args[0], message)
    assert path.read_bytes() == BACKLOG.encode()
    assert not (tmp_path / ".orchestrator").exists()  # no lock, no log, no history


@pytest.mark.parametrize("speed", ["0", "-2", "nan", "inf"])
def test_demo_speed_must_be_a_positive_number(tmp_path: Path, speed: str) -> None:
    demo = tmp_path / "demo"
    assert_usage_error(run(tmp_path, "demo", "--headless", "--dir", str(demo), "--speed", speed),
                       "demo", f"argument --speed: must be a positive number, like 1 or 4, "
                               f"not {speed!r}")
    assert not demo.exists()


def test_the_limits_themselves_are_accepted() -> None:
    parser = build_parser()
    assert parser.parse_args(["run", "--cap", "0"]).cap == 0
    assert parser.parse_args(["run", "--cap", "12"]).cap == 12
    assert parser.parse_args(["run", "--max-cost", "0"]).max_cost == 0
    assert parser.parse_args(["run", "--max-cost", "2.5"]).max_cost == 2.5
    assert parser.parse_args(["serve", "--port", "0"]).port == 0
    assert parser.parse_args(["serve", "--port", "65535"]).port == 65535
    assert parser.parse_args(["demo", "--speed", "0.5"]).speed == 0.5
    assert parser.parse_args(["serve"]).port == 8000  # the defaults are untouched
    assert parser.parse_args(["demo"]).speed == 1.0


@pytest.mark.parametrize("text", ["-1", "-0.01", "0", "0.5", "20", "1e3", "inf", "nan"])
def test_max_cost_takes_what_run_max_cost_usd_takes(text: str) -> None:
    """`--max-cost X` is accepted exactly when `[run] max_cost_usd = X` is."""
    try:
        parse_config({"run": {"max_cost_usd": float(text)}})
        toml_takes = True
    except ConfigError:
        toml_takes = False
    try:
        cli = DOLLARS(text)
        cli_takes = True
    except argparse.ArgumentTypeError:
        cli_takes = False
    assert cli_takes == toml_takes
    if cli_takes:
        assert cli == float(text)


# --- --depends-on without ids, --clear-deps -----------------------------------------------------
EDIT_NEEDS_IDS = "argument --depends-on: give the ids it depends on, or use --clear-deps to " \
                 "depend on nothing"


@pytest.mark.parametrize("ids", [[], [""], [","], [" ", ", "]])
def test_edit_depends_on_without_ids_is_refused_not_a_clear(tmp_path: Path,
                                                             ids: list[str]) -> None:
    path = project(tmp_path, BACKLOG)  # WRK-002 depends on WRK-001
    assert_usage_error(run(tmp_path, "edit", "WRK-002", "--depends-on", *ids), "edit",
                       EDIT_NEEDS_IDS)
    # With other options after it, as the help once advertised: refused all the same.
    assert_usage_error(run(tmp_path, "edit", "WRK-002", "--depends-on", *ids, "--notes", "x"),
                       "edit", EDIT_NEEDS_IDS)
    assert path.read_bytes() == BACKLOG.encode()
    assert not (tmp_path / ".orchestrator" / "history.jsonl").exists()


def test_depends_on_and_clear_deps_together_are_refused(tmp_path: Path) -> None:
    path = project(tmp_path, BACKLOG)
    assert_usage_error(run(tmp_path, "edit", "WRK-002", "--depends-on", "WRK-001",
                           "--clear-deps"),
                       "edit", "argument --clear-deps: not allowed with argument --depends-on")
    assert_usage_error(run(tmp_path, "edit", "WRK-002", "--clear-deps", "--depends-on",
                           "WRK-001"),
                       "edit", "argument --depends-on: not allowed with argument --clear-deps")
    assert path.read_bytes() == BACKLOG.encode()


@pytest.mark.parametrize("ids", [[], [""]])
def test_add_depends_on_without_ids_is_refused(tmp_path: Path, ids: list[str]) -> None:
    path = project(tmp_path, BACKLOG)
    assert_usage_error(run(tmp_path, "add", "Reports", "--depends-on", *ids), "add",
                       "argument --depends-on: give the ids it depends on, or leave "
                       "--depends-on out")
    assert path.read_bytes() == BACKLOG.encode()
    assert run(tmp_path, "add", "Reports").stdout.strip() == "WRK-005 added: Reports"


def test_clear_deps_clears_them_and_undo_brings_them_back(tmp_path: Path) -> None:
    path = project(tmp_path, BACKLOG)
    r = run(tmp_path, "edit", "WRK-002", "--clear-deps")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "WRK-002 edited: depends_on"
    assert json.loads(run(tmp_path, "show", "WRK-002", "--json").stdout)["depends_on"] == []
    assert "    depends_on: []" in path.read_text()
    r = run(tmp_path, "undo")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "undid the edit of WRK-002: back to new (depends_on)"
    assert json.loads(run(tmp_path, "show", "WRK-002", "--json").stdout)["depends_on"] == [
        "WRK-001"]
    assert path.read_bytes() == BACKLOG.encode()
    assert [h["action"] for h in history(tmp_path)] == ["edit", "undo"]
    # Nothing to clear: said, and nothing written or recorded.
    r = run(tmp_path, "edit", "WRK-001", "--clear-deps")
    assert r.stdout.strip() == "WRK-001 unchanged: it already was as asked"
    assert path.read_bytes() == BACKLOG.encode()
    # With --add-dep: the new list is exactly the ones added.
    r = run(tmp_path, "edit", "WRK-004", "--add-dep", "WRK-001", "--add-dep", "WRK-002")
    assert r.returncode == 0, r.stderr
    r = run(tmp_path, "edit", "WRK-004", "--clear-deps", "--add-dep", "WRK-003", "--json")
    assert json.loads(r.stdout)["depends_on"] == ["WRK-003"]


def test_completion_offers_clear_deps(tmp_path: Path) -> None:
    (tmp_path / "BACKLOG.yaml").write_text(BACKLOG, encoding="utf-8")
    parser = build_parser()
    assert candidates(["orchestrate", "edit", "WRK-002", "--cl"], 3, parser) == ["--clear-deps"]
    words = ["orchestrate", "-C", str(tmp_path), "edit", "WRK-002", "--depends-on", ""]
    assert candidates(words, 6, parser) == ["WRK-001", "WRK-002", "WRK-003", "WRK-004"]
    assert "--clear-deps" not in candidates(["orchestrate", "add", "t", "--"], 3, parser)
