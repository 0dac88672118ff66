"""The benchmark runs end to end and prints the JSON shape other tools read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is not an installed package (`pytest` from a venv)
    sys.path.insert(0, str(ROOT))

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


def test_json_shape_fills_missing_figures_with_a_note() -> None:
    data = as_json({"reload_ms": Figure(12.5), "log_key_p99_ms": Figure(None, "no board")})
    assert data["figures"]["reload_ms"] == 12.5
    assert data["notes"]["log_key_p99_ms"] == "no board"
    assert data["notes"]["status_1k_vs_backlogmd"] == "not measured"
    assert set(GOALS) == set(NAMES)
