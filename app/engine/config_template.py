"""The orchestrate.toml that `orchestrate init` writes: every key, its default, a word on
each (tests/engine/test_config.py reads it back as the defaults)."""

DEFAULT_CONFIG_TEXT = """\
# orchestrate configuration: every key is optional; the defaults are shown.

[agent]
# The default agent (named "default"): claude, codex, gemini, opencode or amp.
kind = "claude"
# Its command (each kind has a preset); {prompt} becomes one argument (never a shell).
command = ["claude", "-p", "{prompt}", "--output-format", "stream-json",
           "--verbose", "--dangerously-skip-permissions"]
phase_timeout_s = 1800
kill_grace_s = 5
# max_cost_per_attempt_usd = 2.0   # passed to claude as --max-budget-usd

# More agents (another vendor, another account), with the keys of [agent] and env:
# [agents.codex]
# kind = "codex"
# env = { CODEX_HOME = "/home/me/.codex-work" }
# [phases]               # an agent per phase (others: "default")
# review = "codex"

[run]
max_retries = 3          # attempts after the first
backoff_s = 15           # times the attempt number
cooldown_s = 5           # between phases
circuit_breaker = 3      # consecutive failed phases stop the run
checkpoint = true        # git commit after every phase
max_parallel = 1         # items at once; above 1 each gets a branch and a git worktree
# branch_prefix = "orchestrate/"   # a lane's branch: orchestrate/WRK-001
# merge = "merge"        # a finished lane: "merge" commit, "rebase" then fast-forward, "none"
# merge_when = "auto"    # "review": a finished item waits for `orchestrate approve ID`
# max_cost_usd = 20.0    # no new attempt once the run has spent this (exit 5)
# fallback = ["default", "codex"]   # where an attempt goes when its agent is limited

[guardrails]             # autonomous runs only take items within these
max_size = "medium"
max_risk = "low"

[triage]
max_concurrent = 3

[limits]                 # a usage limit pauses the whole run, then it resumes
resume_margin_s = 60     # after the reset time the agent names
retry_interval_s = 300   # no reset time named: wait this, doubling ...
retry_interval_max_s = 3600  # ... up to this
max_wait_h = 12          # a reset further away stops the run (exit 4)

# [notify]               # an argv that reads one JSON object on stdin (docs/engine.md)
# command = ["notify-send", "orchestrate"]

# [gates.build]          # quality gates: a complete answer must pass them too
# command = ["pytest", "-q"]   # run in the item's workspace; non-zero: the attempt fails
# [gates.prd]
# min_success_criteria = 3     # list items under PRD.md's "Success criteria" heading
# [gates.spec]
# min_tasks = 2                # SPEC.md's task boxes

# [prompts]              # per-phase templates; also .orchestrator/prompts/<phase>.md
# prd = "/changes:prd {item_id}"
"""
