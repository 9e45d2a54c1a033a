"""The offline analyst's decision rules: explicit, documented, deterministic.

Every alert is decided in the same three questions, asked of the twin, never of the
alert's wording or severity (see agents/RULES.md for the table):

1. Does the alert name anything real?   Its hosts/users absent from the twin
                                         -> false_positive.
2. Did the activity happen as described? Each family has the events that must exist
   (a 4662 replication by that account, RC4 service tickets, a type 3/10 logon from
   that host, ...). None -> false_positive; a *different* real event that the rule
   misread (a directory read, a file-share read) -> false_positive (misfire).
3. Was it expected or authorized?        A domain controller replicating, a host or
   account the inventory tags as an approved scanner / admin workstation / backup,
   an admin with rights over the target acting from an admin host -> benign_positive;
   otherwise -> true_positive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents.models import Claim, Evidence

# ATT&CK technique (or its parent) -> family.
TECHNIQUE_FAMILY = {
    "T1003.006": "dcsync", "T1003": "credential_dump",
    "T1558.003": "kerberoast", "T1558.004": "asrep", "T1558": "kerberoast",
    "T1110.003": "spray", "T1110.001": "spray", "T1110": "spray",
    "T1021.001": "lateral", "T1021.002": "lateral", "T1021.006": "lateral", "T1021.003": "lateral",
    "T1021": "lateral", "T1570": "lateral", "T1047": "lateral", "T1569.002": "lateral",
    "T1190": "exploit", "T1133": "exploit", "T1210": "exploit",
    "T1098": "acl_abuse", "T1222": "acl_abuse", "T1222.001": "acl_abuse", "T1484": "acl_abuse",
    "T1484.001": "acl_abuse", "T1556": "acl_abuse",
    "T1053": "persistence", "T1053.005": "persistence", "T1543": "persistence", "T1543.003": "persistence",
    "T1547": "persistence", "T1547.001": "persistence", "T1136": "persistence", "T1136.002": "persistence",
    "T1041": "exfil", "T1048": "exfil", "T1048.003": "exfil", "T1567": "exfil", "T1567.002": "exfil",
    "T1030": "exfil", "T1005": "exfil", "T1039": "exfil",
    "T1059": "execution", "T1059.001": "execution", "T1059.003": "execution", "T1204": "execution",
}
# When an alert carries no technique: words of its rule/title -> family (lower-case).
KEYWORD_FAMILY = [
    ("dcsync", "dcsync"), ("replication", "dcsync"), ("drsuapi", "dcsync"),
    ("kerberoast", "kerberoast"), ("as-rep", "asrep"), ("asrep", "asrep"),
    ("spray", "spray"), ("brute", "spray"),
    ("lateral", "lateral"), ("admin share", "lateral"), ("psexec", "lateral"), ("rdp", "lateral"),
    ("winrm", "lateral"), ("exploit", "exploit"), ("acl", "acl_abuse"), ("dacl", "acl_abuse"),
    ("password reset", "acl_abuse"), ("group membership", "acl_abuse"),
    ("scheduled task", "persistence"), ("service install", "persistence"), ("persistence", "persistence"),
    ("exfil", "exfil"), ("upload", "exfil"), ("powershell", "execution"), ("process", "execution"),
]
FAMILY_TECHNIQUE = {
    "dcsync": "T1003.006", "credential_dump": "T1003", "kerberoast": "T1558.003", "asrep": "T1558.004",
    "spray": "T1110.003", "lateral": "T1021", "exploit": "T1190", "acl_abuse": "T1098",
    "persistence": "T1053.005", "exfil": "T1048", "execution": "T1059",
}

# Inventory tags that authorise activity of a family (on the acting account or host).
APPROVED_TAGS = {
    "dcsync": {"approved-replication", "directory-sync"},
    "kerberoast": {"scanner", "pentest", "approved-scanner"},
    "asrep": {"scanner", "pentest", "approved-scanner"},
    "spray": {"scanner", "pentest", "approved-scanner"},
    "exploit": {"scanner", "pentest", "approved-scanner"},
    "lateral": {"paw", "jump", "admin-workstation", "approved-admin"},
    "acl_abuse": {"approved-admin", "identity-management"},
    "persistence": {"approved-admin", "paw", "jump", "admin-workstation", "deployment"},
    "exfil": {"backup", "approved-egress"},
    "execution": {"approved-admin", "deployment"},
    "credential_dump": {"pentest"},
    "generic": {"approved-admin", "scanner"},
}
ADMIN_EDGES = {"AdminTo", "CanRDP", "CanPSRemote", "ExecuteDCOM"}
SHELLS = ("cmd.exe", "powershell.exe", "pwsh.exe", "/bin/sh", "/bin/bash", "sh", "bash", "whoami.exe", "rundll32.exe")
ADMIN_SHARES = ("ADMIN$", "C$", "IPC$")
EXFIL_BYTES = 50_000_000


def family_of(techniques: list[str], rule: str | None, title: str | None) -> str:
    for t in techniques:
        if t in TECHNIQUE_FAMILY:
            return TECHNIQUE_FAMILY[t]
        parent = t.split(".")[0]
        if parent in TECHNIQUE_FAMILY:
            return TECHNIQUE_FAMILY[parent]
    text = f"{rule or ''} {title or ''}".lower()
    for word, fam in KEYWORD_FAMILY:
        if word in text:
            return fam
    return "generic"


@dataclass
class Facts:
    """What the analyst learned from the tools, in the shape the rules read."""

    family: str
    actors: list[str]  # user/computer keys that acted
    hosts: list[str]  # host keys the alert names (targets or sources)
    src_hosts: list[str]
    dst_hosts: list[str]
    context: dict[str, dict[str, Any]]  # key -> entity_context output (dumped)
    absent: list[str]
    named_hosts_or_users: int  # how many host/user names the alert gave
    events: list[dict[str, Any]] = field(default_factory=list)
    connections: list[dict[str, Any]] = field(default_factory=list)

    def tags(self, key: str) -> set[str]:
        props = (self.context.get(key) or {}).get("properties") or {}
        tags = props.get("tags") or []
        if isinstance(tags, str):
            tags = [t for t in tags.replace(",", ";").split(";")]
        return {str(t).strip().lower() for t in tags if str(t).strip()}

    def core(self, key: str) -> dict[str, Any]:
        return (self.context.get(key) or {}).get("core") or {}

    def is_dc(self, key: str) -> bool:
        ctx = self.context.get(key) or {}
        if "Computer" not in (ctx.get("labels") or []):
            return False
        groups = [g.get("key", "") for g in ctx.get("member_of") or []]
        return any(g.startswith("DOMAIN CONTROLLERS@") or g.startswith("ENTERPRISE DOMAIN CONTROLLERS@") for g in groups) \
            or bool((ctx.get("properties") or {}).get("isdc"))

    def is_tier0_principal(self, key: str) -> bool:
        ctx = self.context.get(key) or {}
        if self.core(key).get("tier0"):
            return True
        return any(g.get("tier0") for g in ctx.get("member_of") or [])

    def admin_right(self, actor: str, host: str) -> tuple[bool, list[Evidence]]:
        """Does the actor hold an admin-type edge on the host, directly or through a group?"""
        for r in (self.context.get(actor) or {}).get("rights_held") or []:
            if r.get("target") == host and r.get("edge") in ADMIN_EDGES:
                if r.get("via"):
                    return True, [Evidence(edge=[actor, "MemberOf", r["via"]]) if _direct_member(self, actor, r["via"])
                                  else Evidence(node=r["via"]), Evidence(edge=[r["via"], r["edge"], host])]
                return True, [Evidence(edge=[actor, r["edge"], host])]
        return False, []

    def zones(self, key: str) -> list[str]:
        return list(self.core(key).get("zones") or [])


def _direct_member(f: Facts, actor: str, group: str) -> bool:
    return any(g.get("key") == group and g.get("depth") == 1 for g in (f.context.get(actor) or {}).get("member_of") or [])


@dataclass
class Finding:
    """The outcome of the rules: a verdict with the claims it rests on."""

    verdict: str
    confidence: float
    rule: str
    reasons: list[str]
    claims: list[Claim]


def _claim(text: str, *ev: Evidence) -> Claim:
    return Claim(text=text, evidence=list(ev), agent="lead_analyst", decisive=True)


def _evt_claim(text: str, events: list[dict]) -> Claim:
    return _claim(text, *[Evidence(node=e["key"]) for e in events[:5]])


def approved(f: Facts, keys: list[str]) -> tuple[str, str] | None:
    wanted = APPROVED_TAGS.get(f.family, set()) | APPROVED_TAGS["generic"] & {"approved-admin"}
    for k in keys:
        hit = sorted(f.tags(k) & wanted)
        if hit:
            return k, hit[0]
    return None


def is_admin_source(f: Facts, host: str) -> bool:
    if f.tags(host) & {"paw", "jump", "admin-workstation"}:
        return True
    return any(any(w in z.lower() for w in ("mgmt", "admin", "management")) for z in f.zones(host))


def decide(f: Facts) -> Finding:
    # 1. Does the alert name anything real?
    if f.named_hosts_or_users and not f.actors and not f.hosts:
        return Finding("false_positive", 0.9, "entities-absent",
                       [f"the twin has none of the hosts or users the alert names ({', '.join(f.absent)})"],
                       [_claim(f"{a} does not exist in the twin", Evidence(absent=a)) for a in f.absent[:5]])
    check = CHECKS.get(f.family, check_generic)
    return check(f)


# ---------------------------------------------------------------------------- families

def _benign_or_true(f: Facts, confirmed: list[Claim], reason: str, who: list[str], authorised_by: str | None,
                    auth_claims: list[Claim]) -> Finding:
    if authorised_by:
        return Finding("benign_positive", 0.8, f"{f.family}-authorised", [reason, authorised_by],
                       confirmed + auth_claims)
    return Finding("true_positive", 0.85, f"{f.family}-unauthorised",
                   [reason, f"nothing in the twin authorises it for {', '.join(who) or 'the actor'}"], confirmed + auth_claims)


def _tag_auth(f: Facts, keys: list[str]) -> tuple[str | None, list[Claim]]:
    hit = approved(f, keys)
    if not hit:
        return None, []
    key, tag = hit
    return (f"{key} is tagged '{tag}' in the inventory",
            [_claim(f"{key} is tagged '{tag}' (an approved role for this activity)", Evidence(node=key))])


def check_dcsync(f: Facts) -> Finding:
    repl = [e for e in f.events if "ReplicationEvent" in e.get("kinds", [])
            and (not f.actors or set(e.get("by", [])) & set(f.actors))]
    reads = [e for e in f.events if "DirectoryAccessEvent" in e.get("kinds", [])
             and (not f.actors or set(e.get("by", [])) & set(f.actors))]
    if not repl:
        if reads:
            return Finding("false_positive", 0.85, "dcsync-misfire",
                           ["the 4662 events show directory reads without the replication rights a DCSync uses"],
                           [_evt_claim("the account's 4662 events are directory reads, not replication", reads)])
        return Finding("false_positive", 0.8, "dcsync-no-replication",
                       ["no directory replication (4662 with DS-Replication-Get-Changes) by the account around the alert"],
                       [_claim(f"{a} exists, but no replication event by it was recorded", Evidence(node=a)) for a in f.actors[:2]]
                       or [_claim("the alert's hosts exist but saw no replication", *[Evidence(node=h) for h in f.hosts[:2]])])
    actors = sorted({u for e in repl for u in e.get("by", [])})
    confirmed = [_evt_claim(f"{', '.join(actors)} replicated directory secrets (4662 DS-Replication-Get-Changes)", repl)]
    for a in actors:
        if f.is_dc(a):
            return Finding("benign_positive", 0.85, "dcsync-by-dc",
                           [f"{a} is a domain controller: replication is its job"],
                           confirmed + [_claim(f"{a} is a domain controller", Evidence(node=a))])
    auth, auth_claims = _tag_auth(f, actors + [e.get("from_host") for e in repl if e.get("from_host")])
    return _benign_or_true(f, confirmed, "a non-DC account replicated directory secrets", actors, auth, auth_claims)


def check_kerberoast(f: Facts) -> Finding:
    tickets = [e for e in f.events if e.get("event_id") == 4769 and (not f.actors or set(e.get("by", [])) & set(f.actors))]
    rc4 = [e for e in tickets if (e.get("ticket_encryption") or "").upper().startswith("RC4")]
    if not rc4:
        if tickets:
            return Finding("false_positive", 0.8, "kerberoast-no-rc4",
                           ["the service tickets requested were AES, not the RC4 tickets roasting needs"],
                           [_evt_claim("the account's service tickets use AES encryption", tickets)])
        return _missing(f, "no service-ticket requests (4769) by the account around the alert")
    targets = sorted({t for e in rc4 for t in e.get("targets", [])})
    confirmed = [_evt_claim(f"RC4 service tickets were requested for {len(targets)} service account(s)", rc4)]
    src = [e["from_host"] for e in rc4 if e.get("from_host")]
    auth, auth_claims = _tag_auth(f, list(dict.fromkeys(src + f.actors + f.hosts)))
    return _benign_or_true(f, confirmed, "RC4 service tickets were requested for SPN accounts", f.actors, auth, auth_claims)


def check_asrep(f: Facts) -> Finding:
    tgts = [e for e in f.events if e.get("event_id") == 4768 and e.get("pre_auth_type") == 0]
    if not tgts:
        return _missing(f, "no TGT requests without pre-authentication (4768, PreAuthType 0) around the alert")
    confirmed = [_evt_claim("TGTs were issued without pre-authentication (AS-REP roastable)", tgts)]
    src = [e["from_host"] for e in tgts if e.get("from_host")]
    auth, auth_claims = _tag_auth(f, list(dict.fromkeys(src + f.hosts)))
    return _benign_or_true(f, confirmed, "AS-REP roasting requests were answered", f.actors, auth, auth_claims)


def check_spray(f: Facts) -> Finding:
    fails = [e for e in f.events if e.get("event_id") == 4625]
    by_src: dict[str, set[str]] = {}
    for e in fails:
        src = e.get("from_host") or e.get("ip") or "?"
        by_src.setdefault(src, set()).update(e.get("targets") or [e.get("target_user") or "?"])
    best = max(by_src.items(), key=lambda kv: len(kv[1]), default=(None, set()))
    if len(best[1]) < 5:
        if fails:
            return Finding("false_positive", 0.8, "spray-too-few-accounts",
                           [f"failed logons touch {len(best[1])} account(s), not the many accounts of a spray"],
                           [_evt_claim("the failed logons are few and on few accounts", fails)])
        return _missing(f, "no failed logons (4625) around the alert")
    spray = [e for e in fails if (e.get("from_host") or e.get("ip") or "?") == best[0]]
    confirmed = [_evt_claim(f"failed logons from {best[0]} against {len(best[1])} accounts", spray)]
    auth, auth_claims = _tag_auth(f, [k for k in [best[0], *f.hosts] if k and k in f.context])
    return _benign_or_true(f, confirmed, "a password spray against many accounts happened", [best[0] or "?"], auth, auth_claims)


def check_lateral(f: Facts) -> Finding:
    logons = [e for e in f.events if e.get("event_id") == 4624 and e.get("logon_type") in (3, 10)
              and (not f.actors or set(e.get("targets", [])) & set(f.actors) or set(e.get("by", [])) & set(f.actors))
              and (not f.dst_hosts or e.get("host") in f.dst_hosts)]
    if not logons:
        return _missing(f, "no network or RDP logon (4624 type 3/10) by the account on the target around the alert")
    shares = [e for e in f.events if e.get("event_id") == 5140]
    admin_shares = [e for e in shares if _share(e) in ADMIN_SHARES]
    procs = [e for e in f.events if "ProcessEvent" in e.get("kinds", []) and e.get("host") in {x.get("host") for x in logons}]
    services = [e for e in f.events if e.get("event_id") in (7045, 4697)]
    rdp = [e for e in logons if e.get("logon_type") == 10]
    activity = admin_shares + procs + services + rdp
    if not activity:
        return Finding("false_positive", 0.8, "lateral-misfire",
                       ["the logon was followed only by ordinary file-share access, not admin-share execution"],
                       [_evt_claim("the network logon only read a normal file share", logons + shares)])
    confirmed = [_evt_claim("a remote logon was followed by admin-share, service or process activity", logons[:3] + activity[:2])]
    actors = sorted({u for e in logons for u in e.get("targets", [])} or set(f.actors))
    srcs = sorted({e["from_host"] for e in logons if e.get("from_host")} | set(f.src_hosts))
    dsts = sorted({e["host"] for e in logons if e.get("host")})
    auth, auth_claims = _authorised_admin(f, actors, srcs, dsts)
    return _benign_or_true(f, confirmed, "remote execution on another host happened", actors, auth, auth_claims)


def _share(e: dict) -> str:
    """The share a 5140 names (`\\\\*\\ADMIN$` -> ADMIN$)."""
    name = str(e.get("share_name") or e.get("object_name") or "")
    return name.replace("/", "\\").rsplit("\\", 1)[-1].upper()


def _authorised_admin(f: Facts, actors: list[str], srcs: list[str], dsts: list[str]) -> tuple[str | None, list[Claim]]:
    """An admin acting within its rights from an admin host (or explicitly approved)."""
    auth, claims = _tag_auth(f, actors)
    if auth and "approved-admin" in auth:
        return auth, claims
    for a in actors:
        for d in dsts:
            ok, ev = f.admin_right(a, d)
            if ok and any(is_admin_source(f, s) for s in srcs):
                src = next(s for s in srcs if is_admin_source(f, s))
                return (f"{a} holds admin rights on {d} and acted from the admin host {src}",
                        [_claim(f"{a} is entitled to administer {d}", *ev),
                         _claim(f"{src} is an admin workstation", Evidence(node=src))])
    return None, []


def check_exploit(f: Facts) -> Finding:
    targets = f.dst_hosts or f.hosts
    conns = [c for c in f.connections if c.get("dst") in targets]
    if not conns:
        return _missing(f, "no connection to the target was observed around the alert")
    exploitable = []
    for h in targets:
        for s in (f.context.get(h) or {}).get("services") or []:
            if s.get("exploitable_from"):
                exploitable.append((h, s))
    procs = [e for e in f.events if "ProcessEvent" in e.get("kinds", []) and e.get("host") in targets
             and any((e.get("image") or "").lower().endswith(sh) for sh in SHELLS)]
    if not exploitable or not procs:
        why = "the service is not exploitable from where the traffic came" if not exploitable else \
            "no process was spawned on the target after the traffic"
        return Finding("false_positive", 0.75, "exploit-not-successful", [why],
                       [_claim(f"connections reached {conns[0]['dst']}", Evidence(edge=[conns[0]["src"], "ConnectedTo", conns[0]["dst"]]))])
    h, s = exploitable[0]
    src = conns[0]["src"]
    confirmed = [
        _claim(f"{s['key']} on {h} is exploitable from {', '.join(s['exploitable_from'][:3])}",
               Evidence(edge=[s["exploitable_from"][0], "CanExploit", h])),
        _evt_claim(f"a shell was spawned on {h} after the traffic", procs),
        _claim(f"{src} connected to {h}", Evidence(edge=[src, "ConnectedTo", h])),
    ]
    auth, auth_claims = _tag_auth(f, [c["src"] for c in conns if c["src"] in f.context])
    return _benign_or_true(f, confirmed, "a vulnerable exposed service was exploited", [src], auth, auth_claims)


ACL_EVENTS = {4738, 4724, 4723, 5136, 4728, 4732, 4756, 4670, 4662}


def check_acl_abuse(f: Facts) -> Finding:
    changes = [e for e in f.events if e.get("event_id") in ACL_EVENTS - {4662}
               and (not f.actors or set(e.get("by", [])) & set(f.actors))]
    if not changes:
        return _missing(f, "no account, group or permission change by the actor around the alert")
    actors = sorted({u for e in changes for u in e.get("by", [])} or set(f.actors))
    confirmed = [_evt_claim(f"{', '.join(actors)} changed accounts, groups or permissions", changes)]
    for a in actors:
        if f.is_tier0_principal(a):
            return Finding("benign_positive", 0.75, "acl-by-tier0-admin",
                           [f"{a} is a tier-0 administrator: directory changes are its role"],
                           confirmed + [_claim(f"{a} belongs to a tier-0 group", Evidence(node=a))])
    auth, auth_claims = _tag_auth(f, actors)
    return _benign_or_true(f, confirmed, "a non-admin changed accounts or permissions it controls through ACLs",
                           actors, auth, auth_claims)


PERSIST_EVENTS = {4698, 4702, 7045, 4697, 13, 4720}


def check_persistence(f: Facts) -> Finding:
    evs = [e for e in f.events if e.get("event_id") in PERSIST_EVENTS
           and (not f.hosts or e.get("host") in f.hosts)]
    if not evs:
        return _missing(f, "no scheduled task, service install, run key or account creation around the alert")
    actors = sorted({u for e in evs for u in e.get("by", [])} or set(f.actors))
    confirmed = [_evt_claim("a persistence mechanism was installed", evs)]
    srcs = sorted({x.get("from_host") for x in f.events if x.get("event_id") == 4624 and x.get("from_host")
                   and set(x.get("targets", [])) & set(actors)} | set(f.src_hosts))
    auth, auth_claims = _authorised_admin(f, actors, srcs, sorted({e["host"] for e in evs if e.get("host")}))
    return _benign_or_true(f, confirmed, "persistence was installed on the host", actors, auth, auth_claims)


def check_exfil(f: Facts) -> Finding:
    big = [c for c in f.connections if c.get("dst") == "INTERNET" and (c.get("bytes") or 0) >= EXFIL_BYTES
           and (not f.hosts or c.get("src") in f.hosts)]
    if not big:
        return _missing(f, f"no outbound transfer of {EXFIL_BYTES // 1_000_000} MB or more to the internet was observed")
    c = big[0]
    confirmed = [_claim(f"{c['src']} sent {c['bytes'] // 1_000_000} MB to the internet",
                        Evidence(edge=[c["src"], "ConnectedTo", "INTERNET"]))]
    auth, auth_claims = _tag_auth(f, [c["src"], *f.actors])
    return _benign_or_true(f, confirmed, "a large transfer to the internet happened", [c["src"]], auth, auth_claims)


def check_execution(f: Facts) -> Finding:
    procs = [e for e in f.events if "ProcessEvent" in e.get("kinds", []) and (not f.hosts or e.get("host") in f.hosts)]
    if not procs:
        return _missing(f, "no process creation on the host around the alert")
    confirmed = [_evt_claim("the process ran on the host", procs)]
    auth, auth_claims = _tag_auth(f, f.actors + f.hosts)
    return _benign_or_true(f, confirmed, "the process executed", f.actors, auth, auth_claims)


def check_generic(f: Facts) -> Finding:
    evs = [e for e in f.events if (not f.actors or set(e.get("by", [])) & set(f.actors))]
    if not evs:
        return _missing(f, "no event by the alert's entities around the alert")
    confirmed = [_evt_claim("the alert's entities were active at the time", evs)]
    auth, auth_claims = _tag_auth(f, f.actors + f.hosts)
    return _benign_or_true(f, confirmed, "activity by the alert's entities happened", f.actors, auth, auth_claims)


def _missing(f: Facts, reason: str) -> Finding:
    ev = [Evidence(node=k) for k in (f.actors + f.hosts)[:3]]
    claims = [_claim(f"{', '.join(k for k in (f.actors + f.hosts)[:3])} exist, but {reason}", *ev)] if ev else []
    claims += [_claim(f"{a} does not exist in the twin", Evidence(absent=a)) for a in f.absent[:3]]
    return Finding("false_positive", 0.75, f"{f.family}-not-corroborated", [reason], claims)


CHECKS = {
    "dcsync": check_dcsync, "credential_dump": check_dcsync, "kerberoast": check_kerberoast, "asrep": check_asrep,
    "spray": check_spray, "lateral": check_lateral, "exploit": check_exploit, "acl_abuse": check_acl_abuse,
    "persistence": check_persistence, "exfil": check_exfil, "execution": check_execution, "generic": check_generic,
}

# Which events each family pulls (EventIDs; empty = all) and whether it reads connections.
FAMILY_EVENTS: dict[str, tuple[list[int], bool]] = {
    "dcsync": ([4662], False), "credential_dump": ([4662, 4656, 10], False),
    "kerberoast": ([4769], False), "asrep": ([4768], False), "spray": ([4625], False),
    "lateral": ([4624, 5140, 5145, 7045, 4697, 4688, 1], True), "exploit": ([4688, 1], True),
    "acl_abuse": sorted(ACL_EVENTS), "persistence": ([*sorted(PERSIST_EVENTS), 4624], False),
    "exfil": ([], True), "execution": ([4688, 1], False), "generic": ([], False),
}
FAMILY_EVENTS["acl_abuse"] = (sorted(ACL_EVENTS), False)
