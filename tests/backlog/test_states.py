"""The state machine (app/backlog/states.py) and the model's vocabulary (app/backlog/model.py)."""

from __future__ import annotations

import pytest

from app.backlog import states
from app.backlog.model import (
    ID_PATTERN,
    PHASES,
    STATUSES,
    Item,
    format_id,
    id_number,
    level_rank,
    now_iso,
    slugify,
)
from app.errors import TransitionError


def item(status: str = "new", phase: str | None = None, **kw: object) -> Item:
    return Item(id="WRK-001", title="t", status=status, phase=phase, **kw)  # type: ignore[arg-type]


# --- model ---------------------------------------------------------------------------------
@pytest.mark.parametrize("good", ["WRK-001", "A-123", "AB1-0001", "X9-999999"])
def test_id_pattern_accepts_prefix_dash_three_digits(good: str) -> None:
    assert ID_PATTERN.match(good)


@pytest.mark.parametrize("bad", ["../x", "WRK-01", "wrk-001", "WRK-001/..", "WRK_001", "1WK-001",
                                 "WRK-001\n", " WRK-001", "WRK-00a", "", "WRK--001",
                                 "WRK-\u0663\u0663\u0663"])
def test_id_pattern_rejects_anything_path_like_or_loose(bad: str) -> None:
    assert not ID_PATTERN.match(bad)


def test_format_and_number_of_ids_round_trip_past_999() -> None:
    assert format_id("WRK", 7) == "WRK-007"
    assert format_id("WRK", 1234) == "WRK-1234"
    assert id_number("WRK-1234") == 1234
    assert ID_PATTERN.match(format_id("WRK", 1234))


def test_slugify_is_file_name_safe_and_never_empty() -> None:
    assert slugify("Add login page!") == "add-login-page"
    assert slugify("../../etc/passwd") == "etc-passwd"
    assert slugify("日本語") == "item"
    assert len(slugify("x" * 200)) <= 40


def test_level_rank_treats_unknown_as_the_top_of_the_scale() -> None:
    assert level_rank("low", ("low", "medium", "high")) == 0
    assert level_rank(None, ("low", "medium", "high")) == 2


def test_now_iso_is_utc_seconds_with_z() -> None:
    import re

    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", now_iso())


def test_item_to_dict_holds_known_and_extra_keys() -> None:
    data = item(depends_on=("WRK-002",), extra={"owner": "ann"}).to_dict()
    assert data["depends_on"] == ["WRK-002"] and data["owner"] == "ann"
    assert item().change_dir == "changes/WRK-001_t"


# --- targets ---------------------------------------------------------------------------------
def test_parse_target_maps_phases_to_in_progress() -> None:
    assert states.parse_target("build") == states.Target("in_progress", "build")
    assert states.parse_target("READY") == states.Target("ready")
    assert states.parse_target("in-progress") == states.Target("in_progress", "prd")
    assert states.parse_target("in_progress", item("blocked", "spec")) == \
        states.Target("in_progress", "spec")


def test_parse_target_unknown_word_lists_the_choices() -> None:
    with pytest.raises(TransitionError, match=r"unknown target 'nope'.*ready.*build"):
        states.parse_target("nope")


# --- transitions -------------------------------------------------------------------------------
ENGINE_LEGAL = [
    ("new", "scoped"), ("new", "researching"), ("new", "ready"), ("scoped", "ready"),
    ("researching", "ready"), ("researching", "scoped"), ("ready", "in_progress"),
    ("in_progress", "done"),
]


@pytest.mark.parametrize(("src", "dst"), ENGINE_LEGAL)
def test_engine_moves_along_the_documented_arrows(src: str, dst: str) -> None:
    phase = "review" if src == "in_progress" else None
    tgt = states.Target(dst, "prd" if dst == "in_progress" else None)
    states.check(item(src, phase), tgt, by_person=False)


@pytest.mark.parametrize(("src", "dst"), [("new", "done"), ("ready", "new"), ("done", "new"),
                                          ("new", "in_progress"), ("scoped", "in_progress")])
