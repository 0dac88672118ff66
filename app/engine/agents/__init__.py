"""The agent CLIs orchestrate drives, by kind: how each one's output is read.

A kind's preset command lives with the configuration (config.PRESETS); here is how its
stream is read (a `Reader`, which fills the attempt's ProcessOutcome) and how long it may
stay silent by default (an idle watchdog for the CLIs that retry a quota without a word).
docs/engine.md ("Agents") says how to add one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.structs import Struct

if TYPE_CHECKING:
    from app.engine.agents.reader import Reader
    from app.engine.outcome import ProcessOutcome


class Kind(Struct, frozen=True):
    """One CLI orchestrate knows."""

    name: str
    reader_at: str
    """Its reader class, `module:Class`: imported when an attempt of this kind reads its
    stream, so a run imports (and compiles the patterns of) only the kinds it drives."""
    package: str
    """Where it comes from (npm), for the message when it is missing."""
    idle_timeout_s: float | None = None
    """Silence that ends an attempt, unless the agent's config says otherwise (None: no
    watchdog; the phase timeout still holds)."""

    @property
    def reader(self) -> Callable[[ProcessOutcome], Reader]:
        """The reader class, imported on first use."""
        module, _, name = self.reader_at.partition(":")
        reader: Callable[[ProcessOutcome], Reader] = getattr(
            importlib.import_module(module), name)
        return reader


_HERE = "app.engine.agents"
KINDS: dict[str, Kind] = {
    "claude": Kind("claude", f"{_HERE}.claude:ClaudeReader", "@anthropic-ai/claude-code"),
    "codex": Kind("codex", f"{_HERE}.codex:CodexReader", "@openai/codex"),
    "gemini": Kind("gemini", f"{_HERE}.gemini:GeminiReader", "@google/gemini-cli",
                   idle_timeout_s=900),
    "opencode": Kind("opencode", f"{_HERE}.opencode:OpenCodeReader", "opencode-ai",
                     idle_timeout_s=900),
    "amp": Kind("amp", f"{_HERE}.claude:ClaudeReader", "@sourcegraph/amp"),
}


def kind(name: str) -> Kind:
    """The kind of that name (config.py refuses any other before a run)."""
    return KINDS[name]
