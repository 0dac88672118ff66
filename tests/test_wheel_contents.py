"""A built wheel (not only an editable install) ships the stylesheets and default prompts."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
           "-q", "-w", str(out), str(ROOT)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:  # no setuptools in this environment: build isolated
        cmd.remove("--no-build-isolation")
        proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (path,) = out.glob("orchestrate-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_ships_every_stylesheet(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    sheets = sorted(p.name for p in (ROOT / "styles").glob("*.tcss"))
    assert sheets, "the project has stylesheets in styles/"
    for sheet in sheets:
        assert f"styles/{sheet}" in names


def test_wheel_ships_every_default_prompt(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    prompts = sorted(p.name for p in (ROOT / "app" / "engine" / "prompts").glob("*.md"))
    assert prompts, "the project has default prompts in app/engine/prompts/"
    for prompt in prompts:
        assert f"app/engine/prompts/{prompt}" in names


def test_wheel_has_the_console_script_and_no_tests(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "orchestrate = app.main:main" in wheel.read(entry_points).decode()
    assert not any(n.startswith(("tests/", "bench/", "snapshots/")) for n in names)
