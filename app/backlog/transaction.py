"""A BACKLOG.yaml transaction: what a person or a run means to change, and the new text.

A `Transaction` records the changes to one snapshot (fields set, items added, moved, put
back, deleted) and checks each value at once. On commit the store asks it for the new
text: it hands what it means to the writer that suits the file (the splices of
app/backlog/splicer.py, or ruamel.yaml's round trip of app/backlog/roundtrip.py for
aliases and merge keys), and checks the re-read result holds exactly that.
"""

from __future__ import annotations

from typing import Any, Protocol

from app.backlog import splicer, yamldoc
from app.backlog.model import (
    ASSESSMENT_CHOICES,
    ID_PATTERN,
    KNOWN_FIELDS,
    NEW_ITEM_ORDER,
    PHASES,
    STATUSES,
    Backlog,
    Item,
    format_id,
    now_iso,
    suggest,
)
from app.backlog.validate import SCHEMA_VERSION
from app.errors import OrchestrateError, UnknownItemError
from app.structs import replace


class DocumentEditor(Protocol):
    """What a transaction asks of a writer: the changes it means, then the new text."""

    def change_item(self, item_id: str, values: dict[str, Any]) -> None:
        """Set keys of an existing item (a key it lacks is added after its last one)."""

    def delete_item(self, item_id: str) -> None:
        """Remove an existing item."""

    def add_items(self, items: list[dict[str, Any]], texts: dict[str, str] | None = None,
                  spots: dict[str, tuple[str | None, int]] | None = None) -> None:
        """Append new items, each as its keys in the order to write them; `texts` and
        `spots`: the lines an item put back had before and where they stood (a writer may
        use them, if they still fit)."""

    def order_items(self, order: list[str], moved: set[str] | frozenset[str] = frozenset()
                    ) -> None:
        """Put the items in this order (every id that stays or is new): the items in
        `moved` go with their comments, the others stay where they are."""

    def has_top(self, key: str) -> bool:
        """Whether the top-level mapping has `key`."""

    def set_top(self, key: str, value: Any, *, before: str | None = None,
                after: tuple[str, ...] = ()) -> None:
        """Set a top-level key; a new one goes on the line before `before`, or after the
        first of `after` that exists, or first."""

    def text(self) -> str:
        """The document's new text."""


