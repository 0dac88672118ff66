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
`.end` files with time stamps are written there), `lines` (for chatty),
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
import uuid
from pathlib import Path
from typing import Any

DOCS = {"prd": "PRD.md", "research": "RESEARCH.md", "design": "DESIGN.md",
        "spec": "SPEC.md", "review": "REVIEW.md", "investigate": "INVESTIGATION.md"}

# The real CLI's output when not logged in (claude 2.1.197), byte for byte.
NOT_LOGGED_IN_LINES = (
    (
        '{"type":"system","subtype":"init","cwd":"/home/dev/project","session_id":"75e148d3-8b6e-'
        '47aa-befa-65c9a47ef5de","tools":["Task","Bash","CronCreate","CronDelete","CronList","Des'
        'ignSync","Edit","EnterWorktree","ExitWorktree","NotebookEdit","Read","ReportFindings","S'
        'cheduleWakeup","SendMessage","Skill","TaskCreate","TaskGet","TaskList","TaskOutput","Tas'
        'kStop","TaskUpdate","ToolSearch","WebFetch","WebSearch","Workflow","Write"],"mcp_servers'
        '":[],"model":"claude-opus-4-8[1m]","permissionMode":"default","slash_commands":["deep-re'
        'search","design-sync","update-config","verify","debug","code-review","simplify","batch",'
        '"fewer-permission-prompts","loop","claude-api","run","run-skill-generator","clear","comp'
        'act","config","context","heapdump","init","reload-skills","review","security-review","us'
        'age","insights","goal","team-onboarding"],"apiKeySource":"none","claude_code_version":"2'
        '.1.197","output_style":"default","agents":["claude","Explore","general-purpose","Plan","'
        'statusline-setup"],"skills":["deep-research","design-sync","update-config","verify","deb'
        'ug","code-review","simplify","batch","fewer-permission-prompts","loop","claude-api","run'
        '","run-skill-generator"],"plugins":[],"analytics_disabled":false,"product_feedback_disab'
        'led":false,"uuid":"7a27700a-4e67-441e-8552-b8b71162db0d","memory_paths":{"auto":"/home/d'
        'ev/.claude/projects/-home-dev-project/memory/"},"fast_mode_state":"off"}'
    ),
    (
        '{"type":"assistant","message":{"id":"261d0cfe-ea7e-4dd5-ae40-8be70c08d537","container":n'
        'ull,"model":"<synthetic>","role":"assistant","stop_details":null,"stop_reason":"stop_seq'
        'uence","stop_sequence":"","type":"message","usage":{"input_tokens":0,"output_tokens":0,"'
        'cache_creation_input_tokens":0,"cache_read_input_tokens":0,"server_tool_use":{"web_searc'
        'h_requests":0,"web_fetch_requests":0},"service_tier":null,"cache_creation":{"ephemeral_1'
        'h_input_tokens":0,"ephemeral_5m_input_tokens":0},"inference_geo":null,"iterations":null,'
        '"speed":null},"content":[{"type":"text","text":"Not logged in · Please run /login"}],"co'
        'ntext_management":null},"parent_tool_use_id":null,"session_id":"75e148d3-8b6e-47aa-befa-'
        '65c9a47ef5de","uuid":"45322ca2-bc08-4997-9ab8-02cda7d8d24a","error":"authentication_fail'
        'ed"}'
    ),
    (
        '{"type":"result","subtype":"success","is_error":true,"api_error_status":null,"duration_m'
        's":117,"duration_api_ms":0,"num_turns":1,"result":"Not logged in · Please run /login","s'
        'top_reason":"stop_sequence","session_id":"75e148d3-8b6e-47aa-befa-65c9a47ef5de","total_c'
        'ost_usd":0,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_t'
        'okens":0,"output_tokens":0,"server_tool_use":{"web_search_requests":0,"web_fetch_request'
        's":0},"service_tier":"standard","cache_creation":{"ephemeral_1h_input_tokens":0,"ephemer'
        'al_5m_input_tokens":0},"inference_geo":"","iterations":[],"speed":"standard"},"modelUsag'
        'e":{},"permission_denials":[],"terminal_reason":"completed","fast_mode_state":"off","uui'
        'd":"f4bf1e01-3eb7-4430-a314-491df31a5d22"}'
    ),
)
REFUSE_ROOT = ("--dangerously-skip-permissions cannot be used with root/sudo privileges "
               "for security reasons")
