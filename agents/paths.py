"""The path hunter's deterministic work: where the attacker came from, the path the
events show, and where they can go next.

The observed path is built from the source attribution (the session chain the context
gatherer walked: origin host -> account -> each host it logged on to -> the target) and
the corroborating events, so it never strings together unrelated activity that merely
happened nearby. Possible paths come from the twin's path tools, from everything the
attacker controls (the source host, the account, the alert's hosts) to crown jewels and
tier 0, and from entry points to the target. Every node exists by construction.
"""

from __future__ import annotations

from typing import Any

from agents.models import AttackPath, Claim, Evidence, PathFindings
from agents.reasoning.case import ADMIN_EDGES, Case, build_case
from agents.reasoning.happened import Found, happened
from agents.state import InvestigationState
from agents.toolkit import Toolkit
from graph.evidence import existing_keys
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


def _right(case: Case, account: str, host: str) -> str:
    rs = case.rights(account, host, ADMIN_EDGES)
    return rs[0]["edge"] if rs else "LoggedOn"


def _domain_candidates(case: Case, keys: list[str]) -> list[str]:
    out = []
    for k in keys:
        dom = case.props(k).get("domain")
        if dom:
            out.append(str(dom).upper())
        if "@" in k:
            out.append(k.split("@")[1])
        elif "." in k:
            out.append(k.split(".", 1)[1])
    return list(dict.fromkeys(out))


# Families where the outside party drives the host (a callback channel, an exploit): the
# path starts at that address; exfiltration ends there.
_DRIVEN_FROM_OUTSIDE = {"c2": "ConnectedTo", "reverse_shell": "ConnectedTo", "remote_access": "ConnectedTo",
                        "exploit": "CanExploit"}


def _outside_party(fam: str, nodes: list[str], edges: list[str], peer: str | None) -> None:
    """Name the outside address the telemetry shows (a node of the twin) instead of the
    INTERNET aggregate, at the end where the family puts it."""
    if not peer or peer in nodes:
        return
    if fam in _DRIVEN_FROM_OUTSIDE:
        if nodes and nodes[-1] == "INTERNET":
            nodes.pop()
            edges[-1:] = []
        if nodes and nodes[0] == "INTERNET":
            nodes.pop(0)
            edges[:1] = []
        if nodes:
            edges.insert(0, _DRIVEN_FROM_OUTSIDE[fam])
        nodes.insert(0, peer)
    elif fam == "exfil" and nodes and nodes[-1] == "INTERNET":
        nodes[-1] = peer


def _domain_of_dc(case: Case, fam: str, nodes: list[str], edges: list[str], domains: set[str]) -> None:
    """Whoever runs code on a domain controller with admin rights, or dumps its
    directory, holds the domain: the path goes on to it (BloodHound's DCFor)."""
    if len(nodes) < 2 or not case.is_dc(nodes[-1]) or (fam != "credential_dump" and edges[-1] not in ADMIN_EDGES):
        return
    dom = next((d for d in _domain_candidates(case, [nodes[-1]]) if d in domains), None)
    if dom and dom not in nodes:
        nodes.append(dom)
        edges.append("DCFor")


