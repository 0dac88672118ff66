"""Child process of the board figures, driving the real BoardApp with Textual's Pilot.

`python -m bench.pilot DIR LINES REPEATS WARMUP` prints one JSON line (LINES 0: the reload
figure alone):
{"reload_ms": {"value": ..., "note": ..., "detail": [...]}, "log_lines_per_s": ...,
 "log_key_p99_ms": ..., "log_rss_growth_mb": ..., "log_key_p99_ms_1_lanes": ...,
 "log_key_p99_ms_4_lanes": ..., "log_key_p99_ms_8_lanes": ...}

- reload_ms: another store (as another process would) writes BACKLOG.yaml atomically; the
  time until the frame that draws the new title (the first card of the first column),
  median over REPEATS; the detail adds the time until the board is idle again.
- log_lines_per_s: LINES agent lines posted to the board in batches of 500 (as its tail
  worker does), until the log pane has taken the last one.
- log_key_p99_ms: while lines stream, cursor keys are pressed; p99 of press -> handled.
- log_rss_growth_mb: resident memory after streaming LINES lines minus before.
- log_key_p99_ms_N_lanes (N = 1, 4, 8): p99 of key press -> handled while N lanes of our
  own run print 2,000 lines/s each, shown together with their lanes' labels (`lanes_keys`
  says how; the detail has the median, the lines streamed and the RSS growth).

What of the board this relies on (a figure goes null with the error if it changes):
`BoardApp(project)`, its main screen (`app.main`) with `backlog`, `log_shown`,
`log_pane.add_lines(batch)` and `run_watch.tail(path, stop_event)` (the worker that
follows another run's log), and `project.logs_dir`. No hook in the board is needed.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: measure() imports the board itself
    from app.backlog.model import Backlog
    from widgets.logpane import Entry


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def press_keys(app: Any, sent: dict[int, float], more: Callable[[], bool]) -> None:
    """Cursor keys every 10 ms while `more()`, each stamped in `sent` (by the event's id)
    as it is posted: from a thread, as the terminal driver's keys come, through the same
    queue."""
    from textual import events

    k = 0
    while more():
        event = events.Key("down" if k % 2 else "up", None)
        sent[id(event)] = time.perf_counter()
        app.post_message(event)
        k += 1
        time.sleep(0.01)


def figure(value: float | None, note: str, *detail: str) -> dict[str, Any]:
    return {"value": None if value is None else round(value, 2), "note": note,
            "detail": list(detail)}


async def measure(root: Path, lines: int, repeats: int, warmup: int) -> dict[str, Any]:

    from app.backlog.store import BacklogStore
    from app.engine.project import Project
    from app.ui.app import BoardApp

    project = Project(root)
    app = BoardApp(project)
    out: dict[str, Any] = {}
    sent: dict[int, float] = {}
    handled: list[float] = []

    def hook(message: Any) -> None:
        start = sent.pop(id(message), None)
        if start is not None:
            handled.append((time.perf_counter() - start) * 1000)

    async with app.run_test(size=(200, 50), message_hook=hook) as pilot:
        async def until(cond: Any, timeout: float = 30.0) -> bool:
            end = time.perf_counter() + timeout
            while time.perf_counter() < end:
                if cond():
                    return True
                await asyncio.sleep(0.001)
            return False

        screen = app.main
        if not await until(lambda: screen.backlog is not None):
            raise RuntimeError("the board never loaded BACKLOG.yaml")
        await pilot.pause()

        def shown() -> Backlog:
            """The backlog the board shows now (it loaded one above and keeps one)."""
            backlog = screen.backlog
            if backlog is None:
                raise RuntimeError("the board dropped its backlog")
            return backlog

        # reload_ms ---------------------------------------------------------------------------
        # Until the frame that draws the new title: the card is the first of the first
        # column, so a frame does draw it. (Waiting for the board to be idle again counts
        # what follows a load too -- the cards' facts read again in a worker: in the
        # detail.)
        drawn_at: dict[str, float] = {}
        """title -> when the first frame was drawn with the board holding that title."""
        display = app._display
        probe: list[tuple[str, str]] = []

        def timed_display(screen_: Any, renderable: Any) -> None:
            display(screen_, renderable)
            if probe and renderable is not None:
                item, title = probe[-1]
                backlog = screen.backlog
                if title not in drawn_at and backlog is not None \
                        and backlog.get(item).title == title:
                    drawn_at[title] = time.perf_counter()

        app._display = timed_display  # type: ignore[method-assign,assignment]

        async def frame_with(item: str, title: str) -> float:
            probe.append((item, title))
            if not await until(lambda: title in drawn_at, 10.0):
                raise RuntimeError("the board drew no frame with a change within 10 s")
            return drawn_at[title]

        writer = BacklogStore(project.backlog_path)
        item_id = screen.board.columns[0].item_ids[0]
        samples = []
        idle = []
        for k in range(warmup + repeats):
            title = f"reload probe {k}"
            probe.append((item_id, title))
            await asyncio.to_thread(writer.update, item_id, title=title)
            t0 = time.perf_counter()
            drawn = await frame_with(item_id, title)
            await pilot.pause()  # idle again
            if k >= warmup:
                samples.append((drawn - t0) * 1000)
                idle.append((time.perf_counter() - t0) * 1000)
        # The same change saved by an editor: new bytes no process has parsed (no snapshot).
        by_hand = []
        for k in range(warmup + repeats):
            title = f"edited by hand {k}"
            text = project.backlog_path.read_text(encoding="utf-8")
            text = text.replace(shown().get(item_id).title, title, 1)
            staged = project.backlog_path.with_name("BACKLOG.yaml.editor-save")
            staged.write_text(text, encoding="utf-8")
            staged.replace(project.backlog_path)
            t0 = time.perf_counter()
            drawn = await frame_with(item_id, title)
            await pilot.pause()
            if k >= warmup:
                by_hand.append((drawn - t0) * 1000)
        out["reload_ms"] = figure(
            statistics.median(samples), f"{len(shown().items)} items, watchfiles",
            f"external atomic write by another orchestrate -> board shows it: "
            f"{statistics.median(samples):.0f} ms ({min(samples):.0f}-{max(samples):.0f})",
            f"the same saved by an editor (parsed by the board): "
            f"{statistics.median(by_hand):.0f} ms ({min(by_hand):.0f}-{max(by_hand):.0f})",
            f"external atomic write -> the board idle again (the cards' facts read again "
            f"after the frame): {statistics.median(idle):.0f} ms "
            f"({min(idle):.0f}-{max(idle):.0f})")

        if lines <= 0:  # the reload alone (at another size)
            await pilot.press("q")
            return out

        # log streaming ------------------------------------------------------------------------
        # The board's own tail worker follows a log file another process appends to, as when
        # it watches a run: file reads, line classification, back-pressure, batches, the pane.
        screen.log_shown = True
        await pilot.pause()
        pane = screen.log_pane
        log_path = project.logs_dir / "WRK-001_build_1.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_bytes(b"")
        line = ('{"type":"assistant","message":{"content":[{"type":"text","text":'
                '"Working on the login page, step %07d"}]}}\n')
        chunk_lines = 1000
        rss_before = rss_mb()
        done = threading.Event()
        taken = [0]
        original_add = pane.add_lines

        def counting_add(batch: Iterable[Entry], classify: Any = None) -> None:
            batch = list(batch)
            original_add(batch, classify)
            taken[0] += len(batch)

        # A deliberate patch; mypy checks an instance's method against the unbound one.
        pane.add_lines = counting_add  # type: ignore[method-assign,assignment]

        def write_log() -> None:
            with log_path.open("ab") as fh:
                for start in range(0, lines, chunk_lines):
                    fh.write("".join(line % n for n in range(start, start + chunk_lines))
                             .encode())
                    fh.flush()
                    # Stay at most ~50,000 lines ahead of the board (keeps the file small
                    # enough, and still far faster than any agent prints).
                    while start - taken[0] > 50_000:
                        time.sleep(0.001)
            done.set()

        stop_tail = threading.Event()
        t0 = time.perf_counter()
        screen.run_watch.tail(log_path, stop_tail)
        await asyncio.sleep(0.05)  # the worker has opened the (empty) file
        writer_thread = threading.Thread(target=write_log, daemon=True)
        writer_thread.start()

        presser = threading.Thread(
            target=press_keys, args=(app, sent, lambda: not done.is_set() or taken[0] < lines),
            daemon=True)
        presser.start()
        if not await until(lambda: done.is_set() and taken[0] >= lines, 400.0):
            raise RuntimeError(f"the board took {taken[0]} of {lines} lines in 400 s")
        stop_tail.set()
        await asyncio.to_thread(presser.join, 5.0)
        await until(lambda: not sent, 5.0)
        presses = handled
        await pilot.pause()
        elapsed = time.perf_counter() - t0
        rss_after = rss_mb()
        rate = lines / elapsed
        presses = sorted(presses)
        p99 = presses[min(len(presses) - 1, int(len(presses) * 0.99))] if presses else None
        out["log_lines_per_s"] = figure(
            rate, f"{lines} JSON lines tailed from a file by the board's worker, keys pressed",
            f"{lines} lines streamed into the log pane in {elapsed:.2f} s")
        out["log_key_p99_ms"] = figure(
            p99, f"{len(presses)} cursor key presses while streaming",
            f"key press -> handled, p99 of {len(presses)}: {p99:.1f} ms; median "
            f"{statistics.median(presses):.1f} ms" if presses else "no presses")
        out["log_rss_growth_mb"] = figure(
            rss_after - rss_before, f"RSS after {lines} streamed lines minus before",
            f"RSS {rss_before:.0f} MB -> {rss_after:.0f} MB after {lines} lines")

        # several lanes at once ------------------------------------------------------------
        for count in LANE_COUNTS:
            out[f"log_key_p99_ms_{count}_lanes"] = await lanes_keys(
                app, project.logs_dir, count, sent, handled, until)
        await pilot.press("q")
    return out


LANE_COUNTS = (1, 4, 8)
LANE_RATE = 2000
"""Lines a second each lane's agent prints."""
LANE_SECONDS = 5.0
LANE_LINES = (
    '{"type":"assistant","message":{"content":[{"type":"text","text":'
    '"Working on the login page: the form posts to /session, step %07d"}]}}',
    '{"type":"assistant","message":{"content":[{"type":"tool_use","id":"toolu_%07d",'
    '"name":"Bash","input":{"command":"pytest -q tests/test_login.py"}}]}}',
    '{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":'
    '"toolu_%07d","content":"..........  10 passed in 0.41s"}]}}',
)


async def lanes_keys(app: Any, logs_dir: Path, count: int, sent: dict[int, float],
                     handled: list[float], until: Any) -> dict[str, Any]:
    """Key presses while `count` lanes of our own run stream LANE_RATE lines a second each.

    The board's path for several lanes: each lane's agent output is read as the engine's
    agent process reads it (app/engine/agent_process.py: the line appended to the
    attempt's log, parsed once, classified, batched every 50 ms or 200 lines) and emitted
    on an EventBus the board's Runner observes (its OutputMerger), as a run's engine
    does; the Runner hands each lane's lines to the LaneLog, and the pane shows every
    lane's newest lines labelled (`WRK-002│`) while the highlighted card has no lane.
    Cursor keys are posted from a thread every 10 ms as the terminal driver's are.
    """

    from app.engine import streamjson
    from app.engine.agent_process import _Batcher
    from app.engine.events import AgentOutput, EventBus, PhaseFinished, PhaseStarted, RunStarted

    screen = app.main
    runner = screen.runner
    backlog = screen.backlog
    highlighted = screen.board.selected_id
    items = [item.id for item in backlog.items if item.status == "in_progress"
             and item.id != highlighted][-count:]
    bus = EventBus()
    unsubscribe = bus.subscribe(runner.output_merger)
    bus.emit(RunStarted(kind="run", pid=os.getpid()))
    for item_id in items:
        bus.emit(PhaseStarted(item_id=item_id, phase="build", attempt=1))
    stop = threading.Event()
    printed = [0]

    def lane(item_id: str) -> None:
        def on_lines(batch: tuple[Any, ...]) -> None:
            bus.emit(AgentOutput(item_id=item_id, phase="build", attempt=1, lines=batch))

        batcher = _Batcher(on_lines)
        step = LANE_RATE // 100  # every 10 ms
        k = 0
        with (logs_dir / f"{item_id}_build_1.log").open("ab") as log:
            start = time.perf_counter()
            while not stop.is_set():
                for _ in range(step):
                    text = LANE_LINES[k % 3] % k
                    log.write(text.encode() + b"\n")
                    log.flush()
                    for line in streamjson.lines_of(streamjson.parse(text), text):
                        batcher.add(line)
                    k += 1
                batcher.flush()
                printed[0] += step
                # paced: k lines by now, never a burst to catch up with
                time.sleep(max(0.0, start + k / LANE_RATE - time.perf_counter()))
            batcher.flush(force=True)

    rss_before = rss_mb()
    handled.clear()
    threads = [threading.Thread(target=lane, args=(item_id,), daemon=True)
               for item_id in items]
    for thread in threads:
        thread.start()
    await asyncio.sleep(0.5)  # every lane streams

    end = time.perf_counter() + LANE_SECONDS
    presser = threading.Thread(target=press_keys,
                               args=(app, sent, lambda: time.perf_counter() < end), daemon=True)
    presser.start()
    await asyncio.to_thread(presser.join, LANE_SECONDS + 30)
    await until(lambda: not sent, 5.0)
    stop.set()
    for thread in threads:
        await asyncio.to_thread(thread.join, 5.0)
    for item_id in items:
        bus.emit(PhaseFinished(item_id=item_id, phase="build", attempt=1,
                               outcome="complete"))
    unsubscribe()
    await asyncio.sleep(0.2)
    rss_after = rss_mb()
    presses = sorted(handled)
    shown = app.main.log_pane.log_view.lines
    labelled = sum(1 for line in shown[-50:] if "│" in line)
    if not presses:
        return figure(None, "no key press was handled")
    p99 = presses[min(len(presses) - 1, int(len(presses) * 0.99))]
    return figure(
        p99, f"{len(presses)} cursor key presses while {count} lanes stream "
        f"{LANE_RATE} lines/s each",
        f"key press -> handled, p99 of {len(presses)}: {p99:.1f} ms; median "
        f"{statistics.median(presses):.1f} ms; max {presses[-1]:.1f} ms",
        f"{printed[0]} lines of {count} lane(s) in {LANE_SECONDS + 0.5:.1f} s; "
        f"{labelled} of the pane's last 50 lines labelled with their lane",
        f"RSS {rss_before:.0f} MB -> {rss_after:.0f} MB ({rss_after - rss_before:+.1f} MB)")


def main() -> None:
    root, lines, repeats, warmup = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), \
        int(sys.argv[4])
    result = asyncio.run(measure(root, lines, repeats, warmup))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
