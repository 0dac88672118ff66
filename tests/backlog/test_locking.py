"""The store and run locks (app/backlog/locking.py): flock's own, the very locks
portalocker takes on POSIX, so a process of either kind excludes the other."""

from __future__ import annotations

from pathlib import Path

import portalocker
import pytest

from app.backlog import locking


def test_our_exclusive_lock_and_portalockers_exclude_each_other(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with open(path, "a") as ours, open(path, "a") as theirs:
        assert locking.lock_exclusive(ours, 0, 0.001)
        with pytest.raises(portalocker.LockException):
            portalocker.lock(theirs, portalocker.LockFlags.EXCLUSIVE
                             | portalocker.LockFlags.NON_BLOCKING)
        locking.unlock(ours)
        portalocker.lock(theirs, portalocker.LockFlags.EXCLUSIVE
                         | portalocker.LockFlags.NON_BLOCKING)
        assert not locking.lock_exclusive(ours, 0.02, 0.005)  # waited, then gave up
        assert not locking.try_shared(ours)
        portalocker.unlock(theirs)
        assert locking.try_shared(ours)


def test_shared_locks_share_and_keep_an_exclusive_one_out(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with open(path, "a") as a, open(path, "a") as b, open(path, "a") as c:
        assert locking.try_shared(a) and locking.try_shared(b)
        assert not locking.lock_exclusive(c, 0, 0.001)
        locking.unlock(a)
        locking.unlock(b)
        assert locking.lock_exclusive(c, 0, 0.001)