class Transaction:
    """Changes to one snapshot; rendered as splices into the file's text on commit."""

    def __init__(self, backlog: Backlog, doc: yamldoc.Document) -> None:
        self.base = backlog
        self.doc = doc
        self._items: dict[str, Item] = dict(backlog.by_id)
        self._order: list[str] = [i.id for i in backlog.items]
        self._changed: dict[str, dict[str, Any]] = {}
        self._added: list[str] = []
        self._deleted: set[str] = set()
        self._next = backlog.next_number
        self._bump_next = False
        self._texts: dict[str, str] = {}
        """The lines an item put back (`restore`) had before it was deleted."""
        self._spots: dict[str, tuple[str | None, int]] = {}
        """Where those lines stood (splicer.item_spot)."""
        self._moved: set[str] = set()
        """The items `move` moved."""
        self._placed = False
        """Whether `restore` put an item anywhere but at the end."""
        self.result: Backlog | None = None

    @property
    def dirty(self) -> bool:
        """Whether anything changed."""
        return bool(self._changed or self._added or self._deleted or self.moved)

    @property
    def moved(self) -> bool:
        """Whether the items are in another order than before (beyond new ones at the end)."""
        if not self._moved and not self._placed:
            return False  # the common case, at no cost
        kept = [i.id for i in self.base.items if i.id in self._items]
        return self._order != kept + [i for i in self._order if i not in self.base.by_id]

    @property
    def prefix(self) -> str:
        """The backlog's id prefix."""
        return self.base.prefix

    def items(self) -> list[Item]:
        """All items as they stand in this transaction, in file order."""
        return [self._items[i] for i in self._order]

    def get(self, item_id: str) -> Item:
        """An item as it stands in this transaction (`wrk-001` finds WRK-001)."""
        item = self._items.get(item_id) or self._items.get(item_id.strip().upper())
        if item is None:
            raise UnknownItemError(f"no item {item_id!r}{suggest(item_id, self.items())}")
        return item

    def set(self, item_id: str, *, touch: bool = True, **changes: Any) -> Item:
        """Change fields of an item (known fields by name, others kept as extra keys)."""
        item = self.get(item_id)
        item_id = item.id
        if touch:
            changes.setdefault("updated", now_iso())
        known = {k: v for k, v in changes.items() if k in KNOWN_FIELDS and k != "id"}
        if "depends_on" in known:
            known["depends_on"] = tuple(known["depends_on"] or ())
        extra = dict(item.extra)
        extra.update({k: v for k, v in changes.items() if k not in KNOWN_FIELDS})
        new = replace(item, **known, extra=extra)
        _check_values(new)
        self._items[item_id] = new
        self._changed.setdefault(item_id, {}).update(changes)
        return new

    def add(self, title: str, **fields: Any) -> Item:
        """A new item with the next id (status `new` unless given)."""
        title = " ".join(str(title).split())
        if not title:
            raise OrchestrateError("an item needs a title")
        item_id = format_id(self.base.prefix, self._next)
        while item_id in self._items:  # a hand-written id above next_id
            self._next += 1
            item_id = format_id(self.base.prefix, self._next)
        self._next += 1
        self._bump_next = True
        stamp = now_iso()
        item = Item(id=item_id, title=title, status=fields.pop("status", "new"),
                    created=stamp, updated=stamp)
        known = {k: v for k, v in fields.items() if k in KNOWN_FIELDS}
        if "depends_on" in known:
            known["depends_on"] = tuple(known["depends_on"] or ())
        item = replace(item, **known,
                       extra={k: v for k, v in fields.items() if k not in KNOWN_FIELDS})
        _check_values(item)
        self._items[item_id] = item
        self._order.append(item_id)
        self._added.append(item_id)
        return item

    def move(self, item_id: str, before: str | None) -> Item:
        """Put an item just before another one (None: after the last item). Nothing about
        the item changes but its place, so `updated` stays as it was."""
        item = self.get(item_id)
        anchor = self.get(before).id if before is not None else None
        if anchor == item.id:
            raise OrchestrateError(f"cannot move {item.id} before itself")
        self._order.remove(item.id)
        self._order.insert(self._order.index(anchor) if anchor else len(self._order), item.id)
        self._moved.add(item.id)
        return item

    def restore(self, item: Item, before: str | None, text: str | None = None,
                spot: tuple[str | None, int] | None = None) -> Item:
        """Put a deleted item back with its own id and fields, just before `before` (None:
        at the end); `text` is how its lines read before and `spot` where they stood
        (`item_spot`), both used where they still fit."""
        if item.id in self._items or item.id in self._deleted:
            raise OrchestrateError(f"{item.id} exists: it cannot be put back twice")
        if not ID_PATTERN.match(item.id) or not item.id.startswith(self.prefix + "-"):
            raise OrchestrateError(f"{item.id} is not an id of this backlog "
                                   f"(prefix {self.prefix})")
        _check_values(item)
        anchor = self.get(before).id if before is not None else None
        self._items[item.id] = item
        self._order.insert(self._order.index(anchor) if anchor else len(self._order), item.id)
        self._placed = self._placed or anchor is not None
        self._added.append(item.id)
        if text is not None:
            self._texts[item.id] = text
        if spot is not None:
            self._spots[item.id] = spot
        return item

    def item_text(self, item_id: str) -> str | None:
        """An item's own lines as the file has them now (`\n` line endings), to put it back
        as it was later; None for a file written through ruamel.yaml (or a new item)."""
        if self.doc.roundtrip or item_id not in self.base.by_id:
            return None
        return splicer.item_text(self.doc, item_id)

    def item_spot(self, item_id: str) -> tuple[str | None, int] | None:
        """Where an item's lines stand in the file now (splicer.item_spot), to put it back
        there later; None where item_text is None."""
        if self.doc.roundtrip or item_id not in self.base.by_id:
            return None
        return splicer.item_spot(self.doc, item_id)

    def position(self, item_id: str) -> tuple[int, str | None, str | None]:
        """Where an item stands: its 0-based index, the item before it and the one after
        it (None at either end)."""
        at = self._order.index(self.get(item_id).id)
        return (at, self._order[at - 1] if at else None,
                self._order[at + 1] if at + 1 < len(self._order) else None)

    def delete(self, item_id: str) -> Item:
        """Remove an item; its id is never handed out again."""
        item = self.get(item_id)
        item_id = item.id
        del self._items[item_id]
        self._order.remove(item_id)
        if item_id in self._added:
            self._added.remove(item_id)
        else:
            self._deleted.add(item_id)
        self._changed.pop(item_id, None)
        self._bump_next = True
        return item

    # rendering --------------------------------------------------------------------------------
    def render(self) -> str:
        """The new file text, from the writer that suits the document: splices of the old
        text (splicer.SpliceWriter), or ruamel.yaml's round trip for what splices cannot
        edit (roundtrip.RoundTripWriter)."""
        editor: DocumentEditor
        if self.doc.roundtrip:
            from app.backlog import roundtrip  # ruamel.yaml: imported only for such a file

            editor = roundtrip.RoundTripWriter(self.doc)
        else:
            editor = splicer.SpliceWriter(self.doc)
        for item_id, changes in self._changed.items():
            if item_id not in self._added:  # a new item is written whole below
                editor.change_item(item_id, {key: self._value(item_id, key) for key in changes})
        for item_id in self._deleted:
            editor.delete_item(item_id)
        if not editor.has_top("schema_version"):  # every file we write says which format
            editor.set_top("schema_version", SCHEMA_VERSION, before="prefix")
        if self._bump_next:
            editor.set_top("next_id", self._next, after=("prefix", "schema_version"))
        editor.add_items([item_values(self._items[i], new=True) for i in self._added],
                         {i: t for i, t in self._texts.items() if i in self._added},
                         {i: t for i, t in self._spots.items() if i in self._added})
        if self.moved or self._placed:
            editor.order_items(list(self._order), self._moved & set(self.base.by_id))
        return editor.text()

    def _value(self, item_id: str, key: str) -> Any:
        """What this transaction writes for `key` of an item: a field, or an extra key."""
        item = self._items[item_id]
        values = item_values(item)
        return values[key] if key in values else item.extra.get(key)

    def verify(self, written: Backlog) -> None:
        """Check the re-parsed result holds exactly what this transaction meant."""
        for item_id in self._order:
            want = self._items[item_id]
            got = written.by_id.get(item_id)
            if got is None or item_values(got) != item_values(want) or got.extra != want.extra:
                raise OrchestrateError(
                    f"internal error: {item_id} would not be written as intended; "
                    "BACKLOG.yaml left unchanged")
        if len(written.items) != len(self._order):
            raise OrchestrateError("internal error: item count mismatch; BACKLOG.yaml unchanged")
        if [i.id for i in written.items] != self._order:
            raise OrchestrateError("internal error: the items would not be in the order meant; "
                                   "BACKLOG.yaml left unchanged")


def item_values(item: Item, new: bool = False) -> dict[str, Any]:
    """An item's known fields as plain data, in file order for a new item."""
    data = {name: getattr(item, name) for name in NEW_ITEM_ORDER}
    data["depends_on"] = list(item.depends_on)
    if new:
        if data["origin"] is None:
            del data["origin"]
        data.update(item.extra)
    return data


def _check_values(item: Item) -> None:
    if item.status not in STATUSES:
        raise OrchestrateError(f"{item.id}: unknown status {item.status!r}")
    if item.phase is not None and item.phase not in PHASES:
        raise OrchestrateError(f"{item.id}: unknown phase {item.phase!r}")
    for key, choices in ASSESSMENT_CHOICES.items():
        value = getattr(item, key)
        if value is not None and value not in choices:
            raise OrchestrateError(f"{item.id}: {key} must be one of {', '.join(choices)}, "
                                   f"not {value!r}")
    for dep in item.depends_on:
        if not ID_PATTERN.match(dep):
            raise OrchestrateError(f"{item.id}: depends_on holds an invalid id {dep!r}")
