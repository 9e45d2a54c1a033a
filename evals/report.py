"""The evaluation report: Markdown and HTML, a confusion matrix and a per-scenario table,
with charts as SVG images (no plotting library needed)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from evals.metrics import VERDICTS

HEADLINE = ["triage_accuracy", "macro_f1", "tp_recall", "fpr", "entity_recall", "path_recall", "impact_jaccard",
            "source_attribution_recall", "hallucination_rate", "entity_hallucination_rate",
            "raw_claim_hallucination_rate", "decoy_citations",
            "llm_calls_per_alert", "tokens_per_alert", "cost_usd_per_alert", "seconds_p50", "seconds_p95"]
QUALITY = HEADLINE[:11]  # the 0-1 metrics, charted together
SHORT = {"true_positive": "TP", "benign_positive": "BP", "false_positive": "FP", "None": "none"}


def bar_chart_svg(values: dict[str, float], title: str, vmax: float = 1.0) -> str:
    w, bar_h, gap, left = 520, 18, 6, 190
    h = 30 + len(values) * (bar_h + gap)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
             f'<text x="4" y="16" font-size="13" font-weight="bold">{html.escape(title)}</text>']
    for i, (k, v) in enumerate(values.items()):
        y = 26 + i * (bar_h + gap)
        bw = 0 if vmax == 0 else max(0.0, min(1.0, v / vmax)) * (w - left - 60)
        parts += [f'<text x="4" y="{y + 13}">{html.escape(k)}</text>',
                  f'<rect x="{left}" y="{y}" width="{bw:.1f}" height="{bar_h}" fill="#3b6db3"/>',
                  f'<text x="{left + bw + 4:.1f}" y="{y + 13}">{v:.3g}</text>']
    parts.append("</svg>")
    return "".join(parts)


def confusion_svg(conf: dict[str, dict[str, int]]) -> str:
    cols = [*VERDICTS, "None"]
    cell, left, top = 70, 110, 50
    w, h = left + cell * len(cols) + 10, top + cell * len(VERDICTS) + 10
    mx = max([c for row in conf.values() for c in row.values()] + [1])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
             '<text x="4" y="16" font-size="13" font-weight="bold">confusion (rows expected, columns predicted)</text>']
    for j, c in enumerate(cols):
        parts.append(f'<text x="{left + j * cell + 20}" y="{top - 8}">{SHORT[c]}</text>')
    for i, e in enumerate(VERDICTS):
        parts.append(f'<text x="8" y="{top + i * cell + 40}">{SHORT[e]}</text>')
        for j, c in enumerate(cols):
            n = conf.get(e, {}).get(c, 0)
            shade = int(255 - 180 * n / mx)
            parts += [f'<rect x="{left + j * cell}" y="{top + i * cell}" width="{cell - 2}" height="{cell - 2}" '
                      f'fill="rgb({shade},{shade},255)"/>',
                      f'<text x="{left + j * cell + 28}" y="{top + i * cell + 40}">{n}</text>']
    parts.append("</svg>")
    return "".join(parts)


def _cell(m: dict[str, Any], k: str) -> str:
    """A metric's value; `n/a` when the run defines it as null (no scenario it applies to),
    empty when the run predates it."""
    if k not in m:
        return ""
    return "n/a" if m[k] is None else str(m[k])


def _source_cell(r: dict[str, Any]) -> str:
    """`found/expected` source keys and the ones missed; empty when the scenario lists none."""
    if r.get("source_expected") is None:
        return ""
    missed = r.get("source_missed") or []
    return f"{r.get('source_found')}/{r['source_expected']}" + (f" (missed {', '.join(missed)})" if missed else "")


ROLE_COLUMNS = ["tool_calls_per_alert", "model_tool_calls_per_alert", "llm_calls_per_alert", "tokens_per_alert",
                "model_seconds_per_alert", "twin_ms_per_alert", "findings_per_alert", "from_model_share", "confirmed",
                "dropped", "claims_dropped", "fallbacks", "followups_answered"]


def role_tables(cols: dict[str, dict[str, Any]]) -> list[str]:
    """Per role, per alert, for each run shown (the rules' run beside a model's): what the
    role called and cost, and what share of its findings the model's own calls found."""
    md: list[str] = []
    for name, c in cols.items():
        roles = c.get("roles") or {}
        if not roles:
            continue
        md += ["", f"## Per role: {name}" + (f" ({c.get('followups_per_alert')} follow-ups per alert)"
                                             if c.get("followups_per_alert") else ""), "",
               "| role | " + " | ".join(k.replace("_per_alert", "/alert").replace("_", " ") for k in ROLE_COLUMNS) + " |",
               "|---|" + "---|" * len(ROLE_COLUMNS)]
        md += [f"| {role} | " + " | ".join("" if r.get(k) is None else str(r[k]) for k in ROLE_COLUMNS) + " |"
               for role, r in roles.items()]
    return md


