"""The grooming CLI through the real `orchestrate` console script: the happy path, and every
kind of bad input giving one clear line, a non-zero exit, no traceback, and no rewrite."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import CLI_ENV, ORCHESTRATE

HEAD = "schema_version: 1\nprefix: WRK\n"
ONE = HEAD + "items:\n  - id: WRK-001\n    title: Add login\n    status: new\n"


CACHE = {"ORCHESTRATE_CACHE_DIR": os.environ["ORCHESTRATE_CACHE_DIR"]}
"""The test session's snapshot cache (conftest), for commands run with a minimal env."""


def run(cwd: Path, *args: str, columns: int = 200,
        no_color: bool = True) -> subprocess.CompletedProcess[str]:
    """The CLI (`python -m app`) with a minimal env, piped (no terminal), `columns` wide."""
    env = {"PATH": "/usr/bin:/bin", **CACHE, **CLI_ENV, "COLUMNS": str(columns)}
    if no_color:
        env["NO_COLOR"] = "1"
    return subprocess.run([*ORCHESTRATE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env=env)


def project(tmp_path: Path, text: str | bytes = ONE, toml: str | None = None) -> Path:
    path = tmp_path / "BACKLOG.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    if toml is not None:
        (tmp_path / "orchestrate.toml").write_text(toml)
    return path


def assert_refused(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("orchestrate: "), lines[0]
    assert message in lines[0], lines[0]


# --- the happy path -------------------------------------------------------------------------
def test_init_add_status_advance_unblock_delete(tmp_path: Path) -> None:
    r = run(tmp_path, "init", "--prefix", "abc")
    assert r.returncode == 0 and "created BACKLOG.yaml (prefix ABC)" in r.stdout
    assert run(tmp_path, "add", "Add login page", "--size", "small").stdout.strip() == \
        "ABC-001 added: Add login page"
    assert run(tmp_path, "add", "no", "--depends-on", "ABC-001").returncode == 0
    data = json.loads(run(tmp_path, "status", "--json").stdout)
    assert [(i["id"], i["title"], i["status"]) for i in data["items"]] == [
        ("ABC-001", "Add login page", "new"), ("ABC-002", "no", "new")]
    assert data["counts"]["new"] == 2 and data["items"][1]["depends_on"] == ["ABC-001"]
    assert run(tmp_path, "advance", "ABC-001", "--to", "ready").stdout.strip() == \
        "ABC-001 is now ready"
    r = run(tmp_path, "advance", "ABC-001", "--to", "blocked", "--reason", "need design")
    assert r.returncode == 0
    r = run(tmp_path, "unblock", "ABC-001", "--notes", "use postgres")
    assert r.stdout.strip() == "ABC-001 unblocked: back to ready"
    shown = json.loads(run(tmp_path, "show", "ABC-001", "--json").stdout)
    assert shown["notes"] == "use postgres" and shown["blocked_reason"] is None
    assert run(tmp_path, "delete", "ABC-002").returncode == 0
    assert run(tmp_path, "add", "again").stdout.startswith("ABC-003 added")
    history = [json.loads(line) for line in
               (tmp_path / ".orchestrator" / "history.jsonl").read_text().splitlines()]
    assert [h["action"] for h in history] == ["add", "add", "advance", "advance", "unblock",
                                              "delete", "add"]
    text = run(tmp_path, "status").stdout
    assert "ABC-001" in text and "2 items" in text


def test_init_never_overwrites(tmp_path: Path) -> None:
    path = project(tmp_path)
    r = run(tmp_path, "init")
    assert r.returncode == 0 and "already exists; left as it is" in r.stdout
    assert path.read_text() == ONE


def test_status_on_an_empty_backlog_says_what_to_do(tmp_path: Path) -> None:
    project(tmp_path, HEAD + "items: []\n")
    assert "the backlog is empty" in run(tmp_path, "status").stdout


def test_unknown_keys_warn_but_work(tmp_path: Path) -> None:
    project(tmp_path, ONE + "    estimate: 3d\n")
    r = run(tmp_path, "status")
    assert r.returncode == 0 and "unknown key 'estimate' (kept)" in r.stderr


# --- bad input ------------------------------------------------------------------------------
BAD_FILES = {
    "syntax": (ONE + "    notes: [x\n", "BACKLOG.yaml:8:1: did not find expected ',' or ']'"),
    "duplicate id": (ONE + "  - id: WRK-001\n    title: y\n    status: new\n",
                     "BACKLOG.yaml:7:5: duplicate id WRK-001 (first at line 4)"),
    "unknown status": (ONE.replace("status: new", "status: started"),
                       "BACKLOG.yaml:6:5: WRK-001: unknown status 'started'"),
    "newer schema": (ONE.replace("schema_version: 1", "schema_version: 9"),
                     "BACKLOG.yaml:1:1: schema_version 9 is newer than this orchestrate"),
    "path-like id": (ONE.replace("WRK-001", "../etc"), "BACKLOG.yaml:4:5: invalid id '../etc'"),
    "empty": ("", "BACKLOG.yaml:1:1: the file is empty"),
    "tabs": (ONE.replace("    title", "\ttitle"),
             "BACKLOG.yaml:5:1: a tab: YAML indents with spaces only"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
@pytest.mark.parametrize("command", [["status"], ["add", "x"], ["advance", "WRK-001", "--to",
                                                                  "ready"]])
def test_invalid_backlog_is_reported_and_never_rewritten(
        tmp_path: Path, case: str, command: list[str]) -> None:
    text, message = BAD_FILES[case]
    path = project(tmp_path, text)
    assert_refused(run(tmp_path, *command), message)
    assert path.read_bytes() == text.encode()


def test_non_utf8_file(tmp_path: Path) -> None:
    raw = ONE.replace("Add login", "caf\xe9").encode("latin-1")
    path = project(tmp_path, raw)
    assert_refused(run(tmp_path, "add", "x"), "BACKLOG.yaml:5: not UTF-8 text")
    assert path.read_bytes() == raw


def test_no_backlog_says_run_init(tmp_path: Path) -> None:
    assert_refused(run(tmp_path, "status"), "BACKLOG.yaml not found in")
    assert "run `orchestrate init`" in run(tmp_path, "add", "x").stderr
    assert not (tmp_path / "BACKLOG.yaml").exists()


@pytest.mark.parametrize(("toml", "message"), [
    ("[run]\nmax_retries = \"three\"\n",
     "orchestrate.toml:2: run.max_retries must be a whole number, not 'three'"),
    ("[run\n", "orchestrate.toml:1: Expected ']'"),
    ("[guardrails]\nmax_size = \"huge\"\n", "orchestrate.toml:2: guardrails.max_size must be"),
])
def test_bad_config_is_reported_with_its_line(tmp_path: Path, toml: str, message: str) -> None:
    path = project(tmp_path, toml=toml)
    assert_refused(run(tmp_path, "add", "x"), message)
    assert path.read_text() == ONE


@pytest.mark.parametrize("command", ["show", "advance", "unblock", "delete"])
def test_unknown_item_suggests_close_ids(tmp_path: Path, command: str) -> None:
    path = project(tmp_path)
    args = [command, "WRK-01"] + (["--to", "ready"] if command == "advance" else [])
    assert_refused(run(tmp_path, *args), "no item 'WRK-01'; did you mean WRK-001")
    assert path.read_text() == ONE


def test_illegal_transition_names_item_place_and_choices(tmp_path: Path) -> None:
    path = project(tmp_path)
    assert_refused(run(tmp_path, "advance", "WRK-001", "--to", "review"),
                   "WRK-001 is new; it cannot go to in_progress/review. It may go to: scoped, "
                   "researching, ready, done, blocked")
    assert_refused(run(tmp_path, "advance", "WRK-001", "--to", "blocked"),
                   "WRK-001: blocking needs a reason")
    assert_refused(run(tmp_path, "advance", "WRK-001", "--to", "sideways"),
                   "unknown target 'sideways'")
    assert_refused(run(tmp_path, "unblock", "WRK-001"), "WRK-001 is new, not blocked")
    assert path.read_text() == ONE


def test_empty_title_is_refused(tmp_path: Path) -> None:
    path = project(tmp_path)
    assert_refused(run(tmp_path, "add", "   "), "an item needs a title")
    assert path.read_text() == ONE


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    r = run(tmp_path, "add", "x", "--size", "huge")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_status_table_fits_the_terminal_and_has_no_colour_when_piped(tmp_path: Path) -> None:
    """At 70 columns a long title keeps the width and the blocked reason moves below it."""
    from rich.cells import cell_len

    project(tmp_path, HEAD + "items:\n  - id: WRK-001\n    title: " + "日本語 long title " * 20
            + "\n    status: blocked\n    blocked_reason: waiting\n    blocked_from: ready\n"
            "  - id: WRK-002\n    title: short\n    status: new\n")
    out = run(tmp_path, "status", columns=70, no_color=False).stdout
    lines = out.splitlines()
    # Too narrow for the reason beside a long title: it goes on its own line below it.
    assert lines[0].split() == ["id", "status", "phase", "title", "size/risk"]
    blocked_row = next(i for i, line in enumerate(lines) if line.startswith("WRK-001"))
    assert lines[blocked_row + 1].strip() == "↳ waiting"
    assert all(cell_len(line) <= 70 for line in lines[:6]), lines
    assert "…" in out and "\x1b[" not in out
    # new before blocked: grouped in the order of the statuses
    assert out.index("WRK-002") < out.index("WRK-001")


def test_status_table_keeps_the_blocked_reason_beside_the_title_when_wide(
        tmp_path: Path) -> None:
    project(tmp_path, HEAD + "items:\n  - id: WRK-001\n    title: Add login page\n"
            "    status: blocked\n    blocked_reason: waiting on design\n"
            "    blocked_from: ready\n")
    out = run(tmp_path, "status", columns=160, no_color=False).stdout
    lines = out.splitlines()
    assert lines[0].split()[-2:] == ["why", "blocked"]
    row = next(line for line in lines if line.startswith("WRK-001"))
    assert row.split()[-3:] == ["waiting", "on", "design"]
    assert "↳" not in out


def _status_on_a_terminal(cwd: Path, extra_env: dict[str, str]) -> bytes:
    """`orchestrate status` run on a real pseudo-terminal; what it printed."""
    import os
    import pty

    env = {"PATH": "/usr/bin:/bin", **CACHE, **CLI_ENV, "TERM": "xterm-256color",
           "COLUMNS": "120", **extra_env}
    pid, fd = pty.fork()
    if pid == 0:  # the child: run the command with the pty as its terminal
        os.chdir(cwd)
        os.execve(ORCHESTRATE[0], [*ORCHESTRATE, "status"], env)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    os.close(fd)
    return out


def test_status_on_a_terminal_is_coloured_unless_no_color_is_set(tmp_path: Path) -> None:
    project(tmp_path)
    assert b"\x1b[" in _status_on_a_terminal(tmp_path, {})
    plain = _status_on_a_terminal(tmp_path, {"NO_COLOR": "1"})
    assert b"WRK-001" in plain and b"\x1b[" not in plain


def test_add_refuses_a_dependency_on_an_item_that_is_not_there(tmp_path: Path) -> None:
    path = project(tmp_path)
    before = path.read_bytes()
    assert_refused(run(tmp_path, "add", "Later", "--depends-on", "WRK-009"),
                   "no item 'WRK-009' to depend on")
    assert path.read_bytes() == before


def test_status_lists_an_item_in_every_status_including_the_review_queue(
        tmp_path: Path) -> None:
    from app.backlog.model import STATUSES
    from app.cli.terminal import STATUS_STYLE

    assert set(STATUS_STYLE) == set(STATUSES)
    items = "".join(f"  - id: WRK-{n:03d}\n    title: {status} item\n    status: {status}\n"
                    + ("    blocked_reason: why\n    blocked_from: ready\n"
                       if status == "blocked" else "")
                    + ("    phase: review\n" if status in ("in_progress", "to_review",
                                                           "approved") else "")
                    for n, status in enumerate(STATUSES, start=1))
    project(tmp_path, HEAD + "items:\n" + items)
    for no_color in (True, False):
        done = run(tmp_path, "status", no_color=no_color)
        assert done.returncode == 0, done.stderr
        for n, status in enumerate(STATUSES, start=1):
            assert f"WRK-{n:03d}" in done.stdout and f"{status} item" in done.stdout
