"""The BACKLOG.yaml store: validated snapshots and locked, atomic transactions.

Every change is `with store.transaction() as tx: ...`: take the store lock,
re-read the file (free when its bytes are unchanged since our last parse),
apply the changes as text splices, re-parse and validate the result, write it
atomically, release. The board, the CLI and a pipeline in another process
therefore never lose each other's updates, and an invalid file is never
overwritten. A run goes through a tolerant view (`BacklogStore.tolerant`): a file a
person saved broken reads as the last good snapshot, and writes wait for the fix.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from app.backlog import cache as backlog_cache
from app.backlog import yamldoc
from app.backlog.atomic import atomic_write, clean_stale_temps
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
from app.backlog.validate import SCHEMA_VERSION, validate
from app.errors import BacklogError, OrchestrateError, UnknownItemError

LOCK_TIMEOUT_S = 15.0
POLL_S = 0.25
"""How often a tolerant view's write looks whether a broken file parses again."""


# --- the store -------------------------------------------------------------------------------
@dataclass
class _Parsed:
    data: bytes
    doc: yamldoc.Document
    backlog: Backlog
    bom: bool = False
    """The file starts with a UTF-8 byte order mark (kept on write)."""


@dataclass
class _Snapshots:
    """What a store shares with its tolerant views: the last parse, and a snapshot read
    back from the cache (bytes, backlog: no index, reads only)."""

    parsed: _Parsed | None = None
    kept: tuple[bytes, Backlog] | None = None


class _Tolerance:
    """A tolerant view's state (`BacklogStore.tolerant`); changed under the store's mutex,
    its callbacks called outside it."""

    def __init__(self, on_broken: Callable[[str], None], should_stop: Callable[[], bool],
                 on_fixed: Callable[[], None] | None) -> None:
        self.on_broken = on_broken
        self.should_stop = should_stop
        self.on_fixed = on_fixed
        self.good: Backlog | None = None
        """The newest snapshot this view read or wrote: what a broken file reads as."""
        self.broken: tuple[bytes, str] | None = None
        """The broken bytes met last and their error: not parsed again while unchanged."""
        self.told: str | None = None
        """The error `on_broken` heard last; None while the file parses."""

    def news(self, error: str | None) -> Callable[[], None] | None:
        """What to tell now that the file reads so (`error`, or None: it parses): each
        error once, and the fix once; None when nothing changed."""
        if error == self.told:
            return None
        before, self.told = self.told, error
        if error is not None:
            on_broken = self.on_broken
            return lambda: on_broken(error)
        return self.on_fixed if before is not None else None


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


