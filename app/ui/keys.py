"""The board's keys: one table for the Footer, the help screen, the palette and the README.

Each row is one line of the help screen (`?`) and of the README's "The board's keys"
table. A row's commands are the bindings behind its key, each with its Footer label,
tooltip, binding id (for Textual's keymap) and palette entry; a key with two meanings
(`r` runs, or pauses a live run) has a row for each.
A row without commands documents a key another class binds: the board's widgets (moving
between cards) or Textual itself (ctrl+p). tests/ui/test_keys.py holds the README, the
help screen, the palette and the bindings of widgets/board.py to this table;
`python -m app.ui.keys` prints the README's table.
"""

from __future__ import annotations

from typing import Literal

from textual.binding import Binding, BindingType

from app.structs import Struct

Scope = Literal["app", "main", "documents", "checkpoints", "review", "report"]
"""Where a command's binding lives: the App (global keys), the main screen, or a view
opened from it (an item's documents, its checkpoints, the report): the palette offers a
view's commands while that view is shown."""


class Command(Struct, frozen=True):
    """One action a key starts: its binding and its palette entry."""

    key: str
    """Textual's key name (`greater_than_sign`)."""
    action: str
    """The action's name (`add` runs `action_add`)."""
    label: str
    """The Footer's label."""
    tooltip: str
    """The Footer's tooltip, also the palette entry's help."""
    palette: str
    """The palette entry (`board: add item`)."""
    id: str
    """The binding id, for remapping with Textual's keymap (`board.add`)."""
    scope: Scope = "main"
    show: bool = True
    """Whether the Footer shows it."""
    key_display: str | None = None

    def binding(self) -> Binding:
        """The Textual binding of this command."""
        return Binding(self.key, self.action, self.label, show=self.show,
                       key_display=self.key_display, id=self.id, tooltip=self.tooltip)


class Key(Struct, frozen=True):
    """One key as a person reads about it: a line of the help screen and the README."""

    shown: str
    """The key as written (`>`, `ctrl+p`)."""
    does: str
    """What it does, in a few words (the help dialog is narrow)."""
    commands: tuple[Command, ...] = ()
    """The commands behind it; none when a widget or Textual binds it."""


def _key(shown: str, does: str, *commands: Command) -> Key:
    return Key(shown, does, commands)


