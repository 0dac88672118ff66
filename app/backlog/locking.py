"""Taking an exclusive file lock with a deadline (the store lock and the run lock)."""

from __future__ import annotations

import time
from typing import IO, Any

import portalocker


def lock_exclusive(fh: IO[Any], wait_s: float, poll_s: float) -> bool:
    """Try for up to `wait_s` to hold an exclusive lock on `fh`; False if another holds it.

    Non-blocking tries with a short sleep, rather than a blocking flock, so that a stuck
    holder turns into a clear message instead of a hang.
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            portalocker.lock(fh, portalocker.LockFlags.EXCLUSIVE
                             | portalocker.LockFlags.NON_BLOCKING)
            return True
        except portalocker.LockException:
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll_s)
