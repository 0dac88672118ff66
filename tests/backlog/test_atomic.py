"""app/backlog/atomic.py: a file is replaced whole (fsync, rename, fsync the folder), its mode
kept, no temp file left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.backlog.atomic import atomic_write


def test_atomic_write_replaces_the_file_and_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("old")
    os.chmod(path, 0o600)
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["f.yaml"]


def test_atomic_write_fsyncs_the_file_then_renames_then_fsyncs_the_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import stat

    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append("fsync dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src: object, dst: object) -> None:
        assert Path(str(src)).parent == Path(str(dst)).parent  # same folder: a real rename
        calls.append("rename")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr("app.backlog.atomic.os.fsync", fsync)
    monkeypatch.setattr("app.backlog.atomic.os.replace", replace)
    atomic_write(tmp_path / "f", b"data")
    assert calls == ["fsync file", "rename", "fsync dir"]
