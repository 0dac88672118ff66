"""Where a project's files live, finding the project, and `orchestrate init`."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from app.backlog.atomic import atomic_write
from app.backlog.model import PREFIX_PATTERN
from app.backlog.store import BacklogStore
from app.engine.config_template import DEFAULT_CONFIG_TEXT
from app.errors import BacklogError, OrchestrateError
from app.structs import Struct

if TYPE_CHECKING:
    from app.engine.config import Config

BACKLOG_NAME = "BACKLOG.yaml"
CONFIG_NAME = "orchestrate.toml"
STATE_DIR = ".orchestrator"


# One store per BACKLOG.yaml in this process (the store itself is safe across threads).
_STORES: dict[Path, BacklogStore] = {}
_STORES_LOCK = threading.Lock()


class Project(Struct, frozen=True):
    """A user's project: the folder holding BACKLOG.yaml."""

    root: Path

    @property
    def backlog_path(self) -> Path:
        return self.root / BACKLOG_NAME

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def results_dir(self) -> Path:
        return self.state_dir / "results"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def prompts_dir(self) -> Path:
        return self.state_dir / "prompts"

    @property
    def worklog_path(self) -> Path:
        return self.state_dir / "worklog.jsonl"

    @property
    def worktrees_dir(self) -> Path:
        """Lanes' git worktrees, one per item: `.orchestrator/worktrees/<ID>`."""
        return self.state_dir / "worktrees"

    @property
    def history_path(self) -> Path:
        """A person's changes (add, edit, move, advance, unblock, delete, undo), one JSON
        line each, with what `undo` needs."""
        return self.state_dir / "history.jsonl"

    @property
    def run_lock_path(self) -> Path:
        return self.state_dir / "run.lock"

    @property
    def pause_path(self) -> Path:
        """A usage limit's pause, kept so a run started again before the reset waits."""
        return self.state_dir / "pause.json"

    @property
    def pauses_path(self) -> Path:
        """Each usage-limit pause once it ended, one JSON line each (pausing.py): how long
        runs waited for limits (`orchestrate report`)."""
        return self.state_dir / "pauses.jsonl"

    @property
    def limits_path(self) -> Path:
        """Each agent's usage limit and its reset (routing.py), kept across runs."""
        return self.state_dir / "limits.json"

    @property
    def mcp_dir(self) -> Path:
        """An attempt's MCP server config and the question it asked (mcpattempt.py)."""
        return self.state_dir / "mcp"

    @property
    def run_state_path(self) -> Path:
        return self.state_dir / "run.json"

    def store(self) -> BacklogStore:
        """The backlog store of this project: one per file in this process, so its parsed
        document is reused by every caller (a fresh store would parse the file again)."""
        path = self.backlog_path.resolve()
        with _STORES_LOCK:
            store = _STORES.get(path)
            if store is None:
                store = _STORES[path] = BacklogStore(self.backlog_path,
                                                     self.state_dir / "backlog.lock")
            return store

    def config(self) -> Config:
        """orchestrate.toml, or the defaults."""
        from app.engine.config import load_config  # tomllib and the tables: when first read

        return load_config(self.config_path)

    def ensure_state_dirs(self) -> None:
        """Create .orchestrator/ and its folders (git-ignored by their own .gitignore)."""
        for folder in (self.state_dir, self.results_dir, self.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        ignore = self.state_dir / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# orchestrate's own state: never committed\n*\n")


def find_project(start: Path | None = None) -> Project:
    """The nearest folder at or above `start` holding BACKLOG.yaml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / BACKLOG_NAME).is_file():
            return Project(folder)
    raise BacklogError(f"{BACKLOG_NAME} not found in {here} or above: run `orchestrate init` "
                       "to create one")


def init_project(root: Path, prefix: str = "WRK") -> list[str]:
    """Create BACKLOG.yaml, orchestrate.toml and .orchestrator/; never overwrite. Returns notes."""
    prefix = prefix.strip().upper()
    if not PREFIX_PATTERN.match(prefix):
        raise OrchestrateError(f"invalid prefix {prefix!r}: use capital letters and digits, "
                               "starting with a letter (like WRK)")
    project = Project(root.resolve())
    notes: list[str] = []
    project.state_dir.mkdir(parents=True, exist_ok=True)
    with project.store().locked():  # two inits at once: one creates, the other leaves it
        if project.backlog_path.exists():
            notes.append(f"{BACKLOG_NAME} already exists; left as it is")
        else:
            text = (
                "# The backlog: orchestrate and people both edit this file.\n"
                "# Comments and key order you write here are kept.\n"
                f"schema_version: 1\nprefix: {prefix}\nnext_id: 1\nitems: []\n"
            )
            atomic_write(project.backlog_path, text.encode())
            notes.append(f"created {BACKLOG_NAME} (prefix {prefix})")
    if project.config_path.exists():
        notes.append(f"{CONFIG_NAME} already exists; left as it is")
    else:
        atomic_write(project.config_path, DEFAULT_CONFIG_TEXT.encode())
        notes.append(f"created {CONFIG_NAME} (all defaults)")
    project.ensure_state_dirs()
    notes.append(f"created {STATE_DIR}/ (git-ignored)")
    return notes
