"""`orchestrate show` reading an item back, through the real console script in a real git
repository with real checkpoint commits: where its dependencies stand and who needs it,
the guardrails' verdict, SPEC.md's progress, `--docs` (rendered Markdown on a terminal,
plain when piped), `--diff` (coloured on a terminal, plain when piped) and `--json`."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
from pathlib import Path

from conftest import CLI_ENV, ORCHESTRATE
from engine_helpers import make_project, run_git
from test_cli_groom import CACHE, run

from app.engine.checkpoint import Checkpointer

FOLDER = "changes/WRK-001_add-login-page"


def git_project(tmp_path: Path) -> Path:
    """WRK-001 (ready, risk high) needed by WRK-002 and WRK-003; WRK-002 depends on WRK-001
    and WRK-004 (done). WRK-001 has PRD.md, DESIGN.md, SPEC.md (1 of 3 ticked) and
    notes.md, and two checkpoints made by the Checkpointer (PRD, then BUILD); a checkpoint
    of WRK-002 lies between them."""
    project = make_project(tmp_path / "p", [
        {"title": "Add login page", "status": "ready", "size": "small", "risk": "high"},
        {"title": "Rate limits", "depends_on": ["WRK-001", "WRK-004"]},
        {"title": "Audit log", "depends_on": ["WRK-001"]},
        {"title": "Set up CI", "status": "done"},
    ], git=True)
    root = project.root
    cp = Checkpointer(root)
    folder = root / FOLDER
    before = cp.dirty()
    folder.mkdir(parents=True)
    (folder / "PRD.md").write_text("# Login page\n\nPeople log in with **email**.\n\n"
                                   "- forgot password\n- remember me\n")
    (folder / "notes.md").write_text("loose notes\n")
    assert cp.commit("WRK-001", "prd", "PRD written", before).commit
    before = cp.dirty()
    (root / "other.py").write_text("x = 1\n")
    assert cp.commit("WRK-002", "prd", "other item", before).commit
    before = cp.dirty()
    (folder / "DESIGN.md").write_text("# Design\n\nA form.\n")
    (folder / "SPEC.md").write_text("# Spec\n## One\n- [x] form\n- [ ] submit\n- [ ] test\n")
    (root / "login.py").write_text("def login(user):\n    return user.ok\n")
    assert cp.commit("WRK-001", "build", "login form", before).commit
    return root


def on_a_terminal(cwd: Path, *args: str) -> str:
    """The CLI's output when stdout is a terminal (a pty), 100 columns, colours allowed."""
    leader, follower = pty.openpty()
    env = {"PATH": "/usr/bin:/bin", **CACHE, **CLI_ENV, "COLUMNS": "100", "LINES": "40",
           "TERM": "xterm-256color"}
    proc = subprocess.Popen([*ORCHESTRATE, *args], cwd=cwd, stdout=follower,
                            stderr=subprocess.PIPE, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the pty is closed once the process has ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    return b"".join(chunks).decode("utf-8", errors="replace")


def test_show_says_where_dependencies_stand_who_needs_it_guardrails_and_progress(
        tmp_path: Path) -> None:
    root = git_project(tmp_path)
    first = run(root, "show", "WRK-001").stdout
    assert "needed by     WRK-002, WRK-003" in first
    assert "guardrails    outside the guardrails: risk high, max low" in first
    assert "spec          1/3 tasks ticked" in first
    assert "[WRK-001][PRD] PRD written" in first and "[WRK-001][BUILD] login form" in first
    assert "[WRK-002]" not in first
    assert "documents (show --docs to read them): PRD.md, DESIGN.md, SPEC.md, notes.md" in first
    second = run(root, "show", "WRK-002").stdout
    assert "depends on    WRK-001 (ready), WRK-004 (done)" in second
    assert "waits on      WRK-001\n" in second


def test_show_docs_piped_is_the_plain_text_in_phase_order(tmp_path: Path) -> None:
    root = git_project(tmp_path)
    r = run(root, "show", "WRK-001", "--docs")
    assert r.returncode == 0 and r.stderr == ""
    assert "\x1b" not in r.stdout
    headers = [line for line in r.stdout.splitlines() if line.startswith("==> ")]
    assert headers == [f"==> {FOLDER}/{name} <==" for name in
                       ("PRD.md", "DESIGN.md", "SPEC.md", "notes.md")]
    assert "People log in with **email**.\n\n- forgot password\n" in r.stdout
    assert "# Login page" in r.stdout  # the Markdown as written, not rendered


def test_show_docs_on_a_terminal_is_rendered_markdown(tmp_path: Path) -> None:
    root = git_project(tmp_path)
    out = on_a_terminal(root, "show", "WRK-001", "--docs")
    assert "\x1b[" in out  # styled
    assert "# Login page" not in out and "Login page" in out  # a heading, not its marks
    assert "**email**" not in out and "email" in out
    assert "• forgot password" in re.sub(r"\x1b\[[0-9;]*m", "", out)  # a bullet list
    assert f"{FOLDER}/DESIGN.md" in out


def test_show_diff_piped_is_every_checkpoint_with_stat_and_diff(tmp_path: Path) -> None:
    root = git_project(tmp_path)
    r = run(root, "show", "WRK-001", "--diff")
    assert r.returncode == 0 and r.stderr == "" and "\x1b" not in r.stdout
    lines = r.stdout.splitlines()
    commits = [line for line in lines if line.startswith("commit ")]
    assert len(commits) == 2
    prd, build = r.stdout.split(commits[1])
    assert "    [WRK-001][PRD] PRD written" in prd and "PRD.md" in prd
    assert "    [WRK-001][BUILD] login form" in build
    assert " login.py" in build and "3 files changed" in build  # the stat
    assert "+def login(user):" in build.splitlines()  # the diff
    assert "other.py" not in r.stdout  # WRK-002's checkpoint is not WRK-001's


def test_show_diff_on_a_terminal_is_coloured(tmp_path: Path) -> None:
    root = git_project(tmp_path)
    out = on_a_terminal(root, "show", "WRK-001", "--diff")
    assert "\x1b[32m+def login(user):\x1b[0m" in out  # additions green
    assert "\x1b[36m@@ " in out  # hunk headers cyan
    assert "\x1b[33mcommit " in out  # commits yellow, as git colours them


def test_show_json_carries_the_documents_and_the_diffs(tmp_path: Path) -> None:
    root = git_project(tmp_path)
    plain = json.loads(run(root, "show", "WRK-001", "--json").stdout)
    assert plain["needed_by"] == ["WRK-002", "WRK-003"] and plain["waits_on"] == []
    assert plain["outside_guardrails"] == "outside the guardrails: risk high, max low"
    assert plain["spec"] == {"ticked": 1, "total": 3}
    assert plain["documents"] == ["PRD.md", "DESIGN.md", "SPEC.md", "notes.md"]
    assert [(c["phase"], c["summary"]) for c in plain["checkpoints"]] == [
        ("prd", "PRD written"), ("build", "login form")]
    assert "diff" not in plain["checkpoints"][0] and plain["checkpoints_unavailable"] is None
    full = json.loads(run(root, "show", "WRK-001", "--json", "--docs", "--diff").stdout)
    assert full["documents"][0] == {
        "name": "PRD.md", "path": f"{FOLDER}/PRD.md",
        "text": (root / FOLDER / "PRD.md").read_text()}
    build = full["checkpoints"][1]
    assert "login.py" in build["stat"] and "+def login(user):" not in build["stat"]
    assert "+def login(user):\n" in build["diff"]
    assert json.loads(run(root, "show", "WRK-002", "--json").stdout)["waits_on"] == ["WRK-001"]


def test_show_diff_without_git_or_checkpoints_says_so(tmp_path: Path) -> None:
    root = make_project(tmp_path / "plain", [{"title": "Alone"}]).root
    r = run(root, "show", "WRK-001", "--diff")
    assert r.returncode == 0
    assert r.stdout.startswith("WRK-001 has no checkpoints: ") and \
        "not in a git repository" in r.stdout
    assert run(root, "show", "WRK-001", "--docs").stdout == \
        "WRK-001 has no documents yet (none in changes/WRK-001_alone/)\n"
    run_git(root, "init", "-q")
    assert run(root, "show", "WRK-001", "--diff").stdout == "WRK-001 has no checkpoints yet\n"
    assert json.loads(run(root, "show", "WRK-001", "--json").stdout)["checkpoints"] == []


def test_show_docs_escapes_control_characters(tmp_path: Path) -> None:
    root = git_project(tmp_path)
    (root / FOLDER / "PRD.md").write_text("# Title\x1b]0;pwned\x07\n")
    piped = run(root, "show", "WRK-001", "--docs").stdout
    assert "\x1b]" not in piped and "\\x1b]0;pwned\\x07" in piped
    assert "\x1b]0;pwned" not in on_a_terminal(root, "show", "WRK-001", "--docs")


def test_completion_offers_the_new_options_of_show() -> None:
    from app.cli.completion import candidates
    from app.cli.parser import build_parser

    assert candidates(["orchestrate", "show", "WRK-001", "--d"], 3, build_parser()) == [
        "--diff", "--docs"]
