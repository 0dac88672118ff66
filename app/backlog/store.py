"""The BACKLOG.yaml store: validated snapshots and locked, atomic transactions.

Every change is `with store.transaction() as tx: ...`: take the store lock,
re-read the file (free when its bytes are unchanged since our last parse),
apply the changes (a `Transaction`, app/backlog/transaction.py) as text splices,
re-parse and validate the result, write it atomically, release. The board, the CLI
and a pipeline in another process therefore never lose each other's updates, and an
invalid file is never overwritten. A run goes through a tolerant view
(`BacklogStore.tolerant`): a file a person saved broken reads as the last good
snapshot, and writes wait for the fix.
"""

from __future__ import annotations

import copy
import gc
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.backlog import cache as backlog_cache
from app.backlog.atomic import atomic_write, clean_stale_temps
from app.backlog.model import Backlog, Item
from app.errors import BacklogError, OrchestrateError
from app.structs import Struct

if TYPE_CHECKING:
    from app.backlog import yamldoc
    from app.backlog.transaction import Transaction as Transaction  # importable from here too


def __getattr__(name: str) -> Any:
    """`Transaction`, importable from here too: its module (and the YAML reader it needs,
    PyYAML) is imported when first asked for, not by a reader that a kept snapshot serves
    without a parse (the board's first frame)."""
    if name == "Transaction":
        from app.backlog.transaction import Transaction

        return Transaction
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

LOCK_TIMEOUT_S = 15.0
POLL_S = 0.25
"""How often a tolerant view's write looks whether a broken file parses again."""


# --- the store -------------------------------------------------------------------------------
class _Parsed(Struct):
    data: bytes
    doc: yamldoc.Document
    backlog: Backlog
    bom: bool = False
    """The file starts with a UTF-8 byte order mark (kept on write)."""


class _Snapshots(Struct):
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
        from app.backlog import yamldoc  # here: a snapshot kept or parsed before needs none
        from app.backlog.validate import validate

        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise BacklogError(f"{self.path.name}:{line}: not UTF-8 text ({exc.reason}); "
                               "save the file as UTF-8") from None
        bom = text.startswith("\ufeff")
        if bom:
            text = text[1:]
        with without_collections():
            try:
                doc = yamldoc.parse(text)
            except yamldoc.DocError as exc:
                raise BacklogError(f"{self.path.name}:{exc.line}:{exc.column}: "
                                   f"{exc.message}") from None
            return _Parsed(data, doc, validate(doc, self.path), bom)

    # writing ---------------------------------------------------------------------------------
    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store lock (a short one: only around read-apply-write)."""
        # here, not at the top: `orchestrate status` never locks
        from app.backlog.locking import lock_exclusive, unlock

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
                unlock(fh)

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
        from app.backlog import yamldoc
        from app.backlog.transaction import Transaction

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
            # The snapshot for the next reader first: a reader that sees the new file (a
            # board watching it reloads at once) finds it instead of parsing the file
            # (~1 s at 10,000 items). Keyed by the bytes, it serves no other file.
            backlog_cache.write(self.path, data, new.backlog)
            try:
                atomic_write(self.path, data)
            except OSError as exc:
                raise OrchestrateError(f"cannot write {self.path.name}: {exc.strerror}; "
                                       "it was left as it was") from None
            self._snaps.parsed = new
            if self._tolerance is not None:
                self._tolerance.good = new.backlog
            tx.result = new.backlog

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


@contextmanager
def without_collections() -> Iterator[None]:
    """No cyclic garbage collection inside: a parse makes millions of objects that all
    live, and each full collection walks every one of them again, so at 10,000 items the
    collector took a third of the parse (485 ms without, 670 ms with) and made its cost
    grow faster than the file. Collecting resumes after, if it was on."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _shared(doc: yamldoc.Document) -> str:
    """The top-level values other than the ones a transaction writes, for comparison (repr:
    a NaN equals itself)."""
    return repr({k: v for k, v in doc.root.values().items()
                 if k not in ("items", "next_id", "schema_version")})

