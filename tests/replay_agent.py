"""A stand-in agent CLI for kinds whose real CLI the tests cannot run (OpenCode, Amp):
it prints what the real CLI printed in a capture of ../shared/samples (its stderr, its
stdout, its exit code), and where that run ended well it also writes the answer
orchestrate's prompt asked for (the result file, `complete`), as the real agent would
have written it in this folder.

`python tests/replay_agent.py CAPTURE PROMPT`: CAPTURE is a sample folder
(`stdout.jsonl`, `stderr.txt`, `exit_code.txt`: opencode's, codex's, gemini's) or a
claude sample's `NAME.jsonl` (beside `NAME.exit`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def printed(capture: Path) -> tuple[str, str, int]:
    """(stdout, stderr, exit code) of the capture."""
    if capture.is_dir():
        stderr = capture / "stderr.txt"
        return ((capture / "stdout.jsonl").read_text(encoding="utf-8"),
                stderr.read_text(encoding="utf-8") if stderr.exists() else "",
                int((capture / "exit_code.txt").read_text().strip()))
    code = capture.with_suffix(".exit").read_text().split()[-1]
    return capture.read_text(encoding="utf-8"), "", int(code)


def main(argv: list[str]) -> int:
    stdout, stderr, code = printed(Path(argv[1]))
    if code == 0:
        result = Path(os.environ["ORCHESTRATE_RESULT_FILE"])
        result.parent.mkdir(parents=True, exist_ok=True)
        phase = os.environ["ORCHESTRATE_PHASE"]
        result.write_text(json.dumps({
            "item_id": os.environ["ORCHESTRATE_ITEM_ID"], "phase": phase,
            "result": "complete", "summary": f"{phase} by the replayed {Path(argv[1]).name}"}),
            encoding="utf-8")
    sys.stderr.write(stderr)
    sys.stderr.flush()
    sys.stdout.write(stdout)
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
