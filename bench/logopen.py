"""The log_open_1m_vs_toolong figure: opening a finished attempt's 1,000,000-line log
(Claude's stream-json) and showing its end, the board vs toolong 1.5.0, the Textual log
viewer. Both headless, each timed from just before its process starts to the first frame
that shows the file's last line.

- ours: `orchestrate board` on a project whose card WRK-001 has that log as its newest
  attempt's; the person shows the log pane (`L`, done here at mount) and the highlighted
  card's finished log is shown at its end (app/ui/jobs/runwatch.py `highlighted`).
- toolong: `tl FILE`, its App run headless by the python of its own venv, in
  bench/.cache/ (it needs textual 0.58, ours is newer): installed there with pip on first
  use unless ORCHESTRATE_BENCH_NO_INSTALL is set.

`python -m bench.logopen board DIR` and `python -m bench.logopen toolong FILE MARKER` are
the children: each prints `shown` and the frame's `time.monotonic_ns()` (one clock for
every process on the machine). The toolong child runs in toolong's venv, so this module
imports nothing of ours at its top.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.figures import Figure, Plan

TOOLONG_VERSION = "1.5.0"
LOG_LINES = 1_000_000
SHOWN_AT: list[int] = []
"""`time.monotonic_ns()` of the first frame that showed the last line."""


# --- the log ----------------------------------------------------------------------------------
LAST = ('{"type":"result","subtype":"success","is_error":false,"duration_ms":5412000,'
        '"num_turns":4127,"total_cost_usd":31.4159,"result":"Done: the login page works."}')
"""A finished attempt's last line (ours shows `■ finished: success, 4127 turns, …`)."""


def write_log(path: Path, n: int = LOG_LINES) -> None:
    """A finished attempt's log of `n` lines as Claude Code prints them: its words, tool
    calls and their results, a result at the end (~190 bytes a line)."""
    kinds = (
        '{"type":"assistant","message":{"id":"msg_%07d","content":[{"type":"text",'
        '"text":"Working on the login page: the form posts to /session, step %07d"}]}}\n',
        '{"type":"assistant","message":{"id":"msg_%07d","content":[{"type":"tool_use",'
        '"id":"toolu_%07d","name":"Bash","input":{"command":"pytest -q tests/test_login.py"}}]}}\n',
        '{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":'
        '"toolu_%07d","content":"..........  10 passed in 0.4%07ds"}]}}\n',
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"type":"system","subtype":"init","model":"claude-sonnet-4-5",'
                 '"claude_code_version":"2.0.1"}\n')
        step = 10_000
        for start in range(1, n - 1, step):
            fh.write("".join(kinds[k % 3] % (k, k) for k in range(start, min(start + step,
                                                                               n - 1))))
        fh.write(LAST + "\n")


# --- toolong in a venv of its own -------------------------------------------------------------
def toolong_python() -> tuple[Path | None, str]:
    """The python of a venv with toolong installed, in bench/.cache/ (made on first use)."""
    from bench.common import CACHE

    venv = CACHE / f"toolong-{TOOLONG_VERSION}"
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import toolong.ui"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python, ""
    if os.environ.get("ORCHESTRATE_BENCH_NO_INSTALL"):
        return None, (f"toolong is not installed in {venv} and installing was turned off "
                      "(ORCHESTRATE_BENCH_NO_INSTALL)")
    venv.parent.mkdir(parents=True, exist_ok=True)
    made = subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)],
                          capture_output=True, text=True, timeout=300)
    if made.returncode == 0:
        made = subprocess.run([str(python), "-m", "pip", "install", "-q",
                               "--disable-pip-version-check", f"toolong=={TOOLONG_VERSION}"],
                              capture_output=True, text=True, timeout=600)
    if made.returncode != 0 or subprocess.run(check, capture_output=True).returncode != 0:
        tail = (made.stderr or made.stdout).strip().splitlines()[-1:] or ["no output"]
        return None, f"pip install toolong=={TOOLONG_VERSION} into {venv} failed: {tail[0]}"
    return python, ""


