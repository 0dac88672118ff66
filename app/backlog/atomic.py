"""Replacing a file atomically: a crash leaves the old file or the new one, never a mix.

The new bytes go to a temp file in the same folder (so the rename stays on one file
system), are fsync'd, renamed over the old file, and the folder is fsync'd so the rename
itself survives a power cut. A writer killed before the rename leaves its temp file;
`clean_stale_temps` removes those under the store lock.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

TEMP_MARK = ".tmp-orchestrate-"
"""In the name of every temp file we write: `.BACKLOG.yaml.tmp-orchestrate-PID-THREAD`."""


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves the old or the new file, never a mix."""
    tmp = path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}-{threading.get_ident()}")
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # a full disk: leave no half temp file behind
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def clean_stale_temps(path: Path) -> list[Path]:
    """Remove temp files a crashed writer left (safe only under the store lock)."""
    removed: list[Path] = []
    for tmp in path.parent.glob(f".{path.name}{TEMP_MARK}*"):
        try:
            tmp.unlink()
            removed.append(tmp)
        except FileNotFoundError:
            pass
    return removed
