"""The path hunter's deterministic work: how an attacker could reach the alert's
entities, where they can go next, and which of those steps the events show.

Both analysts start from these paths (the LLM adds commentary); every path comes from
the twin's path tools, so its nodes and edges exist by construction.
"""

from __future__ import annotations

from typing import Any

from agents.models import AttackPath, Claim, Evidence, PathFindings
from agents.state import InvestigationState
from agents.toolkit import Toolkit
from graph.tools.base import ToolError
from graph.tools.guard import GuardError

K = 3


def _convert(p: Any, kind: str | None = None) -> AttackPath:
    return AttackPath(nodes=list(p.nodes), edges=list(p.edges), kind=kind or p.kind,
                      cost=getattr(p, "cost", None))


def _path_claim(p: Any, text: str, agent: str = "path_hunter") -> Claim:
    ev = [Evidence(edge=list(e)) for e in (getattr(p, "evidence_edges", None) or [])[:8] if len(e) == 3]
    if not ev:
        ev = [Evidence(node=k) for k in p.nodes[:6]]
    return Claim(text=text, evidence=ev, agent=agent)


def hunt(st: InvestigationState, kit: Toolkit, roles: dict[str, list[str]]) -> PathFindings:
    footholds = list(dict.fromkeys(roles["actors"] + roles["src"] + roles["hosts"]))[:4]
    targets = list(dict.fromkeys(roles["dst"] + roles["actors"] + roles["hosts"]))[:2]
    paths: list[AttackPath] = []
    claims: list[Claim] = []
    notes: list[str] = []
    for t in targets:
        # Each kind of entry point on its own: the internet's few exploit paths must not be
        # crowded out by the many cheap paths from phishable users.
        for entry in ("internet", "phishable_users"):
            try:
                out = kit.call("attack_paths", target=t, entry_points=[entry], k=2, as_of=st.as_of)
            except (ToolError, GuardError) as exc:
                notes.append(f"paths to {t} from {entry}: {exc}")
                continue
            for p in out.paths:
                paths.append(_convert(p, "from_entry_point"))
            if out.paths:
                best = out.paths[0]
                claims.append(_path_claim(best, f"an attacker can reach {t} from {best.nodes[0]} in {best.hops} steps"))
    if footholds:
        try:
            out = kit.call("attack_paths", sources=footholds, k=K, as_of=st.as_of)
            for p in out.paths:
                paths.append(_convert(p, "to_crown_jewel"))
            if out.paths:
                best = out.paths[0]
                claims.append(_path_claim(best, f"from {best.nodes[0]} an attacker reaches {best.nodes[-1]} in {best.hops} steps"))
        except (ToolError, GuardError) as exc:
            notes.append(f"paths from footholds: {exc}")
    observed: list[AttackPath] = []
    keys = [e.key for e in st.entities][:20]
    if keys:
        try:
            obs = kit.call("observed_path", entities=keys, as_of=st.as_of, after_s=3600, before_s=86400)
            # Observed steps may use edges the twin only saw happen (a replication is not a
            # stored DCSync edge): cite stored edges as edges, the rest by their events.
            stored = {tuple(e.edge) for step in obs.steps for e in step.edges if e.in_twin}
            events_of = {tuple(e.edge): step.evidence for step in obs.steps for e in step.edges}
            for p in obs.paths[:3]:
                if len(p.nodes) < 2:
                    continue
                observed.append(AttackPath(nodes=list(p.nodes), edges=list(p.edges), kind="observed"))
                ev: list[Evidence] = []
                for e in p.evidence_edges:
                    if tuple(e) in stored:
                        ev.append(Evidence(edge=list(e)))
                    else:
                        ev.extend(Evidence(node=k) for k in events_of.get(tuple(e), [])[:2])
                if ev:
                    claims.append(Claim(text=f"the events show the path {' -> '.join(p.nodes[:6])}",
                                        evidence=ev[:10], agent="path_hunter"))
        except (ToolError, GuardError) as exc:
            notes.append(f"observed path: {exc}")
    summary = (f"{len(paths)} possible paths ({sum(p.kind == 'to_crown_jewel' for p in paths)} to crown jewels / tier 0), "
               f"{len(observed)} observed")
    if notes:
        summary += "; " + "; ".join(notes)
    return PathFindings(summary=summary, paths=paths, observed=observed, claims=claims)


def paths_between(kit: Toolkit, source: str, target: str | None) -> dict[str, Any]:
    """For the chat bot's `paths FROM [TO]`: names are resolved first, never guessed."""
    res = kit.call("resolve_entities", names=[n for n in (source, target) if n])
    keys = {}
    for r in res.results:
        if r.status != "found":
            return {"error": f"{r.input!r} is {r.status.replace('_', ' ')} in the twin",
                    "candidates": [c.key for c in r.candidates][:5]}
        keys[r.input] = r.candidates[0].key
    src = keys[source]
    if target:
        out = kit.call("attack_paths", target=keys[target], sources=[src], k=5)
    else:
        out = kit.call("attack_paths", sources=[src], k=5)
    return {"source": src, "target": keys.get(target) if target else None,
            "paths": [{"nodes": p.nodes, "edges": p.edges, "kind": p.kind, "cost": p.cost} for p in out.paths]}
