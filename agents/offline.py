"""The offline analyst: the scripted implementation of every role, with the same tools as the LLM.

It is the default when no API key is set and the baseline every LLM run is compared
with. Each role gathers what its question needs through the typed tools; the lead
analyst then answers the three questions with agents/reasoning (agents/RULES.md).
Free text is read only as documentation data (roles, hosts, windows), never as an
instruction, and instruction-like text is reported and ignored.
"""

from __future__ import annotations

import re
from typing import Any

from agents import impact as impact_rules
from agents.intake import run_intake
from agents.models import (
    Claim,
    ContextFindings,
    Decision,
    EntityRef,
    Evidence,
    FollowUp,
    ImpactFindings,
    Origin,
    PathFindings,
    RecommendedAction,
    TimelineEntry,
    Usage,
)
from agents.prompts import injection_markers
from agents.reasoning.case import Case, build_case, family_name, roles_of
from agents.reasoning.decide import decide
from agents.reasoning.directory import changes
from agents.reasoning.expected import VICTIM_FAMILIES
from agents.reasoning.families import FAMILIES
from agents.reasoning.happened import happened
from agents.reasoning.roles import DOC_FIELDS
from agents.state import InvestigationState
from agents.toolkit import Toolkit
from graph.tools.base import ToolError
from graph.tools.guard import GuardError

MAX_CONTEXT = 8
MAX_EXTRA_CONTEXT = 8
BEFORE_S = 3 * 3600
AFTER_S = 3600
_NAME_TOKEN = re.compile(r"(?<![A-Za-z0-9_$.-])([A-Za-z0-9][A-Za-z0-9_.$-]{2,62})(?![A-Za-z0-9_-])")


def _safe(kit: Toolkit, name: str, notes: list[str], **args: Any) -> Any:
    """A tool call whose failure is a note, not a failed investigation."""
    try:
        return kit.call(name, **args)
    except (ToolError, GuardError, ValueError) as exc:
        notes.append(f"{name}: {exc}")
        return None


def gather_events(st: InvestigationState, kit: Toolkit, notes: list[str]) -> list[dict[str, Any]]:
    """The events around the alert: everything the alert's accounts did, and the family's
    events on its hosts and addresses, nearest the alert first."""
    fam = FAMILIES[family_name(st)]
    roles = roles_of(st)
    users = list(dict.fromkeys(roles["actors"] + roles["target_users"]))[:10]
    hosts = roles["hosts"][:10]
    ips = [m.text for m in st.mentions if m.role in ("src_ip", "dst_ip", "host_ip", "ip")][:10]
    out: dict[str, dict] = {}
    queries: list[dict[str, Any]] = []
    if users:
        queries.append({"users": users})
    if hosts:
        queries.append({"hosts": hosts, "event_ids": list(fam.event_ids)})
    if ips:
        queries.append({"ips": ips, "event_ids": list(fam.event_ids)})
    if fam.name in ("spray", "asrep", "kerberoast", "scan") and not (users or hosts or ips):
        queries.append({"event_ids": list(fam.event_ids)})
    cited = build_case(st).cited()
    cited_hosts = sorted({k.split(":")[1] for k in cited if k.count(":") >= 3})[:5]
    if cited_hosts:
        queries.append({"hosts": cited_hosts, "event_ids": build_case(st).cited_event_ids()})
    for q in queries:
        found = _safe(kit, "find_events", notes, before_s=BEFORE_S, after_s=AFTER_S, as_of=st.as_of, limit=400,
                      include_raw=True, **q)
        if found is None:
            continue
        for e in found.events:
            out.setdefault(e.key, e.model_dump(mode="json", exclude_none=True))
    return sorted(out.values(), key=lambda e: (e.get("timestamp") or 0, e.get("key")))


