"""Snapshot tests of the board (SVG baselines in snapshots/test_snapshots_board/).

Deterministic: the fixture backlog has fixed timestamps, the App's clock is fixed,
file watching is off and text cursors do not blink. Update with
`pytest tests/test_snapshots_board.py --snapshot-update` (no xdist), after looking.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import BOARD_BACKLOG, REPO, SNAPSHOT_DIR, FakeEngine, make_board_project
from test_board import board_of, settle
from test_board_pause_alerts import PausingEngine
from textual.pilot import Pilot
from textual.widgets import Input

from app.engine.project import Project
from app.engine.runlock import with_agents, write_run_state
from app.ui.app import BoardApp
from widgets.board import BoardColumn


def no_blink(pilot: Pilot[Any]) -> None:
    """Text cursors stay still in the picture."""
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False


def board_app(project: Project, **kwargs: Any) -> BoardApp:
    return BoardApp(project, watch_files=False, clock=lambda: 1192.0, **kwargs)


class TestBoard:
    """The board itself, at the smallest supported size and a large one."""

    def test_board_80x24(self, snap_compare: Any, board_project: Project) -> None:
        """Six columns fit 80x24 (short titles, counts below): new shows WRK-001 (selected,
        focused column) and WRK-002; scoped holds WRK-003 and WRK-009 (researching);
        in progress shows WRK-005 with ▰▰▰▰▰▱ build; blocked shows WRK-006 with the
        reason cut short; done lists WRK-008 before WRK-007. Header: `idle` and counts."""
        async def run_before(pilot: Pilot[int]) -> None:
            await settle(pilot)
        assert snap_compare(board_app(board_project), terminal_size=(80, 24),
                            run_before=run_before)

    def test_board_160x48(self, snap_compare: Any, board_project: Project) -> None:
        """The same board fills 160x48: full column titles (scoped/researching, in progress),
        titles on fewer lines, badges S·low / M·medium / L·high in theme colours."""
        async def run_before(pilot: Pilot[int]) -> None:
            await settle(pilot)
        assert snap_compare(board_app(board_project), terminal_size=(160, 48),
                            run_before=run_before)


    def test_paused_for_a_usage_limit(self, snap_compare: Any, board_project: Project,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
        """Our run of WRK-004 met a usage limit that resets in 1h02m: the header, in the
        paused colour, reads `paused: usage limit, resumes at 01:21 (in 1h02m) · WRK-004 ·
        prd` (the fixed clock, 00:19:52 UTC); WRK-004 is still ready (the fake engine
        moves nothing), and the log pane is open."""
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()
        resume = threading.Event()

        def factory(project: Project, bus: Any, target: str | None) -> PausingEngine:
            return PausingEngine(project, bus, target, resumes_at=1192.0 + 3720,
                                 resume=resume)

        app = board_app(board_project, pipeline_factory=factory)

        async def run_before(pilot: Pilot[int]) -> None:
            await settle(pilot)
            await pilot.press("r")
            for _ in range(100):
                if "paused" in str(app.main.query_one("#run-header").render()):
                    break
                await pilot.pause(0.05)
            await settle(pilot)
        try:
            assert snap_compare(app, terminal_size=(120, 30), run_before=run_before)
        finally:
            resume.set()
            monkeypatch.undo()
            time.tzset()

    def test_board_light_theme(self, snap_compare: Any, board_project: Project) -> None:
        """The board under `textual-light`: light backgrounds, the same cards, readable
        ids, badges, phase bar and blocked reason (every colour is a theme variable)."""
        async def run_before(pilot: Pilot[int]) -> None:
            pilot.app.theme = "textual-light"
            await settle(pilot)
        assert snap_compare(board_app(board_project), terminal_size=(100, 30),
                            run_before=run_before)


class TestDetail:
    """The detail pane."""

    def test_detail_pane(self, snap_compare: Any, board_project: Project) -> None:
        """WRK-005 selected and Enter pressed: the pane on the right lists every field
        (status in_progress, phase build, `depends on WRK-001 (new)`, `needed by —`), the
        notes, the change folder's four files with `m reads the documents`, two worklog
        attempts, each naming its agent (prd #1 claude 3m12s complete $0.42; build #1 codex
        15m00s failed $1.10 with its reason) and `checkpoints`: `none: not in a git repository`."""
        async def run_before(pilot: Pilot[int]) -> None:
            await settle(pilot)
            board_of(pilot).main.board.select("WRK-005")
            await pilot.press("enter")
            await settle(pilot)
        assert snap_compare(board_app(board_project), terminal_size=(160, 48),
                            run_before=run_before)


    def test_detail_80x24_takes_the_boards_place(self, snap_compare: Any,
                                                 board_project: Project) -> None:
        """At 80x24 Enter on WRK-005 shows the details full width instead of the board
        (title, phase bar, every field, notes, the change folder heading; files and attempts
        are further down, the pane scrolls), with the Footer below."""
        async def run_before(pilot: Pilot[int]) -> None:
            await settle(pilot)
            board_of(pilot).main.board.select("WRK-005")
            await pilot.press("enter")
            await settle(pilot)
        assert snap_compare(board_app(board_project), terminal_size=(80, 24),
                            run_before=run_before)


class TestLogPane:
    """The log pane while a run streams."""

    def test_log_pane_streaming(self, snap_compare: Any, board_project: Project) -> None:
        """A (fake) run holds WRK-004 in prd: the header reads `running WRK-004 · prd ·
        attempt 1 · 03:12 · $0.00 so far`; WRK-004 sits in the in-progress column with
        ▰▱▱▱▱▱ prd; the log pane at the bottom shows the attempt's separator, three text
        lines, a tool call (→ Bash pytest -q, name in the accent colour) and an error
        line (✗ ..., in the error colour)."""
        gate = threading.Event()

        def factory(project: Project, bus: Any, target: str | None) -> FakeEngine:
            return FakeEngine(project, bus, target, gate=gate)

        app = board_app(board_project, pipeline_factory=factory)
        app.clock = lambda: 1000.0 + 192.0

        async def run_before(pilot: Pilot[int]) -> None:
            await settle(pilot)
            await pilot.press("r")
            for _ in range(100):
                if "✗ tool failed: exit 1" in app.main.log_pane.log_view.lines \
                        and "WRK-004" in app.query_one("#col-in_progress", BoardColumn).item_ids:
                    break
                await pilot.pause(0.05)
            await settle(pilot)
        try:
            assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)
        finally:
            gate.set()


    def test_watching_another_process(self, snap_compare: Any,
                                      board_project: Project) -> None:
        """Another process (pid 4242) holds the run lock: the header reads `watching a run
        of pid 4242 · WRK-005 · build · attempt 2`, and the log pane (titled `WRK-005 ·
        build · attempt 2 (pid 4242)`) shows its log file: the assistant's text, a tool
        call (→ Bash pytest -q) and the plain text line at the end. The Footer offers
        `r Pause` and `s Stop`: they act on that process's run."""
        log = board_project.logs_dir / "WRK-005_build_2.log"
        log.write_text(
            '{"type":"assistant","message":{"content":[{"type":"text",'
            '"text":"Running the tests before the next task."}]}}\n'
            '{"type":"assistant","message":{"content":[{"type":"tool_use","name":"Bash",'
            '"input":{"command":"pytest -q"}}]}}\n'
            "plain text from the agent\n")
        app = BoardApp(board_project, watch_files=True, clock=lambda: 1192.0,
                       lock_holder=lambda project: 4242)

        async def run_before(pilot: Pilot[int]) -> None:
            await settle(pilot)
            for _ in range(100):
                if "plain text from the agent" in "".join(app.main.log_pane.log_view.lines):
                    break
                await pilot.pause(0.05)
            await settle(pilot)
        assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)

    def test_watching_a_lanes_run(self, snap_compare: Any, tmp_path: Path) -> None:
        """Another process (pid 4242) runs two lanes (its run.json): the header reads
        `watching a run of pid 4242 · 2 lanes · WRK-005 build #2 · WRK-004 prd #1`, and
        the log pane shows WRK-005's log (`WRK-005 · build · attempt 2 (pid 4242)`)."""
        project = make_board_project(tmp_path / "project", BOARD_BACKLOG.replace(
            "status: ready\n    phase: null", "status: in_progress\n    phase: prd"))
        (project.logs_dir / "WRK-005_build_2.log").write_text(
            '{"type":"assistant","message":{"content":[{"type":"text",'
            '"text":"Running the tests before the next task."}]}}\n')
        write_run_state(project, with_agents(
            {"pid": 4242, "kind": "run", "started": "2026-11-22T08:00:00Z",
             "max_parallel": 4},
            [{"item": item, "phase": phase, "attempt": attempt, "agent_pid": 4300 + n,
              "agent_pgid": 4300 + n, "result_file": f"/r/{item}.json", "token": "t",
              "cgroup": None, "agent": "claude", "branch": f"orchestrate/{item}",
              "started": "2026-11-22T08:10:00Z"}
             for n, (item, phase, attempt) in enumerate([("WRK-005", "build", 2),
                                                        ("WRK-004", "prd", 1)])]))
        app = BoardApp(project, watch_files=True, clock=lambda: 1192.0,
                       lock_holder=lambda project: 4242)

        async def run_before(pilot: Pilot[int]) -> None:
            await settle(pilot)
            for _ in range(100):
                if "2 lanes" in str(app.main.query_one("#run-header").render()) and \
                        "next task" in "".join(app.main.log_pane.log_view.lines):
                    break
                await pilot.pause(0.05)
            await settle(pilot)
        assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)


