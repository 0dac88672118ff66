"""The benchmark runs end to end and prints the JSON shape other tools read."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is not an installed package (`pytest` from a venv)
    sys.path.insert(0, str(ROOT))

from app.engine.worktrees import MIN_GIT, git_version  # noqa: E402
from bench.__main__ import GOALS, NAMES, as_json  # noqa: E402
from bench.figures import Figure  # noqa: E402


def test_quick_json_run_names_every_figure_with_a_number_or_a_reason() -> None:
    # Never a network install from a test: Backlog.md is measured only if already cached.
    env = {**os.environ, "ORCHESTRATE_BENCH_NO_INSTALL": "1"}
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--json", "--items", "100"],
                          cwd=ROOT, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, "stdout is exactly one JSON object"
    data = json.loads(lines[0])
    assert set(data) == {"figures", "notes"}
    assert set(data["figures"]) == set(NAMES)
    for name, value in data["figures"].items():
        if value is None:
            assert isinstance(data["notes"].get(name), str) and data["notes"][name], name
        else:
            assert isinstance(value, (int, float)) and value >= 0, name
    # Those that do not depend on outside tools are always measured.
    for name in ("update_1k_vs_pyyaml_c", "update_10k_vs_pyyaml_c"):
        assert data["figures"][name] is not None, data["notes"].get(name)
    # The scripted agent and git only: a run that falls back to its second agent.
    if shutil.which("git"):
        assert data["figures"]["fallback_switch_ms"] is not None, \
            data["notes"].get("fallback_switch_ms")
    # With a git that has lanes, four lanes end the same backlog sooner than one.
    version = git_version()
    if version is not None and version >= MIN_GIT:
        speedup = data["figures"]["parallel_speedup_4"]
        assert speedup is not None, data["notes"].get("parallel_speedup_4")
        assert speedup > 1.0


def test_named_figures_are_measured_alone_and_results_md_is_left_as_it_is(
        tmp_path: Path) -> None:
    # A copy of bench/ (with its RESULTS.md): a regression must not clobber the real one.
    shutil.copytree(ROOT / "bench", tmp_path / "bench",
                    ignore=shutil.ignore_patterns(".cache", "__pycache__"))
    results = tmp_path / "bench" / "RESULTS.md"
    before = results.read_bytes()
    proc = subprocess.run([sys.executable, "-m", "bench", "update_1k_vs_pyyaml_c"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert results.read_bytes() == before, "naming figures must not rewrite RESULTS.md"
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0] for row in rows[2:]] == ["| update_1k_vs_pyyaml_c"]
    assert "update_1k_vs_pyyaml_c" in proc.stderr  # its progress line
    assert "phase_overhead_vs_floor" not in proc.stderr  # no other figure ran


def test_an_unknown_figure_name_is_refused_with_the_list_of_names() -> None:
    proc = subprocess.run([sys.executable, "-m", "bench", "parallel_speedup_5"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "no figure named parallel_speedup_5" in proc.stderr
    assert "parallel_speedup_4" in proc.stderr


def test_json_shape_fills_missing_figures_with_a_note() -> None:
    data = as_json({"reload_ms": Figure(12.5), "log_key_p99_ms": Figure(None, "no board")})
    assert data["figures"]["reload_ms"] == 12.5
    assert data["notes"]["log_key_p99_ms"] == "no board"
    assert data["notes"]["status_1k_vs_backlogmd"] == "not measured"
    assert set(GOALS) == set(NAMES)


def test_the_fallback_figure_times_the_switch_and_refuses_a_run_that_never_switched() -> None:
    import pytest

    from bench.fallback import gaps

    def run(first_agent: str, first_outcome: str) -> list[dict[str, object]]:
        events: list[dict[str, object]] = [
            {"type": "PhaseStarted", "agent": first_agent, "at": 10.0},
            {"type": "PhaseFinished", "agent": first_agent, "outcome": first_outcome,
             "at": 10.05},
            {"type": "Notice", "at": 10.051}]
        for k in range(6):
            events += [{"type": "PhaseStarted", "agent": "b", "at": 10.053 + k * 0.1},
                       {"type": "PhaseFinished", "agent": "b", "outcome": "complete",
                        "at": 10.1 + k * 0.1}]
        return events

    switch, steps = gaps(run("default", "limited"))
    assert switch == pytest.approx(3.0)  # 10.05 -> 10.053
    assert steps == pytest.approx([53.0] * 5)  # each phase's end -> the next one's start
    with pytest.raises(ValueError, match="one limited attempt on default"):
        gaps(run("default", "complete"))
