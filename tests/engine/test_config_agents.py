"""orchestrate.toml's agents: `[agent]` is `default` (claude unless its kind says
otherwise), `[agents.NAME]` more of them with a preset command per kind and [agent]'s
timeouts, `[phases]`, `[triage] agent` and `[run] fallback` naming them; every mistake
refused with the file's line and what to do. The README's examples read as they say."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from app.engine.config import PRESETS, Config, load_config, parse_config
from app.engine.pricing import Price
from app.errors import ConfigError

README = Path(__file__).resolve().parents[2] / "README.md"


def load_config_text(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "orchestrate.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_a_kind_alone_makes_the_default_agent_that_cli_with_its_preset(tmp_path: Path) -> None:
    config = load_config_text(tmp_path, '[agent]\nkind = "codex"\n')
    assert (config.agent.kind, config.agent.name) == ("codex", "default")
    assert config.agent.command == PRESETS["codex"]
    assert config.agent.label == "codex"


def test_named_agents_take_the_default_s_timeouts_and_their_kind_s_preset(
        tmp_path: Path) -> None:
    config = load_config_text(tmp_path, """\
[agent]
phase_timeout_s = 600
max_cost_per_attempt_usd = 2.5

[agents.claude-b]
env = { CLAUDE_CONFIG_DIR = "/home/me/.claude-b" }
max_parallel = 2

[agents.gem]
kind = "gemini"
phase_timeout_s = 900
price = { input = 0.3, output = 2.5 }
idle_timeout_s = 120
""")
    b, gem = config.agents["claude-b"], config.agents["gem"]
    assert list(config.agents) == ["default", "claude-b", "gem"]
    assert (b.kind, b.command, b.env, b.max_parallel) == (
        "claude", PRESETS["claude"], {"CLAUDE_CONFIG_DIR": "/home/me/.claude-b"}, 2)
    assert (b.phase_timeout_s, b.max_cost_per_attempt_usd) == (600, 2.5)
    assert "--max-budget-usd" in b.argv_template()  # a claude command: the budget passed on
    assert (gem.command, gem.phase_timeout_s, gem.idle_timeout_s) == (
        PRESETS["gemini"], 900, 120)
    assert gem.price == Price(0.3, 2.5) and gem.label == "gem"
    assert config.agent.env == {}  # an account's env is its own agent's only


def test_phases_triage_and_the_fallback_chain(tmp_path: Path) -> None:
    config = load_config_text(tmp_path, """\
[run]
fallback = ["default", "codex"]
[triage]
agent = "codex"
[phases]
review = "codex"
[agents.codex]
kind = "codex"
""")
    assert config.chain("prd") == ("default", "codex")
    assert config.chain("review") == ("codex", "default")
    assert config.chain("investigate") == ("codex", "default")


@pytest.mark.parametrize(("text", "message"), [
    ('[agent]\nkind = "cursor"\n',
     "orchestrate.toml:2: agent.kind must be one of claude, codex, gemini, opencode, amp"),
    ('[agents.x]\nkind = "codex"\n[run]\nfallback = ["default", "codx"]\n',
     "orchestrate.toml:4: run.fallback names 'codx', which is no agent: it is one of "
     "default, x (add an [agents.NAME] table for another)"),
    ('[phases]\nreview = "gpt"\n',
     "orchestrate.toml:2: phases.review names 'gpt', which is no agent"),
    ('[triage]\nagent = "gemini"\n',
     "orchestrate.toml:2: triage.agent names 'gemini', which is no agent"),
    ('[phases]\nplanning = "default"\n',
     "orchestrate.toml:2: phases.planning must name an agent for one of the phases prd,"),
    ('[agents.default]\nkind = "codex"\n',
     "orchestrate.toml:1: [agents.default]: an agent's name is letters, digits, - and _"),
    ('[agents.codex]\nenv = { KEY = 5 }\n',
     "orchestrate.toml:2: agents.codex.env must be a table of strings"),
    ('[agents.codex]\nprice = { input = 1, outptu = 2 }\n',
     "orchestrate.toml:2: agents.codex.price must be a table of input, output and cached"),
    ('[agents.codex]\nmax_parallel = -1\n',
     "orchestrate.toml:2: agents.codex.max_parallel must be a whole number"),
    ('[run]\nfallback = "codex"\n',
     "orchestrate.toml:2: run.fallback must be a list of agent names"),
    ('[agents]\ncodex = "codex"\n',
     "orchestrate.toml:1: [agents] holds one table per agent"),
], ids=["kind", "fallback", "phase-agent", "triage-agent", "phase", "default-name", "env",
        "price", "max-parallel", "fallback-list", "agents-table"])
def test_mistakes_are_refused_with_their_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config_text(tmp_path, text)
    assert str(raised.value).startswith(message), str(raised.value)


def test_every_toml_example_in_the_readme_reads_without_a_warning() -> None:
    """Each block of tables, that is: a block of `command =` lines shows alternatives."""
    blocks = [b for b in re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"),
                                    re.S) if re.search(r"^\[", b, re.M)]
    assert len(blocks) >= 3  # the defaults, and the recipes of several agents
    for block in blocks:
        config = parse_config(tomllib.loads(block), block, "README.md")
        assert config.warnings == (), block
    recipes = [parse_config(tomllib.loads(b), b) for b in blocks if "fallback = [" in b]
    assert {r.chain("build") for r in recipes} >= {("default", "codex"),
                                                   ("default", "claude-b")}
