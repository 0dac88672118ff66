"""git's first answers for a run's checkpoints, asked while Python imports the engine.

A run's checkpoints need where the repository is (`git rev-parse`) and, before the first
phase, what was already dirty (`git status`): two gits, ~7 ms on the way to the first
attempt. `orchestrate run` starts both as soon as it has found its project (`ask_early`)
and imports the engine (~50 ms) while they work; the Checkpointer then takes their
answers (`take`) instead of asking git again. This module imports nothing heavy: it runs
before the engine is imported.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import NamedTuple

REV_PARSE = ("rev-parse", "--show-toplevel", "--git-common-dir", "--absolute-git-dir")
"""The top, where git's locks are, and this checkout's own git folder (Checkpointer)."""
STATUS = ("status", "--porcelain", "-z", "--untracked-files=all")
"""What is dirty (Checkpointer.dirty: porcelain paths are the repository top's)."""


class Answers(NamedTuple):
    """The two gits' answers, and when they were asked."""

    asked_at: float
    """time.monotonic() as both started: the dirty set is at least this old."""
    rev_parse: subprocess.CompletedProcess[bytes]
    status: subprocess.CompletedProcess[bytes]


_asked: dict[Path, tuple[float, subprocess.Popen[bytes], subprocess.Popen[bytes]]] = {}


def _start(root: Path, args: tuple[str, ...]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["git", *args], cwd=root, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def ask_early(root: Path) -> None:
    """Start both gits in `root` and return at once (no git: the Checkpointer says so
    when it asks itself)."""
    key = root.resolve()
    if key in _asked:
        return
    at = time.monotonic()
    try:
        rev_parse = _start(key, REV_PARSE)
    except OSError:
        return
    try:
        status = _start(key, STATUS)
    except OSError:
        _finish(rev_parse)
        return
    _asked[key] = (at, rev_parse, status)


def take(root: Path) -> Answers | None:
    """The answers asked for `root`, once (waiting for the gits if they still work);
    None if none were asked."""
    asked = _asked.pop(root.resolve(), None)
    if asked is None:
        return None
    at, rev_parse, status = asked
    return Answers(at, _finish(rev_parse), _finish(status))


def _finish(proc: subprocess.Popen[bytes]) -> subprocess.CompletedProcess[bytes]:
    out, err = proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
