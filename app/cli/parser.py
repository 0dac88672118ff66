"""The whole `orchestrate` command line as an argparse parser: every command, option,
help text and example (`orchestrate --help`, the completion script and the tests read it).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from app import __version__, exitcodes
from app.backlog.model import LEVELS, PHASES, SIZES, STATUSES, parse_ids

EXAMPLES = """\
examples:
  orchestrate init --prefix WRK
  orchestrate add "Add login page" --size small --risk low
  orchestrate status
  orchestrate advance WRK-001 --to ready
  orchestrate run --cap 10
  orchestrate            (opens the board)
"""


def epilog() -> str:
    """The top-level help's tail: examples, then the exit codes (from app/exitcodes.py);
    built only with the whole parser (textwrap: ~1 ms of a command's start)."""
    import textwrap

    return EXAMPLES + "\n" + textwrap.fill(f"exit codes: {exitcodes.summary()}.", width=80)


FORCE_HELP = ("when a live run works on the item (its lane is live), stop that lane first "
              "(its agent is stopped; the rest of the run goes on); without it, refused")

def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


_T = TypeVar("_T", int, float)


def bounded(convert: Callable[[str], _T], what: str,
            allowed: Callable[[_T], bool]) -> Callable[[str], _T]:
    """An argparse `type=`: the word converted, if `allowed`; else a usage error (exit 2) in
    orchestrate.toml's words: `argument --cap: must be a whole number of attempts, 0 or
    more, not '-1'`."""
    def parse(text: str) -> _T:
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not allowed(value):  # NaN passes no comparison: refused
            raise argparse.ArgumentTypeError(f"must be {what}, not {text!r}")
        return value
    return parse


ATTEMPTS = bounded(int, "a whole number of attempts, 0 or more", lambda n: n >= 0)
DOLLARS = bounded(float, "a number of dollars, 0 or more", lambda x: x >= 0)
"""As `[run] max_cost_usd` takes it: any number from 0 (infinity too), never NaN."""
PORT = bounded(int, "a port from 0 to 65535 (0: any free one)", lambda n: 0 <= n <= 65535)
SPEED = bounded(float, "a positive number, like 1 or 4", lambda x: 0 < x < math.inf)


def since_time(text: str) -> float:
    """`--since`: a date (its midnight) or an ISO time, in the machine's time zone unless
    it names one; epoch seconds. A usage error (exit 2) otherwise."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a date (2026-11-24) or a time (2026-11-24T21:00, "
            f"2026-11-24T21:00:00Z), not {text!r}") from None
    return (when if when.tzinfo is not None else when.astimezone()).timestamp()


class Ids(argparse.Action):
    """`--depends-on ID...`: ids by commas or spaces, at least one. Without any (say an
    empty shell variable) it is a usage error saying what to do `instead`, never an
    empty list: `edit --depends-on` alone once cleared every dependency without a word."""

    def __init__(self, *args: Any, instead: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instead = instead

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None,
                 option_string: str | None = None) -> None:
        words = [values] if isinstance(values, str) else list(values or ())
        if not parse_ids(" ".join(words)):
            raise argparse.ArgumentError(self, f"give the ids it depends on, or {self.instead}")
        setattr(namespace, self.dest, words)


COMMANDS = ("init", "add", "status", "show", "advance", "unblock", "approve", "reject",
            "delete", "edit", "move", "undo", "run", "stop", "agents", "report", "triage",
            "board", "serve", "mcp", "worker", "demo", "completion")
"""Every command, in the order `--help` lists them (tests/cli/test_cli_help.py holds it)."""


class _Unbuilt:
    """Stands in for the parser of a command this process was not asked for
    (`build_parser(only=...)`): whatever is added to it goes nowhere."""

    def __getattr__(self, name: str) -> Callable[..., _Unbuilt]:
        return lambda *args, **kwargs: self


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `only` (one of COMMANDS), that command's alone: each
    command's parser costs ~0.5 ms to build (argparse looks up its translations every
    time), and one command runs per process."""
    parser = argparse.ArgumentParser(
        prog="orchestrate",
        description="Drive a backlog of changes through an AI-agent pipeline "
                    "(PRD -> Research -> Design -> Spec -> Build -> Review).",
        epilog=epilog() if only is None else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"orchestrate {__version__}")
    parser.add_argument("-C", "--dir", dest="project_dir", type=Path, default=None,
                        help="the project folder (default: the nearest one holding "
                             "BACKLOG.yaml)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str, *examples: str,
                description: str | None = None) -> argparse.ArgumentParser:
        if only is not None and name != only:
            return cast(argparse.ArgumentParser, _Unbuilt())
        return sub.add_parser(name, help=help_text, description=description or help_text,
                              epilog=_examples(*examples),
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    p = command("init", "create BACKLOG.yaml, orchestrate.toml and .orchestrator/ here",
                "orchestrate init --prefix WRK", "orchestrate -C ~/src/app init",
                description="create BACKLOG.yaml, orchestrate.toml and .orchestrator/ here "
                            "(or in -C DIR); files that exist are left as they are")
    p.add_argument("--prefix", default="WRK", help="id prefix, e.g. WRK (default)")

    p = command("add", "add an item to the backlog (status new)",
                'orchestrate add "Add login page" --size small --risk low',
                'orchestrate add "Rate limits" --depends-on WRK-001 --notes "use redis"')
    p.add_argument("title")
    p.add_argument("--size", choices=SIZES, help="your own assessment (triage sets it too)")
    p.add_argument("--complexity", choices=LEVELS)
    p.add_argument("--risk", choices=LEVELS)
    p.add_argument("--notes", help="passed to every agent that works on the item")
    p.add_argument("--depends-on", nargs="*", default=[], metavar="ID", action=Ids,
                   instead="leave --depends-on out",
                   help="items that must be done before a run takes this one (ids by "
                        "commas or spaces)")

    p = command("status", "the backlog grouped by status, with run totals",
                "orchestrate status", "orchestrate status --json | jq '.items[].id'")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = command("show", "everything about one item; its documents and checkpoint diffs",
                "orchestrate show WRK-001", "orchestrate show WRK-001 --docs",
                "orchestrate show WRK-001 --diff | less -R",
                "orchestrate show WRK-001 --json --docs | jq -r '.documents[0].text'",
                description="everything about one item: its fields, where its dependencies "
                            "stand and which items need it, the guardrails' verdict, SPEC.md's "
                            "progress, its attempts, documents and checkpoint commits. "
                            "--docs prints the documents of its change folder (rendered "
                            "Markdown on a terminal, plain text when piped); --diff prints "
                            "each checkpoint commit ([ID][PHASE] ...) with its stat and diff "
                            "(coloured on a terminal)")
    p.add_argument("id")
    p.add_argument("--json", action="store_true",
                   help="machine-readable output (with --docs: each document's text; with "
                        "--diff: each checkpoint's stat and diff)")
    p.add_argument("--docs", action="store_true",
                   help="print the change folder's documents (PRD.md, RESEARCH.md, DESIGN.md, "
                        "SPEC.md, REVIEW.md, then the other .md files)")
    p.add_argument("--diff", action="store_true",
                   help="print every checkpoint commit with its stat and diff, oldest first")

    p = command("advance", "move an item to a status or phase (the person's override)",
                "orchestrate advance WRK-001 --to ready",
                "orchestrate advance WRK-001 --to build",
                'orchestrate advance WRK-001 --to blocked --reason "waiting on design"',
                "orchestrate advance WRK-002 --to done --force   (its lane is live: stop it)")
    p.add_argument("id")
    p.add_argument("--to", required=True, metavar="STATUS|PHASE",
                   help=f"a status ({', '.join(STATUSES)}) or a phase "
                        f"({', '.join(PHASES)}: in_progress at that phase)")
    p.add_argument("--reason", help="why (required with --to blocked)")
    p.add_argument("--notes", help="added to the item's notes, which every later agent reads")
    p.add_argument("--force", action="store_true", help=FORCE_HELP)

    p = command("unblock", "return a blocked item to where it was, with notes",
                'orchestrate unblock WRK-001 --notes "use postgres"')
    p.add_argument("id")
    p.add_argument("--notes", help="what the next agent should know")

    p = command("approve", "merge an item that waits for your review (merge_when = review)",
                "orchestrate approve WRK-001",
                "orchestrate approve WRK-001 --no-merge   (the next run merges it)",
                description="approve an item that waits for your review (to_review): its "
                            "branch is merged into the branch the run started on, as a lane's "
                            "is (a conflict blocks it). With no run live it merges now; a live "
                            "run merges it itself. `orchestrate undo` takes an approve back "
                            "until it is merged")
    p.add_argument("id")
    p.add_argument("--no-merge", action="store_true",
                   help="only approve it: the next `orchestrate run` merges it")
    p.add_argument("--quiet", action="store_true", help="only the final summary")

    p = command("reject", "send an item that waits for your review back to build, with notes",
                'orchestrate reject WRK-001 --notes "the login form needs a rate limit"',
                description="send an item that waits for your review (to_review, or approved "
                            "and not merged yet) back to its build phase: the notes go into "
                            "its next build prompt; its branch goes on from where it is. "
                            "`orchestrate undo` takes a reject back")
    p.add_argument("id")
    p.add_argument("--notes", required=True, help="what to change: the next build reads it")

    p = command("delete", "remove an item (its id is never reused)",
                "orchestrate delete WRK-007",
                "orchestrate delete WRK-002 --force   (its lane is live: stop it first)")
    p.add_argument("id")
    p.add_argument("--force", action="store_true", help=FORCE_HELP)

    p = command("edit", "change an item's title, notes, size, complexity, risk or dependencies",
                'orchestrate edit WRK-001 --title "Add the login page"',
                "orchestrate edit WRK-001 --size medium --risk none",
                "orchestrate edit WRK-003 --add-dep WRK-001 --remove-dep WRK-002",
                "orchestrate edit WRK-003 --depends-on WRK-001,WRK-002",
                "orchestrate edit WRK-003 --clear-deps    (depends on nothing)",
                description="change an item's title, notes, size, complexity, risk or "
                            "dependencies; what is not given stays as it is. A bad value, "
                            "an unknown id or a dependency cycle is refused and BACKLOG.yaml "
                            "is left as it was. `orchestrate undo` takes an edit back")
    p.add_argument("id")
    p.add_argument("--title", help="the new title")
    p.add_argument("--notes", help='what every agent reads about the item (replaces the notes; '
                                   '"" clears them)')
    for name, choices in (("size", SIZES), ("complexity", LEVELS), ("risk", LEVELS)):
        p.add_argument(f"--{name}", metavar="|".join((*choices, "none")),
                       help=f"{', '.join(choices)}, or none to clear it")
    deps = p.add_mutually_exclusive_group()
    deps.add_argument("--depends-on", nargs="*", metavar="ID", action=Ids,
                      instead="use --clear-deps to depend on nothing",
                      help="the whole list of items that must be done first (ids by commas "
                           "or spaces; --clear-deps for none)")
    deps.add_argument("--clear-deps", action="store_true",
                      help="depend on nothing: remove every dependency (undo brings them "
                           "back)")
    p.add_argument("--add-dep", action="append", default=[], metavar="ID",
                   help="one more item that must be done first (repeatable)")
    p.add_argument("--remove-dep", action="append", default=[], metavar="ID",
                   help="an item it no longer waits for (repeatable)")
    p.add_argument("--json", action="store_true", help="the item as it is now, as JSON")

    p = command("move", "put an item elsewhere in the backlog's order (a run's order)",
                "orchestrate move WRK-004 --top", "orchestrate move WRK-004 --before WRK-002",
                "orchestrate move WRK-001 --after WRK-003", "orchestrate move WRK-001 --bottom",
                description="put an item elsewhere in the backlog's order: a run takes ready "
                            "items in that order (items already in progress first). Only the "
                            "item's lines move in BACKLOG.yaml, with the comments above and "
                            "inside it; `orchestrate undo` puts it back")
    p.add_argument("id")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--top", action="store_true", help="first of all")
    where.add_argument("--bottom", action="store_true", help="last of all")
    where.add_argument("--before", metavar="ID", help="just before this item")
    where.add_argument("--after", metavar="ID", help="just after this item")
    p.add_argument("--json", action="store_true", help="where it stands now and the order, "
                                                       "as JSON")

    p = command("undo", "take back your last change (add, edit, move, advance, unblock, approve, "
                "reject, delete)",
                "orchestrate undo", "orchestrate undo --json",
                description="take back your last change made through orchestrate (add, edit, "
                            "move, advance, unblock, approve, reject, delete: the CLI's and "
                            "the board's alike, "
                            "as .orchestrator/history.jsonl holds them); again, it goes further "
                            "back. Undoing an add deletes the item (its id is not reused); "
                            "undoing a delete puts it back where it was. Refused, saying why, "
                            "when the item changed since (say a run moved it on)")
    p.add_argument("--json", action="store_true", help="what was undone, as JSON")

    p = command("run", "walk ready items through the phases with real agent processes",
                "orchestrate run", "orchestrate run --target WRK-003 --cap 6",
                "orchestrate run --json-events > events.jsonl",
                "orchestrate run --detach    (goes on when the terminal closes)")
    p.add_argument("--target", metavar="ID", help="only this item")
    p.add_argument("--cap", type=ATTEMPTS, metavar="N",
                   help="at most N phase attempts (0 or more)")
    p.add_argument("--quiet", action="store_true", help="only the final summary")
    p.add_argument("--json-events", action="store_true", help="one JSON event per line")
    p.add_argument("--no-wait", action="store_true",
                   help="at a usage limit stop (exit 4, saying when it resets) instead of "
                        "pausing until the reset")
    p.add_argument("--max-cost", type=DOLLARS, metavar="USD",
                   help="start no new attempt once the run has spent this many dollars "
                        "(0 or more; exit 5); default [run] max_cost_usd")
    p.add_argument("--detach", action="store_true",
                   help="run in the background, in a session of its own: print its pid and "
                        "log file (.orchestrator/logs/run-TIME.log) and return at once")

    command("stop", "stop the run that holds the lock, whoever started it",
            "orchestrate stop",
            description="stop the run that holds the run lock (a detached run, a run in "
                        "another terminal, a board's run) as SIGTERM does: its agent is "
                        "stopped, the attempt is recorded as interrupted and the item stays "
                        "resumable; waits until the run is gone. Exit 1 when no run is going")

    p = command("agents", "each agent: its CLI and version, what it is for, its limit, "
                          "its spend",
                "orchestrate agents", "orchestrate agents --json | jq '.agents[].limited'",
                description="each agent orchestrate.toml names ([agent] is `default`, "
                            "then every [agents.NAME]): its kind, whether its CLI is found "
                            "and the version it reports, the phases it is first for and its "
                            "place in [run] fallback, until when it is limited, and its "
                            "attempts and cost in the run going on and in all. Exit 1 when "
                            "the CLI of one is not found")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = command("report", "how past runs went: per phase and agent, failures, blocks, limits",
                "orchestrate report", "orchestrate report --since 2026-11-24",
                "orchestrate report --item WRK-003",
                "orchestrate report --plot    (timeline, cost per hour, success per phase)",
                "orchestrate report --json | jq '.phases[] | {name, success_rate}'",
                description="how past runs went, from .orchestrator/worklog.jsonl, "
                            "history.jsonl and pauses.jsonl: per phase and per agent the "
                            "attempts, success rate, median and p90 duration, tokens and "
                            "cost; failures by cause; malformed answers per phase; whether "
                            "the run's blocks needed a person; triage's assessments against "
                            "what done items took; usage limits met and the time waited. "
                            "docs/engine.md (\"The report\") says what each figure means")
    p.add_argument("--since", type=since_time, metavar="DATE",
                   help="only what happened from then on: a date (2026-11-24, its midnight) "
                        "or a time (2026-11-24T21:00; local unless it says Z or +HH:MM)")
    p.add_argument("--item", metavar="ID", help="only this item's attempts and changes")
    shape = p.add_mutually_exclusive_group()
    shape.add_argument("--plot", action="store_true",
                       help="charts instead of tables: a timeline of the attempts per lane, "
                            "cost per hour, success rate per phase")
    shape.add_argument("--json", action="store_true", help="machine-readable output")

    p = command("triage", "assess every new item with a triage agent (in parallel)",
                "orchestrate triage", "orchestrate triage --investigate")
    p.add_argument("--investigate", action="store_true",
                   help="also run the investigate step for researching items")
    p.add_argument("--no-wait", action="store_true",
                   help="at a usage limit stop (exit 4) instead of pausing until the reset")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--json-events", action="store_true")

    p = command("board", "open the live kanban board (the default command)",
                "orchestrate board")
    # Set by `orchestrate serve` for each browser tab's board (app/ui/served.py).
    p.add_argument("--served", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--read-only", action="store_true", help=argparse.SUPPRESS)

    p = command("serve", "the board in a browser: one board per tab, private by default",
                "orchestrate serve", "orchestrate serve --read-only",
                "orchestrate serve --host 0.0.0.0 --port 8080 --read-only",
                description="serve the board to a browser (textual-serve): every tab gets "
                            "a board process of its own over this project. It listens on "
                            "127.0.0.1, and every request needs the secret token in the URL "
                            "it prints at start. A run started from a browser is detached "
                            "(closing the tab does not stop it; `s` or `orchestrate stop` "
                            "does). Ctrl-C stops the server and every board it started "
                            "(exit 0)")
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on (default 127.0.0.1: this machine only; "
                        "0.0.0.0: every network, with a warning of what that exposes)")
    p.add_argument("--port", type=PORT, default=8000,
                   help="the port (default 8000; 0 picks a free one)")
    p.add_argument("--read-only", action="store_true",
                   help="boards that only show: every key that would change the backlog "
                        "or start, pause or stop a run is refused")

    p = command("mcp", "the backlog as an MCP server over stdio, for an agent's tools",
                "orchestrate mcp   (as an agent's CLI starts it)",
                "orchestrate mcp --read-only", "orchestrate mcp --print-config > mcp.json",
                description="serve the backlog to an agent over stdio as a Model Context "
                            "Protocol server (tools: list_items, show_item, add_item, "
                            "edit_item, move_item, advance_item, unblock_item, block_item, "
                            "add_follow_up, backlog_status; every item's change documents "
                            "as resources). Every change goes through the same checks, lock "
                            "and history as the CLI's: `orchestrate undo` takes it back. An "
                            "agent CLI starts it (`claude mcp add orchestrate -- orchestrate "
                            "mcp`; the README has Codex's and Gemini's); you do not run it "
                            "by hand. Needs the optional part: pip install "
                            "'orchestrate[mcp]'")
    p.add_argument("--read-only", action="store_true",
                   help="offer only the reading tools (list_items, show_item, "
                        "backlog_status) and the documents")
    p.add_argument("--print-config", action="store_true",
                   help="print the JSON to paste into an agent's MCP config (mcpServers) "
                        "and exit")

    p = command("worker", "whether this machine (or every Ray node) can take remote attempts",
                "orchestrate worker check", "orchestrate worker check --cluster",
                "orchestrate worker check --cluster --address 10.0.0.5:6379 --json",
                description="check what a worker of [executor] kind = \"ray\" needs: "
                            "Python, orchestrate and Ray (the driver's versions, with "
                            "--cluster), git, and each agent CLI orchestrate.toml names, "
                            "with its version and a login (an API key or its credentials "
                            "file; none found is a warning). Run it on a node, or with "
                            "--cluster where orchestrate.toml is: a task on every node "
                            "that offers the attempts' resources. Exit 1 when something "
                            "an attempt needs is missing (docs/ray.md)")
    p.add_argument("action", choices=("check",), help="check (the only action)")
    p.add_argument("--cluster", action="store_true",
                   help="check every live node of the Ray cluster ([executor] address) "
                        "that offers [executor] resources, from here")
    p.add_argument("--address", default=None,
                   help="with --cluster: the cluster to check (default: [executor] "
                        "address, or auto)")
    p.add_argument("--json", action="store_true", help="every node's checks as JSON")

    p = command("demo", "see a full run on a sample project, no account needed",
                "orchestrate demo", "orchestrate demo --speed 4",
                "orchestrate demo --headless --dir /tmp/demo")
    p.add_argument("--dir", dest="demo_dir", type=Path, help="where to make the sample project")
    p.add_argument("--speed", type=SPEED, default=1.0,
                   help="faster agents (a positive number, e.g. 4)")
    p.add_argument("--headless", action="store_true", help="no board: `orchestrate run` output")

    p = command("completion", "print the shell completion script (bash or zsh)",
                "orchestrate completion bash", "orchestrate completion zsh",
                description='print the shell completion script: add '
                            '`eval "$(orchestrate completion bash)"` to ~/.bashrc (or zsh '
                            'to ~/.zshrc); TAB then completes commands, options and the '
                            "ids of the project's items")
    p.add_argument("shell", choices=("bash", "zsh"))
    return parser
