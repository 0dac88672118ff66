"""The review queue on the real board in a real terminal (tmux), as a person drives it:
a run of two lanes with `merge_when = "review"` leaves both items to review; `v` shows
one's diff, `A` merges it; `X` sends the other back to build with notes."""

from __future__ import annotations

import re
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_board_tmux import WIDTH, Tmux, open_board

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_helpers import make_project, ready, run_git

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]
COLUMNS = 7  # the to-review column is shown: new, scoped, ready, doing, review, blocked, done
REVIEW, DONE, IN_PROGRESS = 4, 6, 3


def column_of(screen: str, item_id: str) -> int | None:
    """Which of the seven columns shows `item_id`'s card."""
    card = re.compile(re.escape(item_id) + r"(?![:\w])")
    for line in screen.splitlines()[1:]:
        match = card.search(line)
        if match:
            return min(COLUMNS - 1, match.start() * COLUMNS // WIDTH)
    return None


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    server = Tmux(f"orch-review-{uuid.uuid4().hex[:8]}")
    yield server
    server.run("kill-server")


def go_to(tmux: Tmux, item_id: str) -> None:
    """Select a card through the palette, as a person finds one by its id."""
    tmux.keys("C-p")
    tmux.wait_for(lambda s: "Search for commands" in s or "board:" in s, timeout=10)
    tmux.keys(item_id)
    tmux.wait_for(lambda s: s.count(item_id) >= 2, timeout=10)
    tmux.keys("Enter")


def test_review_approve_and_reject_on_the_board(tmux: Tmux, tmp_path: Path) -> None:
    script = {"default": "complete",
              "items": {"WRK-001": {"build": {"mode": "complete",
                                              "write": {"feature.txt": "the agent's work\n"}}},
                        "WRK-002": {"build": {"mode": "complete",
                                              "write": {"other.txt": "more work\n"}}}}}
    project = make_project(tmp_path / "proj", [ready(title="Add login page"),
                                               ready(title="Export as CSV")],
                           script=script, git=True,
                           run={"max_parallel": 2, "merge_when": "review"})
    open_board(tmux, project)
    tmux.wait_for(lambda s: "WRK-002" in s and "idle" in s)
    tmux.keys("r")
    screen = tmux.wait_for(lambda s: column_of(s, "WRK-001") == REVIEW
                           and column_of(s, "WRK-002") == REVIEW
                           and s.splitlines()[0].lstrip().startswith("idle"), timeout=90)
    assert "to review" in screen
    go_to(tmux, "WRK-001")
    tmux.keys("v")
    # The diff's stat names what the branch changed; the agent's file among them.
    screen = tmux.wait_for(lambda s: re.search(r"feature\.txt +\| +1 \+", s) is not None,
                           timeout=20)
    assert "WRK-001 · Add login page · waits for your review" in screen
    assert "orchestrate/WRK-001 →" in screen
    tmux.keys("A")  # from its review: merged at once, nothing asked
    screen = tmux.wait_for(lambda s: column_of(s, "WRK-001") == DONE
                           and s.splitlines()[0].lstrip().startswith("idle"), timeout=60)
    assert (project.root / "feature.txt").read_text() == "the agent's work\n"
    assert "Merge orchestrate/WRK-001: [WRK-001]" in run_git(project.root, "log", "--format=%s")
    go_to(tmux, "WRK-002")
    tmux.keys("X")
    tmux.wait_for(lambda s: "Reject WRK-002 → build" in s, timeout=10)
    tmux.keys("the CSV needs a header row")
    tmux.keys("Enter")
    tmux.wait_for(lambda s: column_of(s, "WRK-002") == IN_PROGRESS, timeout=20)
    item = project.store().load().get("WRK-002")
    assert (item.status, item.phase) == ("in_progress", "build")
    assert item.notes == "Sent back from review: the CSV needs a header row"
    assert not (project.root / "other.txt").exists()
    tmux.keys("q")