def observed_from_origin(case: Case, found: Found, domains: set[str] | None = None,
                         outside: list[str] | None = None) -> tuple[AttackPath | None, list[str]]:
    """origin host -HasSession-> account -right-> host ... -> target, from the chain the
    context gatherer walked (earliest first), then the family's last step."""
    o = case.origin
    nodes: list[str] = []
    edges: list[str] = []
    evidence: list[str] = []

    def add(edge: str | None, node: str | None) -> None:
        if not node or (nodes and nodes[-1] == node) or node in nodes:
            return
        if nodes:
            edges.append(edge or "LoggedOn")
        nodes.append(node)

    chain = list(reversed(o.chain)) if o is not None else []
    for step in chain:
        host, account, src = step.get("host"), step.get("account"), step.get("from_host")
        if src:
            add(None, src)
        elif not nodes and host and (account or step.get("timestamp") is None):
            # a logon on the host itself (or where the account was before its first
            # recorded move): the host comes first, the account's session on it next
            add(None, host)
        if account and "@" in account:
            last = nodes[-1] if nodes else None
            add("HasSession" if last and "Computer" in case.labels(last) or (last and "@" not in last) else None,
                account)
        if host:
            last = nodes[-1] if nodes else None
            add(_right(case, last, host) if last and "@" in last else "ConnectedTo", host)
        evidence += step.get("evidence") or []
    if o is not None and o.account and o.host in nodes and o.account not in nodes:
        # who was at the source's keyboard (the chain walked hosts only): their session on
        # the source host is the path's second step, the source's onward step is theirs
        i = nodes.index(o.host)
        nodes.insert(i + 1, o.account)
        edges.insert(i, "HasSession")
    if not nodes and o is not None and (o.host or o.account):
        if o.host:
            add(None, o.host)
        if o.account:
            add("HasSession", o.account)
    fam = case.family.name
    tail_targets = [t for t in (found.targets or case.dst_hosts or case.hosts) if t not in nodes]
    acct = next((n for n in reversed(nodes) if "@" in n), None) or (found.actors[0] if found.actors else None)
    if fam == "dcsync":
        if acct and acct not in nodes:
            add("HasSession", acct)
        dom = next((d for d in _domain_candidates(case, [*(found.targets or case.hosts), *(found.actors or case.actors)])
                    if d in (domains or set())), None)
        if acct and dom:
            for t in tail_targets[:1]:
                add(_right(case, acct, t), t)
            add("DCSync", dom)
    elif fam in ("exfil", "c2"):
        src = (found.sources or case.src_hosts or case.hosts or [None])[0]
        if src:
            add(None, src)
            add("ConnectedTo", "INTERNET")
    elif fam == "exploit":
        src = "INTERNET" if found.notes.get("internet") else (found.sources[0] if found.sources else None)
        if src and not nodes:
            add(None, src)
        for t in tail_targets[:1]:
            add("CanExploit" if src == "INTERNET" else "ConnectedTo", t)
    elif fam in ("kerberoast", "asrep"):
        if acct and acct not in nodes:
            add("HasSession", acct)
        roasted = [t for t in found.targets if "@" in t]
        # the account the alert names leads; the others of a burst follow in the telemetry's order
        for t in sorted(roasted, key=lambda t: t not in case.target_users)[:3]:
            if t != acct:
                add("Kerberoast" if fam == "kerberoast" else "ASREPRoast", t)
                break
    else:
        if acct and acct not in nodes and nodes:
            add("HasSession", acct)
        for t in tail_targets[:1]:
            if "@" in t and acct:
                add("ForceChangePassword" if fam == "password_reset" else "Changed", t)
            elif acct:
                add(_right(case, acct, t), t)
    _outside_party(fam, nodes, edges, (outside or [None])[0])
    _domain_of_dc(case, fam, nodes, edges, domains or set())
    if len(nodes) < 2:
        if nodes and o is not None and o.host and not any(step.get("from_host") for step in chain):
            # the activity stayed on its host: that host is the whole observed path
            return AttackPath(nodes=nodes, edges=[], kind="observed"), evidence
        return None, evidence
    times = None
    return AttackPath(nodes=nodes, edges=edges, kind="observed", times=times), evidence


def _hosted_jewels(st: InvestigationState, kit: Toolkit, end: str, notes: list[str]) -> list[str]:
    """Crown-jewel data the path's last host holds: reached already, no further step needed
    (the path search starts past its own source, so it never names them)."""
    ctx = (st.context.entity_context if st.context else {}).get(end)
    if ctx is None:
        try:
            got = kit.call("entity_context", key=end, as_of=st.as_of)
        except (ToolError, GuardError) as exc:
            notes.append(f"what {end} holds: {exc}")
            return []
        if not got.found:
            return []
        ctx = got.model_dump(mode="json")
    return [h["key"] for h in ctx.get("hosted") or []
            if h.get("crown_jewel") and "DataAsset" in (h.get("labels") or [])]


