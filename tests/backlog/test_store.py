"""app/backlog/store.py with validate.py and atomic.py behind it: validation messages, edge-case
files, transactions, ids, writes that fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.backlog.atomic import TEMP_MARK, clean_stale_temps
from app.backlog.store import BacklogStore
from app.errors import BacklogError, OrchestrateError, UnknownItemError

HEAD = "schema_version: 1\nprefix: WRK\n"
ONE = HEAD + "items:\n  - id: WRK-001\n    title: x\n    status: new\n"


def store_with(tmp_path: Path, text: str | bytes) -> BacklogStore:
    path = tmp_path / "BACKLOG.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return BacklogStore(path)


def text_of(store: BacklogStore) -> str:
    return store.path.read_bytes().decode("utf-8")


# --- invalid files: one clear message, never rewritten -----------------------------------------
BAD = {
    "empty file": ("", "BACKLOG.yaml:1:1: the file is empty"),
    "a bare list": ("[]\n", "BACKLOG.yaml:1:1: the top level must be a block mapping"),
    "tab indentation": (HEAD + "items:\n\t- id: WRK-001\n",
                        "BACKLOG.yaml:4:1: a tab: YAML indents with spaces only"),
    "syntax error": (ONE + "    notes: [x\n", "BACKLOG.yaml:8:1: did not find expected"),
    "duplicate id": (ONE + "  - id: WRK-001\n    title: y\n    status: new\n",
                     "BACKLOG.yaml:7:5: duplicate id WRK-001 (first at line 4)"),
    "duplicate key": (ONE + "    title: y\n", "BACKLOG.yaml:7:5: duplicate key 'title'"),
    "unknown status": (ONE.replace("status: new", "status: nope"),
                       "BACKLOG.yaml:6:5: WRK-001: unknown status 'nope' (expected one of: new,"),
    "path-like id": (ONE.replace("WRK-001", "../x"), "BACKLOG.yaml:4:5: invalid id '../x'"),
    "id with a newline": (ONE.replace("id: WRK-001", 'id: "WRK-001\\n"'),
                          "BACKLOG.yaml:4:5: invalid id 'WRK-001\\n'"),
    "newer schema": (ONE.replace("schema_version: 1", "schema_version: 2"),
                     "BACKLOG.yaml:1:1: schema_version 2 is newer than this orchestrate "
                     "understands (1); upgrade orchestrate"),
    "no prefix": ("schema_version: 1\nitems: []\n", "BACKLOG.yaml:1: no prefix"),
    "alias without its anchor": (HEAD + "x: 1\ny: *a\n",
                                 "BACKLOG.yaml:4:4: the alias *a names no anchor before it"),
    "merge of a scalar": (ONE + "    <<: *t\n".replace("*t", "&t x"),
                          "BACKLOG.yaml:7:5: a merge key (<<) takes a mapping"),
    "item not a mapping": (HEAD + "items:\n  - WRK-001\n",
                           "BACKLOG.yaml:4:5: each entry of items must be a mapping"),
    "items a mapping": (HEAD + "items:\n  a: 1\n", "BACKLOG.yaml:3:1: items must be a list"),
    "title missing": (HEAD + "items:\n  - id: WRK-001\n    status: new\n",
                      "BACKLOG.yaml:4:5: WRK-001 has no title"),
    "bad phase": (ONE + "    phase: deploy\n", "BACKLOG.yaml:7:5: WRK-001: unknown phase 'deploy'"),
    "bad size": (ONE + "    size: huge\n", "BACKLOG.yaml:7:5: WRK-001: size must be one of"),
    "bad depends_on": (ONE + "    depends_on: [../x]\n", "BACKLOG.yaml:7:5: WRK-001: depends_on"),
    "two documents": (ONE + "---\na: 1\n", "BACKLOG.yaml:7:1: only one YAML document"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_invalid_file_gives_one_located_message_and_is_never_rewritten(
        tmp_path: Path, case: str) -> None:
    text, message = BAD[case]
    store = store_with(tmp_path, text)
    with pytest.raises(BacklogError) as err:
        store.load()
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value).rstrip("\n").replace("\\n", "")
    with pytest.raises(BacklogError), store.transaction() as tx:
        tx.add("never written")
    assert store.path.read_bytes() == text.encode()


def test_non_utf8_bytes_name_the_line(tmp_path: Path) -> None:
    store = store_with(tmp_path, ONE.replace("title: x", "title: caf\xe9").encode("latin-1"))
    with pytest.raises(BacklogError, match=r"^BACKLOG.yaml:5: not UTF-8 text"):
        store.load()


def test_missing_file_says_to_run_init(tmp_path: Path) -> None:
    with pytest.raises(BacklogError, match="run `orchestrate init`"):
        BacklogStore(tmp_path / "BACKLOG.yaml").load()


def test_unknown_keys_are_warnings_and_survive_writes(tmp_path: Path) -> None:
    store = store_with(tmp_path, HEAD + "owner: ann\nitems:\n  - id: WRK-001\n    title: x\n"
                                        "    status: new\n    estimate: 3d  # mine\n")
    b = store.load()
    assert any("unknown top-level key 'owner'" in w for w in b.warnings)
    assert any("WRK-001: unknown key 'estimate'" in w for w in b.warnings)
    assert b.items[0].extra == {"estimate": "3d"}
    store.update("WRK-001", status="ready")
    assert "owner: ann\n" in text_of(store) and "    estimate: 3d  # mine\n" in text_of(store)
    assert store.load().items[0].extra == {"estimate": "3d"}


def test_unknown_item_suggests_close_ids(tmp_path: Path) -> None:
    store = store_with(tmp_path, ONE)
    with pytest.raises(UnknownItemError, match=r"no item 'WRK-01'; did you mean WRK-001"):
        store.load().get("WRK-01")
    with pytest.raises(UnknownItemError, match="did you mean WRK-001"), \
            store.transaction() as tx:
        tx.get("wrk-0001")


# --- edge-case files: written back sensibly -----------------------------------------------------
def test_crlf_file_stays_crlf_after_inserts_and_appends(tmp_path: Path) -> None:
    store = store_with(tmp_path, ONE.replace("\n", "\r\n"))
    with store.transaction() as tx:
        tx.set("WRK-001", notes="a\nb", status="ready")
        tx.add("second")
    raw = store.path.read_bytes()
    assert raw.count(b"\n") == raw.count(b"\r\n")
    assert [i.status for i in store.load().items] == ["ready", "new"]


def test_bom_is_kept(tmp_path: Path) -> None:
    store = store_with(tmp_path, "\ufeff" + ONE)
    store.add("second")
    assert store.path.read_bytes().startswith(b"\xef\xbb\xbfschema_version: 1\n")
    assert len(store.load().items) == 2


@pytest.mark.parametrize("items", ["items:", "items: ", "items: []", "items: null",
                                   "items: []  # none yet", "items:\n"])
def test_adding_to_an_empty_items_list(tmp_path: Path, items: str) -> None:
    store = store_with(tmp_path, HEAD + items)
    store.add("first")
    store.add("second")
    assert [i.id for i in store.load().items] == ["WRK-001", "WRK-002"]
    if "#" in items:
        assert "items:  # none yet\n" in text_of(store)


def test_no_items_key_at_all(tmp_path: Path) -> None:
    store = store_with(tmp_path, HEAD)
    store.add("first")
    assert [i.title for i in store.load().items] == ["first"]


def test_block_scalar_notes_replaced(tmp_path: Path) -> None:
    text = ONE + "    notes: |\n      say \"hi\"\n      it's: # fine\n    size: small\n"
    store = store_with(tmp_path, text)
    assert store.load().items[0].notes == "say \"hi\"\nit's: # fine\n"
    store.update("WRK-001", notes='new "quoted"\nand \'single\'')
    item = store.load().items[0]
    assert item.notes == 'new "quoted"\nand \'single\'' and item.size == "small"


def test_flow_items_in_a_block_list_become_block_items_when_changed(tmp_path: Path) -> None:
    text = HEAD + "items:\n  - {id: WRK-001, title: x, status: new, mine: 1}  # flow\n" \
                  "  - {id: WRK-002, title: y, status: new}\n"
    store = store_with(tmp_path, text)
    store.update("WRK-001", status="ready")
    out = text_of(store)
    assert "  - {id: WRK-002, title: y, status: new}\n" in out  # untouched line kept
    assert "# flow" in out
    items = store.load().items
    assert [(i.id, i.status) for i in items] == [("WRK-001", "ready"), ("WRK-002", "new")]
    assert items[0].extra == {"mine": 1}


def test_flow_list_of_items_rewritten_as_a_block_list(tmp_path: Path) -> None:
    store = store_with(tmp_path, HEAD + "items: [{id: WRK-001, title: x, status: new, k: v}]\n")
    with store.transaction() as tx:
        tx.set("WRK-001", status="scoped")
        tx.add("second")
    items = store.load().items
    assert [(i.id, i.status) for i in items] == [("WRK-001", "scoped"), ("WRK-002", "new")]
    assert items[0].extra == {"k": "v"}
    with store.transaction() as tx:
        tx.delete("WRK-001")
    assert [i.id for i in store.load().items] == ["WRK-002"]


def test_comments_between_items_and_odd_key_order_survive(tmp_path: Path) -> None:
    text = HEAD + "items:\n  # first\n  - status: new  # s\n    title: 'x'\n    id: WRK-001\n" \
                  "  # between\n\n  - id: WRK-002\n    title: \"y\"\n    status: new\n# end\n"
    store = store_with(tmp_path, text)
    store.update("WRK-002", status="ready", touch=False)
    assert text_of(store) == text.replace("title: \"y\"\n    status: new",
                                          "title: \"y\"\n    status: ready")
    store.update("WRK-001", status="ready", touch=False)
    assert "  - status: ready  # s\n    title: 'x'\n    id: WRK-001\n" in text_of(store)
    store.add("third")
    assert text_of(store).endswith("# end\n")


def test_file_without_final_newline(tmp_path: Path) -> None:
    store = store_with(tmp_path, ONE.rstrip("\n"))
    store.update("WRK-001", size="small", risk="low")
    assert "\n\n" not in text_of(store)
    assert store.load().items[0].size == "small"


@pytest.mark.parametrize("title", ["no", "yes", "on", "~", "null", "1e3", "0o7", "true",
                                   "a: b # c", "#hash", "- dash", "日本語のタイトル 😀",
                                   "quote ' and \" both", "x" * 5000, "tab\there", "  pad  "])
def test_titles_round_trip_through_add(tmp_path: Path, title: str) -> None:
    store = store_with(tmp_path, HEAD + "items: []\n")
    item = store.add(title)
    assert store.load().get(item.id).title == " ".join(title.split())


def test_hand_written_plain_number_title_reads_as_written(tmp_path: Path) -> None:
    store = store_with(tmp_path, ONE.replace("title: x", "title: 1.10"))
    assert store.load().items[0].title == "1.10"


def test_anchors_on_values_are_accepted(tmp_path: Path) -> None:
    store = store_with(tmp_path, ONE.replace("title: x", "title: &t x"))
    assert store.load().items[0].title == "x"
    store.update("WRK-001", status="ready")
    assert store.load().items[0].status == "ready"


# --- ids and schema ------------------------------------------------------------------------------
def test_ids_are_never_reused_after_a_delete(tmp_path: Path) -> None:
    store = store_with(tmp_path, HEAD + "items: []\n")
    a = store.add("a")
    b = store.add("b")
    with store.transaction() as tx:
        tx.delete(b.id)
    c = store.add("c")
    assert (a.id, b.id, c.id) == ("WRK-001", "WRK-002", "WRK-003")
    assert "next_id: 4\n" in text_of(store)


def test_next_id_skips_hand_written_ids_above_it(tmp_path: Path) -> None:
    store = store_with(tmp_path, ONE.replace("WRK-001", "WRK-007") + "next_id: 3\n")
    assert store.load().next_number == 8
    assert store.add("x").id == "WRK-008"


def test_bad_next_id_is_an_error(tmp_path: Path) -> None:
    store = store_with(tmp_path, HEAD + "next_id: -1\nitems: []\n")
    with pytest.raises(BacklogError, match=r"BACKLOG\.yaml:3:1: next_id must be a positive"):
        store.load()


def test_missing_schema_version_is_a_warning(tmp_path: Path) -> None:
    store = store_with(tmp_path, "prefix: WRK\nitems: []\n")
    assert any("no schema_version" in w for w in store.load().warnings)


# --- transactions -----------------------------------------------------------------------------
def test_an_exception_inside_a_transaction_writes_nothing(tmp_path: Path) -> None:
    store = store_with(tmp_path, ONE)
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.set("WRK-001", status="ready")
        raise RuntimeError("boom")
    assert text_of(store) == ONE


def test_invalid_values_are_refused_before_writing(tmp_path: Path) -> None:
    store = store_with(tmp_path, ONE)
    for bad in ({"status": "nope"}, {"phase": "deploy"}, {"size": "xl"},
                {"depends_on": ["../x"]}):
        with pytest.raises(OrchestrateError), store.transaction() as tx:
            tx.set("WRK-001", **bad)
    assert text_of(store) == ONE
    with pytest.raises(OrchestrateError, match="needs a title"):
        store.add("   ")


def test_a_transaction_sees_changes_another_store_made(tmp_path: Path) -> None:
    one = store_with(tmp_path, ONE)
    two = BacklogStore(one.path)
    one.load()
    two.update("WRK-001", status="ready")
    with one.transaction() as tx:
        assert tx.get("WRK-001").status == "ready"
        tx.set("WRK-001", size="small")
    item = two.load().items[0]
    assert (item.status, item.size) == ("ready", "small")


def test_untouched_lines_stay_byte_identical(tmp_path: Path) -> None:
    text = HEAD + "items:\n  - id: WRK-001   # spaced\n    title: 'single'\n    status: new\n" \
                  "    notes: >\n      folded\n      text\n  - id: WRK-002\n    title: y\n" \
                  "    status: new\n"
    store = store_with(tmp_path, text)
    store.update("WRK-002", status="ready", touch=False)
    before, after = text.splitlines(), text_of(store).splitlines()
    assert [a for a, b in zip(before, after, strict=True) if a != b] == ["    status: new"]


def test_a_noop_transaction_does_not_write(tmp_path: Path) -> None:
    store = store_with(tmp_path, ONE)
    mtime = store.path.stat().st_mtime_ns
    with store.transaction() as tx:
        tx.get("WRK-001")
    assert store.path.stat().st_mtime_ns == mtime


# --- writes ---------------------------------------------------------------------------------------
def test_stale_temp_files_are_removed_by_the_next_transaction(tmp_path: Path) -> None:
    store = store_with(tmp_path, ONE)
    stale = tmp_path / f".BACKLOG.yaml{TEMP_MARK}99999-1"
    stale.write_text("half a file")
    store.update("WRK-001", status="ready")
    assert not stale.exists()
    assert clean_stale_temps(store.path) == []


def test_deleting_every_item_leaves_an_empty_list_and_the_comments(tmp_path: Path) -> None:
    store = store_with(tmp_path, HEAD + "items:  # mine\n  - id: WRK-001\n    title: x\n"
                                        "    status: new\n# end\nother: 1\n")
    with store.transaction() as tx:
        tx.delete("WRK-001")
    assert text_of(store) == HEAD + "next_id: 2\nitems: []  # mine\n# end\nother: 1\n"
    assert store.add("again").id == "WRK-002"


def test_a_file_without_schema_version_gets_one_on_the_next_write(tmp_path: Path) -> None:
    store = store_with(tmp_path, "# mine\nprefix: WRK\nitems: []\n")
    store.add("x")
    assert text_of(store).startswith("# mine\nschema_version: 1\nprefix: WRK\nnext_id: 2\n")
    assert store.load().warnings == ()


def test_an_indented_top_level_mapping_keeps_its_indent(tmp_path: Path) -> None:
    store = store_with(tmp_path, "  prefix: WRK\n  items: []\n")
    store.add("x")
    assert text_of(store).startswith("  schema_version: 1\n  prefix: WRK\n  next_id: 2\n")
    assert [i.id for i in store.load().items] == ["WRK-001"]


def test_ids_are_found_whatever_their_case_inside_a_transaction(tmp_path: Path) -> None:
    store = store_with(tmp_path, ONE)
    with store.transaction() as tx:
        assert tx.set(" wrk-001", status="ready").id == "WRK-001"
    assert [(i.id, i.status) for i in store.load().items] == [("WRK-001", "ready")]
    with store.transaction() as tx:
        tx.delete("wrk-001")
    assert store.load().items == ()


def test_a_transaction_inside_another_on_the_same_store_fails_at_once(tmp_path: Path) -> None:
    store = store_with(tmp_path, ONE)
    with pytest.raises(OrchestrateError, match="inside another one"), store.transaction(), \
            store.transaction():
        pass
    store.update("WRK-001", status="ready")  # the lock was released
    assert store.load().items[0].status == "ready"


def test_a_failed_write_leaves_the_file_and_no_temp_and_says_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = store_with(tmp_path, ONE)

    def full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("app.backlog.atomic.os.fsync", full)
    with pytest.raises(OrchestrateError, match=r"^cannot write BACKLOG\.yaml: No space left"):
        store.add("x")
    assert text_of(store) == ONE
    assert sorted(p.name for p in tmp_path.iterdir()) == [".orchestrator", "BACKLOG.yaml"]


def test_an_unusable_lock_folder_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "BACKLOG.yaml").write_text(ONE)
    (tmp_path / "blocker").write_text("a file where the lock folder should be")
    store = BacklogStore(tmp_path / "BACKLOG.yaml", tmp_path / "blocker" / "backlog.lock")
    with pytest.raises(OrchestrateError, match="cannot open the store lock"):
        store.add("x")


@pytest.mark.parametrize(("written", "title"), [("&t 1e3", "1e3"), ("!!float 1.50", "1.50"),
                                                ("&a !!int 7", "7"), ("true", "true")])
def test_number_like_titles_read_as_written_even_with_anchor_or_tag(
        tmp_path: Path, written: str, title: str) -> None:
    store = store_with(tmp_path, ONE.replace("title: x", f"title: {written}"))
    assert store.load().items[0].title == title


def test_every_caller_shares_one_store_so_actions_do_not_parse_the_file_again(
        tmp_path: Path, parses: list[int]) -> None:
    """Board keys and pipeline phases call `project.store()` each time: they get the same
    store, whose parsed document is reused; only our own writes are parsed (to validate)."""
    from app.engine import actions
    from app.engine.project import Project, init_project

    init_project(tmp_path)
    project = Project(tmp_path)
    assert project.store() is Project(tmp_path).store()
    project.store().load()
    first = len(parses)
    for n in range(3):
        actions.add_item(project, f"item {n}")
    assert len(parses) - first == 3  # one validation parse per write, no re-read
    assert len(project.store().load().items) == 3
