"""Reading one agent CLI's output for what it says beyond the lines a person reads.

Every CLI prints its own stream (claude's stream-json, codex's `exec --json`, gemini's
stream-json, opencode's `run --format json`); streamjson.py turns any of them into the
lines shown, and a `Reader` of the CLI's kind gathers from the same parsed events the
facts an attempt is judged by, into its `ProcessOutcome`: the agent's own error and
whether it says the run failed, what it spent (its cost, else its tokens), turns, a
usage limit with its reset, a permission it was denied, the tool call that failed last.
"""

from __future__ import annotations

from typing import Any

from app.engine.events import AgentLine
from app.engine.outcome import ProcessOutcome


class Reader:
    """Fed every line of one attempt; fills `out`. The base reads nothing (a CLI whose
    output is not known: its exit code and stderr say what there is to say)."""

    def __init__(self, out: ProcessOutcome) -> None:
        self.out = out

    def event(self, event: dict[str, Any], text: str, lines: tuple[AgentLine, ...]) -> None:
        """One stdout line that is a JSON object (`lines`: how it is shown)."""

    def raw(self, text: str) -> None:
        """One stdout line that is not."""

    def stderr(self, text: str) -> None:
        """One stderr line."""

    def close(self) -> None:
        """The agent ended: settle what needs the whole stream (a limit, its reset)."""

    def idle_limit(self) -> bool:
        """An attempt ended by the idle watchdog: whether what it said names a quota
        (`limited`, not a timeout)."""
        return False
