"""The kanban board: one OptionList per column, one Option per card.

A column is a single scrolling widget (widgets/cardlist.py) that makes, measures and
draws only the cards on screen (and those the cursor passes), so 10,000 items cost one
widget per column and a few dozen cards, not one per item. Re-displaying a column keeps
the highlighted item (by id), and the board remembers which item is selected across
reloads and filters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.geometry import Size
from textual.message import Message
from textual.widgets import OptionList

from app.backlog.model import Backlog, Item
from app.structs import Struct
from widgets.cardlist import CardList
from widgets.cards import CardNote


class ColumnSpec(Struct, frozen=True):
    """One column: its key (also its widget id), the statuses it holds and its title."""

    key: str
    statuses: tuple[str, ...]
    title: str
    short: str
    """The title in narrow columns."""


COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("new", ("new",), "new", "new"),
    ColumnSpec("scoped", ("scoped", "researching"), "scoped/researching", "scoped"),
    ColumnSpec("ready", ("ready",), "ready", "ready"),
    ColumnSpec("in_progress", ("in_progress",), "in progress", "doing"),
    ColumnSpec("review", ("to_review", "approved"), "to review", "review"),
    ColumnSpec("blocked", ("blocked",), "blocked", "blocked"),
    ColumnSpec("done", ("done",), "done", "done"),
)
"""The columns, left to right."""

DONE_SHOWN = 8
"""The done column shows only the latest few items (and a count of all)."""


def matches(item: Item, needle: str) -> bool:
    """Whether `item` passes the filter text (id, title, status, phase, notes)."""
    if not needle:
        return True
    hay = " ".join(filter(None, (item.id, item.title, item.status, item.phase,
                                 item.notes))).lower()
    return all(word in hay for word in needle.lower().split())


class BoardColumn(CardList):
    """One status column; each option is a card whose id is the item id (made, measured
    and drawn only when it is on screen or the cursor gets to it: widgets/cardlist.py)."""

    BINDINGS = [
        Binding("enter", "select", "Details", key_display="⏎", id="board.select",
                tooltip="Show or hide the details of this card"),
        Binding("j", "cursor_down", "Down", show=False, id="board.down",
                tooltip="Next card in this column"),
        Binding("k", "cursor_up", "Up", show=False, id="board.up",
                tooltip="Previous card in this column"),
    ]

    DEFAULT_CSS = """
    BoardColumn { height: 1fr; width: 1fr; }
    """

    def __init__(self, spec: ColumnSpec) -> None:
        super().__init__(id=f"col-{spec.key}", classes="board-column")
        self.spec = spec
        """What this column shows."""
        self.item_ids: tuple[str, ...] = ()
        """The ids of the cards shown, top to bottom."""
        self._items: tuple[Item, ...] = ()
        self._notes: tuple[CardNote | None, ...] = ()
        self._counts = ""
        self._shown_titles = (spec.title, "")
        self.border_title = spec.title

    def on_resize(self, event: events.Resize) -> None:
        self._show_title()  # (CardList's on_resize runs as well: Textual calls both)

    def _show_title(self) -> None:
        # Borders leave about width - 6 cells for a title.
        fits = len(self.spec.title) + 6 <= self.size.width
        shown = (self.spec.title if fits else self.spec.short, self._counts)
        if shown != self._shown_titles:  # setting a border title repaints the column
            self._shown_titles = shown
            self.border_title, self.border_subtitle = shown

    def on_click(self, event: events.Click) -> None:
        # A click selects a card; a double click goes on to OptionList's handler, which
        # selects it (and so opens its details). `option` is the meta OptionList gives
        # each line it renders.
        clicked = event.style.meta.get("option")
        if clicked is not None and event.chain < 2:
            event.prevent_default()
            self.highlighted = clicked

    @property
    def item_id(self) -> str | None:
        """The id of the highlighted card, if any."""
        option = self.highlighted_option
        return option.id if option is not None else None

    def show_items(self, items: Iterable[Item], total: int | None = None,
                   keep: str | None = None,
                   notes: Mapping[str, CardNote] | None = None) -> None:
        """Display `items` (with their `notes`), keeping the highlighted card (or `keep`)
        highlighted."""
        items = tuple(items)
        shown_notes = tuple(notes.get(i.id) for i in items) if notes else (None,) * len(items)
        own = self.item_id
        old_index = self.highlighted
        count = len(items) if total is None else total
        self._counts = f"{len(items)}/{count}" if count != len(items) else str(count)
        self._show_title()
        self.set_class(not items, "-empty")
        if items == self._items and shown_notes == self._notes:
            return
        self._items = items
        self._notes = shown_notes
        self.item_ids = tuple(i.id for i in items)
        scroll_y = self.scroll_y
        with self.prevent(OptionList.OptionHighlighted):
            self._expect_overflow(len(items))
            self.show_cards(items, shown_notes)
            if not items:
                return
            # The board's selection if it is here, else this column's own card, else
            # the same position.
            index = self.index_of(keep) if keep else None
            if index is None and own:
                index = self.index_of(own)
            if index is None:
                index = min(old_index or 0, len(items) - 1)
            self.scroll_y = scroll_y
            self.highlighted = index

    def _expect_overflow(self, cards: int) -> None:
        """Show the scrollbar now when `cards` cannot fit, before they are measured.

        Otherwise the first frame measures and draws the cards on screen at the full
        width, the scrollbar then appears, and a second frame draws them again one cell
        narrower. A card is at least two lines and a rule, so this never shows a
        scrollbar that measuring would hide; measuring sets the height. (`_refresh_scrollbars` is
        Textual's private Widget method; tests/ui/test_textual_private.py checks it.)
        """
        least = cards * 3 - 1
        room = self.size.height or self.app.size.height
        if least > room and self.virtual_size.height < least:
            self.virtual_size = Size(self.virtual_size.width, least)
            self._refresh_scrollbars()


class Board(Horizontal):
    """All columns side by side; posts which item is highlighted or chosen."""

    BINDINGS = [
        Binding("left,h", "column(-1)", "Left", show=False, id="board.left",
                tooltip="Move to the column on the left"),
        Binding("right,l", "column(1)", "Right", show=False, id="board.right",
                tooltip="Move to the column on the right"),
    ]

    DEFAULT_CSS = """
    Board { height: 1fr; }
    """

    class ItemHighlighted(Message):
        """The person moved onto another card (or the board has none: item_id None)."""

        def __init__(self, board: Board, item_id: str | None) -> None:
            super().__init__()
            self.board = board
            """The board that posted this."""
            self.item_id = item_id
            """The highlighted item."""

        @property
        def control(self) -> Board:
            """The board (for `@on(..., selector)`)."""
            return self.board

    class ItemSelected(Message):
        """The person pressed enter on a card."""

        def __init__(self, board: Board, item_id: str) -> None:
            super().__init__()
            self.board = board
            """The board that posted this."""
            self.item_id = item_id
            """The chosen item."""

        @property
        def control(self) -> Board:
            """The board (for `@on(..., selector)`)."""
            return self.board

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.selected_id: str | None = None
        """The item the person has selected (kept across reloads and filters)."""
        self.filter_text: str = ""
        """Only items matching this are shown."""
        self.notes: Mapping[str, CardNote] = {}
        """What cards say beyond their items' fields, by id (`set_notes`)."""
        self.review_queue = False
        """Whether items wait for a person's review before merging (`merge_when =
        "review"`): the to-review column is shown even when empty (else only with cards)."""
        self._backlog: Backlog | None = None

    def compose(self) -> ComposeResult:
        for spec in COLUMNS:
            yield BoardColumn(spec)

    @property
    def columns(self) -> list[BoardColumn]:
        """The columns, left to right."""
        return list(self.query(BoardColumn))

    def column_of(self, item_id: str) -> BoardColumn | None:
        """The column showing `item_id`, if it is shown."""
        for column in self.columns:
            if item_id in column.item_ids:
                return column
        return None

    def show(self, backlog: Backlog, filter_text: str | None = None) -> None:
        """Display a backlog snapshot; the selected item stays selected where it went."""
        self._backlog = backlog
        if filter_text is not None:
            self.filter_text = filter_text
        # Where the selection was: if its item is gone (deleted, filtered out), the card
        # that takes its place in that column is selected, not the board's first.
        home = self.column_of(self.selected_id) if self.selected_id else None
        columns = self.columns
        # One pass over the items, in the backlog's order: each goes to its column's list.
        shown: dict[str, list[Item]] = {}
        for column in columns:
            cards: list[Item] = []
            shown.update(dict.fromkeys(column.spec.statuses, cards))
        needle = self.filter_text
        for item in backlog.items:
            bucket = shown.get(item.status)
            if bucket is not None and (not needle or matches(item, needle)):
                bucket.append(item)
        for column in columns:
            items = shown[column.spec.statuses[0]]
            total = len(items)
            if column.spec.key == "review":
                column.display = bool(total) or self.review_queue
            if column.spec.key == "done":
                items.sort(key=lambda i: i.updated or "", reverse=True)
                items = items[:DONE_SHOWN]
            column.show_items(items, total, keep=self.selected_id, notes=self.notes)
        if self.selected_id and self.column_of(self.selected_id):
            self.select(self.selected_id)
        elif home is not None and home.item_id:
            self.select(home.item_id)
        else:
            self.select_first()

    def set_review_queue(self, on: bool) -> None:
        """Whether people review items before merging (the to-review column then stays
        even when empty); shown again when it changed."""
        if on != self.review_queue:
            self.review_queue = on
            if self._backlog is not None:
                self.show(self._backlog)

    def set_notes(self, notes: Mapping[str, CardNote]) -> None:
        """Cards say `notes` from now on; the cards whose note changed are drawn again."""
        if notes != self.notes:
            self.notes = notes
            if self._backlog is not None:
                self.show(self._backlog)

    def select(self, item_id: str) -> bool:
        """Focus the card of `item_id`; False when it is not on the board."""
        column = self.column_of(item_id)
        if column is None:
            return False
        column.highlighted = column.item_ids.index(item_id)
        if self.screen.focused is None or isinstance(self.screen.focused, BoardColumn):
            column.focus()
        self._set_selected(item_id)
        return True

    def focus_selected(self) -> None:
        """Focus the column of the selected card (or select the first card)."""
        column = self.column_of(self.selected_id) if self.selected_id else None
        if column is not None:
            column.focus()
        else:
            self.select_first()

    def select_first(self) -> None:
        """Select the first card of the first non-empty column."""
        for column in self.columns:
            if column.item_ids:
                self.select(column.item_ids[0])
                return
        self._set_selected(None)

    def _set_selected(self, item_id: str | None) -> None:
        if item_id != self.selected_id:
            self.selected_id = item_id
            self.post_message(self.ItemHighlighted(self, item_id))

    def action_column(self, delta: int) -> None:
        """Move to the next non-empty column left (-1) or right (+1)."""
        columns = self.columns
        # Start from the selection, not the focused widget: focus() only lands on the next
        # message-loop turn, so keys typed in one burst would all start from the old column.
        current = self.column_of(self.selected_id) if self.selected_id else None
        focused = self.screen.focused
        if current is None and focused in columns:
            current = focused
        start = columns.index(current) if current in columns else 0
        index = start + delta
        while 0 <= index < len(columns):
            target = columns[index]
            if target.item_ids:
                target.focus()
                if target.highlighted is None:
                    target.highlighted = 0
                self._set_selected(target.item_id)
                return
            index += delta

    @on(OptionList.OptionHighlighted, ".board-column")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option_list.has_focus and event.option_id:
            self._set_selected(event.option_id)

    @on(OptionList.OptionSelected, ".board-column")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_id:
            self._set_selected(event.option_id)
            self.post_message(self.ItemSelected(self, event.option_id))

    def on_descendant_focus(self, event: object) -> None:
        """Focusing a column (by mouse or tab) selects its highlighted card."""
        focused = self.screen.focused
        if isinstance(focused, BoardColumn) and focused.item_id:
            self._set_selected(focused.item_id)
