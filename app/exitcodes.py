"""Exit codes of every orchestrate command, in one place.

The engine reports its code in `RunFinished.exit_code`, errors carry theirs
(`OrchestrateError.exit_code`), the CLI turns a signal into its code, and `--help`
and the README's table are generated from or checked against `LABELS` and `MEANINGS`.
"""

from __future__ import annotations

from typing import Final

OK: Final = 0
"""Done: the command did what was asked. A run that ends with no more work, paused, or
at its `--cap` is done too."""

ERROR: Final = 1
"""An error a person can act on (bad input, an invalid BACKLOG.yaml or orchestrate.toml,
an unknown id, a move the state machine refuses), or a run stopped by its circuit
breaker. The message is one line on stderr, never a traceback."""

USAGE: Final = 2
"""The command line itself is wrong (argparse's own code: unknown option, missing
argument)."""

LOCK_HELD: Final = 3
"""Another process holds `.orchestrator/run.lock`: one run or triage at a time per
project. The message names the holder's pid."""

EVERY_ITEM: Final = 4
"""A run or triage stopped on a failure that would hit every item alike (agent command
missing, not logged in, usage limit, a rejected command line). No item is blocked for
it: fix the cause and run again."""

BUDGET: Final = 5
"""The run spent its budget (`run --max-cost`, `[run] max_cost_usd`): no new attempt
was started. The item being worked on stays where it was, resumable."""

ALL_BLOCKED: Final = 6
"""Every item the run took ended blocked: none was done or is still going. Nothing moved
forward overnight, and a person is needed (`orchestrate status` lists the reasons); a
script or a notification must not read it as success."""

SIGHUP: Final = 129
"""The terminal went away (SIGHUP: a closed window, a dropped ssh session): 128 + 1.
Handled as SIGTERM: the agent was stopped and its item stays resumable."""

SIGINT: Final = 130
"""Interrupted by SIGINT (Ctrl-C): 128 + 2, as shells report it. The agent was stopped
and its item stays where it was, resumable."""

SIGTERM: Final = 143
"""Stopped by SIGTERM: 128 + 15, as shells report it. As with SIGINT, the item stays
resumable."""

INTERRUPTED: Final = SIGINT
"""What the engine itself reports when told to stop (`request_stop`): it does not know
which signal, if any, asked; the CLI replaces it with the signal's own code."""

LABELS: Final[dict[int, str]] = {
    OK: "ok",
    ERROR: "error",
    USAGE: "usage",
    LOCK_HELD: "run lock held",
    EVERY_ITEM: "run stopped on a failure that hits every item",
    BUDGET: "budget reached",
    ALL_BLOCKED: "every item it took ended blocked",
    SIGHUP: "interrupted",
    SIGINT: "interrupted",
    SIGTERM: "interrupted",
}
"""A few words per code, for `orchestrate --help` (see `summary`)."""

MEANINGS: Final[dict[int, str]] = {
    OK: "ok (also a run that ends paused or at its `--cap`)",
    ERROR: "error: bad input, an invalid file, or a run stopped by its circuit breaker",
    USAGE: "usage: the command line is wrong",
    LOCK_HELD: "another run or triage holds the run lock",
    EVERY_ITEM: "the run stopped on a failure that hits every item (an agent's CLI missing, "
                "not logged in, a usage limit of every agent it may use with `--no-wait` or "
                "too far away)",
    BUDGET: "the run reached its budget (`--max-cost`, `[run] max_cost_usd`); the item stays "
            "where it was",
    ALL_BLOCKED: "every item the run took ended blocked: a person is needed (`orchestrate "
                 "status` says why)",
    SIGHUP: "the terminal hung up (SIGHUP); the item stays where it was",
    SIGINT: "interrupted by Ctrl-C (SIGINT); the item stays where it was",
    SIGTERM: "stopped by SIGTERM; the item stays where it was",
}
"""One sentence per code: the rows of the README's table (a test compares them)."""


def summary() -> str:
    """`0 ok, 1 error, ..., 130/143 interrupted`: codes sharing a label share an entry."""
    grouped: dict[str, list[int]] = {}
    for code, label in LABELS.items():
        grouped.setdefault(label, []).append(code)
    return ", ".join("/".join(str(c) for c in codes) + f" {label}"
                     for label, codes in grouped.items())
