"""One picture of the case: entities, source, the observed path and the possible paths
to crown jewels, as one graph that fits the page width.

Nodes are laid out in rows by their distance from where the attack started (the source
first), at most `PER_ROW` to a row, so a long path wraps downwards instead of running
off to the right. The observed path is drawn solid, possible paths dashed.
"""

from __future__ import annotations

import html
from collections import deque

WIDTH = 960
PER_ROW = 4
BOX_W, BOX_H = 200, 38
ROW_H = 96


def case_graph(result: dict, max_possible: int = 3) -> tuple[list[str], list[tuple[str, str, str, str]], dict[str, str]]:
    """(nodes, edges (src, type, dst, style), role per node) for the case picture."""
    role: dict[str, str] = {}
    edges: list[tuple[str, str, str, str]] = []
    src = result.get("source") or {}
    for e in result.get("entities") or []:
        role.setdefault(e["key"], "source" if e.get("role") in ("source_host", "source_account") else "entity")
    for k in (src.get("host"), src.get("account")):
        if k:
            role[k] = "source"
    observed = [p for p in result.get("attack_paths") or [] if p.get("kind") == "observed"]
    possible = [p for p in result.get("attack_paths") or [] if p.get("kind") != "observed"][:max_possible]
    for p, style in [(p, "observed") for p in observed[:2]] + [(p, "possible") for p in possible]:
        nodes, kinds = p.get("nodes") or [], p.get("edges") or []
        for i, k in enumerate(nodes):
            role.setdefault(k, "path")
            if i < len(kinds) and i + 1 < len(nodes):
                edge = (k, kinds[i], nodes[i + 1], style)
                if not any(x[:3] == edge[:3] for x in edges):
                    edges.append(edge)
    for k in result.get("impacted_assets") or []:
        if role.get(k) in (None, "path"):
            role[k] = "impacted"
    if possible:
        last = possible[0]["nodes"][-1]
        if role.get(last) == "path":
            role[last] = "jewel"
    nodes = list(role)
    return nodes, edges, role


def _layers(nodes: list[str], edges: list[tuple[str, str, str, str]], role: dict[str, str]) -> list[list[str]]:
    """Rows by distance from where paths start (sources first), each row in the order the
    observed path, then the possible paths, meet its nodes; long rows wrap."""
    incoming = {b for _, _, b, _ in edges}
    starts = [n for n in nodes if role.get(n) == "source" and n not in incoming]
    starts += [a for a, _, _, _ in edges if a not in incoming and a not in starts]
    nxt: dict[str, list[str]] = {}
    order: dict[str, int] = {}
    for a, _, b, _ in edges:
        nxt.setdefault(a, []).append(b)
        for n in (a, b):
            order.setdefault(n, len(order))
    for n in nodes:
        order.setdefault(n, len(order))
    depth: dict[str, int] = {}
    q = deque((s, 0) for s in starts)
    while q:
        n, d = q.popleft()
        if n in depth:
            continue
        depth[n] = d
        for m in nxt.get(n, []):
            if m not in depth:
                q.append((m, d + 1))
    for n in nodes:
        depth.setdefault(n, 0)
    rows: list[list[str]] = []
    for d in sorted(set(depth.values())):
        layer = sorted((n for n in nodes if depth[n] == d), key=lambda n: order[n])
        for i in range(0, len(layer), PER_ROW):
            rows.append(layer[i:i + PER_ROW])
    return rows


_FILL = {"source": ("#fde2e1", "#c0392b"), "entity": ("#e8f0fb", "#2c5aa0"), "jewel": ("#fff3cd", "#b7950b"),
         "impacted": ("#fff3cd", "#b7950b"), "path": ("#f4f4f4", "#777")}


def case_svg(result: dict) -> str:
    nodes, edges, role = case_graph(result)
    if not nodes:
        return ""
    rows = _layers(nodes, edges, role)
    pos: dict[str, tuple[float, float]] = {}
    for r, row in enumerate(rows):
        gap = WIDTH / (len(row) + 1)
        for i, n in enumerate(row):
            pos[n] = (gap * (i + 1), 30 + r * ROW_H + BOX_H / 2)
    h = 30 + len(rows) * ROW_H
    e = html.escape
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {h}" width="100%" '
             f'style="max-width:{WIDTH}px" font-family="sans-serif" font-size="11">',
             '<defs><marker id="ca" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto">'
             '<path d="M0,0 L8,4 L0,8 z" fill="#444"/></marker></defs>']
    for a, kind, b, style in edges:
        if a not in pos or b not in pos:
            continue
        (x1, y1), (x2, y2) = pos[a], pos[b]
        if abs(y2 - y1) < 1:
            x1 += BOX_W / 2 if x2 > x1 else -BOX_W / 2
            x2 -= BOX_W / 2 if x2 > x1 else -BOX_W / 2
        else:
            y1 += BOX_H / 2 if y2 > y1 else -BOX_H / 2
            y2 -= BOX_H / 2 if y2 > y1 else -BOX_H / 2
        dash = "" if style == "observed" else ' stroke-dasharray="5,4"'
        color = "#c0392b" if style == "observed" else "#666"
        parts.append(f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" stroke="{color}" '
                     f'stroke-width="{2 if style == "observed" else 1}"{dash} marker-end="url(#ca)"/>')
        parts.append(f'<text x="{(x1 + x2) / 2 + 4:.0f}" y="{(y1 + y2) / 2 - 3:.0f}" fill="{color}">{e(kind)}</text>')
    for n, (x, y) in pos.items():
        fill, stroke = _FILL.get(role.get(n, "path"), _FILL["path"])
        label = n if len(n) <= 30 else n[:28] + "…"
        parts.append(f'<g><title>{e(n)} ({e(role.get(n, ""))})</title><rect x="{x - BOX_W / 2:.0f}" y="{y - BOX_H / 2:.0f}" '
                     f'width="{BOX_W}" height="{BOX_H}" rx="7" fill="{fill}" stroke="{stroke}"/>'
                     f'<text x="{x:.0f}" y="{y + 4:.0f}" text-anchor="middle">{e(label)}</text></g>')
    parts.append(f'<g font-size="10" fill="#555"><text x="8" y="{h - 6}">red: source · blue: alert entities · '
                 f'gold: crown jewels and impacted assets · solid: observed · dashed: possible</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def case_mermaid(result: dict) -> str:
    nodes, edges, role = case_graph(result)
    if not nodes:
        return ""
    ids = {k: f"n{i}" for i, k in enumerate(nodes)}
    lines = ["```mermaid", "graph TD"]
    for k, i in ids.items():
        lines.append(f'  {i}["{k.replace(chr(34), "")}"]')
    for a, kind, b, style in edges:
        arrow = "-->" if style == "observed" else "-.->"
        lines.append(f"  {ids[a]} {arrow}|{kind}| {ids[b]}")
    for k, r in role.items():
        if r == "source":
            lines.append(f"  style {ids[k]} fill:#fde2e1,stroke:#c0392b")
        elif r in ("jewel", "impacted"):
            lines.append(f"  style {ids[k]} fill:#fff3cd,stroke:#b7950b")
    lines.append("```")
    return "\n".join(lines)