class TestModals:
    """The dialogs."""

    def test_add_modal(self, snap_compare: Any, board_project: Project) -> None:
        """`a` opens the add form over the board: title field holding `Search box`,
        size and risk selects, a notes field, Add and Cancel buttons."""
        async def run_before(pilot: Pilot[int]) -> None:
            await settle(pilot)
            await pilot.press("a", *"Search box")
            no_blink(pilot)
        assert snap_compare(board_app(board_project), terminal_size=(100, 30),
                            run_before=run_before)

    def test_unblock_modal(self, snap_compare: Any, board_project: Project) -> None:
        """`u` on WRK-006: `Unblock WRK-006 → in_progress/design`, its title, the blocked
        reason in the error colour, and the notes field with `use the eu cluster`."""
        async def run_before(pilot: Pilot[int]) -> None:
            await settle(pilot)
            board_of(pilot).main.board.select("WRK-006")
            await pilot.press("u", *"use the eu cluster")
            no_blink(pilot)
        assert snap_compare(board_app(board_project), terminal_size=(100, 30),
                            run_before=run_before)

    def test_advance_modal(self, snap_compare: Any, board_project: Project) -> None:
        """`>` on WRK-004 (ready): `Move WRK-004 (ready) to…` and the allowed targets:
        new, scoped, `in progress · prd` … `in progress · review`, done, blocked; the first
        is highlighted."""
        async def run_before(pilot: Pilot[int]) -> None:
            await settle(pilot)
            board_of(pilot).main.board.select("WRK-004")
            await pilot.press("greater_than_sign")
        assert snap_compare(board_app(board_project), terminal_size=(100, 30),
                            run_before=run_before)


    def test_help_80x24(self, snap_compare: Any, board_project: Project) -> None:
        """`?` at 80x24: the keys of app/ui/keys.py with what they do, in its order (hjkl,
        enter, a, t, >, u, r (run here), r (pause), D (run detached), R, d, s (any
        process's run), /, escape, L, J; f, m, c, i, m, g, escape (the reading views and the
        report), ctrl+p, ? and q below the fold, the list scrolls) and `Escape closes`
        below."""
        async def run_before(pilot: Pilot[int]) -> None:
            await settle(pilot)
            await pilot.press("question_mark")
        assert snap_compare(board_app(board_project), terminal_size=(80, 24),
                            run_before=run_before)


