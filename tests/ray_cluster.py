"""A real Ray cluster on 127.0.0.1 for the tests: a head (which takes no attempt) and two
worker nodes offering the `orchestrate` resource, each with a temp folder of its own
under the folder given. `python tests/ray_cluster.py FOLDER`; it prints one JSON line
(the address and the nodes), then obeys its stdin, a command a line:

    kill NODE_ID   end that node at once (its raylet and workers), as a dead machine
    add            one more worker node
    (EOF)          end the whole cluster

Ray's own cluster_utils starts the nodes (a `ray start` of a second node on this machine
refuses loopback, or resolves it to the machine's address). RAY_ENABLE_WINDOWS_OR_OSX_
CLUSTER=0 keeps every address 127.0.0.1; write_ray_address would write /tmp/ray.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import ray._private.utils  # after the environment it reads

ray._private.utils.write_ray_address = lambda *args, **kwargs: None  # not /tmp/ray
from ray.cluster_utils import Cluster  # noqa: E402

NODE: dict[str, Any] = {"num_cpus": 2, "node_ip_address": "127.0.0.1", "include_dashboard": False,
        "object_store_memory": 80 * 1024 * 1024}


def main(folder: Path) -> int:
    cluster: Any = Cluster(initialize_head=True, shutdown_at_exit=True, head_node_args={
        **NODE, "num_cpus": 1, "temp_dir": str(folder / "head")})
    count = 0

    def add() -> str:
        nonlocal count
        count += 1
        node = cluster.add_node(**NODE, resources={"orchestrate": 2},
                                temp_dir=str(folder / f"worker-{count}"))
        return str(node.node_id)

    nodes = [add(), add()]
    print(json.dumps({"address": cluster.address, "nodes": nodes}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["kill"]:
            for node in list(cluster.worker_nodes):
                if node.node_id == words[1]:
                    cluster.remove_node(node, allow_graceful=False)
            print(json.dumps({"killed": words[1]}), flush=True)
        elif words[:1] == ["add"]:
            print(json.dumps({"added": add()}), flush=True)
    cluster.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1])))