KEYS: tuple[Key, ...] = (
    # Bound by widgets/board.py (h, l, j, k) and OptionList (the arrows).
    _key("←↓↑→ hjkl", "move between cards and columns"),
    _key("enter", "show / hide the card's details",
         Command("enter", "details", "Details", "Show or hide the details of the selected card",
                 "board: toggle details", "board.details")),
    _key("a", "add an item",
         Command("a", "add", "Add", "Add an item to the backlog", "board: add item",
                 "board.add")),
    _key("t", "triage the new items",
         Command("t", "triage", "Triage", "Run triage agents on the new items", "board: triage",
                 "board.triage")),
    _key(">", "advance to an allowed status or phase",
         Command("greater_than_sign", "advance", "Advance",
                 "Move the selected item to an allowed status or phase", "board: advance item",
                 "board.advance", key_display=">")),
    _key("u", "unblock, with notes for the agent",
         Command("u", "unblock", "Unblock", "Return a blocked item to where it was, with notes",
                 "board: unblock item", "board.unblock")),
    _key("r", "run here: closing the board stops the run",
         Command("r", "run", "Run",
                 "Run the pipeline on the ready items in this board (closing the board "
                 "stops the run)", "board: run", "board.run")),
    _key("r", "while a run goes: pause it after its phase",
         Command("r", "pause", "Pause",
                 "Pause the run (this board's or the watched one) after the current phase "
                 "attempt", "board: pause", "board.pause")),
    _key("D", "run detached: goes on after the board closes",
         Command("D", "detach", "Detach",
                 "Run the pipeline in a process of its own (orchestrate run --detach): it "
                 "goes on after the board closes, and the board watches it",
                 "board: run detached", "board.detach", show=False)),
    _key("R", "run the selected item only",
         Command("R", "run_item", "Run this", "Run the pipeline on the selected item only",
                 "board: run the selected item", "board.run_item", show=False)),
    _key("d", "delete the selected item (asks first)",
         Command("d", "delete", "Delete",
                 "Delete the selected item (asks first; its id is never reused)",
                 "board: delete item", "board.delete", show=False)),
    _key("e", "edit the item: title, notes, size, deps…",
         Command("e", "edit", "Edit",
                 "Edit the selected item's title, notes, size, complexity, risk and "
                 "dependencies", "board: edit item", "board.edit", show=False)),
    _key("⇧↑ ⇧↓", "move the card up / down (the run's order)",
         Command("shift+up", "move_up", "Card up",
                 "Move the selected card above the one before it in its column (a run takes "
                 "ready items from the top)", "board: move the card up", "board.move_up",
                 show=False, key_display="⇧↑"),
         Command("shift+down", "move_down", "Card down",
                 "Move the selected card below the one after it in its column",
                 "board: move the card down", "board.move_down", show=False,
                 key_display="⇧↓")),
    _key("z", "undo your last change (again: further)",
         Command("z", "undo", "Undo",
                 "Take back your last change of the backlog (add, edit, move, advance, "
                 "unblock, delete); again, the one before", "board: undo", "board.undo",
                 show=False)),
    _key("s", "stop the run now, any process's (asks first)",
         Command("s", "stop", "Stop",
                 "Stop the run now, this board's or the watched one (asks first)",
                 "board: stop", "board.stop")),
    _key("/", "filter the cards (Escape clears)",
         Command("slash", "filter", "Filter", "Show only the cards matching some text",
                 "board: filter", "board.filter", key_display="/")),
    _key("escape", "close the filter, else the details",
         Command("escape", "close", "Close", "Close the filter or the details",
                 "board: close the filter or the details", "board.close", show=False)),
    _key("L", "show / hide the log pane",
         Command("L", "toggle_log", "Log", "Show or hide the log pane", "board: toggle log",
                 "board.log")),
    _key("J", "raw JSON lines in the log pane",
         Command("J", "toggle_raw", "Raw", "Show the agent's raw JSON lines in the log pane",
                 "board: raw log lines", "board.raw")),
    _key("f", "follow the log tail again",
         Command("f", "follow_log", "Follow", "Follow the tail of the log again",
                 "board: follow the log", "board.follow")),
    _key("m", "read the item's documents (PRD, SPEC, …)",
         Command("m", "documents", "Docs",
                 "Read the selected item's change documents (PRD.md, RESEARCH.md, DESIGN.md, "
                 "SPEC.md, REVIEW.md, …)", "board: read the documents", "board.documents",
                 show=False)),
    _key("c", "the item's checkpoint commits and diffs",
         Command("c", "checkpoints", "Checkpoints",
                 "The selected item's checkpoint commits, each with its stat and its diff",
                 "board: checkpoints and diffs", "board.checkpoints", show=False)),
    _key("v", "review an item that waits for you",
         Command("v", "review", "Review",
                 "Review the selected item that waits for your review: its branch's diff, "
                 "its documents, SPEC progress and cost; approve or reject it there",
                 "board: review the item", "board.review", show=False)),
    _key("A", "approve the reviewed item: merge it (asks first)",
         Command("A", "approve", "Approve",
                 "Approve the selected item that waits for your review: its branch is "
                 "merged (asks first; undo takes it back until merged)",
                 "board: approve and merge", "board.approve", show=False),
         Command("A", "approve", "Approve", "Approve this item: its branch is merged",
                 "board: approve the item under review", "review.approve", scope="review")),
    _key("X", "reject it: back to build, with notes",
         Command("X", "reject", "Reject",
                 "Send the selected item that waits for your review back to build, with "
                 "notes for its next build", "board: reject with notes", "board.reject",
                 show=False),
         Command("X", "reject", "Reject", "Send this item back to build, with notes",
                 "board: reject the item under review", "review.reject", scope="review")),
    _key("i", "the report: how the runs went, charts",
         Command("i", "report", "Report",
                 "How past runs went: a timeline of the attempts per lane, cost per hour, "
                 "success per phase, and the figures of `orchestrate report`",
                 "board: report", "board.report", show=False)),
    _key("m", "in the documents, the review: the next one",
         Command("m", "next_document", "Next doc", "Show the item's next document",
                 "board: next document", "documents.next", scope="documents"),
         Command("m", "next_document", "Next doc", "Show the item's next document",
                 "board: next document of the review", "review.next", scope="review")),
    _key("g", "in the checkpoints: whole diff / stat",
         Command("g", "toggle_diff", "Diff",
                 "The highlighted checkpoint's whole diff, or its stat again (enter too)",
                 "board: diff or stat of the checkpoint", "checkpoints.diff",
                 scope="checkpoints")),
    _key("escape", "close the documents, checkpoints, review, report",
         Command("escape", "close_view", "Close", "Back to the board",
                 "board: close the documents", "documents.close", scope="documents"),
         Command("escape", "close_view", "Close", "Back to the board",
                 "board: close the checkpoints", "checkpoints.close", scope="checkpoints"),
         Command("escape", "close_view", "Close", "Back to the board",
                 "board: close the review", "review.close", scope="review"),
         Command("escape", "close_view", "Close", "Back to the board",
                 "board: close the report", "report.close", scope="report")),
    # Textual's own binding (App.COMMAND_PALETTE_BINDING); the palette cannot list itself.
    _key("ctrl+p", "commands; go to an item by id/title"),
    _key("?", "every key, with what it does",
         Command("question_mark", "help", "Help", "Every key of the board", "board: help",
                 "board.help", scope="app", key_display="?")),
    _key("q", "quit (asks while a run is live)",
         Command("q", "quit_board", "Quit", "Quit (asks first while a run is live)",
                 "board: quit", "board.quit", scope="app")),
)
"""Every key of the board, in the order the help screen and the README list them."""


def commands(scope: Scope | None = None) -> tuple[Command, ...]:
    """The commands of the table (of one scope), in table order."""
    return tuple(c for key in KEYS for c in key.commands if scope in (None, c.scope))


def bindings(scope: Scope) -> list[BindingType]:
    """The bindings of one scope, for a `BINDINGS` class variable."""
    return [command.binding() for command in commands(scope)]


def help_lines() -> tuple[tuple[str, str], ...]:
    """(key, what it does) for the help screen."""
    return tuple((key.shown, key.does) for key in KEYS)


def markdown_table() -> str:
    """The README's "The board's keys" table."""
    rows = ["| key | does |", "| --- | --- |"]
    rows += [f"| {key.shown} | {key.does} |" for key in KEYS]
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
