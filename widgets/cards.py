"""How one backlog item looks as a card on the board (pure rendering, no widget state).

A card is a few lines of `Content`: the id with size/risk badges, the title,
and, depending on the status, the phase progress (`▰▰▰▱▱▱ build`) or the
blocked reason in short. Styles use theme variables so every Textual theme
applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich._wrap import divide_line
from textual.content import Content
from textual.strip import Strip
from textual.style import Style
from textual.visual import RenderOptions, Visual

from app.model import PHASES, Item

TITLE_MAX = 80
"""Longer titles are cut on the card (the detail pane shows them whole)."""
REASON_MAX = 48
"""The blocked reason is cut to this many characters on the card."""

SIZE_BADGE = {"small": "S", "medium": "M", "large": "L"}
"""One-letter size badges."""
RISK_STYLE = {"low": "$text-success", "medium": "$text-warning", "high": "$text-error bold"}
"""Risk badges are coloured by theme variable."""


def shorten(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def phase_bar(phase: str | None) -> str:
    """`▰▰▰▱▱▱ spec`: how far through the six phases an item is."""
    if phase not in PHASES:
        return ""
    done = PHASES.index(phase) + 1
    return f"{'▰' * done}{'▱' * (len(PHASES) - done)} {phase}"


def badges(item: Item) -> Content:
    """`S·low`: size letter and risk, or nothing when not assessed."""
    parts: list[tuple[str, str] | str] = []
    if item.size:
        parts.append((SIZE_BADGE.get(item.size, item.size), "$text-muted bold"))
    if item.risk:
        if parts:
            parts.append(("·", "$text-muted"))
        parts.append((item.risk, RISK_STYLE.get(item.risk, "")))
    return Content.assemble(*parts)


class CardContent(Content):
    """A card's Content, measured from its plain text.

    A column measures every card when it is shown (OptionList needs the height of each
    option to scroll); Content.get_height wraps and styles every line to count them. A
    card's plain lines wrap the same way (the same `divide_line`, spans never change
    where lines break), so counting the breaks of the plain text gives the same height
    at a fraction of the cost. Anything unusual (tabs, padding, no wrapping, another
    overflow) is measured the usual way.
    """

    __slots__ = ()

    def get_height(self, rules: Mapping[str, Any], width: int) -> int:  # type: ignore[override]
        plain = self.plain
        if (rules.get("line_pad", 0) or rules.get("text_wrap", "wrap") == "nowrap"
                or rules.get("text_overflow", "fold") != "fold" or "\t" in plain
                or width <= 0):
            return super().get_height(rules, width)  # type: ignore[arg-type]
        return sum(len(divide_line(line, width, fold=True)) + 1
                   for line in plain.split("\n"))


def render_card(item: Item) -> CardContent:
    """The card of `item`: id and badges, title, then progress or blocked reason."""
    head = Content.assemble((item.id, "$text-accent bold"), " ", badges(item))
    lines = [head, Content(shorten(item.title, TITLE_MAX))]
    if item.status == "in_progress":
        lines.append(Content.styled(phase_bar(item.phase or PHASES[0]), "bold"))
    elif item.status == "researching":
        lines.append(Content.styled("researching", "$text-muted italic"))
    elif item.status == "blocked" and item.blocked_reason:
        lines.append(Content.styled("⚠ " + shorten(item.blocked_reason, REASON_MAX),
                                    "$text-error"))
    card = Content("\n").join(lines)
    return CardContent(card.plain, card.spans, card.cell_length, strip_control_codes=False)


def card_plain(item: Item) -> str:
    """The text of `item`'s card without styles (what `render_card(item).plain` is)."""
    badge = SIZE_BADGE.get(item.size, item.size) if item.size else ""
    if item.risk:
        badge = f"{badge}·{item.risk}" if badge else item.risk
    lines = [f"{item.id} {badge}", shorten(item.title, TITLE_MAX)]
    if item.status == "in_progress":
        lines.append(phase_bar(item.phase or PHASES[0]))
    elif item.status == "researching":
        lines.append("researching")
    elif item.status == "blocked" and item.blocked_reason:
        lines.append("⚠ " + shorten(item.blocked_reason, REASON_MAX))
    return "\n".join(lines)


def _plain_height(plain: str, width: int) -> int:
    return sum(len(divide_line(line, width, fold=True)) + 1 for line in plain.split("\n"))


class Card(Visual):
    """A card as an option's prompt: measured from its plain text, styled only if drawn.

    A column holds every card but draws the few on screen; building the styled Content
    of all 1,000 cards took longer than drawing the visible ones. The Content is made
    the first time the card is drawn (or measured in an unusual way).
    """

    __slots__ = ("_content", "_plain", "item")

    def __init__(self, item: Item) -> None:
        self.item = item
        """The item shown."""
        self._plain = card_plain(item)
        self._content: CardContent | None = None

    @property
    def content(self) -> CardContent:
        """The styled card."""
        if self._content is None:
            self._content = render_card(self.item)
        return self._content

    @property
    def plain(self) -> str:
        """The card's text."""
        return self._plain

    def render_strips(self, width: int, height: int | None, style: Style,
                      options: RenderOptions) -> list[Strip]:
        return self.content.render_strips(width, height, style, options)

    def get_optimal_width(self, rules: Any, container_width: int) -> int:
        return self.content.get_optimal_width(rules, container_width)

    def get_minimal_width(self, rules: Any) -> int:
        return self.content.get_minimal_width(rules)

    def get_height(self, rules: Any, width: int) -> int:
        plain = self._plain
        if (rules.get("line_pad", 0) or rules.get("text_wrap", "wrap") == "nowrap"
                or rules.get("text_overflow", "fold") != "fold" or width <= 0
                or not plain.replace("\n", "").isprintable()):
            return self.content.get_height(rules, width)
        return _plain_height(plain, width)
