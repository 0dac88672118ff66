"""A scripted stand-in for `claude -p`: same argv shape, same stream-json, same result file.

Run it as `[sys.executable, "-m", "app.demo.scripted_agent", "-p", "{prompt}", ...]`
(any other claude flag is accepted and ignored). It reads the agent contract's
environment (ORCHESTRATE_RESULT_FILE, ORCHESTRATE_ITEM_ID, ORCHESTRATE_PHASE,
ORCHESTRATE_ATTEMPT, ORCHESTRATE_CHANGE_DIR), prints stream-json lines like the
real CLI, writes plausible phase documents into the change folder, and writes
the result file, unless its script says otherwise.

Behaviour comes from a JSON script named by `ORCHESTRATE_FAKE_SCRIPT` (or
`--script PATH`); without one every phase completes. The script maps a phase
to a behaviour, optionally per attempt, optionally per item:

    {"default": "complete",
     "prd": {"1": "failed", "2": "complete"},
     "build": "progress",
     "items": {"WRK-002": {"triage": {"mode": "blocked", "reason": "needs a person"}}}}

Lookup order: items[ID][phase][attempt], items[ID][phase]["*"], items[ID][phase],
items[ID]["default"], then the same without `items`. A behaviour is a mode name
or an object `{"mode": ..., options}`. Options: `reason`, `summary`,
`assessment` ({size, complexity, risk}), `follow_ups`, `needs_investigation`,
`sleep` (seconds before answering), `record` (a folder: `<ID>_<phase>.start` /
`.end` files with time stamps are written there, `.cwd` and `.prompt` what it was
given), `lines` (for chatty),
`criteria` (how many success criteria PRD.md lists, default 3, at most 5),
`children` and `pids_file` (for spawn_children), `model` (the init line's model, as
Claude Code names it, e.g. `claude-opus-4-8[1m]`), `write` (an object: path → text,
files written relative to the agent's working directory before it answers; where a
text holds conflict markers, `resolve` true first rewrites every file git reports
conflicted to the branch's side), `limit_warning` (a number 0-1:
first print an `allowed_warning` rate_limit_event with that utilization), `retries`
(first print that many system/api_retry lines, 529 overloaded), `tick` (false: progress
without ticking a box; a number with complete: tick only that many, yet answer
complete), `exit` (exit code), `daemon` (a file: first start a
daemon as agents start dev servers, double fork and setsid, that sleeps and
writes its pid there; with `scrub` true it also drops its environment).

Modes:
  complete        the phase's document, result complete (build: ticks every box)
  progress        ticks the next unchecked SPEC box; complete once none is left
  blocked         result blocked with `reason`
  failed          result failed with `reason`
  garbage         a result file that is not JSON
  no_result       exits 0 without a result file
  wrong_id        a result for another item
  crash           a traceback on stderr, exit 3, no result file
  hang            prints the init line, then sleeps forever
  runaway         tool calls forever, each message using `tokens` input tokens (default
                  400,000) as the API reports them, a pause of `every` seconds (default
                  0.1) apart; never answers (what a budget must stop)
  ignore_term     ignores SIGTERM, then sleeps forever
  spawn_children  starts `children` sleeping processes in its own group (their pids
                  go to `pids_file`), ignores SIGTERM, sleeps forever
  not_logged_in   prints the real CLI's three "Not logged in" lines, exits 1
  rate_limited    an is_error result "429 Too Many Requests (rate limit exceeded)", exits 1
  usage_limit     what Claude Code 2.1.197 prints at a subscription's usage limit: a
                  rejected rate_limit_event (resetsAt `resets_in` seconds from now; no
                  reset time without it), a synthetic assistant line with
                  "error": "rate_limit", an is_error 429 result; exits 1 (after `sleep`)
  max_turns       the CLI's error_max_turns result ("errors": ["Reached maximum number
                  of turns (2)"]), no result file; exits 1
  no_api          ten system/api_retry lines, then "API Error: Unable to connect to API
                  (ConnectionRefused)" as the CLI prints it; exits 1
  refuse_root     the real CLI's refusal of --dangerously-skip-permissions as root
  huge_line       a 300 KB line, then complete
  binary          bytes that are not UTF-8, then complete
  chatty          `lines` (default 5000) lines as fast as it can, then complete
  slow            a pause between lines, then complete
  mcp_block       calls its --mcp-config's orchestrate server's block_item (the SDK's
                  client over stdio) with `reason` as the question; no result file
  mcp_follow_up   calls add_follow_up with `title` there, then complete
  demo            a believable agent: varied text and tool calls, mostly complete,
                  sometimes failing once or blocked (seeded: ORCHESTRATE_FAKE_SEED);
                  triage returns a random assessment (sometimes medium risk or size,
                  which the default guardrails block) and its summary names the
                  assessment it returns, e.g. "Triaged: small size, low complexity,
                  medium risk"

Timing: pauses are divided by `--speed X` / ORCHESTRATE_FAKE_SPEED (default 1).
Scripted modes other than slow and demo do not pause at all. `--mode M` forces a
mode for every phase (e.g. `--mode demo`); `--seed S` / ORCHESTRATE_FAKE_SEED picks
the demo's random choices (the same seed, item, phase and attempt give the same run).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from app.demo import mcpcall
from app.demo.transcript import NOT_LOGGED_IN_LINES, Transcript

DOCS = {"prd": "PRD.md", "research": "RESEARCH.md", "design": "DESIGN.md",
        "spec": "SPEC.md", "review": "REVIEW.md", "investigate": "INVESTIGATION.md"}

CRITERIA = ("It does what its title says", "Its tests pass", "The docs say how to use it",
            "Nothing else changes", "It is fast enough to go unnoticed")
"""PRD.md's success criteria (the `criteria` option: how many, default 3)."""
REFUSE_ROOT = ("--dangerously-skip-permissions cannot be used with root/sudo privileges "
               "for security reasons")
