"""Reading an item back: its dependencies both ways, its change documents in phase order,
SPEC.md's progress, and its checkpoint commits with their stat and diff from a real git
repository."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import make_project, run_git

from app.backlog.model import Backlog, Item
from app.engine import changes, commits, dependencies
from app.engine.checkpoint import Checkpointer
from app.errors import OrchestrateError


def backlog(*items: Item) -> Backlog:
    return Backlog(1, "WRK", items, len(items) + 1)


# --- dependencies -----------------------------------------------------------------------------
def test_an_item_waits_on_what_is_not_done_and_lists_who_needs_it() -> None:
    b = backlog(Item("WRK-001", "a", "done"), Item("WRK-002", "b", "in_progress", "build"),
                Item("WRK-003", "c", "ready", depends_on=("WRK-001", "WRK-002", "WRK-099")),
                Item("WRK-004", "d", "new", depends_on=("WRK-002",)))
    item = b.get("WRK-003")
    assert dependencies.waits_on(b, item) == ("WRK-002", "WRK-099")  # unknown ids wait too
    assert dependencies.needed_by(b, "WRK-002") == ("WRK-003", "WRK-004")
    assert dependencies.needed_by(b, "WRK-004") == ()
    assert dependencies.dependency_states(b, item) == (
        ("WRK-001", "done"), ("WRK-002", "in progress · build"), ("WRK-099", "no such item"))


# --- documents and SPEC progress --------------------------------------------------------------
def item_with_folder(root: Path, files: dict[str, str]) -> Item:
    item = Item("WRK-001", "Add login", "in_progress", "build")
    folder = root / item.change_dir
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return item


def test_documents_come_in_phase_order_then_alphabetically(tmp_path: Path) -> None:
    item = item_with_folder(tmp_path, {
        "notes.md": "n", "SPEC.md": "s", "prd.md": "p", "REVIEW.md": "r", "Design.md": "d",
        "RESEARCH.md": "x", "api/zeta.md": "z", "api/alpha.md": "a", "data.json": "{}",
        ".hidden.md": "h", ".cache/x.md": "c"})
    names = [d.name for d in changes.read_documents(tmp_path, item)]
    assert names == ["prd.md", "RESEARCH.md", "Design.md", "SPEC.md", "REVIEW.md",
                     "notes.md", "api/alpha.md", "api/zeta.md"]
    first = changes.read_documents(tmp_path, item)[0]
    assert first.path == f"{item.change_dir}/prd.md" and first.text == "p" and not first.cut


def test_a_long_document_is_cut_and_says_so(tmp_path: Path) -> None:
    item = item_with_folder(tmp_path, {"PRD.md": "x" * 50 + "é"})
    (doc,) = changes.read_documents(tmp_path, item, max_bytes=40)
    assert doc.cut and doc.text == "x" * 40
    (whole,) = changes.read_documents(tmp_path, item, max_bytes=None)
    assert not whole.cut and whole.text.endswith("é")


def test_no_change_folder_means_no_documents(tmp_path: Path) -> None:
    assert changes.read_documents(tmp_path, Item("WRK-001", "a", "ready")) == ()


def test_spec_progress_counts_ticked_tasks(tmp_path: Path) -> None:
    item = item_with_folder(tmp_path, {"SPEC.md": (
        "# Spec\n## Phase 1\n- [x] one\n- [X] two\n- [ ] three\n## Phase 2\n- [ ] four\n")})
    progress = changes.spec_progress(tmp_path, item)
    assert progress == changes.SpecProgress(2, 4) and str(progress) == "2/4"
    assert changes.spec_progress(tmp_path, Item("WRK-002", "b", "ready")) is None
    empty = item_with_folder(tmp_path / "other", {"SPEC.md": "# no tasks yet\n"})
    assert changes.spec_progress(tmp_path / "other", empty) is None


# --- checkpoints ------------------------------------------------------------------------------
def checkpointed_project(tmp_path: Path) -> Path:
    """A git project with two checkpoints of WRK-001 (PRD, then build), one of WRK-002 and
    a person's commit that names WRK-001 in its body only."""
    project = make_project(tmp_path / "p", git=True)
    root = project.root
    cp = Checkpointer(root)
    folder = root / "changes" / "WRK-001_add-login"
    before = cp.dirty()
    folder.mkdir(parents=True)
    (folder / "PRD.md").write_text("# PRD\n\nLog in with email.\n")
    assert cp.commit("WRK-001", "prd", "PRD written", before).commit
    before = cp.dirty()
    (root / "login.py").write_text("def login():\n    return True\n")
    assert cp.commit("WRK-002", "prd", "other item", before).commit
    before = cp.dirty()
    (root / "login.py").write_text("def login(user):\n    return user.ok\n")
    assert cp.commit("WRK-001", "build", "login checks the user", before).commit
    (root / "x.txt").write_text("x\n")
    run_git(root, "add", "x.txt")
    run_git(root, "commit", "-q", "-m", "person's commit\n\nsee [WRK-001]")
    return root


def test_checkpoints_are_the_items_commits_oldest_first(tmp_path: Path) -> None:
    root = checkpointed_project(tmp_path)
    log = commits.checkpoints(root, "WRK-001")
    assert log.unavailable is None
    assert [(c.phase, c.summary) for c in log.checkpoints] == [
        ("prd", "PRD written"), ("build", "login checks the user")]
    first = log.checkpoints[0]
    assert first.subject == "[WRK-001][PRD] PRD written"
    assert len(first.commit) == 40 and first.commit.startswith(first.short)
    assert len(first.when) == 16 and first.when[10] == " "
    assert commits.checkpoints(root, "WRK-003").checkpoints == ()


