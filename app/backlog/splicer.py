"""`SpliceWriter`: a transaction's changes as splices of BACKLOG.yaml's text.

Why not a plain ruamel.yaml round-trip: it costs ~1.7 s per update of a
1,000-item file. A change replaces only the changed value's characters, at the
places the reader indexed (app/backlog/yamldoc.py), so everything a person wrote
elsewhere (comments, quoting, key order, unknown keys) stays byte-identical by
construction. Every splice of the file is made here; a transaction only says what
it means (app/backlog/transaction.py).
"""

from __future__ import annotations

import itertools
from typing import Any

from app.backlog import yamldoc
from app.backlog.yamldoc import (
    DocError,
    Document,
    Entry,
    MapIndex,
    line_end,
    line_start,
    newline_of,
)
from app.backlog.yamlvalues import (
    render_block,
    render_inline,
    render_item,
    render_scalar,
    render_value,
)
from app.structs import Struct


# --- splicing -----------------------------------------------------------------------
class Edit(Struct):
    """Replace text[start:end] with `new`; `seq` keeps inserts at one place in order."""

    start: int
    seq: int
    end: int
    new: str
    owner: str | None = None
    """The item whose lines this edit changes (it moves with the item)."""


def value_edit(text: str, entry: Entry, value: Any, seq: int) -> Edit:
    """The edit that sets an existing entry to `value`."""
    colon = text.index(":", entry.key_end)
    block = render_block(value, entry.column - 1) if entry.kind != "flow" else None
    if block is not None and entry.kind in ("scalar", "empty"):
        # Only when nothing (a comment) follows on the line: it would join the block.
        start = colon + 1 if entry.kind == "empty" else entry.value_start
        end = line_end(text, start)
        end -= 2 if text[end - 2:end] == "\r\n" else (1 if text[end - 1:end] == "\n" else 0)
        if text[entry.value_end if entry.kind == "scalar" else colon + 1:end].strip() == "":
            return Edit(start, seq, end, (" " if entry.kind == "empty" else "") + block)
        block = None
    if block is not None:  # a block scalar or block collection before
        end = entry.value_end
        ls = line_start(text, end)
        end = ls if text[ls:end].strip() == "" else line_end(text, end)
        return Edit(colon + 1, seq, end, " " + block + "\n")
    new = render_inline(value)
    if entry.kind == "empty":
        return Edit(colon + 1, seq, colon + 1, " " + new)
    if entry.kind in ("scalar", "flow"):
        return Edit(entry.value_start, seq, entry.value_end, new)
    # A block collection or block scalar becomes one inline value on the key's line.
    end = entry.value_end
    ls = line_start(text, end)
    end = ls if text[ls:end].strip() == "" else line_end(text, end)
    return Edit(colon + 1, seq, end, " " + new + "\n")


def tail(text: str, index: MapIndex) -> int:
    """Where a new line goes after the last entry of a block mapping."""
    return line_end(text, max(index.content_end - 1, index.start))


def insert_key_edit(text: str, index: MapIndex, key: str, value: Any, seq: int) -> Edit:
    """The edit that adds `key: value` as the last entry of a block mapping."""
    col = index.column - 1
    pos = tail(text, index)
    prefix = "" if pos == 0 or text[pos - 1] == "\n" else "\n"
    return Edit(pos, seq, pos,
                f"{prefix}{' ' * col}{render_scalar(key)}: {render_value(value, col)}\n")


def item_layout(text: str, items: list[MapIndex]) -> tuple[int, int]:
    """(dash column, key column) used by existing items, or the DESIGN.md default (2, 4)."""
    for item in items:
        if item.flow:
            continue
        key_col = item.column - 1
        ls = line_start(text, item.start)
        dash = text.find("-", ls, item.start)
        if dash >= 0:
            return dash - ls, key_col
        return max(key_col - 2, 0), key_col
    return 2, 4


def item_start(text: str, ix: MapIndex) -> int:
    """Where an item's lines start: the line of its dash (which may stand on a line of its
    own, above the item's first key)."""
    pos = ix.start - 1
    while pos >= 0 and text[pos] in " \r\n":
        pos -= 1
    if pos >= 0 and text[pos] == "-":
        return line_start(text, pos)
    return line_start(text, ix.start)