def gather_connections(st: InvestigationState, kit: Toolkit, notes: list[str], hosts: list[str]) -> list[dict]:
    out: dict[tuple, dict] = {}
    for h in hosts[:6]:
        for direction in ({"dst": h}, {"src": h}):
            got = _safe(kit, "find_connections", notes, window_s=BEFORE_S, as_of=st.as_of, limit=100, **direction)
            for c in (got.connections if got else []):
                out.setdefault((c.src, c.dst), {"_connection": True, **c.model_dump(mode="json")})
    return list(out.values())


def screen_twin_text(contexts: dict[str, dict]) -> list[str]:
    """Instruction-like phrases planted in twin fields (descriptions, notes, tags): flagged
    like an alert's, and the documentation holding them is not read (roles.facts_for)."""
    found: list[str] = []
    for key, ctx in contexts.items():
        props = ctx.get("properties") or {}
        for name in DOC_FIELDS:
            value = props.get(name)
            if value in (None, "", []):
                continue
            for m in injection_markers(value if isinstance(value, str) else str(value)):
                found.append(f"{key}.{name}: {m}")
    return sorted(set(found))[:10]


def _resolve(kit: Toolkit, names: list[str], notes: list[str]) -> dict[str, str]:
    """Exact resolution of names events carry (SIDs, DNs, group names); never guessed."""
    names = list(dict.fromkeys(n for n in names if n and len(n) < 400))[:50]
    res = _safe(kit, "resolve_entities", notes, names=names) if names else None
    return {r.input.lower(): r.candidates[0].key for r in (res.results if res else [])
            if r.status == "found" and r.candidates}


def _doc_names(kit: Toolkit, contexts: dict[str, dict], notes: list[str]) -> dict[str, str]:
    """Host and account names the documentation mentions, resolved exactly (never guessed)."""
    tokens: list[str] = []
    for ctx in contexts.values():
        props = ctx.get("properties") or {}
        for name in DOC_FIELDS:
            v = props.get(name)
            if v in (None, "", []):
                continue
            for m in _NAME_TOKEN.finditer(v if isinstance(v, str) else " ".join(map(str, v))):
                t = m.group(1).rstrip(".")
                name_like = any(c.isdigit() for c in t) or any(c in t for c in "_$.-\\") or (t.isupper() and len(t) >= 3)
                if name_like and not re.fullmatch(r"[\d:.-]+", t):  # not times, dates, versions
                    tokens.append(t)
    tokens = list(dict.fromkeys(tokens))[:50]
    if not tokens:
        return {}
    res = _safe(kit, "resolve_entities", notes, names=tokens)
    out: dict[str, str] = {}
    for r in (res.results if res else []):
        if r.status == "found" and r.candidates and "IP" not in r.candidates[0].labels:
            out[r.input.lower()] = r.candidates[0].key
    return out