def write_report(m: dict[str, Any], out: Path, compare: dict[str, dict[str, Any]] | None = None) -> None:
    charts = out / "charts"
    charts.mkdir(exist_ok=True)
    (charts / "confusion.svg").write_text(confusion_svg(m["confusion"]))
    (charts / "metrics.svg").write_text(bar_chart_svg(  # an undefined metric (no scenario for it) has no bar
        {k: float(m[k]) for k in QUALITY if m.get(k) is not None}, f"{m.get('analyst', '')}: quality (0-1)"))
    secs = {r["id"]: r["seconds"] for r in m["per_scenario"]}
    (charts / "seconds.svg").write_text(bar_chart_svg(
        dict(sorted(secs.items(), key=lambda kv: -kv[1])[:25]), "slowest scenarios (s)", vmax=max(secs.values() or [1])))
    cols = {"analyst": m}
    if m.get("sets"):
        cols = {f"set: {name}": sm for name, sm in m["sets"].items()} | {"all": m}
    if compare:
        cols = {**compare, **({m.get("analyst", "this run"): m} if not m.get("sets") else cols)}
    md = [f"# Twinsight evaluation: {m.get('analyst', '')} ({m['scenarios']} scenarios)", "",
          f"Mode `{m.get('mode')}`, wall time {m.get('wall_seconds')} s "
          f"(twin loading {m.get('twin_load_seconds')} s for {m.get('twins_loaded')} twins).", "",
          "| metric | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for k in HEADLINE:
        md.append(f"| {k} | " + " | ".join(_cell(c, k) for c in cols.values()) + " |")
    md += ["", "![confusion](charts/confusion.svg) ![metrics](charts/metrics.svg)", "",
           "## Confusion matrix (rows expected, columns predicted)", "",
           "| expected \\ predicted | TP | BP | FP | none |", "|---|---|---|---|---|"]
    for e in VERDICTS:
        row = m["confusion"][e]
        md.append(f"| {SHORT[e]} | " + " | ".join(str(row.get(c, 0)) for c in (*VERDICTS, "None")) + " |")
    md += role_tables(cols)
    md += ["", "## Per scenario", "",
           "| scenario | expected | verdict | ok | rule / decided by | paths | source named | ungrounded | decoys | cost $ | s |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in m["per_scenario"]:
        md.append(f"| {(r['set'] + '/') if r.get('set') and m.get('sets') else ''}{r['id']} | {SHORT.get(r['expected'])} | {SHORT.get(str(r['verdict']), r['verdict'])} | "
                  f"{'yes' if r['correct'] else '**no**'} | {r.get('rule') or r.get('error') or ''} | {r['paths_found']} | "
                  f"{_source_cell(r)} | {r['ungrounded_claims']}/{r['claims']} | {len(r['decoys_cited'])} | "
                  f"{r['cost_usd']:.4f} | {r['seconds']:.2f} |")
    (out / "report.md").write_text("\n".join(md) + "\n")
    rows = "".join(
        f"<tr><td>{html.escape(r['id'])}</td><td>{SHORT.get(r['expected'])}</td><td>{SHORT.get(str(r['verdict']), '')}</td>"
        f"<td>{'yes' if r['correct'] else '<b>no</b>'}</td><td>{html.escape(str(r.get('rule') or r.get('error') or ''))}</td>"
        f"<td>{r['paths_found']}</td><td>{html.escape(_source_cell(r))}</td><td>{r['ungrounded_claims']}/{r['claims']}</td>"
        f"<td>{r['cost_usd']:.4f}</td><td>{r['seconds']:.2f}</td></tr>" for r in m["per_scenario"])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    mrows = "".join(f"<tr><td>{k}</td>" + "".join(f"<td>{_cell(c, k)}</td>" for c in cols.values()) + "</tr>"
                    for k in HEADLINE)
    (out / "report.html").write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>Twinsight evaluation</title>"
        f"<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto}}td,th{{border:1px solid #ccc;padding:3px 6px}}"
        f"table{{border-collapse:collapse}}</style></head><body><h1>Twinsight evaluation: {html.escape(str(m.get('analyst')))}</h1>"
        f"<p>{m['scenarios']} scenarios, mode {html.escape(str(m.get('mode')))}, wall {m.get('wall_seconds')} s</p>"
        f"<table><tr><th>metric</th>{head}</tr>{mrows}</table>"
        f"<p><img src='charts/confusion.svg'> <img src='charts/metrics.svg'></p>"
        f"<h2>Per scenario</h2><table><tr><th>scenario</th><th>expected</th><th>verdict</th><th>ok</th><th>rule</th>"
        f"<th>paths</th><th>source named</th><th>ungrounded</th><th>cost $</th><th>s</th></tr>{rows}</table>"
        f"<p><img src='charts/seconds.svg'></p><pre>{html.escape(json.dumps({k: m[k] for k in HEADLINE}, indent=1))}</pre>"
        f"</body></html>")
