"""`orchestrate run` and `orchestrate triage` as a person runs them: real processes, real
output, exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_helpers import make_project, orchestrate, ready

pytestmark = pytest.mark.e2e


def _run(project, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    proc = orchestrate(project, *args)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def test_plain_output_shows_each_phase_and_a_summary(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()])
    code, out, err = _run(project, "run")
    assert code == 0, err
    for phase in ("prd", "research", "design", "spec", "build", "review"):
        assert f"▶ WRK-001 {phase} #1" in out
        assert f"✓ WRK-001 {phase} #1: complete" in out
    assert "WRK-001 → done" in out
    assert "Starting the prd phase for WRK-001." in out  # the agent's own words
    assert out.rstrip().splitlines()[-1].startswith("run finished: no more work (6 attempts")


def test_quiet_prints_only_the_summary(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()])
    code, out, _ = _run(project, "run", "--quiet", "--cap", "2")
    assert code == 0
    assert out.splitlines() == ["run finished: cap reached (2 attempts) (2 attempts, $0.0400)"]


def test_json_events_are_one_object_per_line_with_a_type(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"prd": "huge_line"})
    code, out, _ = _run(project, "run", "--json-events", "--cap", "1")
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    types = [e["type"] for e in events]
    assert types[0] == "RunStarted" and types[-1] == "RunFinished"
    assert {"PhaseStarted", "AgentOutput", "PhaseFinished", "ItemChanged"} <= set(types)
    lines = [line for e in events if e["type"] == "AgentOutput" for line in e["lines"]]
    assert all(set(line) == {"kind", "text"} for line in lines)
    assert max(len(line["text"]) for line in lines) <= 400  # the 300 KB line is cut


def test_missing_claude_stops_with_one_message_and_exit_4(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready(), ready(title="Other")],
                           command=["claude-missing-for-test", "-p", "{prompt}"])
    code, _out, err = _run(project, "run")
    assert code == 4
    assert err.count("npm install -g @anthropic-ai/claude-code") == 1
    assert "orchestrate: run stopped: agent command not found: 'claude-missing-for-test'" \
        in err
    assert project.store().load().get("WRK-001").status == "ready"


def test_not_logged_in_stops_the_run_with_the_agents_words(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"default": "not_logged_in"})
    code, _, err = _run(project, "run", "--quiet")
    assert code == 4
    assert "Not logged in · Please run /login" in err


def test_triage_cli_assesses_new_items(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [{"title": "Idea"}, {"title": "Another"}])
    code, out, _ = _run(project, "triage")
    assert code == 0
    assert "WRK-001 → ready" in out and "WRK-002 → ready" in out
    assert out.rstrip().splitlines()[-1].startswith("triage finished")


def test_nothing_to_do_is_not_an_error(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [{"title": "Only an idea"}])
    code, out, _ = _run(project, "run")
    assert code == 0 and "run finished: no more work (0 attempts" in out


def test_json_events_still_say_an_every_item_failure_once_on_stderr(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"default": "rate_limited"})
    code, out, err = _run(project, "run", "--json-events")
    assert code == 4
    assert err.count("usage/rate limit") == 1
    final = json.loads(out.splitlines()[-1])
    assert final["type"] == "RunFinished" and final["exit_code"] == 4


def test_on_a_terminal_the_live_status_line_runs_and_clears(tmp_path: Path) -> None:
    import os
    import pty

    project = make_project(tmp_path / "p", [ready()],
                           script={"default": {"mode": "slow", "lines": 2}})
    pid, fd = pty.fork()
    if pid == 0:  # the child: orchestrate on a terminal
        os.execv(sys.executable, [sys.executable, "-m", "app", "-C", str(project.root), "run",
                                  "--cap", "2"])
    output = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal closed: the child is gone
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = output.decode("utf-8", errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "⏵ WRK-001 prd #1" in text  # the live status line with item, phase, attempt
    assert "slow line" in text  # and the agent's latest line
    assert "run finished: cap reached (2 attempts)" in text


def test_an_unknown_target_is_an_error_said_once(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()])
    code, out, err = _run(project, "run", "--target", "WRK-009")
    assert code == 1
    assert err.count("no item 'WRK-009'") == 1 and "no item" not in out
    assert project.store().load().get("WRK-001").status == "ready"


def test_a_reader_that_goes_away_does_not_break_the_run(tmp_path: Path) -> None:
    import subprocess

    project = make_project(tmp_path / "p", [ready()])
    proc = subprocess.Popen([sys.executable, "-m", "app", "-C", str(project.root), "run",
                             "--json-events"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert json.loads(proc.stdout.readline())["type"] == "RunStarted"
    proc.stdout.close()  # like `orchestrate run --json-events | head -1`
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err
    assert project.store().load().get("WRK-001").status == "done"
