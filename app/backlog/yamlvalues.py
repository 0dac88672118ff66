"""Values as YAML text, both ways: the YAML 1.2 core schema reading of a plain scalar, and
rendering a value so that it reads back the same under YAML 1.2 and 1.1 readers.

Used by the splicing writer (app/backlog/splicer.py) for every value it writes, and by
the round-trip writer (app/backlog/roundtrip.py) to choose how a new value is written.
"""

from __future__ import annotations

import json
import re
from typing import Any

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
    return bool(resolve_plain(s) == s)


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
