"""app/backlog/yamlvalues.py (YAML 1.2 resolution, rendering that reads back under 1.2 and 1.1),
app/backlog/yamldoc.py (the index) and app/backlog/splicer.py (splices, the writer)."""

from __future__ import annotations

import datetime as dt
import io
import math
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from app.backlog import splicer, yamldoc, yamlvalues

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def ruamel12(text: str) -> Any:
    """An independent YAML 1.2 reading of `text`."""
    y = YAML(typ="safe", pure=True)
    y.version = (1, 2)
    return y.load(io.StringIO(text))


def same(read: object, want: object) -> bool:
    """Equal, counting a timestamp-looking string read as a datetime by a 1.1 reader."""
    if isinstance(read, dt.datetime) and isinstance(want, str):
        return read.strftime("%Y-%m-%dT%H:%M:%SZ") == want
    if isinstance(read, float) and isinstance(want, float) and math.isnan(want):
        return math.isnan(read)
    return read == want and type(read) is type(want)


# --- resolution ----------------------------------------------------------------------------
@pytest.mark.parametrize(("plain", "value"), [
    ("no", "no"), ("yes", "yes"), ("on", "on"), ("off", "off"), ("y", "y"),
    ("~", None), ("null", None), ("", None), ("true", True), ("False", False),
    ("0o7", 7), ("0x1F", 31), ("007", 7), ("1e3", 1000.0), ("-1.5", -1.5), (".inf", math.inf),
    ("2026-11-24T10:00:00Z", "2026-11-24T10:00:00Z"), ("1_000", "1_000"), ("0b1", "0b1"),
])
def test_plain_scalars_resolve_by_the_yaml_1_2_core_schema(plain: str, value: object) -> None:
    assert same(yamlvalues.resolve_plain(plain), value)


def test_title_no_stays_a_string_in_a_parsed_document() -> None:
    doc = yamldoc.parse("prefix: WRK\nitems:\n  - id: WRK-001\n    title: no\n    status: new\n")
    assert doc.items[0].values()["title"] == "no"


# --- rendering ---------------------------------------------------------------------------------
YAMLISH = st.sampled_from(["no", "No", "NO", "on", "off", "yes", "y", "n", "~", "null", "true",
                           "1e3", "0o7", "0x10", "1_000", "12:30", "-", "- x", "? x", ": x",
                           "#x", "x #y", "x: y", "&a", "*a", "!x", "|", ">", "'", '"', "%x",
                           "@x", "`x", "[x]", "{x}", "x,y", " x", "x ", "\t", "", ".5", "+1",
                           "2026-11-24T10:00:00Z", "2026-11-24", ".nan", "-.inf", "0", "1.0",
                           "=", "<<", "a=b"])
TEXTS = st.one_of(YAMLISH, st.text(), st.text(st.characters(codec="utf-8")),
                  st.text(alphabet=st.sampled_from(list("ab :#-'\"\\\n\r\t\x00\x85\u2028\ufeff"
                                                        "é日😀"))))


@SETTINGS
@given(TEXTS)
def test_any_text_renders_to_a_scalar_that_reads_back_identically(s: str) -> None:
    """Property (a): render -> parse is the identity under our 1.2 reader, ruamel's 1.2
    reader and PyYAML's 1.1 reader, for any text (control chars, unicode, YAML-ish words)."""
    rendered = yamlvalues.render_scalar(s)
    assert "\n" not in rendered and "\r" not in rendered  # always one line
    text = f"prefix: WRK\nk: {rendered}\n"
    assert yamldoc.parse(text).root.values()["k"] == s
    assert same(ruamel12(text)["k"], s)
    assert same(yaml.safe_load(text)["k"], s)


@SETTINGS
@given(st.lists(TEXTS, max_size=4))
def test_lists_of_text_render_inline_and_read_back(values: list[str]) -> None:
    text = f"prefix: WRK\nk: {yamlvalues.render_inline(values)}\n"
    assert yamldoc.parse(text).root.values()["k"] == values
    read = ruamel12(text)["k"]
    assert len(read) == len(values) and all(same(r, v) for r, v in zip(read, values, strict=True))


@pytest.mark.parametrize("value", [None, True, False, 0, -7, 10**20, 1.5, -0.0, math.inf,
                                   -math.inf, math.nan, 1e-300, 1.5e300, 1e16])