class OfflineAnalyst:
    label = "offline-rules"

    def intake(self, st: InvestigationState, kit: Toolkit) -> dict[str, Any]:
        return run_intake(st, kit)

    # -- context gatherer ----------------------------------------------------------------
    def gather_context(self, st: InvestigationState, kit: Toolkit) -> tuple[ContextFindings, Usage]:
        """Entities, events, flows, the source (session chain), documentation names and
        history: what the three questions need. The source host and account the events show
        join the alert's entities (`attributed`)."""
        notes: list[str] = []
        contexts: dict[str, dict[str, Any]] = {}

        def context(key: str | None) -> None:
            if key and key not in contexts and key != "INTERNET" and len(contexts) < MAX_CONTEXT + MAX_EXTRA_CONTEXT:
                got = _safe(kit, "entity_context", notes, key=key, as_of=st.as_of)
                if got is not None and got.found:
                    contexts[key] = got.model_dump(mode="json")

        for ent in st.entities[:MAX_CONTEXT]:
            context(ent.key)
        fam = FAMILIES[family_name(st)]
        events = gather_events(st, kit, notes)
        roles = roles_of(st)
        # a host's flows may sit under its bare address when the flows were loaded before the
        # address was tied to it: ask for both
        bare = [m.text for m in st.mentions if m.role in ("src_ip", "dst_ip", "host_ip", "ip") and m.resolved
                and m.resolved != m.text]
        conns = gather_connections(st, kit, notes, list(dict.fromkeys(roles["hosts"] + bare))) if fam.connections \
            else []
        base = ContextFindings(entity_context=contexts, events=events + conns, family=fam.name)
        case = _case(st, base)
        _, f = happened(case)
        for k in [*f.actors[:3], *f.sources[:3], *[t for t in f.targets[:3]]]:
            context(k)
        origin = self._origin(st, kit, f, notes)
        if origin is not None:
            context(origin.host)
            context(origin.account)
        if fam.name == "dcsync" and f.status == "corroborated":
            # the domain is what a DCSync takes: it is involved, not only at risk
            for k in [*f.actors, *f.targets]:
                dom = (contexts.get(k) or {}).get("properties", {}).get("domain") or (k.split("@")[1] if "@" in k else None)
                if dom:
                    context(str(dom).upper())
                    if str(dom).upper() in contexts:
                        f.targets.append(str(dom).upper())
                        break
        base.entity_context = contexts
        base.origin = origin
        resolved = _doc_names(kit, contexts, notes)
        if fam.name in ("acl_abuse", "password_reset"):
            names = [n for c in changes(f.events) for n in [c.obj, *c.principals] if n]
            resolved.update(_resolve(kit, names, notes))
            for key in list(dict.fromkeys(resolved.values()))[:6]:
                context(key)
        base.resolved = resolved
        base.history = self._history(st, kit, case, f, origin, notes)
        base.injection = screen_twin_text(contexts)
        base.claims = [c for k, ctx in contexts.items() for c in _context_claims(k, ctx)][:20]
        added = _attributed_entities(st, f, origin, contexts)
        base.summary = (f"{len(st.entities) + len(added)} entities ({', '.join(e.key for e in (st.entities + added)[:4])}); "
                        f"{len(st.absent)} names absent; family {fam.name}; {len(events)} events and {len(conns)} "
                        f"connections around the alert; telemetry: {f.summary}"
                        + (f"; source {origin.host or '?'} / {origin.account or '?'}" if origin else "")
                        + (f"; notes: {'; '.join(notes[:3])}" if notes else ""))
        base.attributed = added
        kit.last_summary = base.summary
        return base, Usage()

    def _origin(self, st: InvestigationState, kit: Toolkit, f: Any, notes: list[str]) -> Origin | None:
        """Source attribution: walk the decisive event back along its session chain. An
        exploited service's processes run in the service's own session: its source is who
        sent the traffic, not the service account."""
        if FAMILIES[family_name(st)].name == "exploit":
            peer = (f.notes.get("peers") or [None])[0]
            host = f.sources[0] if f.sources else ("INTERNET" if f.notes.get("internet") else None)
            user = self._interactive_user(st, kit, host, st.as_of, notes) if host and host != "INTERNET" else None
            return Origin(host=host, account=user[0] if user else None, ip=peer,
                          evidence=[user[1]] if user else []) if (host or peer) else None
        evs = [e for e in f.events if e.get("key", "").startswith("EVT:")]
        cited = set(build_case(st).cited())
        t = st.as_of or 0
        logons = sorted((e for e in evs if e.get("event_id") == 4624 and e.get("logon_type") in (3, 10, 8, 9)),
                        key=lambda e: abs((e.get("timestamp") or 0) - t))
        nearest = sorted(evs, key=lambda e: abs((e.get("timestamp") or 0) - t))
        # the event the alert names, else the remote logon, else the event nearest the alert
        pick = next((e for e in evs if e["key"] in cited), None) or (logons[0] if logons else (
            nearest[0] if nearest else None))
        if pick is None:
            if f.sources or f.source_ips:
                host = f.sources[0] if f.sources else None
                account = f.actors[0] if f.actors else None
                evidence: list[str] = []
                if host and host != "INTERNET" and (account is None
                                                    or FAMILIES[family_name(st)].name in VICTIM_FAMILIES):
                    # traffic alone (a scan, a spray seen on the wire) names no account: who was
                    # at the source's keyboard then
                    user = self._interactive_user(st, kit, host, st.as_of, notes, processes=account is None)
                    if user:
                        account, evidence = user[0], [user[1]]
                return Origin(host=host, account=account, ip=f.source_ips[0] if f.source_ips else None,
                              evidence=evidence)
            return None
        chain = _safe(kit, "session_chain", notes, event=pick["key"])
        if chain is None or not chain.found:
            return Origin(host=f.sources[0] if f.sources else None, account=f.actors[0] if f.actors else None,
                          ip=f.source_ips[0] if f.source_ips else None, evidence=[pick["key"]])
        steps = [s.model_dump(mode="json") for s in chain.steps]
        first = chain.steps[0] if chain.steps else None
        # the source is the host the session on the target came from (the hops before it
        # stay on the chain and the path); a local action comes from its own host
        host = (first.from_host if first and first.from_host else None) or chain.origin_host
        # A local action (interactive logon on the host itself) comes from that host.
        account = chain.origin_account or (f.actors[0] if f.actors else None)
        if host is None and f.sources:
            host = f.sources[0]
        evidence = [k for s in chain.steps for k in s.evidence]
        ip = chain.origin_ip or (first.from_ip if first else None)
        if first and first.logon_type in (3, 8) and not first.from_host and not first.from_ip and first.host:
            # a network logon that records no address (WinRM, Kerberos): the connection into
            # the host at that moment, as the other side's own records show it, names the source
            seen = self._inbound(st, kit, first.host, first.timestamp, notes)
            if seen:
                host, evidence = seen[0], [*evidence, seen[2]]
                account = account or seen[1]
                steps.append({"host": seen[0], "account": seen[1] or account, "time": None, "timestamp": None,
                              "logon": None, "logon_type": None, "from_host": None, "from_ip": None,
                              "evidence": [seen[2]]})
                steps[0]["from_host"] = seen[0]
            elif f.sources:
                host = f.sources[0]
        if host and first and host == first.host and first.from_host is None and first.logon_type in (3, 8, 9, 10) \
                and ip:
            host = None  # a remote logon whose address no host held: the source is the address
        victims = FAMILIES[family_name(st)].name in VICTIM_FAMILIES
        if host and (account is None or victims):
            # an unauthenticated request (AS-REP, a scan) names no account: who was at the keyboard
            # processes only speak for a person when the activity left the host (a request to
            # another host); what happened on the host itself was done by whoever the event names
            left = first is not None and first.host is not None and first.host != host
            user = self._interactive_user(st, kit, host, pick.get("timestamp"), notes,
                                          processes=account is None and left)
            if user:
                account = user[0]
                evidence.append(user[1])
        return Origin(host=host, account=account, ip=ip, chain=steps, evidence=evidence[:8])

    def _inbound(self, st: InvestigationState, kit: Toolkit, target: str, ts: int | None,
                 notes: list[str]) -> tuple[str, str | None, str] | None:
        """(source host, its account, event key): the connection to `target`'s addresses
        another host recorded itself making (Sysmon 3) just before `ts`."""
        ctx = _safe(kit, "entity_context", notes, key=target, as_of=ts or st.as_of)
        ips = [str(lease.get("other", ""))[3:] for lease in (ctx.leases if ctx is not None else [])
               if str(lease.get("other", "")).startswith("IP:")]
        if not ips:
            return None
        got = _safe(kit, "find_events", notes, event_ids=[3], ips=ips[:10], as_of=ts or st.as_of, before_s=180,
                    after_s=60, limit=50)
        best = None
        for e in (got.events if got else []):
            if e.host and e.host != target and e.dst_ip in ips:
                gap = abs((e.timestamp or 0) - (ts or 0))
                if best is None or gap < best[0]:
                    best = (gap, e.host, (e.by or [None])[0], e.key)
        return (best[1], best[2], best[3]) if best else None

    def _interactive_user(self, st: InvestigationState, kit: Toolkit, host: str, ts: int | None,
                          notes: list[str], processes: bool = True) -> tuple[str, str] | None:
        """(account, event key) of who was at `host`'s keyboard at `ts`: the latest interactive
        logon (console, RDP, cached) before it whose session had not ended (4634/4647), else
        the latest process a person (not the machine or a system account) started there
        (`processes`: only where the activity names no account at all)."""
        at = ts or st.as_of
        got = _safe(kit, "find_events", notes, hosts=[host], event_ids=[4624, 4634, 4647], as_of=at,
                    before_s=12 * 3600, after_s=60, limit=200)
        evs = [e for e in (got.events if got else []) if e.host == host]
        ended = {e.target_logon_id for e in evs if e.event_id in (4634, 4647) and e.target_logon_id
                 and (e.timestamp or 0) < (at or 0)}
        best = None
        for e in evs:
            user = (e.targets or [None])[0]
            if e.event_id != 4624 or e.logon_type not in (2, 7, 10, 11) or not _a_person(user):
                continue
            if e.target_logon_id and e.target_logon_id in ended:
                continue
            if best is None or (e.timestamp or 0) >= best[0]:
                best = (e.timestamp or 0, user, e.key)
        if best is None and processes:
            got = _safe(kit, "find_events", notes, hosts=[host], event_ids=[1, 4688], as_of=at,
                        before_s=2 * 3600, after_s=60, limit=100)
            for e in (got.events if got else []):
                user = (e.by or [None])[0]
                if e.host != host or not _a_person(user) or (e.timestamp or 0) > (at or 0) + 60:
                    continue
                if best is None or (e.timestamp or 0) >= best[0]:
                    best = (e.timestamp or 0, user, e.key)
        return (best[1], best[2]) if best else None

    def _history(self, st: InvestigationState, kit: Toolkit, case: Case, f: Any, origin: Origin | None,
                 notes: list[str]) -> dict[str, Any]:
        fam = case.family
        if not fam.history_authorises or not f.events:
            return {}
        who = [a for a in f.actors if a][:3] or case.actors[:3]
        eids = sorted({e.get("event_id") for e in f.events if e.get("event_id") is not None})[:10]
        src = [origin.host] if origin is not None and origin.host else f.sources[:2]
        args: dict[str, Any] = {"users": who, "event_ids": eids, "days": 30, "as_of": st.as_of}
        if src and fam.needs_where:
            args["from_hosts"] = src
        elif f.targets and any("Computer" in (case.labels(t) or {"Computer"}) for t in f.targets[:2]):
            args["hosts"] = [t for t in f.targets[:2] if "@" not in t]
        if not (args.get("users") or args.get("hosts") or args.get("from_hosts")):
            return {}
        got = _safe(kit, "event_history", notes, **args)
        if got is None:
            return {}
        return {"days": [d.model_dump() for d in got.days], "examples": got.examples, "query": {
            k: v for k, v in args.items() if k != "as_of"}}

    # -- path hunter ---------------------------------------------------------------------
    def hunt_paths(self, st: InvestigationState, kit: Toolkit) -> tuple[PathFindings, Usage]:
        from agents.paths import hunt

        found = hunt(st, kit, roles_of(st))
        kit.last_summary = found.summary
        return found, Usage()

    # -- impact assessor -----------------------------------------------------------------
    def assess_impact(self, st: InvestigationState, kit: Toolkit) -> tuple[ImpactFindings, Usage]:
        found = impact_rules.assess(st, kit, roles_of(st))
        kit.last_summary = found.summary
        return found, Usage()

    # -- lead analyst --------------------------------------------------------------------
    def decide(self, st: InvestigationState, kit: Toolkit) -> tuple[Decision, Usage]:
        """The rules never ask back: each role's script already made every call the rules
        read, so a follow-up could only repeat them."""
        return rule_decision(st), Usage()

    def follow_up(self, st: InvestigationState, kit: Toolkit, ask: FollowUp) -> tuple[dict[str, Any], FollowUp, Usage]:
        """A model-driven lead's question to a role the model does not play here: the
        scripted role has nothing beyond its findings, and says so (no call is repeated)."""
        return {}, ask.model_copy(update={
            "answer": f"the scripted {ask.role.replace('_', ' ')} has no more than its findings above",
            "decided_by": self.label}), Usage()