class TestErrors:
    """Bad input shows; the board never crashes."""

    def test_parse_error_banner(self, snap_compare: Any, board_project: Project) -> None:
        """BACKLOG.yaml broken after opening (unknown status `redy`): a banner in the
        error colour under the header reads `⚠ BACKLOG.yaml:47:5: WRK-004: unknown
        status 'redy' (expected one of: ...)` and the last good board (all nine cards, WRK-004
        still in ready) stays below."""
        async def run_before(pilot: Pilot[int]) -> None:
            await settle(pilot)
            path = board_project.backlog_path
            path.write_text(path.read_text().replace("status: ready", "status: redy"))
            board_of(pilot).main.feed.reload()
            await settle(pilot)
        assert snap_compare(board_app(board_project), terminal_size=(120, 30),
                            run_before=run_before)


def test_baselines_live_in_snapshots_folder() -> None:
    """The SVGs are in <repo>/snapshots/<module>/, named after the tests, not in tests/."""
    folder = SNAPSHOT_DIR / Path(__file__).stem
    names = {p.name for p in folder.glob("*.svg")}
    expected = {f"{cls.__name__}.{name}.svg" for cls in (TestBoard, TestDetail, TestLogPane,
                                                        TestModals, TestErrors)
                for name in vars(cls) if name.startswith("test_")}
    assert names == expected  # one baseline per snapshot test, none missing, none stale
    assert not list((REPO / "tests").rglob("__snapshots__/**/*.svg"))
