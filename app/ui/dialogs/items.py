"""The add form and the edit form of an item."""

from __future__ import annotations

from collections.abc import Sequence

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from app.backlog.model import (
    ASSESSMENT_CHOICES,
    LEVELS,
    SIZES,
    Item,
    choice_problem,
    choice_value,
    control_problem,
    dependency_problem,
    parse_ids,
    visible,
)
from app.backlog.states import describe
from app.structs import Struct
from app.ui.dialogs import CANCEL


class NewItem(Struct, frozen=True):
    """What the add form collected."""

    title: str
    size: str | None = None
    risk: str | None = None
    notes: str | None = None


class AddItemScreen(ModalScreen[NewItem | None]):
    """The add form: title, size, risk, notes. Enter in a text field submits."""

    BINDINGS = [CANCEL]

    def compose(self) -> ComposeResult:
        with Vertical(id="add-dialog", classes="dialog"):
            yield Label("Add an item", classes="dialog-title")
            yield Input(placeholder="title (required)", id="add-title")
            with Horizontal(classes="dialog-row"):
                yield Select([(s, s) for s in SIZES], prompt="size", id="add-size")
                yield Select([(r, r) for r in LEVELS], prompt="risk", id="add-risk")
            yield Input(placeholder="notes for the agents (optional)", id="add-notes")
            yield Static("", id="add-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Add", variant="primary", id="add-ok")
                yield Button("Cancel", id="add-cancel")

    def on_mount(self) -> None:
        self.query_one("#add-title", Input).focus()

    def _value(self, selector: str) -> str | None:
        value = self.query_one(selector, Select).value
        return value if isinstance(value, str) else None

    @on(Input.Submitted)
    @on(Button.Pressed, "#add-ok")
    def submit(self) -> None:
        """Return the form, unless the title is missing."""
        title = self.query_one("#add-title", Input).value.strip()
        if not title:
            self.query_one("#add-error", Static).update("a title is needed")
            self.query_one("#add-title", Input).focus()
            return
        notes = self.query_one("#add-notes", Input).value.strip() or None
        self.dismiss(NewItem(title, self._value("#add-size"), self._value("#add-risk"), notes))

    @on(Button.Pressed, "#add-cancel")
    def action_cancel(self) -> None:
        """Close without adding."""
        self.dismiss(None)


class ItemEdit(Struct, frozen=True):
    """What the edit form collected: every editable field as the person left it."""

    title: str
    notes: str | None
    size: str | None
    complexity: str | None
    risk: str | None
    depends_on: tuple[str, ...]


class NotesArea(TextArea):
    """The form's notes: Enter saves the form (as in every other field); ctrl+j, or
    shift+enter where the terminal tells it from Enter, starts a new line."""

    class Submitted(Message):
        """Enter was pressed in the notes."""

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted())
            return
        if event.key in ("ctrl+j", "shift+enter"):
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        await super()._on_key(event)


class EditItemScreen(ModalScreen[ItemEdit | None]):
    """Every editable field of an item, checked as it is typed: title, size, complexity,
    risk, depends on, notes. Enter saves (when every field is valid), Escape cancels."""

    BINDINGS = [CANCEL]
    FIELDS = ("title", "size", "complexity", "risk", "depends_on", "notes")
    """The fields, top to bottom (a field's widget id is `edit-<field>`)."""

    def __init__(self, item: Item, items: Sequence[Item]) -> None:
        super().__init__()
        self.item = item
        """The item as it was when the form opened."""
        self.items = tuple(items)
        """The backlog's items, to check dependencies against."""
        self.problems: dict[str, str] = {}
        """What is wrong now, by field."""

    def compose(self) -> ComposeResult:
        item = self.item
        with Vertical(id="edit-dialog", classes="dialog"):
            yield Label(Content.assemble(f"Edit {item.id} ", (f"· {describe(item)}",
                                                                 "$text-muted")),
                        classes="dialog-title")
            with Horizontal(classes="edit-row"):
                yield Label("title", classes="edit-label")
                # The cursor at the end, nothing selected: a key typed first adds to the title.
                yield Input(item.title, id="edit-title", compact=True, select_on_focus=False)
            with Horizontal(classes="edit-row"):
                for n, (name, choices) in enumerate(ASSESSMENT_CHOICES.items()):
                    yield Label(name, classes="edit-label-short" if n else "edit-label")
                    yield Input(getattr(item, name) or "", id=f"edit-{name}", compact=True,
                                placeholder="none", classes="edit-choice",
                                suggester=SuggestFromList(choices, case_sensitive=False))
            with Horizontal(classes="edit-row"):
                yield Label("depends on", classes="edit-label")
                yield Input(", ".join(item.depends_on), id="edit-depends_on", compact=True,
                            placeholder="ids, e.g. WRK-001, WRK-002")
            with Horizontal(classes="edit-row edit-notes-row"):
                yield Label("notes", classes="edit-label")
                yield NotesArea(item.notes or "", id="edit-notes", compact=True,
                                soft_wrap=True, show_line_numbers=False)
            yield Static("", id="edit-error", classes="dialog-error")
            yield Static(Content.styled("Enter saves · ctrl+j: a new line in the notes · "
                                        "Escape cancels", "$text-muted"), id="edit-hint")

    def on_mount(self) -> None:
        self.query_one("#edit-title", Input).focus()
        self.check()

    def _text(self, name: str) -> str:
        if name == "notes":
            return self.query_one("#edit-notes", NotesArea).text
        return self.query_one(f"#edit-{name}", Input).value

    def check(self) -> dict[str, str]:
        """Check every field; show what is wrong (the first problem, its field marked)."""
        problems: dict[str, str] = {}
        title = self._text("title")
        if not title.split():
            problems["title"] = "an item needs a title"
        elif control_problem("title", title, newlines=True):
            problems["title"] = str(control_problem("title", title, newlines=True))
        for name in ASSESSMENT_CHOICES:
            problem = choice_problem(name, self._text(name))
            if problem:
                problems[name] = problem
        problem = dependency_problem(self.items, self.item.id,
                                     parse_ids(self._text("depends_on")))
        if problem:
            problems["depends_on"] = problem
        problem = control_problem("notes", self._text("notes"), newlines=True)
        if problem:
            problems["notes"] = problem
        self.problems = problems
        for name in self.FIELDS:
            self.query_one(f"#edit-{name}").set_class(name in problems, "-invalid")
        first = next((problems[n] for n in self.FIELDS if n in problems), "")
        self.query_one("#edit-error", Static).update(Content(visible(first)))
        return problems

    @on(Input.Changed)
    @on(TextArea.Changed)
    def _changed(self) -> None:
        self.check()

    @on(Input.Submitted)
    @on(NotesArea.Submitted)
    def submit(self) -> None:
        """Return the form when every field is valid; else go to the first bad field."""
        problems = self.check()
        if problems:
            bad = next(n for n in self.FIELDS if n in problems)
            self.query_one(f"#edit-{bad}").focus()
            return
        notes = self._text("notes")
        self.dismiss(ItemEdit(
            title=" ".join(self._text("title").split()),
            notes=notes if notes.strip() else None,
            size=choice_value(self._text("size")),
            complexity=choice_value(self._text("complexity")),
            risk=choice_value(self._text("risk")),
            depends_on=tuple(parse_ids(self._text("depends_on")))))

    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.dismiss(None)
