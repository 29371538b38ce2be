#!/usr/bin/env python3
"""Draws bench/peak.py's results as an SVG: per-student latency against arrival time.

    python3 bench/peak_chart.py --json sqlite.json [--json postgresql.json ...] [--out docs/images/peak.svg]

Two panels share the x axis (seconds since the first arrival): login-to-ready
on top, with the acceptance target, and the submit call below.  Each run
(its --label) is one colour: a dot per student, its p95 as a dashed line.
Students that failed are ticked under the x axis.  It also prints the runs side
by side as a Markdown table.  Written by hand, as
module_utils/course_planning.render_load_svg draws docs/images/load.svg
(same size, fonts and greys), with no plotting library.
Smoke runs: tests/unit/test_bench_smoke.py, molecule/default/tests/test_bench_smoke.py.
"""

import argparse
import json
import math
import os
import sys
from xml.sax.saxutils import escape as xml_escape

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "docs", "images", "peak.svg")
TARGET_P95_READY = 10.0   # bench/peak.py's acceptance target

WIDTH, PANEL_H, GAP = 980, 220, 60
MARGIN = {"left": 70, "right": 220, "top": 50, "bottom": 60}
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf")
TARGET_COLOUR = "#d62728"
PANELS = (("login_to_ready", "login to ready (s)"), ("submit", "submit (s)"))


def nice_step(span, ticks=5):
    """A round tick step (1, 2 or 5 times a power of ten) giving about `ticks` intervals over span."""
    raw = max(span, 1e-9) / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def axis_top(peak, floor=0.0, ticks=5):
    """(upper end, step) of an axis from 0 that shows peak and floor."""
    top = max(peak, floor, 1e-9)
    step = nice_step(top, ticks)
    return step * math.ceil(top / step * 1.0001), step


def fmt_tick(value):
    return ("%.1f" % value).rstrip("0").rstrip(".")


def load(paths):
    runs = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            result = json.load(handle)
        if "records" not in result or "summary" not in result:
            raise SystemExit(f"{path}: not a bench/peak.py result")
        runs.append(result)
    return runs


def render(runs, title=None):
    """The SVG text for one or more peak.py results."""
    left, right, top, bottom = (MARGIN[k] for k in ("left", "right", "top", "bottom"))
    plot_w = WIDTH - left - right
    height = top + 2 * PANEL_H + GAP + bottom
    xmax, xstep = axis_top(max(r["arrival"] for run in runs for r in run["records"]), ticks=8)

    def x(seconds):
        return left + plot_w * seconds / xmax

    if title is None:
        loads = sorted({"%d students arriving at %g/s" % (run["students"], run["rate"]) for run in runs})
        title = "Deadline peak: %s; %s" % ("; ".join(loads), " vs ".join(run["label"] for run in runs))
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="sans-serif" font-size="12">' % (WIDTH, height, WIDTH, height),
           '<title>%s</title>' % xml_escape(title),
           '<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>' % (WIDTH, height),
           '<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>' % (left, xml_escape(title))]
    for n, (key, label) in enumerate(PANELS):
        ptop = top + n * (PANEL_H + GAP)
        values = [r[key] for run in runs for r in run["records"] if key in r]
        floor = TARGET_P95_READY * 1.1 if key == "login_to_ready" else 0.0
        ymax, ystep = axis_top(max(values, default=0.0), floor)

        def y(seconds, ptop=ptop, ymax=ymax):
            return ptop + PANEL_H * (1 - min(seconds, ymax) / ymax)

        level = 0.0
        while level <= ymax + 1e-9:
            out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#dddddd"/>'
                       % (left, y(level), left + plot_w, y(level)))
            out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (left - 6, y(level) + 4, fmt_tick(level)))
            level += ystep
        base = ptop + PANEL_H
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#000000"/>' % (left, ptop, left, base))
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#000000"/>' % (left, base, left + plot_w, base))
        tick = 0.0
        while tick <= xmax + 1e-9:
            out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#999999"/>'
                       % (x(tick), base, x(tick), base + 5))
            out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (x(tick), base + 18, fmt_tick(tick)))
            tick += xstep
        out.append('<text class="axis-label" x="18" y="%.1f" text-anchor="middle" transform="rotate(-90 18 %.1f)">'
                   '%s</text>' % (ptop + PANEL_H / 2, ptop + PANEL_H / 2, xml_escape(label)))
        if key == "login_to_ready":
            out.append('<line class="target" x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-width="2" '
                       'stroke-dasharray="6 4"/>' % (left, y(TARGET_P95_READY), left + plot_w, y(TARGET_P95_READY),
                                                     TARGET_COLOUR))
        for i, run in enumerate(runs):
            colour = COLOURS[i % len(COLOURS)]
            done = sorted((r["arrival"], r[key], r["user"]) for r in run["records"] if key in r)
            if len(done) > 1:
                out.append('<polyline class="series" data-label="%s" points="%s" fill="none" stroke="%s" '
                           'stroke-opacity="0.5"/>' % (xml_escape(run["label"]), " ".join(
                               "%.1f,%.1f" % (x(a), y(v)) for a, v, _ in done), colour))
            for arrival, value, user in done:
                out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s %s: %.2f s</title></circle>'
                           % (x(arrival), y(value), colour, xml_escape(run["label"]), user, value))
            p95 = run["summary"][key]["p95"]
            if p95 is not None:
                out.append('<line class="p95" data-label="%s" x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" '
                           'stroke-width="1.5" stroke-dasharray="3 3"/>'
                           % (xml_escape(run["label"]), left, y(p95), left + plot_w, y(p95), colour))
            for r in run["records"]:
                if not r["ok"] and n == 0:
                    out.append('<text class="failed" x="%.1f" y="%d" fill="%s" text-anchor="middle">x<title>%s: %s'
                               '</title></text>' % (x(r["arrival"]), base + 32, colour, r["user"],
                                                    xml_escape("%s: %s" % (r.get("failed_step"), r.get("reason")))))
    last = top + 2 * PANEL_H + GAP
    out.append('<text class="axis-label" x="%.1f" y="%d" text-anchor="middle">arrival (s since the first student)'
               '</text>' % (left + plot_w / 2, last + 40))
    # legend
    lx, ey = left + plot_w + 16, top + 10
    for i, run in enumerate(runs):
        colour, s = COLOURS[i % len(COLOURS)], run["summary"]
        out.append('<circle cx="%d" cy="%d" r="4" fill="%s"/>' % (lx + 10, ey, colour))
        out.append('<text x="%d" y="%d" font-weight="bold">%s</text>' % (lx + 26, ey + 4, xml_escape(run["label"])))
        ready = s["login_to_ready"]
        for line in ("ready p95 %s s, max %s s" % (fmt_s(ready["p95"]), fmt_s(ready["max"])),
                     "submit p95 %s s" % fmt_s(s["submit"]["p95"]),
                     "submitted %d, collected %d" % (s["submitted"], s["collected"]),
                     "failed %d, 429s %d" % (s["failed"], s["retried_429"])):
            ey += 15
            out.append('<text x="%d" y="%d" font-size="10">%s</text>' % (lx + 26, ey + 4, xml_escape(line)))
        ey += 26
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555555" stroke-width="1.5" stroke-dasharray="3 3"/>'
               % (lx, ey, lx + 20, ey))
    out.append('<text x="%d" y="%d">p95 of a run</text>' % (lx + 26, ey + 4))
    ey += 20
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="6 4"/>'
               % (lx, ey, lx + 20, ey, TARGET_COLOUR))
    out.append('<text x="%d" y="%d">target: p95 ready &lt;= %g s</text>' % (lx + 26, ey + 4, TARGET_P95_READY))
    ey += 20
    out.append('<text x="%d" y="%d" text-anchor="middle">x</text>' % (lx + 10, ey + 4))
    out.append('<text x="%d" y="%d">a failed student</text>' % (lx + 26, ey + 4))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def fmt_s(value):
    return "-" if value is None else "%.1f" % value