def test_non_text_scalars_read_back_as_the_same_type(value: object) -> None:
    text = f"prefix: WRK\nk: {yamlvalues.render_scalar(value)}\n"
    got = yamldoc.parse(text).root.values()["k"]
    assert same(got, value)
    assert same(yaml.safe_load(text)["k"], value)


def test_title_words_that_yaml_1_1_reads_as_booleans_are_quoted() -> None:
    assert yamlvalues.render_scalar("no") == '"no"'
    assert yamlvalues.render_scalar("Add login page") == "Add login page"
    assert yamlvalues.render_scalar("2026-11-24T10:00:00Z") == "2026-11-24T10:00:00Z"


def test_lone_surrogates_are_replaced_not_crashing() -> None:
    out = yamlvalues.render_scalar("a\ud800b")
    assert yamldoc.parse(f"k: {out}\n").root.values()["k"] == "a?b"


# --- parse errors ------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "line", "col", "fragment"), [
    ("", 1, 1, "the file is empty"),
    ("# only a comment\n", 1, 1, "the file is empty"),
    ("[]\n", 1, 1, "top level must be a block mapping"),
    ("prefix: WRK\nitems:\n\t- id: x\n", 3, 1, "YAML indents with spaces only"),
    ("prefix: WRK\nprefix: X\n", 2, 1, "duplicate key 'prefix'"),
    ("a: 1\nb: *x\n", 2, 4, "the alias *x names no anchor before it"),
    ("a: &x 1\nb:\n  <<: *x\n", 3, 3, "a merge key (<<) takes a mapping"),
    ("a: &x {k: 1}\nb:\n  <<: [*x, 2]\n", 3, 3, "a merge key (<<) takes a mapping"),
    ("a: 1\n---\nb: 2\n", 2, 1, "only one YAML document"),
    ("a: [1\n", 2, 1, "did not find expected ',' or ']'"),
    ("a: 1\nitems:\n  - 5\n", 3, 5, "each entry of items must be a mapping"),
    ("? [a]\n: 1\n", 1, 3, "only plain keys"),
    ("a: 1\nb: x\x07\n", 2, 5, "control characters are not allowed"),
])
def test_parse_errors_carry_line_and_column(text: str, line: int, col: int, fragment: str) -> None:
    with pytest.raises(yamldoc.DocError) as err:
        yamldoc.parse(text)
    assert (err.value.line, err.value.column) == (line, col)
    assert fragment in err.value.message


# --- index and splices ---------------------------------------------------------------------------
def test_entries_know_where_their_value_stands() -> None:
    text = "prefix: WRK  # the prefix\nitems:\n  - id: WRK-001\n    title: 'x y'\n    notes: |\n" \
           "      a\n      b\n    size:\n"
    doc = yamldoc.parse(text)
    e = doc.items[0].entries
    assert text[e["title"].value_start:e["title"].value_end] == "'x y'"
    assert e["notes"].kind == "blockscalar" and e["notes"].value == "a\nb\n"
    assert e["size"].kind == "empty" and e["size"].value is None
    assert (e["title"].line, e["title"].column) == (4, 5)


def test_value_edit_replaces_only_the_value_and_keeps_the_comment() -> None:
    text = "prefix: WRK\nk: 'old'   # keep me\nz: 1\n"
    doc = yamldoc.parse(text)
    new = splicer.apply_edits(text, [splicer.value_edit(text, doc.root.entries["k"], "n o", 0)])
    assert new == "prefix: WRK\nk: n o   # keep me\nz: 1\n"


def test_block_scalar_replaced_by_a_block_or_an_inline_value() -> None:
    text = "a: |\n  one\n  two\nb: 1\n"
    doc = yamldoc.parse(text)
    new = splicer.apply_edits(text, [splicer.value_edit(text, doc.root.entries["a"], "x\ny", 0)])
    assert new == "a: |-\n  x\n  y\nb: 1\n"
    assert yamldoc.parse(new).root.values() == {"a": "x\ny", "b": 1}
    new = splicer.apply_edits(text, [splicer.value_edit(text, doc.root.entries["a"], "z", 0)])
    assert new == "a: z\nb: 1\n"