def _case(st: InvestigationState, ctx: ContextFindings) -> Case:
    tmp = st.model_copy(update={"context": ctx})
    return build_case(tmp)


def _a_person(user: str | None) -> bool:
    """An account a person logs on with: not a machine account, not a built-in service identity."""
    if not user or "@" not in user:  # a user key is NAME@DOMAIN (or @HOST); a host's key has no @
        return False
    name = user.split("@")[0].upper()
    return not name.endswith("$") and name not in ("SYSTEM", "LOCAL SERVICE", "NETWORK SERVICE", "ANONYMOUS LOGON") \
        and not name.startswith(("DWM-", "UMFD-"))


def _attributed_entities(st: InvestigationState, f: Any, origin: Origin | None,
                         contexts: dict[str, dict]) -> list[EntityRef]:
    have = {e.key for e in st.entities}
    out: list[EntityRef] = []
    cands: list[tuple[str, str]] = []
    if origin is not None:
        cands += [(origin.host, "source_host"), (origin.account, "source_account")]
    if origin is not None:
        for step in origin.chain[:4]:
            cands += [(step.get("from_host"), "source_host"), (step.get("account"), "source_account")]
    cands += [(a, "actor") for a in f.actors[:2]] + [(s, "source_host") for s in f.sources[:1]]
    cands += [(t, "target") for t in f.targets[:3]]
    for key, role in cands:
        if key == "INTERNET" and key not in have:  # an attack from outside comes from the internet node
            have.add(key)
            out.append(EntityRef(key=key, labels=["Internet"], role=role, mention=""))
            continue
        if key and key not in have and key in contexts:
            have.add(key)
            labels = [x for x in contexts[key].get("labels") or [] if x not in ("Twin", "Base")]
            if key.split("@")[0].upper() in ("SYSTEM", "LOCAL SERVICE", "NETWORK SERVICE", "ANONYMOUS LOGON"):
                continue
            out.append(EntityRef(key=key, labels=labels, role=role, mention=""))
    return out


