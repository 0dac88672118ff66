"""BACKLOG.yaml as its text plus an index of where every value stands in that text.

Why not a plain ruamel.yaml round-trip: it costs ~1.7 s per update of a
1,000-item file. Instead the text is parsed once with libyaml's C event
parser (through PyYAML), values are resolved by the YAML 1.2 core schema (a
title `no` stays a string), and the index keeps every value's place, so a
change is a splice of the changed value's characters (app/backlog/splicer.py).

Aliases read as their anchor's value and merge keys (`<<: *base`) fill in what a mapping
lacks. Splices cannot edit such text safely (an anchor removed under its aliases, a merged
value changed for every item), so `Document.roundtrip` says why, and the store writes it
through ruamel.yaml instead (app/backlog/roundtrip.py).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import Any

import yaml

from app.backlog.yamlvalues import resolve_plain
from app.structs import Struct, field

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DocError(Exception):
    """A parse or structure error at a 1-based line and column."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


# The index records are made by the ten thousand and hold only plain data and each other (a
# tree, no cycle): gc=False keeps the collector from walking them (tests/backlog/test_store_gc.py).
class Entry(Struct, gc=False):
    """One `key: value` of a block mapping and where its parts stand in the text."""

    key: str
    key_start: int
    key_end: int
    value_start: int
    value_end: int
    """End of the value's content (the last character of its last scalar)."""
    kind: str
    """`empty` (nothing after the colon), `scalar`, `blockscalar` (| or >),
    `block` (block collection) or `flow` (flow collection)."""
    value: Any
    line: int
    column: int
    sub: _Node | None = None
    """The nested node, for collection values."""


class MapIndex(Struct, gc=False):
    """A mapping node: its entries in document order and its extent."""

    start: int
    content_end: int
    flow: bool
    line: int
    column: int
    entries: dict[str, Entry] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        """The mapping as plain data."""
        return {k: e.value for k, e in self.entries.items()}


class _Node(Struct, gc=False):
    value: Any
    start: int
    content_end: int
    kind: str
    line: int
    column: int
    index: MapIndex | None = None
    children: list[_Node] | None = None


def _err(mark: Any, message: str) -> DocError:
    return DocError(mark.line + 1, mark.column + 1, message)


# Typed Any so `type(ev) is ...` does not narrow: the stubs make every mark Optional, but
# libyaml's events always carry them.
_ScalarEvent: Any = yaml.ScalarEvent
_MappingStart: Any = yaml.MappingStartEvent
_MappingEnd: Any = yaml.MappingEndEvent
_SequenceStart: Any = yaml.SequenceStartEvent
_SequenceEnd: Any = yaml.SequenceEndEvent
_Alias: Any = yaml.AliasEvent


def _scalar_value(ev: Any) -> tuple[Any, str]:
    """The value and kind (`empty`, `scalar`, `blockscalar`) of a scalar event."""
    style = ev.style
    tag = ev.tag
    text = ev.value
    if not style and tag is None and ev.implicit[0]:  # the common case: plain, untagged
        return (_resolve_cached(text), "scalar") if text else (None, "empty")
    if tag in (None, "!") and ev.implicit[0] and not style:
        value: Any = resolve_plain(text)
    elif tag in ("tag:yaml.org,2002:int", "!!int"):
        value = resolve_plain(text)
    elif tag in ("tag:yaml.org,2002:float", "!!float"):
        value = resolve_plain(text)
        if isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        elif not isinstance(value, float):
            value = text
    elif tag in ("tag:yaml.org,2002:null", "!!null"):
        value = None
    elif tag in ("tag:yaml.org,2002:bool", "!!bool"):
        value = text.lower() == "true"
    else:
        value = text
    if style in ("|", ">"):
        return value, "blockscalar"
    if not style and text == "" and ev.implicit[0]:
        return value, "empty"
    return value, "scalar"


_resolve_cached = functools.lru_cache(maxsize=8192)(resolve_plain)


