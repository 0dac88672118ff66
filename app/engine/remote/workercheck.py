"""`orchestrate worker check`: whether this machine can take remote attempts (docs/ray.md).

A worker node needs git (the attempt comes as a bundle), the same Python and Ray as the
driver, orchestrate itself, and every agent CLI orchestrate.toml names with its login.
Each check is a line a person can act on; a missing login is only a warning (a CLI may
keep it where we cannot see it, a keychain), a missing program an error.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import shutil
import socket
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from app.engine.attempts import LOGIN_HINTS, install_hint
from app.engine.config import AgentConfig
from app.engine.roster import version_of
from app.structs import Struct, asdict

OK, WARN, FAIL = "ok", "warn", "fail"

INSTALL = "pip install 'orchestrate[ray]' (the same Ray and Python as the driver)"


class Check(Struct, frozen=True):
    """One thing looked at, and what it was found to be."""

    name: str
    level: str
    """`ok`, `warn` (works, perhaps not as meant) or `fail` (an attempt cannot run)."""
    detail: str
    hint: str | None = None
    """What to do about it, when it is not `ok`."""


class NodeReport(Struct, frozen=True):
    """Every check of one machine."""

    host: str
    ip: str
    checks: tuple[Check, ...]
    node_id: str = ""

    @property
    def ok(self) -> bool:
        return all(check.level != FAIL for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "ip": self.ip, "node_id": self.node_id, "ok": self.ok,
                "checks": [asdict(check) for check in self.checks]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NodeReport:
        return cls(str(data["host"]), str(data["ip"]), tuple(
            Check(**check) for check in data["checks"]), str(data.get("node_id", "")))


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _ray_version() -> str | None:
    """Ray's version where it imports (an installed but broken Ray is no Ray)."""
    try:
        import ray
    except ImportError:
        return None
    return str(ray.__version__)


def versions() -> dict[str, str | None]:
    """What a node must share with the driver."""
    return {"python": platform.python_version(), "orchestrate": _version("orchestrate"),
            "ray": _ray_version()}


def _git() -> Check:
    found = shutil.which("git")
    if found is None:
        return Check("git", FAIL, "not found", "install git: the attempt comes as a git bundle")
    try:
        out = subprocess.run([found, "--version"], capture_output=True, text=True,
                             timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    return Check("git", OK, out or found)


def _login(agent: AgentConfig, home: Path) -> Check:
    """A login this machine shows for the agent's kind: an API key in the environment
    (the node's, runtime_env's or the agent's env) or the CLI's own credentials file."""
    env = {**os.environ, **agent.env}
    home = Path(agent.env["HOME"]) if agent.env.get("HOME") else home  # an account's own
    if agent.kind == "gemini" and not _gemini_auth_type(home):
        return Check(f"{agent.name} login", WARN, "no auth type in ~/.gemini/settings.json "
                     "(gemini exits 41 without one)", LOGIN_HINTS["gemini"])
    keys, files = LOGINS.get(agent.kind, ((), ()))
    for key in keys:
        if env.get(key):
            return Check(f"{agent.name} login", OK, f"{key} is set")
    for where in files:
        if any("{" + name + "}" in where and not env.get(name) for name in HOMES):
            continue  # a folder the CLI takes from a variable that is not set
        path = Path(where.format(home=home, **{k: env.get(k, "") for k in HOMES}))
        if path.is_file():
            return Check(f"{agent.name} login", OK, str(path))
    hint = LOGIN_HINTS.get(agent.kind, "log the agent's CLI in on this machine")
    return Check(f"{agent.name} login", WARN, "none found", f"{hint}, or pass its API key in "
                 "[executor] runtime_env = {env_vars = {...}}")


def _gemini_auth_type(home: Path) -> str | None:
    try:
        settings = json.loads((home / ".gemini" / "settings.json").read_text())
        chosen = settings.get("security", {}).get("auth", {}).get("selectedType")
    except (OSError, ValueError, AttributeError):
        return None
    return chosen if isinstance(chosen, str) and chosen else None


HOMES = ("CLAUDE_CONFIG_DIR", "CODEX_HOME")
LOGINS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "claude": (("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN"),
               ("{CLAUDE_CONFIG_DIR}/.credentials.json", "{home}/.claude/.credentials.json")),
    "codex": (("OPENAI_API_KEY", "CODEX_API_KEY"),
              ("{CODEX_HOME}/auth.json", "{home}/.codex/auth.json")),
    "gemini": (("GEMINI_API_KEY", "GOOGLE_API_KEY"), ("{home}/.gemini/oauth_creds.json",)),
    "opencode": (("ANTHROPIC_API_KEY", "OPENAI_API_KEY"),
                 ("{home}/.local/share/opencode/auth.json",)),
    "amp": (("AMP_API_KEY",), ("{home}/.local/share/amp/secrets.json",)),
}
"""Per kind: the environment variables that log it in, then its credentials files."""


def _agent(agent: AgentConfig, home: Path) -> list[Check]:
    found, version = version_of(agent, Path.cwd())
    if found is None:
        return [Check(f"{agent.name} ({agent.kind})", FAIL, f"{agent.command[0]} not found",
                      install_hint(agent.kind))]
    return [Check(f"{agent.name} ({agent.kind})", OK, f"{version or 'version unknown'} "
                                                      f"({found})"), _login(agent, home)]


def check_here(agent_configs: Iterable[AgentConfig],
               driver: Mapping[str, str | None] | None = None) -> NodeReport:
    """This machine's checks; `driver`: the versions it must match (versions())."""
    mine = versions()
    checks: list[Check] = []
    for name in ("python", "orchestrate", "ray"):
        have, want = mine[name], (driver or {}).get(name)
        if have is None:
            checks.append(Check(name, FAIL, "not installed", INSTALL))
        elif want is not None and have != want:
            checks.append(Check(name, FAIL, f"{have}, the driver has {want}",
                                f"the same {name} on every node and the driver: {INSTALL}"))
        else:
            checks.append(Check(name, OK, have))
    checks.append(_git())
    home = Path.home()
    seen: set[tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = set()
    for agent in agent_configs:
        same = (agent.command, tuple(sorted(agent.env.items())))  # an account: its env
        if same in seen:
            continue
        seen.add(same)
        checks += _agent(agent, home)
    host = socket.gethostname()
    return NodeReport(host, _ip() or host, tuple(checks))


def _ip() -> str:
    try:
        import ray

        if ray.is_initialized():
            return str(ray.util.get_node_ip_address())  # type: ignore[no-untyped-call]
    except Exception:  # no Ray here, or not in a task: the host name says it
        pass
    return ""


def check_task(agent_json: str, driver: dict[str, str | None]) -> dict[str, Any]:
    """The check as a Ray task on a node (its report as JSON-able data)."""
    configs = [AgentConfig(**{**entry, "command": tuple(entry["command"])})
               for entry in json.loads(agent_json)]
    report = check_here(configs, driver)
    data = report.to_json()
    try:
        import ray

        data["node_id"] = ray.get_runtime_context().get_node_id()
    except Exception:  # run directly, as the tests of this module do
        pass
    return data


def agents_json(agent_configs: Iterable[AgentConfig]) -> str:
    """What a node needs of each agent to check it: its name, kind, command and env."""
    return json.dumps([{"name": a.name, "kind": a.kind, "command": list(a.command),
                        "env": dict(a.env)} for a in agent_configs])
