"""Quality gates (`[gates.PHASE]`): a complete answer must also pass its phase's gates;
a failed gate is a failed attempt whose reason (the gate's word) the next prompt carries,
and the worklog records every gate's verdict. Real runs of the scripted agent, real gate
commands and process groups."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from conftest import stored_item
from engine_helpers import (
    Background,
    alive,
    make_project,
    ready,
    run_pipeline,
    wait_for,
    worklog_entries,
)

from app.engine.config import parse_config
from app.engine.gates import success_criteria, tail
from app.errors import ConfigError

pytestmark = pytest.mark.local_only  # agent processes of their own

NEEDS_FEATURE = [sys.executable, "-c",
                 "import os, sys\n"
                 "assert os.environ['ORCHESTRATE_PHASE'] == 'build'\n"
                 "if not os.path.exists('feature.txt'):\n"
                 "    print('collected 3 items'); print('FAILED test_feature: feature.txt "
                 "is missing'); sys.exit(1)\n"
                 "print('3 passed')"]


def test_success_criteria_are_the_list_items_under_their_heading_only() -> None:
    text = ("# PRD\n\n- not this one\n\n## Goals\n\n- nor this\n\n## Success Criteria:\n\n"
            "- one\n* two\n1. three\n   - four, nested\nplain text is none\n\n"
            "### Measured how\n\n- five, in a sub-section\n\n## Risks\n\n- not counted\n")
    assert success_criteria(text) == 5
    assert success_criteria("# PRD\n\n- a\n- b\n") == 0


def test_a_failed_commands_reason_keeps_its_last_lines() -> None:
    said = tail("\n".join(f"line {n}" for n in range(100)))
    assert said.splitlines() == [f"line {n}" for n in range(85, 100)]


def test_gate_tables_are_checked_with_their_lines() -> None:
    config = parse_config({"gates": {"build": {"command": ["pytest", "-q"]},
                                     "prd": {"min_success_criteria": 3}}})
    assert config.gates["build"].command == ("pytest", "-q")
    assert config.gates["build"].timeout_s == 600
    assert config.gates["prd"].min_success_criteria == 3
    text = "[gates.prd]\nmin_tasks = 2\n"
    with pytest.raises(ConfigError, match=r"orchestrate.toml:2: gates.prd.min_tasks counts "
                                          r"SPEC.md's tasks: it belongs in \[gates.spec\]"):
        parse_config({"gates": {"prd": {"min_tasks": 2}}}, text)
    with pytest.raises(ConfigError, match=r"\[gates.deploy\]: gates are per phase"):
        parse_config({"gates": {"deploy": {"command": ["x"]}}}, "[gates.deploy]\n")
    text = "[gates.build]\ncommand = \"pytest -q\"\n"
    with pytest.raises(ConfigError, match=r"orchestrate.toml:2: gates.build.command must be a "
                                          r"list of strings"):
        parse_config({"gates": {"build": {"command": "pytest -q"}}}, text)


def test_a_failed_gate_fails_the_attempt_and_the_next_prompt_carries_its_output(
        tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    script = {"default": "complete",
              "build": {"1": {"mode": "complete", "record": str(seen)},
                        "2": {"mode": "complete", "record": str(seen),
                              "write": {"feature.txt": "done\n"}}}}
    project = make_project((tmp_path / "p").resolve(), [ready(title="Item 1")],
                           script=script, gates={"build": {"command": NEEDS_FEATURE}})
    finished, _ = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    assert stored_item(project).status == "done"
    builds = [e for e in worklog_entries(project) if e["phase"] == "build"]
    assert [e["outcome"] for e in builds] == ["failed", "complete"]
    assert builds[0]["reason"].startswith("the gate `")
    assert "failed (exit 1):\ncollected 3 items\nFAILED test_feature: feature.txt is missing" \
        in builds[0]["reason"]
    assert [g["passed"] for g in builds[0]["gates"]] == [False]
    assert builds[1]["gates"][0]["passed"] is True
    assert builds[1]["gates"][0]["detail"].endswith("passed: 3 passed")
    prompt = (seen / "WRK-001_build.prompt").read_text()  # the second attempt's
    assert "The previous attempt at this step failed: the gate `" in prompt
    assert "FAILED test_feature: feature.txt is missing" in prompt
    # Other phases have no gate and record none.
    assert all(e["gates"] is None for e in worklog_entries(project) if e["phase"] != "build")


def test_the_built_in_gates_count_the_prd_and_the_spec(tmp_path: Path) -> None:
    script = {"default": "complete", "prd": {"1": {"mode": "complete", "criteria": 1},
                                             "2": {"mode": "complete", "criteria": 3}}}
    project = make_project((tmp_path / "p").resolve(), [ready(title="Item 1")],
                           script=script, gates={"prd": {"min_success_criteria": 3},
                                                 "spec": {"min_tasks": 5}},
                           run={"max_retries": 1})
    finished, _ = run_pipeline(project)
    entries = worklog_entries(project)
    prd = [e for e in entries if e["phase"] == "prd"]
    assert [e["outcome"] for e in prd] == ["failed", "complete"]
    assert prd[0]["reason"] == ("changes/WRK-001_item-1/PRD.md has 1 success criteria (list "
                                "items under its \"Success criteria\" heading); the gate asks "
                                "for at least 3")
    assert prd[1]["gates"] == [{"gate": "min_success_criteria", "passed": True,
                                "detail": "changes/WRK-001_item-1/PRD.md has 3 success "
                                          "criteria (list items under its \"Success "
                                          "criteria\" heading) (at least 3)"}]
    # The scripted SPEC has 4 tasks: both spec attempts fail, and the item is blocked.
    spec = [e for e in entries if e["phase"] == "spec"]
    assert [e["outcome"] for e in spec] == ["failed", "failed"]
    item = stored_item(project)
    assert item.status == "blocked"
    assert "SPEC.md has 4 tasks (`- [ ]` boxes); the gate asks for at least 5" \
        in (item.blocked_reason or "")
    assert finished.exit_code == 6


def test_a_gate_that_hangs_is_ended_at_its_timeout_with_all_it_started(
        tmp_path: Path) -> None:
    pids = tmp_path / "gate-pids"
    hang = [sys.executable, "-c",
            "import os, subprocess, sys, time\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
            "print('server up', flush=True)\n"
            "time.sleep(60)"]
    project = make_project((tmp_path / "p").resolve(), [ready(title="Item 1")],
                           script={"default": "complete"}, run={"max_retries": 0},
                           gates={"review": {"command": hang, "timeout_s": 1}})
    started = time.monotonic()
    finished, _ = run_pipeline(project)
    assert time.monotonic() - started < 30
    review = [e for e in worklog_entries(project) if e["phase"] == "review"]
    assert review[0]["outcome"] == "failed"
    assert review[0]["reason"] == "the gate timed out after 1s ([gates] timeout_s): server up"
    for pid in map(int, pids.read_text().split()):
        assert not alive(pid), f"gate process {pid} outlived its timeout"
    assert stored_item(project).status == "blocked"
    assert finished.exit_code == 6


def test_stopping_the_run_ends_a_gate_at_once(tmp_path: Path) -> None:
    pids = tmp_path / "gate-pids"
    hang = [sys.executable, "-c",
            "import os, time\n"
            f"open({str(pids)!r}, 'w').write(str(os.getpid()))\n"
            "time.sleep(120)"]
    project = make_project((tmp_path / "p").resolve(), [ready(title="Item 1")],
                           script={"default": "complete"},
                           gates={"prd": {"command": hang}})
    with Background(project) as run:
        wait_for(lambda: pids.exists() and pids.read_text())
        asked = time.monotonic()
        run.pipeline.request_stop()
        finished = run.finish(timeout=30)
    assert time.monotonic() - asked < 10
    assert not alive(int(pids.read_text()))
    assert finished.exit_code != 0
    entry = worklog_entries(project)[-1]
    assert (entry["phase"], entry["outcome"]) == ("prd", "interrupted")
    assert entry["reason"] == "the gate was stopped with the run"
    item = stored_item(project)
    assert (item.status, item.phase) == ("in_progress", "prd")  # resumable, not blocked