class _Indexer:
    """Builds nodes from libyaml events: values plus the marks needed for splicing."""

    def __init__(self, text: str) -> None:
        self.loader = _Loader(text)
        # libyaml's own get_event, called directly: no generator or check_event per event.
        self.next: Callable[[], Any] = self.loader.get_event

    def node(self, ev: Any) -> _Node:
        cls = type(ev)
        if cls is _ScalarEvent:
            return self.scalar(ev)
        if cls is _SequenceStart:
            return self.sequence(ev)
        if cls is _MappingStart:
            return self.mapping(ev)
        # An alias needs a `*` in the text: parse() then uses _CarefulIndexer.
        raise _err(ev.start_mark, f"unexpected {type(ev).__name__}")

    def scalar(self, ev: Any) -> _Node:
        value, kind = _scalar_value(ev)
        m = ev.start_mark
        return _Node(value, m.index, ev.end_mark.index, kind, m.line, m.column)

    def sequence(self, ev: Any) -> _Node:
        children: list[_Node] = []
        nxt = self.next
        while True:
            sub = nxt()
            if type(sub) is _SequenceEnd:
                break
            children.append(self.node(sub))
        m = ev.start_mark
        end = children[-1].content_end if children else sub.end_mark.index
        kind = "flow" if ev.flow_style else "block"
        if kind == "flow":
            end = sub.end_mark.index
        return _Node([c.value for c in children], m.index, end, kind, m.line, m.column,
                     children=children)

    def mapping(self, ev: Any) -> _Node:
        m = ev.start_mark
        index = MapIndex(m.index, m.index, bool(ev.flow_style), m.line + 1, m.column + 1)
        entries = index.entries
        nxt = self.next
        content_end = m.index
        while True:
            key_ev = nxt()
            if type(key_ev) is _MappingEnd:
                break
            if type(key_ev) is not _ScalarEvent:
                raise _err(key_ev.start_mark, "only plain keys are supported here")
            key = key_ev.value
            if key in entries:
                raise _err(key_ev.start_mark, f"duplicate key {key!r}")
            key_mark = key_ev.start_mark
            val_ev = nxt()
            if type(val_ev) is _ScalarEvent:  # the common case, without a _Node
                value, kind = _scalar_value(val_ev)
                start, content_end = val_ev.start_mark.index, val_ev.end_mark.index
                sub = None
            else:
                val = self.node(val_ev)
                value, kind, start, content_end = val.value, val.kind, val.start, val.content_end
                sub = val if (val.index is not None or val.children is not None) else None
            entries[key] = Entry(key, key_mark.index, key_ev.end_mark.index, start, content_end,
                                 kind, value, key_mark.line + 1, key_mark.column + 1, sub)
        index.content_end = key_ev.end_mark.index if index.flow else content_end
        return _Node(index.values(), m.index, index.content_end, "flow" if index.flow
                     else "block", m.line, m.column, index=index)


# Tags the reader resolves itself; any other (`!custom`, `!!binary`) sends writes to ruamel.
_CORE_TAGS = frozenset({None, "!"} | {f"{p}{t}" for p in ("tag:yaml.org,2002:", "!!")
                                     for t in ("str", "int", "float", "bool", "null", "map",
                                               "seq")})


class _CarefulIndexer(_Indexer):
    """The indexer for text that may hold anchors with aliases, merge keys or tags.

    An alias reads as its anchor's node (its entry points at the anchored text, so a title
    reads as written); `<<: *base` fills in the keys a mapping does not have itself, the
    entries keeping the base's positions for messages. Whatever a splice could not edit
    safely is noted in `roundtrip`: the store then writes through ruamel.yaml instead.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.anchors: dict[str, _Node] = {}
        self.roundtrip: str | None = None

    def note(self, mark: Any, what: str) -> None:
        """Remember the first thing that needs the round-trip writer."""
        if self.roundtrip is None:
            self.roundtrip = f"{what} at line {mark.line + 1}"

    def node(self, ev: Any) -> _Node:
        if type(ev) is _Alias:
            target = self.anchors.get(ev.anchor)
            if target is None:
                raise _err(ev.start_mark, f"the alias *{ev.anchor} names no anchor before it "
                                          f"(`&{ev.anchor}` on a value above)")
            self.note(ev.start_mark, f"an alias (*{ev.anchor})")
            return target
        if ev.tag not in _CORE_TAGS:
            self.note(ev.start_mark, f"a tag ({ev.tag})")
        node = super().node(ev)
        if ev.anchor is not None:
            self.anchors[ev.anchor] = node
        return node

    def mapping(self, ev: Any) -> _Node:
        m = ev.start_mark
        index = MapIndex(m.index, m.index, bool(ev.flow_style), m.line + 1, m.column + 1)
        entries = index.entries
        merged: list[MapIndex] | None = None
        content_end = m.index
        while True:
            key_ev = self.next()
            if type(key_ev) is _MappingEnd:
                break
            if type(key_ev) is not _ScalarEvent:
                raise _err(key_ev.start_mark, "only plain keys are supported here")
            key = key_ev.value
            key_mark = key_ev.start_mark
            if key in entries or (key == "<<" and merged is not None):
                raise _err(key_mark, f"duplicate key {key!r}")
            val_ev = self.next()
            if (type(val_ev) is _ScalarEvent and val_ev.anchor is None and val_ev.tag is None
                    and key != "<<"):  # the common case, as in _Indexer.mapping
                value, kind = _scalar_value(val_ev)
                start, content_end = val_ev.start_mark.index, val_ev.end_mark.index
                entries[key] = Entry(key, key_mark.index, key_ev.end_mark.index, start,
                                     content_end, kind, value, key_mark.line + 1,
                                     key_mark.column + 1, None)
                continue
            val = self.node(val_ev)
            content_end = val.content_end
            if key == "<<" and not key_ev.style and key_ev.tag is None:
                merged = _merge_sources(val, key_mark)
                self.note(key_mark, "a merge key (<<)")
                continue
            sub = val if (val.index is not None or val.children is not None) else None
            entries[key] = Entry(key, key_mark.index, key_ev.end_mark.index, val.start,
                                 val.content_end, val.kind, val.value, key_mark.line + 1,
                                 key_mark.column + 1, sub)
        for source in merged or ():  # the mapping's own keys win, then the first source
            for key, entry in source.entries.items():
                entries.setdefault(key, entry)
        index.content_end = key_ev.end_mark.index if index.flow else content_end
        return _Node(index.values(), m.index, index.content_end, "flow" if index.flow
                     else "block", m.line, m.column, index=index)


def _merge_sources(val: _Node, mark: Any) -> list[MapIndex]:
    """The mappings a merge key's value names: one mapping, or a list of them."""
    if val.index is not None:
        return [val.index]
    sources = [child.index for child in val.children or () if child.index is not None]
    if val.children is None or len(sources) != len(val.children):
        raise _err(mark, "a merge key (<<) takes a mapping, an alias of one, or a list of them")
    return sources