def test_multi_line_text_is_a_literal_block_unless_a_comment_follows() -> None:
    text = "a: one   \nb: two  # mine\nc:\n"
    doc = yamldoc.parse(text)
    e = doc.root.entries
    new = splicer.apply_edits(text, [splicer.value_edit(text, e["a"], "x\n\n  y\n", 0),
                                     splicer.value_edit(text, e["b"], "p\nq", 1),
                                     splicer.value_edit(text, e["c"], " lead\nz\n\n", 2)])
    assert new == 'a: |\n  x\n\n    y\nb: "p\\nq"  # mine\nc: |2+\n   lead\n  z\n\n'
    assert yamldoc.parse(new).root.values() == {"a": "x\n\n  y\n", "b": "p\nq",
                                                "c": " lead\nz\n\n"}


@pytest.mark.parametrize("value", ["one line", "a\r\nb", "a\n  \nb", "\tx\ny", "\n\n", "a\x85b\n"])
def test_text_a_block_cannot_hold_exactly_is_quoted(value: str) -> None:
    assert yamlvalues.render_block(value, 0) is None


def test_overlapping_edits_are_refused() -> None:
    with pytest.raises(ValueError, match="overlapping"):
        splicer.apply_edits("abcdef", [splicer.Edit(0, 0, 3, "x"), splicer.Edit(2, 1, 4, "y")])


def test_newline_style_is_that_of_the_first_line() -> None:
    assert yamldoc.newline_of("a: 1\r\nb: 2\r\n") == "\r\n"
    assert yamldoc.newline_of("a: 1\nb: 2\r\n") == "\n"
    assert yamldoc.newline_of("a: 1") == "\n"


# --- the reader against an independent one -------------------------------------------------
def normalized(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [normalized(v) for v in value]
    if isinstance(value, dict):
        return {str(k): normalized(v) for k, v in value.items()}
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    TEXTS)
# Keys are field names: we keep them as written, where a YAML reader would resolve `08`.
KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True).filter(
    lambda k: yamlvalues.resolve_plain(k) == k and k not in ("y", "n", "yes", "no", "on", "off"))
DOCS = st.dictionaries(KEYS,
                       st.one_of(SCALARS, st.lists(SCALARS, max_size=3)), min_size=1,
                       max_size=5)


@SETTINGS
@given(DOCS, st.sampled_from([None, "'", '"', "|", ">"]), st.booleans())
def test_reader_agrees_with_ruamel_yaml_1_2_on_any_dumped_document(
        data: dict[str, object], style: str | None, flow: bool) -> None:
    """Our event-based reader gives the same values as ruamel.yaml's YAML 1.2 loader, for
    documents PyYAML writes in every scalar style, block or flow."""
    text = yaml.safe_dump(data, default_style=style, default_flow_style=flow,
                          allow_unicode=True, sort_keys=False)
    if any(c in text for c in "\x85\u2028\u2029"):
        return  # line breaks in YAML 1.1 (libyaml) but not in 1.2 (ruamel): they differ
    try:
        expected = normalized(ruamel12(text))
    except Exception:  # ruamel refuses a few YAML 1.1-isms PyYAML writes (`=`); not our case
        return
    try:
        got = yamldoc.parse(text).root.values()
    except yamldoc.DocError as exc:
        # Only documents outside what BACKLOG.yaml allows may be refused.
        assert flow or "only plain keys" in exc.message, exc.message
        return
    assert normalized(got) == expected


@SETTINGS
@given(TEXTS, st.integers(2, 8))
def test_any_text_as_a_mapping_value_reads_back_identically(s: str, col: int) -> None:
    """Multi-line text becomes a literal block where that is exact, else a quoted line;
    either way all three readers read the same text back."""
    pad = " " * col
    text = f"top:\n{pad}k: {yamlvalues.render_value(s, col)}\n{pad}after: 1\n"
    assert yamldoc.parse(text).root.values()["top"] == {"k": s, "after": 1}
    assert same(ruamel12(text)["top"]["k"], s)
    assert same(yaml.safe_load(text)["top"]["k"], s)


@pytest.mark.parametrize("title", ["+_", "-_", "0o_", "0x_", "0b_", "_1", "+1_0", "._", "1_000"])
def test_number_like_titles_read_back_as_text_in_every_reader(title: str) -> None:
    """Titles some reader takes for a number (ruamel's 1.2 int pattern allows `_` alone
    after a sign) are quoted, so no reader crashes on them or changes them."""
    text = f"prefix: WRK\nk: {yamlvalues.render_scalar(title)}\n"
    assert yamldoc.parse(text).root.values()["k"] == title
    assert ruamel12(text)["k"] == title
    assert yaml.safe_load(text)["k"] == title


