"""What the cards say beyond their items' fields: what a ready item waits on, why an
autonomous run would skip it (the guardrails), and SPEC.md's progress in the build phase.

Dependencies come from the backlog itself and are worked out at once, in the UI thread
(a pass over the items). The guardrails need orchestrate.toml and the progress needs
SPEC.md: `CardFacts` reads both in a worker after every load of BACKLOG.yaml and posts
`CardFacts.Loaded`; until then the cards show what was read last. Widgets get plain
words (`CardNote`), never the engine's objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from textual.message import Message
from textual.worker import get_current_worker

from app.backlog.model import Backlog
from app.engine.dependencies import waits_on
from app.engine.project import Project
from app.errors import OrchestrateError
from app.structs import Struct, field
from app.ui.jobs.node import Node
from widgets.cards import CardNote

if TYPE_CHECKING:
    from app.engine.config import Config


class Facts(Struct, frozen=True):
    """What was read from files for the cards."""

    config: Config | None = None
    """orchestrate.toml (None: not read yet, or broken: no guardrail reasons shown)."""
    spec: Mapping[str, str] = field(default_factory=dict)
    """SPEC.md's progress (`3/7`) of each item in the build phase that has tasks."""


def card_notes(backlog: Backlog, facts: Facts) -> dict[str, CardNote]:
    """The note of every card that has something to say, by id."""
    notes: dict[str, CardNote] = {}
    config = facts.config
    if config is not None:  # read (with orchestrate.toml) after the first frame
        from app.engine.config import within_guardrails
    for item in backlog.items:
        if item.status == "ready":
            waiting = waits_on(backlog, item) if item.depends_on else ()
            outside = within_guardrails(item, config) if config is not None else None
            if waiting or outside:
                notes[item.id] = CardNote(waits_on=waiting, outside_guardrails=outside)
        elif item.status == "in_progress" and item.id in facts.spec:
            notes[item.id] = CardNote(spec=facts.spec[item.id])
    return notes


def read_facts(project: Project, backlog: Backlog) -> Facts:
    """orchestrate.toml and the SPEC.md of every item in the build phase (reads files)."""
    from app.engine import changes  # in the worker, after the first frame

    try:
        config: Config | None = project.config()
    except OrchestrateError:  # the board says nothing of guardrails it cannot read
        config = None
    spec: dict[str, str] = {}
    for item in backlog.items:
        if item.status == "in_progress" and item.phase == "build":
            progress = changes.spec_progress(project.root, item)
            if progress is not None:
                spec[item.id] = str(progress)
    return Facts(config, spec)


class CardFactsScreen(Node, Protocol):
    """What the cards' facts need of the screen: a worker, and its messages."""


class CardFacts:
    """Reads the cards' facts in a worker of `node` (the main screen), which hears
    `CardFacts.Loaded`."""

    class Loaded(Message, bubble=False):
        """orchestrate.toml and the SPEC.md files the cards need were read."""

        def __init__(self, facts: Facts) -> None:
            super().__init__()
            self.facts = facts
            """What was read."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, CardFacts.Loaded)

    def __init__(self, node: CardFactsScreen, project: Project) -> None:
        self._node = node
        self._project = project
        self.facts = Facts()
        """What was read last."""
        self.asked = 0
        """How many reads were asked for (the first waits for the first frame)."""

    def notes(self, backlog: Backlog) -> dict[str, CardNote]:
        """The cards' notes of `backlog` with the facts read last."""
        return card_notes(backlog, self.facts)

    def reload(self, backlog: Backlog) -> None:
        """Read the facts again for `backlog` (in a worker); a `Loaded` follows."""
        self.asked += 1
        self._node.run_worker(lambda: self._read(backlog), name="cards", group="cards",
                              thread=True, exclusive=True, exit_on_error=False,
                              description="read orchestrate.toml and SPEC.md for the cards")

    def _read(self, backlog: Backlog) -> None:
        facts = read_facts(self._project, backlog)
        if not get_current_worker().is_cancelled:
            self._node.post_message(self.Loaded(facts))
