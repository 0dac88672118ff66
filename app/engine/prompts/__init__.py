"""Phase prompts: a per-phase template wrapped in the autonomous preamble.

A template comes from, in order: `[prompts]` in orchestrate.toml (e.g.
`prd = "/changes:prd {item_id}"` to call an existing skill),
`.orchestrator/prompts/<phase>.md`, or the shipped default next to this file.
Templates may use `{item_id}`, `{title}`, `{phase}`, `{attempt}`, `{change_dir}`,
`{result_file}`, `{notes}`, `{spec_phase}`, `{spec_tasks}`; unknown `{keys}` and
other braces are left as written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from app.backlog.model import ASSESSMENT_CHOICES, PHASE_TITLES, Item
from app.engine.config import Config

PROMPT_PHASES: tuple[str, ...] = (
    "triage", "investigate", "prd", "research", "design", "spec", "build", "review",
)


MCP_NOTE = (
    "You have the `orchestrate` MCP server's tools (mcp__orchestrate__*): list_items, "
    "show_item and backlog_status read the backlog; add_follow_up records new work you "
    "found as an item of its own that a person will see; block_item asks a person a "
    "question about {item_id} (the item is blocked with your question as the reason once "
    "you end, whatever the result file says: use it instead of guessing, then stop). "
    "They work on {item_id} only, and never replace the result file.")
"""What the prompt says of an attempt's own MCP server (`[agent] mcp = true`)."""


class _Keep(dict[str, Any]):
    """format_map mapping that leaves unknown `{keys}` in place."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, values: dict[str, Any]) -> str:
    """Substitute known `{keys}`; anything else (JSON braces, unknown keys) stays as is."""
    try:
        return template.format_map(_Keep(values))
    except (ValueError, IndexError, KeyError, AttributeError):
        # A template with stray braces (`{"a": 1}`, `{0}`): replace plain `{name}` only.
        return re.sub(r"\{(\w+)\}",
                      lambda m: str(values[m.group(1)]) if m.group(1) in values
                      else m.group(0), template)


def shipped_template(phase: str) -> str:
    """The default template shipped with orchestrate."""
    beside = Path(__file__).with_name(f"{phase}.md")
    if beside.is_file():  # installed as files: read it there (importlib.resources and the
        return beside.read_text(encoding="utf-8")  # zipfile it imports cost ~4 ms at start)
    from importlib import resources

    return resources.files(__name__).joinpath(f"{phase}.md").read_text(encoding="utf-8")


def template_for(phase: str, config: Config, prompts_dir: Path) -> str:
    """The template for `phase`: config, then project file, then shipped default."""
    if phase in config.prompts:
        return config.prompts[phase]
    override = prompts_dir / f"{phase}.md"
    if override.is_file():
        return override.read_text(encoding="utf-8")
    return shipped_template(phase)


def result_shape(item_id: str, phase: str, item: Item | None = None) -> str:
    """The exact JSON the agent must write (the assessment shows the item's current one,
    or the choices where there is none, so an agent never copies a made-up estimate)."""
    assessment = {key: (getattr(item, key, None) or "|".join(choices))
                  for key, choices in ASSESSMENT_CHOICES.items()}
    shape: dict[str, Any] = {
        "item_id": item_id, "phase": phase, "result": "complete",
        "summary": "one line: what you did", "blocked_reason": None,
        "assessment": assessment, "follow_ups": [],
    }
    if phase == "triage":
        shape["needs_investigation"] = False
    return json.dumps(shape, indent=2)


def build_prompt(item: Item, phase: str, *, config: Config, prompts_dir: Path,
                 result_file: Path, attempt: int = 1, spec_phase: str = "",
                 spec_tasks: tuple[str, ...] = (), last_error: str | None = None,
                 workspace_note: str | None = None, mcp: bool = False) -> str:
    """The whole prompt for one attempt: preamble, the item, the step, the result contract
    (`mcp`: the agent has the backlog's tools, its own orchestrate MCP server)."""
    values: dict[str, Any] = {
        "item_id": item.id, "title": item.title, "phase": phase, "attempt": attempt,
        "change_dir": item.change_dir, "result_file": str(result_file),
        "notes": item.notes or "", "spec_phase": spec_phase or "the first unfinished phase",
        "spec_tasks": "\n".join(f"- [ ] {t}" for t in spec_tasks) or "(see SPEC.md)",
        "size": item.size or "", "complexity": item.complexity or "", "risk": item.risk or "",
    }
    body = fill(template_for(phase, config, prompts_dir), values).strip()
    step = PHASE_TITLES.get(phase, phase.title())
    assessed = ", ".join(f"{k} {getattr(item, k)}" for k in ("size", "complexity", "risk")
                         if getattr(item, k)) or "not assessed yet"
    results = ("`complete` (the step is done), `progress` (a build step is done and more "
               "remain), `blocked` (you need a person; say why in blocked_reason) or "
               "`failed` (you could not do it; say why in summary)")
    lines = [
        "You are working autonomously on one backlog item of the software project in the "
        "current directory. Nobody will answer questions: do not ask any. Decide what a "
        "careful engineer would decide, and write your reasons down.",
        "",
        "## The item",
        f"ID: {item.id}",
        f"Title: {item.title}",
        f"Assessment: {assessed}",
        f"Depends on: {', '.join(item.depends_on) or 'nothing'}",
        f"Change folder: {item.change_dir} (create it if missing; your documents go there)",
    ]
    if item.notes:
        lines += ["Notes from people (follow them):", item.notes.strip()]
    if workspace_note:  # a lane's worktree: where the agent works, conflicts to resolve
        lines += ["", "## Where you work", workspace_note]
    if last_error:
        lines += ["", f"The previous attempt at this step failed: {last_error}"]
    if mcp:
        lines += ["", "## The backlog's tools", MCP_NOTE.format(item_id=item.id)]
    # A template that calls a skill (`/changes:prd WRK-001`) must open the prompt, or
    # claude would not run it as a command; the context then follows as its arguments.
    skill = body.startswith("/")
    lines += [
        "",
        f"## Your step: {step} (attempt {attempt})",
        "Run the command at the top of this prompt for this item." if skill else body,
        "",
        "## When you are done",
        f"Write this JSON file, exactly this shape, to {result_file}:",
        result_shape(item.id, phase, item),
        f"`result` is one of {results}. `assessment` is your current estimate (size small|"
        "medium|large, complexity and risk low|medium|high). `follow_ups` lists new work "
        "you found (a title, or {\"title\": ..., \"notes\": ...}).",
        "Answer `blocked` instead of guessing when the requirements are unclear or "
        "contradict each other, when you need access or a decision you do not have, or "
        "when going on could lose a person's work. Write the result file last, once.",
    ]
    if skill:
        lines = [body, "", *lines]
    return "\n".join(lines) + "\n"
