"""The investigation's outputs: the contract JSON (section 5) and a human report.

The JSON is agents/result.py's InvestigationResult, filled from the finished state; the
renderers read that model (or its dump, as stored results are), never a hand-built dict.
The report (Markdown or HTML) gives the verdict and its reasons, the attack paths
drawn as a picture (inline SVG in HTML, Mermaid in Markdown), the evidence table with
what the verifier found, and the Cypher each agent ran.
"""

from __future__ import annotations

import html
import json
import time
from typing import Any

from agents.models import AttackPath
from agents.picture import case_mermaid, case_svg
from agents.result import (
    AbsentItem,
    EdgeItem,
    EvidenceItem,
    InvestigationResult,
    NodeItem,
    ResultPath,
    as_result,
)
from agents.state import InvestigationState


def _entities(st: InvestigationState, paths: list[AttackPath], misattributed: list[str]) -> list[dict]:
    """The alert's entities, then what the events show it went through: the nodes of the
    observed path and the data it reached on its last host (keys the grounding kept)."""
    out = [{"key": e.key, "labels": e.labels, "role": e.role, "mention": e.mention}
           for e in st.entities if e.key not in misattributed]
    have = {e["key"] for e in out} | set(misattributed)
    contexts = st.context.entity_context if st.context else {}
    walked: list[str] = []
    for p in paths:
        if p.kind == "observed":
            walked += p.nodes
        elif p.onward and "HostedOn" in p.edges:
            walked.append(p.nodes[p.edges.index("HostedOn") + 1])
    for key in dict.fromkeys(walked):
        if key not in have:
            have.add(key)
            labels = [x for x in (contexts.get(key) or {}).get("labels") or [] if x not in ("Twin", "Base")]
            out.append({"key": key, "labels": labels, "role": "observed_path", "mention": ""})
    return out


def result_model(st: InvestigationState) -> InvestigationResult:
    """The finished investigation as contract section 5 plus our extra fields."""
    d = st.decision
    assert d is not None, "report without a decision"
    paths: list[AttackPath] = []
    if st.paths:
        paths = [*st.paths.observed, *st.paths.paths]
        if d.verdict != "true_positive":
            # Only a real attack puts anything at risk (evals/IMPACT_RULE.md): a benign or
            # misfired alert keeps what the events show and how its source reaches its
            # target, not where an attacker could go from there.
            paths = [p for p in paths if p.kind != "to_crown_jewel"]
    status = "needs_human_review" if st.review_reasons else "complete"
    seconds = round(time.time() - st.started_at, 3) if st.started_at else 0.0
    return InvestigationResult(
        alert_id=(st.alert or {}).get("id") or st.investigation_id,
        verdict=d.verdict,
        confidence=round(float(d.confidence), 3),
        severity=d.severity,
        entities=_entities(st, paths, d.misattributed),
        attack_paths=[p.contract() for p in paths],
        # Only a real, unauthorised activity puts assets at risk (evals/IMPACT_RULE.md).
        impacted_assets=list(st.impact.impacted_assets) if (st.impact and d.verdict == "true_positive") else [],
        techniques=d.techniques,
        claims=[c.contract() for c in st.verified_claims],
        recommended_actions=[a.contract() for a in d.recommended_actions],
        usage=st.usage.model_dump(),
        seconds=seconds,
        investigation_id=st.investigation_id,
        status=status,
        review_reasons=st.review_reasons,
        decided_by=d.decided_by,
        rule=d.rule,
        reasons=d.reasons,
        answers=[_answer(a) for a in d.answers],
        timeline=d.timeline,
        source=st.context.origin if st.context else None,
        dropped_claims=[c.contract() for c in st.dropped_claims],
        absent=st.absent,
        mentions=st.mentions,
        injection_suspected=st.injection + (st.context.injection if st.context else []),
        approvals=st.approvals,
        roles={k: v.model_dump() for k, v in st.roles.items()} if st.roles else None,
        followups=[f.model_dump() for f in st.followups] if st.followups else None,
        audit=st.audit,
        summaries={
            "context": st.context.summary if st.context else "",
            "paths": st.paths.summary if st.paths else "",
            "impact": st.impact.summary if st.impact else "",
        },
    )


def build_result(st: InvestigationState) -> dict[str, Any]:
    """The result as the JSON everything downstream stores and prints: the model's dump."""
    return result_model(st).model_dump()


QUESTIONS = {"happened": "1. Did it happen as the alert says?", "expected": "2. Is it expected here?",
             "origin": "3. Where did it come from, where can it go?"}


def _answer(a) -> dict:
    return {"question": a.question, "status": a.status, "summary": a.summary,
            "evidence": [e.item() for c in a.claims for e in c.evidence][:8],
            "details": {k: v for k, v in a.details.items() if k != "chain"}}


