"""orchestrate.toml: every key optional, defaults as in DESIGN.md, errors with a line;
and `within_guardrails`, the check of an item against its [guardrails]."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.backlog.model import LEVELS, PHASES, SIZES, Item, level_rank
from app.engine.mcpattempt import MCP_KINDS, WHY_NOT
from app.engine.pricing import Price
from app.errors import ConfigError
from app.structs import Struct, field

DEFAULT_AGENT_COMMAND: tuple[str, ...] = (
    "claude", "-p", "{prompt}", "--output-format", "stream-json", "--verbose",
    "--dangerously-skip-permissions",
)


PRESETS: dict[str, tuple[str, ...]] = {
    "claude": DEFAULT_AGENT_COMMAND,
    "codex": ("codex", "exec", "--json", "--sandbox", "workspace-write",
              "--skip-git-repo-check", "{prompt}"),
    "gemini": ("gemini", "-p", "{prompt}", "--output-format", "stream-json",
               "--approval-mode", "yolo", "--skip-trust"),
    "opencode": ("opencode", "run", "--format", "json", "{prompt}"),
    "amp": ("amp", "-x", "{prompt}", "--stream-json"),
}
"""The command of each agent kind when its table gives none (agents/ reads its output)."""
AGENT_KINDS = tuple(PRESETS)


class AgentConfig(Struct, frozen=True):
    """How an agent process is started and how long it may take."""

    command: tuple[str, ...] = DEFAULT_AGENT_COMMAND
    phase_timeout_s: float = 1800
    kill_grace_s: float = 5
    max_cost_per_attempt_usd: float | None = None
    """Passed to the agent: `{max_budget_usd}` in the command, or claude's own
    `--max-budget-usd` added to a `claude` command that has none."""
    kind: str = "claude"
    """Which CLI it is (AGENT_KINDS): how its output is read."""
    name: str = "default"
    """`default` for `[agent]`, else its `[agents.NAME]`."""
    env: dict[str, str] = field(default_factory=dict)
    """Set for its processes: an account is an agent with an env of its own
    (`CLAUDE_CONFIG_DIR`, `CODEX_HOME`, an API key)."""
    max_parallel: int = 0
    """Attempts at once on this agent (0: as many as the run has lanes)."""
    price: Price | None = None
    """USD per million tokens, for a CLI that reports tokens only."""
    idle_timeout_s: float | None = None
    """Silence (no output) that ends an attempt; None: the kind's default."""
    mcp: bool = False
    """Each attempt starts with orchestrate's own MCP server, scoped to its item
    (mcpattempt.py); only for the kinds in mcpattempt.MCP_KINDS."""

    @property
    def label(self) -> str:
        """How a person reads which agent it is: its name, or its kind for `[agent]`."""
        return self.kind if self.name == "default" else self.name

    def argv_template(self) -> tuple[str, ...]:
        """The command an attempt runs, `{prompt}` still in it, the budget filled in."""
        budget = self.max_cost_per_attempt_usd
        if any("{max_budget_usd}" in part for part in self.command):
            value = f"{budget:g}" if budget is not None else ""
            return tuple(part.replace("{max_budget_usd}", value) for part in self.command)
        if budget is not None and Path(self.command[0]).name == "claude" \
                and "--max-budget-usd" not in self.command:
            return (*self.command, "--max-budget-usd", f"{budget:g}")
        return self.command


class RunConfig(Struct, frozen=True):
    """Retries, pacing and checkpoints of a run."""

    max_retries: int = 3
    backoff_s: float = 15
    cooldown_s: float = 5
    circuit_breaker: int = 3
    checkpoint: bool = True
    max_cost_usd: float | None = None
    """No new attempt starts once the run has spent this much (exit 5)."""
    max_parallel: int = 1
    """Items worked on at once; above 1 each item has its own branch and git worktree."""
    fallback: tuple[str, ...] = ()
    """Agents an attempt goes to, in this order, when the one it would go to is limited
    (or full): `["default", "claude-b", "codex"]`."""
    branch_prefix: str = "orchestrate/"
    """A lane's branch is this plus the item's id (`orchestrate/WRK-001`)."""
    merge: str = "merge"
    """How a finished lane's branch comes back: `merge` (a merge commit), `rebase`
    (replayed, then fast-forwarded) or `none` (the branch is left for a pull request)."""
    merge_when: str = "auto"
    """When: `auto` as its review phase completes; `review` once a person approves it
    (the item waits in `to_review`, its branch kept; lanes even with max_parallel = 1)."""

    @property
    def lanes(self) -> bool:
        """Whether items work in worktree lanes (a branch each)."""
        return self.max_parallel > 1 or self.merge_when == "review"


