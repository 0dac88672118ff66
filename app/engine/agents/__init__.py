"""The agent CLIs orchestrate drives, by kind: how each one's output is read.

A kind's preset command lives with the configuration (config.PRESETS); here is how its
stream is read (a `Reader`, which fills the attempt's ProcessOutcome) and how long it may
stay silent by default (an idle watchdog for the CLIs that retry a quota without a word).
docs/engine.md ("Agents") says how to add one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.engine.agents.claude import ClaudeReader
from app.engine.agents.codex import CodexReader
from app.engine.agents.gemini import GeminiReader
from app.engine.agents.opencode import OpenCodeReader
from app.engine.agents.reader import Reader
from app.engine.outcome import ProcessOutcome


@dataclass(frozen=True)
class Kind:
    """One CLI orchestrate knows."""

    name: str
    reader: Callable[[ProcessOutcome], Reader]
    package: str
    """Where it comes from (npm), for the message when it is missing."""
    idle_timeout_s: float | None = None
    """Silence that ends an attempt, unless the agent's config says otherwise (None: no
    watchdog; the phase timeout still holds)."""


KINDS: dict[str, Kind] = {
    "claude": Kind("claude", ClaudeReader, "@anthropic-ai/claude-code"),
    "codex": Kind("codex", CodexReader, "@openai/codex"),
    "gemini": Kind("gemini", GeminiReader, "@google/gemini-cli", idle_timeout_s=900),
    "opencode": Kind("opencode", OpenCodeReader, "opencode-ai", idle_timeout_s=900),
    "amp": Kind("amp", ClaudeReader, "@sourcegraph/amp"),
}


def kind(name: str) -> Kind:
    """The kind of that name (config.py refuses any other before a run)."""
    return KINDS[name]