# --- the splicing writer -----------------------------------------------------------------------
EDITABLE = ("# top\nschema_version: 1\nprefix: WRK  # ours\nitems:\n  - id: WRK-001\n"
            "    title: a   # kept\n    status: new\n  - {id: WRK-002, title: b, status: new}\n"
            "  # after\n")


def test_editor_sets_and_inserts_keys_in_place() -> None:
    ed = splicer.SpliceWriter(yamldoc.parse(EDITABLE))
    ed.change_item("WRK-001", {"title": "no", "size": "small"})
    assert ed.text() == EDITABLE.replace("title: a ", 'title: "no" ').replace(
        "status: new\n  - {", "status: new\n    size: small\n  - {")


def test_editor_rewrites_a_changed_flow_item_in_block_style() -> None:
    ed = splicer.SpliceWriter(yamldoc.parse(EDITABLE))
    ed.change_item("WRK-002", {"status": "ready"})
    assert ed.text().endswith("  - id: WRK-002\n    title: b\n    status: ready\n  # after\n")


def test_editor_adds_items_after_the_last_and_deletes_only_an_items_lines() -> None:
    ed = splicer.SpliceWriter(yamldoc.parse(EDITABLE))
    ed.delete_item("WRK-001")
    ed.add_items([{"id": "WRK-003", "title": "c", "status": "new"}])
    assert ed.text() == ("# top\nschema_version: 1\nprefix: WRK  # ours\nitems:\n"
                         "  - {id: WRK-002, title: b, status: new}\n"
                         "  - id: WRK-003\n    title: c\n    status: new\n  # after\n")


def test_editor_sets_top_level_keys_in_place_or_on_a_line_of_their_own() -> None:
    ed = splicer.SpliceWriter(yamldoc.parse("# top\nprefix: WRK\nnext_id: 2\nitems: []\n"))
    assert not ed.has_top("schema_version") and ed.has_top("next_id")
    ed.set_top("schema_version", 1, before="prefix")
    ed.set_top("next_id", 3, after=("prefix",))
    ed.set_top("owner", "ann", after=("prefix",))
    assert ed.text() == "# top\nschema_version: 1\nprefix: WRK\nowner: ann\nnext_id: 3\nitems: []\n"


def test_editor_writes_an_empty_or_flow_list_out_as_a_block_list() -> None:
    doc = yamldoc.parse("prefix: WRK\nitems: [{id: WRK-001, title: a, status: new}]  # mine\n")
    ed = splicer.SpliceWriter(doc)
    ed.change_item("WRK-001", {"status": "ready"})
    ed.add_items([{"id": "WRK-002", "title": "b", "status": "new"}])
    assert ed.text() == ("prefix: WRK\nitems:  # mine\n  - id: WRK-001\n    title: a\n"
                         "    status: ready\n  - id: WRK-002\n    title: b\n    status: new\n")
    ed = splicer.SpliceWriter(doc)
    ed.delete_item("WRK-001")
    assert ed.text() == "prefix: WRK\nitems: []  # mine\n"


def test_editor_keeps_crlf_line_endings() -> None:
    ed = splicer.SpliceWriter(yamldoc.parse(EDITABLE.replace("\n", "\r\n")))
    ed.change_item("WRK-001", {"notes": "x\ny"})
    out = ed.text()
    assert out.count("\n") == out.count("\r\n")
    assert "    notes: |-\r\n      x\r\n      y\r\n" in out


def test_a_key_added_above_a_flow_item_that_is_rewritten_in_one_go() -> None:
    """An insert at the start of a replaced range goes before it, whatever the order asked."""
    ed = splicer.SpliceWriter(yamldoc.parse(EDITABLE))
    ed.change_item("WRK-002", {"title": "c"})
    ed.change_item("WRK-001", {"size": "small"})
    out = ed.text()
    assert "    status: new\n    size: small\n  - id: WRK-002\n    title: c\n" in out
    assert yamldoc.parse(out).items[0].values()["size"] == "small"
