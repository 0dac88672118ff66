"""Attempts on a real Ray cluster (`[executor] kind = "ray"`): a head and two worker nodes
on 127.0.0.1 (tests/ray_cluster.py), the scripted agent on the workers, real git lanes.
The checkout goes as a bundle and the work comes back and merges; the lines stream; a stop
ends the remote tree (a setsid daemon too); a node killed mid-attempt makes it `lost` and
it runs again elsewhere; a driver killed with -9 leaves nothing running; a cluster that
cannot be reached, or that offers no node for an attempt, is refused before the run."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import stored_item
from engine_helpers import (
    AGENT,
    Background,
    alive,
    make_project,
    ready,
    run_git,
    run_pipeline,
    wait_for,
    worklog_entries,
)
from ray_helpers import RAY_GROUP, LocalCluster, needs_ray, ray_executor

from app import exitcodes
from app.engine.events import (
    AgentOutput,
    Notice,
    PhaseFinished,
    PhaseStarted,
    RunPaused,
    RunResumed,
)
from app.engine.project import Project
from app.engine.runlock import read_run_state
from app.errors import OrchestrateError

pytestmark = [needs_ray, pytest.mark.local_only, RAY_GROUP]

WORK = {"default": "complete",
        "build": {"mode": "complete", "write": {"feature.txt": "made on a worker\n"}}}


def ray_project(root: Path, cluster: LocalCluster, script: dict[str, Any],
                items: int = 1, **sections: dict[str, Any]) -> Project:
    return make_project(root, [ready(title=f"Item {n}") for n in range(1, items + 1)],
                        script=script, git=True, command=None,
                        executor=ray_executor(cluster), **sections)


def test_an_item_walks_its_phases_on_the_cluster_and_its_work_merges(
        tmp_path: Path, ray_cluster: LocalCluster) -> None:
    # A project with an `app` package of its own: the worker still runs orchestrate's
    # (and the scripted agent, which runs in the checkout too, is told -P as well).
    script = (tmp_path / "p-script.json").resolve()
    project = ray_project((tmp_path / "p").resolve(), ray_cluster, WORK, agent={
        "command": [sys.executable, "-P", *AGENT[1:], "--script", str(script)]})
    root = project.root
    (root / "app").mkdir()
    (root / "app" / "__init__.py").write_text("raise SystemExit('the project\'s own app')\n")
    # And a .gitignore that lists orchestrate's folder, as many do: no pathspec names it.
    (root / ".gitignore").write_text(".orchestrator/\n")
    run_git(root, "add", "app", ".gitignore")
    run_git(root, "commit", "-q", "-m", "the project's app")
    finished, rec = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    assert stored_item(project).status == "done"
    assert (root / "feature.txt").read_text() == "made on a worker\n"
    subjects = run_git(root, "log", "--format=%s").splitlines()
    # The lane's checkpoints as a local attempt makes them; the transport commit is gone.
    assert sum(s.startswith("[WRK-001][BUILD]") for s in subjects) == 1
    assert not any(s.startswith("orchestrate: uncommitted work") for s in subjects)
    assert sum(s.startswith("Merge orchestrate/WRK-001") for s in subjects) == 1
    started = rec.of(PhaseStarted)
    assert [e.phase for e in started] == ["prd", "research", "design", "spec", "build",
                                          "review"]
    assert all(e.node == "127.0.0.1" for e in started)
    assert [e["outcome"] for e in worklog_entries(project)] == ["complete"] * 6
    # The attempt's log is here, as a local attempt's is.
    log = (root / ".orchestrator" / "logs" / "WRK-001_build_1.log").read_text()
    assert '"type":"result"' in log.replace(" ", "")
    assert run_git(root, "status", "--porcelain") == ""


def test_the_agents_lines_stream_back_while_it_works(tmp_path: Path,
                                                     ray_cluster: LocalCluster) -> None:
    script = {"default": "complete", "prd": {"mode": "slow", "lines": 6}}
    project = ray_project((tmp_path / "p").resolve(), ray_cluster, script,
                          run={"max_parallel": 2})
    finished, rec = run_pipeline(project, target="WRK-001", cap=1)
    outputs = [e for e in rec.events if isinstance(e, (AgentOutput, PhaseFinished))]
    first_output = next(i for i, e in enumerate(outputs) if isinstance(e, AgentOutput))
    finish = next(i for i, e in enumerate(outputs) if isinstance(e, PhaseFinished))
    assert first_output < finish, "no line came back before the attempt ended"
    lines = [line.text for e in rec.of(AgentOutput) for line in e.lines]
    assert any("slow line" in text for text in lines)
    # Several batches: the lines came as the agent printed them, not all at the end.
    assert len(rec.of(AgentOutput)) >= 3
    assert finished.exit_code == 0, finished.reason


def test_a_stop_ends_the_remote_agent_and_the_daemon_it_started(
        tmp_path: Path, ray_cluster: LocalCluster) -> None:
    daemon = tmp_path / "daemon.pid"
    script = {"default": {"mode": "hang", "daemon": str(daemon)}}
    project = ray_project((tmp_path / "p").resolve(), ray_cluster, script,
                          run={"max_parallel": 2})
    with Background(project) as run:
        wait_for(lambda: daemon.exists() and daemon.read_text().strip(), timeout=60)
        agents = wait_for(lambda: read_run_state(project).get("agents"), timeout=20)
        agent_pid = int(agents[0]["remote_pid"])
        assert alive(agent_pid) and alive(int(daemon.read_text()))
        run.pipeline.request_stop()
        finished = run.finish(timeout=60)
    assert finished.exit_code == 130
    wait_for(lambda: not alive(int(daemon.read_text())), timeout=10)
    wait_for(lambda: not alive(agent_pid), timeout=10)
    entry = worklog_entries(project)[-1]
    assert entry["outcome"] == "interrupted"
    item = stored_item(project)
    assert (item.status, item.phase) == ("in_progress", "prd")


def test_a_node_killed_mid_attempt_makes_it_lost_and_it_runs_again_elsewhere(
        tmp_path: Path, ray_cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.engine.remote import executor

    # As when the node dies before a byte of the attempt's log came back (a loaded CI
    # machine did): no log here to number the attempt by.
    heard = executor._Said.heard
    monkeypatch.setattr(executor._Said, "heard", lambda said, message, key: None
                        if "log" in message else heard(said, message, key))
    script = {"default": "complete",
              "prd": {"1": {"mode": "complete", "sleep": 120}, "*": "complete"}}
    project = ray_project((tmp_path / "p").resolve(), ray_cluster, script,
                          run={"max_parallel": 2})
    with Background(project) as run:
        agents = wait_for(lambda: read_run_state(project).get("agents"), timeout=60)
        node = agents[0]["node_id"]
        assert node in ray_cluster.nodes
        ray_cluster.kill_node(node)
        finished = run.finish(timeout=120)
    assert finished.exit_code == 0, finished.reason
    prd = [e for e in worklog_entries(project) if e["phase"] == "prd"]
    assert [e["outcome"] for e in prd] == ["lost", "complete"]
    # The retry is attempt 2 (attempt 1's number was taken all the same).
    assert [e["attempt"] for e in prd] == [1, 2]
    assert "lost on the cluster" in prd[0]["reason"]
    assert stored_item(project).status == "done"
    # The lost attempt left nothing on the lane: one prd checkpoint, from attempt 2.
    subjects = run_git(project.root, "log", "--format=%s").splitlines()
    assert sum(s.startswith("[WRK-001][PRD]") for s in subjects) == 1


def test_a_driver_killed_with_9_leaves_nothing_running_on_the_cluster(
        tmp_path: Path, ray_cluster: LocalCluster) -> None:
    daemon = tmp_path / "daemon.pid"
    script = {"default": {"mode": "hang", "daemon": str(daemon)}}
    project = ray_project((tmp_path / "p").resolve(), ray_cluster, script,
                          run={"max_parallel": 2})
    said = (tmp_path / "driver.out").open("w")
    driver = subprocess.Popen([sys.executable, "-m", "app", "run"], cwd=project.root,
                              stdout=said, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        try:
            agents = wait_for(lambda: daemon.exists() and daemon.read_text().strip()
                              and read_run_state(project).get("agents"), timeout=90)
        except AssertionError:
            raise AssertionError("the run's attempts never started; it said: "
                                 + (tmp_path / "driver.out").read_text()) from None
        agent_pid = int(agents[0]["remote_pid"])
        daemon_pid = int(daemon.read_text())
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=10)
        # Ray ends the dead driver's tasks; each runner then ends its agent's tree.
        wait_for(lambda: not alive(agent_pid) and not alive(daemon_pid), timeout=30)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
    stopped = subprocess.run([sys.executable, "-m", "app", "stop"], cwd=project.root,
                             capture_output=True, text=True, timeout=60)
    assert stopped.returncode in (0, 1), stopped.stderr


def test_a_run_on_the_cluster_says_everything_and_exits_without_rays_goodbye(
        tmp_path: Path, ray_cluster: LocalCluster) -> None:
    """The console script ends a Ray driver with os._exit once its run is over (app/main.py
    `_leave_ray`): every line it printed to a pipe still arrives, its exit code is the
    run's, and the cluster takes the next run as before."""
    project = ray_project((tmp_path / "p").resolve(), ray_cluster, WORK, items=2,
                          run={"max_parallel": 2})
    proc = subprocess.run([sys.executable, "-m", "app", "run", "--json-events", "--target",
                           "WRK-001"], cwd=project.root, capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == exitcodes.OK, proc.stdout[-2000:] + proc.stderr[-2000:]
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[-1]["type"] == "RunFinished", events[-3:]  # the last line came out
    assert sum(e["type"] == "PhaseFinished" for e in events) == 6
    # The next run takes the cluster as before; its plain lines, buffered into a pipe,
    # arrive to the last.
    plain = subprocess.run([sys.executable, "-m", "app", "run"], cwd=project.root,
                           capture_output=True, text=True, timeout=180)
    assert plain.returncode == exitcodes.OK, plain.stdout[-2000:] + plain.stderr[-2000:]
    assert plain.stdout.rstrip().splitlines()[-1].startswith("run finished: "), plain.stdout
    assert [stored_item(project, i).status for i in ("WRK-001", "WRK-002")] == ["done"] * 2
    assert read_run_state(project).get("agents") in (None, [])


def test_a_cluster_that_cannot_be_reached_is_refused_before_anything_moves(
        tmp_path: Path, ray_cluster: LocalCluster) -> None:
    project = make_project((tmp_path / "p").resolve(), [ready(title="Item 1")], git=True,
                           script=WORK, executor={"kind": "ray", "address": "127.0.0.1:1"})
    proc = subprocess.run([sys.executable, "-m", "app", "run"], cwd=project.root,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "RAY_gcs_rpc_server_connect_timeout_s": "2",
                               "RAY_gcs_rpc_server_reconnect_timeout_s": "2"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "cannot reach the Ray cluster at '127.0.0.1:1'" in proc.stderr
    assert stored_item(project).status == "ready"


def test_a_cluster_without_the_resource_an_attempt_asks_is_refused(
        tmp_path: Path, ray_cluster: LocalCluster) -> None:
    project = make_project((tmp_path / "p").resolve(), [ready(title="Item 1")], git=True,
                           script=WORK, executor={**ray_executor(ray_cluster),
                                                  "resources": {"gpu-box": 1}})
    with pytest.raises(OrchestrateError) as refused:
        run_pipeline(project)
    assert "no node of the Ray cluster" in str(refused.value)
    assert "gpu-box 1" in str(refused.value)
    assert stored_item(project).status == "ready"


def test_status_and_the_run_say_on_which_node_an_attempt_runs(
        tmp_path: Path, ray_cluster: LocalCluster) -> None:
    script = {"default": {"mode": "complete", "sleep": 30}}
    project = ray_project((tmp_path / "p").resolve(), ray_cluster, script)
    with Background(project) as run:
        wait_for(lambda: read_run_state(project).get("agents"), timeout=60)
        status = subprocess.run([sys.executable, "-m", "app", "status", "--json"],
                                cwd=project.root, capture_output=True, text=True, timeout=60)
        plain = subprocess.run([sys.executable, "-m", "app", "status"], cwd=project.root,
                               capture_output=True, text=True, timeout=60)
        run.pipeline.request_stop()
        run.finish(timeout=60)
    lanes = json.loads(status.stdout)["run"]["lanes"]
    assert lanes[0]["node"] == "127.0.0.1"
    assert re.search(r"WRK-001\s+prd #1\s.*\son 127\.0\.0\.1", plain.stdout), plain.stdout


def test_a_usage_limit_on_a_worker_pauses_the_run_until_the_reset(
        tmp_path: Path, ray_cluster: LocalCluster) -> None:
    script = {"default": "complete",
              "prd": {"1": {"mode": "usage_limit", "resets_in": 1}, "*": "complete"}}
    project = ray_project((tmp_path / "p").resolve(), ray_cluster, script, limits={
        "resume_margin_s": 0.5, "retry_interval_s": 0.3, "retry_interval_max_s": 0.6})
    finished, rec = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    (paused,) = rec.of(RunPaused)
    assert (paused.item_id, paused.phase, paused.known_reset) == ("WRK-001", "prd", True)
    (resumed,) = rec.of(RunResumed)
    assert resumed.at >= paused.resumes_at
    prd = [e["outcome"] for e in worklog_entries(project) if e["phase"] == "prd"]
    assert prd == ["limited", "complete"]
    assert stored_item(project).status == "done"


def test_the_budget_sees_a_remote_runaway_agent_spend_and_stops_it(
        tmp_path: Path, ray_cluster: LocalCluster) -> None:
    runaway = {"mode": "runaway", "model": "claude-opus-4-8[1m]", "tokens": 400_000,
               "every": 0.1}  # $2.00 a message, ten a second
    project = ray_project((tmp_path / "p").resolve(), ray_cluster, {"default": runaway},
                          run={"max_cost_usd": 5.0}, agent={"phase_timeout_s": 60})
    finished, _ = run_pipeline(project)
    assert finished.exit_code == exitcodes.BUDGET, finished.reason
    [entry] = worklog_entries(project)
    assert entry["outcome"] == "interrupted"
    # Its spend streamed back as it ran: stopped soon after the budget, long before 60 s.
    assert 5.0 <= entry["cost_usd"] < 30.0
    assert entry["duration_s"] < 40
    assert finished.cost_usd == entry["cost_usd"]
    assert stored_item(project).status == "in_progress"


def test_orchestrate_stop_ends_a_remote_attempt_and_its_daemon(
        tmp_path: Path, ray_cluster: LocalCluster) -> None:
    daemon = tmp_path / "daemon.pid"
    project = ray_project((tmp_path / "p").resolve(), ray_cluster,
                          {"default": {"mode": "hang", "daemon": str(daemon)}})
    driver = subprocess.Popen([sys.executable, "-m", "app", "run"], cwd=project.root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        agents = wait_for(lambda: daemon.exists() and daemon.read_text().strip()
                          and read_run_state(project).get("agents"), timeout=90)
        agent_pid, daemon_pid = int(agents[0]["remote_pid"]), int(daemon.read_text())
        stopped = subprocess.run([sys.executable, "-m", "app", "stop"], cwd=project.root,
                                 capture_output=True, text=True, timeout=90)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert driver.wait(timeout=30) == exitcodes.SIGTERM
        assert not alive(agent_pid) and not alive(daemon_pid)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
    assert worklog_entries(project)[-1]["outcome"] == "interrupted"


def test_worker_check_runs_on_every_node_that_takes_attempts(
        tmp_path: Path, ray_cluster: LocalCluster) -> None:
    project = ray_project((tmp_path / "p").resolve(), ray_cluster, WORK)
    done = subprocess.run([sys.executable, "-m", "app", "worker", "check", "--cluster",
                           "--json"], cwd=project.root, capture_output=True, text=True,
                          timeout=120)
    report = json.loads(done.stdout)
    nodes = report["nodes"]
    # The two worker nodes offer `orchestrate`; the head offers none and is not asked.
    assert sorted(node["node_id"] for node in nodes) == sorted(ray_cluster.nodes)
    for node in nodes:
        checks = {check["name"]: check for check in node["checks"]}
        assert node["ip"] == "127.0.0.1"
        assert checks["ray"]["level"] == "ok" and checks["python"]["level"] == "ok"
        # The project's agent (the scripted one, run by this Python) is found there.
        assert checks["default (claude)"]["level"] == "ok"
    assert done.returncode == (0 if report["ok"] else 1)
    plain = subprocess.run([sys.executable, "-m", "app", "worker", "check", "--cluster"],
                           cwd=project.root, capture_output=True, text=True, timeout=120)
    assert plain.stdout.count("(127.0.0.1)") == 2, plain.stdout


def test_more_lanes_than_the_nodes_take_wait_their_turn_and_are_said(
        tmp_path: Path, ray_cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.engine.remote import executor as remote_executor

    monkeypatch.setattr(remote_executor, "WAITING_SAID_S", 0.5)
    # Two nodes take two attempts each: the fifth lane's waits for a free one. Waiting is
    # not silence: nothing is lost, and every item is done.
    script = {"default": "complete", "prd": {"mode": "complete", "sleep": 3}}
    project = ray_project((tmp_path / "p").resolve(), ray_cluster, script, items=5,
                          run={"max_parallel": 5})
    finished, rec = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    assert all(stored_item(project, f"WRK-00{n}").status == "done" for n in range(1, 6))
    assert not [e for e in worklog_entries(project) if e["outcome"] != "complete"]
    waits = [n.text for n in rec.of(Notice) if "waits for a node" in n.text]
    assert waits and "orchestrate 1 free" in waits[0], waits


def test_the_ray_executor_without_lanes_is_refused_not_run_in_the_main_checkout(
        tmp_path: Path, ray_cluster: LocalCluster) -> None:
    project = ray_project((tmp_path / "p").resolve(), ray_cluster, WORK,
                          run={"checkpoint": False})
    finished, _ = run_pipeline(project)
    assert finished.exit_code == exitcodes.ERROR
    assert 'kind = "ray" needs lanes' in finished.reason, finished.reason
    assert "checkpoint = false" in finished.reason
    assert stored_item(project).status == "ready"
    assert worklog_entries(project) == []


def test_a_ray_client_address_is_refused_with_what_to_do(tmp_path: Path) -> None:
    project = make_project((tmp_path / "p").resolve(), [ready(title="Item 1")], git=True,
                           script=WORK, executor={"kind": "ray",
                                                  "address": "ray://127.0.0.1:10001"})
    with pytest.raises(OrchestrateError) as refused:
        run_pipeline(project)
    assert "Ray Client (ray://) cannot stream" in str(refused.value)
    assert "ray start --address=HEAD:6379" in str(refused.value)
    assert stored_item(project).status == "ready"


def test_a_conflict_left_in_a_lane_travels_and_the_agent_resolves_it_on_a_node(
        tmp_path: Path, ray_cluster: LocalCluster) -> None:
    script = {"default": "complete", "items": {
        "WRK-001": {"build": {"mode": "complete", "write": {"shared.txt": "one\n"}}},
        "WRK-002": {"build": {"mode": "complete", "write": {"shared.txt": "two\n"}}}}}
    project = ray_project((tmp_path / "p").resolve(), ray_cluster, script, items=2,
                          run={"max_parallel": 2})
    (project.root / "shared.txt").write_text("base\n")
    run_git(project.root, "add", "shared.txt")
    run_git(project.root, "commit", "-q", "-m", "shared")
    finished, _ = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    by_status = {stored_item(project, i).status: i for i in ("WRK-001", "WRK-002")}
    loser = by_status["blocked"]
    from app.engine import actions

    # Unblocked, the lane is brought up to date with the conflict left in its worktree:
    # a snapshot of it goes to the node, with the merge as git shows it here. An agent
    # that leaves the markers fails, as it does locally, and nothing holds them.
    actions.unblock(project, loser, notes="merge it")
    finished, _ = run_pipeline(project)
    item = stored_item(project, loser)
    assert item.status == "blocked"
    assert item.blocked_reason == ("review failed 2 times: conflict markers remain in "
                                   "shared.txt: resolve them first")
    log = run_git(project.root, "log", "-p", f"orchestrate/{loser}", "master")
    assert "<<<<<<<" not in log
    # The agent there resolves it (its own side), and the lane's merge is concluded.
    actions.unblock(project, loser, notes="keep yours")
    (tmp_path / "p-script.json").write_text(json.dumps(
        {"default": "complete", "review": {"mode": "complete", "resolve": True}}))
    with Background(project) as run:
        finished = run.finish(timeout=90)
    rec = run.rec
    assert finished.exit_code == 0, finished.reason
    assert stored_item(project, loser).status == "done"
    assert all(e.node == "127.0.0.1" for e in rec.of(PhaseStarted))
    text = (project.root / "shared.txt").read_text()
    assert text == ("one\n" if loser == "WRK-001" else "two\n")
    assert run_git(project.root, "status", "--porcelain") == ""
    # The merge the lane began is concluded by its review's checkpoint: two parents.
    subjects = run_git(project.root, "log", "--format=%s %p").splitlines()
    review = next(s for s in subjects if s.startswith(f"[{loser}][REVIEW]"))
    assert len(review.split()[-2:]) == 2 and all(len(p) >= 7 for p in review.split()[-2:])
    assert not any("orchestrate: the lane's uncommitted state" in s for s in subjects)


def test_a_limited_agent_on_a_node_hands_its_attempt_to_the_fallback_agent(
        tmp_path: Path, ray_cluster: LocalCluster) -> None:
    b_script = (tmp_path / "b-script.json").resolve()
    b_script.write_text(json.dumps({"default": "complete"}))
    project = ray_project(
        (tmp_path / "p").resolve(), ray_cluster,
        {"default": {"mode": "usage_limit", "resets_in": 3600}},
        run={"fallback": ["default", "b"]}, agents={"b": {
            "command": [*AGENT, "--script", str(b_script)]}})
    finished, rec = run_pipeline(project)
    assert finished.exit_code == 0, finished.reason
    assert stored_item(project).status == "done"
    worked = [(e["phase"], e["outcome"], e["agent"]) for e in worklog_entries(project)]
    assert worked[:2] == [("prd", "limited", "default"), ("prd", "complete", "b")]
    assert not rec.of(RunPaused)
    assert all(e.node == "127.0.0.1" for e in rec.of(PhaseStarted))
