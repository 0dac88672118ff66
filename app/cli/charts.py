"""The report's pictures, drawn alike by `orchestrate report --plot` and the board's report
screen: three plotext charts (the timeline, cost per hour, success per phase).

A chart is drawn onto a plotext figure: the `plotext` module itself on a terminal, a
`PlotextPlot`'s `plt` on the board (textual-plotext's figure is plotext's). Nothing here
imports Textual. Times are shown in the machine's own time zone; a record's words (an
item's id, a phase) with their control characters escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from app.cli.terminal import shown
from app.engine.report import Bar, Report, phase_key
from app.structs import Struct

TITLES = {"timeline": "timeline: attempts per lane, by outcome",
          "cost": "cost per hour (USD)", "success": "success rate per phase (%)"}
"""Each chart's title (cost per day when the report spans more than two days)."""
OUTCOME_COLOURS = {"complete": "green", "progress": "cyan", "blocked": "orange",
                   "failed": "red", "timeout": "magenta", "limited": "blue",
                   "interrupted": "gray"}
"""plotext's colour names (its `yellow` draws nothing; `orange` is the terminal's yellow)."""
PAUSED_ROW = "paused"
TICK_STEPS = (60, 300, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)
"""Seconds between the timeline's time labels: the first that leaves room between them."""


class Ink(Struct, frozen=True):
    """The colours of a chart's words (plotext colours: a name, `default` or an RGB
    triple): the terminal's own by default; the board gives its theme's, since a word's
    background is fixed when it is drawn, before textual-plotext applies the theme."""

    text: object = "default"
    background: object = "default"


TERMINAL_INK = Ink()
"""The terminal's own colours (the default of every chart)."""


class Figure(Protocol):
    """The plotext calls the charts make (the `plotext` module, a textual-plotext `plt`)."""

    def plot(self, *args: Any, **kwargs: Any) -> Any: ...
    def bar(self, *args: Any, **kwargs: Any) -> Any: ...
    def text(self, *args: Any, **kwargs: Any) -> Any: ...
    def title(self, *args: Any, **kwargs: Any) -> Any: ...
    def xticks(self, *args: Any, **kwargs: Any) -> Any: ...
    def yticks(self, *args: Any, **kwargs: Any) -> Any: ...
    def xlim(self, *args: Any, **kwargs: Any) -> Any: ...
    def ylim(self, *args: Any, **kwargs: Any) -> Any: ...


def clock(t: float, days: bool = False) -> str:
    """`21:00`, or `Tue 21:00` when the chart spans days."""
    return datetime.fromtimestamp(t).strftime("%a %H:%M" if days else "%H:%M")


