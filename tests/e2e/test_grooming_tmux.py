"""The board's edit form in a real terminal (tmux): `e`, a new title typed, Enter, and
BACKLOG.yaml holds it; `z` then takes it back. Helpers as in test_board_tmux.py."""

from __future__ import annotations

import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_board_tmux import Tmux, column_of, open_board

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_helpers import make_project, ready

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


@pytest.fixture
def terminal() -> Iterator[Tmux]:
    server = Tmux(f"orch-groom-{uuid.uuid4().hex[:8]}")
    yield server
    server.run("kill-server")


def wait_for_file(path: Path, text: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    content = ""
    while time.monotonic() < deadline:
        content = path.read_text()
        if text in content:
            return content
        time.sleep(0.1)
    raise AssertionError(f"{path.name} never held {text!r}:\n{content}")


def test_e_edits_a_cards_title_by_keys_and_z_takes_it_back(terminal: Tmux,
                                                             tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj", [ready(title="Add login page")])
    open_board(terminal, project)
    screen = terminal.wait_for(lambda s: "WRK-001" in s and "idle" in s)
    assert column_of(screen, "WRK-001") == 2
    terminal.keys("e")
    terminal.wait_for(lambda s: "Edit WRK-001" in s and "Enter saves" in s)
    terminal.keys("C-u")  # the title field has the cursor at its end: clear it
    # Type only once the field is seen empty: its focus is surely set (under load the
    # form can paint before it focuses its field, and letters would reach the board).
    terminal.wait_for(lambda s: "Add login page" not in s.split("Edit WRK-001", 1)[-1])
    terminal.run("send-keys", "-t", "board", "-l", "Sign in with a passkey")
    terminal.wait_for(lambda s: "Sign in with a passkey" in s)
    terminal.keys("Enter")
    text = wait_for_file(project.backlog_path, "title: Sign in with a passkey")
    assert "Add login page" not in text
    terminal.wait_for(lambda s: "Sign in with a" in s and "Edit WRK-001" not in s)
    terminal.keys("z")
    wait_for_file(project.backlog_path, "title: Add login page")
    terminal.wait_for(lambda s: "undid the edit of WRK-001" in s)
    terminal.keys("q")


def order(project_path: Path) -> list[str]:
    """The item ids in BACKLOG.yaml's order."""
    text = project_path.read_text()
    return [line.split("id: ", 1)[1].strip() for line in text.splitlines()
            if line.startswith("  - id: ")]


def wait_for_order(path: Path, expected: list[str], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while order(path) != expected:
        assert time.monotonic() < deadline, path.read_text()
        time.sleep(0.1)


def test_shift_down_and_up_in_a_real_terminal_move_the_card_in_the_file(
        terminal: Tmux, tmp_path: Path) -> None:
    """tmux sends shift+down/up as xterm does (CSI 1;2B, CSI 1;2A): the board hears them.
    The board opens with WRK-001 selected: no key is needed to choose it."""
    project = make_project(tmp_path / "proj", [ready(title="First"), ready(title="Second")])
    open_board(terminal, project)
    terminal.wait_for(lambda s: "WRK-002" in s and "idle" in s)
    terminal.keys("S-Down")
    wait_for_order(project.backlog_path, ["WRK-002", "WRK-001"])
    terminal.keys("S-Up")  # the selection moved with the card: it goes back up
    wait_for_order(project.backlog_path, ["WRK-001", "WRK-002"])
    terminal.keys("q")
