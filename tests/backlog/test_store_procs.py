"""The store across real processes: concurrent adds lose nothing; kill -9 loses nothing
acknowledged and leaves a file that parses; temp files of a killed writer are cleaned."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from conftest import ORCHESTRATE

from app.backlog.atomic import TEMP_MARK
from app.backlog.model import ID_PATTERN
from app.backlog.store import BacklogStore

INIT = "schema_version: 1\nprefix: WRK\nnext_id: 1\nitems: []\n"

ADDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from app.backlog.store import BacklogStore
    path, name, count, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    while not go.exists():
        time.sleep(0.001)
    store = BacklogStore(path)
    for i in range(count):
        store.add(f"{name} {i}")
""")


def test_four_processes_adding_fifteen_each_end_with_sixty_distinct_ids(tmp_path: Path) -> None:
    path = tmp_path / "BACKLOG.yaml"
    path.write_text(INIT)
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", ADDER, str(path), f"p{n}", "15", str(go)])
             for n in range(4)]
    time.sleep(0.3)  # let all four import and wait at the start line
    go.touch()
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    backlog = BacklogStore(path).load()
    ids = [i.id for i in backlog.items]
    assert len(ids) == 60 and len(set(ids)) == 60
    assert sorted(ids) == [f"WRK-{n:03d}" for n in range(1, 61)]
    assert sorted(i.title for i in backlog.items) == sorted(
        f"p{n} {i}" for n in range(4) for i in range(15))
    assert backlog.next_number == 61
    assert not list(tmp_path.glob(f"*{TEMP_MARK}*"))


def test_concurrent_cli_adds_lose_nothing(tmp_path: Path) -> None:
    """The real CLI in separate processes, four at a time."""
    (tmp_path / "BACKLOG.yaml").write_text(INIT)
    procs = [subprocess.Popen([*ORCHESTRATE, "-C", str(tmp_path), "add", f"cli {n} {k}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for k in range(3) for n in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    items = BacklogStore(tmp_path / "BACKLOG.yaml").load().items
    assert len({i.id for i in items}) == 12


WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from app.backlog.store import BacklogStore
    store = BacklogStore(Path(sys.argv[1]))
    i = 0
    while True:
        with store.transaction() as tx:
            tx.add(f"acked {sys.argv[2]} {i}")
            if tx.items():
                tx.set(tx.items()[0].id, notes=f"note {i}\\nwith: a colon")
        print(i, flush=True)  # acknowledged: the write has returned
        i += 1
""")


def test_kill_9_at_random_moments_never_loses_acknowledged_items(tmp_path: Path) -> None:
    path = tmp_path / "BACKLOG.yaml"
    # A few hundred items make each write long enough to be hit mid-way sometimes.
    body = "".join(f"  - id: WRK-{n:03d}\n    title: seed {n}\n    status: new\n"
                   for n in range(1, 301))
    path.write_text(f"# keep me\nschema_version: 1\nprefix: WRK\nnext_id: 301\nitems:\n{body}")
    rng = random.Random(1234)
    acked: list[str] = []
    leftovers = 0
    for run in range(12):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(run)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        first = proc.stdout.readline()  # at least one write acknowledged
        assert first.strip() == "0"
        acked.append(f"acked {run} 0")
        time.sleep(rng.uniform(0, 0.25))
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
        acked += [f"acked {run} {n.strip()}" for n in rest.splitlines() if n.strip()]
        leftovers += bool(list(tmp_path.glob(f".BACKLOG.yaml{TEMP_MARK}*")))
        backlog = BacklogStore(path).load()  # parses and validates
        titles = {i.title for i in backlog.items}
        missing = [t for t in acked if t not in titles]
        assert not missing, f"acknowledged items lost after kill -9 in run {run}: {missing}"
        assert path.read_text().startswith("# keep me\n")
        assert all(ID_PATTERN.match(i.id) for i in backlog.items)
    # The next transaction sweeps whatever temp file a killed writer left behind.
    BacklogStore(path).update("WRK-001", status="ready")
    assert not list(tmp_path.glob(f".BACKLOG.yaml{TEMP_MARK}*"))
    print(f"temp files left by a kill: {leftovers} of 12")


DIES_BEFORE_RENAME = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    import app.backlog.atomic
    from app.backlog.store import BacklogStore
    replace = os.replace
    def die(src, dst):  # the temp file is written and fsync'd; the rename never happens
        if Path(dst).name != "BACKLOG.yaml":  # the snapshot kept for readers, before it
            return replace(src, dst)
        os.kill(os.getpid(), signal.SIGKILL)
    app.backlog.atomic.os.replace = die
    BacklogStore(Path(sys.argv[1])).add("never acknowledged")
""")


def test_kill_9_between_temp_write_and_rename_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "BACKLOG.yaml"
    path.write_text(INIT)
    proc = subprocess.run([sys.executable, "-c", DIES_BEFORE_RENAME, str(path)], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    temps = list(tmp_path.glob(f".BACKLOG.yaml{TEMP_MARK}*"))
    assert len(temps) == 1 and b"never acknowledged" in temps[0].read_bytes()
    assert path.read_text() == INIT
    store = BacklogStore(path)
    assert store.load().items == ()
    store.add("next")
    assert not temps[0].exists()
    assert [i.title for i in store.load().items] == ["next"]


def test_threads_sharing_a_store_and_threads_with_their_own_lose_nothing(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "BACKLOG.yaml"
    path.write_text(INIT)
    shared = BacklogStore(path)

    def work(store: BacklogStore, name: str) -> None:
        for i in range(10):
            store.add(f"{name} {i}")

    threads = [threading.Thread(target=work, args=(shared, f"shared{n}")) for n in range(2)]
    threads += [threading.Thread(target=work, args=(BacklogStore(path), f"own{n}"))
                for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    items = BacklogStore(path).load().items
    assert len(items) == 40 and len({i.id for i in items}) == 40