class Guardrails(Struct, frozen=True):
    """Autonomous runs only take items at or under these."""

    max_size: str = "medium"
    max_risk: str = "low"


class TriageConfig(Struct, frozen=True):
    """Parallel triage."""

    max_concurrent: int = 3
    agent: str = "default"
    """The agent triage and investigate steps go to."""


class NotifyConfig(Struct, frozen=True):
    """Who hears when an item blocks or is done, a run ends or pauses."""

    command: tuple[str, ...] = ()
    """An argv (never a shell) that reads one JSON object on stdin; empty: none."""


class LimitsConfig(Struct, frozen=True):
    """What a run does when the account meets a usage limit: it waits, then resumes."""

    resume_margin_s: float = 60
    """Seconds after the reset time before the next attempt (the reset is not exact)."""
    retry_interval_s: float = 300
    """Where the agent names no reset time: the first wait; it doubles each time."""
    retry_interval_max_s: float = 3600
    """... up to this."""
    max_wait_h: float = 12
    """A reset further away than this stops the run (exit 4) instead of waiting."""


class ExecutorConfig(Struct, frozen=True):
    """Where attempts run (executors.py): `local`, the agent as a process of this machine;
    `ray`, a task on a Ray cluster (app/engine/remote/)."""

    kind: str = "local"
    address: str = "auto"
    """The Ray cluster, as `ray.init` takes it (`auto`: the one started on this machine)."""
    resources: dict[str, float] = field(default_factory=lambda: {"orchestrate": 1.0})
    """The custom resources one attempt asks of a node (a node offers them with `ray
    start --resources='{"orchestrate": 3}'`)."""
    runtime_env: dict[str, Any] = field(default_factory=dict)
    """Passed to `ray.init` as it is (env_vars for the agents' logins, pip, ...)."""


EXECUTOR_KINDS: set[str] = {"local", "ray"}
"""The executors `[executor] kind` may name; executors.register adds to it."""


class GateConfig(Struct, frozen=True):
    """`[gates.PHASE]`: what a complete answer of that phase must also pass (gates.py)."""

    command: tuple[str, ...] = ()
    """An argv run in the item's workspace; a non-zero exit fails the attempt."""
    timeout_s: float = 600
    min_success_criteria: int = 0
    """prd: list items under PRD.md's "Success criteria" heading (0: not checked)."""
    min_tasks: int = 0
    """spec: SPEC.md's task boxes (0: not checked)."""


