"""An item's checkpoint commits read back from git: which they are, what each changed
(`git show --stat`) and its whole diff, with every line's kind for colouring.

checkpoint.py writes one commit per completed phase, `[WRK-001][PRD] summary`; this
module only reads them, for `orchestrate show --diff` and the board's checkpoints view.
A checkpoint made on a lane's branch counts as soon as the branch exists, so commits are
looked for from HEAD and every local branch. Git runs with an argv (never a shell), no
colour, no pager, no external diff or textconv program: only git's own words come back.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path

from app.errors import OrchestrateError
from app.structs import Struct

MAX_DIFF_LINES = 20_000
"""The board shows a diff up to this many lines (then says how to see the rest)."""

_SEP = "\x1f"
_LOG_FORMAT = "%H%x1f%h%x1f%cI%x1f%s"
_SUBJECT = re.compile(r"^\[(?P<id>[^\]]+)\](?:\[(?P<phase>[A-Za-z]+)\])?\s*(?P<summary>.*)$")


class Checkpoint(Struct, frozen=True):
    """One checkpoint commit."""

    commit: str
    """The full hash."""
    short: str
    """The abbreviated hash (`a1b2c3d`)."""
    date: str
    """The committer date, ISO 8601 (`2026-11-22T10:02:03+00:00`)."""
    subject: str
    """The whole first line (`[WRK-001][PRD] PRD written`)."""
    phase: str | None
    """The phase of the tag, lower case (`prd`), or None for a commit without one."""
    summary: str
    """The subject after the tags."""

    @property
    def when(self) -> str:
        """The date to the minute, as a person reads it (`2026-11-22 10:02`)."""
        return self.date[:16].replace("T", " ")


class CheckpointLog(Struct, frozen=True):
    """An item's checkpoints, oldest first, or why none can be read."""

    checkpoints: tuple[Checkpoint, ...] = ()
    unavailable: str | None = None
    """Why git cannot be asked (not a repository, git missing); None when it was asked."""


class Diff(Struct, frozen=True):
    """A commit as `git show` prints it, up to a number of lines."""

    lines: tuple[str, ...]
    cut: bool = False
    """Whether git had more lines than these."""


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
    return env


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-c", "core.quotepath=off", *args], cwd=root,
                          capture_output=True, check=False, env=_environment())


def _said(proc: subprocess.CompletedProcess[bytes]) -> str:
    words = proc.stderr.decode("utf-8", errors="replace").split("\n")
    return " | ".join(w.strip() for w in words if w.strip())[-300:] or f"exit {proc.returncode}"


def checkpoints(root: Path, item_id: str) -> CheckpointLog:
    """The checkpoint commits of `item_id` reachable from HEAD or a local branch, oldest
    first: the commits whose subject starts with `[ITEM-ID]`."""
    try:
        head = _git(root, "rev-parse", "--verify", "-q", "HEAD")
    except OSError:
        return CheckpointLog(unavailable="git is not installed")
    if head.returncode != 0:
        if _git(root, "rev-parse", "--git-dir").returncode != 0:
            return CheckpointLog(unavailable="not in a git repository")
        return CheckpointLog()  # a repository without commits yet
    tag = f"[{item_id}]"
    proc = _git(root, "log", "--fixed-strings", f"--grep={tag}", f"--format={_LOG_FORMAT}",
                "--reverse", "HEAD", "--branches", "--")
    if proc.returncode != 0:
        return CheckpointLog(unavailable=f"git log failed: {_said(proc)}")
    found: list[Checkpoint] = []
    for line in proc.stdout.decode("utf-8", errors="replace").splitlines():
        parts = line.split(_SEP, 3)
        if len(parts) != 4 or not parts[3].startswith(tag):
            continue  # the tag elsewhere in the message: not a checkpoint of this item
        full, short, date, subject = parts
        match = _SUBJECT.match(subject)
        phase = match.group("phase") if match else None
        summary = match.group("summary") if match else subject
        found.append(Checkpoint(full, short, date, subject,
                                phase.lower() if phase else None, summary))
    return CheckpointLog(tuple(found))


def _show_args(commit: str, width: int, patch: bool) -> list[str]:
    # -m --first-parent: a merge shows what it brought to its branch, as any commit does.
    return ["show", "--no-color", "--no-ext-diff", "--no-textconv", "-m", "--first-parent",
            "--format=medium", f"--stat={max(width, 40)}", *(["--patch"] if patch else []),
            commit, "--"]


def stat(root: Path, commit: str, width: int = 80) -> str:
    """`git show --stat` of `commit`: its header, message and the files it changed."""
    proc = _git(root, *_show_args(commit, width, patch=False))
    if proc.returncode != 0:
        raise OrchestrateError(f"cannot show commit {commit}: {_said(proc)}")
    return proc.stdout.decode("utf-8", errors="replace").rstrip("\n")


