"""File locks (the store lock and the run lock): exclusive with a deadline, shared for an
instant, and their release.

On POSIX they are `flock(2)` locks taken with `fcntl.flock`, which is exactly what
portalocker does there; calling it directly spares every command portalocker's import
(~30 ms at start: its `__about__` asks importlib.metadata for its version). Elsewhere
portalocker is imported on the first lock. Both lock the same way, so a process of
either kind excludes the other.
"""

from __future__ import annotations

import time
from typing import IO, Any

try:
    import fcntl
except ImportError:  # not POSIX: portalocker's lock of the platform
    fcntl = None  # type: ignore[assignment]


class _Busy(Exception):
    """Another process holds the lock."""


def _lock(fh: IO[Any], shared: bool) -> None:
    """Take the lock without waiting, or raise _Busy."""
    if fcntl is not None:
        try:
            fcntl.flock(fh.fileno(), (fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
                        | fcntl.LOCK_NB)
        except (OSError, EOFError):  # held (EAGAIN, EACCES), or no lock to be had: as
            raise _Busy from None  # portalocker, which raised LockException for every one
        return
    import portalocker

    kind = portalocker.LockFlags.SHARED if shared else portalocker.LockFlags.EXCLUSIVE
    try:
        portalocker.lock(fh, kind | portalocker.LockFlags.NON_BLOCKING)
    except portalocker.LockException:
        raise _Busy from None


def unlock(fh: IO[Any]) -> None:
    """Release a lock taken by `lock_exclusive` or `try_shared` (closing `fh` does too)."""
    if fcntl is not None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return
    import portalocker

    portalocker.unlock(fh)


def lock_exclusive(fh: IO[Any], wait_s: float, poll_s: float) -> bool:
    """Try for up to `wait_s` to hold an exclusive lock on `fh`; False if another holds it.

    Non-blocking tries with a short sleep, rather than a blocking flock, so that a stuck
    holder turns into a clear message instead of a hang.
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            _lock(fh, shared=False)
            return True
        except _Busy:
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll_s)


def try_shared(fh: IO[Any]) -> bool:
    """Take a shared lock on `fh` now if nobody holds an exclusive one; False if one does."""
    try:
        _lock(fh, shared=True)
    except _Busy:
        return False
    return True
