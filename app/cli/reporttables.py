"""The report's figures as rich tables, printed by `orchestrate report` and shown under the
charts on the board's report screen: by phase, by agent, failures by cause, malformed
answers, blocked accuracy, triage calibration, usage limits. Only tables with rows are
made; every text from a record is shown with its control characters escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from app.cli.charts import clock
from app.cli.terminal import shown
from app.engine.limits import duration
from app.engine.reasons import MALFORMED_KINDS
from app.engine.report import Figures, Report
from app.engine.worklog import money

MALFORMED_HEADS = {"no_result": "no result file", "bad_json": "bad JSON",
                   "wrong_item": "wrong item", "wrong_phase": "wrong phase",
                   "bad_answer": "bad result"}
BLOCKS_LISTED = 12
"""The blocks listed one by one (the newest); the counts above them hold every one."""
FAILURES_LISTED = 10


def tokens(n: int | None) -> str:
    """`812`, `9.1k`, `1.2M`; `-` when not recorded."""
    if n is None:
        return "-"
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 1000:
        return f"{n / 1000:.1f}k"
    return str(n)


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.0f}%"


def seconds(value: float | None) -> str:
    return "-" if value is None else duration(value)


def cut(text: str, width: int) -> str:
    """One line of a record's words, at most `width` characters."""
    text = shown(text)
    return text if len(text) <= width else text[:width - 1] + "…"


def headline(report: Report) -> str:
    """`23 attempts (2 met a usage limit) · $4.18 · 21:04 → 07:12 (10h08m)`."""
    total = report.overall
    limited = f" ({report.limits.met} met a usage limit)" if report.limits.met else ""
    words = [f"{total.attempts} attempt{'s' if total.attempts != 1 else ''}{limited}",
             money(total.cost_usd)]
    if report.first is not None and report.last is not None:
        days = report.last - report.first > 86400
        words.append(f"{clock(report.first, days)} → {clock(report.last, days)} "
                     f"({duration(report.last - report.first)})")
    if report.item:
        words.append(report.item)
    if report.since is not None:
        words.append(f"since {datetime.fromtimestamp(report.since):%Y-%m-%d %H:%M}")
    return " · ".join(words)


class Rows(Table):
    """A table whose cells are plain text: a record's words are shown as written (control
    characters escaped), never read as rich markup, on a terminal or on the board."""

    def add_row(self, *cells: Any, **options: Any) -> None:
        super().add_row(*(Text(shown(c)) if isinstance(c, str) else c for c in cells),
                        **options)


def table(title: str, *columns: str) -> Table:
    """A table without borders: the first column left, the figures right."""
    made = Rows(title=title, title_justify="left", title_style="bold", box=None,
                 header_style="bold", pad_edge=False, padding=(0, 2, 0, 0))
    for n, name in enumerate(columns):
        made.add_column(name, justify="left" if n == 0 else "right", no_wrap=True)
    return made


def figures_table(title: str, column: str, rows: Sequence[Figures]) -> Table:
    """Attempts, success, median and p90 duration, tokens and cost per row."""
    made = table(title, column, "attempts", "success", "median", "p90", "tokens in",
                 "out", "cost")
    for f in rows:
        made.add_row(f.name, str(f.attempts), percent(f.success_rate),
                     seconds(f.median_s), seconds(f.p90_s), tokens(f.input_tokens),
                     tokens(f.output_tokens), money(f.cost_usd))
    return made


def failures_table(report: Report) -> Table | None:
    if not report.failures:
        return None
    made = table("failures by cause", "count", "cause", "phases")
    made.columns[0].justify = "right"
    made.columns[1].justify = "left"
    made.columns[2].justify = "left"
    for c in report.failures[:FAILURES_LISTED]:
        made.add_row(str(c.count), cut(c.cause, 70), ", ".join(c.phases))
    left = report.failures[FAILURES_LISTED:]
    if left:
        made.add_row(str(sum(c.count for c in left)), f"({len(left)} other causes)", "")
    return made


def malformed_table(report: Report) -> Table | None:
    if not report.malformed:
        return None
    made = table("malformed answers", "phase", "answers",
                 *(MALFORMED_HEADS[k] for k in MALFORMED_KINDS), "share")
    for m in report.malformed:
        kinds = dict(m.kinds)
        made.add_row(m.phase, str(m.attempts), *(str(kinds.get(k, 0) or "·")
                                                 for k in MALFORMED_KINDS),
                     percent(m.total / m.attempts if m.attempts else None))
    return made


def blocks_table(report: Report) -> RenderableType | None:
    """Accuracy by agent (needed / decided), then the newest blocks one by one."""
    if not report.blocks:
        return None
    made = table("blocked: was a person needed?", "agent", "blocks", "needed", "not needed",
                 "open", "accuracy")
    for a in report.blocked_by("agent"):
        made.add_row(a.name, str(a.blocks), str(a.needed), str(a.not_needed),
                     str(a.open + a.unknown), percent(a.rate))
    listed = table("", "item", "phase", "cause", "what the person did")
    for n in range(1, 4):
        listed.columns[n].justify = "left"
    for b in sorted(report.blocks, key=lambda b: b.at or 0.0)[-BLOCKS_LISTED:]:
        listed.add_row(b.item, b.phase, b.cause, b.how)
    return Group(made, Text(""), listed)


def calibration_tables(report: Report) -> list[RenderableType]:
    cal = report.calibration
    if not cal.rows:
        return []
    made = table("triage calibration: done items by assessment", "assessed", "items",
                 "mean cost", "mean time", "mean attempts")
    for row in cal.rows:
        made.add_row(f"{row.field} {row.value}", str(row.items), money(row.mean_cost_usd),
                     duration(row.mean_duration_s), f"{row.mean_attempts:.1f}")
    found: list[RenderableType] = [made]
    if cal.compared:
        moved = "; ".join(f"{m.field} {m.initial} → {m.final}: {m.items}"
                          for m in cal.reassessed)
        found.append(Text(f"initial → final: {cal.unchanged} of {cal.compared} assessments "
                          f"unchanged" + (f"; {moved}" if moved else "")))
    return found


def limits_lines(report: Report) -> Text | None:
    limits = report.limits
    if not limits.met and not limits.waits:
        return None
    agents = ", ".join(f"{shown(name)} {n}" for name, n in limits.by_agent)
    met = f"usage limits: met {limits.met} time{'s' if limits.met != 1 else ''}" + (
        f" ({agents})" if agents else "")
    waited = (f"; the run waited {duration(limits.waited_s)} over {len(limits.waits)} "
              f"pause{'s' if len(limits.waits) != 1 else ''}") if limits.waits else \
        "; no pause of a whole run recorded"
    return Text(met + waited)


def sections(report: Report) -> list[RenderableType]:
    """Every table of the report, in the order they are printed (only those with rows)."""
    if not report.overall.attempts and not report.blocks:
        return [Text("no attempts recorded yet" + (
            " in this window" if report.since is not None or report.item else ""))]
    found: list[RenderableType | None] = [
        figures_table("by phase", "phase", report.by_phase),
        figures_table("by agent", "agent", report.by_agent),
        failures_table(report), malformed_table(report), blocks_table(report),
        *calibration_tables(report), limits_lines(report)]
    return [part for part in found if part is not None]


def summary(report: Report, *, with_headline: bool = True) -> Group:
    """The headline (unless the screen shows it already) and every table, a blank line
    between them."""
    parts: list[RenderableType] = [Text(headline(report), style="bold")] \
        if with_headline else []
    for part in sections(report):
        parts += [Text(""), part] if parts else [part]
    return Group(*parts)
