"""Property tests of the store: hand-written text survives any transactions (checked against
ruamel.yaml's YAML 1.2 load as an independent oracle), and random transaction sequences agree
with a plain in-memory model."""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from ruamel.yaml import YAML

from app.backlog import states, yamldoc
from app.backlog.model import KNOWN_FIELDS, PHASES, STATUSES, format_id
from app.backlog.store import BacklogStore
from app.engine import actions
from app.errors import TransitionError

STAMP = "2026-11-24T12:00:00Z"

# A file as a person might write it: comments everywhere, odd quoting and order, a block
# scalar, a flow item, unknown keys, blank lines, a trailing document comment.
HAND_WRITTEN = """\
# My backlog -- edited by hand and by orchestrate
schema_version: 1   # do not touch
prefix: WRK
owner: "ann"        # an unknown top-level key
items:
  # --- first the urgent ones ---
  - id: WRK-001
    title: 'Login: the "new" one'   # a title with a colon
    status: ready
    size: small
    notes: |
      Keep the old form.
      It's "fine".
    estimate: 3d
  - status: new           # keys in an odd order
    id: WRK-002
    title: no
    depends_on: [WRK-001]

  - {id: WRK-003, title: "flow # style", status: scoped, risk: low}
  # trailing comment inside the list
  - id: WRK-004
    title: >-
      folded
      title
    status: blocked
    blocked_reason: "waiting: on design"
    blocked_from: ready
# the end
"""

FIELDS = {
    "title": st.text(min_size=1, max_size=30).filter(lambda s: s.strip() != ""),
    "status": st.sampled_from(STATUSES),
    "size": st.sampled_from([None, "small", "medium", "large"]),
    "notes": st.one_of(st.none(), st.text(max_size=40)),
    "blocked_reason": st.one_of(st.none(), st.text(max_size=20)),
    "estimate": st.one_of(st.text(max_size=10), st.integers(), st.booleans(),
                          st.lists(st.text(max_size=5), max_size=3)),
    "depends_on": st.lists(st.sampled_from(["WRK-001", "WRK-002", "X-100"]), max_size=3),
    "phase": st.sampled_from([None, *PHASES]),
}
# A flow list of items and an empty `items:`: rewritten as a block list on the first change.
FLOW_LIST = """\
schema_version: 1
prefix: WRK   # ours
items: [{id: WRK-001, title: 'a, b', status: new, k: [1, 2]},
        {id: WRK-002, title: "no", status: ready}]  # the list
after: kept
"""
EMPTY_ITEMS = "# nothing yet\nprefix: WRK\nschema_version: 1\nitems:\n# below\n"
BASES = st.sampled_from([HAND_WRITTEN, FLOW_LIST, EMPTY_ITEMS])

OPS = st.lists(st.one_of(
    st.tuples(st.just("set"), st.integers(0, 9), st.sampled_from(sorted(FIELDS)),
              st.data()),
    st.tuples(st.just("add"), st.text(min_size=1, max_size=20).filter(str.strip)),
    st.tuples(st.just("delete"), st.integers(0, 9)),
), min_size=1, max_size=10)


def oracle(text: str) -> dict[str, Any]:
    """ruamel.yaml's YAML 1.2 reading, timestamps as the strings we write."""
    y = YAML(typ="safe", pure=True)
    y.version = (1, 2)
    data = y.load(io.StringIO(text))

    def norm(v: Any) -> Any:
        if isinstance(v, dt.datetime):
            return v.strftime("%Y-%m-%dT%H:%M:%SZ")
        if isinstance(v, list):
            return [norm(x) for x in v]
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        return v
    read: dict[str, Any] = norm(data)
    return read


