"""What travels with a remote attempt, and what comes back: plain, picklable records.

`Order` is the attempt as the driver sends it (everything but the checkout, which goes
as a bundle); `spec_in` turns it into the AttemptSpec of a local attempt on the worker.
The runner and the task speak in `Message`s, one JSON object a line.
"""

from __future__ import annotations

import base64
import json
import pickle
from pathlib import Path
from typing import Any

from app.engine import agents
from app.engine.agent_process import AttemptSpec
from app.engine.events import AgentLine
from app.engine.outcome import ProcessOutcome
from app.engine.pricing import Price
from app.structs import Struct, field


class Merge(Struct, frozen=True):
    """A merge in progress in the lane, as the node re-creates it: what is merged in,
    and the index's unmerged entries (`git ls-files -u`: their blobs are in commits the
    bundle holds), so the agent there sees the conflicts as git shows them here."""

    merge_head: str
    unmerged: str


class Order(Struct, frozen=True):
    """One attempt as a worker needs it."""

    item_id: str
    phase: str
    attempt: int
    prompt: str
    command: tuple[str, ...]
    """The agent's command with `{prompt}` still in it."""
    kind: str
    """Which CLI (its reader is the worker's own)."""
    change_dir: str
    """The item's change folder, relative to the project."""
    result_name: str
    """`WRK-001_prd_1.json`, in the project's `.orchestrator/results/` on the worker."""
    timeout_s: float
    kill_grace_s: float
    token: str
    env: dict[str, str] = field(default_factory=dict)
    price: Price | None = None
    idle_timeout_s: float | None = None
    branch: str | None = None
    """The lane's branch in the bundle (None: the checkout's HEAD, nothing comes back)."""
    project_rel: str = "."
    """The project's folder inside the repository (where the agent works)."""
    head: str = ""
    """The lane's HEAD, where a snapshot of its uncommitted state is put back on top of
    (bundles.as_in_the_lane); empty: the bundle's base is the lane as it is."""
    merge: Merge | None = None


def spec_in(order: Order, project_dir: Path, work: Path) -> AttemptSpec:
    """The order as a local attempt in `project_dir` (a clone), its log under `work`."""
    return AttemptSpec(
        command=order.command, prompt=order.prompt, cwd=project_dir, item_id=order.item_id,
        phase=order.phase, attempt=order.attempt,
        change_dir=str(project_dir / order.change_dir),
        result_path=project_dir / ".orchestrator" / "results" / order.result_name,
        log_path=work / "attempt.log", timeout_s=order.timeout_s,
        kill_grace_s=order.kill_grace_s, extra_env=dict(order.env), token=order.token,
        reader=agents.kind(order.kind).reader, price=order.price,
        idle_timeout_s=order.idle_timeout_s)


# The runner's messages on its stdout, one JSON object a line ------------------------------
def started(pid: int) -> str:
    return json.dumps({"started": pid})


def lines(batch: tuple[AgentLine, ...]) -> str:
    return json.dumps({"lines": [[line.kind, line.text, line.raw] for line in batch]})


def log(data: bytes) -> str:
    return json.dumps({"log": base64.b64encode(data).decode()})


def log_bytes(message: dict[str, Any]) -> bytes:
    return base64.b64decode(message["log"])


def spend(usd: float) -> str:
    return json.dumps({"spend": usd})


def ended(outcome: ProcessOutcome) -> str:
    return json.dumps({"outcome": base64.b64encode(pickle.dumps(outcome)).decode()})


def outcome_of(message: dict[str, Any]) -> ProcessOutcome:
    """The runner's last word: the attempt's ProcessOutcome (the same code both ends)."""
    value = pickle.loads(base64.b64decode(message["outcome"]))  # the runner: our own code
    assert isinstance(value, ProcessOutcome)
    return value


def agent_lines(message: dict[str, Any]) -> tuple[AgentLine, ...]:
    return tuple(AgentLine(str(kind), str(text), str(raw))
                 for kind, text, raw in message["lines"])