def _onward(st: InvestigationState, kit: Toolkit, obs: AttackPath, notes: list[str]) -> list[AttackPath]:
    """Where the observed path leads: crown-jewel data on the host it reached, then the
    cheapest paths from its last node to crown jewels and tier 0, each joined to the
    observed steps so the whole route reads source-first."""
    end = obs.nodes[-1]
    joined = [AttackPath(nodes=[*obs.nodes, k], edges=[*obs.edges, "HostedOn"], kind="to_crown_jewel",
                         onward=True) for k in _hosted_jewels(st, kit, end, notes)[:2] if k not in obs.nodes]
    as_of = st.as_of
    try:
        out = kit.call("attack_paths", sources=[end], k=2, as_of=as_of)
    except (ToolError, GuardError) as exc:
        notes.append(f"paths onward from {end}: {exc}")
        return joined
    for p in out.paths:
        rest = p.nodes[1:]
        if p.nodes[:1] != [end] or not rest or set(rest) & set(obs.nodes):
            continue
        joined.append(AttackPath(nodes=[*obs.nodes, *rest], edges=[*obs.edges, *p.edges],
                                 kind="to_crown_jewel", cost=p.cost, onward=True))
    return joined


def hunt(st: InvestigationState, kit: Toolkit, roles: dict[str, list[str]]) -> PathFindings:
    case = build_case(st)
    _, found = happened(case)
    origin = case.origin
    footholds = list(dict.fromkeys(
        ([origin.host] if origin is not None and origin.host else []) + found.sources[:1]
        + ([origin.account] if origin is not None and origin.account else [])
        + roles["actors"] + roles["src"] + roles["hosts"]))[:4]
    targets = list(dict.fromkeys(roles["dst"] + roles["hosts"] + roles["actors"]))[:2]
    paths: list[AttackPath] = []
    claims: list[Claim] = []
    notes: list[str] = []
    observed: list[AttackPath] = []
    cands: list[str] = []
    if case.family.name == "dcsync":
        cands = _domain_candidates(case, [*(found.targets or case.hosts), *(found.actors or case.actors)])
    dcs = [k for k in dict.fromkeys([*found.targets, *case.dst_hosts, *case.hosts]) if case.is_dc(k)]
    cands += _domain_candidates(case, dcs)
    peers = [p for p in found.notes.get("peers") or [] if isinstance(p, str)][:3]
    present = existing_keys(kit.driver, list(dict.fromkeys(cands + peers)), kit.database) if (cands or peers) else set()
    if cands or peers:
        kit.count_queries(1)
    domains = {d for d in cands if d in present}
    outside = [p for p in peers if p in present]
    obs, ev = observed_from_origin(case, found, domains, outside)
    if obs is not None:
        observed.append(obs)
        evk = [k for k in dict.fromkeys(ev + [e["key"] for e in found.events[:4]]) if k.startswith("EVT:")]
        claims.append(Claim(text=f"the events show the path {' -> '.join(obs.nodes)}",
                            evidence=[Evidence(node=k) for k in evk[:8]] or [Evidence(node=k) for k in obs.nodes[:6]],
                            agent="path_hunter"))
    if obs is not None and len(obs.nodes) > 1:
        paths.extend(_onward(st, kit, obs, notes))
    for t in targets:
        # How the internet reaches the target (an exposed service is how intruders arrive);
        # paths from arbitrary phishable users would name people the alert does not involve.
        for entry in ("internet",):
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
    summary = (f"{len(observed)} observed ({' -> '.join(observed[0].nodes) if observed else 'none'}), "
               f"{len(paths)} possible paths ({sum(p.kind == 'to_crown_jewel' for p in paths)} to crown jewels / tier 0)")
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
