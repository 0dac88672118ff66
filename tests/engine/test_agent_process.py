"""AgentProcess with real subprocesses: the contract's environment, one argv element for the
prompt, binary-safe batched output, timeouts that leave no process alive."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import pytest
from engine_helpers import AGENT, alive, wait_for

from app.engine.agent_process import AgentProcess, AttemptSpec
from app.engine.events import AgentLine


def _spec(tmp_path: Path, command: list[str], mode: str | dict[str, object] | None = None, *,
          phase: str = "prd", timeout: float = 20, grace: float = 0.5,
          prompt: str = "do it") -> AttemptSpec:
    cmd = list(command)
    if mode is not None:
        script = tmp_path / "script.json"
        script.write_text(json.dumps({"default": mode}))
        cmd += ["--script", str(script)]
    return AttemptSpec(command=tuple(cmd), prompt=prompt, cwd=tmp_path, item_id="WRK-001",
                       phase=phase, attempt=1, change_dir="changes/WRK-001_x",
                       result_path=tmp_path / ".orchestrator/results/WRK-001_prd_1.json",
                       log_path=tmp_path / ".orchestrator/logs/WRK-001_prd_1.log",
                       timeout_s=timeout, kill_grace_s=grace)


class Batches:
    def __init__(self) -> None:
        self.calls: list[tuple[AgentLine, ...]] = []

    def __call__(self, lines: tuple[AgentLine, ...]) -> None:
        self.calls.append(lines)

    @property
    def lines(self) -> list[AgentLine]:
        return [line for batch in self.calls for line in batch]


def test_prompt_is_one_argv_element_and_the_environment_follows_the_contract(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As in a detached run: its mark (never taken for a daemon) is not the agent's.
    monkeypatch.setenv("ORCHESTRATE_DETACHED", "1")
    probe = ("import json, os, sys; json.dump({'argv': sys.argv[1:], 'cwd': os.getcwd(), "
             "'env': {k: v for k, v in os.environ.items() if k.startswith('ORCHESTRATE_')}, "
             "'pgid': os.getpgid(0), 'pid': os.getpid()}, open('probe.json', 'w'))")
    prompt = "two words; $(touch pwned) \"quoted\" {prompt}\nnew line"
    spec = _spec(tmp_path, [sys.executable, "-c", probe, "-p", "{prompt}", "--flag"],
                 prompt=prompt)
    out = AgentProcess(spec).run()
    data = json.loads((tmp_path / "probe.json").read_text())
    assert data["argv"] == ["-p", prompt, "--flag"]
    assert not (tmp_path / "pwned").exists()
    assert Path(data["cwd"]).resolve() == tmp_path.resolve()
    assert data["pgid"] == data["pid"] == out.pid  # its own process group
    env = data["env"]
    assert env["ORCHESTRATE_RESULT_FILE"] == str(spec.result_path.resolve())
    assert Path(env["ORCHESTRATE_RESULT_FILE"]).is_absolute()
    assert (env["ORCHESTRATE_ITEM_ID"], env["ORCHESTRATE_PHASE"], env["ORCHESTRATE_ATTEMPT"],
            env["ORCHESTRATE_CHANGE_DIR"]) == ("WRK-001", "prd", "1", "changes/WRK-001_x")
    assert "ORCHESTRATE_DETACHED" not in env


def test_a_stale_result_file_is_deleted_before_the_attempt(tmp_path: Path) -> None:
    spec = _spec(tmp_path, AGENT, "no_result")
    spec.result_path.parent.mkdir(parents=True)
    spec.result_path.write_text('{"stale": true}')
    AgentProcess(spec).run()
    assert not spec.result_path.exists()


def test_output_is_logged_classified_and_the_final_event_gives_cost(tmp_path: Path) -> None:
    spec = _spec(tmp_path, AGENT, "complete")
    batches = Batches()
    out = AgentProcess(spec, batches).run()
    kinds = [line.kind for line in batches.lines]
    assert kinds[0] == "system" and "tool" in kinds and kinds[-1] == "result"
    assert out.exit_code == 0 and out.cost_usd is not None and out.num_turns
    log = spec.log_path.read_text().splitlines()
    assert len(log) == len(batches.lines)
    assert json.loads(log[-1])["type"] == "result"


def test_a_300_kb_line_and_binary_bytes_do_not_break_reading(tmp_path: Path) -> None:
    for mode in ("huge_line", "binary"):
        spec = _spec(tmp_path, AGENT, mode)
        batches = Batches()
        out = AgentProcess(spec, batches).run()
        assert out.exit_code == 0 and out.final_event is not None, mode
        assert json.loads(spec.result_path.read_text())["result"] == "complete"
    log = spec.log_path.read_bytes()
    assert b"\xef\xbf\xbd" in log  # the undecodable bytes were replaced, not fatal
    assert any(len(line) > 300_000 for line in log.split(b"\n"))


def test_a_chatty_agent_is_delivered_in_batches(tmp_path: Path) -> None:
    spec = _spec(tmp_path, AGENT, {"mode": "chatty", "lines": 5000})
    batches = Batches()
    AgentProcess(spec, batches).run()
    chatty = [line for line in batches.lines if line.text.startswith("chatty line")]
    assert len(chatty) == 5000
    # batched, not one event per line (the bound holds even on a machine 10x slower)
    assert len(batches.calls) <= 5000 / 10
    assert max(len(b) for b in batches.calls) <= 200


def test_timeout_kills_an_agent_that_ignores_sigterm_and_its_children(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    spec = _spec(tmp_path, AGENT, {"mode": "spawn_children", "children": 2,
                                   "pids_file": str(pids_file)}, timeout=1.5, grace=0.3)
    out = AgentProcess(spec).run()
    assert out.timed_out
    children = [int(p) for p in pids_file.read_text().split()]
    assert len(children) == 2
    for pid in [out.pid, *children]:
        assert pid is not None and not alive(pid), pid


def test_a_missing_command_is_a_start_error(tmp_path: Path) -> None:
    spec = _spec(tmp_path, ["orchestrate-no-such-agent-xyz", "-p", "{prompt}"])
    out = AgentProcess(spec).run()
    assert out.start_error_kind == "missing"
    assert "orchestrate-no-such-agent-xyz" in out.failure_reason()


def test_a_non_executable_command_is_a_start_error(tmp_path: Path) -> None:
    script = tmp_path / "agent.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    out = AgentProcess(_spec(tmp_path, [str(script)])).run()
    assert out.start_error_kind == "permission"


def test_stop_interrupts_the_agent_and_its_group(tmp_path: Path) -> None:
    stop = threading.Event()
    spawned: list[int] = []
    spec = _spec(tmp_path, AGENT, "ignore_term", grace=0.3)
    proc = AgentProcess(spec, on_spawn=spawned.append, stop=stop)
    runner = threading.Thread(target=proc.run)
    runner.start()
    wait_for(lambda: spawned and spec.log_path.exists() and spec.log_path.stat().st_size)
    stop.set()
    runner.join(timeout=20)
    assert not runner.is_alive()
    assert proc.outcome.interrupted and not alive(spawned[0])


@pytest.mark.parametrize(("mode", "expected"), [
    ("not_logged_in", "Not logged in · Please run /login"),
    ("crash", "RuntimeError: the scripted agent crashed"),
])
def test_failure_reason_is_the_agents_own_error(tmp_path: Path, mode: str,
                                                expected: str) -> None:
    out = AgentProcess(_spec(tmp_path, AGENT, mode)).run()
    assert expected in out.failure_reason()


def test_failure_reason_falls_back_to_the_exit_code(tmp_path: Path) -> None:
    out = AgentProcess(_spec(tmp_path, [sys.executable, "-c", "raise SystemExit(7)"])).run()
    assert out.failure_reason() == "the agent exited with code 7"


def test_the_demo_personality_is_believable_and_reproducible(tmp_path: Path) -> None:
    runs = []
    for _ in range(2):
        spec = _spec(tmp_path, [*AGENT, "--mode", "demo", "--speed", "1000", "--seed", "7"],
                     phase="design")
        batches = Batches()
        AgentProcess(spec, batches).run()
        runs.append([line.text for line in batches.lines if line.kind != "system"])
        result = json.loads(spec.result_path.read_text())
        assert result["item_id"] == "WRK-001" and result["phase"] == "design"
    assert runs[0] == runs[1]
    assert len(runs[0]) >= 4 and any(text.split()[0] in ("Read", "Grep", "Bash", "Glob",
                                                          "Edit", "WebSearch", "Write")
                                      for text in runs[0])


def test_not_logged_in_mode_prints_the_real_clis_lines_and_no_result(tmp_path: Path) -> None:
    from app.demo.transcript import NOT_LOGGED_IN_LINES

    spec = _spec(tmp_path, AGENT, "not_logged_in")
    out = AgentProcess(spec).run()
    assert spec.log_path.read_text().splitlines() == list(NOT_LOGGED_IN_LINES)
    assert out.exit_code == 1 and not spec.result_path.exists()
    assert out.error_text == "Not logged in · Please run /login"
    sample = Path("/work/shared/samples/claude-2.1.197-stream-json-not-logged-in.jsonl")
    if sample.exists():  # the recorded output of the real CLI, where available
        assert list(NOT_LOGGED_IN_LINES) == sample.read_text().splitlines()


@pytest.mark.parametrize("phase", ["triage", "investigate"])
def test_the_demo_summary_names_the_assessment_it_returns(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        phase: str) -> None:
    from app.demo.scripted_agent import Agent

    result_file = tmp_path / "result.json"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORCHESTRATE_RESULT_FILE", str(result_file))
    monkeypatch.setenv("ORCHESTRATE_PHASE", phase)
    monkeypatch.delenv("ORCHESTRATE_FAKE_SCRIPT", raising=False)
    risks = set()
    for seed in range(40):
        result_file.unlink(missing_ok=True)
        assert Agent(["--mode", "demo", "--speed", "100000", "--seed", str(seed),
                      "-p", "Title: Add login page"]).run() == 0
        capsys.readouterr()
        result = json.loads(result_file.read_text())
        if result["result"] != "complete":
            continue
        a = result["assessment"]
        assert result["summary"].endswith(
            f": {a['size']} size, {a['complexity']} complexity, {a['risk']} risk"), result
        risks.add(a["risk"])
    if phase == "triage":  # the seeds cover an assessment over the default guardrails
        assert risks == {"low", "medium"}