DEFAULT_ASSESSMENT = {"size": "small", "complexity": "low", "risk": "low"}
RATE_LIMITED = "API Error: 429 Too Many Requests (rate limit exceeded)"
"""Another agent's rate-limit text, with nothing to tell when it resets."""


class Agent:
    """One scripted agent process."""

    def __init__(self, argv: list[str]) -> None:
        self.prompt = ""
        self.speed = float(os.environ.get("ORCHESTRATE_FAKE_SPEED") or 1)
        script_path = os.environ.get("ORCHESTRATE_FAKE_SCRIPT")
        forced_mode: str | None = None
        args = iter(argv)
        for arg in args:
            if arg in ("-p", "--print"):
                self.prompt = next(args, "")
            elif arg == "--speed":
                self.speed = float(next(args, "1"))
            elif arg == "--script":
                script_path = next(args, None)
            elif arg == "--mode":
                forced_mode = next(args, None)
            elif arg == "--seed":
                os.environ["ORCHESTRATE_FAKE_SEED"] = next(args, "")
        self.speed = self.speed if self.speed > 0 else 1.0
        self.result_file = os.environ.get("ORCHESTRATE_RESULT_FILE", "")
        self.item_id = os.environ.get("ORCHESTRATE_ITEM_ID", "WRK-000")
        self.phase = os.environ.get("ORCHESTRATE_PHASE", "prd")
        self.attempt = int(os.environ.get("ORCHESTRATE_ATTEMPT") or 1)
        self.change_dir = Path(os.environ.get("ORCHESTRATE_CHANGE_DIR") or "changes/item")
        self.session = str(uuid.uuid4())
        script: dict[str, Any] = {}
        if script_path:
            script = json.loads(Path(script_path).read_text(encoding="utf-8"))
        self.behaviour = self._lookup(script)
        if forced_mode:
            self.behaviour["mode"] = forced_mode
        self.mode = str(self.behaviour.get("mode", "complete"))
        self.turns = 0
        self.started = time.monotonic()

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

    # output -----------------------------------------------------------------------------------
    def emit(self, data: dict[str, Any] | str | bytes, pause: float = 0.0) -> None:
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data + b"\n")
        else:
            text = data if isinstance(data, str) else json.dumps(
                data, ensure_ascii=False, separators=(",", ":"))
            sys.stdout.buffer.write(text.encode("utf-8") + b"\n")
        sys.stdout.buffer.flush()
        if pause:
            time.sleep(pause / self.speed)

    def init(self) -> None:
        self.emit({"type": "system", "subtype": "init", "cwd": os.getcwd(),
                   "session_id": self.session, "tools": ["Bash", "Edit", "Read", "Write"],
                   "model": str(self.behaviour.get("model", "scripted-agent")),
                   "permissionMode": "bypassPermissions",
                   "claude_code_version": "scripted"})

    def say(self, text: str, pause: float = 0.0) -> None:
        self.turns += 1
        self.emit({"type": "assistant", "session_id": self.session, "message": {
            "role": "assistant", "type": "message",
            "content": [{"type": "text", "text": text}]}}, pause)

    def tool(self, name: str, args: dict[str, Any], output: str, pause: float = 0.0,
             is_error: bool = False) -> None:
        self.turns += 1
        tool_id = "toolu_" + uuid.uuid4().hex[:20]
        self.emit({"type": "assistant", "session_id": self.session, "message": {
            "role": "assistant", "type": "message",
            "content": [{"type": "tool_use", "id": tool_id, "name": name, "input": args}]}})
        self.emit({"type": "user", "session_id": self.session, "message": {
            "role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id,
                                         "content": output, "is_error": is_error}]}}, pause)

    def final(self, text: str, is_error: bool = False) -> None:
        self.emit({"type": "result", "subtype": "success", "is_error": is_error,
                   "duration_ms": int((time.monotonic() - self.started) * 1000),
                   "num_turns": max(self.turns, 1), "result": text,
                   "session_id": self.session,
                   "total_cost_usd": round(0.01 * max(self.turns, 1), 4)})

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
        self._write_file(json.dumps(data, indent=2))

    def _write_file(self, text: str) -> None:
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

    # modes ------------------------------------------------------------------------------------
    def record(self, what: str) -> None:
        """`<ID>_<phase>.start`/`.end`: the time; `.cwd`: where the agent was started."""
        folder = self.behaviour.get("record")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            Path(folder, f"{self.item_id}_{self.phase}.{what}").write_text(
                f"{time.time():.6f}\n")
            if what == "start":
                Path(folder, f"{self.item_id}_{self.phase}.cwd").write_text(os.getcwd())

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

    def run(self) -> int:
        self.record("start")
        try:
            return self._run()
        finally:
            self.record("end")

    def _run(self) -> int:
        mode = self.mode
        b = self.behaviour
        if mode == "not_logged_in":
            for line in NOT_LOGGED_IN_LINES:
                self.emit(line)
            return 1
        if mode == "refuse_root":
            sys.stderr.write(REFUSE_ROOT + "\n")
            return 1
        if mode in ("ignore_term", "spawn_children"):
            # Before the first line: once a test sees output, SIGTERM is surely ignored.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        self.init()
        if b.get("daemon"):
            start_daemon(Path(b["daemon"]), scrub=bool(b.get("scrub")))
        if mode == "rate_limited":
            self.final(RATE_LIMITED, is_error=True)
            return 1
        if mode == "usage_limit":
            if b.get("sleep"):  # meets the limit a while into its work, as agents do
                time.sleep(float(b["sleep"]) / self.speed)
            self.usage_limit(b.get("resets_in"))
            return 1
        if b.get("limit_warning") is not None:
            self.emit({"type": "rate_limit_event", "rate_limit_info": {
                "status": "allowed_warning", "resetsAt": int(time.time()) + 3600,
                "rateLimitType": "five_hour", "utilization": float(b["limit_warning"]),
                "isUsingOverage": False}, "session_id": self.session})
        for n in range(int(b.get("retries", 0))):
            self.api_retry(n + 1, 529, "overloaded")
        if mode == "max_turns":
            self.emit({"type": "result", "subtype": "error_max_turns", "is_error": True,
                       "num_turns": 3, "stop_reason": "tool_use", "session_id": self.session,
                       "total_cost_usd": 0.01,
                       "errors": ["Reached maximum number of turns (2)"]})
            return 1
        if mode == "no_api":
            for n in range(10):
                self.api_retry(n + 1, None, "unknown")
            words = "API Error: Unable to connect to API (ConnectionRefused)"
            self.emit({"type": "assistant", "message": {
                "model": "<synthetic>", "role": "assistant", "type": "message",
                "content": [{"type": "text", "text": words}]}, "error": "server_error",
                "session_id": self.session})
            self.emit({"type": "result", "subtype": "success", "is_error": True,
                       "num_turns": 1, "result": words, "session_id": self.session,
                       "total_cost_usd": 0})
            return 1
        if mode == "runaway":
            self.runaway(int(b.get("tokens", 400_000)), float(b.get("every", 0.1)))
        if mode in ("hang", "ignore_term", "spawn_children"):
            if mode == "spawn_children":
                pids = []
                for _ in range(int(b.get("children", 2))):
                    child = subprocess.Popen(  # same process group: the group kill reaches it
                        [sys.executable, "-c",
                         "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                         "time.sleep(3600)"])
                    pids.append(child.pid)
                if b.get("pids_file"):
                    Path(b["pids_file"]).write_text(" ".join(map(str, pids)))
            self.say("Working on it…")
            while True:
                time.sleep(3600)
        if b.get("sleep"):
            time.sleep(float(b["sleep"]) / self.speed)
        self.write_files()
        if mode == "demo":
            return self.demo()
        self.say(f"Starting the {self.phase} phase for {self.item_id}.")
        if mode == "huge_line":
            self.say("x" * 300_000)
        elif mode == "binary":
            self.emit(b"\xff\xfe\x00garbage \xc3\x28 bytes \x80\x81")
        elif mode == "chatty":
            for n in range(int(b.get("lines", 5000))):
                self.emit({"type": "assistant", "message": {"content": [
                    {"type": "text", "text": f"chatty line {n}"}]}})
        elif mode == "slow":
            for n in range(int(b.get("lines", 5))):
                self.say(f"slow line {n}", pause=0.2)
        if mode == "crash":
            sys.stderr.write("Traceback (most recent call last):\n  File \"agent\", line 1\n"
                             "RuntimeError: the scripted agent crashed\n")
            return int(b.get("exit", 3))
        if mode == "blocked":
            reason = b.get("reason", "needs a decision from a person")
            self.say(f"I cannot continue: {reason}")
            self.write_result("blocked", "blocked", blocked_reason=reason)
            self.final(f"Blocked: {reason}")
            return int(b.get("exit", 0))
        if mode == "failed":
            reason = b.get("reason", "the scripted agent failed")
            self.write_result("failed", reason, blocked_reason=None, reason=reason)
            self.final(f"Failed: {reason}")
            return int(b.get("exit", 0))
        if mode in ("garbage", "no_result", "wrong_id"):
            self.write_doc()
            if mode == "garbage":
                self._write_file("{this is not json")
            elif mode == "wrong_id":
                self.write_result("complete", "done", item_id="ZZZ-999")
            self.final("Done.")
            return int(b.get("exit", 0))
        if self.phase == "build":
            if mode == "progress":
                ticks = bool(b.get("tick", True))
                left = self.tick(1 if ticks else 0)
                result = "progress" if left or not ticks else "complete"
            else:  # complete: every box, or only `tick` of them (a premature complete)
                count = b.get("tick")
                self.tick(None if count is None or count is True else int(count))
                result = "complete"
            summary = b.get("summary", "build step done" if result == "progress" else
                            "build finished")
        else:
            self.write_doc()
            result = "complete"
            summary = b.get("summary", f"{self.phase} done for {self.item_id}")
        self.write_result(result, summary)
        self.final(summary)
        return int(b.get("exit", 0))

    def runaway(self, tokens: int, every: float) -> None:
        """Tool calls forever, each a new message of `tokens` input tokens (as the real CLI
        prints them: samples/claude-2.1.197/max-turns.jsonl), never answering."""
        n = 0
        while True:
            n += 1
            tool_id = f"toolu_{n:020d}"
            self.emit({"type": "assistant", "session_id": self.session, "message": {
                "id": f"msg_{n:024d}", "type": "message", "role": "assistant",
                "model": "claude-sonnet-4-5-20250929",
                "content": [{"type": "tool_use", "id": tool_id, "name": "Bash",
                             "input": {"command": f"echo step {n}"}}],
                "usage": {"input_tokens": tokens, "output_tokens": 1,
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}})
            self.emit({"type": "user", "session_id": self.session, "message": {
                "role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id,
                                             "content": f"step {n}", "is_error": False}]}},
                      every)

    def api_retry(self, attempt: int, status: int | None, error: str) -> None:
        """One `system/api_retry` line as the CLI prints it (no real wait)."""
        self.emit({"type": "system", "subtype": "api_retry", "attempt": attempt,
                   "max_retries": 10, "retry_delay_ms": 500.0 * 2 ** (attempt - 1),
                   "error_status": status, "error": error, "session_id": self.session})

    def usage_limit(self, resets_in: float | None) -> None:
        """The real CLI's three lines at a usage limit (samples/usage-limit-subscription)."""
        info: dict[str, Any] = {"status": "rejected", "rateLimitType": "five_hour",
                                "overageStatus": "rejected", "isUsingOverage": False}
        if resets_in is not None:
            at = time.time() + float(resets_in)
            info["resetsAt"] = int(at + 0.999)  # whole seconds, as the CLI gives them
            clock = time.strftime("%I:%M%p", time.gmtime(at)).lstrip("0").lower()
            words = f"You've hit your limit \u00b7 resets {clock} (UTC)"
        else:
            words = "You've hit your session limit"
        self.emit({"type": "rate_limit_event", "rate_limit_info": info,
                   "session_id": self.session})
        self.emit({"type": "assistant", "message": {
            "model": "<synthetic>", "role": "assistant", "type": "message",
            "content": [{"type": "text", "text": words}]}, "error": "rate_limit",
            "session_id": self.session})
        self.emit({"type": "result", "subtype": "success", "is_error": True,
                   "api_error_status": 429, "duration_ms": 185, "num_turns": 1,
                   "result": words, "session_id": self.session, "total_cost_usd": 0})

    # the demo personality ----------------------------------------------------------------------
    def demo(self) -> int:
        """The demo's believable agent (app/demo/personality.py)."""
        from app.demo.personality import play

        return play(self)

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
    return Agent(list(sys.argv[1:] if argv is None else argv)).run()


if __name__ == "__main__":
    raise SystemExit(main())
