"""Grooming keys: add, edit, advance, unblock, approve, reject and delete (each a dialog
and then one transaction), moving a card up and down its column, and undo.

A dialog (app/ui/dialogs/) asks; the answer becomes a call of app/engine/actions.py (the
same functions the CLI runs) in a worker thread, so a busy store lock never blocks the
keys; a `Grooming.Done` message brings the outcome back to the main screen.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Protocol, TypeVar

from textual.message import Message
from textual.screen import Screen

from app.backlog import states
from app.backlog.model import PHASES, STATUSES, Backlog, Item
from app.engine.project import Project
from app.errors import OrchestrateError
from app.ui.jobs.node import Node
from widgets.board import Board

if TYPE_CHECKING:
    from app.ui.dialogs.items import ItemEdit, NewItem
    from app.ui.dialogs.moves import AdvanceChoice

Answer = TypeVar("Answer")

Outcome = Item | tuple[Item | None, str]
"""What an action gives back: the item, or the item (None: gone) and what to tell."""

LET_GO_S = 30.0
"""How long a key waits for a run to let go of an item, beyond the agent's grace."""

PAST = {"add": "added", "advance": "moved", "unblock": "unblocked", "approve": "approved",
        "reject": "sent back"}
"""How a done action is told (`WRK-004 moved: in_progress/build`)."""


def advance_targets(item: Item) -> list[str]:
    """Where a person may move `item`: statuses, with in_progress spelled as its phases."""
    allowed = states.allowed_statuses(item, by_person=True)
    targets: list[str] = []
    for status in STATUSES:
        if status not in allowed:
            continue
        if status == "in_progress":
            targets.extend(p for p in PHASES
                           if not (item.status == "in_progress" and p == item.phase))
        else:
            targets.append(status)
    return targets


class GroomingScreen(Node, Protocol):
    """What the grooming keys need of the screen."""

    @property
    def backlog(self) -> Backlog | None: ...

    @property
    def board(self) -> Board: ...

    def tell(self, message: str, *, severity: str = "information",
             timeout: float | None = None) -> None: ...

    def selected_item(self) -> Item | None: ...

    def show_dialog(self, dialog: Screen[Answer],
                    then: Callable[[Answer | None], None]) -> None: ...

    def confirm(self, question: str, yes: str, then: Callable[[bool | None], None]) -> None: ...

    def reload(self, *, soon: bool = False) -> None: ...


