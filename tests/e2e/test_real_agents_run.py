"""`orchestrate run` with the REAL Codex and Gemini CLIs, and routed by quota between real
CLIs: each against a loopback stand-in for its vendor's API (tests/fake_responses_api.py,
fake_gemini_api.py, fake_messages_api.py), as a person runs it (a subprocess), every
account an agent with an env of its own in orchestrate.toml.

- Codex as `[agent] kind = "codex"` walks an item through every phase; its tokens are
  priced by `[agent] price`; `--no-wait` at its usage limit ends the run naming when it
  resets (its local time).
- Gemini as `[agent] kind = "gemini"` walks an item; its daily quota pauses the run for
  the delay only its stderr names, then the same attempt repeats.
- "Claude by day, Codex when it runs out", and two Claude accounts: the first account's
  usage limit sends the attempt (and the rest of the item) to the next agent, with no
  pause.

The CLIs are found as tests/real_clis.py says; a test whose CLI is missing skips, saying
which and how to install it (.ci/run installs them, pinned).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import fake_gemini_api as gemini_api
import fake_messages_api as claude_api
import fake_responses_api as codex_api
from engine_helpers import make_project, ready, worklog_entries
from fake_messages_api import document_text
from real_clis import REPO, find_cli

from app.backlog.model import PHASES
from app.engine.project import Project
from app.engine.routing import load_limits

CLIS = {name: find_cli(name) for name in ("claude", "codex", "gemini")}
CODEX_PRICE = {"input": 1.25, "output": 10.0, "cached": 0.125}

pytestmark = pytest.mark.e2e


def needs(*names: str) -> pytest.MarkDecorator:
    missing = [CLIS[name][1] for name in names if CLIS[name][0] is None]
    return pytest.mark.skipif(bool(missing), reason="; ".join(missing))


def cli(name: str) -> str:
    path = CLIS[name][0]
    assert path is not None
    return path


@pytest.fixture(autouse=True)
def _timed(request: pytest.FixtureRequest) -> Iterator[None]:
    started = time.monotonic()
    yield
    print(f"{request.node.name}: {time.monotonic() - started:.1f} s")


def run(project: Project, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """`orchestrate run ARGS` in a real process; no vendor's key or home of the person
    running the tests reaches the agents (each agent's env in orchestrate.toml does)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANTHROPIC_", "CLAUDE_", "OPENAI_", "CODEX_", "GEMINI_",
                                "GOOGLE_"))}
    env.update(PYTHONPATH=str(REPO), TZ="UTC")
    return subprocess.run([sys.executable, "-m", "app", "-C", str(project.root), "run", *args],
                          env=env, capture_output=True, text=True, timeout=timeout)


def codex_agent(api: codex_api.FakeResponsesApi, home: Path) -> dict[str, Any]:
    """An agent of kind codex, its account in `home`, talking to `api` only."""
    return {"kind": "codex", "price": CODEX_PRICE, "env": api.cli_env(home),
            "command": [cli("codex"), "exec", "--json", "--sandbox", "workspace-write",
                        "--skip-git-repo-check", *api.cli_args(), "{prompt}"]}


def claude_agent(api: claude_api.FakeMessagesApi, home: Path) -> dict[str, Any]:
    """An agent of kind claude on a subscription whose account is in `home`."""
    return {"kind": "claude", "env": api.cli_env(home, subscription=True),
            "command": [cli("claude"), "-p", "{prompt}", "--output-format", "stream-json",
                        "--verbose", "--permission-mode", "acceptEdits"]}


def project_with(root: Path, default: dict[str, Any], **more: Any) -> Project:
    return make_project(root, [ready()], git=True, command=default.pop("command"),
                        agent={"phase_timeout_s": 120, "kill_grace_s": 2, **default}, **more)


def assert_the_documents(project: Project) -> None:
    item = project.store().load().get("WRK-001")
    assert item.status == "done"
    change = project.root / item.change_dir
    for phase in ("prd", "research", "design", "review"):
        name = "REVIEW.md" if phase == "review" else f"{phase.upper()}.md"
        assert (change / name).read_text(encoding="utf-8") == document_text("WRK-001", phase)
    assert (change / "SPEC.md").read_text(encoding="utf-8") == document_text(
        "WRK-001", "spec").replace("- [ ]", "- [x]")


