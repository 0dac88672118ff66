"""The README's quick start, followed in a fresh venv and a new git repository.

The commands are taken from README.md's code blocks, not repeated here: a README edit that
changes or drops one of them fails this test, and so does a packaging mistake that only a
real (non-editable) install shows. One venv is shared by the module's tests.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"

# The quick start this test follows, as the README spells it (in this order). `status`
# runs before `run`, where the README has it; the agent is the scripted one (see below).
QUICKSTART = [
    "orchestrate init --prefix WRK",
    'orchestrate add "Add login page" --size small --risk low',
    "orchestrate advance WRK-001 --to ready",
    "orchestrate status",
    "orchestrate run --cap 12",
]
INSTALL = "pip install ."
PHASES = ("PRD", "RESEARCH", "DESIGN", "SPEC", "BUILD", "REVIEW")


def readme_commands(text: str) -> list[list[str]]:
    """Every command line in the README's code blocks (fenced, or indented four spaces),
    split on `&&`, as argv lists without the trailing comments."""
    commands: list[list[str]] = []
    fenced = False
    previous_blank = True
    in_indented = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        indented = line.startswith("    ") and (previous_blank or in_indented)
        in_indented = indented or (in_indented and not line.strip())
        previous_blank = not line.strip()
        if not (fenced or indented) or not line.strip():
            continue
        for part in line.split("&&"):
            try:
                argv = shlex.split(part, comments=True)
            except ValueError:
                continue
            if argv and argv[0] in ("orchestrate", "pip"):
                commands.append(argv)
    return commands


def test_the_readme_still_has_the_quick_start_commands() -> None:
    """Runs without the venv: the commands the slow tests run are the README's."""
    commands = readme_commands(README.read_text(encoding="utf-8"))
    assert shlex.split(INSTALL) in commands
    assert ["orchestrate", "demo"] in commands
    positions = []
    for line in QUICKSTART:
        argv = shlex.split(line)
        assert argv in commands, f"README.md's code blocks no longer show: {line}"
        positions.append(commands.index(argv))
    assert positions == sorted(positions), "the README runs these in another order"
    text = README.read_text(encoding="utf-8")
    assert "`orchestrate demo --headless`" in text and "`--speed 4`" in text


def _clean_env(venv: Path) -> dict[str, str]:
    """No PYTHONPATH (it would import this checkout), no GIT_* of a hook, the venv first."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
           and not k.startswith(("GIT_", "ORCHESTRATE_"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["NO_COLOR"] = "1"
    env["XDG_CACHE_HOME"] = str(venv.parent / "xdg-cache")  # the person's cache, not ours
    return env


def _source_tree(dest: Path) -> Path:
    """The repository's tracked files (what a fresh clone has), else the folder itself."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                                check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        return REPO
    if "pyproject.toml" not in listed:  # not a git checkout of this project (an export)
        return REPO
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


class Venv:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.python = root / "bin" / "python"
        self.env = _clean_env(root)

    def run(self, argv: list[str], cwd: Path, timeout: float = 120,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        if argv[0] in ("orchestrate", "pip"):
            argv = [str(self.root / "bin" / argv[0]), *argv[1:]]
        proc = subprocess.run(argv, cwd=cwd, env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        if check:
            assert proc.returncode == 0, (
                f"{shlex.join(argv)} exited {proc.returncode}\n"
                f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")
        return proc


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh venv with orchestrate installed the README's way, from a copy of the repo."""
    base = tmp_path_factory.mktemp("quickstart")
    subprocess.run([sys.executable, "-m", "venv", str(base / "venv")], check=True,
                   timeout=120)
    env = Venv(base / "venv")
    src = _source_tree(base / "src")
    install = shlex.split(INSTALL)
    assert install[-1] == "."
    # `pip install .` in the source folder: a real build and install, not editable.
    env.run([*install[:-1], "-q", "--disable-pip-version-check", str(src)], cwd=base,
            timeout=600)
    where = env.run([str(env.python), "-c", "import app; print(app.__file__)"], cwd=base)
    assert Path(where.stdout.strip()).is_relative_to(env.root), where.stdout
    return env


def test_the_quick_start_takes_an_item_through_every_phase(venv: Venv, tmp_path: Path) -> None:
    repo = tmp_path / "your-repo"
    repo.mkdir()
    for git in (["init", "-q"], ["config", "user.name", "Quick Start"],
                ["config", "user.email", "quickstart@orchestrate.invalid"]):
        venv.run(["git", *git], cwd=repo)
    outputs = {}
    for line in QUICKSTART:
        argv = shlex.split(line)
        if argv[1] == "run":
            # The README's agent is `claude`; here the scripted agent, no account needed.
            agent = [str(venv.python), "-m", "app.demo.scripted_agent", "-p", "{prompt}"]
            (repo / "orchestrate.toml").write_text(
                f"[agent]\ncommand = {json.dumps(agent)}\n\n"
                "[run]\nbackoff_s = 0\ncooldown_s = 0\n", encoding="utf-8")
        outputs[line] = venv.run(argv, cwd=repo).stdout
    assert "WRK-001" in outputs["orchestrate status"]
    assert "run finished: no more work (6 attempts" in outputs["orchestrate run --cap 12"]

    status = json.loads(venv.run(["orchestrate", "status", "--json"], cwd=repo).stdout)
    assert [(i["id"], i["title"], i["status"]) for i in status["items"]] == \
        [("WRK-001", "Add login page", "done")]
    assert status["totals"]["attempts"] == 6

    log = venv.run(["git", "log", "--format=%s"], cwd=repo).stdout.splitlines()
    # A subject not in the checkpoint's shape stays whole, and the comparison shows it.
    assert [m.group(1) if (m := re.match(r"\[WRK-001\]\[(\w+)\] ", s)) else s
            for s in reversed(log) if s.startswith("[WRK-001]")] == list(PHASES), log
    worklog = [json.loads(line) for line in
               (repo / ".orchestrator" / "worklog.jsonl").read_text().splitlines()]
    assert [(w["item"], w["phase"], w["outcome"]) for w in worklog] == \
        [("WRK-001", phase.lower(), "complete") for phase in PHASES]

    # The tour's way to read the item back, from the installed package.
    docs = venv.run(["orchestrate", "show", "WRK-001", "--docs"], cwd=repo).stdout
    assert [line for line in docs.splitlines() if line.startswith("==> ")] == [
        f"==> changes/WRK-001_add-login-page/{name}.md <==" for name in PHASES if name != "BUILD"]
    diff = venv.run(["orchestrate", "show", "WRK-001", "--diff"], cwd=repo).stdout
    assert [line.split("]")[1] + "]" for line in diff.splitlines()
            if line.startswith("    [WRK-001][")] == [f"[{phase}]" for phase in PHASES]


def test_the_demo_runs_headless_from_the_installed_package(venv: Venv, tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    out = venv.run(["orchestrate", "demo", "--headless", "--dir", str(demo), "--speed", "20"],
                   cwd=tmp_path, timeout=300).stdout
    assert "triage finished" in out and "run finished" in out
    status = json.loads(venv.run(["orchestrate", "status", "--json"], cwd=demo).stdout)
    counts = status["counts"]
    assert counts["in_progress"] == 0 and counts["ready"] == 0 and counts["new"] == 0, counts
    started_done = 2  # TL-001 and TL-002 are done in the sample backlog
    assert counts["done"] > started_done + 3, counts
    assert "[TL-003][REVIEW]" in venv.run(["git", "log", "--format=%s"], cwd=demo).stdout
