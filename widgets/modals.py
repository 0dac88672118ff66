"""Modal dialogs: add an item, edit one, unblock (asks for notes), advance (choose a
target), confirm, and help. Each returns what the person chose through `dismiss`; the App
acts on it (through app/engine/actions.py). Escape always cancels. Titles, reasons and
questions show their control characters escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

from app.backlog.model import (
    ASSESSMENT_CHOICES,
    LEVELS,
    PHASES,
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

CANCEL = Binding("escape", "cancel", "Cancel", id="modal.cancel", tooltip="Close without changes")
"""Every dialog closes on Escape without doing anything."""


@dataclass(frozen=True)
class NewItem:
    """What the add form collected."""

    title: str
    size: str | None = None
    risk: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class AdvanceChoice:
    """Where the person wants an item to go (and why, when blocking)."""

    target: str
    reason: str | None = None


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


@dataclass(frozen=True)
class ItemEdit:
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


class UnblockScreen(ModalScreen[str | None]):
    """Asks for notes for the next agent; Enter unblocks, Escape cancels."""

    BINDINGS = [CANCEL]

    def __init__(self, item: Item, back_to: str) -> None:
        super().__init__()
        self.item = item
        """The blocked item."""
        self.back_to = back_to
        """Where unblocking returns it."""

    def compose(self) -> ComposeResult:
        with Vertical(id="unblock-dialog", classes="dialog"):
            yield Label(f"Unblock {self.item.id} → {self.back_to}", classes="dialog-title")
            yield Static(visible(self.item.title, one_line=True), markup=False)
            yield Static(Content.assemble(("blocked: ", "$text-muted"),
                                          (visible(self.item.blocked_reason or
                                                   "no reason given"), "$text-error")))
            yield Input(placeholder="notes for the next agent (Enter unblocks)",
                        id="unblock-notes")
            yield Static(Content.styled("Enter unblocks · Escape cancels", "$text-muted"))

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def submit(self, event: Input.Submitted) -> None:
        """Return the notes (may be empty)."""
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        """Close without unblocking."""
        self.dismiss(None)


class AdvanceScreen(ModalScreen[AdvanceChoice | None]):
    """Choose where to move an item, from the moves the state machine allows."""

    BINDINGS = [CANCEL]

    def __init__(self, item: Item, targets: Sequence[str]) -> None:
        super().__init__()
        self.item = item
        """The item to move."""
        self.targets = tuple(targets)
        """The allowed targets (statuses and, for in_progress, phases)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="advance-dialog", classes="dialog"):
            yield Label(f"Move {self.item.id} ({describe(self.item)}) to…",
                        classes="dialog-title")
            yield OptionList(*[Option(f"in progress · {t}" if t in PHASES else t, id=t)
                               for t in self.targets], id="advance-targets")
            yield Input(placeholder="why is it blocked? (Enter blocks)", id="advance-reason")
            yield Static(Content.styled("Enter moves · Escape cancels", "$text-muted"))

    def on_mount(self) -> None:
        self.query_one("#advance-reason", Input).display = False
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected, "#advance-targets")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        """A target was chosen; blocking first asks for the reason."""
        target = str(event.option_id)
        if target == "blocked":
            reason = self.query_one("#advance-reason", Input)
            reason.display = True
            reason.focus()
            return
        self.dismiss(AdvanceChoice(target))

    @on(Input.Submitted, "#advance-reason")
    def reason_given(self, event: Input.Submitted) -> None:
        """Block with the reason typed (the state machine refuses an empty one)."""
        self.dismiss(AdvanceChoice("blocked", event.value.strip() or None))

    def action_cancel(self) -> None:
        """Close without moving."""
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question: `y` or Enter on Yes confirms, `n` or Escape declines."""

    BINDINGS = [
        CANCEL,
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Confirm"),
        Binding("n", "answer(False)", "No", id="confirm.no", tooltip="Decline"),
    ]

    def __init__(self, question: str, yes: str = "Yes") -> None:
        super().__init__()
        self.question = question
        """What is asked."""
        self.yes = yes
        """The label of the confirming button."""

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog", classes="dialog"):
            yield Static(visible(self.question), markup=False, classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="confirm-yes")
                yield Button("No (n)", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        """A button answers."""
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, yes: bool) -> None:
        """A key answers."""
        self.dismiss(yes)

    def action_cancel(self) -> None:
        """Escape declines."""
        self.dismiss(False)


class HelpScreen(ModalScreen[None]):
    """Every key of the board, with what it does."""

    BINDINGS = [CANCEL, Binding("question_mark", "cancel", "Close", id="help.close",
                                tooltip="Close the help")]

    def __init__(self, keys: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = tuple(keys)
        """(key, what it does) pairs."""

    def compose(self) -> ComposeResult:
        lines = [Content.assemble((f"{key:>10}  ", "$text-accent bold"), text)
                 for key, text in self.keys]
        with Vertical(id="help-dialog", classes="dialog"):
            yield Label("Keys", classes="dialog-title")
            with VerticalScroll(id="help-keys"):
                yield Static(Content("\n").join(lines))
            yield Static(Content.styled("Escape closes", "$text-muted"))

    def action_cancel(self) -> None:
        """Close the help."""
        self.dismiss(None)
