"""The tests' Ray cluster (tests/ray_cluster.py): one for the session (conftest.py holds
the fixture; the tests that use it share an xdist worker), started only when a test asks
for it, ended by pid with everything it started."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ray_local import RAY_ENV, LocalCluster

__all__ = ["RAY_ENV", "LocalCluster", "needs_ray", "ray_cluster", "ray_executor"]

HAS_RAY = importlib.util.find_spec("ray") is not None
"""Not imported here: Ray reads its environment once, at import, and the drivers these
tests start (in this process and in subprocesses) must see the fixture's (127.0.0.1, no
token authentication) first."""

RAY_GROUP = pytest.mark.xdist_group("ray")
"""The tests that use the cluster run in one xdist worker (pyproject: --dist loadgroup),
so one cluster serves them all: it takes seconds and a few hundred MB to start."""

needs_ray = pytest.mark.skipif(not HAS_RAY, reason="Ray is not installed: pip install "
                                                   "'orchestrate[ray]' (.ci/run does)")


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[LocalCluster]:
    if not HAS_RAY:
        pytest.skip("Ray is not installed: pip install 'orchestrate[ray]' (.ci/run does)")
    if "ray" in sys.modules and os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER") != "0":
        pytest.fail("Ray was imported before the ray_cluster fixture set its environment")
    saved = {key: os.environ.get(key) for key in RAY_ENV}
    os.environ.update(RAY_ENV)
    # A short folder of its own: Ray's sockets live under it, and a unix socket's path
    # may not pass 107 bytes (pytest's own temp paths under xdist do).
    folder = Path(tempfile.mkdtemp(prefix="ray-"))
    cluster = LocalCluster(folder)
    try:
        yield cluster
    finally:
        if "ray" in sys.modules and sys.modules["ray"].is_initialized():
            sys.modules["ray"].shutdown()
        cluster.end()
        shutil.rmtree(folder, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def ray_executor(cluster: LocalCluster) -> dict[str, Any]:
    """orchestrate.toml's [executor] table for the test cluster."""
    return {"kind": "ray", "address": cluster.address, "resources": {"orchestrate": 1}}