@needs("codex")
def test_codex_walks_an_item_through_every_phase(tmp_path: Path) -> None:
    with codex_api.FakeResponsesApi(codex_api.phase_brain(), lifetime_s=200) as api:
        project = project_with(tmp_path / "p", codex_agent(api, tmp_path / "codex-home"))
        done = run(project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_the_documents(project)
    entries = worklog_entries(project)
    assert [(e["phase"], e["outcome"], e["agent"], e["kind"]) for e in entries] == [
        (p, "complete", "default", "codex") for p in PHASES]
    # Tokens only, as codex reports them: priced at [agent] price, said to be reckoned.
    assert all(e["input_tokens"] > 0 and e["output_tokens"] > 0 for e in entries)
    assert all(e["cost_usd"] > 0 and e["cost_estimated"] for e in entries)
    assert "▶ WRK-001 prd #1 " in done.stdout and "(codex, pid " in done.stdout
    assert all(r.cwd == project.root for r in api.agent_requests())


@needs("codex")
def test_no_wait_at_a_codex_usage_limit_names_when_it_resets(tmp_path: Path) -> None:
    resets_at = time.time() + 2 * 3600
    limit = codex_api.usage_limit("plus", resets_at)
    with codex_api.FakeResponsesApi(lambda request: limit, lifetime_s=60) as api:
        project = project_with(tmp_path / "p", codex_agent(api, tmp_path / "codex-home"))
        done = run(project, "--no-wait")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "usage limit: You\u2019ve hit your usage limit." in done.stderr
    # Codex names the minute (in its zone, UTC here): the reset is read to that minute.
    assert re.search(r"it resets at .* \(in (1h59m|2h00m)\)", done.stderr), done.stderr
    assert [e["outcome"] for e in worklog_entries(project)] == ["limited"]
    assert project.store().load().get("WRK-001").status != "blocked"


@needs("gemini")
def test_gemini_walks_an_item_and_waits_out_its_daily_quota(tmp_path: Path) -> None:
    brain = gemini_api.first(1, gemini_api.daily_quota(retry_s=2), gemini_api.phase_brain())
    with gemini_api.FakeGeminiApi(brain, lifetime_s=200) as api:
        project = project_with(
            tmp_path / "p",
            {"kind": "gemini", "env": api.cli_env(tmp_path / "gemini-home"),
             "command": [cli("gemini"), "-p", "{prompt}", "--output-format", "stream-json",
                         *api.cli_args()]},
            limits={"resume_margin_s": 1})
        done = run(project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_the_documents(project)
    entries = worklog_entries(project)
    assert [(e["phase"], e["outcome"]) for e in entries] == [
        ("prd", "limited"), *[(p, "complete") for p in PHASES]]
    assert {e["kind"] for e in entries} == {"gemini"}
    assert "You have exhausted your daily quota" in entries[0]["reason"]
    assert "paused: usage limit, resumes at" in done.stdout
    assert all(e["input_tokens"] > 0 for e in entries[1:])


@needs("claude", "codex")
def test_claude_by_day_codex_when_it_runs_out(tmp_path: Path) -> None:
    limited = claude_api.usage_limit(time.time() + 3 * 3600)
    with claude_api.FakeMessagesApi(lambda request: limited, lifetime_s=200) as claude, \
            codex_api.FakeResponsesApi(codex_api.phase_brain(), lifetime_s=200) as codex:
        project = project_with(tmp_path / "p", claude_agent(claude, tmp_path / "claude-home"),
                               run={"fallback": ["default", "codex"]},
                               agents={"codex": codex_agent(codex, tmp_path / "codex-home")})
        done = run(project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_the_documents(project)
    entries = worklog_entries(project)
    assert [(e["phase"], e["outcome"], e["agent"]) for e in entries] == [
        ("prd", "limited", "default"), *[(p, "complete", "codex") for p in PHASES]]
    assert "PAUSED" not in done.stdout.upper()
    assert re.search(r"WRK-001 prd: default met a usage limit \(You've hit your limit.*\); "
                     r"until it resets at .* its attempts go to codex", done.stdout)
    kept = load_limits(project.limits_path)["default"]
    assert kept.resumes_at > time.time() + 2 * 3600
    listed = subprocess.run([sys.executable, "-m", "app", "-C", str(project.root), "agents",
                             "--json"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    agents = {a["name"]: a for a in json.loads(listed.stdout)["agents"]}
    assert agents["default"]["limited"]["reason"].startswith("You've hit your limit")
    assert agents["codex"]["total"]["attempts"] == 6
    assert agents["codex"]["cli"]["version"].startswith("codex-cli ")


@needs("claude")
def test_two_claude_accounts_the_second_takes_over_when_the_first_is_limited(
        tmp_path: Path) -> None:
    limited = claude_api.usage_limit(time.time() + 3600)
    with claude_api.FakeMessagesApi(lambda request: limited, lifetime_s=200) as first, \
            claude_api.FakeMessagesApi(claude_api.phase_brain(), lifetime_s=200) as second:
        project = project_with(tmp_path / "p", claude_agent(first, tmp_path / "account-a"),
                               run={"fallback": ["default", "claude-b"]},
                               agents={"claude-b": claude_agent(second, tmp_path / "account-b")})
        done = run(project, "--cap", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    entries = worklog_entries(project)
    assert [(e["phase"], e["outcome"], e["agent"]) for e in entries] == [
        ("prd", "limited", "default"), ("prd", "complete", "claude-b"),
        ("research", "complete", "claude-b"), ("design", "complete", "claude-b")]
    # Each account is its own: the second one's config folder, not the first's.
    assert (tmp_path / "account-b" / ".claude").is_dir()
    assert len(first.agent_requests()) == 1