def time_ticks(first: float, last: float, width: int) -> tuple[list[float], list[str]]:
    """Round times between `first` and `last` (on the hour, the quarter, the day ...),
    as many as fit `width` columns with room between their labels."""
    span = max(last - first, 1.0)
    days = span > 86400 or clock(first, True)[:3] != clock(last, True)[:3]
    room = max(2, width // (13 if days else 9))
    step = next((s for s in TICK_STEPS if span / s <= room), TICK_STEPS[-1])
    offset = datetime.fromtimestamp(first).astimezone().utcoffset()
    shift = offset.total_seconds() if offset is not None else 0.0
    at = -((first + shift) // -step) * step - shift  # the first round time, in local time
    ticks = []
    while at <= last:
        ticks.append(at)
        at += step
    return ticks, [clock(t, days) for t in ticks]


def _spans(bars: Sequence[Bar]) -> list[tuple[int, str, float, float]]:
    """(lane, item, start, end) of each run of one item's attempts in one lane."""
    spans: list[tuple[int, str, float, float]] = []
    last_in: dict[int, int] = {}
    for bar in bars:
        at = last_in.get(bar.lane)
        if at is not None and spans[at][1] == bar.item:
            lane, item, start, _ = spans[at]
            spans[at] = (lane, item, start, bar.end)
            continue
        last_in[bar.lane] = len(spans)
        spans.append((bar.lane, bar.item, bar.start, bar.end))
    return spans


def timeline_height(report: Report) -> int:
    """The rows the timeline needs for its lanes to have their labels: the title, the
    frame and the time labels, the legend, the paused row, two rows a lane."""
    return 4 + 2 + (2 if report.limits.waits else 0) + 2 * max(report.lanes, 1) + 1


def draw_timeline(plt: Figure, report: Report, width: int, height: int,
                  ink: Ink = TERMINAL_INK) -> None:
    """One row per lane (lane 1 on top), each attempt a bar in its outcome's colour, the
    item's id over each run of its attempts where there is room; a `paused` row above
    them shows the runs' usage-limit waits (the gaps they left in the lanes), and the
    outcomes' colours are named on the top row.

    The y axis counts text rows (0 at the bottom), so every mark lands on a row of its
    own."""
    plt.title(TITLES["timeline"])
    bars, waits = report.timeline, report.limits.waits
    if not bars:
        plt.title(TITLES["timeline"] + ": no attempts yet")
        return
    first = min(b.start for b in bars)
    last = max(max(b.end for b in bars), first + 60)
    top = max(height - 5, 2)
    lanes = report.lanes
    names = [f"lane {lanes}" if lanes > 1 else "attempts", *([PAUSED_ROW] if waits else [])]
    canvas = max(width - max(len(n) for n in names) - 2, 10)
    per_column = (last - first) / canvas
    at = first
    for outcome in sorted({b.outcome for b in bars}, key=_outcome_order):
        plt.text(f"█ {outcome}", x=at, y=top, color=OUTCOME_COLOURS.get(outcome, "white"),
                 background=ink.background, alignment="left")
        at += (len(outcome) + 4) * per_column
    below = top - 2
    ticks: dict[int, str] = {}
    if waits:
        for wait in waits:
            if wait.end >= first and wait.start <= last:
                plt.plot([max(wait.start, first), min(wait.end, last)], [below, below],
                         marker="─", color="gray")
        ticks[below] = PAUSED_ROW
        below -= 2
    spacing = max(1, min(3, (below + 1) // lanes))
    below -= max(0, below + 1 - lanes * spacing) // 2  # the lanes in the middle of the room
    rows = {lane: below - lane * spacing - (1 if spacing > 1 else 0) for lane in range(lanes)}
    for bar in bars:
        plt.plot([bar.start, max(bar.end, bar.start + per_column)], [rows[bar.lane]] * 2,
                 marker="█", color=OUTCOME_COLOURS.get(bar.outcome, "white"))
    for lane, row in rows.items():
        ticks[row] = f"lane {lane + 1}" if lanes > 1 else "attempts"
    if spacing > 1:
        for lane, item, start, end in _spans(bars):
            if (end - start) / per_column >= len(item) + 1:
                plt.text(shown(item), x=start, y=rows[lane] + 1, color=ink.text,
                         background=ink.background, alignment="left")
    xs, labels = time_ticks(first, last, canvas)
    plt.xticks(xs, labels)
    plt.xlim(first, last)
    plt.yticks(sorted(ticks), [ticks[y] for y in sorted(ticks)])
    plt.ylim(0, top)


def _outcome_order(outcome: str) -> int:
    order = list(OUTCOME_COLOURS)
    return order.index(outcome) if outcome in order else len(order)


def draw_cost(plt: Figure, report: Report, width: int, height: int,
              ink: Ink = TERMINAL_INK) -> None:
    """A bar per hour (or day) from the first attempt's to the last one's: what the
    attempts that ended in it cost."""
    hourly = report.bucket_s == 3600
    plt.title(TITLES["cost"] if hourly else "cost per day (USD)")
    buckets = report.buckets
    if not buckets:
        plt.title(TITLES["cost"] + ": nothing spent yet")
        return
    xs = list(range(len(buckets)))
    spent = [(x, round(b.cost_usd, 4)) for x, b in zip(xs, buckets, strict=True)
             if b.cost_usd > 0]  # an hour without cost shows no bar, not one at 0
    if spent:
        plt.bar([x for x, _ in spent], [c for _, c in spent], color="cyan", width=0.8)
    plt.xlim(-0.6, len(buckets) - 0.4)
    days = not hourly or clock(buckets[0].start, True)[:3] != clock(buckets[-1].start, True)[:3]
    shape = "%a %d" if not hourly else "%a %Hh" if days else "%H:00"
    every = max(1, -(-len(buckets) * (len(shape) + 5) // max(width - 8, 8)))
    plt.xticks(xs[::every], [datetime.fromtimestamp(buckets[i].start).strftime(shape)
                             for i in xs[::every]])


def draw_success(plt: Figure, report: Report, width: int, height: int,
                 ink: Ink = TERMINAL_INK) -> None:
    """A bar per phase (the first phase on top): the share of its counted attempts that
    completed or made progress, and of how many; one text row each (as the timeline's
    rows), so no bar bleeds into its neighbour's."""
    plt.title(TITLES["success"])
    phases = sorted((f for f in report.by_phase if f.counted), key=lambda f: phase_key(f.name))
    if not phases:
        plt.title(TITLES["success"] + ": no answers yet")
        return
    top = max(height - 5, 1)
    spacing = max(1, min(2, (top + 1) // len(phases)))
    below = (top + 1 - len(phases) * spacing) // 2
    rows = [top - below - n * spacing for n in range(len(phases))]
    for row, f in zip(rows, phases, strict=True):
        rate = 100 * (f.success_rate or 0.0)
        if rate > 0:
            plt.plot([0, rate], [row, row], marker="█", color="green")
        plt.text(f"{rate:.0f}%", x=rate + 2, y=row, color=ink.text,
                 background=ink.background, alignment="left")
    plt.yticks(rows, [f"{shown(f.name)} ({f.counted})" for f in phases])
    plt.ylim(0, top)
    plt.xlim(0, 118)  # room for `100%` after a full bar
    plt.xticks([0, 25, 50, 75, 100], ["0", "25", "50", "75", "100"])


CHARTS = {"timeline": draw_timeline, "cost": draw_cost, "success": draw_success}
"""Each chart by name, in the order they are shown."""


def terminal_charts(report: Report, width: int, colour: bool) -> str:
    """The three charts for a terminal (the plotext module's own figure), uncoloured when
    `colour` is off (a pipe, NO_COLOR)."""
    import plotext  # imported when asked: ~60 ms

    heights = {"timeline": min(40, timeline_height(report)), "cost": 14,
               "success": max(8, 5 + 2 * len(report.by_phase))}
    drawn = []
    for name, draw in CHARTS.items():
        plotext.clear_figure()
        plotext.limitsize(False)  # the width is ours: a pipe has no terminal to fit
        plotext.theme("clear")
        plotext.plotsize(width, heights[name])
        draw(plotext, report, width, heights[name])
        text = plotext.build()
        drawn.append(text if colour else plotext.uncolorize(text))
    plotext.clear_figure()
    return "\n\n".join(drawn) + "\n"
