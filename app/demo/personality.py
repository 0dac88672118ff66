"""The demo's agent: varied text and tool calls, mostly complete, sometimes failing once or
blocked, seeded (ORCHESTRATE_FAKE_SEED) so the same seed, item, phase and attempt give the
same run. The scripted agent's `demo` mode plays it (app/demo/scripted_agent.py)."""

from __future__ import annotations

import os
import random
import re
from typing import TYPE_CHECKING, Any

from app.demo.scripted_agent import DEFAULT_ASSESSMENT

if TYPE_CHECKING:
    from app.demo.scripted_agent import Agent


def play(agent: Agent) -> int:
    """One demo attempt of `agent`'s item and phase; the exit code."""
    seed = f"{os.environ.get('ORCHESTRATE_FAKE_SEED', '')}:{agent.item_id}:{agent.phase}:" \
           f"{agent.attempt}"
    rng = random.Random(seed)
    pause = 0.35
    title = prompt_title(agent)
    agent.say(rng.choice(DEMO_OPENERS).format(phase=agent.phase, item=agent.item_id,
                                              title=title), pause)
    for _ in range(rng.randint(2, 5)):
        name, args, out = rng.choice(DEMO_TOOLS)
        agent.tool(name, dict(args), out, pause)
        if rng.random() < 0.5:
            agent.say(rng.choice(DEMO_THOUGHTS), pause)
    roll = rng.random()
    if agent.attempt == 1 and roll < 0.08:
        if agent.phase in ("build", "review"):
            reason = rng.choice(DEMO_FAILURES)
            agent.tool("Bash", {"command": "pytest -q"}, reason, pause, is_error=True)
        else:  # no code changed yet: nothing to fail a test run
            reason = DEMO_DOC_FAILURE.format(phase=agent.phase)
            agent.say(reason, pause)
        agent.write_result("failed", reason)
        agent.final(f"Failed: {reason}")
        return 0
    if agent.attempt == 1 and agent.phase not in ("prd", "triage") and roll > 0.97:
        reason = rng.choice(DEMO_BLOCKERS)
        agent.say(f"I need a decision before going on: {reason}", pause)
        agent.write_result("blocked", "needs a decision", blocked_reason=reason)
        agent.final(f"Blocked: {reason}")
        return 0
    if agent.phase == "build":
        left = agent.tick(2)
        result = "progress" if left else "complete"
        summary = "two SPEC tasks done" if left else "all SPEC tasks done"
    else:
        agent.write_doc()
        result = "complete"
        summary = rng.choice(DEMO_SUMMARIES.get(agent.phase, ["{phase} done"])).format(
            phase=agent.phase, title=title)
    if agent.phase == "triage":
        agent.behaviour.setdefault("assessment", {
            "size": rng.choice(["small", "small", "medium"]),
            "complexity": rng.choice(["low", "low", "medium"]),
            "risk": rng.choice(["low", "low", "low", "medium"])})
    if agent.phase in ("triage", "investigate"):
        # Say what the result file says: the assessment decides where the item goes.
        assessment = agent.behaviour.get("assessment", DEFAULT_ASSESSMENT)
        summary = f"{summary}: {describe_assessment(assessment)}"
    agent.say(summary, pause)
    agent.write_result(result, summary)
    agent.final(summary)
    return 0


def prompt_title(agent: Agent) -> str:
    """The item's title, as the phase prompt names it."""
    match = re.search(r"^Title: (.+)$", agent.prompt, re.M)
    return match.group(1).strip() if match else agent.item_id


def describe_assessment(assessment: Any) -> str:
    """`small size, low complexity, medium risk`: the fields an assessment really has."""
    if not isinstance(assessment, dict):
        return "no assessment"
    words = [f"{assessment[key]} {key}" for key in ("size", "complexity", "risk")
             if assessment.get(key)]
    return ", ".join(words) or "no assessment"


DEMO_OPENERS = [
    "Let me start the {phase} phase for {item} ({title}).",
    "I'll look at the codebase before writing the {phase} for \"{title}\".",
    "Reading the item and its notes first.",
]
DEMO_THOUGHTS = [
    "The existing handler already validates input; I'll reuse it.",
    "Tests cover the happy path only, so I'll add the edge cases.",
    "This touches the config loader; keeping the change small.",
    "The naming in this module is consistent; following it.",
]
DEMO_TOOLS: list[tuple[str, dict[str, Any], str]] = [
    ("Read", {"file_path": "app/handlers.py"}, "212 lines"),
    ("Grep", {"pattern": "def load_"}, "app/engine/config.py:41: def load_config(path)"),
    ("Bash", {"command": "pytest -q tests/test_handlers.py"}, "14 passed in 0.42s"),
    ("Bash", {"command": "git log --oneline -5"}, "a1b2c3d Tidy the router"),
    ("Glob", {"pattern": "**/*.py"}, "37 files"),
    ("Edit", {"file_path": "app/routes.py"}, "The file app/routes.py has been updated."),
    ("WebSearch", {"query": "rate limiting token bucket python"}, "5 results"),
]
DEMO_FAILURES = [  # build and review: code has changed
    "3 tests failed after the change (test_routes.py)",
    "the type checker reports 2 new errors",
]
DEMO_DOC_FAILURE = "ran out of turns before the {phase} document was finished"
DEMO_BLOCKERS = [
    "two designs fit; which storage should this use, SQLite or the existing JSON files?",
    "the spec conflicts with the notes about backwards compatibility",
]
DEMO_SUMMARIES = {
    "prd": ["PRD written: goals, users, scope for {title}"],
    "research": ["Research done: 3 options compared, one recommended"],
    "design": ["Design written: modules, data flow and error handling"],
    "spec": ["SPEC written: 2 phases, 4 tasks"],
    "review": ["Review passed: tests green, docs updated"],
    "triage": ["Triaged"],  # the assessment actually returned is appended
    "investigate": ["Investigated, unknowns resolved"],
}
