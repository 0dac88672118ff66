"""Writing BACKLOG.yaml through ruamel.yaml's round trip, for text that splices cannot edit.

A file with aliases (`*a`), merge keys (`<<: *a`) or tags of its own (`!custom`) shares
values between places, so splicing one place could change or break another (an anchor
removed under its aliases, a merged value changed for every item that merges it). Such a
file is still read by app/backlog/yamldoc.py (one reader, one set of YAML 1.2 rules, the
positions for messages); only its writes come here: ruamel.yaml's round-trip loader builds
the tree, the transaction's changes are set on it, and the dump keeps what a person wrote
(comments, anchors, aliases, merge keys, tags, key order, quoting, the file's indentation).

Every other file takes the splicing writer (splicer.SpliceWriter): ruamel.yaml is pure Python and
re-emits the whole file, ~1.7 s for 1,000 items. It is imported only when such a file is
written.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.anchor import Anchor
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import CommentMark, MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    LiteralScalarString,
)
from ruamel.yaml.tokens import CommentToken

from app.backlog import yamldoc, yamlvalues

_TAG = "tag:yaml.org,2002:"


class _Verbatim:
    """A scalar that is written back exactly as it was read (`~`, `True`, `0x1F`, an empty
    value), or as yamlvalues renders a new one: ruamel would otherwise write its own
    spelling (`null` for `~`, `true` for `True`) or quote a timestamp-like title."""

    __slots__ = ("anchor", "tag", "text")

    def __init__(self, tag: Any, text: str, anchor: str | None = None) -> None:
        self.tag = tag
        self.text = text
        mark: Any = Anchor()  # where ruamel's representer looks for a scalar's anchor
        if anchor:
            mark.value = anchor
            mark.always_dump = True
        self.anchor = mark


class _Constructor(RoundTripConstructor):
    """ruamel's round-trip constructor, keeping plain scalars other than text verbatim."""

    def construct_verbatim(self, node: ScalarNode) -> _Verbatim:
        """The scalar as written, with its anchor."""
        return _Verbatim(node.tag, str(node.value), node.anchor)


for _kind in ("null", "bool", "int", "float", "timestamp", "binary"):
    _Constructor.add_constructor(_TAG + _kind, _Constructor.construct_verbatim)


class _Representer(RoundTripRepresenter):
    """ruamel's round-trip representer, writing `_Verbatim` scalars as they are."""

    def represent_verbatim(self, data: _Verbatim) -> ScalarNode:
        """The scalar's own text, under its own tag (plain when that tag is implied)."""
        anchor = data.anchor if data.anchor.value is not None else None
        node: ScalarNode = self.represent_scalar(data.tag, data.text, anchor=anchor)
        return node


_Representer.add_representer(_Verbatim, _Representer.represent_verbatim)


def _key_column(index: yamldoc.MapIndex) -> int | None:
    """The 0-based column of a block mapping's own keys (a mapping's start mark may stand on
    its anchor or tag; merged entries stand elsewhere)."""
    own = [e.column - 1 for e in index.entries.values() if _owns(index, e)]
    return min(own) if own and not index.flow else None


def _indentation(doc: yamldoc.Document) -> tuple[int, int, int]:
    """(mapping indent, sequence indent, dash offset) as the document itself uses them, so
    that ruamel re-emits the lines nobody changed as they were."""
    text = doc.text
    root = doc.root.entries
    mapping = 2
    for entry in root.values():
        sub = entry.sub.index if entry.sub is not None else None
        col = _key_column(sub) if sub is not None else None
        if col is not None:
            mapping = col - (entry.column - 1)
            break
    sequence, offset = 4, 2
    items = root.get("items")
    for ix in doc.items:
        key = _key_column(ix)
        if key is None or items is None:
            continue
        ls = yamldoc.line_start(text, ix.start)
        dash = text.find("-", ls, ix.start + 1)
        if dash >= 0:
            sequence, offset = key - (items.column - 1), dash - ls - (items.column - 1)
        break
    if mapping < 1 or offset < 0 or sequence < offset + 2:  # not what ruamel can write
        return 2, 4, 2
    return mapping, sequence, offset


