"""The exit codes live in app/exitcodes.py only: the README's table, `orchestrate --help`,
the errors and the CLI's signal codes all agree with it."""

from __future__ import annotations

import re
import signal
from pathlib import Path

from app import exitcodes
from app.cli.parser import build_parser
from app.cli.run import EXIT_SIGNAL
from app.errors import BacklogError, LockHeldError, OrchestrateError

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Commands and exit codes"


def readme_table() -> list[tuple[int, str]]:
    """The (code, meaning) rows of the table in the README's exit codes section."""
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return [(int(code), meaning.strip())
            for code, meaning in re.findall(r"^\|\s*(\d+)\s*\|(.*)\|\s*$", section, re.M)]


def test_the_readme_table_is_the_modules() -> None:
    assert readme_table() == list(exitcodes.MEANINGS.items())


def test_every_code_has_a_label_and_a_meaning() -> None:
    codes = {exitcodes.OK, exitcodes.ERROR, exitcodes.USAGE, exitcodes.LOCK_HELD,
             exitcodes.EVERY_ITEM, exitcodes.BUDGET, exitcodes.ALL_BLOCKED, exitcodes.SIGHUP,
             exitcodes.SIGINT,
             exitcodes.SIGTERM}
    assert set(exitcodes.LABELS) == set(exitcodes.MEANINGS) == codes
    assert exitcodes.SIGINT == 128 + signal.SIGINT and exitcodes.SIGTERM == 128 + signal.SIGTERM
    assert exitcodes.SIGHUP == 128 + signal.SIGHUP


def test_the_help_lists_the_modules_codes() -> None:
    epilog = " ".join((build_parser().epilog or "").split())
    assert f"exit codes: {exitcodes.summary()}." in epilog
    assert "129/130/143 interrupted" in exitcodes.summary()


def test_errors_and_signals_carry_the_modules_codes() -> None:
    assert OrchestrateError.exit_code == BacklogError.exit_code == exitcodes.ERROR
    assert LockHeldError.exit_code == exitcodes.LOCK_HELD
    assert EXIT_SIGNAL == {signal.SIGINT: exitcodes.SIGINT, signal.SIGTERM: exitcodes.SIGTERM,
                           signal.SIGHUP: exitcodes.SIGHUP}
