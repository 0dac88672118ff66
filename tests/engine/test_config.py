"""orchestrate.toml (app/engine/config.py): defaults, the shipped template, and located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.config import DEFAULT_AGENT_COMMAND, Config, load_config
from app.engine.config_template import DEFAULT_CONFIG_TEXT
from app.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orchestrate.toml"
    path.write_text(text)
    return path


def test_missing_file_means_all_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path / "orchestrate.toml")
    assert config == Config()
    assert config.agent.command == DEFAULT_AGENT_COMMAND
    assert (config.run.max_retries, config.run.backoff_s, config.run.cooldown_s) == (3, 15, 5)
    assert (config.guardrails.max_size, config.guardrails.max_risk) == ("medium", "low")


def test_the_template_init_writes_reads_as_the_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, DEFAULT_CONFIG_TEXT))
    assert config == Config()


def test_values_override_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[agent]\ncommand = ["my-agent", "{prompt}"]\n'
                                         "phase_timeout_s = 2.5\n[run]\ncheckpoint = false\n"
                                         '[prompts]\nprd = "/changes:prd {item_id}"\n'))
    assert config.agent.command == ("my-agent", "{prompt}")
    assert config.agent.phase_timeout_s == 2.5 and config.run.checkpoint is False
    assert config.prompts == {"prd": "/changes:prd {item_id}"}


def test_unknown_sections_and_keys_are_warnings(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "x = 1\n[extra]\na = 1\n[run]\nspeed = 2\n"))
    assert config.warnings == (
        "orchestrate.toml:1: unknown top-level key 'x' (ignored)",
        "orchestrate.toml:2: unknown section [extra] (ignored)",
        "orchestrate.toml:5: unknown key run.speed (ignored)",
    )


@pytest.mark.parametrize(("text", "message"), [
    ("[run\n", "orchestrate.toml:1: Expected ']' at the end of a table declaration"),
    ("[run]\nmax_retries = 1\nmax_retries = 2\n", "orchestrate.toml:3: Cannot overwrite"),
    ('[run]\n\nmax_retries = "x"\n', "orchestrate.toml:3: run.max_retries must be a whole "
                                     "number, not 'x'"),
    ("[run]\nmax_retries = true\n", "orchestrate.toml:2: run.max_retries must be a whole"),
    ("[run]\nbackoff_s = -1\n", "orchestrate.toml:2: run.backoff_s must be a number of seconds"),
    ("[run]\ncheckpoint = 1\n", "orchestrate.toml:2: run.checkpoint must be true or false"),
    ("[run]\nmax_parallel = 0\n", "orchestrate.toml:2: run.max_parallel must be a whole "
                                  "number of 1 or more, not 0"),
    ('[run]\nmerge = "squash"\n', "orchestrate.toml:2: run.merge must be one of merge, "
                                  "rebase, none, not 'squash'"),
    ('[run]\nbranch_prefix = "a..b/"\n', "orchestrate.toml:2: run.branch_prefix must be a "
                                         "branch name prefix"),
    ("[agent]\ncommand = []\n", "orchestrate.toml:2: agent.command must be a list of strings"),
    ('[agent]\ncommand = "claude -p"\n', "orchestrate.toml:2: agent.command must be a list"),
    ('[guardrails]\nmax_risk = "none"\n', "orchestrate.toml:2: guardrails.max_risk must be one "
                                          "of low, medium, high, not 'none'"),
    ('[executor]\nkind = "kubernetes"\n', "orchestrate.toml:2: executor.kind must be one "
                                       "of inprocess, local, ray, not 'kubernetes'"),
    ('[executor]\nresources = { orchestrate = 0 }\n', "orchestrate.toml:2: executor.resources "
                                                      "must be a table of resource names to "
                                                      "numbers"),
    ("run = 3\n", "orchestrate.toml:1: run must be a table"),
    ("[prompts]\nprd = 3\n", "orchestrate.toml:1: [prompts] maps a phase to a prompt"),
])
def test_bad_values_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_non_utf8_config_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "orchestrate.toml"
    path.write_bytes(b"[run]\n# caf\xe9\n")
    with pytest.raises(ConfigError, match=r"^orchestrate\.toml: cannot read"):
        load_config(path)


def test_the_executor_is_local_unless_the_file_names_a_registered_one(tmp_path: Path) -> None:
    from app.engine import executors
    from app.engine.attempts import LocalExecutor
    from app.engine.events import EventBus
    from app.engine.project import Project

    assert load_config(write(tmp_path, "")).executor.kind == "local"
    named = load_config(write(tmp_path, '[executor]\nkind = "inprocess"\n'))
    made = executors.make(Project(tmp_path), named, EventBus())
    assert type(made).__name__ == "InProcessExecutor"  # registered by tests/conftest.py
    assert isinstance(executors.make(Project(tmp_path), load_config(write(tmp_path, "")),
                                     EventBus()), LocalExecutor)