class Document(Struct):
    """The parsed text: top-level mapping and the index of each item mapping."""

    text: str
    root: MapIndex
    items: list[MapIndex]
    """One per entry of `items`, in order (None entries are rejected by validation)."""
    roundtrip: str | None = None
    """Why splices cannot edit this text (an alias, a merge key, a tag of its own, and
    where), so writes go through ruamel.yaml's round trip; None for most files."""


def parse(text: str) -> Document:
    """Index `text`; raise DocError with the position of the first problem."""
    try:
        return _parse(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if exc.context and exc.context not in problem:
            problem = f"{problem} ({exc.context})"
        if mark is None:
            raise DocError(1, 1, problem) from None
        if 0 <= mark.index < len(text) and text[mark.index] == "\t":
            problem = "a tab: YAML indents with spaces only (replace the tab with spaces)"
        raise DocError(mark.line + 1, mark.column + 1, problem) from None
    except yaml.reader.ReaderError as exc:  # control characters and the like
        pos = exc.position if isinstance(exc.position, int) else 0
        line = text.count("\n", 0, pos) + 1
        column = pos - (text.rfind("\n", 0, pos) + 1) + 1
        raise DocError(line, column, str(exc).splitlines()[0]) from None
    except yaml.YAMLError as exc:
        raise DocError(1, 1, str(exc).splitlines()[0]) from None


def _parse(text: str) -> Document:
    # Many small objects and no cycles: the collector only costs time here (~30 %).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse_events(text)
    finally:
        if enabled:
            gc.enable()


def _parse_events(text: str) -> Document:
    # Aliases, merge keys and tags cannot be written without these characters: most files
    # take the plain indexer, whose loop has no checks for them.
    careful = "*" in text or "<<" in text or "!" in text
    ix = _CarefulIndexer(text) if careful else _Indexer(text)
    ix.next()  # StreamStart
    ev = ix.next()
    if isinstance(ev, yaml.StreamEndEvent):
        raise DocError(1, 1, "the file is empty")
    root_node = ix.node(ix.next())
    if root_node.index is None or root_node.index.flow:
        raise DocError(root_node.line + 1, root_node.column + 1,
                       "the top level must be a block mapping (schema_version, prefix, items)")
    ix.next()  # DocumentEnd
    extra = ix.next()
    if not isinstance(extra, yaml.StreamEndEvent):
        raise _err(extra.start_mark, "only one YAML document is allowed")
    root = root_node.index
    items: list[MapIndex] = []
    entry = root.entries.get("items")
    if entry is not None and entry.kind in ("block", "flow"):
        seq = entry.sub
        for child in (seq.children or []) if seq else []:
            if child.index is None:
                raise DocError(child.line + 1, child.column + 1,
                               "each entry of items must be a mapping (id, title, status, ...)")
            items.append(child.index)
    return Document(text, root, items,
                    ix.roundtrip if isinstance(ix, _CarefulIndexer) else None)


# --- places in the text ----------------------------------------------------------
def newline_of(text: str) -> str:
    """The line ending the file uses (that of its first line): `\\r\\n` or `\\n`."""
    nl = text.find("\n")
    return "\r\n" if nl > 0 and text[nl - 1] == "\r" else "\n"


def line_end(text: str, pos: int) -> int:
    """Index just past the newline that ends the line holding `pos` (or len(text))."""
    nl = text.find("\n", pos)
    return len(text) if nl < 0 else nl + 1


def line_start(text: str, pos: int) -> int:
    """Index of the first character of the line holding `pos`."""
    return text.rfind("\n", 0, pos) + 1

