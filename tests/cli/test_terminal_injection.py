"""No control character reaches a terminal: a person's words with one are refused,
saying which and where, and words that arrive in BACKLOG.yaml or from an agent are
printed escaped (`\\x1b`) by every printing path of the CLI."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import CLI_ENV, ORCHESTRATE
from engine_helpers import make_project, ready

from app.backlog.model import control_problem, visible

ESC_TITLE = "x \x1b]0;pwned\x07"
HEAD = "schema_version: 1\nprefix: WRK\nitems:\n"


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, **CLI_ENV, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([*ORCHESTRATE, "-C", str(cwd), *args], capture_output=True,
                          timeout=60, env=env)


def test_visible_escapes_controls_and_keeps_words() -> None:
    assert visible(ESC_TITLE) == "x \\x1b]0;pwned\\x07"
    assert visible("two\nlines\tand tab") == "two\nlines\tand tab"
    assert visible("two\nlines", one_line=True) == "two\\x0alines"
    assert visible("\x9b31m C1 too\x7f") == "\\x9b31m C1 too\\x7f"
    assert visible("日本語 é ok") == "日本語 é ok"
    assert control_problem("title", ESC_TITLE) == (
        "the title has a control character \\x1b (ESC) at character 3: remove it")
    assert control_problem("notes", "line\nline\ttab", newlines=True) is None


@pytest.mark.parametrize(("args", "field"), [
    (("add", ESC_TITLE), "title"),
    (("add", "fine", "--notes", "a\x07bell"), "notes"),
    (("advance", "WRK-001", "--to", "blocked", "--reason", "why\x1b[2J"), "reason"),
    (("unblock", "WRK-002", "--notes", "use \x1b[8mhidden"), "notes"),
])
def test_a_persons_words_with_a_control_character_are_refused(tmp_path: Path,
                                                              args: tuple[str, ...],
                                                              field: str) -> None:
    text = HEAD + ("  - id: WRK-001\n    title: A\n    status: ready\n"
                   "  - id: WRK-002\n    title: B\n    status: blocked\n"
                   "    blocked_from: ready\n    blocked_reason: x\n")
    (tmp_path / "BACKLOG.yaml").write_text(text)
    out = cli(tmp_path, *args)
    assert out.returncode == 1
    said = out.stderr.decode()
    assert said.startswith(f"orchestrate: the {field} has a control character \\x")
    assert "at character" in said and "\x1b" not in said and "\x07" not in said
    assert (tmp_path / "BACKLOG.yaml").read_text() == text  # not touched


def test_words_in_the_file_are_printed_escaped_by_status_and_show(tmp_path: Path) -> None:
    (tmp_path / "BACKLOG.yaml").write_text(
        HEAD + '  - id: WRK-001\n    title: "x \\e]0;pwned\\a"\n    status: blocked\n'
        '    blocked_reason: "stop \\e[2J"\n    notes: "see \\e[8mhidden"\n')
    for args in (("status",), ("show", "WRK-001"), ("delete", "WRK-001")):
        out = cli(tmp_path, *args)
        assert out.returncode == 0, out.stderr
        shown = out.stdout + out.stderr
        assert b"\x1b" not in shown and b"\x07" not in shown, args
        assert b"\\x1b]0;pwned\\x07" in shown, args


def test_an_agents_words_reach_the_terminal_escaped(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], run={"checkpoint": False}, script={
        "prd": {"mode": "complete", "summary": "done \x1b]0;pwned\x07",
                "follow_ups": [{"title": "more \x1b[31mred"}]},
        "*": "complete"})
    out = cli(project.root, "run", "--cap", "1")
    assert out.returncode == 0, out.stderr
    shown = out.stdout + out.stderr
    assert b"\x1b" not in shown and b"\x07" not in shown
    assert b"done \\x1b]0;pwned\\x07" in shown
    assert b"more \\x1b[31mred" in shown  # the follow-up, as the notice names it
    status = cli(project.root, "status")
    assert b"\x1b" not in status.stdout and b"more \\x1b[31mred" in status.stdout
