"""BACKLOG.yaml as its text plus an index of where every value stands in that text.

Why not a plain ruamel.yaml round-trip: it costs ~1.7 s per update of a
1,000-item file. Instead the text is parsed once with libyaml's C event
parser (through PyYAML), values are resolved by the YAML 1.2 core schema (a
title `no` stays a string), and a change is a splice of the changed value's
characters. Everything a person wrote elsewhere (comments, quoting, key
order, unknown keys) stays byte-identical by construction.
"""

from __future__ import annotations

import functools
import gc
import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# --- YAML 1.2 core schema resolution of plain scalars -------------------------------
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INT10 = re.compile(r"^[-+]?[0-9]+$")
_INT8 = re.compile(r"^0o[0-7]+$")
_INT16 = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(inf|Inf|INF)$")
_NAN = re.compile(r"^\.(nan|NaN|NAN)$")


def resolve_plain(text: str) -> Any:
    """The value of a plain (unquoted) scalar under the YAML 1.2 core schema."""
    if text in _NULLS:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT10.match(text):
        return int(text)
    if _INT8.match(text):
        return int(text[2:], 8)
    if _INT16.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _NAN.match(text):
        return float("nan")
    return text


class DocError(Exception):
    """A parse or structure error at a 1-based line and column."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


@dataclass(slots=True)
class Entry:
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


@dataclass(slots=True)
class MapIndex:
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


@dataclass(slots=True)
class _Node:
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


_ScalarEvent = yaml.ScalarEvent
_MappingStart = yaml.MappingStartEvent
_MappingEnd = yaml.MappingEndEvent
_SequenceStart = yaml.SequenceStartEvent
_SequenceEnd = yaml.SequenceEndEvent


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
        self.next = self.loader.get_event

    def node(self, ev: Any) -> _Node:
        cls = type(ev)
        if cls is _ScalarEvent:
            return self.scalar(ev)
        if cls is _SequenceStart:
            return self.sequence(ev)
        if cls is _MappingStart:
            return self.mapping(ev)
        if isinstance(ev, yaml.AliasEvent):
            raise _err(ev.start_mark, f"aliases (*{ev.anchor}) are not supported here; "
                                      "write the value out")
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


@dataclass
class Document:
    """The parsed text: top-level mapping and the index of each item mapping."""

    text: str
    root: MapIndex
    items: list[MapIndex]
    """One per entry of `items`, in order (None entries are rejected by validation)."""


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
    ix = _Indexer(text)
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
    return Document(text, root, items)


# --- rendering values as YAML text --------------------------------------------------
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
# Plain words a YAML 1.1 reader takes for something else (`=` is its value tag, `<<` merge).
_YAML11_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
                           "=", "<<"})
# Anything that starts like a number in some reader's eyes: ruamel's 1.2 ints allow `+_`,
# 1.1 allows `_` separators, `.5` is a float. Quoting a few such titles costs nothing.
_NUMBERISH = re.compile(r"^[-+.]?[0-9_.][0-9A-Za-z_.:+-]*$")


def _printable(ch: str) -> bool:
    o = ord(ch)
    return (o in (0x09, 0x0A, 0x0D) or 0x20 <= o <= 0x7E or 0xA0 <= o <= 0xD7FF
            or (0xE000 <= o <= 0xFFFD and o != 0xFEFF) or 0x10000 <= o <= 0x10FFFF)


def _plain_ok(s: str, in_flow: bool) -> bool:
    if not s or s != s.strip() or s[0] in _INDICATORS:
        return False
    if ": " in s or " #" in s or s.endswith(":") or "\t" in s:
        return False
    if in_flow and any(c in s for c in ",[]{}"):
        return False
    if any(c in s for c in "\n\r\x85\u2028\u2029") or not all(_printable(c) for c in s):
        return False
    if s.lower() in _YAML11_WORDS or _NUMBERISH.match(s):
        # Plain would read as something else, here (1.2) or in a 1.1 tool.
        return _is_timestamp(s)
    return resolve_plain(s) == s


_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def _is_timestamp(s: str) -> bool:
    return bool(_TIMESTAMP.match(s))


def quote(s: str) -> str:
    """A double-quoted YAML scalar for any string (JSON escapes are YAML escapes)."""
    out = json.dumps(s, ensure_ascii=False)
    if all(_printable(c) for c in out) and not any(c in out for c in "\x85\u2028\u2029"):
        return out
    parts = []
    for c in out:
        if _printable(c) and c not in "\x85\u2028\u2029":
            parts.append(c)
        elif ord(c) <= 0xFFFF:
            parts.append(f"\\u{ord(c):04x}")
        else:
            parts.append(f"\\U{ord(c):08x}")
    return "".join(parts)


def render_scalar(value: Any, in_flow: bool = False) -> str:
    """One scalar as YAML text that reads back as `value` under YAML 1.2 and 1.1."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "." not in text and "e" in text:  # 1e-300 is a string to a YAML 1.1 reader
            mantissa, exp = text.split("e")
            text = f"{mantissa}.0e{exp}"
        return text
    s = str(value)
    if max(s, default="a") >= "\ud800" and any("\ud800" <= c <= "\udfff" for c in s):
        s = s.encode("utf-8", "replace").decode("utf-8")
    return s if _plain_ok(s, in_flow) else quote(s)


