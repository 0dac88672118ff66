"""A card drawn from its pieces shows what its styled Content shows, for any text."""

from __future__ import annotations

import re

from conftest import cells
from hypothesis import given, settings
from hypothesis import strategies as st
from textual.style import Style
from textual.visual import RenderOptions

from app.backlog.model import Item
from widgets.cards import Card, CardNote


def _get_style(style: str | Style) -> Style:
    # Theme variables as fixed colours: enough to tell every run of a card apart.
    if isinstance(style, Style):
        return style
    return Style.parse(re.sub(r"\$text-(\w+)", lambda m: {"accent": "#00ffff", "muted": "#808080",
                                                          "error": "#ff0000"}.get(m[1], "#00ff00"),
                              style))


words = st.text(st.sampled_from("abcxyz日本⚠é-"), min_size=1, max_size=14)
texts = st.lists(words, min_size=0, max_size=12).map(" ".join)


notes = st.none() | st.builds(
    CardNote, waits_on=st.lists(st.sampled_from(["WRK-001", "WRK-0002"]), max_size=3).map(tuple),
    outside_guardrails=st.none() | texts, spec=st.none() | st.sampled_from(["3/7", "12/120"]))


@settings(max_examples=150, deadline=None)
@given(title=texts, reason=texts,
       status=st.sampled_from(["new", "ready", "in_progress", "researching", "blocked"]),
       size=st.sampled_from([None, "small", "large"]),
       risk=st.sampled_from([None, "low", "high"]),
       width=st.integers(min_value=1, max_value=40),
       highlighted=st.booleans(), note=notes)
def test_drawn_cells_match_the_styled_content(title: str, reason: str, status: str,
                                              size: str | None, risk: str | None,
                                              width: int, highlighted: bool,
                                              note: CardNote | None) -> None:
    """With or without a note (what it waits on, the guardrails, SPEC progress)."""
    item = Item("WRK-012", title, status, size=size, risk=risk, phase="build",
                blocked_reason=reason or None)
    card = Card(item, note)
    base = Style.parse("white on #202020" + (" bold" if highlighted else ""))
    options = RenderOptions(_get_style, {})
    ours = card.render_strips(width, None, base, options)
    theirs = card.content.render_strips(width, None, base, options)
    assert cells(ours) == cells(theirs)
    assert len(ours) == card.get_height({}, width)


@settings(max_examples=400, deadline=None)
@given(line=st.text(st.sampled_from("ab -\x1b"), max_size=60) | st.text(max_size=30),
       width=st.integers(min_value=1, max_value=25))
def test_line_count_is_what_divide_line_says(line: str, width: int) -> None:
    """The counted height of a line is rich's: spaces, long words and wide text alike."""
    from rich._wrap import divide_line

    from widgets.cards import line_count
    line = line.replace("\n", " ")
    assert line_count(line, width) == len(divide_line(line, width, fold=True)) + 1
