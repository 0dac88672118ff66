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
from collections.abc import Iterable

from rich.cells import cell_len
from rich.color import Color as RichColor
from rich.highlighter import Highlighter
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Log, Static

from app.backlog.model import visible
from app.engine.events import AgentLine

MAX_LINES = 5000
"""Lines kept in memory (and in the widget)."""
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


class PaneLog(Log):
    """A `Log` that measures a batch's width in place.

    `Log.write_lines` starts a worker thread per batch to measure the new lines' widths
    and hands the result back with `call_from_thread`: a thread, a worker and a blocking
    round trip for every batch. Display lines are already flat and cut to LINE_MAX, and
    an ASCII line is as wide as it is long, so measuring here is cheaper than the thread.
    This overrides Textual's private `Log._update_size` and calls its private
    `_process_line` and `_update_maximum_width`; tests/ui/test_textual_private.py fails
    when a Textual release changes them.
    """

    def _update_size(self, updates: int, lines: list[str]) -> None:  # type: ignore[override]
        if lines:
            widest = max(len(line) if line.isascii() else cell_len(self._process_line(line))
                         for line in lines)
            self._update_maximum_width(updates, widest)


class LogPane(Vertical):
    """A title line and a `Log`; `add_lines` appends a batch."""

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
        self.lines: deque[AgentLine] = deque(maxlen=max_lines)
        """The kept lines (re-rendered when the view toggles)."""
        self.source = "no run yet"
        """What the pane shows (e.g. `WRK-004 · build · attempt 2`)."""
        self.unseen = 0
        """Lines that arrived while the person was scrolled up."""
        self._title = ""

    def compose(self) -> ComposeResult:
        yield Static(id="log-title")
        log = PaneLog(max_lines=self.max_lines, highlight=True, id="log")
        log.highlighter = AgentLineHighlighter()
        yield log

    def on_mount(self) -> None:
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
    def log_view(self) -> Log:
        """The Log widget (not `log`: that is Textual's logger of every widget)."""
        return self.query_one(Log)

    def begin(self, source: str) -> None:
        """A new attempt starts: a separator line and a new title."""
        self.source = source
        self.add_lines([AgentLine("system", f"── {source} ──", "")])

    def show_lines(self, source: str, lines: Iterable[AgentLine]) -> None:
        """Show these lines instead of what is shown (another lane), following the tail."""
        self.source = source
        self.lines.clear()
        self.lines.extend(lines)
        log = self.log_view
        log.clear()
        log.write_lines([display_line(line, self.raw) for line in self.lines])
        self.follow()

    def add_lines(self, lines: Iterable[AgentLine]) -> None:
        """Append a batch of lines."""
        batch = list(lines)
        if not batch:
            return
        self.lines.extend(batch)
        log = self.log_view
        following = log.is_vertical_scroll_end or log.max_scroll_y == 0
        # Only the last max_lines of a batch can be kept: render just those.
        raw = self.raw
        log.write_lines([display_line(line, raw) for line in batch[-self.max_lines:]])
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
        log = self.log_view
        log.clear()
        log.write_lines([display_line(line, raw) for line in self.lines])
        self._update_title()

    def _update_title(self) -> None:
        view = "raw JSON" if self.raw else "agent"
        more = f"  ·  +{self.unseen} lines below (f follows)" if self.unseen else ""
        title = visible(f" {view} · {self.source}{more}", one_line=True)
        if title != self._title:  # Static.update lays the whole screen out again
            self._title = title
            self.query_one("#log-title", Static).update(title)