def render_inline(value: Any) -> str:
    """A value on one line: scalars, flow lists and flow mappings."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(render_inline_elem(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{render_scalar(str(k), True)}: {render_inline_elem(v)}"
                          for k, v in value.items())
        return "{" + inner + "}"
    return render_scalar(value)


def render_inline_elem(value: Any) -> str:
    """An element inside a flow collection."""
    if isinstance(value, (list, tuple, dict)):
        return render_inline(value)
    return render_scalar(value, in_flow=True)


def render_block(value: Any, key_col: int) -> str | None:
    """Multi-line text as a literal block scalar (`|-` and lines indented under the key),
    without a final newline; None when the text is one line or a block cannot hold it
    exactly (then it is double-quoted with escapes)."""
    if not isinstance(value, str) or "\n" not in value or not value.strip():
        return None
    if any(c in value for c in "\r\x85\u2028\u2029\ufeff") or \
            not all(_printable(c) for c in value):
        return None
    lines = value.split("\n")
    body = lines
    if value.endswith("\n"):
        body = value.rstrip("\n").split("\n")
        keep = len(value) - len(value.rstrip("\n"))
        chomp = "" if keep == 1 else "+"
    else:
        chomp = "-"
    if any(line and not line.strip(" ") for line in lines) or any("\t" in line[:1] for line in
                                                                   lines):
        return None  # space-only lines or a leading tab: a block would not keep them exactly
    first = next(line for line in body if line)
    indicator = "2" if first.startswith(" ") else ""
    pad = " " * (key_col + 2)
    content = "\n".join(pad + line if line else "" for line in body)
    trailing = "\n" * (len(value) - len(value.rstrip("\n")) - 1) if chomp == "+" else ""
    return f"|{indicator}{chomp}\n{content}" + trailing


def render_value(value: Any, key_col: int) -> str:
    """The text after `key: ` for a value of a block mapping whose key is at `key_col`."""
    block = render_block(value, key_col)
    return block if block is not None else render_inline(value)


def render_item(values: dict[str, Any], dash_col: int, key_col: int) -> str:
    """A whole item as a block mapping in a block sequence, ending with a newline."""
    lines = []
    for i, (key, value) in enumerate(values.items()):
        lead = " " * dash_col + "-" + " " * (key_col - dash_col - 1) if i == 0 else " " * key_col
        lines.append(f"{lead}{render_scalar(key)}: {render_value(value, key_col)}\n")
    return "".join(lines)


# --- splicing -----------------------------------------------------------------------
@dataclass(order=True)
class Edit:
    """Replace text[start:end] with `new`; `seq` keeps inserts at one place in order."""

    start: int
    seq: int
    end: int
    new: str


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


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Apply non-overlapping edits, last first so earlier offsets stay valid."""
    parts: list[str] = []
    pos = len(text)
    for e in sorted(edits, reverse=True):
        if e.end > pos:
            raise ValueError("overlapping edits")
        parts.append(text[e.end:pos])
        parts.append(e.new)
        pos = e.start
    parts.append(text[:pos])
    return "".join(reversed(parts))