class BacklogStore:
    """Reads and changes one BACKLOG.yaml. Safe across threads and processes."""

    def __init__(self, path: Path, lock_path: Path | None = None) -> None:
        self.path = Path(path)
        self.lock_path = lock_path or self.path.parent / ".orchestrator" / "backlog.lock"
        self._snaps = _Snapshots()
        self._mutex = threading.RLock()
        self._held = threading.local()
        self._tolerance: _Tolerance | None = None
        """Only in a view `tolerant` made."""

    def tolerant(self, on_broken: Callable[[str], None], should_stop: Callable[[], bool],
                 on_fixed: Callable[[], None] | None = None) -> BacklogStore:
        """A view of this store for a long-lived reader (a run) that goes on while a person
        has saved BACKLOG.yaml broken (a half-typed edit, a stray tab):

        - `load()` returns the newest snapshot this view read or wrote while the file does
          not parse or validate (with none yet, the error is raised as ever);
        - `transaction()` first waits until the file parses, looking every POLL_S with the
          store lock free (the person's editor may save), then changes the fixed file as
          any transaction does; when `should_stop()` turns true meanwhile, OrchestrateError
          and nothing is written;
        - `on_broken(error)` hears each error once (again only after another error or the
          fix), `on_fixed()` that the file parses again.

        A missing or unreadable file is not a broken one: its error is raised as ever.

        Tolerance is the view's, not the store's or a thread's: the view shares the store's
        path, locks and snapshots, and only who holds the view (every thread of the run,
        its lanes too) is given the last good copy. Who holds the store itself (the board's
        UI thread and workers, which show the error in a banner over the last good view on
        their own; `orchestrate add`) still gets the error at once, never a stale snapshot
        it did not ask for.
        """
        view = copy.copy(self)  # shares _snaps, _mutex and _held: the same store underneath
        view._tolerance = _Tolerance(on_broken, should_stop, on_fixed)
        return view

    # reading ---------------------------------------------------------------------------------
    def read_bytes(self) -> bytes:
        """The file's bytes; BacklogError when it is missing or unreadable."""
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            raise BacklogError(
                f"{self.path.name} not found in {self.path.parent}: run `orchestrate init` "
                "to create one"
            ) from None
        except OSError as exc:
            raise BacklogError(f"{self.path.name}: cannot read: {exc.strerror}") from None

    def load(self) -> Backlog:
        """A validated snapshot; parsed again only when the file's bytes changed.

        Another process may have parsed these very bytes already: its snapshot is read
        back from the cache (app/backlog/cache.py) instead. A transaction parses anyway.
        A tolerant view reads a broken file as its last good snapshot (`tolerant`).
        """
        tolerance = self._tolerance
        with self._mutex:
            data = self.read_bytes()
            if tolerance is None:
                return self._load(data)
            backlog, error = self._probe(data, tolerance)
            if backlog is None:
                backlog = tolerance.good
                if backlog is None:  # nothing good to go on from: as ever
                    raise BacklogError(error)
            news = tolerance.news(error or None)
        if news is not None:
            news()
        return backlog

    def _load(self, data: bytes) -> Backlog:
        known = self._known(data)
        if known is not None:
            return known
        parsed = self._current(data)
        backlog_cache.write(self.path, data, parsed.backlog)
        return parsed.backlog

    def _probe(self, data: bytes, tolerance: _Tolerance) -> tuple[Backlog | None, str]:
        """Under the mutex, in a tolerant view: `data`'s snapshot and "", or None and why
        it does not parse (bytes that failed before are not parsed again)."""
        if tolerance.broken is not None and tolerance.broken[0] == data:
            return None, tolerance.broken[1]
        try:
            backlog = self._load(data)
        except BacklogError as exc:
            tolerance.broken = (data, str(exc))
            return None, str(exc)
        tolerance.broken = None
        tolerance.good = backlog
        return backlog, ""

    def load_without_parsing(self) -> Backlog | None:
        """The snapshot if it needs no parse (parsed here before, or kept by another
        process), else None: cheap at any size, so the board may call it on its UI thread.
        BacklogError when the file is missing or unreadable."""
        with self._mutex:
            return self._known(self.read_bytes())

    def _known(self, data: bytes) -> Backlog | None:
        snaps = self._snaps
        if snaps.parsed is not None and snaps.parsed.data == data:
            return snaps.parsed.backlog
        if snaps.kept is not None and snaps.kept[0] == data:
            return snaps.kept[1]
        kept = backlog_cache.read(self.path, data)
        if kept is not None:
            snaps.kept = (data, kept)
        return kept

    def _current(self, data: bytes | None = None) -> _Parsed:
        if data is None:
            data = self.read_bytes()
        known = self._snaps.parsed
        if known is not None and known.data == data:
            return known
        parsed = self._parse(data)
        self._snaps.parsed = parsed
        return parsed

    def _parse(self, data: bytes) -> _Parsed:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise BacklogError(f"{self.path.name}:{line}: not UTF-8 text ({exc.reason}); "
                               "save the file as UTF-8") from None
        bom = text.startswith("\ufeff")
        if bom:
            text = text[1:]
        try:
            doc = yamldoc.parse(text)
        except yamldoc.DocError as exc:
            raise BacklogError(f"{self.path.name}:{exc.line}:{exc.column}: {exc.message}") \
                from None
        return _Parsed(data, doc, validate(doc, self.path), bom)

    # writing ---------------------------------------------------------------------------------
    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store lock (a short one: only around read-apply-write)."""
        # here, not at the top: `orchestrate status` never locks
        import portalocker

        from app.backlog.locking import lock_exclusive

        if getattr(self._held, "on", False):
            # flock would wait on ourselves for LOCK_TIMEOUT_S; say what is wrong at once.
            raise OrchestrateError("internal error: a BACKLOG.yaml transaction inside another "
                                   "one on the same store; change both in one transaction")
        try:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(self.lock_path, "a")  # noqa: SIM115 (closed below)
        except OSError as exc:
            raise OrchestrateError(f"cannot open the store lock {self.lock_path}: "
                                   f"{exc.strerror}") from None
        with self._mutex, fh:
            if not lock_exclusive(fh, LOCK_TIMEOUT_S, 0.002):
                raise OrchestrateError(
                    f"{self.lock_path} stayed locked for {LOCK_TIMEOUT_S:.0f} s; "
                    "is another orchestrate process stuck?")
            self._held.on = True
            try:
                yield
            finally:
                self._held.on = False
                portalocker.unlock(fh)

    @contextmanager
    def _locked_current(self) -> Iterator[_Parsed]:
        """The store lock held and the file as it is now. A tolerant view first waits, the
        lock free, until the file parses (`tolerant`)."""
        tolerance = self._tolerance
        while True:
            if tolerance is not None:
                self._wait_until_it_parses(tolerance)
            with self.locked():
                clean_stale_temps(self.path)
                try:
                    parsed = self._current()
                except BacklogError:
                    if tolerance is None:
                        raise
                    continue  # broken again since the wait (or gone: the wait raises that)
                yield parsed
                return

    def _wait_until_it_parses(self, tolerance: _Tolerance) -> None:
        """Return once the file parses, looking every POLL_S without the store lock;
        OrchestrateError (nothing written) once `should_stop()`."""
        while True:
            with self._mutex:
                backlog, error = self._probe(self.read_bytes(), tolerance)
                news = tolerance.news(error or None)
            if news is not None:
                news()
            if backlog is not None:
                return
            if tolerance.should_stop():
                raise OrchestrateError(f"{error}; a change waiting for {self.path.name} to "
                                       "parse again was not written (the wait was ended)")
            time.sleep(POLL_S)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Lock, re-read, let the caller change things, validate, write atomically. In a
        tolerant view it first waits until the file parses (`tolerant`)."""
        with self._locked_current() as parsed:
            tx = Transaction(parsed.backlog, parsed.doc)
            yield tx
            if not tx.dirty:
                return
            try:
                text = tx.render()
            except yamldoc.DocError as exc:  # the round-trip writer could not load it
                raise BacklogError(f"{self.path.name}:{exc.line}:{exc.column}: "
                                   f"{exc.message}") from None
            data = (("\ufeff" if parsed.bom else "") + text).encode("utf-8")
            if parsed.doc.roundtrip:
                new = self._check_roundtrip(data, tx, parsed.doc)
            else:
                try:
                    new = self._parse(data)
                except BacklogError as exc:  # a bug of ours: never write it
                    raise OrchestrateError(f"internal error, {self.path.name} left unchanged: "
                                           f"{exc}") from None
                tx.verify(new.backlog)
            try:
                atomic_write(self.path, data)
            except OSError as exc:
                raise OrchestrateError(f"cannot write {self.path.name}: {exc.strerror}; "
                                       "it was left as it was") from None
            self._snaps.parsed = new
            if self._tolerance is not None:
                self._tolerance.good = new.backlog
            tx.result = new.backlog
            backlog_cache.write(self.path, data, new.backlog)  # for the next reader

    def _check_roundtrip(self, data: bytes, tx: Transaction, old: yamldoc.Document) -> _Parsed:
        """Parse and check what ruamel.yaml wrote. What it cannot write back (values shared
        in ways a change cannot keep apart, or a case ruamel gets wrong) is refused with
        the reason, and the file stays as it was."""
        why = (f"{self.path.name} left unchanged: its anchors, aliases or merge keys "
               f"({old.roundtrip}) are written through ruamel.yaml, and")
        try:
            new = self._parse(data)
        except BacklogError as exc:
            raise OrchestrateError(f"{why} what it wrote does not read back ({exc})") from None
        try:
            tx.verify(new.backlog)
        except OrchestrateError:
            raise OrchestrateError(f"{why} this change would also change another item that "
                                   "shares a value with it; write that value out") from None
        if _shared(old) != _shared(new.doc):
            raise OrchestrateError(f"{why} this change would also change a top-level value "
                                   "that shares it; write that value out") from None
        return new

    # conveniences ------------------------------------------------------------------------------
    def update(self, item_id: str, **changes: Any) -> Item:
        """Change fields of one item in its own transaction."""
        with self.transaction() as tx:
            tx.set(item_id, **changes)
        return self.load().get(item_id)

    def add(self, title: str, **fields: Any) -> Item:
        """Add one item in `new` (or the given status) in its own transaction."""
        with self.transaction() as tx:
            item = tx.add(title, **fields)
        return item


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
        """Where those lines stood (yamldoc.item_spot)."""
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
        return yamldoc.item_text(self.doc, item_id)

    def item_spot(self, item_id: str) -> tuple[str | None, int] | None:
        """Where an item's lines stand in the file now (yamldoc.item_spot), to put it back
        there later; None where item_text is None."""
        if self.doc.roundtrip or item_id not in self.base.by_id:
            return None
        return yamldoc.item_spot(self.doc, item_id)

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
        text (yamldoc.Editor), or ruamel.yaml's round trip for what splices cannot edit."""
        editor: DocumentEditor
        if self.doc.roundtrip:
            from app.backlog import roundtrip  # ruamel.yaml: imported only for such a file

            editor = roundtrip.Editor(self.doc)
        else:
            editor = yamldoc.Editor(self.doc)
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


def _shared(doc: yamldoc.Document) -> str:
    """The top-level values other than the ones a transaction writes, for comparison (repr:
    a NaN equals itself)."""
    return repr({k: v for k, v in doc.root.values().items()
                 if k not in ("items", "next_id", "schema_version")})


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