def _yaml(doc: yamldoc.Document) -> YAML:
    y = YAML(typ="rt")
    y.Constructor = _Constructor
    y.Representer = _Representer
    y.preserve_quotes = True
    mapping, sequence, offset = _indentation(doc)
    y.indent(mapping=mapping, sequence=sequence, offset=offset)
    y.width = 1 << 30  # never fold a long line
    return y


def _head(text: str) -> int:
    """Where the document proper starts: after a `---` line that only comments, blank lines
    and directives come before (ruamel would drop those comments), else 0."""
    pos = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped == "---":
            return pos + len(line)
        if stripped.startswith("--- #"):  # ruamel writes that comment itself, after it
            return pos + line.index("---") + 3
        if stripped and not stripped.startswith(("#", "%")):
            return 0
        pos += len(line)
    return 0


class RoundTripWriter:
    """A transaction's changes set on ruamel.yaml's round-trip tree of the document.

    Anchored values stay shared where nobody changed them. Changing a value that other
    items share changes only the item asked: an item's own key is set (never the anchor's
    value, never a merge source's key), and items that merge from a changed item keep what
    they had, written out as keys of their own.
    """

    def __init__(self, doc: yamldoc.Document) -> None:
        self._doc = doc
        self._yaml = _yaml(doc)
        self._source = doc.text.replace("\r\n", "\n")
        self._lines = self._source.split("\n")
        self._head = self._source[:_head(self._source)]  # written back as it is
        try:
            self._data = self._yaml.load(self._source)
            self._yaml.version = None  # the %YAML directive is in the head
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            raise yamldoc.DocError(line, col, f"ruamel.yaml cannot write this file back: "
                                              f"{exc.problem or exc}") from None
        except YAMLError as exc:
            raise yamldoc.DocError(1, 1, f"ruamel.yaml cannot write this file back: "
                                         f"{str(exc).splitlines()[0]}") from None
        _keep_anchors(self._data, self._data, set())
        self._index = {str(ix.entries["id"].value): ix for ix in doc.items}
        listed = self._data.get("items")
        self._maps: dict[str, CommentedMap] = (
            dict(zip(self._index, listed, strict=True)) if isinstance(listed, list) else {})

    # the DocumentEditor calls -----------------------------------------------------------------
    def change_item(self, item_id: str, values: dict[str, Any]) -> None:
        """Set keys of an item as its own keys; items merging from it keep their values."""
        self._pin_sharers(item_id, list(values))
        seq = self._seq()
        target = self._maps[item_id]
        at = next(n for n, m in enumerate(seq) if m is target)
        rest = self._cut_rest(seq, at)  # a key added goes before the lines after the item
        own = dict(target.non_merged_items())
        for key, value in values.items():
            target[key] = _value(value)
            if key in own:
                _forget_copies(self._data, own[key])
                self._keep_comment_gap(item_id, key, value)
        _put_after(seq, at, rest)

    def _keep_comment_gap(self, item_id: str, key: str, value: Any) -> None:
        """A comment after a one-line value keeps its distance from the value (ruamel keeps
        its column, which would stretch or squeeze the gap)."""
        entry = self._index[item_id].entries.get(key)
        slots = self._maps[item_id].ca.items.get(key)
        token = slots[2] if slots else None
        if entry is None or token is None or "\n" in self._doc.text[
                entry.value_start:entry.value_end] or entry.kind not in ("scalar", "flow"):
            return
        grown = len(yamlvalues.render_inline(value)) - (entry.value_end - entry.value_start)
        mark = getattr(token, "start_mark", None)
        if mark is not None and getattr(mark, "line", None) == entry.line - 1:  # its line
            token.start_mark = CommentMark(max(mark.column + grown, 0))

    def delete_item(self, item_id: str) -> None:
        """Remove an item; blank lines and comments after it stay where they were. An item
        others merge from is still written where they merge it (`<<: &base {...}`)."""
        seq = self._seq()
        at = next(n for n, m in enumerate(seq) if m is self._maps[item_id])
        before = seq.ca.items.get(at, [None, None])[1]  # comment lines of its own above it
        lines = _lines_of(before or []) + self._cut_rest(seq, at)
        del seq[at]
        for _, value in self._maps[item_id].non_merged_items():
            _forget_copies(self._data, value)
        _put_after(seq, at - 1, lines)
        if not seq:
            self._empty_list(seq)
        del self._maps[item_id]

    def add_items(self, items: list[dict[str, Any]], texts: dict[str, str] | None = None,
                  spots: dict[str, tuple[str | None, int]] | None = None) -> None:
        """Append new items; what followed the last item follows the new last one. (An item
        put back is written from its values: `texts` and `spots` are for the splicing
        writer.)"""
        if not items:
            return
        seq = self._seq()
        rest = self._cut_rest(seq, len(seq) - 1) if seq else ""
        for values in items:
            new = CommentedMap((key, _value(value)) for key, value in values.items())
            seq.append(new)
            self._maps[str(values["id"])] = new
        _put_after(seq, len(seq) - 1, rest)

    def order_items(self, order: list[str], moved: set[str] | frozenset[str] = frozenset()
                    ) -> None:
        """Put the items in `order`. Each carries the comment lines directly above it and
        those below it indented past its dash; blank lines and other comments between
        items stay where they stand in the list (the comments above the first item stay
        at the top of the list). (Which items a person moved only matters to splices.)"""
        seq = self._seq()
        ids = {id(m): item_id for item_id, m in self._maps.items()}
        now = [ids[id(m)] for m in seq]
        if now == order:
            return
        count = len(seq)
        gaps, eol, top = self._take_comments(seq, now)
        dash = _dash_column(self._doc)
        trail, lead, stay = _deal_out(gaps, now, dash)
        above = ""  # lines that go above the new first item
        if order[0] != now[0]:
            above = lead.get(order[0], "")
            if order[0] in eol:  # ruamel writes a first flow item's end-of-line comment
                token = eol.pop(order[0])  # so the next item breaks: it goes above it
                above += " " * dash + token.value.strip() + "\n"
        if above:
            top = [*(top or []), CommentToken(above, CommentMark(0), None)]
        for k, item_id in enumerate(order):
            list.__setitem__(seq, k, self._maps[item_id])
            if item_id in eol or (k == 0 and top):
                seq.ca.items[k] = [eol.get(item_id), top if k == 0 else None, None, None]
        for k, item_id in enumerate(order):
            following = lead.get(order[k + 1], "") if k + 1 < count else ""
            _put_after(seq, k, trail[item_id] + stay[k] + following)

    def _take_comments(self, seq: CommentedSeq, now: list[str]
                       ) -> tuple[list[str], dict[str, Any], list[Any] | None]:
        """Take every comment off the list (items in the order `now`): the lines after each
        item (the comment lines above the next one included, and those after the list after
        the last), each flow item's comment after its closing brace, and the comment lines
        above the first item."""
        count = len(seq)
        gaps = [self._cut_rest(seq, k) for k in range(count)]
        eol: dict[str, Any] = {}  # a flow item's comment after its closing brace
        top = None  # comment lines above the first item, kept there
        for k, item_id in enumerate(now):
            slots = seq.ca.items.get(k) or [None, None]
            if slots[0] is not None:
                eol[item_id] = slots[0]
            if k and slots[1]:
                gaps[k - 1] += _lines_of(slots[1])
            elif slots[1]:
                top = slots[1]
        gaps[-1] += _lines_of(seq.ca.end or [])
        seq.ca.end = []
        seq.ca.items.clear()
        return gaps, eol, top

    def has_top(self, key: str) -> bool:
        """Whether the top-level mapping has `key`."""
        return key in self._doc.root.entries

    def set_top(self, key: str, value: Any, *, before: str | None = None,
                after: tuple[str, ...] = ()) -> None:
        """Set a top-level key in place, or insert it before/after the given keys."""
        data = self._data
        if key in data:
            data[key] = _value(value)
            return
        keys = list(data)
        if before is not None:
            pos = keys.index(before) if before in data else 0
        else:
            anchor = next((k for k in after if k in data), None)
            pos = keys.index(anchor) + 1 if anchor is not None else 0
        data.insert(pos, key, _value(value))

    def text(self) -> str:
        """The dumped document, in the file's own line ending."""
        out = io.StringIO()
        self._yaml.dump(self._data, out)
        text = self._head + out.getvalue()
        return text.replace("\n", "\r\n") if yamldoc.newline_of(self._doc.text) != "\n" else text

    # helpers ------------------------------------------------------------------------------------
    def _seq(self) -> CommentedSeq:
        """The items list, in block style (a flow or empty list becomes one, as with splices)."""
        seq = self._data.get("items")
        if not isinstance(seq, CommentedSeq):
            seq = CommentedSeq()
            self._data["items"] = seq
        seq.fa.set_block_style()
        return seq

    def _pin_sharers(self, item_id: str, keys: list[str]) -> None:
        """Items that merge `item_id` (`<<: *it`) and do not have one of these keys of their
        own get it, with the value they read now (null for none): a change of one item
        changes no other, and a key the item gains does not flow into them."""
        ix = self._index[item_id]
        own = [e for e in ix.entries.values() if _owns(ix, e)]
        for other_id, other in self._index.items():
            if other_id == item_id or other_id not in self._maps:
                continue
            if not any(other.entries.get(e.key) is e for e in own):
                continue  # it does not merge this item
            for key in keys:
                entry = other.entries.get(key)
                if entry is None or not _owns(other, entry):
                    self._maps[other_id][key] = _value(entry.value if entry else None)

    def _cut_rest(self, seq: CommentedSeq, at: int) -> str:
        """Take the blank lines and comment lines after item `at` off it (its end-of-line
        comment stays) and return them."""
        slot = _last_slot(seq, at)
        if slot is None:
            return ""
        token = slot[0].ca.items.get(slot[1], [None] * 4)[slot[2]]
        if token is None:
            return ""
        value: str = token.value
        if value.startswith("\n"):
            eol, rest = "\n", value[1:]
        else:
            line = getattr(token.start_mark, "line", None)  # None: one of ours, own line
            lines = self._lines
            before = lines[line][:token.start_mark.column] if line is not None else ""
            if before.strip():  # a comment after the value, on its line: it stays
                cut = value.find("\n") + 1
                eol, rest = value[:cut], value[cut:]
            else:  # the token starts at a comment on a line of its own
                eol, rest = "", " " * token.start_mark.column + value
        if eol:
            token.value = eol
        else:  # ruamel cannot write an empty comment
            slot[0].ca.items[slot[1]][slot[2]] = None
        return rest

    def _empty_list(self, seq: CommentedSeq) -> None:
        """`items: []`, the comments that were before and after the items after it."""
        seq.fa.set_flow_style()
        start, seq.ca.comment = seq.ca.comment, None
        end, seq.ca.end = seq.ca.end, []
        column = 0
        text = "\n"
        if start and start[0] is not None:  # `items:  # comment`: keep the gap before it
            column = start[0].start_mark.column + len(" []")
            text = start[0].value
        text += _lines_of((start[1] or []) if start else []) + _lines_of(end or [])
        if text.strip():
            self._data.ca.items["items"] = [None, None,
                                            CommentToken(text, CommentMark(column), None), None]


