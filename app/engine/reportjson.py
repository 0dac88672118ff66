"""`orchestrate report --json`: the report as stable JSON (times ISO UTC, money rounded to
the micro-dollar, durations to the millisecond, rates as fractions 0-1 or null)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.engine.records import iso

if TYPE_CHECKING:
    from app.engine.blocks import Accuracy, Block
    from app.engine.report import Figures, Report


def _time(t: float | None) -> str | None:
    return iso(t) if t is not None else None


def _round(value: float | None, places: int) -> float | None:
    return round(value, places) if value is not None else None


def figures_json(f: Figures) -> dict[str, Any]:
    return {"name": f.name, "attempts": f.attempts, "counted": f.counted,
            "succeeded": f.succeeded, "success_rate": _round(f.success_rate, 4),
            "median_s": _round(f.median_s, 3), "p90_s": _round(f.p90_s, 3),
            "input_tokens": f.input_tokens, "output_tokens": f.output_tokens,
            "cost_usd": round(f.cost_usd, 6), "outcomes": dict(f.outcomes)}


def block_json(b: Block) -> dict[str, Any]:
    return {"item": b.item, "phase": b.phase, "agent": b.agent, "cause": b.cause,
            "reason": b.reason, "at": _time(b.at), "verdict": b.verdict, "how": b.how}


def accuracy_json(a: Accuracy) -> dict[str, Any]:
    return {"name": a.name, "blocks": a.blocks, "needed": a.needed,
            "not_needed": a.not_needed, "open": a.open, "unknown": a.unknown,
            "rate": _round(a.rate, 4)}


def report_json(r: Report) -> dict[str, Any]:
    cal = r.calibration
    return {
        "since": _time(r.since), "item": r.item, "first": _time(r.first),
        "last": _time(r.last),
        "totals": figures_json(r.overall),
        "phases": [figures_json(f) for f in r.by_phase],
        "agents": [figures_json(f) for f in r.by_agent],
        "failures": [{"cause": c.cause, "count": c.count, "phases": list(c.phases),
                      "example": c.example} for c in r.failures],
        "malformed": [{"phase": m.phase, "attempts": m.attempts, "total": m.total,
                       **dict(m.kinds)} for m in r.malformed],
        "blocked": {"blocks": [block_json(b) for b in r.blocks],
                    **{f"by_{key}": [accuracy_json(a) for a in r.blocked_by(key)]
                       for key in ("agent", "phase", "cause")}},
        "calibration": {
            "rows": [{"field": row.field, "value": row.value, "items": row.items,
                      "mean_cost_usd": round(row.mean_cost_usd, 6),
                      "mean_duration_s": round(row.mean_duration_s, 3),
                      "mean_attempts": round(row.mean_attempts, 3)} for row in cal.rows],
            "reassessed": [{"field": m.field, "initial": m.initial, "final": m.final,
                            "items": m.items} for m in cal.reassessed],
            "compared": cal.compared, "unchanged": cal.unchanged},
        "limits": {"met": r.limits.met, "by_agent": dict(r.limits.by_agent),
                   "waited_s": round(r.limits.waited_s, 3),
                   "waits": [{"start": iso(w.start), "end": iso(w.end),
                              "waited_s": round(w.waited_s, 3), "reason": w.reason,
                              "ended": w.ended} for w in r.limits.waits]},
        "cost": {"bucket_s": r.bucket_s,
                 "buckets": [{"start": iso(b.start), "cost_usd": round(b.cost_usd, 6),
                              "attempts": b.attempts} for b in r.buckets]},
        "timeline": [{"lane": b.lane, "item": b.item, "phase": b.phase,
                      "start": iso(b.start), "end": iso(b.end), "outcome": b.outcome}
                     for b in r.timeline],
        "warnings": list(r.problems),
    }