def item_end(text: str, ix: MapIndex) -> int:
    """Just past the newline that ends an item's last line."""
    return line_end(text, max(ix.content_end - 1, ix.start))


def _comment_line(line: str) -> bool:
    return line.lstrip(" ").startswith("#")


def _dash_column(text: str, ix: MapIndex) -> int:
    start = item_start(text, ix)
    dash = text.find("-", start, ix.start + 1)
    return dash - start if dash >= 0 else ix.column - 1


def _block_end(text: str, ix: MapIndex, limit: int) -> int:
    """After an item's own lines and the comment lines right below them that are indented
    past its dash (inside the item), up to `limit`."""
    end = item_end(text, ix)
    dash_col = _dash_column(text, ix)
    while end < limit:
        below = line_end(text, end)
        line = text[end:below]
        if not _comment_line(line) or len(line) - len(line.lstrip(" ")) <= dash_col:
            break
        end = below
    return end


def item_block(text: str, doc: Document, k: int) -> tuple[int, int]:
    """The block of the document's k-th item, (start, end): its own lines, the comment lines
    directly above it (no blank line between) and the comment lines directly below it that
    are indented past its dash (they are inside the item). What a move carries along."""
    items = doc.items
    ix = items[k]
    start = item_start(text, ix)
    if k:
        floor = _block_end(text, items[k - 1], start)
    else:
        entry = doc.root.entries.get("items")
        floor = line_end(text, entry.key_end) if entry is not None else 0
    while start > floor:
        above = line_start(text, start - 1)
        if not _comment_line(text[above:start]):
            break
        start = above
    limit = item_start(text, items[k + 1]) if k + 1 < len(items) else len(text)
    return start, _block_end(text, ix, limit)


def item_text(doc: Document, item_id: str) -> str:
    """An item's own lines as written (`\n` line endings), e.g. to put it back later."""
    for ix in doc.items:
        if str(ix.entries["id"].value) == item_id:
            text = doc.text if doc.text.endswith("\n") else doc.text + "\n"
            return text[item_start(text, ix):item_end(text, ix)].replace("\r\n", "\n")
    raise KeyError(item_id)


def item_spot(doc: Document, item_id: str) -> tuple[str | None, int]:
    """Where an item's lines stand: (the item before it, or None for the list's start; how
    many lines lie between that item's own lines, or the `items:` line, and its own)."""
    text = doc.text if doc.text.endswith("\n") else doc.text + "\n"
    for k, ix in enumerate(doc.items):
        if str(ix.entries["id"].value) == item_id:
            if k:
                above = doc.items[k - 1]
                base, previous = item_end(text, above), str(above.entries["id"].value)
            else:
                entry = doc.root.entries.get("items")
                base, previous = (line_end(text, entry.key_end) if entry else 0), None
            return previous, text.count("\n", base, item_start(text, ix))
    raise KeyError(item_id)


def _staying(order: list[str], rank: dict[str, int]) -> set[str]:
    """The most items of `order` that are already in document order (a longest increasing
    run of their ranks): they stay where they are and the others move around them."""
    tails: list[int] = []  # tails[k]: index into order of the best run's end of length k+1
    back: list[int] = [-1] * len(order)
    for n, item_id in enumerate(order):
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if rank[order[tails[mid]]] < rank[item_id]:
                lo = mid + 1
            else:
                hi = mid
        back[n] = tails[lo - 1] if lo else -1
        if lo == len(tails):
            tails.append(n)
        else:
            tails[lo] = n
    stay: set[str] = set()
    n = tails[-1] if tails else -1
    while n >= 0:
        stay.add(order[n])
        n = back[n]
    return stay