def _dash_column(doc: yamldoc.Document) -> int:
    """The column of the items' dashes (comment lines indented past it are inside an item)."""
    text = doc.text
    for ix in doc.items:
        ls = yamldoc.line_start(text, ix.start)
        dash = text.find("-", ls, ix.start + 1)
        if dash >= 0:
            return dash - ls
    return 2


def _deeper_comment(line: str, column: int) -> bool:
    """A comment line indented past `column`."""
    body = line.lstrip(" ")
    return body.startswith("#") and len(line) - len(body) > column


def _deal_out(gaps: list[str], now: list[str], dash: int
              ) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """The lines after each item (in the order `now`) dealt out: the comment lines right
    below it indented past the dash go with it (trail), the comment lines directly above
    the next item go with that one (lead), and what is left stays where it stands."""
    count = len(gaps)
    trail: dict[str, str] = {}
    lead: dict[str, str] = {}
    stay: list[str] = []
    for k, gap in enumerate(gaps):
        lines = gap.splitlines(keepends=True)
        n = 0
        while n < len(lines) and _deeper_comment(lines[n], dash):
            n += 1
        trail[now[k]] = "".join(lines[:n])
        m = len(lines)
        if k + 1 < count:
            while m > n and lines[m - 1].lstrip(" ").startswith("#"):
                m -= 1
            lead[now[k + 1]] = "".join(lines[m:])
        stay.append("".join(lines[n:m]))
    return trail, lead, stay


