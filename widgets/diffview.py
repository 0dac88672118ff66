"""A commit as `git show` prints it, coloured by what each line is, drawn a screen at a time.

The screen hands over (kind, line) pairs (the kinds of app/engine/commits.py's
`line_kinds`: commit, meta, message, stat, summary, file, hunk, added, removed,
context); this widget only draws them. It is a line-API ScrollView: a frame styles
just the lines on screen, so a 20,000-line diff scrolls as fast as a short one, and
nothing is laid out per line. Colours are component classes over theme variables (every
theme applies); every line shows its control characters escaped and its tabs as spaces.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from app.backlog.model import visible

LINE_MAX = 1000
"""Lines are cut to this many characters for display (a minified file stays cheap)."""
TAB = 4
"""A tab's width."""
STAT_GRAPH = re.compile(r"^(.* \| +\d+ )(\+*)(-*)$")
"""A stat line's name and count, its pluses and its minuses."""

KIND_CLASSES = {
    "commit": "diff-view--commit", "meta": "diff-view--meta", "message": "diff-view--message",
    "summary": "diff-view--summary", "file": "diff-view--file", "hunk": "diff-view--hunk",
    "added": "diff-view--added", "removed": "diff-view--removed", "note": "diff-view--note",
}
"""The component class of each kind of line (a kind not here is drawn plain)."""


def display_text(line: str) -> str:
    """`line` as drawn: control characters escaped, tabs expanded, cut at LINE_MAX."""
    if "\t" in line:
        line = line.expandtabs(TAB)
    line = visible(line, one_line=True)
    return line if len(line) <= LINE_MAX else line[: LINE_MAX - 1] + "…"


class DiffView(ScrollView, can_focus=True):
    """Scrollable, coloured lines of a commit (its stat, or its whole diff)."""

    COMPONENT_CLASSES = {*KIND_CLASSES.values(), "diff-view--plus", "diff-view--minus"}

    DEFAULT_CSS = """
    DiffView {
        background: $surface;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 1;
        & > .diff-view--commit { color: $text-warning; text-style: bold; }
        & > .diff-view--meta { color: $text-muted; }
        & > .diff-view--message { color: $text; text-style: bold; }
        & > .diff-view--summary { color: $text-muted; }
        & > .diff-view--file { color: $text; text-style: bold; }
        & > .diff-view--hunk { color: $text-primary; }
        & > .diff-view--added { color: $text-success; }
        & > .diff-view--removed { color: $text-error; }
        & > .diff-view--plus { color: $text-success; }
        & > .diff-view--minus { color: $text-error; }
        & > .diff-view--note { color: $text-warning; text-style: italic; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: tuple[tuple[str, str], ...] = ()
        """(kind, display text) of every line shown."""
        self._styles: dict[str, Style] = {}

    def show(self, lines: Sequence[tuple[str, str]]) -> None:
        """Show these (kind, line) pairs from the top."""
        self.lines = tuple((kind, display_text(line)) for kind, line in lines)
        widest = max((len(text) if text.isascii() else cell_len(text)
                      for _kind, text in self.lines), default=0)
        self.virtual_size = Size(widest, len(self.lines))
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()  # the theme or the stylesheet changed

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            # Whole, not partial: a partial style loses a colour's alpha (`$text-muted` is
            # the foreground at 60%), which only blending with the background resolves.
            style = self._styles[name] = self.get_component_rich_style(name)
        return style

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        index = scroll_y + y
        if index >= len(self.lines):
            return Strip.blank(width, base)
        kind, text = self.lines[index]
        if kind == "stat":
            segments = self._stat_segments(text, base)
        else:
            name = KIND_CLASSES.get(kind)
            segments = [Segment(text, base + self._style(name) if name else base)]
        return Strip(segments).crop_extend(scroll_x, scroll_x + width, base)

    def _stat_segments(self, text: str, base: Style) -> list[Segment]:
        """` login.py |  4 ++--` with the pluses and minuses coloured."""
        graph = STAT_GRAPH.match(text)
        if graph is None:  # `Bin 0 -> 12 bytes` and the like
            return [Segment(text, base)]
        head, pluses, minuses = graph.groups()
        return [Segment(head, base),
                Segment(pluses, base + self._style("diff-view--plus")),
                Segment(minuses, base + self._style("diff-view--minus"))]