def rule_decision(st: InvestigationState) -> Decision:
    case = build_case(st)
    finding = decide(case)
    alert = st.alert or {}
    fam = case.family
    techniques = list(alert.get("techniques") or []) or ([fam.technique] if fam.technique else [])
    severity = _severity(finding.verdict, st, fam.severity)
    actions: list[RecommendedAction] = []
    if finding.verdict == "true_positive" and st.impact:
        actions = list(st.impact.actions)
    return Decision(verdict=finding.verdict, severity=severity, confidence=finding.confidence,
                    techniques=techniques, reasons=finding.reasons, claims=finding.claims,
                    recommended_actions=actions, decided_by=OfflineAnalyst.label, rule=finding.rule,
                    answers=finding.answers, timeline=timeline(case, finding.found),
                    misattributed=list(finding.found.notes.get("misattributed") or [])
                    if finding.verdict == "false_positive" else [])


def timeline(case: Case, found: Any) -> list[TimelineEntry]:
    """The events the verdict rests on, in the source's own time order."""
    keys: dict[str, dict] = {}
    for e in found.events:
        keys.setdefault(e["key"], e)
    origin = case.origin
    chain_keys = [k for s in (origin.chain if origin is not None else []) for k in s.get("evidence") or []]
    by_key = {e["key"]: e for e in case.events}
    for k in chain_keys:
        if k in by_key:
            keys.setdefault(k, by_key[k])
    out = []
    for e in sorted(keys.values(), key=lambda e: (e.get("timestamp") or 0, e.get("key"))):
        who = (e.get("targets") if e.get("event_id") == 4624 else None) or e.get("by") or e.get("targets") or []
        out.append(TimelineEntry(time=e.get("time"), timestamp=e.get("timestamp"), host=e.get("host"),
                                 account=who[0] if who else (e.get("subject_user") or e.get("target_user")),
                                 what=_describe(e), key=e.get("key")))
    return out[:25]


