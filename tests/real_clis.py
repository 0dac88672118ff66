"""Where the real agent CLIs the e2e tests drive are: `ORCHESTRATE_TEST_<NAME>`, else
`.ci/node_modules/.bin/<name>` (what .ci/run installs, pinned), else `<name>` on PATH;
without one, the reason its tests are skipped."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PINNED = {"claude": ("@anthropic-ai/claude-code", "2.1.197", "Claude Code"),
          "codex": ("@openai/codex", "0.169.0", "OpenAI Codex"),
          "gemini": ("@google/gemini-cli", "0.61.0", "Gemini")}
"""Each CLI: its npm package, the version .ci/run pins, how a person calls it."""


def find_cli(name: str) -> tuple[str | None, str]:
    """The CLI to test with, or None and why not."""
    variable = f"ORCHESTRATE_TEST_{name.upper()}"
    chosen = os.environ.get(variable)
    if chosen:
        found = shutil.which(chosen)
        if found is None:
            return None, f"{variable}={chosen!r} is not an executable"
        return found, ""
    local = REPO / ".ci" / "node_modules" / ".bin" / name
    if os.access(local, os.X_OK):
        return str(local), ""
    on_path = shutil.which(name)
    if on_path:
        return on_path, ""
    package, version, called = PINNED[name]
    return None, (f"the real {called} CLI is not installed: set {variable}, run .ci/run "
                  f"(npm install --prefix .ci {package}@{version}) or put {name} on PATH")