def diff_lines(root: Path, commit: str, width: int = 80) -> Generator[str, None, None]:
    """`git show --stat --patch` of `commit`, line by line as git writes them (so a huge
    diff is never held whole); stopping early ends git. OrchestrateError when git fails."""
    return _stream(root, _show_args(commit, width, patch=True), f"cannot show commit {commit}")


def branch_diff_lines(root: Path, branch: str, width: int = 80
                      ) -> Generator[str, None, None]:
    """What `branch` changed since it left the checked-out branch (`git diff HEAD...BRANCH`,
    stat then patch): the whole of a lane's work, as a review reads it."""
    args = ["diff", "--no-color", "--no-ext-diff", "--no-textconv", f"--stat={max(width, 40)}",
            "--patch", f"HEAD...refs/heads/{branch}", "--"]
    return _stream(root, args, f"cannot diff {branch}")


def _stream(root: Path, args: list[str], failing: str) -> Generator[str, None, None]:
    """git's output line by line; stopping early ends git; OrchestrateError(`failing: …`)
    when git fails."""
    try:
        proc = subprocess.Popen(["git", "-c", "core.quotepath=off", *args],
                                cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=_environment())
    except OSError as exc:
        raise OrchestrateError(f"{failing}: git: {exc.strerror}") from exc
    assert proc.stdout is not None and proc.stderr is not None
    finished = False
    try:
        for raw in proc.stdout:
            yield raw.decode("utf-8", errors="replace").rstrip("\r\n")
        finished = True
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        error = proc.stderr.read().decode("utf-8", errors="replace").strip()
        proc.stderr.close()
        code = proc.wait()
    if finished and code != 0:
        said = " | ".join(line for line in error.splitlines() if line.strip())[-300:]
        raise OrchestrateError(f"{failing}: {said or f'exit {code}'}")


def diff(root: Path, commit: str, width: int = 80,
         max_lines: int = MAX_DIFF_LINES) -> Diff:
    """The first `max_lines` lines of `git show --stat --patch` of `commit`."""
    return first_lines(diff_lines(root, commit, width), max_lines)


def first_lines(stream: Generator[str, None, None], max_lines: int = MAX_DIFF_LINES) -> Diff:
    """The first `max_lines` lines of a diff's stream (git is ended after them)."""
    lines: list[str] = []
    try:
        for line in stream:
            if len(lines) == max_lines:
                return Diff(tuple(lines), cut=True)
            lines.append(line)
    finally:
        stream.close()
    return Diff(tuple(lines))


_META = ("Author:", "AuthorDate:", "Commit:", "CommitDate:", "Date:", "Merge:")
_SUMMARY = re.compile(r"^ \d+ files? changed")
_COMMIT = re.compile(r"^commit [0-9a-f]{7,}")

_STAT_GRAPH = re.compile(r"^(.* \| +\d+ )(\+*)(-*)$")


def stat_graph(line: str) -> tuple[str, str, str] | None:
    """A stat line (` login.py |  4 ++--`) as its name and count, its pluses and its
    minuses; None for another line (`Bin 0 -> 12 bytes` too)."""
    match = _STAT_GRAPH.match(line)
    return None if match is None else (match[1], match[2], match[3])


KINDS = ("commit", "meta", "message", "stat", "summary", "file", "hunk", "added",
         "removed", "context")
"""Every kind `line_kinds` gives a line: `file` is a file's header (`diff --git`, `index`,
`---`, `+++`, modes, renames), `meta` the commit's (`Author:`, `Date:`) and git's notes
(`\\ No newline at end of file`)."""


def line_kinds(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(kind, line) for each line of `git show --stat --patch` output (see KINDS).

    The same character means different things in a commit's header and in its patch (a
    stat line and a context line both start with a space), so the kinds follow where the
    text is: the header until the first `diff --git`, then each file's header until its
    first hunk, then the hunks.
    """
    in_patch = in_file_header = False
    for line in lines:
        if _COMMIT.match(line):
            in_patch = in_file_header = False
            yield "commit", line
        elif line.startswith("diff --git ") or line.startswith("diff --cc "):
            in_patch = in_file_header = True
            yield "file", line
        elif not in_patch:
            if line.startswith(_META):
                yield "meta", line
            elif line.startswith("    "):
                yield "message", line
            elif _SUMMARY.match(line):
                yield "summary", line
            elif line.startswith(" ") and " | " in line:
                yield "stat", line
            else:
                yield "context", line
        elif line.startswith("@@"):
            in_file_header = False
            yield "hunk", line
        elif in_file_header:
            yield "file", line
        elif line.startswith("\\"):  # `\ No newline at end of file`
            yield "meta", line
        elif line.startswith("+"):
            yield "added", line
        elif line.startswith("-"):
            yield "removed", line
        else:
            yield "context", line
