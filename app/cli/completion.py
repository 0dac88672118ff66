"""Shell completion: `orchestrate completion bash|zsh` prints a script to source.

The script asks orchestrate itself what may come next (`orchestrate __complete
INDEX WORDS...`), so completion follows the real command line (built from the same
argparse parser) and the project's real items: `orchestrate show <TAB>` offers the
ids in BACKLOG.yaml, `unblock` only the blocked ones, `run --target` only those a
run can take. Reading ids uses the store's kept snapshot, so a TAB costs about one
`orchestrate status`. Nothing is offered for a path (the shell completes files).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

from app import exitcodes

BASH = """\
# orchestrate completion for bash: add to ~/.bashrc
#   eval "$(orchestrate completion bash)"
_orchestrate() {
    local IFS=$'\\n'
    COMPREPLY=($(command orchestrate __complete "$COMP_CWORD" "${COMP_WORDS[@]}" \\
                 2>/dev/null))
}
complete -o default -F _orchestrate orchestrate
"""

ZSH = """\
# orchestrate completion for zsh: add to ~/.zshrc
#   eval "$(orchestrate completion zsh)"
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
""" + BASH.split("\n", 2)[2]

SCRIPTS = {"bash": BASH, "zsh": ZSH}
"""The script of each shell."""

ID_DESTS = {"id", "target", "depends_on", "add_dep", "remove_dep", "before", "after",
            "item"}
"""Arguments that name items."""


def script(shell: str) -> str:
    """The completion script for `shell` (bash or zsh)."""
    return SCRIPTS[shell]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps its actions here (stable for years)
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {flag: action for action in parser._actions for flag in action.option_strings}


def candidates(words: Sequence[str], index: int,
               parser: argparse.ArgumentParser) -> list[str]:
    """What may stand at `words[index]` (words[0] is the program), matching its prefix."""
    words = list(words) + [""] * (index + 1 - len(words))
    current = words[index]
    before = words[1:index]
    commands = _subcommands(parser)
    command = next((w for w in before if w in commands), None)
    active = commands[command] if command else parser
    project_dir = _project_dir(before)
    option = _option_wanting_value(before, current, active, parser)
    if option is not None:
        return _values(option, project_dir, command, current)
    if current.startswith("-"):  # hidden options (the served board's) are not offered
        return sorted(f for f, a in _options(active).items()
                      if f.startswith(current) and a.help != argparse.SUPPRESS)
    if command is None:
        return sorted(c for c in commands if c.startswith(current))
    positional = _next_positional(before[before.index(command) + 1:], active)
    if positional is not None:
        return _values(positional, project_dir, command, current)
    return []


def _option_wanting_value(before: list[str], current: str, active: argparse.ArgumentParser,
                          parser: argparse.ArgumentParser) -> argparse.Action | None:
    """The option whose value `current` is: the word before it, or the last option if it
    takes many and `current` is no option itself; None when it is none's."""
    if not before:
        return None
    option = _options(active).get(before[-1]) or _options(parser).get(before[-1])
    if option is not None and option.nargs != 0:
        return option
    # `--depends-on WRK-001 <TAB>`: still the values of the last option, if it takes many
    flags = [w for w in before if w.startswith("-")]
    last = _options(active).get(flags[-1]) if flags else None
    if last is not None and last.nargs in ("*", "+") and not current.startswith("-"):
        return last
    return None


def _next_positional(after_command: list[str],
                     active: argparse.ArgumentParser) -> argparse.Action | None:
    """The command's positional argument that comes next, after the words given."""
    given = [w for w in after_command if not w.startswith("-")]
    positionals = [a for a in active._actions if not a.option_strings]
    return positionals[len(given)] if len(given) < len(positionals) else None


def _values(action: argparse.Action, project_dir: Path | None, command: str | None,
            current: str) -> list[str]:
    if action.choices:
        return sorted(str(c) for c in action.choices if str(c).startswith(current))
    if action.dest == "to":
        from app.backlog.model import PHASES, STATUSES

        return [v for v in (*STATUSES, *PHASES) if v.startswith(current)]
    if action.dest in ("size", "complexity", "risk"):  # `edit` takes none too (no choices=)
        from app.backlog.model import ASSESSMENT_CHOICES

        return sorted(v for v in (*ASSESSMENT_CHOICES[action.dest], "none")
                      if v.startswith(current))
    if action.dest in ID_DESTS:
        return [i for i in _item_ids(project_dir, command) if i.startswith(current.upper())]
    return []  # free text or a path: the shell's own completion


def _project_dir(words: Sequence[str]) -> Path | None:
    for flag, value in pairwise(words):
        if flag in ("-C", "--dir"):
            return Path(value).expanduser()
    return None


def _item_ids(project_dir: Path | None, command: str | None) -> list[str]:
    """The ids of the project's items that fit `command`; none when there is no project."""
    from app.backlog import states
    from app.engine.project import find_project
    from app.errors import OrchestrateError

    try:
        backlog = find_project(project_dir).store().load()
    except (OrchestrateError, OSError):
        return []
    if command == "unblock":
        return [i.id for i in backlog.items if i.status == "blocked"]
    if command == "run":
        return [i.id for i in backlog.items if i.status in states.RUNNABLE]
    if command == "approve":
        return [i.id for i in backlog.items if i.status == "to_review"]
    if command == "reject":
        return [i.id for i in backlog.items if i.status in states.HELD]
    return [i.id for i in backlog.items]


def complete(argv: Sequence[str], parser: argparse.ArgumentParser) -> int:
    """`orchestrate __complete INDEX WORDS...`: one candidate per line."""
    try:
        index = int(argv[0])
    except (IndexError, ValueError):
        return exitcodes.USAGE
    for line in candidates(argv[1:], index, parser):
        print(line)
    return exitcodes.OK