class Config(Struct, frozen=True):
    """The whole configuration."""

    agent: AgentConfig = field(default_factory=AgentConfig)
    run: RunConfig = field(default_factory=RunConfig)
    guardrails: Guardrails = field(default_factory=Guardrails)
    triage: TriageConfig = field(default_factory=TriageConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    agents: dict[str, AgentConfig] = field(default_factory=lambda: {"default": AgentConfig()})
    """Every agent by name: `default` ([agent]) and each `[agents.NAME]`."""
    phases: dict[str, str] = field(default_factory=dict)
    """`[phases]`: the agent of a phase (`review = "codex"`); others: `default`."""
    prompts: dict[str, str] = field(default_factory=dict)
    """Per-phase prompt templates from `[prompts]` (override the shipped ones)."""
    gates: dict[str, GateConfig] = field(default_factory=dict)
    """`[gates.PHASE]`: the quality gates of a phase (none: its answer is taken)."""
    warnings: tuple[str, ...] = ()

    @property
    def lanes(self) -> bool:
        """Whether items work in worktree lanes, a branch each: several at once, a review
        before merging, or attempts on a Ray cluster (a branch travels, a checkout not)."""
        return self.run.lanes or self.executor.kind == "ray"

    def agent_named(self, name: str) -> AgentConfig:
        """The agent of that name (`default` is `[agent]`)."""
        return self.agent if name == "default" else self.agents[name]

    def chain(self, phase: str) -> tuple[str, ...]:
        """The agents an attempt of `phase` may go to, in order: the phase's own (triage
        steps: `[triage] agent`), then `[run] fallback`."""
        first = self.triage.agent if phase in ("triage", "investigate") \
            else self.phases.get(phase, "default")
        return (first, *(name for name in self.run.fallback if name != first))


MERGE_MODES = ("merge", "rebase", "none")
"""`[run] merge`: how a finished lane's branch comes back to the run's branch."""
MERGE_WHEN = ("auto", "review")
"""`[run] merge_when`: as the review phase completes, or once a person approves."""


def _valid_branch_prefix(prefix: str) -> bool:
    """A prefix git accepts in a branch name: the rules of `git check-ref-format` that a
    prefix can break, checked on `<prefix>X-001`."""
    name = prefix + "X-001"
    return bool(prefix) and not re.search(r"[\s~^:?*\[\\\x00-\x1f\x7f]|\.\.|@\{|//", name) \
        and not name.startswith(("/", "-", ".")) and ".lock/" not in name


# section -> key -> (type check, description, extra validation)
_NUMBER = (int, float)
_SCHEMA: dict[str, dict[str, tuple[Any, str]]] = {
    "agent": {"command": (list, "a list of strings"),
              "phase_timeout_s": (_NUMBER, "a number of seconds"),
              "kill_grace_s": (_NUMBER, "a number of seconds"),
              "max_cost_per_attempt_usd": (_NUMBER, "a number of dollars"),
              "kind": (str, f"one of {', '.join(AGENT_KINDS)}"),
              "env": (dict, "a table of strings (NAME = \"value\")"),
              "max_parallel": (int, "a whole number (0: no limit of its own)"),
              "price": (dict, "a table of input, output and cached: dollars per million "
                              "tokens"),
              "idle_timeout_s": (_NUMBER, "a number of seconds"),
              "mcp": (bool, "true or false")},
    "run": {"max_retries": (int, "a whole number"),
            "backoff_s": (_NUMBER, "a number of seconds"),
            "cooldown_s": (_NUMBER, "a number of seconds"),
            "circuit_breaker": (int, "a whole number"),
            "checkpoint": (bool, "true or false"),
            "max_cost_usd": (_NUMBER, "a number of dollars"),
            "max_parallel": (int, "a whole number of 1 or more"),
            "branch_prefix": (str, "a branch name prefix such as \"orchestrate/\""),
            "merge": (str, f"one of {', '.join(MERGE_MODES)}"),
            "merge_when": (str, f"one of {', '.join(MERGE_WHEN)}"),
            "fallback": (list, "a list of agent names, such as [\"default\", \"codex\"]")},
    "guardrails": {"max_size": (str, f"one of {', '.join(SIZES)}"),
                   "max_risk": (str, f"one of {', '.join(LEVELS)}")},
    "triage": {"max_concurrent": (int, "a whole number"),
               "agent": (str, "an agent's name")},
    "notify": {"command": (list, "a list of strings (an argv, e.g. [\"notify-send\", "
                          "\"orchestrate\"])")},
    "executor": {"kind": (str, ""),  # "": one of EXECUTOR_KINDS, as they are then
                 "address": (str, "a Ray address such as \"auto\" or \"10.0.0.5:6379\""),
                 "resources": (dict, "a table of resource names to numbers, such as "
                                     "{ orchestrate = 1 }"),
                 "runtime_env": (dict, "a table, as ray.init's runtime_env")},
    "gates": {"command": (list, "a list of strings (an argv, e.g. [\"pytest\", \"-q\"])"),
              "timeout_s": (_NUMBER, "a number of seconds"),
              "min_success_criteria": (int, "a whole number"),
              "min_tasks": (int, "a whole number")},
    "limits": {"resume_margin_s": (_NUMBER, "a number of seconds"),
               "retry_interval_s": (_NUMBER, "a number of seconds"),
               "retry_interval_max_s": (_NUMBER, "a number of seconds"),
               "max_wait_h": (_NUMBER, "a number of hours")},
}
_CHOICES = {("guardrails", "max_size"): SIZES, ("guardrails", "max_risk"): LEVELS,
            ("run", "merge"): MERGE_MODES, ("run", "merge_when"): MERGE_WHEN,
            ("executor", "kind"): EXECUTOR_KINDS,
            ("agent", "kind"): AGENT_KINDS}
_PRICE_KEYS = ("input", "output", "cached")


def _line_of(text: str, section: str, key: str | None) -> int:
    """Best-effort line of `[section]` / `key =` in the file, for messages."""
    lines = text.splitlines()
    in_section = False
    for n, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith("["):
            in_section = stripped.strip("[] ") == section
            if in_section and key is None:
                return n
            continue
        if in_section and key and re.match(rf"^{re.escape(key)}\s*=", stripped):
            return n
    return 1


def _line_of_key(text: str, key: str) -> int:
    """Line of a top-level `key =` (before any table), for messages."""
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            break
        if re.match(rf"^{re.escape(key)}\s*=", stripped):
            return n
    return 1


def load_config(path: Path) -> Config:
    """Read orchestrate.toml (a missing file means all defaults)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name}: cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = match.group(1) if match else "1"
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(f"{path.name}:{line}: {message}") from None
    return parse_config(data, text, path.name)


def parse_config(data: dict[str, Any], text: str = "", name: str = "orchestrate.toml") -> Config:
    """Build a Config from parsed TOML, checking types and choices."""
    reading = _Reading(text, name)
    for section, body in data.items():
        _READERS.get(section, _read_unknown)(reading, section, body)
    _check_budget_placeholder(reading)
    agents = _agents(reading)
    _check_names(reading, agents)
    tables = {section: make(**reading.values.get(section, {}))
              for section, make in _SECTIONS.items() if section != "agent"}
    gates = {section.removeprefix("gates."): GateConfig(**values)
             for section, values in reading.values.items() if section.startswith("gates.")}
    return Config(**tables, agent=agents["default"], agents=agents, phases=reading.phases,
                  prompts=reading.prompts, gates=gates, warnings=tuple(reading.warnings))


class _Reading(Struct):
    """orchestrate.toml being read: its text and name (for messages), what it holds so far."""

    text: str
    name: str
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each table's checked keys."""
    prompts: dict[str, str] = field(default_factory=dict)
    phases: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def at(self, section: str, key: str | None = None) -> str:
        """`orchestrate.toml:LINE` of `[section]` (or of its `key =`), for a message."""
        return f"{self.name}:{_line_of(self.text, section, key)}"


def _read_table(reading: _Reading, section: str, body: Any, schema: str | None = None) -> None:
    """One of the tables in _SECTIONS (or an `[agents.NAME]`, read as `schema` says):
    every key known, of its type, within its bounds."""
    schema = schema or section
    if not isinstance(body, dict):
        raise ConfigError(f"{reading.at(section)}: {section} must be a table ([{section}])")
    values = reading.values[section] = {}
    for key, value in body.items():
        spec = _SCHEMA[schema].get(key)
        if spec is None:
            reading.warnings.append(f"{reading.at(section, key)}: unknown key {section}.{key} "
                                    "(ignored)")
            continue
        if not _valid(schema, key, value):
            what = spec[1] or f"one of {', '.join(sorted(_CHOICES[(schema, key)]))}"
            raise ConfigError(f"{reading.at(section, key)}: {section}.{key} must be {what}, "
                              f"not {value!r}")
        values[key] = _value(key, value)


def _value(key: str, value: Any) -> Any:
    """A checked value as the Config holds it."""
    if key in ("command", "fallback"):
        return tuple(value)
    if key == "price":
        return Price(float(value.get("input", 0)), float(value.get("output", 0)),
                     float(value["cached"]) if "cached" in value else None)
    if key in ("env", "runtime_env"):
        return dict(value)
    if key == "resources":
        return {name: float(amount) for name, amount in value.items()}
    return value


_AGENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def _read_agents(reading: _Reading, section: str, body: Any) -> None:
    """`[agents.NAME]`: more agents, each read as `[agent]` is."""
    if not isinstance(body, dict) or not all(isinstance(v, dict) for v in body.values()):
        raise ConfigError(f"{reading.at(section)}: [agents] holds one table per agent: "
                          "[agents.NAME] with kind, command, env, ...")
    for name, table in body.items():
        if name == "default" or not _AGENT_NAME.fullmatch(name):
            raise ConfigError(f"{reading.at(f'agents.{name}')}: [agents.{name}]: an agent's "
                              "name is letters, digits, - and _ (and `default` is [agent]'s)")
        _read_table(reading, f"agents.{name}", table, schema="agent")


def _read_phases(reading: _Reading, section: str, body: Any) -> None:
    """`[phases]`: a phase to the name of its agent."""
    if not isinstance(body, dict):
        raise ConfigError(f"{reading.at(section)}: [phases] maps a phase to an agent's name")
    for phase, agent in body.items():
        if phase not in PHASES or not isinstance(agent, str):
            raise ConfigError(f"{reading.at(section, phase)}: phases.{phase} must name an "
                              f"agent for one of the phases {', '.join(PHASES)}")
    reading.phases = dict(body)


_GATE_OF = {"min_success_criteria": ("prd", "PRD.md's success criteria"),
            "min_tasks": ("spec", "SPEC.md's tasks")}
"""The built-in gates, each of the one phase whose document it counts."""


def _read_gates(reading: _Reading, section: str, body: Any) -> None:
    """`[gates.PHASE]`: a phase's quality gates (gates.py)."""
    if not isinstance(body, dict) or not all(isinstance(v, dict) for v in body.values()):
        raise ConfigError(f"{reading.at(section)}: [gates] holds one table per phase: "
                          "[gates.build] with command = [\"pytest\", \"-q\"], ...")
    for phase, table in body.items():
        where = f"gates.{phase}"
        if phase not in PHASES:
            raise ConfigError(f"{reading.at(where)}: [{where}]: gates are per phase: one of "
                              f"{', '.join(PHASES)}")
        _read_table(reading, where, table, schema="gates")
        for key, (own, what) in _GATE_OF.items():
            if key in reading.values[where] and phase != own:
                raise ConfigError(f"{reading.at(where, key)}: {where}.{key} counts {what}: "
                                  f"it belongs in [gates.{own}]")


def _agents(reading: _Reading) -> dict[str, AgentConfig]:
    """Every agent: `default` from [agent], then each [agents.NAME], which takes [agent]'s
    timeouts and budget unless it sets its own, and its kind's command unless it gives one."""
    tables = {"default": reading.values.get("agent", {})}
    tables |= {section.removeprefix("agents."): values
               for section, values in reading.values.items() if section.startswith("agents.")}
    base = tables["default"]
    agents: dict[str, AgentConfig] = {}
    for name, values in tables.items():
        kind = values.get("kind", "claude")
        fields: dict[str, Any] = {k: base[k] for k in ("phase_timeout_s", "kill_grace_s",
                                                       "max_cost_per_attempt_usd") if k in base}
        fields.update(values)
        fields.update(name=name, kind=kind, command=values.get("command", PRESETS[kind]))
        if values.get("mcp") and kind not in MCP_KINDS:
            table = "agent" if name == "default" else f"agents.{name}"
            raise ConfigError(f"{reading.at(table, 'mcp')}: {table}.mcp = true needs an agent "
                              f"whose CLI takes an MCP server per run ({', '.join(MCP_KINDS)}), "
                              f"not {kind}: {WHY_NOT.get(kind, '')}".rstrip(": "))
        agents[name] = AgentConfig(**fields)
    return agents


def _check_names(reading: _Reading, agents: dict[str, AgentConfig]) -> None:
    """Every agent a phase, triage or the fallback chain names is one."""
    known = ", ".join(agents)
    named = [("phases", phase, [agent]) for phase, agent in reading.phases.items()]
    named += [("run", "fallback", list(reading.values.get("run", {}).get("fallback", ())))]
    named += [("triage", "agent", [reading.values.get("triage", {}).get("agent", "default")])]
    for section, key, names in named:
        for name in names:
            if name not in agents:
                raise ConfigError(f"{reading.at(section, key)}: {section}.{key} names "
                                  f"{name!r}, which is no agent: it is one of {known} "
                                  "(add an [agents.NAME] table for another)")


def _is_number(value: Any) -> bool:
    return isinstance(value, _NUMBER) and not isinstance(value, bool)


_TABLE_RULES: dict[str, Callable[[dict[str, Any]], bool]] = {
    "env": lambda table: all(isinstance(k, str) and isinstance(v, str)
                             for k, v in table.items()),
    "resources": lambda table: bool(table) and all(_is_number(v) and v > 0
                                                   for v in table.values()),
    "price": lambda table: bool(table) and all(k in _PRICE_KEYS and _is_number(v) and v >= 0
                                               for k, v in table.items()),
}
"""The rule of each key that takes a table (beyond being one)."""


def _valid(section: str, key: str, value: Any) -> bool:
    """Whether `value` is what `section.key` takes: its type (a bool is no number), then
    the key's own rule: a command of non-empty strings, a table's (_TABLE_RULES), one of
    the choices, a branch prefix git accepts, a number not below 0 (`max_parallel`: 1)."""
    kind = _SCHEMA[section][key][0]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        return False
    if key in ("command", "fallback"):  # a command has words; a fallback may be none
        return (bool(value) or key == "fallback") and all(isinstance(v, str) and v
                                                          for v in value)
    if key in _TABLE_RULES:
        return _TABLE_RULES[key](value)
    if (section, key) in _CHOICES:
        return value in _CHOICES[(section, key)]
    if key == "branch_prefix":
        return _valid_branch_prefix(value)
    if _is_number(value):
        return bool(value >= (1 if (section, key) == ("run", "max_parallel") else 0))
    return True


def _read_prompts(reading: _Reading, section: str, body: Any) -> None:
    """`[prompts]`: a phase to a template string."""
    if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
        raise ConfigError(f"{reading.at(section)}: [prompts] maps a phase to a prompt "
                          "template string")
    reading.prompts = dict(body)


def _read_unknown(reading: _Reading, section: str, body: Any) -> None:
    """Anything else: a warning, and ignored."""
    if isinstance(body, dict):
        reading.warnings.append(f"{reading.at(section)}: unknown section [{section}] "
                                "(ignored)")
    else:
        reading.warnings.append(f"{reading.name}:{_line_of_key(reading.text, section)}: "
                                f"unknown top-level key {section!r} (ignored)")


def _check_budget_placeholder(reading: _Reading) -> None:
    """`{max_budget_usd}` in agent.command needs agent.max_cost_per_attempt_usd."""
    agent = reading.values.get("agent", {})
    if any("{max_budget_usd}" in part for part in agent.get("command", ())) \
            and agent.get("max_cost_per_attempt_usd") is None:
        raise ConfigError(f"{reading.at('agent', 'command')}: agent.command uses "
                          "{max_budget_usd} but agent.max_cost_per_attempt_usd is not set: "
                          "set it, or take the placeholder out")


_SECTIONS: dict[str, Callable[..., Any]] = {
    "agent": AgentConfig, "run": RunConfig, "guardrails": Guardrails,
    "triage": TriageConfig, "limits": LimitsConfig, "notify": NotifyConfig,
    "executor": ExecutorConfig,
}
"""Each table of orchestrate.toml (its keys in _SCHEMA) and what it makes: the Config
field of the same name."""
_READERS: dict[str, Callable[[_Reading, str, Any], None]] = {
    "prompts": _read_prompts, "agents": _read_agents, "phases": _read_phases,
    "gates": _read_gates,
    **dict.fromkeys(_SECTIONS, _read_table),
}
"""How each section is read; any other is unknown (`_read_unknown`)."""


def within_guardrails(item: Item, config: Config) -> str | None:
    """None when the item may run autonomously, else why not: `outside the guardrails:
    risk high, max low`. A missing assessment counts as over a guardrail, except one at
    the top of its scale (nothing can be over `max_risk = "high"`)."""
    g = config.guardrails
    over = []
    for name, value, most, scale in (("size", item.size, g.max_size, SIZES),
                                     ("risk", item.risk, g.max_risk, LEVELS)):
        top = level_rank(most, scale) == len(scale) - 1
        if value in scale:
            if level_rank(value, scale) > level_rank(most, scale):
                over.append(f"{name} {value}, max {most}")
        elif not top:
            over.append(f"{name} unknown, max {most}")
    return "outside the guardrails: " + "; ".join(over) if over else None