def test_engine_cannot_take_person_only_or_skipping_moves(src: str, dst: str) -> None:
    tgt = states.Target(dst, "prd" if dst == "in_progress" else None)
    with pytest.raises(TransitionError):
        states.check(item(src), tgt, by_person=False)


def test_illegal_move_names_item_where_it_is_and_where_it_may_go() -> None:
    with pytest.raises(TransitionError) as err:
        states.check(item("new"), states.Target("in_progress", "build"), by_person=True)
    msg = str(err.value)
    assert msg.startswith("WRK-001 is new; it cannot go to in_progress/build.")
    assert "It may go to: scoped, researching, ready, done, blocked" in msg


def test_done_item_may_only_be_reopened_by_a_person() -> None:
    with pytest.raises(TransitionError,
                       match=r"WRK-001 is done; it cannot go to ready\. It may go to: blocked$"):
        states.check(item("done"), states.Target("ready"), by_person=False)
    states.check(item("done"), states.Target("ready"), by_person=True)


def test_every_status_can_be_blocked_with_a_reason_but_never_without() -> None:
    for s in STATUSES:
        if s == "blocked":
            continue
        it = item(s, "build" if s == "in_progress" else None)
        states.check(it, states.Target("blocked"), by_person=False, reason="why")
        with pytest.raises(TransitionError, match="needs a reason"):
            states.check(it, states.Target("blocked"), by_person=False, reason="  ")


def test_blocked_item_leaves_only_by_unblock_for_the_engine() -> None:
    with pytest.raises(TransitionError, match="nowhere \\(unblock it first\\)"):
        states.check(item("blocked"), states.Target("ready"), by_person=False)


def test_same_place_is_an_error() -> None:
    with pytest.raises(TransitionError, match="already in_progress \\(spec\\)"):
        states.check(item("in_progress", "spec"), states.Target("in_progress", "spec"),
                     by_person=True)


def test_engine_moves_one_phase_at_a_time_a_person_may_jump() -> None:
    it = item("in_progress", "prd")
    states.check(it, states.Target("in_progress", "research"), by_person=False)
    with pytest.raises(TransitionError, match="cannot jump to build"):
        states.check(it, states.Target("in_progress", "build"), by_person=False)
    states.check(it, states.Target("in_progress", "build"), by_person=True)


def test_in_progress_needs_a_known_phase() -> None:
    with pytest.raises(TransitionError, match="needs a phase"):
        states.check(item("ready"), states.Target("in_progress", None), by_person=True)


def test_blocking_records_where_from_and_keeps_the_phase() -> None:
    it = item("in_progress", "design")
    ch = states.changes_for(it, states.Target("blocked"), reason="need input")
    assert ch == {"status": "blocked", "phase": "design", "blocked_reason": "need input",
                  "blocked_from": "in_progress"}


def test_unblock_returns_to_blocked_from_with_phase() -> None:
    it = item("blocked", "design", blocked_from="in_progress", blocked_reason="x")
    assert states.unblock_target(it) == states.Target("in_progress", "design")
    assert states.unblock_target(item("blocked", blocked_from="scoped")) == states.Target("scoped")
    assert states.unblock_target(item("blocked", blocked_from="bogus")) == states.Target("new")
    with pytest.raises(TransitionError, match="WRK-001 is ready, not blocked"):
        states.unblock_target(item("ready"))


def test_leaving_blocked_clears_reason_and_merges_notes() -> None:
    it = item("blocked", blocked_from="ready", blocked_reason="x", notes="old")
    ch = states.changes_for(it, states.Target("ready"), notes=" new ")
    assert ch["blocked_reason"] is None and ch["blocked_from"] is None
    assert ch["notes"] == "old\nnew"
    assert states.merge_notes(None, "a") == "a"


def test_next_phase_walks_the_six_phases() -> None:
    walk = ["prd"]
    while (nxt := states.next_phase(walk[-1])) is not None:
        walk.append(nxt)
    assert tuple(walk) == PHASES


def test_allowed_statuses_is_a_subset_of_statuses_for_every_status() -> None:
    for s in STATUSES:
        for by_person in (False, True):
            allowed = states.allowed_statuses(item(s), by_person)
            assert set(allowed) <= set(STATUSES)
            assert s != "blocked" or "blocked" not in allowed
