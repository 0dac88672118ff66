"""An attempt's failure reason, read back for `orchestrate report`: which cause it is (so the
same cause counts once however its words vary), and whether the agent's answer was
malformed (no result file, not JSON, another item's).

The engine's own reasons are matched by the words that begin them: results.py's
`ResultError` messages, the judges' verdicts (steps.py), the timeouts (attempts.py). Any
other reason is the agent's own words, grouped by a few explainable rewrites: ids become
`ID`, paths `PATH`, hashes `HASH`, numbers `N`, quoted words `'…'`, and only the first
line counts.
"""

from __future__ import annotations

import re

MALFORMED_KINDS = ("no_result", "bad_json", "wrong_item", "wrong_phase", "bad_answer")
"""How an answer can be malformed, in the order the report lists them."""

_MALFORMED = (
    # results.read_result: the file missing, or unreadable (judging adds `: why`)
    ("the agent wrote no result file", "no_result"),
    ("cannot read the result file", "no_result"),
    ("the result file is not valid JSON", "bad_json"),
    ("the result file is not a JSON object", "bad_json"),
    ("the result file is for item ", "wrong_item"),
    ("the result file is for phase ", "wrong_phase"),
    ("the result file says result ", "bad_answer"),
)

_CAUSES = (
    # (the words a reason begins with, its cause as the report names it)
    ("the agent wrote no result file", "the agent wrote no result file"),
    ("cannot read the result file", "the result file could not be read"),
    ("the result file is not valid JSON", "the result file is not valid JSON"),
    ("the result file is not a JSON object", "the result file is not a JSON object"),
    ("the result file is for item ", "the result file is for another item"),
    ("the result file is for phase ", "the result file is for another phase"),
    ("the result file says result ", "the result file's result is not one of the four"),
    ("timed out after ", "timed out (agent.phase_timeout_s)"),
    ("no output for ", "no output for too long (idle_timeout_s)"),
    ("answered progress but ticked no new task", "answered progress but ticked no new task"),
    ("answered complete, but ", "answered complete with SPEC.md tasks still open"),
    ("answered progress, which only the build phase may",
     "answered progress outside the build phase"),
    ("usage limit: ", "usage limit"),
    ("stopped by the person", "stopped by the person"),
)

_ID = re.compile(r"\b[A-Z][A-Z0-9]*-\d+\b")
_PATH = re.compile(r"(?:~|\.{1,2})?(?:/[\w.@+-]+){2,}/?|\b[\w.-]+(?:/[\w.@+-]+)+/?")
"""A path: two steps from the root (`/home/ann`; one alone, `/tmp`, may be any word after a
slash) or any relative one (`tests/test_api.py`)."""
_HASH = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,64}\b")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
MAX_CAUSE = 100
"""A cause longer than this many characters is cut (with `…`)."""


def malformed_kind(reason: str | None) -> str | None:
    """One of MALFORMED_KINDS when the reason says the answer was malformed, else None."""
    text = (reason or "").strip()
    for words, kind in _MALFORMED:
        if text.startswith(words):
            return kind
    return None


def cause(reason: str | None) -> str:
    """The cause a failure reason names: the engine's own reasons by their first words,
    any other by its first line with ids, paths, hashes, numbers and quotes rewritten."""
    text = (reason or "").strip()
    if not text:
        return "(no reason recorded)"
    for words, named in _CAUSES:
        if text.startswith(words):
            return named
    first = text.splitlines()[0]
    first = _QUOTED.sub("'…'", first)
    first = _ID.sub("ID", first)
    first = _PATH.sub("PATH", first)
    first = _HASH.sub("HASH", first)
    first = _NUMBER.sub("N", first)
    first = " ".join(first.split())
    return first if len(first) <= MAX_CAUSE else first[:MAX_CAUSE - 1].rstrip() + "…"