def _describe(e: dict) -> str:
    eid = e.get("event_id")
    src = e.get("from_host") or e.get("ip")
    img = (e.get("image") or "").replace("/", "\\").rsplit("\\", 1)[-1]
    if eid == 4624:
        return f"logon type {e.get('logon_type')}" + (f" from {src}" if src else "")
    if eid in (4625, 4771):
        return "failed logon" + (f" from {src}" if src else "")
    if eid == 4662:
        return "directory replication request" if "ReplicationEvent" in (e.get("kinds") or []) else "directory object read"
    if eid == 4769:
        return f"service ticket ({e.get('ticket_encryption') or '?'}) for {', '.join(e.get('targets') or []) or '?'}"
    if eid == 4768:
        return f"TGT request (pre-auth type {e.get('pre_auth_type')})" + (f" from {src}" if src else "")
    if eid in (5140, 5145):
        return f"share {e.get('share_name') or '?'} accessed" + (f" from {src}" if src else "")
    if eid in (7045, 4697):
        return f"service {e.get('service_name') or '?'} installed"
    if eid in (4698, 4702):
        return "scheduled task created/updated"
    if eid in (4724, 4723):
        return "password reset" if eid == 4724 else "password changed by its user"
    if eid in (4728, 4732, 4756):
        return "member added to a group"
    if eid == 5136:
        return "directory object modified"
    if eid == 10:
        return f"process access to {str(e.get('target_image') or '?').rsplit(chr(92), 1)[-1]} ({e.get('granted_access') or '?'})"
    if eid == 3:
        return f"network connection by {img or '?'} to {e.get('dst_ip') or '?'}:{e.get('dst_port') or '?'}"
    if "ProcessEvent" in (e.get("kinds") or []):
        cmd = (e.get("command_line") or "")[:80]
        return f"process {img or '?'}" + (f": {cmd}" if cmd else "")
    return f"event {eid}"


def _severity(verdict: str, st: InvestigationState, floor: str) -> str:
    if verdict == "false_positive":
        return "informational"
    if verdict == "benign_positive":
        return "low"
    reach = st.impact.blast if st.impact else {}
    if reach.get("tier0"):
        return "critical"
    if reach.get("crown_jewels"):
        return "high"
    return floor


def _context_claims(key: str, ctx: dict[str, Any]) -> list[Claim]:
    out: list[Claim] = []
    if not ctx.get("found"):
        return out
    core = ctx.get("core") or {}
    labels = [x for x in ctx.get("labels") or [] if x not in ("Twin", "Base")]
    desc = f"{key} is a {'/'.join(labels) or 'node'}"
    if core.get("criticality"):
        desc += f" of {core['criticality']} criticality"
    if core.get("crown_jewel"):
        desc += ", a crown jewel"
    out.append(Claim(text=desc, evidence=[Evidence(node=key)], agent="context_gatherer"))
    for g in (ctx.get("member_of") or [])[:3]:
        if g.get("depth") == 1:
            out.append(Claim(text=f"{key} is a member of {g['key']}", evidence=[Evidence(edge=[key, "MemberOf", g["key"]])],
                             agent="context_gatherer"))
    return out
