"""What the console script does with the garbage collector around a command (app/main.py):
no collections while the command's modules are imported, collecting again (the start's
objects frozen out of its way) once the command works, and nothing of the kind when
`main(argv)` is called inside another program (a test, a host)."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from app.main import main

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import gc, sys
import app.cli.groom as groom
def probe(args, project):
    print(gc.isenabled(), gc.get_freeze_count() > 0)
    return 0
groom.cmd_status = probe
sys.argv = ["orchestrate", "-C", sys.argv[1], "status"]
from app.main import main
raise SystemExit(main())
"""


def test_the_process_collects_again_once_its_command_works(tmp_path: Path) -> None:
    (tmp_path / "BACKLOG.yaml").write_text("schema_version: 1\nprefix: WRK\nnext_id: 1\n"
                                           "items: []\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True"]


def test_main_called_by_another_program_leaves_its_collector_alone(tmp_path: Path) -> None:
    (tmp_path / "BACKLOG.yaml").write_text("schema_version: 1\nprefix: WRK\nnext_id: 1\n"
                                           "items: []\n", encoding="utf-8")
    frozen = gc.get_freeze_count()
    assert main(["-C", str(tmp_path), "status", "--json"]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen
