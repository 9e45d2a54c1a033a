"""Checks for the families that act on the directory and on credentials: DCSync, Kerberoasting,
AS-REP roasting, password spraying, stolen-credential use, ACL and group changes, password resets and
plain logons. Each reads the DC's and the hosts' authentication and directory-service events."""

from __future__ import annotations

from agents.reasoning.case import Case, raw_field
from agents.reasoning.directory import Change, changes, claimed
from agents.reasoning.happened.base import (
    Found,
    _absent_actor,
    _by_actor,
    _cmd,
    _ids,
    _image,
    _ip_like,
    _is_account,
    _not_seen_or_unverifiable,
    _on,
    focus,
)


def _dcsync(case: Case) -> Found:
    repl = [e for e in case.events if e.get("event_id") == 4662 and "ReplicationEvent" in (e.get("kinds") or [])]
    reads = [e for e in case.events if e.get("event_id") == 4662 and "DirectoryAccessEvent" in (e.get("kinds") or [])]
    mine = focus(case, [e for e in repl if _by_actor(case, e)])
    if mine:
        actors = sorted({u for e in mine for u in e.get("by") or []})
        return Found("corroborated", f"{', '.join(actors) or 'the account'} requested directory replication "
                     "(4662 with the DS-Replication-Get-Changes rights)", mine, actors=actors,
                     targets=sorted({e["host"] for e in mine if e.get("host")}))
    my_reads = [e for e in reads if _by_actor(case, e)]
    if my_reads:
        return Found("contradicted", "the account's 4662 events on the domain controller are ordinary directory "
                     "reads, without the replication rights a DCSync requests", my_reads)
    if repl and case.actors:
        others = sorted({u for e in repl for u in e.get("by") or []})
        return Found("contradicted", f"replication was requested by {', '.join(others[:3])}, not by "
                     f"{', '.join(case.actors[:2])} as the alert says", repl)
    return _not_seen_or_unverifiable(case, case.hosts, "directory replication by the account")


def _ticket_enc(e: dict) -> str:
    enc = str(e.get("ticket_encryption") or raw_field(e, "TicketEncryptionType") or "").lower()
    return {"0x17": "rc4-hmac", "23": "rc4-hmac", "0x18": "rc4-hmac-exp", "0x12": "aes256", "0x11": "aes128",
            "18": "aes256", "17": "aes128", "0x1": "des", "0x3": "des"}.get(enc, enc)


def _kerberoast(case: Case) -> Found:
    tickets = [e for e in case.events if e.get("event_id") == 4769 and (
        not case.actors or _ids(e) & set(case.actors)
        or (case.src_hosts and e.get("from_host") in case.src_hosts))]
    tickets = [e for e in tickets if not any(t.split("@")[0].upper() in ("KRBTGT",) or t.split("@")[0].endswith("$")
                                             for t in e.get("targets") or [])
               and str(e.get("status") or "0x0").lower() in ("0x0", "0")]
    rc4 = focus(case, [e for e in tickets if _ticket_enc(e).startswith(("rc4", "des"))])
    if rc4:
        svcs = sorted({t for e in rc4 for t in e.get("targets") or []})
        actors = sorted({u for e in rc4 for u in e.get("by") or []})
        return Found("corroborated", f"{', '.join(actors[:2]) or 'the account'} requested RC4 service tickets for "
                     f"{len(svcs) or len(rc4)} service account(s)", rc4, actors=actors,
                     sources=sorted({e["from_host"] for e in rc4 if e.get("from_host")}),
                     source_ips=sorted({e["ip"] for e in rc4 if e.get("ip")}), targets=svcs)
    if tickets:
        return Found("contradicted", "the service tickets requested around the alert use AES, not the RC4 "
                     "encryption Kerberoasting needs", tickets)
    return _not_seen_or_unverifiable(case, case.hosts, "service-ticket request (4769) by the account")


def _asrep(case: Case) -> Found:
    tgts = [e for e in case.events if e.get("event_id") == 4768]
    rel = [e for e in tgts if not case.target_users and not case.actors or _ids(e) & set(case.actors + case.target_users)
           or (case.src_hosts and e.get("from_host") in case.src_hosts)
           or (case.src_ips and e.get("ip") in case.src_ips)]
    nopre = focus(case, [e for e in rel if e.get("pre_auth_type") == 0
                         and str(e.get("status") or "0x0").lower() in ("0x0", "0")])
    if nopre:
        roasted = sorted({t for e in nopre for t in e.get("targets") or []})
        return Found("corroborated", f"TGTs were issued without pre-authentication (4768, PreAuthType 0) for "
                     f"{', '.join(roasted[:3]) or 'the account'}", nopre,
                     sources=sorted({e["from_host"] for e in nopre if e.get("from_host")}),
                     source_ips=sorted({e["ip"] for e in nopre if e.get("ip")}), targets=roasted)
    if rel:
        return Found("contradicted", "the TGT requests around the alert used normal pre-authentication, so "
                     "nothing was roastable", rel)
    return _not_seen_or_unverifiable(case, case.hosts, "TGT request without pre-authentication")


def _failure(e: dict) -> bool:
    eid = e.get("event_id")
    if eid in (4625, 4771):
        return True
    return eid == 4776 and str(e.get("status") or raw_field(e, "Status") or "0x0").lower() not in ("0x0", "0")


def _spray(case: Case) -> Found:
    fails = [e for e in case.events if _failure(e)]
    if case.src_hosts or case.src_ips:
        scoped = [e for e in fails if e.get("from_host") in case.src_hosts or e.get("ip") in case.src_ips]
        fails = scoped or fails
    by_src: dict[str, list[dict]] = {}
    for e in fails:
        src = e.get("from_host") or e.get("ip") or e.get("workstation") or "?"
        by_src.setdefault(src, []).append(e)

    def accounts(evs: list[dict]) -> set[str]:
        return {t for e in evs for t in (e.get("targets") or [e.get("target_user") or "?"])}

    best = max(by_src.items(), key=lambda kv: (len(accounts(kv[1])), len(kv[1])), default=(None, []))
    techs = {str(t).upper() for t in (case.alert or {}).get("techniques") or []}
    guessing = "T1110.001" in techs
    n_acc, n = len(accounts(best[1])), len(best[1])
    if (n_acc >= 5) or (guessing and n >= 5) or (not guessing and n_acc >= 3 and n >= 10):
        src = best[0]
        ok = [e for e in case.events if e.get("event_id") == 4624 and (e.get("from_host") == src or e.get("ip") == src)]
        f = Found("corroborated", f"{n} failed logons from {src} against {n_acc} account(s)", best[1][:20] + ok[:3],
                  sources=[src] if src and not _ip_like(src) else [], source_ips=[src] if _ip_like(src) else [],
                  targets=sorted(accounts(best[1]))[:20])
        if ok:
            f.notes["success"] = [e["key"] for e in ok[:5]]
        return f
    if fails:
        return Found("contradicted", f"the failed logons around the alert are {n} on {n_acc} account(s), not the "
                     "many accounts a spray or brute force leaves", fails[:20])
    return _not_seen_or_unverifiable(case, case.hosts, "failed logons")


def _credential_use(case: Case) -> Found:
    """Stolen credential material used: the tool the alert names ran, or tickets were
    requested with a raw key (RC4) from the host for an account other than its user."""
    hosts = case.hosts
    procs = [e for e in case.events if "ProcessEvent" in (e.get("kinds") or []) and _on(case, e, hosts)]
    named = set(case.processes)
    ran = focus(case, [e for e in procs if _image(e) in named or any(
        w in _cmd(e) for w in ("asktgt", "/rc4:", "/aes256:", "sekurlsa::pth", "pass-the-hash", "/ptt", "invoke-mimikatz"))])
    host_ips = {e.get("local_ip") or e.get("src_ip") for e in case.events if e.get("host") in hosts} - {None}
    tickets = [e for e in case.events if e.get("event_id") in (4768, 4769) and _ticket_enc(e).startswith("rc4")
               and (e.get("from_host") in hosts or str(e.get("ip") or "").replace("::ffff:", "") in host_ips)]
    pth = [e for e in case.events if e.get("event_id") == 4624 and e.get("logon_type") == 9 and _on(case, e, hosts)]
    hit = ran + focus(case, tickets) + pth
    if hit:
        users = sorted({u for e in ran + pth for u in e.get("by") or [] if _is_account(u)})
        victims = sorted({t for e in tickets for t in e.get("targets") or []} - set(users))
        return Found("corroborated", f"{', '.join(sorted({_image(e) for e in ran})) or 'a tool'} used credential "
                     f"material on {', '.join(hosts[:2])}" + (f" for {', '.join(victims[:3])}" if victims else ""),
                     hit[:6], actors=users, targets=victims, sources=list(hosts[:1]))
    if procs and named:
        return Found("contradicted", f"{', '.join(sorted(named))} never ran on {', '.join(hosts[:2])} around the alert",
                     procs[:3])
    return _not_seen_or_unverifiable(case, hosts, "use of stolen credential material")


ACL_CHANGE_IDS = {5136, 4670, 4662, 4738, 4717, 4718, 4780, 4765, 4766, 5137, 5141}
GROUP_CHANGE_IDS = {4728, 4732, 4756, 4729, 4733, 4757}


def _acl(case: Case) -> Found:
    attrs, op = claimed(case.claim_text())
    evs = [e for e in case.events if e.get("event_id") in (ACL_CHANGE_IDS | GROUP_CHANGE_IDS | {4724})
           and _by_actor(case, e)]
    chs = changes(evs)

    def fits(c: Change) -> bool:
        if attrs and c.attribute not in attrs:
            return False
        if op == "remove":
            return c.op == "remove"
        return op is None or c.op in ("add", "modify")

    match = [c for c in chs if fits(c)]
    if match:
        keys = {e["key"] for e in focus(case, [c.event for c in match])}
        match = [c for c in match if c.event["key"] in keys]
        hit = [c.event for c in match]
        actors = sorted({u for e in hit for u in e.get("by") or []})
        objs = [case.key_for(c.obj) or c.obj for c in match]
        principals = [case.key_for(p) or p for c in match for p in c.principals]
        what = ", ".join(sorted({f"{c.op} {c.attribute} on {case.key_for(c.obj) or c.obj}" for c in match})[:3])
        return Found("corroborated", f"{', '.join(actors[:2]) or 'the account'} made the directory change the alert "
                     f"describes ({what})", hit[:6], actors=actors,
                     targets=[k for k in dict.fromkeys([*objs, *principals]) if k and k in case.context][:6],
                     notes={"changes": [{"op": c.op, "attribute": c.attribute, "object": c.obj,
                                         "object_key": case.key_for(c.obj), "principals": c.principals,
                                         "principal_keys": [case.key_for(p) for p in c.principals],
                                         "event": c.event["key"]} for c in match[:6]]})
    if chs:
        got = sorted({f"{c.op} {c.attribute} on {c.obj}" for c in chs})[:3]
        want = f"{op or 'change'} of {', '.join(sorted(attrs)) or 'permissions or memberships'}"
        return Found("contradicted", f"the directory changes around the alert were {'; '.join(got)}, not the {want} "
                     "the alert describes", [c.event for c in chs][:6])
    return _not_seen_or_unverifiable(case, case.hosts, "account, group or permission change by the actor")


def _password_reset(case: Case) -> Found:
    resets = [e for e in case.events if e.get("event_id") in (4724,) and _by_actor(case, e)]
    if case.target_users:
        resets = [e for e in resets if set(e.get("targets") or []) & set(case.target_users)] or resets
    resets = focus(case, resets)
    if resets:
        actors = sorted({u for e in resets for u in e.get("by") or []})
        targets = sorted({t for e in resets for t in e.get("targets") or []})
        return Found("corroborated", f"{', '.join(actors[:2]) or 'the account'} reset the password of "
                     f"{', '.join(targets[:3]) or 'an account'} (4724)", resets[:5], actors=actors, targets=targets)
    own = [e for e in case.events if e.get("event_id") == 4723]
    if own:
        return Found("contradicted", "the password was changed by its own user (4723), not reset by another "
                     "account", own[:3])
    return _not_seen_or_unverifiable(case, case.hosts, "password reset (4724) by the actor")


def _logon(case: Case) -> Found:
    if case.actor_absent and not case.actors:
        return _absent_actor(case, "logon")
    targets = case.dst_hosts or [h for h in case.hosts if h not in case.src_hosts] or case.hosts
    logons = [e for e in case.events if e.get("event_id") == 4624 and (not targets or e.get("host") in targets)
              and (not case.actors or set(e.get("targets") or []) & set(case.actors))]
    if not logons:
        return _not_seen_or_unverifiable(case, targets, "logon by the account")
    if case.src_hosts or case.src_ips:
        # the alleged source host must be where the logon came from at that time: an address
        # that matches but was held by another host then is a stale name (a misattribution)
        named = [h for h in case.src_hosts if not _ip_like(h)]
        match = [e for e in logons
                 if (not named or not e.get("from_host") or e.get("from_host") in named)
                 and (not case.src_ips or not e.get("ip") or e.get("ip") in case.src_ips)]
        if not match:
            actual = sorted({e.get("from_host") or e.get("ip") or "?" for e in logons})
            ips = sorted({e.get("ip") for e in logons if e.get("ip")})
            return Found("contradicted", f"the account's logons came from {', '.join(actual[:3])}"
                         f"{' (' + ', '.join(ips[:2]) + ' at that time)' if ips else ''}, not from "
                         f"{', '.join(named or case.src_ips)} as the alert says: the source is misattributed",
                         logons[:3], sources=[x for x in actual if x != "?"], notes={"misattributed": named})
        logons = match
    logons = focus(case, logons, span=300)
    actors = sorted({t for e in logons for t in e.get("targets") or []})
    sources = sorted({e["from_host"] for e in logons if e.get("from_host")})
    return Found("corroborated", f"{', '.join(actors[:2])} logged on to {', '.join(sorted({e['host'] for e in logons}))}"
                 f"{' from ' + ', '.join(sources) if sources else ''}", logons[:5], actors=actors, sources=sources,
                 source_ips=sorted({e["ip"] for e in logons if e.get("ip")}), targets=sorted({e["host"] for e in logons}))