def is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(any(line == b for b in it) for line in small)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ops=OPS, crlf=st.booleans(), base=BASES, bom=st.booleans())
def test_hand_written_text_survives_any_transactions(ops: list[Any], crlf: bool, base: str,
                                                     bom: bool) -> None:
    """Property (b): after any sequence of transactions, every line nobody changed is still
    there byte for byte (in order), and the file reads (by ruamel.yaml 1.2) as exactly the
    data the transactions meant."""
    nl = "\r\n" if crlf else "\n"
    original = base.replace("\n", nl)
    with tempfile.TemporaryDirectory() as tmp, \
            mock.patch("app.backlog.transaction.now_iso", lambda: STAMP):
        path = Path(tmp) / "BACKLOG.yaml"
        path.write_bytes(("\ufeff" if bom else "").encode() + original.encode())
        store = BacklogStore(path)
        doc = yamldoc.parse(original)
        expect = oracle(original)
        if expect["items"] is None:
            expect["items"] = []
        items: list[dict[str, Any]] = expect["items"]
        dropped_lines: set[int] = set()  # 0-based lines of the original that may change
        items_entry = doc.root.entries["items"]
        if items_entry.kind != "block":  # the whole list is rewritten on the first change
            last = original.count("\n", 0, max(items_entry.value_end - 1, items_entry.key_end))
            list_lines = set(range(items_entry.line - 1, last + 1))
        else:
            list_lines = set()
        first_line = {str(ix.entries["id"].value): ix for ix in doc.items}

        def item_lines(ix: yamldoc.MapIndex) -> range:
            return range(ix.line - 1, original.count("\n", 0, ix.content_end - 1) + 1)

        for op in ops:
            if op[0] == "add" or items:
                dropped_lines |= list_lines
            if op[0] == "add":
                with store.transaction() as tx:
                    new = tx.add(op[1])
                items.append({"id": new.id, "title": " ".join(op[1].split()), "status": "new",
                              "phase": None, "size": None, "complexity": None, "risk": None,
                              "depends_on": [], "blocked_reason": None, "blocked_from": None,
                              "notes": None, "created": STAMP, "updated": STAMP})
                expect["next_id"] = int(new.id.split("-")[1]) + 1
                continue
            if not items:
                continue
            target = items[op[1] % len(items)]
            ix = first_line.get(target["id"])
            if op[0] == "delete":
                with store.transaction() as tx:
                    tx.delete(target["id"])
                items.remove(target)
                expect["next_id"] = store.load().next_number
                if ix is not None:
                    dropped_lines.update(item_lines(ix))
                if not items:  # `items:` becomes `items: []`
                    dropped_lines.add(doc.root.entries["items"].line - 1)
                continue
            key, data = op[2], op[3]
            value = data.draw(FIELDS[key])
            with store.transaction() as tx:
                tx.set(target["id"], touch=False, **{key: value})
            target[key] = value
            if ix is not None:
                entry = ix.entries.get(key)
                if ix.flow:
                    dropped_lines.update(item_lines(ix))
                elif entry is not None:
                    last = original.count("\n", 0, max(entry.value_end - 1, entry.value_start))
                    dropped_lines.update(range(entry.line - 1, last + 1))
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") == bom
        final = raw.decode("utf-8-sig")
        got = oracle(final)
        if got.get("items") is None and "items" in got:
            got["items"] = []
        assert got == expect
        if crlf:
            assert final.count("\n") == final.count("\r\n")
        kept = [line for n, line in enumerate(original.split(nl)) if n not in dropped_lines]
        assert is_subsequence(kept, final.split(nl)), "an untouched line changed"


