"""Shell completion, in a real bash with the script `orchestrate completion bash` prints."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from app.cli.completion import candidates
from app.cli.parser import build_parser

BACKLOG = """schema_version: 1
prefix: WRK
next_id: 6
items:
  - id: WRK-001
    title: Add login
    status: ready
  - id: WRK-002
    title: Sessions
    status: blocked
    blocked_reason: which cluster?
    blocked_from: ready
  - id: WRK-003
    title: Export
    status: new
  - id: WRK-004
    title: Reset by email
    status: to_review
  - id: WRK-005
    title: Audit log
    status: approved
"""


def complete_in_bash(cwd: Path, *words: str) -> list[str]:
    """COMPREPLY after TAB on the last of `words` (bash's own arrays, the real script).

    `orchestrate` on PATH is a shim running this checkout's CLI, so the test needs no
    installed console script."""
    shim_dir = cwd.parent / "bin"
    shim = shim_dir / "orchestrate"
    if not shim.exists():
        shim_dir.mkdir(exist_ok=True)
        shim.write_text(f"#!/bin/sh\nPYTHONPATH={shlex.quote(str(REPO))} "
                        f"exec {shlex.quote(sys.executable)} -m app \"$@\"\n")
        shim.chmod(0o755)
    line = " ".join(shlex.quote(w) for w in words)
    program = (f'eval "$(orchestrate completion bash)"\n'
               f"COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _orchestrate\n"
               'printf "%s\\n" "${COMPREPLY[@]}"\n')
    env = {**os.environ, "PATH": f"{shim_dir}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run(["bash", "--norc", "-c", program], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [w for w in out.stdout.splitlines() if w]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_commands_options_choices_and_the_projects_ids(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "BACKLOG.yaml").write_text(BACKLOG, encoding="utf-8")
    assert complete_in_bash(project, "orchestrate", "s") == ["serve", "show", "status", "stop"]
    assert complete_in_bash(project, "orchestrate", "show", "") == [
        "WRK-001", "WRK-002", "WRK-003", "WRK-004", "WRK-005"]
    assert complete_in_bash(project, "orchestrate", "unblock", "") == ["WRK-002"]
    assert complete_in_bash(project, "orchestrate", "run", "--target", "") == [
        "WRK-001", "WRK-005"]
    assert complete_in_bash(project, "orchestrate", "approve", "") == ["WRK-004"]
    assert complete_in_bash(project, "orchestrate", "reject", "") == ["WRK-004", "WRK-005"]
    assert complete_in_bash(project, "orchestrate", "advance", "WRK-001", "--to", "b") == [
        "blocked", "build"]
    assert complete_in_bash(project, "orchestrate", "add", "x", "--size", "") == [
        "large", "medium", "small"]
    assert complete_in_bash(project, "orchestrate", "status", "--") == ["--help", "--json"]
    assert complete_in_bash(project, "orchestrate", "edit", "WRK-003", "--size", "") == [
        "large", "medium", "none", "small"]
    assert complete_in_bash(project, "orchestrate", "edit", "WRK-003", "--add-dep", "") == [
        "WRK-001", "WRK-002", "WRK-003", "WRK-004", "WRK-005"]
    assert complete_in_bash(project, "orchestrate", "move", "WRK-003", "--before", "WRK-00") \
        == ["WRK-001", "WRK-002", "WRK-003", "WRK-004", "WRK-005"]
    assert complete_in_bash(project, "orchestrate", "move", "WRK-003", "--t") == ["--top"]
    assert complete_in_bash(project, "orchestrate", "u") == ["unblock", "undo"]
    # Outside any project, -C names one; without it ids are not offered.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert complete_in_bash(elsewhere, "orchestrate", "-C", str(project), "delete", "W") == [
        "WRK-001", "WRK-002", "WRK-003", "WRK-004", "WRK-005"]
    assert complete_in_bash(elsewhere, "orchestrate", "show", "") == []


def test_values_of_a_many_valued_option_and_nothing_after_the_last_positional(
        tmp_path: Path) -> None:
    (tmp_path / "BACKLOG.yaml").write_text(BACKLOG, encoding="utf-8")
    parser = build_parser()
    words = ["orchestrate", "-C", str(tmp_path), "add", "t", "--depends-on", "WRK-001", ""]
    assert candidates(words, 7, parser) == ["WRK-001", "WRK-002", "WRK-003", "WRK-004", "WRK-005"]
    assert candidates(["orchestrate", "show", "WRK-001", ""], 3, parser) == []
    assert candidates(["orchestrate", "-C", ""], 2, parser) == []  # a path: the shell's
    # `board --served` and `--read-only` are for `orchestrate serve` alone: not offered.
    assert candidates(["orchestrate", "board", "--"], 2, parser) == ["--help"]


def test_the_zsh_script_loads_bash_completion_first() -> None:
    from app.cli.completion import script
    zsh = script("zsh")
    assert "bashcompinit" in zsh and "complete -o default -F _orchestrate orchestrate" in zsh
