"""Ending the board's process while its own run is live, as a person does: closing its
terminal (`tmux kill-session`, or the pty's other side closed: SIGHUP, and the terminal
gone) or `kill` (SIGTERM). The board must stop the agent, record the attempt as
interrupted, free the run lock, and exit (129 / 143): the agent must never run on
unsupervised.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, stored_item
from engine_helpers import alive, make_project, ready, wait_for, worklog_entries

from app.engine.project import Project
from app.engine.runlock import holder_pid, read_run_state

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


class Session:
    """One tmux server (own socket) with one session, `board`."""

    def __init__(self) -> None:
        self.tmux = ["tmux", "-L", f"orch-bhup-{uuid.uuid4().hex[:8]}"]

    def run(self, *args: str) -> str:
        return subprocess.run([*self.tmux, *args], capture_output=True, text=True,
                              timeout=10).stdout

    def open_board(self, project: Project, tail: str = "") -> None:
        """`orchestrate -C DIR` (the board) as the session's process (exec: as in a
        terminal, where the shell hands the hang-up on to it)."""
        env = {**os.environ, "TERM": "xterm-256color", "PYTHONPATH": str(REPO)}
        board = f"{sys.executable} -m app -C {project.root}"
        command = f"{board}{tail}" if tail else f"exec {board}"
        subprocess.run([*self.tmux, "new-session", "-d", "-s", "board", "-x", "120", "-y",
                        "36", command], check=True, timeout=10, env=env)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "board")


@pytest.fixture
def session() -> Iterator[Session]:
    server = Session()
    yield server
    server.run("kill-server")


def run_in_the_board(session: Session, project: Project) -> tuple[int, int]:
    """Press `r` once the board shows the card; the (board, agent) pids once it runs."""
    wait_for(lambda: "WRK-001" in session.screen() and "idle" in session.screen(), timeout=30)
    session.run("send-keys", "-t", "board", "r")
    state = wait_for(lambda: read_run_state(project).get("agent_pid") and
                     read_run_state(project), timeout=30)
    board, agent = int(state["pid"]), int(state["agent_pid"])
    assert alive(board) and alive(agent)
    assert holder_pid(project) == board  # the board itself runs it, in its own process
    return board, agent


def assert_stopped_and_recorded(project: Project, agent: int) -> None:
    assert not alive(agent)
    assert [e["outcome"] for e in worklog_entries(project)] == ["interrupted"]
    assert stored_item(project).phase == "prd"  # resumable where it was
    assert holder_pid(project) is None


def test_closing_the_boards_terminal_stops_its_run_and_its_agent(session: Session,
                                                                 tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"prd": {"1": "hang"}},
                           agent={"kill_grace_s": 1})
    session.open_board(project)
    board, agent = run_in_the_board(session, project)
    started = time.monotonic()
    session.run("kill-session", "-t", "board")
    wait_for(lambda: not alive(board), timeout=30)
    # It waited for its engine (the agent's kill grace), but not much longer.
    assert time.monotonic() - started < 1 + 5 + 5
    assert_stopped_and_recorded(project, agent)


def test_a_hung_up_board_exits_129(tmp_path: Path) -> None:
    """The board on a terminal of its own (a pty it controls): closing the terminal's
    side hangs it up (SIGHUP; writes fail with EIO from then on). Its exit code is 129."""
    project = make_project(tmp_path / "p", [ready()], script={"prd": {"1": "hang"}},
                           agent={"kill_grace_s": 1})
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))

    def take_the_terminal() -> None:  # runs in the child, a new session's leader
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    env = {**os.environ, "TERM": "xterm-256color", "PYTHONPATH": str(REPO)}
    board = subprocess.Popen([sys.executable, "-m", "app", "-C", str(project.root)],
                             stdin=slave, stdout=slave, stderr=slave, env=env,
                             start_new_session=True, preexec_fn=take_the_terminal)
    os.close(slave)
    screen = bytearray()

    def read_screen() -> bytes:
        # Read all the board wrote: a full pty would hold its frames, and it, up.
        while select.select([master], [], [], 0)[0]:
            screen.extend(os.read(master, 65536))
        return bytes(screen)

    def agent_pid() -> int | None:
        read_screen()
        pid = read_run_state(project).get("agent_pid")
        return int(pid) if pid else None

    open_master = True
    try:
        wait_for(lambda: b"WRK-001" in read_screen(), timeout=30)
        time.sleep(0.5)  # keys count once the first frame is up
        os.write(master, b"r")
        agent = wait_for(agent_pid, timeout=30)
        os.close(master)  # the terminal is gone
        open_master = False
        assert board.wait(timeout=20) == 129
        assert_stopped_and_recorded(project, agent)
    finally:
        if open_master:
            os.close(master)
        if board.poll() is None:
            board.kill()
            board.wait()


def test_sigterm_stops_the_boards_run_and_exits_143(session: Session, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"prd": {"1": "hang"}},
                           agent={"kill_grace_s": 1})
    session.open_board(project, tail="; echo EXITED $?; sleep 30")
    board, agent = run_in_the_board(session, project)
    os.kill(board, 15)
    wait_for(lambda: "EXITED" in session.screen(), timeout=30)
    assert "EXITED 143" in session.screen()
    assert_stopped_and_recorded(project, agent)