# --- random transaction sequences against an in-memory model -------------------------------------
class StoreMachine(RuleBasedStateMachine):
    """Property (c): adds, sets, deletes, state-machine moves, moves in the backlog's order
    and deleted items put back agree with a dict model."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        path = Path(self.tmp.name) / "BACKLOG.yaml"
        path.write_text("# kept\nschema_version: 1\nprefix: T\nnext_id: 1\nitems: []\n")
        self.store = BacklogStore(path)
        self.model: dict[str, dict[str, Any]] = {}
        self.next = 1
        self.issued: list[str] = []
        self.order: list[str] = []
        self.gone: dict[str, tuple[Any, str | None, Any]] = {}
        """Deleted items: the item and its lines, to put back."""

    def teardown(self) -> None:
        self.tmp.cleanup()

    @rule(title=st.text(min_size=1, max_size=15).filter(str.strip),
          size=st.sampled_from([None, "small", "large"]))
    def add(self, title: str, size: str | None) -> None:
        with self.store.transaction() as tx:
            item = tx.add(title, **({"size": size} if size else {}))
        want = format_id("T", self.next)
        assert item.id == want
        self.next += 1
        self.issued.append(item.id)
        self.order.append(item.id)
        self.model[item.id] = {"title": " ".join(title.split()), "status": "new", "phase": None,
                               "size": size, "notes": None}

    @precondition(lambda self: self.model)
    @rule(pick=st.integers(0, 99), notes=st.one_of(st.none(), st.text(max_size=30)))
    def set_notes(self, pick: int, notes: str | None) -> None:
        item_id = sorted(self.model)[pick % len(self.model)]
        self.store.update(item_id, notes=notes)
        self.model[item_id]["notes"] = notes

    @precondition(lambda self: self.model)
    @rule(pick=st.integers(0, 99))
    def delete(self, pick: int) -> None:
        item_id = sorted(self.model)[pick % len(self.model)]
        with self.store.transaction() as tx:
            self.gone[item_id] = (tx.get(item_id), tx.item_text(item_id),
                                  tx.item_spot(item_id))
            tx.delete(item_id)
        del self.model[item_id]
        self.order.remove(item_id)

    @precondition(lambda self: self.model)
    @rule(pick=st.integers(0, 99), anchor=st.one_of(st.none(), st.integers(0, 99)))
    def move(self, pick: int, anchor: int | None) -> None:
        item_id = self.order[pick % len(self.order)]
        before = None if anchor is None else self.order[anchor % len(self.order)]
        if before == item_id:
            return
        with self.store.transaction() as tx:
            tx.move(item_id, before)
        self.order.remove(item_id)
        self.order.insert(self.order.index(before) if before else len(self.order), item_id)

    @precondition(lambda self: self.gone)
    @rule(pick=st.integers(0, 99), anchor=st.one_of(st.none(), st.integers(0, 99)))
    def put_back(self, pick: int, anchor: int | None) -> None:
        item_id = sorted(self.gone)[pick % len(self.gone)]
        item, text, spot = self.gone.pop(item_id)
        before = None if anchor is None or not self.order else \
            self.order[anchor % len(self.order)]
        with self.store.transaction() as tx:
            tx.restore(item, before, text, spot)
        self.order.insert(self.order.index(before) if before else len(self.order), item_id)
        self.model[item_id] = {k: getattr(item, k) for k in ("title", "status", "phase",
                                                             "size", "notes")}

    @precondition(lambda self: self.model)
    @rule(pick=st.integers(0, 99), to=st.sampled_from(STATUSES + PHASES),
          by_person=st.booleans())
    def advance(self, pick: int, to: str, by_person: bool) -> None:
        item_id = sorted(self.model)[pick % len(self.model)]
        try:
            with self.store.transaction() as tx:
                target = states.parse_target(to, tx.get(item_id))
                item = actions.move_in(tx, item_id, target, by_person=by_person,
                                       reason="because")
        except TransitionError:
            return
        self.model[item_id].update(status=item.status, phase=item.phase)

    @invariant()
    def agrees_with_the_model(self) -> None:
        backlog = self.store.load()
        got = {i.id: {"title": i.title, "status": i.status, "phase": i.phase, "size": i.size,
                      "notes": i.notes} for i in backlog.items}
        assert got == self.model
        assert [i.id for i in backlog.items] == self.order
        assert backlog.next_number == self.next
        assert len(set(self.issued)) == len(self.issued)
        for i in backlog.items:
            assert set(i.to_dict()) >= set(KNOWN_FIELDS)
            assert (i.status == "in_progress") == (i.phase is not None) or i.status == "blocked"


StoreMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=12,
                                          deadline=None)
test_random_transaction_sequences_agree_with_a_model = StoreMachine.TestCase
