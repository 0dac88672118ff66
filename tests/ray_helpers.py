"""The tests' Ray cluster (tests/ray_cluster.py): one for the session (conftest.py holds
the fixture; the tests that use it share an xdist worker), started only when a test asks
for it, ended by pid with everything it started."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
MARK = "ORCHESTRATE_TEST_RAY_CLUSTER"
"""Every process of the cluster carries it in its environment: how the teardown finds
them all, the ones Ray started in sessions of their own too."""

HAS_RAY = importlib.util.find_spec("ray") is not None
"""Not imported here: Ray reads its environment once, at import, and the drivers these
tests start (in this process and in subprocesses) must see the fixture's (127.0.0.1, no
token authentication) first."""
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled",
           "RAY_USAGE_STATS_ENABLED": "0"}
"""ENABLE_WINDOWS_OR_OSX_CLUSTER=0 makes Ray take 127.0.0.1 as this machine's address,
where the test cluster's nodes are: otherwise a driver looks for its node at the
machine's own address and waits for it."""

RAY_GROUP = pytest.mark.xdist_group("ray")
"""The tests that use the cluster run in one xdist worker (pyproject: --dist loadgroup),
so one cluster serves them all: it takes seconds and a few hundred MB to start."""

needs_ray = pytest.mark.skipif(not HAS_RAY, reason="Ray is not installed: pip install "
                                                   "'orchestrate[ray]' (.ci/run does)")


class LocalCluster:
    """The running cluster script: its address, its worker nodes, and its commands."""

    def __init__(self, folder: Path) -> None:
        self.mark = uuid.uuid4().hex
        self.folder = folder
        env = {**os.environ, MARK: self.mark, "PYTHONPATH": str(REPO), **RAY_ENV,
               "TMPDIR": str(folder)}
        self.proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "ray_cluster.py"),
                                      str(folder)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=(folder / "cluster.err").open("w"), text=True, env=env,
                                     start_new_session=True)
        first = self._read()
        self.address: str = first["address"]
        self.nodes: list[str] = list(first["nodes"])

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, "the test cluster did not start: " + "".join(
            (self.folder / "cluster.err").read_text().splitlines(True)[-15:])
        data = json.loads(line)
        assert isinstance(data, dict)
        return data

    def _say(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._read()

    def kill_node(self, node_id: str) -> None:
        """End a worker node at once, then add another so later tests have two."""
        self._say(f"kill {node_id}")
        self.nodes.remove(node_id)
        self.nodes.append(self._say("add")["added"])

    def end(self) -> None:
        """The cluster ended: asked, then by pid, every process that carries its mark."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        deadline = time.monotonic() + 10
        while (left := marked(self.mark)) and time.monotonic() < deadline:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)


def marked(mark: str) -> list[int]:
    """The live processes whose environment carries the cluster's mark."""
    needle = f"{MARK}={mark}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


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
