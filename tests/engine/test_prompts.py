"""Phase prompts: shipped defaults, project and config overrides, and the preamble that
tells an agent everything the contract needs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.backlog.model import Item
from app.engine.config import Config
from app.engine.prompts import PROMPT_PHASES, build_prompt, fill, shipped_template

ITEM = Item(id="WRK-001", title="Add login page", status="in_progress", phase="prd",
            size="small", risk="low", depends_on=("WRK-000",),
            notes="Use the existing session store.\nunblock: pick postgres")


@pytest.mark.parametrize("phase", PROMPT_PHASES)
def test_every_phase_has_a_shipped_template(phase: str) -> None:
    assert shipped_template(phase).strip()


def test_preamble_names_item_notes_change_dir_result_file_and_shape(tmp_path: Path) -> None:
    result = tmp_path / "WRK-001_prd_1.json"
    text = build_prompt(ITEM, "prd", config=Config(), prompts_dir=tmp_path / "none",
                        result_file=result)
    assert "do not ask any" in text
    assert "ID: WRK-001" in text and "Title: Add login page" in text
    assert "unblock: pick postgres" in text and "WRK-000" in text
    assert "changes/WRK-001_add-login-page" in text
    assert str(result) in text
    start = text.index("{", text.index(str(result)))
    shape = json.loads(text[start:text.index("\n}", start) + 2])
    assert shape["item_id"] == "WRK-001" and shape["phase"] == "prd"
    assert "blocked" in text and "instead of guessing" in text


def test_config_prompt_overrides_everything(tmp_path: Path) -> None:
    (tmp_path / "prd.md").write_text("project file {item_id}")
    config = Config(prompts={"prd": "/changes:prd {item_id}"})
    text = build_prompt(ITEM, "prd", config=config, prompts_dir=tmp_path, result_file=tmp_path)
    assert "/changes:prd WRK-001" in text and "project file" not in text


def test_a_skill_template_opens_the_prompt_so_claude_runs_it(tmp_path: Path) -> None:
    config = Config(prompts={"prd": "/changes:prd {item_id}"})
    text = build_prompt(ITEM, "prd", config=config, prompts_dir=tmp_path, result_file=tmp_path)
    assert text.startswith("/changes:prd WRK-001\n")
    assert "ID: WRK-001" in text and str(tmp_path) in text  # the contract still follows


def test_project_file_overrides_the_shipped_template(tmp_path: Path) -> None:
    (tmp_path / "prd.md").write_text("Project PRD rules for {title} in {change_dir}.")
    text = build_prompt(ITEM, "prd", config=Config(), prompts_dir=tmp_path,
                        result_file=tmp_path)
    assert "Project PRD rules for Add login page in changes/WRK-001_add-login-page." in text


def test_unknown_keys_and_stray_braces_are_left_alone() -> None:
    assert fill("{item_id} {unknown}", {"item_id": "W-001"}) == "W-001 {unknown}"
    assert fill('{"a": 1} {item_id} {0}', {"item_id": "W-001"}) == '{"a": 1} W-001 {0}'


def test_build_prompt_names_the_spec_phase_and_its_tasks(tmp_path: Path) -> None:
    text = build_prompt(ITEM, "build", config=Config(), prompts_dir=tmp_path,
                        result_file=tmp_path, spec_phase="Phase 2: Wire it up",
                        spec_tasks=("Connect the handler",))
    assert "Phase 2: Wire it up" in text and "- [ ] Connect the handler" in text


def test_a_retry_is_told_why_the_last_attempt_failed(tmp_path: Path) -> None:
    text = build_prompt(ITEM, "prd", config=Config(), prompts_dir=tmp_path,
                        result_file=tmp_path, attempt=2, last_error="tests failed")
    assert "previous attempt" in text and "tests failed" in text
