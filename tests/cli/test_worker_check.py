"""`orchestrate worker check` on this machine: what a node needs for remote attempts
(git, Python, orchestrate, Ray, each agent CLI orchestrate.toml names and its login),
said a line a check, exit 1 when an attempt could not run here. A home folder and a PATH
of the test's own: a CLI that is there or not, a login that is there or not. The same
check on every node of a real cluster is in tests/engine/test_ray_executor.py."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path

from conftest import CLI_ENV, ORCHESTRATE

HAS_RAY = importlib.util.find_spec("ray") is not None


def fake_cli(folder: Path, name: str, version: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / name
    program.write_text(f"#!/bin/sh\necho '{version}'\n")
    program.chmod(0o755)


def check(cwd: Path, home: Path, bin_dir: Path, *args: str,
          **env: str) -> subprocess.CompletedProcess[str]:
    path = f"{bin_dir}{os.pathsep}{os.path.dirname(_git())}"
    clean = {k: v for k, v in os.environ.items()
             if not k.endswith(("_API_KEY", "_OAUTH_TOKEN", "_AUTH_TOKEN"))
             and k not in ("CLAUDE_CONFIG_DIR", "CODEX_HOME")}
    return subprocess.run([*ORCHESTRATE, "worker", "check", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60,
                          env={**clean, **CLI_ENV, "HOME": str(home), "PATH": path, **env})


def _git() -> str:
    found = subprocess.run(["which", "git"], capture_output=True, text=True).stdout.strip()
    assert found
    return found


def test_a_machine_with_the_cli_and_its_key_can_take_attempts(tmp_path: Path) -> None:
    fake_cli(tmp_path / "bin", "claude", "2.1.197 (Claude Code)")
    done = check(tmp_path, tmp_path / "home", tmp_path / "bin",
                 ANTHROPIC_API_KEY="sk-test")
    assert done.returncode == (0 if HAS_RAY else 1), done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(line.strip().startswith("✓ git") and "git version" in line for line in lines)
    assert any("✓ default (claude)" in line and "2.1.197 (Claude Code)" in line
               for line in lines)
    assert any("✓ default login" in line and "ANTHROPIC_API_KEY is set" in line
               for line in lines)


def test_a_missing_agent_cli_is_an_error_that_says_how_to_install_it(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    done = check(tmp_path, tmp_path / "home", tmp_path / "bin")
    assert done.returncode == 1
    assert "cannot take attempts" in done.stdout
    assert re.search(r"✗ default \(claude\) +claude not found", done.stdout), done.stdout
    assert "npm install -g @anthropic-ai/claude-code" in done.stdout


def test_no_login_found_is_a_warning_with_how_to_log_in(tmp_path: Path) -> None:
    fake_cli(tmp_path / "bin", "claude", "2.1.197 (Claude Code)")
    done = check(tmp_path, tmp_path / "home", tmp_path / "bin")
    assert "! default login" in done.stdout
    assert "none found" in done.stdout
    assert "/login" in done.stdout and "runtime_env" in done.stdout
    # The CLI's own credentials file counts as a login.
    creds = tmp_path / "home" / ".claude" / ".credentials.json"
    creds.parent.mkdir(parents=True)
    creds.write_text("{}")
    done = check(tmp_path, tmp_path / "home", tmp_path / "bin")
    assert re.search(rf"✓ default login +{re.escape(str(creds))}", done.stdout), done.stdout


def test_in_a_project_every_agent_it_names_is_checked_as_json(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    subprocess.run([*ORCHESTRATE, "init"], cwd=root, check=True, capture_output=True,
                   env={**os.environ, **CLI_ENV})
    with (root / "orchestrate.toml").open("a") as toml:
        toml.write('\n[agents.codex]\nkind = "codex"\n\n[agents.gemini]\nkind = "gemini"\n'
                   '[agents.gemini.env]\nGEMINI_API_KEY = "g-test"\n\n'
                   f'[agents.work]\nkind = "claude"\n[agents.work.env]\n'
                   f'HOME = "{tmp_path / "work-home"}"\n')
    # Another account of claude: its own HOME, where its login is.
    work_creds = tmp_path / "work-home" / ".claude" / ".credentials.json"
    work_creds.parent.mkdir(parents=True)
    work_creds.write_text("{}")
    fake_cli(tmp_path / "bin", "claude", "2.1.197 (Claude Code)")
    fake_cli(tmp_path / "bin", "gemini", "0.61.0")
    home = tmp_path / "home"
    (home / ".codex").mkdir(parents=True)
    (home / ".codex" / "auth.json").write_text("{}")
    done = check(root, home, tmp_path / "bin", "--json")
    assert done.returncode == 1, done.stderr  # codex is not installed here
    report = json.loads(done.stdout)
    assert report["ok"] is False
    checks = {c["name"]: c for c in report["nodes"][0]["checks"]}
    assert checks["codex (codex)"]["level"] == "fail"
    assert "@openai/codex" in checks["codex (codex)"]["hint"]
    assert checks["gemini (gemini)"]["level"] == "ok"
    assert checks["gemini (gemini)"]["detail"].startswith("0.61.0")
    # The key is there (the agent's env), but gemini exits 41 without an auth type.
    assert checks["gemini login"]["level"] == "warn"
    assert "exits 41" in checks["gemini login"]["detail"]
    assert checks["default (claude)"]["level"] == "ok"
    assert checks["work login"] == {"name": "work login", "level": "ok",
                                    "detail": str(work_creds), "hint": None}
    assert checks["default login"]["level"] == "warn"  # the default account has none


def test_without_ray_the_machine_cannot_take_attempts(tmp_path: Path) -> None:
    # A `ray` that does not import, first on the path: Ray as good as missing, whether
    # or not this machine has it.
    (tmp_path / "shim" / "ray").mkdir(parents=True)
    (tmp_path / "shim" / "ray" / "__init__.py").write_text("raise ImportError('hidden')\n")
    fake_cli(tmp_path / "bin", "claude", "2.1.197 (Claude Code)")
    done = check(tmp_path, tmp_path / "home", tmp_path / "bin", ANTHROPIC_API_KEY="k",
                 PYTHONPATH=f"{tmp_path / 'shim'}{os.pathsep}{CLI_ENV['PYTHONPATH']}")
    assert done.returncode == 1
    assert "✗ ray" in done.stdout and "orchestrate[ray]" in done.stdout
