"""Everything in app/ except app/ui/ never imports Textual, and widgets/ never spawn
processes or write files: the board only displays and posts messages.

lint-imports (the contracts in pyproject.toml) checks the layers; this test checks what
import-linter cannot: that importing a module at run time leaves Textual unloaded."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE = sorted(p for p in (ROOT / "app").rglob("*.py")
                if (ROOT / "app" / "ui") not in p.parents)
WIDGETS = sorted((ROOT / "widgets").glob("*.py"))


def module_name(path: Path) -> str:
    """`app/backlog/store.py` -> `app.backlog.store`."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_there_is_an_engine_to_check() -> None:
    names = {module_name(p) for p in ENGINE}
    assert {"app.backlog.store", "app.backlog.yamldoc", "app.backlog.states",
            "app.engine.pipeline", "app.cli.groom", "app.main"} <= names
    assert not [n for n in names if n.startswith("app.ui")]


@pytest.mark.parametrize("module", [module_name(p) for p in ENGINE
                                    if p.stem != "__main__"])
def test_importing_an_engine_module_leaves_textual_unloaded(module: str) -> None:
    code = (f"import sys, {module}\n"
            "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
            "sdk = sorted(m for m in sys.modules if m.split('.')[0] in ('mcp', 'pydantic'))\n"
            "print(len(bad), len(sdk))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    textual, sdk = out.stdout.split()
    assert textual == "0", f"{module} pulls in textual"
    # The MCP SDK (and its pydantic) is `orchestrate mcp`'s alone: no other command pays
    # for it at start, nor needs the optional extra.
    assert sdk == "0" or module.startswith("app.mcpserver"), f"{module} pulls in the MCP SDK"


def imported_names(tree: ast.AST, top_level_only: bool) -> list[str]:
    nodes = tree.body if top_level_only and isinstance(tree, ast.Module) else ast.walk(tree)
    names = []
    for node in nodes:
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", ENGINE, ids=module_name)
def test_engine_source_never_imports_textual_or_the_ui(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    anywhere = imported_names(tree, top_level_only=False)
    assert not [n for n in anywhere if n.split(".")[0] in ("textual", "textual_dev")]
    # The CLI may open the board lazily, inside a function; never at import time.
    top = imported_names(tree, top_level_only=True)
    assert not [n for n in top if n.split(".")[0] == "widgets" or n.startswith("app.ui")]


WRITE_OR_SPAWN = re.compile(
    r"\bimport subprocess\b|\bfrom subprocess\b|\bos\.system\(|\bos\.popen\(|\bos\.exec|"
    r"\bos\.spawn|\bPopen\(|\bcreate_subprocess_|\.write_text\(|\.write_bytes\(|"
    r"\bopen\([^)]*['\"][wax+][bt+]?['\"]|\bos\.open\(|\batomic_write\b|\bos\.(remove|unlink|"
    r"replace|rename)\(|\bshutil\.")


@pytest.mark.parametrize("path", WIDGETS, ids=lambda p: p.name)
def test_widgets_neither_spawn_processes_nor_write_files(path: Path) -> None:
    hits = [f"{path.name}:{n}: {line.strip()}"
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if WRITE_OR_SPAWN.search(line) and not line.lstrip().startswith("#")]
    assert not hits


def test_the_widget_check_catches_what_it_looks_for() -> None:
    for bad in ["import subprocess", "os.system('x')", "open(p, 'w')", "open(p, \"ab\")",
                "p.write_text(s)", "subprocess.Popen(a)"]:
        assert WRITE_OR_SPAWN.search(bad), bad
    assert not WRITE_OR_SPAWN.search("open(p)") and not WRITE_OR_SPAWN.search("open(p, 'r')")


# --- what a headless command pays for at start ------------------------------------------------
NOT_FOR_HEADLESS = ("textual", "rich.console", "rich.live", "portalocker", "importlib.metadata",
                    "zoneinfo", "difflib", "dataclasses", "typing_extensions", "inspect")
"""Modules `orchestrate run --json-events`/`--quiet` and `status --json` never need: the
board's toolkit, rich's drawing (only a terminal's live or plain output draws), portalocker
(its import asks importlib.metadata for its version; the locks are flock's,
app/backlog/locking.py), what only a rare path uses (a usage limit's time zone, a mistyped
id's suggestions), and dataclasses: the records are msgspec Structs, whose classes cost a
tenth of a frozen dataclass's to make (docs/DEPENDENCIES.md). msgspec's own import brings
uuid, once kept out of a run's start too; typing_extensions (and `inspect` behind it), which
msgspec would import for typed decoding orchestrate never does (app/structs.py)."""


MODULES_AT_EXIT = ("import atexit, runpy, sys\n"
                   "atexit.register(lambda: sys.stderr.write('MODULES ' + ' '.join(\n"
                   "    n for n, m in list(sys.modules.items()) if m is not None) + '\\n'))\n"
                   "runpy.run_module('app', run_name='__main__', alter_sys=True)\n")
"""`python -m app`, then the modules it imported, printed as it exits. (`-X importtime`
would also list an import that failed: app/structs.py hides typing_extensions from
msgspec that way.)"""


def imported_by(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> set[str]:
    """Every module a real `python -m app ARGV` process imported (and kept)."""
    out = subprocess.run([sys.executable, "-c", MODULES_AT_EXIT, *argv], cwd=cwd,
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    listed = [line for line in out.stderr.splitlines() if line.startswith("MODULES ")]
    assert listed, out.stderr[-2000:]
    return set(listed[-1].split()[1:])


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules
                  if any(m == h or m.startswith(h + ".") for h in NOT_FOR_HEADLESS))


def test_the_headless_check_sees_what_it_looks_for(tmp_path: Path) -> None:
    assert heavy({"rich.console", "rich.cells", "portalocker.utils", "textual.app"}) == \
        ["portalocker.utils", "rich.console", "textual.app"]
    # A run that prints lines (not a terminal, no --json-events) draws them with rich,
    # imported inside the renderer: the check sees what a function imported.
    root = tmp_path / "project"
    env = tiny_project(root)
    assert "rich.console" in imported_by(["run", "--target", "WRK-001", "--cap", "0"], root,
                                         env)


def tiny_project(root: Path) -> dict[str, str]:
    """One ready item, the scripted agent, committed in git; the environment to run it."""
    import json
    import os

    root.mkdir(parents=True, exist_ok=True)
    (root / "BACKLOG.yaml").write_text(
        "schema_version: 1\nprefix: WRK\nnext_id: 2\nitems:\n  - id: WRK-001\n"
        "    title: Add a health endpoint\n    status: ready\n    size: small\n"
        "    complexity: low\n    risk: low\n", encoding="utf-8")
    agent = [sys.executable, "-m", "app.demo.scripted_agent", "-p", "{prompt}"]
    (root / "orchestrate.toml").write_text(
        f"[agent]\ncommand = {json.dumps(agent)}\n[run]\ncooldown_s = 0\nbackoff_s = 0\n",
        encoding="utf-8")
    (root / ".gitignore").write_text(".orchestrator/\n", encoding="utf-8")
    script = root.parent / "script.json"
    script.write_text('{"default": "complete"}', encoding="utf-8")
    env = {**os.environ, "ORCHESTRATE_FAKE_SCRIPT": str(script), "NO_COLOR": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@invalid"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "start"]):
        subprocess.run(["git", *args], cwd=root, check=True, env=env, capture_output=True)
    return env


def test_msgspec_comes_without_typing_extensions_which_stays_importable() -> None:
    code = ("import sys, typing, app.structs\n"
            "import msgspec, msgspec._utils as u\n"
            "assert 'typing_extensions' not in sys.modules, 'imported with msgspec'\n"
            "assert u._get_type_hints is typing.get_type_hints\n"
            "import typing_extensions\n"  # hidden for msgspec's import only
            "assert typing_extensions.__file__\n"
            "class P(msgspec.Struct):\n    n: int\n"
            "assert msgspec.convert({'n': 3}, P) == P(3)\n")  # typed decoding still works
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_a_msgspec_that_needs_typing_extensions_is_imported_as_usual(tmp_path: Path) -> None:
    # A future msgspec importing it outright: app still imports, with the real module.
    fake = tmp_path / "msgspec"
    fake.mkdir()
    (fake / "__init__.py").write_text("import typing_extensions\nNEEDS = True\n"
                                      "Struct = field = to_builtins = object\n")
    (fake / "structs.py").write_text("asdict = replace = None\n")
    code = ("import sys, app.structs, msgspec\n"
            "assert msgspec.NEEDS and sys.modules['typing_extensions'] is not None\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr


def test_the_scripted_agent_starts_without_msgspec() -> None:
    """A process that needs no record never imports msgspec (~20 ms): the scripted agent
    starts for every phase of the demo, and bench's phase floor spawns it too."""
    code = "import sys, app.demo.scripted_agent\nprint('msgspec' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_importing_the_run_command_leaves_the_heavy_modules_unloaded() -> None:
    code = ("import sys, app.main, app.cli.run\n"
            "print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert heavy(set(out.stdout.split())) == []


@pytest.mark.parametrize("mode", ["--json-events", "--quiet"])
def test_a_headless_run_imports_no_drawing_nor_portalocker(tmp_path: Path, mode: str) -> None:
    """The whole run, its item through the six phases: no module it does not need."""
    root = tmp_path / "project"
    env = tiny_project(root)
    modules = imported_by(["run", mode], root, env)
    assert "app.engine.pipeline" in modules and "app.backlog.locking" in modules
    assert heavy(modules) == []
    # A run in the main checkout (no `max_parallel`) never needs the lanes' git life.
    assert not modules & {"app.engine.laneset", "app.engine.worktrees", "app.engine.merges",
                          "app.engine.bringback"}
    # A run imports the reader of the agent kind it drives (here claude's) alone.
    assert not modules & {"app.engine.agents.codex", "app.engine.agents.gemini",
                          "app.engine.agents.opencode"}
    status = subprocess.run([sys.executable, "-m", "app", "show", "WRK-001", "--json"],
                            cwd=root, capture_output=True, text=True, env=env, timeout=60)
    assert '"status": "done"' in status.stdout  # it did run, taking and releasing the locks


def test_status_json_imports_no_drawing_nor_portalocker(tmp_path: Path) -> None:
    root = tmp_path / "project"
    env = tiny_project(root)
    modules = imported_by(["status", "--json"], root, env)
    assert "app.cli.groom" in modules
    assert heavy(modules) == []


# --- what the board's first frame pays for at start -------------------------------------------
NOT_FOR_THE_FIRST_FRAME = ("yaml", "app.backlog.yamldoc", "app.backlog.transaction",
                           "tomllib", "app.engine.config", "app.engine.events",
                           "app.engine.actions", "app.engine.limits", "app.engine.liverun",
                           "app.engine.worklog", "app.engine.commits", "app.engine.changes",
                           "_hashlib")
"""What opening the board needs only later: the YAML reader (a kept snapshot needs no
parse), orchestrate.toml's tables (read after the first frame, for the cards' notes), a
run's events and the engine modules of the keys, the details and a watched run, and
OpenSSL's hashes (the snapshot's key is blake2b's, from `_blake2`)."""


def loaded(code: str, env: dict[str, str] | None = None) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nprint(' '.join(sorted(sys.modules)))"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    return set(out.stdout.split())


def later(modules: set[str]) -> list[str]:
    return sorted(m for m in modules
                  if any(m == h or m.startswith(h + ".") for h in NOT_FOR_THE_FIRST_FRAME))


def test_the_first_frame_check_sees_what_it_looks_for() -> None:
    # A transaction needs the YAML reader: the check sees it when it is imported.
    assert {"yaml", "app.backlog.yamldoc"} <= set(later(loaded(
        "import sys, app.backlog.store\nfrom app.backlog.store import Transaction")))
    assert "app.engine.events" in later(loaded("import sys, app.engine.pipeline"))


def test_opening_the_board_imports_nothing_it_needs_later() -> None:
    assert later(loaded("import sys, app.ui.app, app.ui.screens.main")) == []


def test_a_kept_snapshot_is_read_without_the_yaml_reader(tmp_path: Path) -> None:
    """The board's first load (`load_without_parsing`) of a file another process parsed:
    no parse, so no PyYAML; the snapshot's key is hashed without OpenSSL."""
    import os

    (tmp_path / "BACKLOG.yaml").write_text(
        "schema_version: 1\nprefix: WRK\nnext_id: 2\nitems:\n  - id: WRK-001\n"
        "    title: Add a health endpoint\n    status: ready\n", encoding="utf-8")
    env = {**os.environ, "ORCHESTRATE_CACHE_DIR": str(tmp_path / "cache")}
    read = (f"import sys\nfrom pathlib import Path\nfrom app.engine.project import Project\n"
            f"got = Project(Path({str(tmp_path)!r})).store().load_without_parsing()\n"
            "assert got is not None and got.items[0].id == 'WRK-001', got\n")
    parse = (f"import sys\nfrom pathlib import Path\nfrom app.engine.project import Project\n"
             f"Project(Path({str(tmp_path)!r})).store().load()\n")
    assert "yaml" in loaded(parse, env)  # parsed, and the snapshot kept for the next one
    assert later(loaded(read, env)) == []