DEFAULT_ASSESSMENT = {"size": "small", "complexity": "low", "risk": "low"}
RATE_LIMITED = "API Error: 429 Too Many Requests (rate limit exceeded)"
"""Another agent's rate-limit text, with nothing to tell when it resets."""


class Agent(Transcript):
    """One scripted agent process: its script, its files, and the mode it plays."""

    def __init__(self, argv: list[str]) -> None:
        self.prompt = ""
        self.mcp: dict[str, dict[str, Any]] = {}
        speed = float(os.environ.get("ORCHESTRATE_FAKE_SPEED") or 1)
        script_path = os.environ.get("ORCHESTRATE_FAKE_SCRIPT")
        forced_mode: str | None = None
        args = iter(argv)
        for arg in args:
            if arg in ("-p", "--print"):
                self.prompt = next(args, "")
            elif arg == "--speed":
                speed = float(next(args, "1"))
            elif arg == "--script":
                script_path = next(args, None)
            elif arg == "--mode":
                forced_mode = next(args, None)
            elif arg == "--seed":
                os.environ["ORCHESTRATE_FAKE_SEED"] = next(args, "")
            elif arg == "--mcp-config":  # as claude: its servers are listed at init
                self.mcp = mcpcall.servers(next(args, "{}"))
        self.result_file = os.environ.get("ORCHESTRATE_RESULT_FILE", "")
        self.item_id = os.environ.get("ORCHESTRATE_ITEM_ID", "WRK-000")
        self.phase = os.environ.get("ORCHESTRATE_PHASE", "prd")
        self.attempt = int(os.environ.get("ORCHESTRATE_ATTEMPT") or 1)
        self.change_dir = Path(os.environ.get("ORCHESTRATE_CHANGE_DIR") or "changes/item")
        script: dict[str, Any] = {}
        if script_path:
            script = json.loads(Path(script_path).read_text(encoding="utf-8"))
        self.behaviour = self._lookup(script)
        if forced_mode:
            self.behaviour["mode"] = forced_mode
        self.mode = str(self.behaviour.get("mode", "complete"))
        super().__init__(speed if speed > 0 else 1.0,
                         str(self.behaviour.get("model", "scripted-agent")))
        if self.mcp:
            self.mcp_servers = [{"name": n, "status": "connected"} for n in self.mcp]

    # the script -------------------------------------------------------------------------------
    def _lookup(self, script: dict[str, Any]) -> dict[str, Any]:
        scopes = []
        items = script.get("items")
        if isinstance(items, dict) and isinstance(items.get(self.item_id), dict):
            scopes.append(items[self.item_id])
        scopes.append(script)
        for scope in scopes:
            entry = scope.get(self.phase)
            if isinstance(entry, dict) and "mode" not in entry:
                entry = entry.get(str(self.attempt), entry.get("*"))
            if entry is None:
                entry = scope.get("default")
            if entry is not None:
                return dict(entry) if isinstance(entry, dict) else {"mode": str(entry)}
        return {"mode": "complete"}

    def exit_code(self, default: int = 0) -> int:
        """The `exit` option, else `default`."""
        return int(self.behaviour.get("exit", default))

    def pause(self) -> None:
        """The `sleep` option: seconds (divided by the speed) before going on."""
        if self.behaviour.get("sleep"):
            time.sleep(float(self.behaviour["sleep"]) / self.speed)

    # the result file --------------------------------------------------------------------------
    def write_result(self, result: str, summary: str, **extra: Any) -> None:
        data: dict[str, Any] = {
            "item_id": self.item_id, "phase": self.phase, "result": result,
            "summary": summary, "blocked_reason": None,
            "assessment": self.behaviour.get("assessment", DEFAULT_ASSESSMENT
                                             if self.phase in ("triage", "investigate")
                                             else None),
            "follow_ups": self.behaviour.get("follow_ups", []),
        }
        if "needs_investigation" in self.behaviour:
            data["needs_investigation"] = bool(self.behaviour["needs_investigation"])
        data.update(extra)
        self.write_result_text(json.dumps(data, indent=2))

    def write_result_text(self, text: str) -> None:
        if not self.result_file:
            return
        path = Path(self.result_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)

    # documents --------------------------------------------------------------------------------
    @property
    def spec_path(self) -> Path:
        return self.change_dir / "SPEC.md"

    def write_doc(self) -> None:
        """The phase's document in the change folder (so checkpoints have content)."""
        self.change_dir.mkdir(parents=True, exist_ok=True)
        name = DOCS.get(self.phase)
        if name is None:
            return
        path = self.change_dir / name
        if self.phase == "spec":
            text = (f"# SPEC {self.item_id}\n\n## Phase 1: Groundwork\n\n"
                    "- [ ] Add the data model\n- [ ] Write its tests\n\n"
                    "## Phase 2: Wire it up\n\n- [ ] Connect the handler\n"
                    "- [ ] Document the behaviour\n")
        else:
            text = (f"# {name[:-3].title()} for {self.item_id}\n\n"
                    f"Written by the scripted agent, attempt {self.attempt}.\n")
        if self.phase == "prd":
            count = int(self.behaviour.get("criteria", 3))
            text += "\n## Success criteria\n\n" + "".join(
                f"- {line}\n" for line in CRITERIA[:count])
        self.tool("Write", {"file_path": str(path), "content": text}, f"Wrote {path}")
        path.write_text(text, encoding="utf-8")

    def tick(self, count: int | None = 1) -> int:
        """Tick the next `count` unchecked boxes (None: all); returns how many are left."""
        try:
            text = self.spec_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return 0
        lines = text.splitlines(keepends=True)
        ticked = 0
        for i, line in enumerate(lines):
            if re.match(r"^\s*[-*] \[ \]", line) and (count is None or ticked < count):
                lines[i] = line.replace("[ ]", "[x]", 1)
                ticked += 1
                self.tool("Edit", {"file_path": str(self.spec_path)},
                          f"Ticked: {line.strip()[6:]}")
        self.spec_path.write_text("".join(lines), encoding="utf-8")
        return sum(1 for line in lines if re.match(r"^\s*[-*] \[ \]", line))

    def record(self, what: str) -> None:
        """`<ID>_<phase>.start`/`.end`: the time; `.cwd`: where the agent was started."""
        folder = self.behaviour.get("record")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            Path(folder, f"{self.item_id}_{self.phase}.{what}").write_text(
                f"{time.time():.6f}\n")
            if what == "start":
                Path(folder, f"{self.item_id}_{self.phase}.cwd").write_text(os.getcwd())
                Path(folder, f"{self.item_id}_{self.phase}.prompt").write_text(self.prompt)

    def write_files(self) -> None:
        """The `write` option: files in the working directory (the agent's checkout)."""
        if self.behaviour.get("resolve"):
            self.resolve_conflicts()
        for name, text in dict(self.behaviour.get("write") or {}).items():
            path = Path(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.tool("Write", {"file_path": str(path), "content": text}, f"Wrote {path}")
            path.write_text(str(text), encoding="utf-8")

    def resolve_conflicts(self) -> None:
        """Keep "ours" of every conflicted file, as an agent resolving a merge would."""
        out = subprocess.run(["git", "diff", "--name-only", "--diff-filter=U"],
                             capture_output=True, text=True, check=False).stdout
        for name in filter(None, out.splitlines()):
            subprocess.run(["git", "checkout", "--ours", "--", name], check=False)
            self.tool("Bash", {"command": f"git checkout --ours -- {name}"},
                      f"Resolved {name}")

    # running ----------------------------------------------------------------------------------
    def run(self) -> int:
        """Play the mode: its step in MODES (any other name plays complete); the exit code."""
        self.record("start")
        try:
            return MODES.get(self.mode, mode_complete)(self)
        finally:
            self.record("end")

    # the stages: a mode's step begins with the one it needs (each does the one before too) --
    def start(self) -> None:
        """The init line, then the `daemon` option."""
        self.init()
        if self.behaviour.get("daemon"):
            start_daemon(Path(self.behaviour["daemon"]),
                         scrub=bool(self.behaviour.get("scrub")))

    def warm_up(self) -> None:
        """start, then the `limit_warning` and `retries` options."""
        self.start()
        if self.behaviour.get("limit_warning") is not None:
            self.limit_warning(float(self.behaviour["limit_warning"]))
        for n in range(int(self.behaviour.get("retries", 0))):
            self.api_retry(n + 1, 529, "overloaded")

    def set_to_work(self) -> None:
        """warm_up, then the `sleep` and `write` (with `resolve`) options."""
        self.warm_up()
        self.pause()
        self.write_files()

    def say_opening(self) -> None:
        """set_to_work, then the opening line: where most modes begin."""
        self.set_to_work()
        self.say(f"Starting the {self.phase} phase for {self.item_id}.")


# The modes: one step each, in the module docstring's order (MODES below has them by name);
# a step begins with the stage it needs and returns the exit code.


def mode_complete(agent: Agent, progress: bool = False) -> int:
    agent.say_opening()
    return answer(agent, progress)


def mode_progress(agent: Agent) -> int:
    return mode_complete(agent, progress=True)


def mode_blocked(agent: Agent) -> int:
    agent.say_opening()
    reason = agent.behaviour.get("reason", "needs a decision from a person")
    agent.say(f"I cannot continue: {reason}")
    agent.write_result("blocked", "blocked", blocked_reason=reason)
    agent.final(f"Blocked: {reason}")
    return agent.exit_code()


def mode_mcp(agent: Agent, tool: str, arguments: dict[str, Any]) -> int:
    agent.say_opening()
    failed, said = mcpcall.call_tool(agent.mcp["orchestrate"], tool, arguments)
    agent.tool(f"mcp__orchestrate__{tool}", arguments, said, is_error=failed)
    return answer(agent) if tool == "add_follow_up" else done(agent)


def mode_failed(agent: Agent) -> int:
    agent.say_opening()
    reason = agent.behaviour.get("reason", "the scripted agent failed")
    agent.write_result("failed", reason, blocked_reason=None, reason=reason)
    agent.final(f"Failed: {reason}")
    return agent.exit_code()


def mode_garbage(agent: Agent) -> int:
    agent.say_opening()
    agent.write_doc()
    agent.write_result_text("{this is not json")
    return done(agent)


def mode_no_result(agent: Agent) -> int:
    agent.say_opening()
    agent.write_doc()
    return done(agent)


def mode_wrong_id(agent: Agent) -> int:
    agent.say_opening()
    agent.write_doc()
    agent.write_result("complete", "done", item_id="ZZZ-999")
    return done(agent)


def mode_crash(agent: Agent) -> int:
    agent.say_opening()
    sys.stderr.write("Traceback (most recent call last):\n  File \"agent\", line 1\n"
                     "RuntimeError: the scripted agent crashed\n")
    return agent.exit_code(3)


def mode_hang(agent: Agent) -> NoReturn:
    agent.warm_up()
    wait_forever(agent)


def mode_runaway(agent: Agent) -> NoReturn:
    agent.warm_up()
    agent.runaway(int(agent.behaviour.get("tokens", 400_000)),
                  float(agent.behaviour.get("every", 0.1)))


def mode_ignore_term(agent: Agent) -> NoReturn:
    # Before the first line: once a test sees output, SIGTERM is surely ignored.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    agent.warm_up()
    wait_forever(agent)


def mode_spawn_children(agent: Agent) -> NoReturn:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # before the first line, as ignore_term
    agent.warm_up()
    pids = []
    for _ in range(int(agent.behaviour.get("children", 2))):
        child = subprocess.Popen(  # same process group: the group kill reaches it
            [sys.executable, "-c",
             "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
             "time.sleep(3600)"])
        pids.append(child.pid)
    if agent.behaviour.get("pids_file"):
        Path(agent.behaviour["pids_file"]).write_text(" ".join(map(str, pids)))
    wait_forever(agent)


def mode_not_logged_in(agent: Agent) -> int:
    for line in NOT_LOGGED_IN_LINES:
        agent.emit(line)
    return 1


def mode_rate_limited(agent: Agent) -> int:
    agent.start()
    agent.final(RATE_LIMITED, is_error=True)
    return 1


def mode_usage_limit(agent: Agent) -> int:
    agent.start()
    agent.pause()  # meets the limit a while into its work, as agents do
    agent.usage_limit(agent.behaviour.get("resets_in"))
    return 1


def mode_max_turns(agent: Agent) -> int:
    agent.warm_up()
    agent.max_turns()
    return 1


def mode_no_api(agent: Agent) -> int:
    agent.warm_up()
    agent.no_api()
    return 1


def mode_refuse_root(agent: Agent) -> int:
    sys.stderr.write(REFUSE_ROOT + "\n")
    return 1


def mode_huge_line(agent: Agent) -> int:
    agent.say_opening()
    agent.say("x" * 300_000)
    return answer(agent)


def mode_binary(agent: Agent) -> int:
    agent.say_opening()
    agent.emit(b"\xff\xfe\x00garbage \xc3\x28 bytes \x80\x81")
    return answer(agent)


def mode_chatty(agent: Agent) -> int:
    agent.say_opening()
    for n in range(int(agent.behaviour.get("lines", 5000))):
        agent.emit({"type": "assistant", "message": {"content": [
            {"type": "text", "text": f"chatty line {n}"}]}})
    return answer(agent)


def mode_slow(agent: Agent) -> int:
    agent.say_opening()
    for n in range(int(agent.behaviour.get("lines", 5))):
        agent.say(f"slow line {n}", pause=0.2)
    return answer(agent)


def mode_demo(agent: Agent) -> int:
    """The demo's believable agent (app/demo/personality.py)."""
    from app.demo.personality import play

    agent.set_to_work()
    return play(agent)


# What the steps share.


def answer(agent: Agent, progress: bool = False) -> int:
    """Complete (or progress): the phase's document (build: its ticks), the result file,
    the result line."""
    if agent.phase == "build":
        result, summary = build_step(agent, progress)
    else:
        agent.write_doc()
        result = "complete"
        summary = agent.behaviour.get("summary", f"{agent.phase} done for {agent.item_id}")
    agent.write_result(result, summary)
    agent.final(summary)
    return agent.exit_code()


def build_step(agent: Agent, progress: bool) -> tuple[str, str]:
    """Progress: the next box (`tick` false: none); complete: every box, or only `tick`
    of them (a premature complete). The result and its summary."""
    b = agent.behaviour
    if progress:
        ticks = bool(b.get("tick", True))
        left = agent.tick(1 if ticks else 0)
        result = "progress" if left or not ticks else "complete"
    else:
        count = b.get("tick")
        agent.tick(None if count is None or count is True else int(count))
        result = "complete"
    summary = b.get("summary", "build step done" if result == "progress" else
                    "build finished")
    return result, summary


def done(agent: Agent) -> int:
    """garbage, no_result, wrong_id: the result line says done."""
    agent.final("Done.")
    return agent.exit_code()


def wait_forever(agent: Agent) -> NoReturn:
    agent.say("Working on it…")
    while True:
        time.sleep(3600)


MODES: dict[str, Callable[[Agent], int]] = {
    "complete": mode_complete,
    "progress": mode_progress,
    "blocked": mode_blocked,
    "failed": mode_failed,
    "garbage": mode_garbage,
    "no_result": mode_no_result,
    "wrong_id": mode_wrong_id,
    "crash": mode_crash,
    "hang": mode_hang,
    "runaway": mode_runaway,
    "ignore_term": mode_ignore_term,
    "spawn_children": mode_spawn_children,
    "not_logged_in": mode_not_logged_in,
    "rate_limited": mode_rate_limited,
    "usage_limit": mode_usage_limit,
    "max_turns": mode_max_turns,
    "no_api": mode_no_api,
    "refuse_root": mode_refuse_root,
    "huge_line": mode_huge_line,
    "binary": mode_binary,
    "chatty": mode_chatty,
    "slow": mode_slow,
    "demo": mode_demo,
    "mcp_block": lambda a: mode_mcp(a, "block_item", {"question": a.behaviour.get(
        "reason", "Which database should it use?")}),
    "mcp_follow_up": lambda a: mode_mcp(a, "add_follow_up", {"title": a.behaviour.get(
        "title", "Found along the way")}),
}
"""Each mode of the module docstring, by name, and its step; any other name plays
`complete`."""


def start_daemon(pid_file: Path, scrub: bool = False) -> None:
    """A process that leaves our group and session (double fork, setsid) and sleeps, as a
    dev server an agent starts would; its pid goes to `pid_file` once it runs."""
    if os.fork() == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                tmp = pid_file.with_name(pid_file.name + ".tmp")
                tmp.write_text(str(os.getpid()))
                tmp.rename(pid_file)
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):  # off the agent's pipes, as a daemon would be
                    os.dup2(devnull, fd)
                os.execve("/bin/sleep", ["sleep", "3600"], {} if scrub else dict(os.environ))
        finally:
            os._exit(0)
    os.wait()


def main(argv: list[str] | None = None) -> int:
    """Entry point: `python -m app.demo.scripted_agent -p PROMPT [claude flags...]`."""
    words = list(sys.argv[1:] if argv is None else argv)
    if "--version" in words:  # as a real CLI answers `orchestrate agents`
        from app import __version__

        print(f"{__version__} (scripted agent)")
        return 0
    return Agent(words).run()


if __name__ == "__main__":
    raise SystemExit(main())
