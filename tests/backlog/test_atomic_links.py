"""A write keeps the file as the person keeps it: a symlinked BACKLOG.yaml stays a link
and its target gets the update; the file's mode and group stay."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import CLI_ENV, ORCHESTRATE

from app.backlog.atomic import atomic_write, clean_stale_temps

TEXT = "schema_version: 1\nprefix: WRK\nitems:\n  - id: WRK-001\n    title: A\n    status: new\n"


def add(project: Path, title: str) -> None:
    out = subprocess.run([*ORCHESTRATE, "-C", str(project), "add", title], capture_output=True,
                         text=True, timeout=60, env={**os.environ, **CLI_ENV})
    assert out.returncode == 0, out.stderr


def test_a_symlinked_backlog_stays_a_link_and_its_target_is_written(tmp_path: Path) -> None:
    notes = tmp_path / "notes-repo"
    notes.mkdir()
    target = notes / "backlog.yaml"
    target.write_text(TEXT)
    project = tmp_path / "project"
    project.mkdir()
    link = project / "BACKLOG.yaml"
    link.symlink_to(target)
    add(project, "Through the link")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert "Through the link" in target.read_text()
    assert not list(project.glob(".BACKLOG.yaml*")) and not list(notes.glob(".*tmp*"))


def test_mode_and_group_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "BACKLOG.yaml"
    path.write_text(TEXT)
    os.chmod(path, 0o664)
    group = os.getegid() + 1 if os.geteuid() == 0 else os.getegid()
    if os.geteuid() == 0:
        os.chown(path, -1, group)
    old_mask = os.umask(0o022)  # would make a new file 644
    try:
        add(tmp_path, "Keeps 664")
    finally:
        os.umask(old_mask)
    st = path.stat()
    assert st.st_mode & 0o777 == 0o664
    assert st.st_gid == group


def test_a_new_file_follows_the_umask(tmp_path: Path) -> None:
    old_mask = os.umask(0o027)
    try:
        atomic_write(tmp_path / "new.yaml", b"x: 1\n")
    finally:
        os.umask(old_mask)
    assert (tmp_path / "new.yaml").stat().st_mode & 0o777 == 0o640


def test_stale_temps_are_found_beside_a_links_target(tmp_path: Path) -> None:
    target = tmp_path / "real" / "b.yaml"
    target.parent.mkdir()
    target.write_text(TEXT)
    link = tmp_path / "BACKLOG.yaml"
    link.symlink_to(target)
    stale = target.parent / ".b.yaml.tmp-orchestrate-1-2"
    stale.write_text("half")
    assert clean_stale_temps(link) == [stale] and not stale.exists()
