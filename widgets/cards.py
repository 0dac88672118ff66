"""How one backlog item looks as a card on the board (pure rendering, no widget state).

A card is a few lines of `Content`: the id with size/risk badges, the title,
and, depending on the status, the phase progress (`▰▰▰▱▱▱ build`, with SPEC.md's
`3/7` in the build phase) or the blocked reason in short; a ready card says what it
waits on or why an autonomous run skips it (a `CardNote`, worked out by the screen).
Styles use theme variables so every Textual theme applies. A title or reason with
control characters shows them escaped (`\x1b`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from rich._wrap import divide_line
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style as RichStyle
from textual.content import Content
from textual.strip import Strip
from textual.style import Style
from textual.visual import RenderOptions, Visual

from app.backlog.model import PHASES, Item, visible
from app.structs import Struct

if TYPE_CHECKING:
    from textual.css.styles import RulesMap

TITLE_MAX = 80
"""Longer titles are cut on the card (the detail pane shows them whole)."""
REASON_MAX = 48
"""The blocked reason is cut to this many characters on the card."""

SIZE_BADGE = {"small": "S", "medium": "M", "large": "L"}
"""One-letter size badges."""
RISK_STYLE = {"low": "$text-success", "medium": "$text-warning", "high": "$text-error bold"}
"""Risk badges are coloured by theme variable."""


def shorten(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis; control characters
    escaped (before the split, which would take some of them for spaces)."""
    flat = " ".join(visible(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


class CardNote(Struct, frozen=True):
    """What a card says beyond its item's fields, worked out by the screen (from the other
    items, orchestrate.toml and SPEC.md): plain words, ready to show."""

    waits_on: tuple[str, ...] = ()
    """The ids a ready item waits on (not done yet)."""
    outside_guardrails: str | None = None
    """Why an autonomous run skips this ready item (`outside the guardrails: risk high,
    max low`)."""
    spec: str | None = None
    """SPEC.md's ticked tasks of an item in the build phase (`3/7`)."""


def phase_bar(phase: str | None) -> str:
    """`▰▰▰▱▱▱ spec`: how far through the six phases an item is."""
    if phase not in PHASES:
        return ""
    done = PHASES.index(phase) + 1
    return f"{'▰' * done}{'▱' * (len(PHASES) - done)} {phase}"


Piece = tuple[str, str]
"""A run of a card's text and its style (`""`: the style underneath)."""


def badge_pieces(item: Item) -> list[Piece]:
    """`S·low`: size letter and risk, or nothing when not assessed."""
    pieces: list[Piece] = []
    if item.size:
        pieces.append((SIZE_BADGE.get(item.size, item.size), "$text-muted bold"))
    if item.risk:
        if pieces:
            pieces.append(("·", "$text-muted"))
        pieces.append((item.risk, RISK_STYLE.get(item.risk, "")))
    return pieces


def card_lines(item: Item, note: CardNote | None = None) -> tuple[tuple[Piece, ...], ...]:
    """The card of `item`, line by line: id and badges, title, then progress or reason,
    and for a ready item what it waits on and why a run would skip it."""
    lines: list[tuple[Piece, ...]] = [
        ((item.id, "$text-accent bold"), (" ", ""), *badge_pieces(item)),
        ((shorten(item.title, TITLE_MAX), ""),),
    ]
    if item.status == "in_progress":
        bar: tuple[Piece, ...] = ((phase_bar(item.phase or PHASES[0]), "bold"),)
        if note is not None and note.spec and item.phase == "build":
            bar += ((" " + shorten(note.spec, 16), "bold"),)
        lines.append(bar)
    elif item.status == "ready" and note is not None:
        if note.waits_on:
            lines.append((("◷ waits on " + shorten(", ".join(note.waits_on), TITLE_MAX),
                           "$text-warning"),))
        if note.outside_guardrails:
            lines.append((("⊘ " + shorten(note.outside_guardrails, TITLE_MAX),
                           "$text-warning"),))
    elif item.status == "researching":
        lines.append((("researching", "$text-muted italic"),))
    elif item.status == "to_review":
        lines.append((("◉ waits for your review", "$text-warning bold"),))
    elif item.status == "approved":
        lines.append((("✓ approved: a run merges it", "$text-success"),))
    elif item.status == "blocked" and item.blocked_reason:
        lines.append((("⚠ " + shorten(item.blocked_reason, REASON_MAX), "$text-error"),))
    return tuple(lines)


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

    def get_height(self, rules: RulesMap, width: int) -> int:
        plain = self.plain
        if _unusual_rules(rules) or "\t" in plain or width <= 0:
            return super().get_height(rules, width)
        return _plain_height(plain, width)


def _content(lines: tuple[tuple[Piece, ...], ...]) -> CardContent:
    card = Content("\n").join(
        Content.assemble(*((text, style) if style else text for text, style in line))
        for line in lines)
    return CardContent(card.plain, list(card.spans), card.cell_length,
                       strip_control_codes=False)


def render_card(item: Item, note: CardNote | None = None) -> CardContent:
    """The card of `item` as styled Content."""
    return _content(card_lines(item, note))


def _plain(lines: tuple[tuple[Piece, ...], ...]) -> str:
    return "\n".join("".join(text for text, _ in line) for line in lines)


def _unusual_rules(rules: Mapping[str, Any]) -> bool:
    """Rules under which a card is not drawn the plain way (wrapped, folded, left)."""
    return bool(rules.get("line_pad", 0) or rules.get("text_wrap", "wrap") == "nowrap"
                or rules.get("text_overflow", "fold") != "fold"
                or rules.get("text_align", "left") not in ("left", "start"))


def _plain_height(plain: str, width: int) -> int:
    return sum(line_count(line, width) for line in plain.split("\n"))


_WORD = re.compile(r"\s*\S+\s*")
"""A word and the spaces around it, as rich's divide_line reads words."""


def line_count(line: str, width: int) -> int:
    """How many lines `line` (no newline) wraps to at `width`, folding long words.

    That is `len(divide_line(line, width, fold=True)) + 1`. Measuring 1,000 cards calls
    this for every title, so printable ASCII (one cell per character) is counted here
    with the same rules, without divide_line's call per word; anything else goes to it.
    """
    if not (line.isascii() and line.isprintable()):  # `S·low`, the phase bar, other scripts
        if cell_len(line) <= width:
            return 1
        return len(divide_line(line, width, fold=True)) + 1
    if len(line) <= width:
        return 1
    breaks = offset = 0
    for word in _WORD.finditer(line):
        start, end = word.span()
        size = end - start
        visible = len(word.group().rstrip())
        if width - offset >= visible:  # fits on this line
            offset += size
        elif visible > width:  # folded into chunks of `width`, each on its own line
            chunks = -(-size // width)
            breaks += chunks if start else chunks - 1
            offset = size - (chunks - 1) * width
        elif offset and start:  # starts the next line
            breaks += 1
            offset = size
    return breaks + 1


class Card(Visual):
    """A card as an option's prompt: measured from its plain text, drawn from its pieces.

    A column holds every card but draws the few on screen. Content, made for any text
    under any rules, wraps and styles a card line by line and gives every cell its own
    style (for text selection, which a column does not allow): drawing the cards of the
    first frame took ~20 ms with 1,000 items. A card under the usual rules (left aligned,
    wrapped, folded, no selection) is drawn here from its pieces instead, the same cells
    in the same colours (tests/test_board.py compares both at every width); anything
    else is drawn by its Content, made when first needed.
    """

    __slots__ = ("_content", "_lines", "_plain", "_simple", "item", "note")

    def __init__(self, item: Item, note: CardNote | None = None) -> None:
        self.item = item
        """The item shown."""
        self.note = note
        """What the card says beyond the item's fields."""
        self._lines = card_lines(item, note)
        self._plain = _plain(self._lines)
        self._simple = self._plain.replace("\n", "").isprintable()
        self._content: CardContent | None = None

    @property
    def content(self) -> CardContent:
        """The styled card."""
        if self._content is None:
            self._content = _content(self._lines)
        return self._content

    @property
    def plain(self) -> str:
        """The card's text."""
        return self._plain

    def render_strips(self, width: int, height: int | None, style: Style,
                      options: RenderOptions) -> list[Strip]:
        if (not self._simple or width <= 0 or options.selection is not None
                or options.post_style is not None or _unusual_rules(options.rules)):
            return self.content.render_strips(width, height, style, options)
        strips = self._draw(width, style, options.get_style)
        if strips is None:  # a piece wider than the column: cropped the usual way
            return self.content.render_strips(width, height, style, options)
        return strips if height is None else strips[:height]

    def _draw(self, width: int, style: Style,
              get_style: Callable[[str | Style], Style]) -> list[Strip] | None:
        # As Content draws a line: break it where divide_line says, strip the spaces at
        # the end of every part but the last (which is cropped to the width), and give
        # each run `style` under `style + its own style` (Content.render, then
        # _FormattedLine.to_strip).
        plain_style = (style + style).rich_style
        styled: dict[str, RichStyle] = {}
        strips: list[Strip] = []
        for line in self._lines:
            text = "".join(piece for piece, _ in line)
            breaks = divide_line(text, width, fold=True)
            bounds = [0, *breaks, len(text)]
            for part, (start, end) in enumerate(pairwise(bounds)):
                if part < len(breaks):
                    end = start + len(text[start:end].rstrip())
                else:  # the last part keeps its spaces, cropped to the width
                    over = cell_len(text[start:end]) - width
                    if over > 0 and not text[end - over:end].strip(" "):
                        end -= over
                segments: list[Segment] = []
                cells = 0
                at = 0
                for piece, piece_style in line:
                    lo, hi = max(start, at), min(end, at + len(piece))
                    at += len(piece)
                    if lo >= hi:
                        continue
                    rich = styled.get(piece_style) if piece_style else plain_style
                    if rich is None:
                        rich = styled[piece_style] = (
                            style + Style.combine((style, get_style(piece_style)))).rich_style
                    chunk = text[lo:hi]
                    segments.append(Segment(chunk, rich))
                    cells += cell_len(chunk)
                if cells > width:
                    return None
                strips.append(Strip(segments, cells))
        return strips

    def get_optimal_width(self, rules: Any, container_width: int) -> int:
        return self.content.get_optimal_width(rules, container_width)

    def get_minimal_width(self, rules: Any) -> int:
        return self.content.get_minimal_width(rules)

    def get_height(self, rules: Any, width: int) -> int:
        if _unusual_rules(rules) or width <= 0 or not self._simple:
            return self.content.get_height(rules, width)
        return _plain_height(self._plain, width)