def _owns(index: yamldoc.MapIndex, entry: yamldoc.Entry) -> bool:
    """Whether `entry` is written in the mapping itself (not merged in from elsewhere)."""
    return index.start <= entry.key_start < index.content_end


def _keep_anchors(root: Any, node: Any, seen: set[int]) -> None:
    """Mark every anchor to be written even when no alias is left (ruamel drops those), and
    put the comments ruamel misplaces where they were."""
    if id(node) in seen:
        return
    seen.add(id(node))
    anchor = getattr(node, "anchor", None)
    if anchor is not None and anchor.value is not None and hasattr(node, "yaml_set_anchor"):
        node.yaml_set_anchor(anchor.value, always_dump=True)
    if isinstance(node, CommentedMap):
        for key, value in node.non_merged_items():
            if isinstance(value, (CommentedMap, CommentedSeq)):
                _comment_on_the_key_line(root, node, key, value)
            _keep_anchors(root, value, seen)
    elif isinstance(node, CommentedSeq):
        for value in node:
            _keep_anchors(root, value, seen)


def _sites(node: Any, target: Any, seen: set[int] | None = None) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in the tree whose value is `target` itself: its
    anchor's place and its aliases'."""
    seen = set() if seen is None else seen
    if id(node) in seen or not isinstance(node, (CommentedMap, CommentedSeq)):
        return []
    seen.add(id(node))
    pairs = node.non_merged_items() if isinstance(node, CommentedMap) else enumerate(node)
    found: list[tuple[Any, Any]] = []
    for key, value in pairs:
        if value is target:
            found.append((node, key))
        found += _sites(value, target, seen)
    return found


def _forget_copies(root: Any, old: Any) -> None:
    """`old` is replaced or deleted where its anchor stood. ruamel gave each alias of it a
    copy of that place's comments (it writes the anchor with the comments of the last place
    it represents); the anchor now moves to an alias's place, without those comments."""
    if getattr(getattr(old, "anchor", None), "value", None) is None:
        return
    for container, key in _sites(root, old):
        slots = container.ca.items.get(key)
        if slots:
            at = container.lc.key(key) if isinstance(container, CommentedMap) \
                else container.lc.item(key)
            container.ca.items[key] = _own_comments(slots, at[0])


