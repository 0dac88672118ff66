"""A local Ray cluster as a child process (tests/ray_cluster.py: a head and two worker
nodes on 127.0.0.1), for the tests (ray_helpers.py's fixture) and the bench
(bench/remote.py): its address and nodes, its commands, and its end, by pid, of every
process it started. Standard library only (no pytest, no Ray: Ray reads its environment
at import, which must be RAY_ENV's first)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tests" / "ray_cluster.py"
KEEP = "ORCHESTRATE_DETACHED"
"""app/engine/fence.py's KEEP_VAR."""
MARK = "ORCHESTRATE_RAY_CLUSTER_MARK"
"""Every process of the cluster carries it in its environment: how the end finds them
all, the ones Ray started in sessions of their own too."""
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled",
           "RAY_USAGE_STATS_ENABLED": "0"}
"""ENABLE_WINDOWS_OR_OSX_CLUSTER=0 makes Ray take 127.0.0.1 as this machine's address,
where the cluster's nodes are (else a driver looks for its node at the machine's own
address and waits for it); no token authentication, no usage report."""


class LocalCluster:
    """The running cluster script: its address, its worker nodes, and its commands. Its
    folder holds the nodes' temp folders (keep its path short: Ray's unix sockets live
    under it, and a socket's path may not pass 107 bytes) and Ray's words
    (`cluster.err`)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.mark = uuid.uuid4().hex
        self.folder = folder
        # KEEP: a child of ours in a session of its own, which a run in this process
        # (its subreaper) would otherwise take for an agent's escaped daemon and end
        # (fence.adopted), cluster and all.
        env = {**os.environ, MARK: self.mark, "PYTHONPATH": str(REPO), **RAY_ENV,
               "TMPDIR": str(folder), KEEP: "1"}
        with (folder / "cluster.err").open("w") as err:
            self.proc = subprocess.Popen([sys.executable, str(SCRIPT), str(folder)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=err, text=True, env=env,
                                         start_new_session=True)
        first = self._read()
        self.address: str = first["address"]
        self.nodes: list[str] = list(first["nodes"])

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            said = (self.folder / "cluster.err").read_text(errors="replace").splitlines()
            self.end()
            raise RuntimeError("the local Ray cluster (tests/ray_cluster.py) did not "
                               "start: " + "\n".join(said[-15:]))
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