class Grooming:
    """The dialogs of the grooming keys and the transactions they end in."""

    class Done(Message, bubble=False):
        """A backlog action (add, edit, move, advance, unblock, delete, undo) ended: with the
        item, or an error."""

        def __init__(self, verb: str, item: Item | None, error: str | None = None,
                     said: str | None = None) -> None:
            super().__init__()
            self.verb = verb
            """`add`, `edit`, `move`, `advance`, `unblock`, `delete` or `undo`."""
            self.item = item
            """The item as it is now, or None when the action was refused (or undoing an
            add deleted it: then `said` says so)."""
            self.error = error
            """Why it was refused (a one-line message for the person)."""
            self.said = said
            """What to tell the person of an action that went through, when the action says
            it itself (`undid the edit of WRK-001 (title)`)."""

    def __init__(self, screen: GroomingScreen, project: Project) -> None:
        self._screen = screen
        self._project = project

    def add(self) -> None:
        """Ask for a new item and add it."""
        from app.engine import actions  # its store writes: when a key asks

        def done(new: NewItem | None) -> None:
            if new is not None:
                self._act("add", partial(actions.add_item, self._project, new.title,
                                         size=new.size, risk=new.risk, notes=new.notes))
        from app.ui.dialogs.items import AddItemScreen
        self._screen.show_dialog(AddItemScreen(), done)

    def edit(self) -> None:
        """Open the selected item's fields in a form and save what the person changed."""
        from app.engine import actions  # its store writes: when a key asks

        screen = self._screen
        item = screen.selected_item()
        if item is None or screen.backlog is None:
            return
        project = self._project

        def save(edit: ItemEdit) -> Outcome:
            done = actions.edit_item(
                project, item.id, title=edit.title, notes=edit.notes or "",
                size=edit.size or "none", complexity=edit.complexity or "none",
                risk=edit.risk or "none", depends_on=list(edit.depends_on))
            if not done.fields:
                return done.item, f"{item.id} unchanged"
            return done.item, f"{item.id} edited: {', '.join(done.fields)}"

        def done(edit: ItemEdit | None) -> None:
            if edit is not None:
                self._act("edit", partial(save, edit))
        from app.ui.dialogs.items import EditItemScreen
        screen.show_dialog(EditItemScreen(item, screen.backlog.items), done)

    def move(self, step: int) -> None:
        """Swap the selected card with the one above (-1) or below (+1) it in its column:
        the backlog's order, which is the order a run takes ready items in."""
        from app.engine import actions  # its store writes: when a key asks

        screen = self._screen
        item = screen.selected_item()
        if item is None:
            return
        column = screen.board.column_of(item.id)
        if column is None:
            return
        if column.spec.key == "done":
            screen.tell("the done column shows the newest first: its order is not the run's",
                        severity="warning", timeout=4)
            return
        project, among, where = self._project, column.item_ids, f"the {column.spec.title} column"

        def move() -> Outcome:
            done = actions.move_within(project, item.id, step, among, where)
            return done.item, ""  # nothing to tell: the card moving is the answer
        self._act("move", move)

    def undo(self) -> None:
        """Take back the person's last change (again: the one before)."""
        from app.engine import actions  # its store writes: when a key asks

        project = self._project

        def undo() -> Outcome:
            done = actions.undo(project)
            return done.item, done.said
        self._act("undo", undo)

    def advance(self) -> None:
        """Ask where to move the selected item, from the allowed moves, and move it."""
        from app.engine import actions  # its store writes: when a key asks

        item = self._screen.selected_item()
        if item is None:
            return
        targets = advance_targets(item)
        if not targets:
            self._screen.tell(f"{item.id} cannot be moved from {states.describe(item)}",
                              severity="warning")
            return

        def done(choice: AdvanceChoice | None) -> None:
            if choice is None:
                return
            move = partial(actions.advance, self._project, item.id, choice.target,
                           reason=choice.reason)
            pid = self._lane_live(item.id)
            if pid is None:
                self._act("advance", move)
                return

            def stop_first(yes: bool | None) -> None:
                if yes:
                    self._act("advance", partial(self._let_go, item.id, pid, move))
            self._screen.confirm(
                f"{item.id}'s lane is live in the run of pid {pid}: stop that lane (its "
                f"agent; the rest of the run goes on) and move {item.id} to "
                f"{choice.target}?", "Stop and move", stop_first)
        from app.ui.dialogs.moves import AdvanceScreen
        self._screen.show_dialog(AdvanceScreen(item, targets), done)

    def unblock(self) -> None:
        """Ask for notes and unblock the selected item."""
        from app.engine import actions  # its store writes: when a key asks

        item = self._screen.selected_item()
        if item is None:
            return
        try:
            back = states.unblock_target(item)
        except OrchestrateError as exc:
            self._screen.tell(str(exc), severity="warning")
            return

        def done(notes: str | None) -> None:
            if notes is not None:
                self._act("unblock", partial(actions.unblock, self._project, item.id,
                                             notes or None))
        from app.ui.dialogs.moves import UnblockScreen
        self._screen.show_dialog(UnblockScreen(item, str(back)), done)

    def held(self, item: Item | None, verb: str) -> Item | None:
        """`item` when it waits for review (to review it, or reject it), else None with a
        word to the person."""
        if item is None or item.status in states.HELD:
            return item
        self._screen.tell(f"{item.id} is {states.describe(item)}, not waiting for review: "
                          f"nothing to {verb} (`m` reads its documents, `c` its "
                          "checkpoints)", severity="warning")
        return None

    def reviewed(self, item: Item, answer: str | None) -> None:
        """The review view's answer: approve (nothing asked: the person just read it) or
        reject (notes asked)."""
        if answer == "approve":
            self.approve(item, ask=False)
        elif answer == "reject":
            self.reject(item)

    def approve(self, item: Item | None, *, ask: bool) -> None:
        """Approve an item that waits for review (asking first when `ask`: from the board,
        not from its review); the screen then has it merged."""
        from app.engine import actions  # its store writes: when a key asks

        if item is None:
            return
        if item.status != "to_review":
            self.held(None if item.status in states.HELD else item, "approve")
            if item.status == "approved":
                self._screen.tell(f"{item.id} is approved already: a run merges it",
                                  timeout=4)
            return
        approve = partial(actions.approve, self._project, item.id)
        if not ask:
            self._act("approve", approve)
            return

        def done(yes: bool | None) -> None:
            if yes:
                self._act("approve", approve)
        self._screen.confirm(f"Approve {item.id} {item.title} and merge its branch? (`v` "
                             "reviews it first)", "Approve", done)

    def reject(self, item: Item | None) -> None:
        """Ask for notes and send an item that waits for review back to build."""
        from app.engine import actions  # its store writes: when a key asks

        if self.held(item, "reject") is None:
            return
        assert item is not None

        def done(notes: str | None) -> None:
            if notes:
                self._act("reject", partial(actions.reject, self._project, item.id, notes))
            elif notes is not None:
                self._screen.tell("rejecting needs notes: what should the next build "
                                  "change?", severity="warning")
        from app.ui.dialogs.moves import RejectScreen
        self._screen.show_dialog(RejectScreen(item), done)

    def delete(self) -> None:
        """Delete the selected item, after asking (and, when a run's lane works on it,
        stopping that lane first)."""
        from app.engine import actions  # its store writes: when a key asks

        screen = self._screen
        item = screen.selected_item()
        if item is None:
            return
        backlog = screen.backlog
        dependents = [i.id for i in backlog.items if item.id in i.depends_on] if backlog else []
        question = f"Delete {item.id} {item.title}? Its id is never reused."
        if dependents:
            question += f" {', '.join(dependents)} depend{'s' if len(dependents) == 1 else ''}" \
                        " on it."
        pid = self._lane_live(item.id)
        delete: Callable[[], Outcome] = partial(actions.delete_item, self._project, item.id)
        if pid is not None:
            question += (f" Its lane is live in the run of pid {pid}: that lane is stopped "
                         "first (its agent; the rest of the run goes on).")
            delete = partial(self._let_go, item.id, pid, delete)

        def done(yes: bool | None) -> None:
            if yes:
                self._act("delete", delete)
        screen.confirm(question, "Delete", done)

    def _lane_live(self, item_id: str) -> int | None:
        """The pid of a live run (ours or another process's) whose lane works on the item."""
        from app.engine.liverun import live_run  # two small files: run.lock and run.json

        run = live_run(self._project, spend=False)
        return run.pid if run is not None and item_id in run.working else None

    def _let_go(self, item_id: str, pid: int, then: Callable[[], Outcome]) -> Outcome:
        """In the action's worker: have the run let go of the item (withdraw.py), then
        `then`; OrchestrateError when it does not in time (nothing is changed)."""
        from app.engine import withdraw
        from app.engine.runlock import holder_pid

        wait = self._project.config().agent.kill_grace_s + LET_GO_S
        if not withdraw.wait_until_let_go(self._project, item_id, wait,
                                          lambda: holder_pid(self._project) == pid):
            raise OrchestrateError(f"the run of pid {pid} did not let go of {item_id} within "
                                   f"{wait:g} s; nothing was changed")
        return then()

    def _act(self, verb: str, action: Callable[[], Outcome]) -> None:
        """Run one store transaction off the UI thread (the store lock may be busy)."""
        self._screen.run_worker(partial(self._transaction, verb, action), name="action",
                                group="action", thread=True, exit_on_error=False,
                                description="change the backlog")

    def _transaction(self, verb: str, action: Callable[[], Outcome]) -> None:
        try:
            outcome = action()
        except OrchestrateError as exc:  # an illegal move, a lock that stayed busy, ...
            self._screen.post_message(self.Done(verb, None, str(exc)))
            return
        if isinstance(outcome, tuple):
            self._screen.post_message(self.Done(verb, outcome[0], said=outcome[1]))
        else:
            self._screen.post_message(self.Done(verb, outcome))

    def done(self, message: Grooming.Done) -> None:
        """Tell how an action ended, and show the board as it is now."""
        screen = self._screen
        item = message.item
        if message.error is not None or (item is None and message.said is None):
            # A move at the end of its column is not an error, only nothing to do.
            severity = "warning" if message.verb == "move" else "error"
            screen.tell(message.error or f"{message.verb} failed", severity=severity,
                        timeout=8)
            return
        if message.said is not None:
            if message.said:
                screen.tell(message.said, timeout=4)
            if item is not None:
                screen.board.selected_id = item.id
            screen.reload()
            return
        if item is None:
            return
        if message.verb == "delete":
            screen.tell(f"{item.id} deleted; its id will not be reused", timeout=4)
            screen.reload()  # the next card of its column is selected
            return
        screen.tell(f"{item.id} {PAST.get(message.verb, message.verb)}: "
                    f"{states.describe(item)}", timeout=4)
        screen.board.selected_id = item.id
        screen.reload()
