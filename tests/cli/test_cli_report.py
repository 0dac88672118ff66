"""`orchestrate report` through the real command: its tables piped (plain) and on a
terminal (coloured), `--json`'s shape, `--plot`'s charts, `--since` and `--item`, and the
refusals of a bad `--since`, an unknown id and `--plot --json` together."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from conftest import CLI_ENV, ORCHESTRATE
from report_project import WORKLOG, make_report_project
from test_cli_groom import CACHE
from test_cli_show_reading import on_a_terminal

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def report(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`orchestrate report ARGS`, piped, in UTC (the times it prints are the clock's)."""
    env = {"PATH": "/usr/bin:/bin", **CACHE, **CLI_ENV, "TZ": "UTC"}
    return subprocess.run([*ORCHESTRATE, "report", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env=env)


def test_piped_it_prints_every_table_plain(tmp_path: Path) -> None:
    root = make_report_project(tmp_path / "p").root
    done = report(root)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert not ANSI.search(out)
    assert not re.search(r" $", out, re.M)  # no line padded to its table's width
    assert out.startswith("27 attempts (1 met a usage limit) · $9.45 · 20:50 → 05:40 (8h50m)\n")
    for title in ("by phase", "by agent", "failures by cause", "malformed answers",
                  "blocked: was a person needed?", "triage calibration",
                  "usage limits: met 1 time (default 1); the run waited 30m00s over 1 pause"):
        assert f"\n{title}" in out, title
    prd = next(line for line in out.splitlines() if line.startswith("prd "))
    assert prd.split() == ["prd", "6", "67%", "16m00s", "30m00s", "200.0k", "10.0k", "$1.30"]
    assert re.search(r"^WRK-004 +prd +failures +unblocked without notes$", out, re.M)
    assert "initial → final: 1 of 2 assessments unchanged; size small → medium: 1" in out


def test_on_a_terminal_the_headline_is_bold(tmp_path: Path) -> None:
    root = make_report_project(tmp_path / "p").root
    out = on_a_terminal(root, "report")
    assert "\x1b[1m27 attempts" in out
    plot = on_a_terminal(root, "report", "--plot")
    assert ANSI.search(plot) and "timeline: attempts per lane, by outcome" in plot


def test_json_is_every_figure(tmp_path: Path) -> None:
    root = make_report_project(tmp_path / "p").root
    done = report(root, "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["totals"]["attempts"] == len(WORKLOG)
    assert [p["name"] for p in data["phases"]] == ["triage", "prd", "research", "design",
                                                   "spec", "build", "review"]
    assert {a["name"]: a["attempts"] for a in data["agents"]} == {"default": 21, "codex": 6}
    assert data["failures"][0].keys() == {"cause", "count", "phases", "example"}
    assert {m["phase"]: m["total"] for m in data["malformed"]} == {"prd": 2, "build": 1}
    assert [b["verdict"] for b in data["blocked"]["blocks"]] == ["needed", "not needed", "open"]
    assert data["limits"]["met"] == 1 and data["limits"]["waits"][0]["ended"] == "resumed"
    assert data["calibration"]["reassessed"] == [
        {"field": "size", "initial": "small", "final": "medium", "items": 1}]
    assert data["since"] is None and data["item"] is None and data["warnings"] == []


def test_plot_prints_the_three_charts(tmp_path: Path) -> None:
    root = make_report_project(tmp_path / "p").root
    done = report(root, "--plot")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert not ANSI.search(out)
    for title in ("timeline: attempts per lane, by outcome", "cost per hour (USD)",
                  "success rate per phase (%)"):
        assert title in out, title
    assert re.search(r"^ *lane 1┤", out, re.M) and re.search(r"^ *paused┤", out, re.M)
    assert re.search(r"^ *prd \(6\)┤█+ 67%", out, re.M)
    assert "Mon 22:00" in out and "Tue 04:00" in out


def test_since_and_item_narrow_it(tmp_path: Path) -> None:
    root = make_report_project(tmp_path / "p").root
    later = json.loads(report(root, "--json", "--since", "2026-11-24T02:30:00Z").stdout)
    assert later["totals"]["attempts"] == 6  # WRK-002's review and WRK-005
    assert later["since"] == "2026-11-24T02:30:00Z"
    day = json.loads(report(root, "--json", "--since", "2026-11-24").stdout)  # UTC midnight
    assert day["totals"]["attempts"] == sum(1 for e in WORKLOG if e["start"] >= "2026-11-24")
    one = report(root, "--item", "WRK-004")
    assert one.returncode == 0, one.stderr
    assert one.stdout.startswith("2 attempts · $0.40 · ") and "WRK-004" in one.stdout
    assert "by phase" in one.stdout and "WRK-005" not in one.stdout
    nothing = report(root, "--since", "2030-01-01")
    assert nothing.returncode == 0 and "no attempts recorded yet in this window" in nothing.stdout


def test_a_bad_since_an_unknown_item_and_plot_with_json_are_refused(tmp_path: Path) -> None:
    root = make_report_project(tmp_path / "p").root
    bad = report(root, "--since", "yesterday")
    assert bad.returncode == 2 and bad.stdout == ""
    assert ("argument --since: must be a date (2026-11-24) or a time (2026-11-24T21:00, "
            "2026-11-24T21:00:00Z), not 'yesterday'") in bad.stderr
    unknown = report(root, "--item", "WRK-042")
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert unknown.stderr.startswith("orchestrate: no item WRK-042 in BACKLOG.yaml")
    both = report(root, "--plot", "--json")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


def test_a_project_without_records_says_so(tmp_path: Path) -> None:
    project = make_report_project(tmp_path / "p")
    for path in (project.worklog_path, project.history_path, project.pauses_path):
        path.unlink()
    done = report(project.root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("0 attempts · $0.00\n")
    plot = report(project.root, "--plot")
    assert plot.returncode == 0 and "timeline: attempts per lane, by outcome: no attempts yet" \
        in plot.stdout


def test_the_readmes_example_is_what_it_prints(tmp_path: Path) -> None:
    """README.md's `$ orchestrate report` block is this night's report, as printed."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    shown = readme.split("```\n$ orchestrate report\n", 1)[1].split("```", 1)[0]
    root = make_report_project(tmp_path / "p").root
    assert report(root).stdout == shown


def test_a_records_words_are_shown_as_written(tmp_path: Path) -> None:
    """Markup in an agent's reason stays text, a control character is shown escaped."""
    project = make_report_project(tmp_path / "p")
    line = {**WORKLOG[-1], "outcome": "failed", "agent": "[bold]odd",
            "reason": "[red]boom[/red] \x1b[2J and more"}
    with project.worklog_path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")
    out_text = report(project.root).stdout
    assert "[red]boom[/red] \\x1b[NJ and more" in out_text and "\x1b" not in out_text
    assert re.search(r"^\[bold\]odd +1 ", out_text, re.M)


def test_a_records_words_cannot_drive_the_terminal_in_the_charts(tmp_path: Path) -> None:
    project = make_report_project(tmp_path / "p")
    line = {**WORKLOG[-1], "phase": "odd\x1b[2J"}
    with project.worklog_path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")
    plot = on_a_terminal(project.root, "report", "--plot")
    assert "odd\\x1b[2J (1)" in plot and "\x1b[2J" not in plot