# ---------------------------------------------------------------- pictures

def path_svg(path: ResultPath, width_per_node: int = 190) -> str:
    nodes, edges = path.nodes, path.edges
    w = max(1, len(nodes)) * width_per_node
    h = 90
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" style="max-width:{w}px" '
             'font-family="sans-serif" font-size="11">',
             '<defs><marker id="arr" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto">'
             '<path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>']
    for i, key in enumerate(nodes):
        x = i * width_per_node + 10
        label = key if len(key) <= 26 else key[:24] + "…"
        parts.append(f'<rect x="{x}" y="40" width="{width_per_node - 45}" height="30" rx="6" '
                     f'fill="#eef3fb" stroke="#3b6db3"/>')
        parts.append(f'<text x="{x + 6}" y="59">{html.escape(label)}</text>')
        if i < len(edges):
            x1, x2 = x + width_per_node - 45, x + width_per_node + 10
            parts.append(f'<line x1="{x1}" y1="55" x2="{x2 - 2}" y2="55" stroke="#555" marker-end="url(#arr)"/>')
            parts.append(f'<text x="{x1 + 2}" y="35">{html.escape(edges[i])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def path_mermaid(path: ResultPath) -> str:
    lines = ["```mermaid", "graph LR"]
    ids = {k: f"n{i}" for i, k in enumerate(dict.fromkeys(path.nodes))}
    for k, i in ids.items():
        lines.append(f'  {i}["{k.replace(chr(34), "")}"]')
    for i, e in enumerate(path.edges):
        lines.append(f"  {ids[path.nodes[i]]} -- {e} --> {ids[path.nodes[i + 1]]}")
    lines.append("```")
    return "\n".join(lines)


def _evidence_text(ev: EvidenceItem) -> str:
    if isinstance(ev, NodeItem):
        return f"node `{ev.node}`"
    if isinstance(ev, EdgeItem):
        s, t, d = ev.edge
        return f"edge `{s}` -[{t}]-> `{d}`"
    assert isinstance(ev, AbsentItem)
    return f"absent `{ev.absent}`"


def render_markdown(result: InvestigationResult | dict[str, Any]) -> str:
    r = as_result(result)
    out = [f"# Investigation of alert `{r.alert_id}`", ""]
    out += [f"**Verdict:** {r.verdict}  ", f"**Severity:** {r.severity}  ",
            f"**Confidence:** {r.confidence:.2f}  ", f"**Status:** {r.status}  ",
            f"**Decided by:** {r.decided_by}", ""]
    if r.review_reasons:
        out += ["## Needs human review", *[f"- {x}" for x in r.review_reasons], ""]
    if r.answers:
        out += ["## The three questions", ""]
        for a in r.answers:
            out += [f"**{QUESTIONS.get(a.question, a.question)}** `{a.status}` — {a.summary}", ""]
    if r.followups:
        out += ["## The lead's follow-up questions", ""]
        out += [f"{f.get('round')}. to the {str(f.get('role', '')).replace('_', ' ')}: {f.get('question')} — "
                f"*{f.get('answer')}* ({f.get('found', 0)} new finding(s), {f.get('dropped', 0)} dropped; "
                f"{f.get('decided_by')})" for f in r.followups]
        out.append("")
    out += ["## Reasons", *[f"- {x}" for x in r.reasons], ""]
    if r.timeline:
        out += ["## Timeline", "", "| time (UTC) | host | account | what | event |", "|---|---|---|---|---|"]
        out += [f"| {t.time or ''} | `{t.host or ''}` | `{t.account or ''}` | "
                f"{str(t.what or '').replace('|', '/')} | `{t.key or ''}` |" for t in r.timeline]
        out.append("")
    pic = case_mermaid(r.model_dump())
    if pic:
        out += ["## The case", "", pic, ""]
    if r.injection_suspected:
        out += ["## Prompt-injection text found in the data (ignored)",
                *[f"- `{x}`" for x in r.injection_suspected], ""]
    out += ["## Entities", "", "| key | labels | alert named it |", "|---|---|---|"]
    out += [f"| `{e.key}` | {', '.join(e.labels)} | {e.mention} |" for e in r.entities]
    if r.absent:
        out += ["", "Named by the alert but absent from the twin: " + ", ".join(f"`{a}`" for a in r.absent)]
    out += ["", "## Attack paths", ""]
    for p in r.attack_paths[:6]:
        out += [f"**{p.kind}** ({len(p.edges)} hops)", "", path_mermaid(p), ""]
    if not r.attack_paths:
        out += ["No attack path found within the hop bound.", ""]
    out += ["## Impacted assets", *[f"- `{k}`" for k in r.impacted_assets], ""]
    out += ["## Recommended actions", "", "| action | target | paths removed | breaks |", "|---|---|---|---|"]
    out += [f"| {a.action} {' '.join(a.args)} | `{a.target}` | {a.paths_removed} | {a.breaks} |"
            for a in r.recommended_actions]
    out += ["", "## Evidence", "", "| claim | evidence | grounded |", "|---|---|---|"]
    for c in r.claims + r.dropped_claims:
        ev = "<br>".join(_evidence_text(e) for e in c.evidence) or "(none)"
        out.append(f"| {c.text.replace('|', '/')} | {ev} | {'yes' if c.grounded else 'NO (dropped)'} |")
    out += ["", "## Cypher each agent ran", ""]
    for a in r.audit:
        q = " ".join((a.query or "").split())
        out.append(f"- **{a.agent}** `{a.tool}` ({a.rows} rows, {a.ms:.0f} ms): `{q[:400]}`")
    u = r.usage
    out += ["", f"_LLM calls {u.llm_calls}, tokens {u.prompt_tokens}+{u.completion_tokens}, "
                f"cost ${u.cost_usd:.4f}, Cypher queries {u.cypher_queries}, {r.seconds:.2f}s_", ""]
    return "\n".join(out)


def render_html(result: InvestigationResult | dict[str, Any]) -> str:
    r = as_result(result)
    e = html.escape
    rows = []
    for c in r.claims + r.dropped_claims:
        ev = "<br>".join(e(_evidence_text(x)).replace("`", "") for x in c.evidence) or "(none)"
        rows.append(f"<tr><td>{e(c.text)}</td><td>{ev}</td><td>{'yes' if c.grounded else 'NO (dropped)'}</td></tr>")
    audit = "".join(
        f"<li><b>{e(a.agent)}</b> {e(a.tool)} ({a.rows} rows, {a.ms:.0f} ms)<pre>{e(a.query or '')}</pre></li>"
        for a in r.audit
    )
    paths = "".join(f"<h3>{e(p.kind)}</h3>{path_svg(p)}" for p in r.attack_paths[:6]) or "<p>No attack path found.</p>"
    reasons = "".join(f"<li>{e(x)}</li>" for x in r.reasons)
    answers = "".join(
        f"<div class='q'><b>{e(QUESTIONS.get(a.question, a.question))}</b> <code>{e(a.status)}</code>"
        f"<p>{e(a.summary)}</p></div>" for a in r.answers)
    timeline = "".join(
        f"<tr><td>{e(t.time or '')}</td><td>{e(t.host or '')}</td><td>{e(t.account or '')}</td>"
        f"<td>{e(str(t.what or ''))}</td><td><small>{e(t.key or '')}</small></td></tr>"
        for t in r.timeline)
    picture = case_svg(r.model_dump())
    review = "".join(f"<li>{e(x)}</li>" for x in r.review_reasons)
    actions = "".join(
        f"<tr><td>{e(a.action)} {e(' '.join(a.args))}</td><td>{e(a.target)}</td><td>{a.paths_removed}</td></tr>"
        for a in r.recommended_actions
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Twinsight: {e(r.alert_id)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top;overflow-wrap:anywhere}}pre{{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f6f6}}
.q{{border-left:4px solid #2c5aa0;padding:2px 10px;margin:8px 0}}.q p{{margin:4px 0}}svg{{max-width:100%;height:auto}}</style>
</head><body><h1>Investigation of alert {e(r.alert_id)}</h1>
<p><b>Verdict:</b> {e(r.verdict)} &nbsp; <b>Severity:</b> {e(r.severity)} &nbsp;
<b>Confidence:</b> {r.confidence:.2f} &nbsp; <b>Status:</b> {e(r.status)} &nbsp; <b>Decided by:</b> {e(r.decided_by)}</p>
{f'<h2>Needs human review</h2><ul>{review}</ul>' if review else ''}
{f'<h2>The three questions</h2>{answers}' if answers else ''}
<h2>Reasons</h2><ul>{reasons}</ul>
{f'<h2>Timeline</h2><table><tr><th>time (UTC)</th><th>host</th><th>account</th><th>what</th><th>event</th></tr>{timeline}</table>' if timeline else ''}
{f'<h2>The case</h2>{picture}' if picture else ''}
<h2>Attack paths</h2>{paths}
<h2>Impacted assets</h2><p>{e(', '.join(r.impacted_assets)) or 'none'}</p>
<h2>Recommended actions</h2><table><tr><th>action</th><th>target</th><th>paths removed</th></tr>{actions}</table>
<h2>Evidence</h2><table><tr><th>claim</th><th>evidence</th><th>grounded</th></tr>{''.join(rows)}</table>
<h2>Cypher each agent ran</h2><ul>{audit}</ul>
<pre>{e(json.dumps(r.usage.model_dump()))} · {r.seconds:.2f}s</pre></body></html>"""
