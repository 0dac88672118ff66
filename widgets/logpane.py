"""The log pane: the live agent's output, one line per event, bounded in memory.

Lines arrive in batches (never one message per line). The pane follows the tail
until the person scrolls up, then counts the lines that arrived below; `f`
(or scrolling to the bottom) follows again. A key toggles the raw JSON lines. Only the
last `max_lines` lines are kept: the full log stays on disk.

Kinds read apart by a marker and a colour: the agent's words plain, tool calls in the
accent colour, errors in the error colour, the CLI's API retries in the warning colour,
and what is not the agent's own words (its thinking, a prompt it was given) dimmed.
Every line is shown with its control characters escaped: an agent's `\x1b]0;…` is text
on the screen, never an order to the terminal.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from time import monotonic
from typing import TYPE_CHECKING, Protocol, Self, TypeAlias, overload

from rich.cells import cell_len
from rich.color import Color as RichColor
from rich.highlighter import Highlighter
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.cache import LRUCache
from textual.color import Color
from textual.containers import Vertical
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.selection import Selection
from textual.strip import Strip
from textual.timer import Timer
from textual.widgets import Log, Static

from app.backlog.model import visible

if TYPE_CHECKING:
    from app.engine.events import AgentLine

MAX_LINES = 5000
"""Lines kept in memory (and in the widget)."""
REPAINT_S = 1 / 30
"""New lines are painted at most this often (the scroll state follows at once)."""
LINE_MAX = 400
"""Display lines are cut to this many characters (toolong's trick: keep rendering cheap)."""

PREFIX = {
    "text": "  ", "tool": "→ ", "tool_result": "  ← ", "error": "✗ ", "system": "· ",
    "result": "■ ", "stderr": "! ", "raw": "  ", "thinking": "∴ ", "prompt": "» ",
    "retry": "↻ ",
}
"""A marker per kind of line, so kinds read apart even without colour."""
MUTED = ("■ ", "· ", "∴ ", "» ")
"""Markers of lines shown dimmed: results, notes, and words that are not the agent's own
(its thinking, a prompt it was given)."""


class AgentLineHighlighter(Highlighter):
    """Colours error, stderr, retry, tool and result lines with colours of the app's theme."""

    def __init__(self) -> None:
        self.styles: dict[str, Style] = {}
        """kind -> style; set from the theme by the pane."""

    def highlight(self, text: Text) -> None:
        full = text.plain
        label = _LANE_LABEL.match(full)
        start = label.end() if label else 0  # a lane's label (`WRK-002│`) comes first
        if label:
            text.stylize(self.styles.get("lane", Style(bold=True)), 0, start)
        plain = full[start:]
        if plain.startswith(("✗ ", "! ")):
            text.stylize(self.styles.get("error", Style(color="red", bold=True)), start)
        elif plain.startswith("→ "):
            end = plain.find(" ", 2)
            text.stylize(self.styles.get("tool", Style(bold=True)), start,
                         start + end if end > 0 else len(full))
        elif plain.startswith("↻ "):
            text.stylize(self.styles.get("warning", Style(color="yellow")), start)
        elif plain.startswith(MUTED):
            text.stylize(self.styles.get("muted", Style(dim=True)), start)


def _rich_color(value: str | None) -> RichColor | None:
    """A theme colour as a rich colour (None when it is not a plain colour)."""
    try:
        return Color.parse(value).rich_color if value else None
    except Exception:  # e.g. `auto 60%`: fall back to the default colour
        return None


_BREAKS = re.compile(r"[\r\n\t]+")
_LANE_LABEL = re.compile(r"^[A-Z][A-Z0-9]*-\d+│")
"""The label of a line from one of several lanes shown together."""


def _agent_line(kind: str, text: str, raw: str) -> AgentLine:
    """An AgentLine (app/engine/events.py's: imported once the pane has a line to show,
    not for the first frame, which shows none)."""
    from app.engine.events import AgentLine

    return AgentLine(kind, text, raw)


def display_line(line: AgentLine, raw: bool) -> str:
    """One line of the pane for `line`, in the readable or the raw view (control
    characters escaped: the raw line is as the agent printed it), after its lane's label
    (`WRK-002│`) where lines of several lanes are shown together."""
    text = (line.raw or line.text) if raw else PREFIX.get(line.kind, "  ") + line.text
    if "\n" in text or "\r" in text or "\t" in text:
        text = _BREAKS.sub(" ", text)
    text = visible(text)
    if line.lane:
        text = f"{visible(line.lane, one_line=True)}│{text}"
    return text if len(text) <= LINE_MAX else text[: LINE_MAX - 1] + "…"


Entry: TypeAlias = "AgentLine | str"
"""A line the pane keeps: classified already, or as the agent printed it (a line of a log
file, classified by the pane's `classify` only when it is shown)."""


class LineSource(Protocol):
    """A finished log file's lines, read from its end (app/engine/jsonl.py `TailIndex`):
    the pane shows them without reading the rest, and asks for more when scrolled to the
    top."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> str: ...

    def more_above(self) -> int:
        """Index the lines before the first one indexed; how many there were."""
        ...


class ShownLines(Sequence[str]):
    """The pane's lines as they are shown (each rendered when asked for)."""

    def __init__(self, log: PaneLog) -> None:
        self._log = log

    def __len__(self) -> int:
        return len(self._log.entries)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self._log.text(i) for i in range(len(self))[index]]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._log.text(index)


