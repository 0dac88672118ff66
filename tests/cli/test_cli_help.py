"""`orchestrate --help`, `--version` and every command's `--help`, through the installed
console script: each exits 0 and shows examples, and every example parses."""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app import __version__
from app.cli import parser as parser_module
from app.cli.parser import build_parser


def _commands() -> list[str]:
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    raise AssertionError("orchestrate has no subcommands")


COMMANDS = _commands()


def _script() -> str:
    beside = Path(sys.executable).parent / "orchestrate"
    found = str(beside) if beside.exists() else shutil.which("orchestrate")
    assert found, "the orchestrate console script is not installed (pip install '.[test]')"
    return found


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["COLUMNS"] = "100"
    return subprocess.run([_script(), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


def _examples(text: str) -> list[str]:
    """The lines of the `examples:` section, without the `orchestrate ` and any shell tail."""
    section = text.split("\nexamples:\n", 1)[1].split("\n\n", 1)[0]
    lines = []
    for line in section.splitlines():
        line = line.strip()
        assert line.startswith("orchestrate"), line
        line = re.sub(r"\s+\(.*\)$", "", line)  # `orchestrate   (opens the board)`
        lines.append(re.split(r"\s[|>]\s", line)[0])  # `| jq ...`, `> events.jsonl`
    return lines


def test_version_is_the_packages(tmp_path: Path) -> None:
    proc = _run("--version", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"orchestrate {__version__}"


def test_top_level_help_lists_every_command_with_examples(tmp_path: Path) -> None:
    proc = _run("--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "\nexamples:\n" in proc.stdout and "exit codes:" in proc.stdout
    for name in COMMANDS:
        assert re.search(rf"^\s+{name}\s", proc.stdout, re.M), name
    for example in _examples(proc.stdout):
        build_parser().parse_args(shlex.split(example)[1:])  # SystemExit if it is wrong


@pytest.mark.parametrize("name", COMMANDS)
def test_each_commands_help_shows_examples_that_parse(tmp_path: Path, name: str) -> None:
    proc = _run(name, "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: orchestrate {name}")
    examples = _examples(proc.stdout)
    assert examples
    for example in examples:
        args = build_parser().parse_args(shlex.split(example)[1:])
        assert args.command == name, example


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[name]
            return found
    raise AssertionError("orchestrate has no subcommands")


def test_the_list_of_commands_is_the_parsers() -> None:
    assert list(parser_module.COMMANDS) == COMMANDS


@pytest.mark.parametrize("name", COMMANDS)
def test_a_command_built_alone_parses_and_helps_as_in_the_whole_parser(name: str) -> None:
    """`orchestrate NAME ...` builds NAME's parser alone (app/main.py): the same one."""
    whole, alone = build_parser(), build_parser(only=name)
    assert _subparser(alone, name).format_help() == _subparser(whole, name).format_help()
    for example in _examples(_subparser(whole, name).format_help()):
        words = shlex.split(example)[1:]
        assert alone.parse_args(words) == whole.parse_args(words), example
    with pytest.raises(SystemExit):
        alone.parse_args([next(c for c in COMMANDS if c != name)])  # the others: not built