# --- the figure -------------------------------------------------------------------------------
def log_open_vs_toolong(plan: Plan, tmp: Path) -> Figure:
    """Our board showing a finished 1M-line attempt log at its end, over toolong's time."""
    from bench.common import interleaved
    from bench.figures import REPO, Figure, ratio

    python, why = toolong_python()
    if python is None:
        return Figure(None, why)
    n = LOG_LINES if plan.items is None else min(LOG_LINES, max(10_000, 1000 * plan.items))
    root = tmp / "logopen"
    board_project(root)
    log = root / ".orchestrator" / "logs" / "WRK-001_build_1.log"
    write_log(log, n)

    def child(argv: list[str]) -> Callable[[], float]:
        def go() -> float:
            started = time.monotonic_ns()
            out = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120)
            said = out.stdout.split()
            if out.returncode != 0 or len(said) != 2 or said[0] != "shown":
                last = (out.stderr.strip().splitlines() or ["no output"])[-1]
                raise RuntimeError(f"{' '.join(argv[2:4])} failed: {last[-300:]}")
            return (int(said[1]) - started) / 1e9  # process start -> frame with the end
        return go

    ours = child([sys.executable, "-m", "bench.logopen", "board", str(root)])
    theirs = child([str(python), "-m", "bench.logopen", "toolong", str(log), LAST[:40]])
    try:
        a, b = interleaved(ours, theirs, warmup=plan.warmup, repeats=plan.repeats)
    except RuntimeError as exc:
        return Figure(None, str(exc))
    size = log.stat().st_size / 1e6
    return Figure(ratio(a, b), f"{n} lines ({size:.0f} MB) of Claude stream-json, headless "
                  f"160x50, process start to the first frame showing the last line",
                  [f"board: a finished attempt's log in the log pane, at its end: {a.show()}",
                   f"toolong {TOOLONG_VERSION} (`tl FILE`, its own venv): {b.show()}"])


def board_project(root: Path) -> None:
    """A project of 1,000 items whose first card, WRK-001, is done."""
    from bench.common import write_backlog

    path = write_backlog(root, 1000)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    status: scoped\n", "    status: done\n", 1),
                    encoding="utf-8")


# --- the children -----------------------------------------------------------------------------
def board(root: Path) -> None:
    from app.engine.project import Project
    from app.engine.streamjson import describe
    from app.ui.app import BoardApp
    from app.ui.screens.main import MainScreen
    from widgets.logpane import PaneLog, display_line

    marker = display_line(describe(LAST), False)[:40]
    shown = [False]
    render_line_strip = PaneLog._render_line_strip

    def watching(self: PaneLog, y: int, rich_style: Any) -> Any:
        strip = render_line_strip(self, y, rich_style)
        if strip.text.startswith(marker):
            shown[0] = True  # this frame draws the last line
        return strip

    PaneLog._render_line_strip = watching  # type: ignore[method-assign]

    mount = MainScreen.on_mount

    def mounted(self: MainScreen) -> None:
        mount(self)  # the cards, before the first frame
        self.log_shown = True  # the person's `L`
        self.board.select("WRK-001")  # and the card of the finished attempt

    MainScreen.on_mount = mounted  # type: ignore[method-assign]

    class Timed(BoardApp):
        def _display(self, screen: Any, renderable: Any) -> None:
            super()._display(screen, renderable)
            if shown[0] and renderable is not None and self.is_running and not SHOWN_AT:
                SHOWN_AT.append(time.monotonic_ns())
                self.exit(0)

    Timed(Project(root)).run(headless=True, size=(160, 50))


def toolong(path: str, marker: str) -> None:
    from toolong.log_lines import LogLines  # type: ignore[import-not-found]
    from toolong.ui import UI  # type: ignore[import-not-found]

    shown = [False]
    render_line = LogLines.render_line

    def watching(self: Any, y: int) -> Any:
        strip = render_line(self, y)
        if marker in strip.text:
            shown[0] = True
        return strip

    LogLines.render_line = watching

    class Timed(UI):  # type: ignore[misc]
        def _display(self, screen: Any, renderable: Any) -> None:
            super()._display(screen, renderable)
            if shown[0] and renderable is not None and self.is_running and not SHOWN_AT:
                SHOWN_AT.append(time.monotonic_ns())
                self.exit(0)

    Timed([path]).run(headless=True, size=(160, 50))


if __name__ == "__main__":
    if sys.argv[1] == "board":
        board(Path(sys.argv[2]))
    else:
        toolong(sys.argv[2], sys.argv[3])
    print("shown", SHOWN_AT[0] if SHOWN_AT else "never")