def _own_comments(slots: list[Any], line: int) -> list[Any]:
    """The comment slots of a place on `line` without those that stand before it (copies)."""
    def before(token: Any) -> bool:
        return bool(getattr(token.start_mark, "line", line) < line)

    own: list[Any] = []
    for slot in slots:
        if isinstance(slot, list):
            own.append([t for t in slot if not before(t)] or None)
        else:
            own.append(None if slot is not None and before(slot) else slot)
    return own


def _comment_on_the_key_line(root: Any, parent: CommentedMap, key: Any,
                             value: CommentedMap | CommentedSeq) -> None:
    """`key: &anchor  # comment` before a block collection: ruamel reads the comment as a
    line of its own before the first entry and would write it there; put it back after
    the anchor, where a comment on a key without an anchor is kept."""
    slots = parent.ca.items.get(key)
    tokens = slots[3] if slots else None
    if not tokens or slots[2] is not None or tokens[0].start_mark.line != parent.lc.key(key)[0]:
        return
    first = tokens[0]
    first.value += "".join(" " * t.start_mark.column + t.value for t in tokens[1:])
    for container, place in _sites(root, value):  # its aliases carry copies: the same
        container.ca.items[place] = [None, None, first, None]
    value.ca.comment = [first, None]


def _lines_of(tokens: list[Any]) -> str:
    """Comment tokens as the lines they stand for (a token's text starts at its column)."""
    return "".join(" " * t.start_mark.column + t.value for t in tokens)


