"""SPEC.md parsing: the build phase works through numbered sections of `- [ ]` tasks."""

from __future__ import annotations

from pathlib import Path

from app.engine import spec

TEXT = """# SPEC WRK-001

## Phase 1: Groundwork
- [x] Add the model
- [ ] Write its tests

## Phase 2: Wire it up
- [ ] Connect the handler
* [X] Document it
"""


def test_sections_and_their_open_tasks() -> None:
    parsed = spec.parse(TEXT)
    assert [p.title for p in parsed.phases] == ["Phase 1: Groundwork", "Phase 2: Wire it up"]
    assert parsed.ticked == 2 and parsed.unticked == 2
    first = parsed.next_phase()
    assert first is not None
    assert first.title == "Phase 1: Groundwork" and first.todo == ("Write its tests",)


def test_next_phase_skips_finished_sections_and_ends_with_none() -> None:
    text = TEXT.replace("- [ ] Write its tests", "- [x] Write its tests")
    nxt = spec.parse(text).next_phase()
    assert nxt is not None and nxt.title == "Phase 2: Wire it up"
    assert spec.parse(text.replace("- [ ]", "- [x]")).next_phase() is None


def test_tasks_without_heading_and_missing_file(tmp_path: Path) -> None:
    parsed = spec.parse("- [ ] one\n- [ ] two\n")
    assert parsed.phases[0].title == "Tasks" and parsed.unticked == 2
    assert spec.load(tmp_path / "SPEC.md") is None