def render_table(runs):
    """A Markdown table with one column per run, for docs/performance.md."""
    def cpu(run, unit):
        row = run["cpu"]["units"].get(unit)
        return "-" if row is None else "%.1f CPU-s, avg %.0f%%, peak %.0f%%" % (
            row["cpu_seconds"], row["avg_pct_of_core"], row["peak_pct_of_core"])

    def triple(row):
        return " / ".join(fmt_s(row[k]) for k in ("p50", "p95", "max"))

    rows = [
        ("students, arrivals/s", lambda r: "%d at %g/s" % (r["students"], r["rate"])),
        ("login to ready p50 / p95 / max (s)", lambda r: triple(r["summary"]["login_to_ready"])),
        ("submit p50 / p95 / max (s)", lambda r: triple(r["summary"]["submit"])),
        ("stop p50 / p95 / max (s)", lambda r: triple(r["summary"]["stop"])),
        ("each server's CPU, start to stop, p50 / p95 / max (CPU-s)",
         lambda r: triple(r["summary"]["server_cpu"]) if r["summary"].get("server_cpu", {}).get("n") else "-"),
        ("failed students", lambda r: str(r["summary"]["failed"])),
        ("errors by status", lambda r: ", ".join("%s: %d" % kv for kv in r["summary"]["errors_by_status"].items())
         or "none"),
        ("429 retried", lambda r: str(r["summary"]["retried_429"])),
        ("hub CPU (of one core)", lambda r: cpu(r, "jupyterhub.service")),
        ("proxy CPU (of one core)", lambda r: cpu(r, "configurable-http-proxy.service")),
        ("host busy, max load1", lambda r: "%.0f%% of %d CPUs, %.1f" % (
            r["cpu"]["host"]["busy_pct"], r["cpu"]["host"]["cpus"], r["cpu"]["host"]["load1_max"])),
        ("submitted / collected / lost", lambda r: "%d / %d / %d" % (
            r["summary"]["submitted"], r["summary"]["collected"], r["summary"]["lost"])),
        ("targets", lambda r: "all met" if all(r["summary"]["acceptance"].values()) else "missed: " + ", ".join(
            name for name, ok in r["summary"]["acceptance"].items() if not ok)),
    ]
    out = ["| | %s |" % " | ".join(run["label"] for run in runs), "|---|%s" % ("---|" * len(runs))]
    out += ["| %s | %s |" % (name, " | ".join(cell(run) for run in runs)) for name, cell in rows]
    return "\n".join(out) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="append", required=True, help="a bench/peak.py result (repeatable)")
    parser.add_argument("--out", default=DEFAULT_OUT, help="the SVG to write (default docs/images/peak.svg)")
    parser.add_argument("--title", help="the chart's title")
    args = parser.parse_args(argv)
    runs = load(args.json)
    svg = render(runs, args.title)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(svg)
    print(f"chart: {args.out}\n")
    print(render_table(runs), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