def test_checkpoints_on_a_lane_branch_count_too(tmp_path: Path) -> None:
    root = checkpointed_project(tmp_path)
    run_git(root, "checkout", "-q", "-b", "orchestrate/WRK-003")
    (root / "lane.txt").write_text("lane\n")
    run_git(root, "add", "lane.txt")
    run_git(root, "commit", "-q", "-m", "[WRK-003][DESIGN] on its lane")
    run_git(root, "checkout", "-q", "-")
    assert [c.phase for c in commits.checkpoints(root, "WRK-003").checkpoints] == ["design"]


def test_without_git_history_there_are_none_and_it_says_why(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    log = commits.checkpoints(tmp_path / "plain", "WRK-001")
    assert log.checkpoints == () and "not in a git repository" in (log.unavailable or "")
    run_git(tmp_path / "plain", "init", "-q")
    assert commits.checkpoints(tmp_path / "plain", "WRK-001") == commits.CheckpointLog()


def test_stat_and_diff_of_a_checkpoint(tmp_path: Path) -> None:
    root = checkpointed_project(tmp_path)
    build = commits.checkpoints(root, "WRK-001").checkpoints[1]
    text = commits.stat(root, build.commit)
    assert text.startswith(f"commit {build.commit}")
    assert "login.py" in text and "1 file changed" in text and "+def login(user)" not in text
    whole = commits.diff(root, build.commit)
    assert not whole.cut and "+def login(user):" in whole.lines
    assert "-def login():" in whole.lines
    cut = commits.diff(root, build.commit, max_lines=5)
    assert cut.cut and cut.lines == whole.lines[:5]
    with pytest.raises(OrchestrateError, match="cannot show commit 0000000"):
        commits.stat(root, "0000000")
    with pytest.raises(OrchestrateError, match="cannot show commit 0000000"):
        commits.diff(root, "0000000")


def test_line_kinds_follow_where_the_text_is(tmp_path: Path) -> None:
    root = checkpointed_project(tmp_path)
    build = commits.checkpoints(root, "WRK-001").checkpoints[1]
    kinds = dict((line, kind) for kind, line in
                 commits.line_kinds(commits.diff(root, build.commit).lines))
    assert kinds[f"commit {build.commit}"] == "commit"
    assert kinds["    [WRK-001][BUILD] login checks the user"] == "message"
    assert next(k for line, k in kinds.items() if line.startswith(" login.py")) == "stat"
    assert next(k for line, k in kinds.items() if "1 file changed" in line) == "summary"
    assert kinds["diff --git a/login.py b/login.py"] == "file"
    assert kinds["--- a/login.py"] == "file" and kinds["+++ b/login.py"] == "file"
    assert next(k for line, k in kinds.items() if line.startswith("Author:")) == "meta"
    assert next(k for line, k in kinds.items() if line.startswith("@@")) == "hunk"
    assert kinds["+def login(user):"] == "added" and kinds["-def login():"] == "removed"
    # a context line with ` | ` in a hunk is not a stat line
    lines = ["diff --git a/x b/x", "@@ -1 +1 @@", " a | b", "-c"]
    assert [k for k, _ in commits.line_kinds(lines)] == ["file", "hunk", "context", "removed"]
    assert set(kinds.values()) <= set(commits.KINDS)


def test_stat_graph_splits_a_stat_line_into_name_pluses_and_minuses() -> None:
    assert commits.stat_graph(" changes/x/SPEC.md  |  6 +++---") == (
        " changes/x/SPEC.md  |  6 ", "+++", "---")
    assert commits.stat_graph(" a.py | 10 +++++-") == (" a.py | 10 ", "+++++", "-")
    assert commits.stat_graph(" img.png | Bin 0 -> 12 bytes") is None
    assert commits.stat_graph(" 1 file changed, 2 insertions(+)") is None


@pytest.mark.parametrize("inside", [".", "service"])
def test_an_item_with_a_lane_is_read_from_its_worktree(tmp_path: Path, inside: str) -> None:
    """While a lane's worktree holds the change folder (`.orchestrator/worktrees/<ID>/`,
    where the project sits as in the repository), its documents and SPEC progress are
    the lane's, not the main checkout's older copy."""
    (tmp_path / ".git").mkdir()
    root = tmp_path / inside
    item = item_with_folder(root, {"PRD.md": "old", "SPEC.md": "- [ ] a\n- [ ] b\n"})
    lane = root / ".orchestrator" / "worktrees" / item.id / inside / item.change_dir
    lane.mkdir(parents=True)
    (lane / "PRD.md").write_text("new")
    (lane / "SPEC.md").write_text("- [x] a\n- [ ] b\n")
    assert changes.change_folder(root, item) == lane
    (doc,) = [d for d in changes.read_documents(root, item) if d.name == "PRD.md"]
    assert doc.text == "new"
    assert doc.path == f".orchestrator/worktrees/{item.id}/{inside}/{item.change_dir}/PRD.md" \
        .replace("/./", "/")
    assert changes.spec_progress(root, item) == changes.SpecProgress(1, 2)
    other = Item("WRK-002", "Other", "ready")  # no lane: the project's own folder
    assert changes.change_folder(root, other) == root / other.change_dir
