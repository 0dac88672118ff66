"""The driver's side of Ray: connecting to the cluster (refused before the run, saying what
to do, when Ray is missing, the cluster unreachable or no node offers the resource an
attempt asks for) and sending an attempt's task. Ray is imported here, and only here on
the driver, and only when a run's executor is `ray`.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from app.engine.config import ExecutorConfig
from app.engine.remote import task, workercheck
from app.engine.remote.order import Order
from app.errors import OrchestrateError

INSTALL = ("pip install 'orchestrate[ray]' (the same Ray and Python on this machine and "
           "every node)")


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise OrchestrateError(f"[executor] kind = \"ray\" needs Ray, which is not "
                               f"installed: {INSTALL}") from None
    return ray


CONNECT_TIMEOUT_S = 5.0


def _reachable(ray: Any, address: str) -> None:
    """Raise ConnectionError unless the cluster's head answers on its port: Ray's own
    connect ends the whole process (from C++) when it never does."""
    target = address
    try:
        from ray._private import services  # "auto": RAY_ADDRESS, or the last `ray start`

        target = services.canonicalize_bootstrap_address(target) or ""
    except (ImportError, AttributeError):  # Ray moved it: connect without the check
        return
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ConnectionError(f"no address to connect to (Ray found {target!r})")
    try:
        socket.create_connection((host.strip("[]"), int(port)), CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ConnectionError(f"nothing answers at {host}:{port} ({exc.strerror or exc})"
                              ) from None


class Cluster:
    """A connected Ray cluster, and how an attempt goes to it."""

    def __init__(self, config: ExecutorConfig) -> None:
        self.config = config
        self.ray = _ray()
        # A fresh ray.init() turns token authentication on and writes a token into the
        # home folder unless told; a cluster that wants tokens says so in RAY_AUTH_MODE.
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        address = config.address
        if address.startswith("ray://"):
            raise OrchestrateError(
                f"[executor] address = {address!r}: Ray Client (ray://) cannot stream an "
                "attempt's lines. Run orchestrate on a node of the cluster (`ray start "
                "--address=HEAD:6379 --resources='{\"orchestrate\": 0}'` joins this "
                "machine without taking attempts) and set address = \"HEAD:6379\"")
        try:
            if not self.ray.is_initialized():
                _reachable(self.ray, address)
                self.ray.init(address=address, runtime_env=config.runtime_env or None,
                              logging_level="ERROR", log_to_driver=False,
                              namespace="orchestrate", configure_logging=False)
            total = self.ray.cluster_resources()
        except Exception as exc:  # Ray's ConnectionError, RuntimeError, ValueError, ...
            raise OrchestrateError(
                f"cannot reach the Ray cluster at {address!r} ([executor] address in "
                f"orchestrate.toml): {str(exc).strip().splitlines()[0] if str(exc) else exc!r}"
                ". Start one with `ray start --head --resources='{\"orchestrate\": 2}'`, or "
                "point address at yours") from None
        short = {name: amount for name, amount in config.resources.items()
                 if total.get(name, 0.0) < amount}
        if short:
            wanted = ", ".join(f"{name} {amount:g}" for name, amount in short.items())
            raise OrchestrateError(
                f"no node of the Ray cluster at {address!r} offers what an attempt asks "
                f"({wanted}; [executor] resources): start worker nodes with `ray start "
                f"--address=HEAD:6379 --resources='{{\"orchestrate\": 3}}'`")

    def submit(self, order: Order, bundle: bytes, base: str) -> Any:
        """The attempt's task on a node with the resources: its ObjectRefGenerator."""
        remote = self.ray.remote(task.attempt).options(
            num_cpus=0, resources=dict(self.config.resources), max_retries=0,
            retry_exceptions=False, num_returns="streaming",
            name=f"orchestrate {order.item_id} {order.phase} #{order.attempt}")
        return remote.remote(order, bundle, base)

    def next_message(self, stream: Any) -> dict[str, Any] | None:
        """The task's next message, None once it has no more (blocking)."""
        try:
            ref = next(stream)
        except StopIteration:
            return None
        message = self.ray.get(ref)
        assert isinstance(message, dict)
        return message

    def cancel(self, stream: Any) -> None:
        """Cancel the task: its runner then ends the agent's whole tree (runner.py)."""
        try:
            self.ray.cancel(stream)
        except Exception:  # already finished, or the node is gone: nothing to cancel
            pass

    def cancelled(self, exc: BaseException) -> bool:
        return isinstance(exc, self.ray.exceptions.TaskCancelledError)

    def check_nodes(self, agent_json: str, driver: dict[str, str | None],
                    timeout_s: float = 120.0) -> list[dict[str, Any]]:
        """`orchestrate worker check --cluster`: the check as a task on every live node
        that offers the attempts' resources (it asks none itself, so busy nodes answer)."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        nodes = [node for node in self.ray.nodes() if node.get("Alive") and all(
            node.get("Resources", {}).get(name, 0.0) >= amount
            for name, amount in self.config.resources.items())]
        check = self.ray.remote(workercheck.check_task)
        refs = [check.options(num_cpus=0, max_retries=0, scheduling_strategy=(
            NodeAffinitySchedulingStrategy(node["NodeID"], soft=False))).remote(
                agent_json, driver) for node in nodes]
        results = self.ray.get(refs, timeout=timeout_s)
        return [dict(result) for result in results]