def _edit_order(e: Edit) -> tuple[int, bool, int]:
    # Where an insert and a replacement start at one place, the insert goes first (it ends
    # the line before, e.g. a key added to the item above a flow item being rewritten).
    return e.start, e.end > e.start, e.seq


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Apply non-overlapping edits, last first so earlier offsets stay valid."""
    parts: list[str] = []
    pos = len(text)
    for e in sorted(edits, key=_edit_order, reverse=True):
        if e.end > pos:
            raise ValueError("overlapping edits")
        parts.append(text[e.end:pos])
        parts.append(e.new)
        pos = e.start
    parts.append(text[:pos])
    return "".join(reversed(parts))


# --- the writer ------------------------------------------------------------------------------
class SpliceWriter:
    """Changes to a parsed document as splices of its text: every character nobody changed
    stays as it was. Calls are applied in order; `text()` gives the result. (The writer of
    most transactions; app/backlog/roundtrip.py has the other one.)"""

    def __init__(self, doc: Document) -> None:
        text = doc.text
        self._nl = newline_of(text)
        if text and not text.endswith("\n"):
            text += self._nl  # so every splice can work in whole lines
        self._text = text
        self._doc = doc
        self._edits: list[Edit] = []
        self._by_id = {str(ix.entries["id"].value): ix for ix in doc.items}
        entry = doc.root.entries.get("items")
        # `items:`, `items: null`, `items: []` or a flow list: rewritten whole, in block style.
        self._rewrite = entry is None or entry.kind != "block"
        self._changes: dict[str, dict[str, Any]] = {}
        self._deleted: set[str] = set()
        self._added: list[dict[str, Any]] = []
        self._texts: dict[str, str] = {}
        self._order: list[str] | None = None
        self._moved: set[str] = set()
        self._spots: dict[str, tuple[str | None, int]] = {}

    def _splice(self, start: int, end: int, new: str, owner: str | None = None) -> None:
        self._edits.append(Edit(start, len(self._edits), end, new, owner))

    def change_item(self, item_id: str, values: dict[str, Any]) -> None:
        """Set keys of an existing item: each value in place, a new key after the last one;
        a flow-style item is rewritten whole, in block style."""
        self._changes.setdefault(item_id, {}).update(values)
        if self._rewrite:
            return  # written with the whole list
        text = self._text
        ix = self._by_id[item_id]
        if ix.flow:
            dash, key_col = item_layout(text, self._doc.items)
            block = render_item({**ix.values(), **values}, dash, key_col)
            # A comment after the closing brace moves to its own line above the item
            # (on the last line it could join a block scalar).
            end = line_end(text, ix.content_end)
            rest = text[ix.content_end:end].strip()
            if rest:
                block = f"{' ' * dash}{rest}\n{block}"
            self._splice(line_start(text, ix.start), end, block, item_id)
            return
        for key, value in values.items():
            entry = ix.entries.get(key)
            if entry is not None:
                edit = value_edit(text, entry, value, len(self._edits))
            else:
                edit = insert_key_edit(text, ix, key, value, len(self._edits))
            edit.owner = item_id
            self._edits.append(edit)

    def delete_item(self, item_id: str) -> None:
        """Remove an item's lines; the comments around it stay."""
        self._deleted.add(item_id)
        self._changes.pop(item_id, None)
        if self._rewrite:
            return
        ix = self._by_id[item_id]
        self._splice(item_start(self._text, ix), item_end(self._text, ix), "")

    def add_items(self, items: list[dict[str, Any]], texts: dict[str, str] | None = None,
                  spots: dict[str, tuple[str | None, int]] | None = None) -> None:
        """New items, after the last one (or where `order_items` puts them), laid out like
        the existing ones. An item put back (deleted before) is written as its own text
        (`texts`) where that reads back as the same item here, and at its old spot
        (`spots`, item_spot) when the lines around it are still there."""
        self._added.extend(items)
        self._texts.update(texts or {})
        self._spots.update(spots or {})

    def order_items(self, order: list[str], moved: set[str] | frozenset[str] = frozenset()
                    ) -> None:
        """The items' order in the new text: every id of the items that stay and of the new
        ones. The items in `moved` (the ones a person moved) go with their blocks (their
        comments, item_block) and every other item stays where it is, byte for byte (or,
        when that cannot give `order`, the most items that already are in order)."""
        self._order = list(order)
        self._moved = set(moved)

    def has_top(self, key: str) -> bool:
        """Whether the top-level mapping has `key`."""
        return key in self._doc.root.entries

    def set_top(self, key: str, value: Any, *, before: str | None = None,
                after: tuple[str, ...] = ()) -> None:
        """Set a top-level key in place, or add it on a line of its own."""
        root = self._doc.root.entries
        text = self._text
        if key in root:
            self._edits.append(value_edit(text, root[key], value, len(self._edits)))
            return
        if before is not None:
            anchor = root.get(before)
            pos = line_start(text, anchor.key_start) if anchor else 0
        else:
            anchor = next((root[k] for k in after if k in root), None)
            pos = line_end(text, anchor.value_end) if anchor else 0
        col = self._doc.root.column - 1
        self._splice(pos, pos, f"{' ' * col}{render_scalar(key)}: {render_value(value, col)}\n")

    def text(self) -> str:
        """The new text: the old one with the splices applied (in the file's line ending)."""
        items_entry = self._doc.root.entries.get("items")
        if self._rewrite and (self._added or self._deleted or self._changes
                              or self._order is not None):
            self._rewrite_list()
        elif not self._rewrite:
            self._place()
            if (self._deleted and not self._added
                    and len(self._deleted) == len(self._doc.items) and items_entry is not None):
                # The last item went: `items: []`, comments around the list stay.
                colon = self._text.index(":", items_entry.key_end)
                self._splice(colon + 1, colon + 1, " []")
        if self._nl != "\n":
            for e in self._edits:
                e.new = e.new.replace("\n", self._nl)
        return apply_edits(self._text, self._edits)

    def _final_order(self) -> list[str]:
        if self._order is not None:
            return self._order
        return [i for i in self._by_id if i not in self._deleted] + \
            [str(values["id"]) for values in self._added]

    def _place(self) -> None:
        """Splice the new items and the moved ones in where the final order puts them:
        each before the next item that stays, or after the last item."""
        if self._order is None and not self._added:
            return  # the common case: values changed in place
        order = self._final_order()
        rank = {item_id: n for n, item_id in enumerate(self._by_id)}
        kept = [i for i in order if i in rank]
        stay = self._staying_put(kept, rank)
        if len(stay) == len(kept) and not self._added:
            return  # nothing moved, nothing new
        blocks = _Blocks(self._text, self._doc, rank)
        for item_id in kept:
            if item_id not in stay:
                self._cut_out(item_id, blocks[item_id])
        self._put_in(order, stay, blocks)

    def _staying_put(self, kept: list[str], rank: dict[str, int]) -> set[str]:
        """The items of `kept` (in their final order) that stay where they are: all but the
        moved ones while those are in document order, else the most that are (_staying)."""
        stay = {i for i in kept if i not in self._moved}
        ranks = [rank[i] for i in kept if i in stay]
        if any(a > b for a, b in itertools.pairwise(ranks)):
            stay = _staying(kept, rank)  # the fewest blocks that move
        return stay

    def _cut_out(self, item_id: str, block: tuple[int, int]) -> None:
        """Take a moving item's block out, with the edits of its own lines: it is put in
        again (`_put_in`) as the text it has then."""
        text = self._text
        start, end = block
        owned = [e for e in self._edits if e.owner == item_id]
        self._edits = [e for e in self._edits if e.owner != item_id]
        inner = [Edit(e.start - start, e.seq, e.end - start, e.new) for e in owned]
        block_text = apply_edits(text[start:end], inner).replace("\r\n", "\n")
        self._texts[item_id] = block_text
        self._splice(start, end, "")

    def _put_in(self, order: list[str], stay: set[str], blocks: _Blocks) -> None:
        """Splice the new and the cut-out items in: each run of them before the next item
        that stays (an item put back at its old spot where that still fits), the rest
        after the last item's block."""
        text = self._text
        new = {str(values["id"]): values for values in self._added}
        dash, key_col = item_layout(text, self._doc.items)
        end_of_list = blocks[str(self._doc.items[-1].entries["id"].value)][1]
        pending: list[str] = []
        for k, item_id in enumerate(order):
            if item_id in stay:
                if pending:
                    self._splice(blocks[item_id][0], blocks[item_id][0], "".join(pending))
                    pending = []
                continue
            if item_id in new:
                lines = self._new_item_text(new[item_id], dash, key_col)
                spot = self._spot(order, k, stay) if not pending else None
                if spot is not None:  # an item put back exactly where its lines stood
                    self._splice(spot, spot, lines)
                else:
                    pending.append(lines)
            else:
                pending.append(self._texts[item_id])
        if pending:
            self._splice(end_of_list, end_of_list, "".join(pending))

    def _spot(self, order: list[str], k: int, stay: set[str]) -> int | None:
        """Where an item put back (`spots`) goes: as many lines below the item before it (or
        the `items:` line) as stood between them before, when that item and the next one
        stay where they are and only blank and comment lines lie between."""
        item_id = order[k]
        if item_id not in self._spots:
            return None
        previous, lines = self._spots[item_id]
        if previous != (order[k - 1] if k else None) or (previous and previous not in stay):
            return None
        following = order[k + 1] if k + 1 < len(order) else None
        if following is not None and following not in stay:
            return None
        text = self._text
        entry = self._doc.root.entries.get("items")
        if previous is not None:
            pos = item_end(text, self._by_id[previous])
        elif entry is not None:
            pos = line_end(text, entry.key_end)
        else:
            return None
        limit = item_start(text, self._by_id[following]) if following else len(text)
        for _ in range(lines):
            if pos >= limit:
                return None
            below = line_end(text, pos)
            if below > limit or not (text[pos:below].strip() == "" or
                                     _comment_line(text[pos:below])):
                return None
            pos = below
        return pos

    def _new_item_text(self, values: dict[str, Any], dash: int, key_col: int) -> str:
        """A new item's lines: the text it had (an item put back) where that still reads as
        these values in this file's layout, else rendered from its values."""
        kept = self._texts.get(str(values["id"]))
        if kept is not None and _reads_as(kept, values, (dash, key_col)):
            return kept
        return render_item(values, dash, key_col)

    def _rewrite_list(self) -> None:
        """Replace the value of `items` with a block list of every item."""
        text = self._text
        dash, key_col = item_layout(text, self._doc.items)
        new = {str(values["id"]): values for values in self._added}
        blocks = []
        for item_id in self._final_order():
            ix = self._by_id.get(item_id)
            values = new[item_id] if ix is None else \
                {**ix.values(), **self._changes.get(item_id, {})}
            blocks.append(render_item(values, dash, key_col))
        block = "".join(blocks)
        entry = self._doc.root.entries.get("items")
        if entry is None:
            self._splice(len(text), len(text), f"items:\n{block}" if block else "items: []\n")
            return
        colon = text.index(":", entry.key_end)
        end = colon + 1 if entry.kind == "empty" else entry.value_end
        if not block:
            self._splice(colon + 1, end, " []")
            return
        after = line_end(text, end)
        # A comment on the `items:` line stays there.
        self._splice(colon + 1, end, "")
        self._splice(after, after, block)


