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
    """Replace `path` with `data` so that a crash leaves the old or the new file, never a mix.

    A symlink is written through: the temp file goes beside the file it points at and is
    renamed onto that file, so the link stays a link (a BACKLOG.yaml kept in a notes
    repository keeps getting the updates). The file's mode and group are kept (as far as
    we may: a group we are not in is left to the system's default).
    """
    target = Path(os.path.realpath(path))
    tmp = target.with_name(f".{target.name}{TEMP_MARK}{os.getpid()}-{threading.get_ident()}")
    try:
        old = target.stat()
    except FileNotFoundError:
        old = None
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        try:
            # The umask would turn a group-writable 664 into 644: set the mode itself.
            os.fchmod(fd, old.st_mode & 0o7777 if old is not None else 0o666 & ~_umask())
            if old is not None and old.st_gid != os.getegid():
                with contextlib.suppress(PermissionError):
                    os.fchown(fd, -1, old.st_gid)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):  # a full disk: leave no half temp file behind
            os.unlink(tmp)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _umask() -> int:
    """The process's umask: from /proc (setting it to read it races with other threads
    creating files), else by setting it and setting it back."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def clean_stale_temps(path: Path) -> list[Path]:
    """Remove temp files a crashed writer left (safe only under the store lock)."""
    removed: list[Path] = []
    target = Path(os.path.realpath(path))  # temp files sit beside a symlink's target
    for tmp in target.parent.glob(f".{target.name}{TEMP_MARK}*"):
        try:
            tmp.unlink()
            removed.append(tmp)
        except FileNotFoundError:
            pass
    return removed