def _put_after(seq: CommentedSeq, at: int, lines: str) -> None:
    """Put whole lines after item `at`: above the next item, or at the end of the list."""
    if not lines:
        return
    token = CommentToken(lines, CommentMark(0), None)
    if at + 1 < len(seq):
        slots = seq.ca.items.setdefault(at + 1, [None] * 4)
        slots[1] = [token, *(slots[1] or [])]
    else:
        seq.ca.end = [token, *(seq.ca.end or [])]


def _last_slot(seq: CommentedSeq, at: int) -> tuple[Any, Any, int] | None:
    """Where ruamel keeps the comment after item `at`: (container, key or index, slot)."""
    if seq.ca.items.get(at, [None])[0] is not None:  # after a flow item
        return seq, at, 0
    node: Any = seq[at]
    found: tuple[Any, Any, int] | None = None
    while isinstance(node, (CommentedMap, CommentedSeq)) and len(node):
        if node.fa.flow_style():
            break
        if isinstance(node, CommentedMap):
            key: Any = [k for k, _ in node.non_merged_items()][-1]
            found = (node, key, 2)
        else:
            key = len(node) - 1
            found = (node, key, 0)
        slots = node.ca.items.get(key)
        if slots and slots[found[2]] is not None:
            return found
        node = node[key]
    return found


def _value(value: Any) -> Any:
    """A value for the tree, written as the splicing writer would write it."""
    if value is None or isinstance(value, (bool, int, float)):
        kind = ("null" if value is None else "bool" if isinstance(value, bool)
                else "int" if isinstance(value, int) else "float")
        return _Verbatim(_TAG + kind, yamlvalues.render_scalar(value))
    if isinstance(value, str):
        if yamlvalues.render_block(value, 0) is not None:
            return LiteralScalarString(value)
        if yamlvalues.render_scalar(value) == value:
            return _Verbatim(_plain_tag(value), value)
        return DoubleQuotedScalarString(value)
    if isinstance(value, (list, tuple)):
        seq = CommentedSeq(_value(v) for v in value)
        seq.fa.set_flow_style()
        return seq
    if isinstance(value, dict):
        mapping = CommentedMap((str(k), _value(v)) for k, v in value.items())
        mapping.fa.set_flow_style()
        return mapping
    return _value(str(value))


_RESOLVER = YAML(typ="rt").resolver


def _plain_tag(text: str) -> Any:
    """The tag ruamel gives `text` written plain: under it ruamel writes it plain, as the
    splicing writer would (a timestamp-like text is text to our reader either way)."""
    tag: Any = _RESOLVER.resolve(ScalarNode, text, (True, False))
    return tag
