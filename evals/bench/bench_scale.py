"""How investigation and ingest cost grow with the estate: bench_investigate at several sizes.

    python -m evals.bench.bench_scale [--hosts 2400 24000 60000] [--alerts 12]
    python -m evals.bench.bench_scale --log 24000=run24k.txt ...   # reuse captured runs

Each size runs `evals.bench.bench_investigate` in its own process (users = 5/3 of the
hosts, as in the issue's 24k / 40k twin) and reads back the lines it prints: the load
time, p50 / p95 seconds per alert and the same run's floor of trivial indexed look-ups.
Prints one table and writes a small hand-drawn SVG (no plotting dependency) to
evals/results/scaling.svg. Every number is quoted with its own run's floor ratio: the
machine is shared, and the ratio is what stays comparable between runs.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "results" / "scaling.svg"
_LOAD = re.compile(r"enterprise: (\d+) hosts, (\d+) records loaded in ([\d.]+)s")
_P = re.compile(r"p50 ([\d.]+)s, p95 ([\d.]+)s, (\d+) Cypher queries per alert, (\d+)/(\d+) verdicts")
_FLOOR = re.compile(r"baseline: (\d+) trivial indexed look-ups take ([\d.]+)s; ratio p50 / baseline ([\d.]+)x")
_RSS = re.compile(r"server resident memory: max ([\d.]+) GB")


def parse(hosts: int, text: str) -> dict:
    row: dict = {"hosts": hosts}
    if m := _LOAD.search(text):
        row.update(records=int(m[2]), load_s=float(m[3]))
    if m := _P.search(text):
        row.update(p50=float(m[1]), p95=float(m[2]), queries=int(m[3]), verdicts=f"{m[4]}/{m[5]}")
    if m := _FLOOR.search(text):
        row.update(floor_s=float(m[2]), ratio=float(m[3]))
    if m := _RSS.search(text):
        row.update(rss_gb=float(m[1]))
    return row


def run(hosts: int, alerts: int) -> str:
    cmd = [sys.executable, "-m", "evals.bench.bench_investigate", "--hosts", str(hosts),
           "--users", str(hosts * 5 // 3), "--alerts", str(alerts)]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def table(rows: list[dict]) -> str:
    head = "| hosts | records | load s | p50 s | p95 s | floor s | p50 / floor | queries/alert | server RSS GB | verdicts |"
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(str(r.get(k, "-")) for k in (
            "hosts", "records", "load_s", "p50", "p95", "floor_s", "ratio", "queries", "rss_gb", "verdicts")) + " |")
    return "\n".join(lines)


def svg(rows: list[dict], width: int = 480, height: int = 260) -> str:
    """p50 and p95 seconds per alert against hosts (log-scaled x), with the load time on
    the right axis: lines and dots only, readable in any browser."""
    import math

    pts = [r for r in rows if "p50" in r]
    if not pts:
        return "<svg xmlns='http://www.w3.org/2000/svg'/>"
    left, right, top, bottom = 50, width - 50, 30, height - 40
    xs = [math.log10(r["hosts"]) for r in pts]
    x0, x1 = min(xs) - 0.1, max(xs) + 0.1
    ymax = max(max(r["p95"] for r in pts), 1.0) * 1.15
    lmax = max([r.get("load_s", 0) for r in pts] + [1.0]) * 1.15

    def X(h: int) -> float:
        return left + (math.log10(h) - x0) / (x1 - x0) * (right - left)

    def Y(v: float, top_v: float) -> float:
        return bottom - v / top_v * (bottom - top)

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' font-family='sans-serif' font-size='11'>",
             f"<rect width='{width}' height='{height}' fill='white'/>",
             f"<line x1='{left}' y1='{bottom}' x2='{right}' y2='{bottom}' stroke='black'/>",
             f"<line x1='{left}' y1='{top}' x2='{left}' y2='{bottom}' stroke='black'/>",
             f"<line x1='{right}' y1='{top}' x2='{right}' y2='{bottom}' stroke='#999'/>",
             f"<text x='{width / 2}' y='16' text-anchor='middle' font-size='13'>Offline investigation per alert vs estate size</text>",
             f"<text x='{width / 2}' y='{height - 8}' text-anchor='middle'>hosts (log scale)</text>",
             f"<text x='12' y='{(top + bottom) / 2}' transform='rotate(-90 12 {(top + bottom) / 2})' text-anchor='middle'>seconds per alert</text>",
             f"<text x='{width - 10}' y='{(top + bottom) / 2}' transform='rotate(90 {width - 10} {(top + bottom) / 2})' text-anchor='middle' fill='#999'>load seconds</text>"]
    for frac in (0, 0.5, 1):
        v = ymax / 1.15 * frac
        parts.append(f"<text x='{left - 4}' y='{Y(v, ymax) + 4:.1f}' text-anchor='end'>{v:.1f}</text>")
        lv = lmax / 1.15 * frac
        parts.append(f"<text x='{right + 4}' y='{Y(lv, lmax) + 4:.1f}' fill='#999'>{lv:.0f}</text>")
    for r in pts:
        parts.append(f"<text x='{X(r['hosts']):.1f}' y='{bottom + 14}' text-anchor='middle'>{r['hosts']}</text>")
    series = [("p50", "#1f77b4", ymax), ("p95", "#d62728", ymax), ("load_s", "#999999", lmax)]
    for key, colour, top_v in series:
        have = [r for r in pts if key in r]
        if not have:
            continue
        line = " ".join(f"{X(r['hosts']):.1f},{Y(r[key], top_v):.1f}" for r in have)
        parts.append(f"<polyline points='{line}' fill='none' stroke='{colour}' stroke-width='2'/>")
        for r in have:
            label = f"{r[key]:.1f}s" + (f" ({r['ratio']:.0f}x floor)" if key == "p50" and "ratio" in r else "")
            parts.append(f"<circle cx='{X(r['hosts']):.1f}' cy='{Y(r[key], top_v):.1f}' r='3' fill='{colour}'/>"
                         f"<text x='{X(r['hosts']) + 5:.1f}' y='{Y(r[key], top_v) - 5:.1f}' fill='{colour}'>{label}</text>")
    legend = [("p50", "#1f77b4"), ("p95", "#d62728"), ("load", "#999999")]
    for i, (name, colour) in enumerate(legend):
        parts.append(f"<rect x='{left + 10 + i * 60}' y='{top + 2}' width='10' height='10' fill='{colour}'/>"
                     f"<text x='{left + 24 + i * 60}' y='{top + 11}'>{name}</text>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, nargs="*", default=[2400, 24000, 60000])
    ap.add_argument("--alerts", type=int, default=12)
    ap.add_argument("--log", action="append", default=[], metavar="HOSTS=FILE",
                    help="use a captured bench_investigate output for that size instead of running it")
    ap.add_argument("--svg", type=Path, default=OUT)
    args = ap.parse_args()
    logs = {int(h): Path(f) for h, f in (item.split("=", 1) for item in args.log)}
    rows = []
    for hosts in sorted(set(args.hosts) | set(logs)):
        text = logs[hosts].read_text() if hosts in logs else run(hosts, args.alerts)
        rows.append(parse(hosts, text))
    print(table(rows))
    args.svg.parent.mkdir(parents=True, exist_ok=True)
    args.svg.write_text(svg(rows))
    print(f"chart: {args.svg}")


if __name__ == "__main__":
    main()
