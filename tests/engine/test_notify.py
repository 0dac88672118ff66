"""`[notify] command`: one JSON object on stdin, run as argv, never holding up the run."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from app.engine.notify import Notifier

WRITE_STDIN = "import sys, pathlib; pathlib.Path(sys.argv[1]).write_bytes(sys.stdin.buffer.read())"


def test_the_command_reads_one_json_object_on_stdin(tmp_path: Path) -> None:
    out = tmp_path / "got.json"
    errors: list[str] = []
    notifier = Notifier([sys.executable, "-c", WRITE_STDIN, str(out)], tmp_path,
                        on_error=errors.append)
    notifier.send("item_blocked", "prd failed 4 times: boom", item_id="WRK-001",
                  title="Add login page")
    notifier.wait()
    assert json.loads(out.read_text()) == {
        "event": "item_blocked", "item_id": "WRK-001", "title": "Add login page",
        "message": "prd failed 4 times: boom", "project": str(tmp_path.resolve())}
    assert errors == []


def test_the_command_is_argv_never_a_shell(tmp_path: Path) -> None:
    out = tmp_path / "$(touch pwned)"
    notifier = Notifier([sys.executable, "-c", WRITE_STDIN, str(out)], tmp_path)
    notifier.send("run_finished", "no more work")
    notifier.wait()
    assert out.exists() and not (tmp_path / "pwned").exists()


def test_a_hanging_command_never_holds_up_the_caller_and_is_stopped(tmp_path: Path) -> None:
    errors: list[str] = []
    notifier = Notifier([sys.executable, "-c", "import time; time.sleep(60)"], tmp_path,
                        on_error=errors.append, timeout_s=0.5)
    started = time.monotonic()
    notifier.send("run_paused", "usage limit")
    assert time.monotonic() - started < 0.5  # send returned at once
    notifier.wait()
    assert len(errors) == 1 and "took over 0.5 s and was stopped" in errors[0]


@pytest.mark.parametrize(("command", "said"), [
    (["no-such-notifier-command"], "'no-such-notifier-command' not found"),
    ([sys.executable, "-c", "import sys; sys.stderr.write('no token\\n'); sys.exit(3)"],
     "exited with 3: no token"),
])
def test_a_failing_command_is_reported_not_raised(tmp_path: Path, command: list[str],
                                                  said: str) -> None:
    errors: list[str] = []
    notifier = Notifier(command, tmp_path, on_error=errors.append)
    notifier.send("item_done", "WRK-001 done", item_id="WRK-001")
    notifier.wait()
    assert len(errors) == 1 and said in errors[0]


def test_without_a_command_nothing_runs_and_an_unknown_event_is_a_bug(tmp_path: Path) -> None:
    notifier = Notifier(None, tmp_path)
    assert notifier.send("item_done", "x").event == "item_done"
    with pytest.raises(ValueError):
        notifier.send("item_exploded", "x")
