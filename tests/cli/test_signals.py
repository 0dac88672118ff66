"""Real signals to real `orchestrate` processes: SIGTERM/SIGINT stop the agent's group and
leave the item resumable; kill -9 leaves an orphan agent that the next run reaps; two runs
contend for the lock."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from conftest import stored_item
from engine_helpers import alive, make_project, orchestrate, ready, wait_for, worklog_entries

from app.engine.project import Project
from app.engine.runlock import holder_pid


class Events:
    """Reads `--json-events` lines of a running orchestrate in a thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.seen: list[dict[str, Any]] = []
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self._queue.put(json.loads(line))
            except ValueError:
                self._queue.put({"type": "text", "text": line})

    def wait(self, kind: str, count: int = 1, timeout: float = 30) -> list[dict[str, Any]]:
        def have() -> list[dict[str, Any]] | None:
            while not self._queue.empty():
                self.seen.append(self._queue.get())
            found = [e for e in self.seen if e["type"] == kind]
            return found if len(found) >= count else None

        return wait_for(have, timeout)


def _start(project: Project, *args: str) -> tuple[subprocess.Popen[str], Events]:
    proc = orchestrate(project, *args, "--json-events")
    return proc, Events(proc)


def test_sigterm_mid_phase_stops_the_agent_and_the_next_run_resumes(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"prd": {"1": "hang"}})
    proc, events = _start(project, "run")
    (started,) = events.wait("PhaseStarted")
    agent = started["pid"]
    assert alive(agent)
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=30) == 143
    assert not alive(agent)
    assert [e["outcome"] for e in worklog_entries(project)] == ["interrupted"]
    it = stored_item(project)
    assert (it.status, it.phase) == ("in_progress", "prd")
    assert holder_pid(project) is None and not project.run_state_path.exists()
    again = orchestrate(project, "run", "--quiet")
    out, _ = again.communicate(timeout=60)
    assert again.returncode == 0, out
    assert stored_item(project).status == "done"
    assert [e["attempt"] for e in worklog_entries(project) if e["phase"] == "prd"] == [1, 2]


def test_a_second_ctrl_c_kills_at_once_without_the_grace(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"prd": "ignore_term"},
                           agent={"kill_grace_s": 600})
    proc, events = _start(project, "run")
    (started,) = events.wait("PhaseStarted")
    log = Path(started["log_path"])
    wait_for(lambda: log.exists() and "Working on it" in log.read_text())  # TERM ignored now
    os.kill(proc.pid, signal.SIGINT)
    wait_for(lambda: "stopping the agent" in log.read_text())
    assert proc.poll() is None  # still waiting out the grace: the agent ignores SIGTERM
    os.kill(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    assert not alive(started["pid"])
    assert worklog_entries(project)[-1]["outcome"] == "interrupted"


def test_kill_9_leaves_an_orphan_group_that_the_next_run_reaps(tmp_path: Path) -> None:
    pids_file = tmp_path / "children"
    script = {"prd": {"1": {"mode": "spawn_children", "children": 2,
                            "pids_file": str(pids_file)}}}
    project = make_project(tmp_path / "p", [ready()], script=script,
                           agent={"kill_grace_s": 0.3})
    proc, events = _start(project, "run")
    (started,) = events.wait("PhaseStarted")
    wait_for(pids_file.exists)
    orphans = [started["pid"], *map(int, pids_file.read_text().split())]
    proc.kill()
    proc.wait()
    assert all(alive(pid) for pid in orphans)  # the agent group outlived its orchestrator
    assert json.loads(project.run_state_path.read_text())["agent_pgid"] == started["pid"]
    again, events2 = _start(project, "run")
    assert again.wait(timeout=60) == 0
    events2.wait("RunFinished")
    notices = [e["text"] for e in events2.seen if e["type"] == "Notice"]
    assert any("left its agent running" in n and str(started["pid"]) in n for n in notices)
    assert not any(alive(pid) for pid in orphans)
    assert stored_item(project).status == "done"


def test_a_second_run_exits_at_once_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready()], script={"prd": "hang"})
    first, events = _start(project, "run")
    events.wait("PhaseStarted")
    second = orchestrate(project, "run")
    _out, err = second.communicate(timeout=30)
    assert second.returncode == 3
    assert f"another run holds the lock (pid {first.pid})" in err
    triage = orchestrate(project, "triage")
    assert triage.wait(timeout=30) == 3  # triage takes the same lock
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=30) == 143


def test_ctrl_c_during_triage_stops_every_agent_and_leaves_items_new(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [{"title": f"Idea {n}"} for n in range(3)],
                           script={"triage": "hang"}, triage={"max_concurrent": 2})
    proc, events = _start(project, "triage")
    started = events.wait("PhaseStarted", count=2)
    os.kill(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    assert not any(alive(s["pid"]) for s in started)
    assert {i.status for i in project.store().load().items} == {"new"}
    assert [e["outcome"] for e in worklog_entries(project)] == ["interrupted"] * 2
    assert holder_pid(project) is None


def test_ctrl_c_is_heard_when_the_kernel_hands_it_to_a_worker_thread(tmp_path: Path) -> None:
    """A signal sent to the process may land on any thread; Python runs its handler on the
    main thread, which triage keeps waiting for its workers. It must wake to hear it (an
    untimed wait hung forever: seen under load in CI). Here a non-main thread receives
    SIGINT itself, every time."""
    project = make_project(tmp_path / "p", [{"title": f"Idea {n}"} for n in range(2)],
                           script={"triage": "hang"}, triage={"max_concurrent": 2})
    program = f"""
import signal, sys, threading, time
from pathlib import Path
from app.main import main

logs = Path({str(project.logs_dir)!r})

def interrupt_from_a_worker_thread():
    while len(list(logs.glob("*_triage_1.log"))) < 2:
        time.sleep(0.05)
    time.sleep(0.3)  # the main thread is waiting for the agents by now
    signal.pthread_kill(threading.get_ident(), signal.SIGINT)

threading.Thread(target=interrupt_from_a_worker_thread, daemon=True).start()
sys.exit(main(["-C", {str(project.root)!r}, "triage", "--quiet"]))
"""
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 130, proc.stderr
    assert [e["outcome"] for e in worklog_entries(project)] == ["interrupted"] * 2
    assert {i.status for i in project.store().load().items} == {"new"}


def test_ctrl_c_with_three_lanes_live_stops_every_lane_and_each_resumes(
        tmp_path: Path) -> None:
    """`[run] max_parallel = 3`: one SIGINT stops all three agents, each attempt is
    recorded as interrupted, and a second run takes all three up again in their
    worktrees and merges them."""
    project = make_project(tmp_path / "p", [ready(title=f"Item {i}") for i in (1, 2, 3)],
                           script={"prd": {"1": "hang"}}, git=True, run={"max_parallel": 3})
    proc, events = _start(project, "run")
    started = events.wait("PhaseStarted", count=3)
    agents = [s["pid"] for s in started]
    assert {s["branch"] for s in started} == {f"orchestrate/WRK-00{i}" for i in (1, 2, 3)}
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert not any(alive(pid) for pid in agents)
    assert sorted((e["item"], e["outcome"]) for e in worklog_entries(project)) == [
        (f"WRK-00{i}", "interrupted") for i in (1, 2, 3)]
    again = orchestrate(project, "run")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert all(stored_item(project, f"WRK-00{i}").status == "done" for i in (1, 2, 3))
    assert out.count("goes on in the worktree an earlier run left") == 3, out