class PaneLog(Log):
    """A `Log` that renders only the lines on screen.

    Textual's Log turns every line written into a string and measures it (in a worker
    thread per batch). An agent prints thousands of lines a second and a pane shows a few
    dozen: this one keeps the pane's entries as they came (`entries`: AgentLines, the
    lines of a log file as printed, or a finished file's `LineSource`) and makes the
    display line, its colours and its width only for a line drawn on screen (cached, by
    its number since the pane began). The virtual width is that of the widest line drawn
    so far. Overrides Textual's `Log` storage (`lines`, `line_count`, `clear`,
    `_render_line`, `_render_line_strip`, `get_selection`); tests/ui/test_textual_private.py
    fails when a Textual release changes them.
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(highlight=True, id=id)
        self.entries: Sequence[Entry] | LineSource = ()
        """What is shown, line by line."""
        self.classify: Callable[[str], AgentLine] | None = None
        """Makes an AgentLine of a line as the agent printed it (the caller's)."""
        self.raw = False
        """Show the agent's raw JSON lines."""
        self.base = 0
        """The number of `entries[0]` since they began (a drawn line's cache key)."""
        self.file: LineSource | None = None
        """A finished log file shown, its lines indexed from its end."""
        self._strips: LRUCache[int, Strip] = LRUCache(1024)
        self._painted = 0.0
        """When new lines were last painted (monotonic)."""
        self._repaint: Timer | None = None

    @property
    def lines(self) -> Sequence[str]:
        """The lines as shown (each made when asked for)."""
        return ShownLines(self)

    @property
    def line_count(self) -> int:
        return len(self.entries)

    def text(self, y: int) -> str:
        """Line `y` as shown."""
        entry = self.entries[y]
        if isinstance(entry, str):
            classify = self.classify
            entry = classify(entry) if classify is not None else _agent_line("raw", entry, entry)
        return display_line(entry, self.raw)

    def show(self, entries: Sequence[Entry] | LineSource,
             file: LineSource | None = None) -> None:
        """Show `entries` instead (all drawn again); `file`: they are a finished log
        file's (`entries` is `file`), indexed further up when scrolled to the top."""
        self.entries = entries
        self.file = file
        self.base = 0
        self._strips.clear()
        self._width = 0
        self.virtual_size = Size(0, len(entries))
        self.refresh()

    def grew(self, dropped: int, follow: bool) -> None:
        """Lines were appended to `entries` (a deque that `dropped` lines off its front).

        The scroll state follows at once; the repaint at most every REPAINT_S (a full
        pane drawn again per batch, with lanes printing thousands of lines a second, was
        what kept key presses waiting)."""
        self.base += dropped
        self.virtual_size = Size(self._width, len(self.entries))
        if follow and not self.is_vertical_scrollbar_grabbed:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        now = monotonic()
        if now - self._painted >= REPAINT_S:
            self._painted = now
            self.refresh()
        elif self._repaint is None:
            self._repaint = self.set_timer(self._painted + REPAINT_S - now, self._paint)

    def _paint(self) -> None:
        self._repaint = None
        self._painted = monotonic()
        self.refresh()

    def redraw(self) -> None:
        """Draw every line again (the raw view or the theme changed)."""
        self._strips.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def clear(self) -> Self:
        self.show(())
        return self

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        return selection.extract("\n".join(self.lines)), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._strips.clear()
        self.refresh()

    def render_lines(self, crop: Region) -> list[Strip]:
        if self.file is not None and self.scroll_offset.y == 0:
            self._more_above(self.file)  # the lines above the top, the view kept
        strips = super().render_lines(crop)
        if self._width > self.virtual_size.width:
            self.call_later(self._widen)
        return strips

    def _more_above(self, source: LineSource) -> None:
        """At the top of a file: index the lines above, keep the view where it is."""
        added = source.more_above()
        if added:
            self._strips.clear()
            self.virtual_size = Size(self._width, len(source))
            self.scroll_to(y=self.scroll_offset.y + added, animate=False, immediate=True)

    def _widen(self) -> None:
        self.virtual_size = Size(self._width, len(self.entries))

    def _render_line(self, y: int, scroll_x: int, width: int) -> Strip:
        rich_style = self.rich_style
        if y >= len(self.entries):
            return Strip.blank(width, rich_style)
        line = self._render_line_strip(y, rich_style)
        line = line.crop_extend(scroll_x, scroll_x + width, rich_style)
        return line.apply_offsets(scroll_x, y)

    def _render_line_strip(self, y: int, rich_style: Style) -> Strip:
        selection = self.text_selection
        key = self.base + y
        if selection is None:
            cached = self._strips.get(key)
            if cached is not None:
                return cached
        shown = self._process_line(self.text(y))
        line_text = Text(shown, no_wrap=True)
        line_text.stylize(rich_style)
        line_text = self.highlighter(line_text)
        if selection is not None and (span := selection.get_span(y)) is not None:
            start, end = span
            line_text.stylize(self.screen.get_component_rich_style("screen--selection"),
                              start, len(line_text) if end == -1 else end)
        width = len(shown) if shown.isascii() else cell_len(shown)
        strip = Strip(line_text.render(self.app.console), width)
        self._width = max(self._width, width)
        if selection is None:
            self._strips[key] = strip
        return strip


class LogPane(Vertical):
    """A title line and a `PaneLog`; `add_lines` appends a batch."""

    DEFAULT_CSS = """
    LogPane > #log-title { height: 1; }
    LogPane > Log { height: 1fr; }
    """

    raw: reactive[bool] = reactive(False)
    """Show the agent's raw JSON lines instead of the readable rendering."""

    def __init__(self, *, id: str | None = None, max_lines: int = MAX_LINES) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        """Lines kept in memory."""
        self.lines: deque[Entry] = deque(maxlen=max_lines)
        """The kept lines (each made a display line only when it is drawn)."""
        self.source = "no run yet"
        """What the pane shows (e.g. `WRK-004 · build · attempt 2`)."""
        self.unseen = 0
        """Lines that arrived while the person was scrolled up."""
        self.live = False
        """A run's lines were shown (a finished attempt's log does not take their place)."""
        self._title = ""

    def compose(self) -> ComposeResult:
        yield Static(id="log-title")
        log = PaneLog(id="log")
        log.highlighter = AgentLineHighlighter()
        yield log

    def on_mount(self) -> None:
        self.log_view.show(self.lines)
        self._update_title()
        self._theme_styles()
        self.watch(self.app, "theme", lambda _theme: self._theme_styles(), init=False)

    def _theme_styles(self) -> None:
        """Take the highlight colours from the current theme."""
        variables = self.app.theme_variables
        highlighter = self.log_view.highlighter
        if isinstance(highlighter, AgentLineHighlighter):
            highlighter.styles = {
                "error": Style(color=_rich_color(variables.get("error")), bold=True),
                "tool": Style(color=_rich_color(variables.get("accent")), bold=True),
                "warning": Style(color=_rich_color(variables.get("text-warning"))),
                "muted": Style(dim=True),
                "lane": Style(color=_rich_color(variables.get("primary")), bold=True),
            }
        self.log_view.notify_style_update()

    @property
    def log_view(self) -> PaneLog:
        """The Log widget (not `log`: that is Textual's logger of every widget)."""
        return self.query_one(PaneLog)

    def begin(self, source: str) -> None:
        """A new attempt starts: a separator line and a new title."""
        self.source = source
        self.add_lines([_agent_line("system", f"── {source} ──", "")])

    def show_lines(self, source: str, lines: Iterable[AgentLine]) -> None:
        """Show these lines instead of what is shown (another lane), following the tail."""
        self.source = source
        self.live = True
        self.lines.clear()
        self.lines.extend(lines)
        self.log_view.show(self.lines)
        self.follow()

    def show_file(self, source: str, lines: LineSource,
                  classify: Callable[[str], AgentLine]) -> None:
        """Show a finished attempt's log (`lines`, read from its end), at its end."""
        self.source = source
        self.lines.clear()
        log = self.log_view
        log.classify = classify
        log.show(lines, file=lines)
        self.follow()

    def add_lines(self, lines: Iterable[Entry],
                  classify: Callable[[str], AgentLine] | None = None) -> None:
        """Append a batch of lines: AgentLines, or lines as the agent printed them (a log
        file's) that `classify` makes AgentLines of when they are drawn."""
        batch = lines if isinstance(lines, (list, tuple)) else list(lines)
        if not batch:
            return
        self.live = True
        log = self.log_view
        if classify is not None:
            log.classify = classify
        if log.entries is not self.lines:  # a finished attempt's log was shown
            log.show(self.lines)
        following = log.is_vertical_scroll_end or log.max_scroll_y == 0
        kept = self.lines
        before = len(kept)
        kept.extend(batch[-self.max_lines:])
        log.grew(before + min(len(batch), self.max_lines) - len(kept), following)
        self.unseen = 0 if following else self.unseen + len(batch)
        self._update_title()

    def follow(self) -> None:
        """Jump to the tail and follow it again."""
        self.log_view.scroll_end(animate=False)
        self.unseen = 0
        self._update_title()

    def watch_raw(self, raw: bool) -> None:
        if not self.is_mounted:
            return
        self.log_view.raw = raw
        self.log_view.redraw()
        self._update_title()

    def _update_title(self) -> None:
        view = "raw JSON" if self.raw else "agent"
        more = f"  ·  +{self.unseen} lines below (f follows)" if self.unseen else ""
        title = visible(f" {view} · {self.source}{more}", one_line=True)
        if title != self._title:  # one line of a fixed height: no layout of the screen
            self._title = title
            self.query_one("#log-title", Static).update(title, layout=False)
