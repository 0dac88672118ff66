"""The real `orchestrate` board in a real terminal (tmux): keys in, screen text out.

A temp project (git init'd, the scripted agent as agent.command, no backoff or
cooldown) is opened with the plain `orchestrate` command; `r` runs the real pipeline
in the board's worker thread, and the card must end in the done column. Each test uses
its own tmux socket and kills that server at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_helpers import make_project, ready

from app.engine.project import Project

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

WIDTH, HEIGHT = 120, 36
COLUMNS = 6


class Tmux:
    """One tmux server (own socket) running one window of the board."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def run(self, *args: str) -> str:
        proc = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=10)
        return proc.stdout

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.run("send-keys", "-t", "board", key)
            time.sleep(0.15)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "board")

    def wait_for(self, condition: Callable[[str], bool], timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if condition(text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"screen never matched; last screen:\n{text}")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    server = Tmux(f"orch-board-{uuid.uuid4().hex[:8]}")
    yield server
    server.run("kill-server")


def column_of(screen: str, item_id: str) -> int | None:
    """Which column (0 = new … 5 = done) shows `item_id`, from where it is on screen."""
    card = re.compile(re.escape(item_id) + r"(?!:)")  # not `WRK-001:` in a message
    for line in screen.splitlines()[1:]:
        match = card.search(line)
        if match:
            return min(COLUMNS - 1, match.start() * COLUMNS // WIDTH)
    return None


def open_board(tmux: Tmux, project: Project, *args: str) -> None:
    """`orchestrate ARGS` (no args: the board) in the project, in a tmux window."""
    env = {"TERM": "xterm-256color", "COLUMNS": str(WIDTH), "LINES": str(HEIGHT),
           "PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
           "ORCHESTRATE_CACHE_DIR": os.environ["ORCHESTRATE_CACHE_DIR"]}
    exports = " ".join(f"{k}={v!s}" for k, v in env.items())
    command = f"cd {project.root} && env {exports} {sys.executable} -m app {' '.join(args)}"
    tmux.run("new-session", "-d", "-s", "board", "-x", str(WIDTH), "-y", str(HEIGHT), command)
    tmux.run("set-option", "-t", "board", "remain-on-exit", "on")


def test_run_key_walks_a_card_to_done_with_the_real_engine(tmux: Tmux,
                                                             tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj", [ready(title="Add login page")], git=True)
    open_board(tmux, project)
    # What the board writes to its terminal, byte for byte (capture-pane shows no OSC).
    raw = tmp_path / "pane.raw"
    tmux.run("pipe-pane", "-o", "-t", "board", f"cat >> {raw}")
    screen = tmux.wait_for(lambda s: "WRK-001" in s and "idle" in s)
    assert column_of(screen, "WRK-001") == 2  # ready
    tmux.keys("r")
    screen = tmux.wait_for(lambda s: column_of(s, "WRK-001") == 5 and "idle" in s
                           .splitlines()[0] and "run finished" in s, timeout=60)
    assert project.store().load().get("WRK-001").status == "done"
    # The bell with a desktop notification: the item done, the run finished.
    written = raw.read_bytes()
    for said in (b"WRK-001 done: Add login page", b"run finished: no more work"):
        assert b"\a\x1b]9;" + said + b"\a\x1b]777;notify;orchestrate;" + said + b"\a" in written
    assert tmux.run("display-message", "-p", "-t", "board", "#{window_bell_flag}").strip() \
        == "1"  # tmux heard the bell
    # The log pane opened and streamed the agent.
    assert "agent · WRK-001 · review · attempt 1" in screen
    # Grooming still works: add an item with the form.
    tmux.keys("a")
    tmux.wait_for(lambda s: "Add an item" in s)
    tmux.run("send-keys", "-t", "board", "-l", "Search box")
    tmux.keys("Enter")
    # Wait for the card itself: the "added" toast names WRK-002 too, at the right edge,
    # and can paint first.
    tmux.wait_for(lambda s: column_of(s, "WRK-002") == 0)
    assert project.store().load().get("WRK-002").title == "Search box"
    tmux.keys("q")
    tmux.wait_for(lambda s: "WRK-" not in s or "Pane is dead" in s, timeout=15)


def test_an_external_edit_and_a_broken_file_show_live(tmux: Tmux, tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj", [ready(title="Add login page")])
    open_board(tmux, project, "board")
    tmux.wait_for(lambda s: "WRK-001" in s and "idle" in s)
    path = project.backlog_path
    good = path.read_text()
    path.write_text(good.replace("status: ready", "status: nonsense"))
    screen = tmux.wait_for(lambda s: "unknown status 'nonsense'" in s, timeout=10)
    assert column_of(screen, "WRK-001") == 2  # the last good board stays
    path.write_text(good.replace("status: ready", "status: scoped"))
    screen = tmux.wait_for(lambda s: column_of(s, "WRK-001") == 1
                           and "nonsense" not in s, timeout=10)
    tmux.keys("q")


def test_demo_runs_on_the_board_and_quit_asks_first(tmux: Tmux, tmp_path: Path) -> None:
    env = f"TERM=xterm-256color PYTHONPATH={Path(__file__).resolve().parents[2]}"
    tmux.run("new-session", "-d", "-s", "board", "-x", str(WIDTH), "-y", str(HEIGHT),
             f"cd {tmp_path} && env {env} {sys.executable} -m app demo --speed 8 "
             f"--dir {tmp_path / 'demo'}; echo EXITED $?; sleep 30")
    # The header leads with the demo label, then the run state.
    tmux.wait_for(lambda s: " running TL-" in s.splitlines()[0] if s else False, timeout=30)
    tmux.keys("q")
    tmux.wait_for(lambda s: "A run is live. Stop it and quit?" in s, timeout=10)
    tmux.keys("y")
    screen = tmux.wait_for(lambda s: "EXITED" in s, timeout=30)
    assert "EXITED 0" in screen
