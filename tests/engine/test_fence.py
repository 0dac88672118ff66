"""The fence around an attempt's processes: daemons that left the agent's group and
session are found by their token, or by their cgroup, and ended; nothing else is."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from app.engine import fence

# Starts a daemon the way agents start dev servers (double fork, setsid), writes its pid
# to argv[1] and exits at once; the daemon sleeps. With argv[2] == "scrub", the daemon
# also drops its environment (a token cannot find it then; a cgroup still can).
DAEMONISE = textwrap.dedent("""
    import os, sys, time
    pid_file, scrub = sys.argv[1], sys.argv[2] == "scrub"
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            if scrub:
                os.execve("/bin/sleep", ["sleep", "300"], {})
            with open(pid_file + ".tmp", "w") as fh:
                fh.write(str(os.getpid()))
            os.rename(pid_file + ".tmp", pid_file)
            os.execv("/bin/sleep", ["sleep", "300"])
        os._exit(0)
    os.wait()
""")


def start_daemon(tmp_path: Path, env: dict[str, str], scrub: bool = False,
                 name: str = "daemon") -> tuple[subprocess.Popen[bytes], Path]:
    pid_file = tmp_path / f"{name}.pid"
    proc = subprocess.Popen([sys.executable, "-c", DAEMONISE, str(pid_file),
                             "scrub" if scrub else "keep"], env=env, start_new_session=True)
    return proc, pid_file


def read_pid(pid_file: Path, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while not pid_file.exists():
        assert time.monotonic() < deadline, "the daemon never wrote its pid"
        time.sleep(0.02)
    return int(pid_file.read_text())


def alive(pid: int) -> bool:
    return fence.alive(pid)


def test_a_setsid_double_forked_daemon_is_found_by_its_token_and_ended(
        tmp_path: Path) -> None:
    token = fence.new_token()
    proc, pid_file = start_daemon(tmp_path, {**os.environ, fence.TOKEN_VAR: token})
    proc.wait(timeout=10)  # the "agent" is gone; its daemon is not
    daemon = read_pid(pid_file)
    try:
        assert alive(daemon)
        assert os.getsid(daemon) != os.getsid(0)  # beyond any group kill of the agent
        found = fence.marked([token])
        assert [s.pid for s in found] == [daemon]
        assert "sleep 300" in found[0].command
        ended = fence.end_marked([token], grace_s=2.0)
        assert [s.pid for s in ended] == [daemon]
        assert not alive(daemon)
        assert fence.marked([token]) == []
    finally:
        if alive(daemon):
            os.kill(daemon, 9)


def test_a_look_alike_without_the_token_is_never_touched(tmp_path: Path) -> None:
    token = fence.new_token()
    other = fence.new_token()
    person = subprocess.Popen(["sleep", "300"], env={**os.environ, fence.TOKEN_VAR: other})
    plain = subprocess.Popen(["sleep", "300"])
    try:
        assert fence.end_marked([token], grace_s=0.5) == []
        assert person.poll() is None and plain.poll() is None
        # A token that is a prefix of another token is not that token.
        assert fence.marked([other[:-1]]) == []
    finally:
        person.kill()
        plain.kill()
        person.wait()
        plain.wait()


def test_a_subreaper_adopts_the_daemons_its_children_leave(tmp_path: Path) -> None:
    """Run in a child so the test process itself stays as it was."""
    script = textwrap.dedent(f"""
        import os, subprocess, sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from app.engine import fence
        assert fence.become_subreaper()
        subprocess.run([sys.executable, "-c", {DAEMONISE!r}, sys.argv[1], "keep"],
                       start_new_session=True, check=True)
        while not os.path.exists(sys.argv[1]):
            time.sleep(0.02)
        daemon = int(open(sys.argv[1]).read())
        ppid = int(open(f"/proc/{{daemon}}/stat").read().rsplit(")", 1)[1].split()[1])
        print(daemon, ppid, os.getpid())
        os.kill(daemon, 9)
        os.waitpid(daemon, 0)
    """)
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "d.pid")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    daemon, ppid, reaper = map(int, out.stdout.split())
    assert ppid == reaper  # re-parented to the subreaper, not to init
    assert not alive(daemon)


def test_a_cgroup_holds_even_a_daemon_that_scrubbed_its_environment(
        tmp_path: Path) -> None:
    group = fence.AttemptCgroup.create(fence.new_token())
    if group is None:
        pytest.skip("no writable cgroup v2 here; the token and the subreaper still fence")
    try:
        # Joining before exec: the agent's first instruction runs inside the cgroup.
        proc = subprocess.Popen(
            [sys.executable, "-c", DAEMONISE, str(tmp_path / "d.pid"), "scrub"],
            preexec_fn=lambda: group.add(os.getpid()) or None,
            start_new_session=True)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not group.pids():
            assert time.monotonic() < deadline, "the scrubbed daemon never showed up"
            time.sleep(0.02)
        daemons = group.pids()
        # Nothing in its environment says whose it is: only the cgroup knows.
        assert all(Path(f"/proc/{pid}/environ").read_bytes() == b"" for pid in daemons)
        ended = group.kill()
        assert sorted(s.pid for s in ended) == sorted(daemons)
        assert not any(alive(pid) for pid in daemons)
    finally:
        for pid in group.pids():
            os.kill(pid, 9)
        group.remove()
    assert not group.path.exists()


def test_removing_a_left_cgroup_only_touches_ours(tmp_path: Path) -> None:
    folder = tmp_path / "not-ours"
    folder.mkdir()
    assert fence.remove_cgroup(str(folder)) == []
    assert folder.exists()