class _Blocks:
    """Items' blocks (item_block) by id, found when first asked for."""

    def __init__(self, text: str, doc: Document, rank: dict[str, int]) -> None:
        self._text = text
        self._doc = doc
        self._rank = rank
        self._found: dict[str, tuple[int, int]] = {}

    def __getitem__(self, item_id: str) -> tuple[int, int]:
        block = self._found.get(item_id)
        if block is None:
            block = self._found[item_id] = item_block(self._text, self._doc, self._rank[item_id])
        return block


def _reads_as(block: str, values: dict[str, Any], layout: tuple[int, int]) -> bool:
    """Whether an item's text, alone in a list, is one item holding exactly `values` in the
    given (dash, key) columns, with nothing an alias or merge could share."""
    try:
        doc = yamldoc.parse("items:\n" + block)  # looked up per call: tests count parses
    except DocError:
        return False
    if doc.roundtrip or len(doc.items) != 1:
        return False
    if doc.items[0].flow and _dash_column(doc.text, doc.items[0]) != layout[0]:
        return False

    def said(data: dict[str, Any]) -> dict[str, Any]:  # a key left out reads as null / []
        return {k: v for k, v in data.items() if v is not None and v != []}

    return said(doc.items[0].values()) == said(values) and \
        (doc.items[0].flow or item_layout(doc.text, doc.items) == layout)
