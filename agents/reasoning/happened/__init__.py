"""Question 1: did the alleged activity happen as the alert says?

The alert's specific claim is checked against the raw telemetry at the alert's time:
the replication rights actually requested, the tickets' encryption, the share a logon
touched and whether anything ran *in that logon session after it*, the access rights on
LSASS, the byte count, which host held the source address then. The answer is one of

- `corroborated`: the telemetry shows it (the events are cited);
- `contradicted`: the telemetry shows something else — a misfire (cited);
- `not_seen`: the telemetry covers the place and time and shows no such thing;
- `unverifiable`: nothing was recorded there at that time (the sensor's word stands);
- `absent`: the alert names nothing the twin has.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from agents.models import Answer, Claim, Evidence
from agents.reasoning.case import SYSTEM_ACCOUNTS, Case, raw_field
from agents.reasoning.directory import Change, changes, claimed

REPLICATION_GUIDS = ("1131f6aa-9c07-11d1-f79f-00c04fc2dcd2", "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2",
                     "89e95b76-444d-4c62-991a-0facbeda640c")
ADMIN_SHARE = re.compile(r"^(ADMIN\$|[A-Z]\$)$", re.I)
REMOTE_EXEC_PARENTS = ("wmiprvse.exe", "wsmprovhost.exe", "winrshost.exe", "psexesvc.exe", "mmc.exe",
                       "remcomsvc.exe", "paexec.exe", "csexecsvc.exe")
REMOTE_EXEC_IMAGES = ("psexesvc.exe", "wsmprovhost.exe", "remcomsvc.exe", "paexec.exe", "winrshost.exe",
                      "csexecsvc.exe")
SERVICE_PROCESSES = ("w3wp.exe", "httpd", "httpd.exe", "nginx", "nginx.exe", "java", "java.exe", "javaw.exe",
                     "tomcat", "tomcat9.exe", "node", "node.exe", "php-cgi.exe", "php", "php-fpm", "sqlservr.exe",
                     "python", "python.exe", "python3", "ruby", "apache2", "apache.exe", "iisexpress.exe",
                     "jboss", "weblogic", "dotnet.exe", "umworkerprocess.exe", "exchange", "beasvc.exe")
SHELLS = ("cmd.exe", "powershell.exe", "pwsh.exe", "pwsh", "bash", "sh", "dash", "zsh", "/bin/sh", "/bin/bash",
          "whoami.exe", "whoami", "rundll32.exe", "mshta.exe", "certutil.exe", "bitsadmin.exe", "nc", "nc.exe",
          "ncat", "ncat.exe", "net.exe", "net1.exe", "cscript.exe", "wscript.exe", "curl", "wget", "python",
          "python3", "perl", "id", "uname")
LSASS_DUMP_WORDS = ("procdump", "minidump", "comsvcs", "sekurlsa", "mimikatz", "nanodump", "dumpert", "lsass",
                    "pypykatz", "outflank", "handlekatz", "lsassy", "createdump", "rdrleakdiag", "sqldumper",
                    "ppldump", "silentprocessexit")
HIVE_RX = re.compile(r"(reg(\.exe)?\"?\s+(save|export)\s+\S*(hklm|hkey_local_machine)\\+(sam|system|security)\b)|"
                     r"\\config\\(sam|system|security)\b|(secretsdump)|(\\registry\\machine\\(sam|security))", re.I)
NTDS_RX = re.compile(r"(ntds\.dit)|(ntdsutil.*(ifm|create\s+full|snapshot))|(vssadmin.*create\s+shadow)|"
                     r"(wmic\s+shadowcopy\s+call\s+create)|(esentutl.*ntds)|(diskshadow)|(install\s+from\s+media)",
                     re.I)
WINDOW_AFTER_LOGON = 2 * 3600


@dataclass
class Found:
    status: str
    summary: str
    events: list[dict] = field(default_factory=list)        # what shows it (or the misfire)
    actors: list[str] = field(default_factory=list)         # accounts the telemetry shows acting
    sources: list[str] = field(default_factory=list)        # hosts it came from
    source_ips: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)        # hosts / accounts it was done to
    extra: list[Claim] = field(default_factory=list)
    notes: dict = field(default_factory=dict)


FOCUS_S = 900


def focus(case: Case, events: list[dict], span: int = FOCUS_S) -> list[dict]:
    """The occurrence the alert is about: the matching events within `span` of the one
    nearest the alert's time, in time order. Earlier runs of the same thing are history
    (question 2), not this alert's evidence."""
    timed = [e for e in events if e.get("timestamp") is not None]
    if not timed or case.as_of is None:
        return list(events)
    cited = set(case.cited())
    pinned = [e for e in timed if e.get("key") in cited]
    if pinned:  # the alert names its events: they are the occurrence
        nearest = pinned[0]["timestamp"]
    else:
        nearest = min(timed, key=lambda e: abs(e["timestamp"] - case.as_of))["timestamp"]
    return sorted((e for e in timed if abs(e["timestamp"] - nearest) <= span),
                  key=lambda e: (e["timestamp"], e.get("key")))


def _ids(e: dict) -> set[str]:
    return set(e.get("by") or []) | set(e.get("targets") or [])


def _image(e: dict) -> str:
    return (e.get("image") or "").replace("/", "\\").rsplit("\\", 1)[-1].lower()


def _parent_image(e: dict) -> str:
    return (e.get("parent_image") or "").replace("/", "\\").rsplit("\\", 1)[-1].lower()


def _cmd(e: dict) -> str:
    return (e.get("command_line") or "").lower()


def _share(e: dict) -> str:
    name = str(e.get("share_name") or raw_field(e, "ShareName") or "")
    return name.replace("/", "\\").rsplit("\\", 1)[-1].upper()


def _hex(v: object) -> int | None:
    if v is None:
        return None
    try:
        s = str(v).strip().lower()
        return int(s, 16) if s.startswith("0x") else int(s)
    except ValueError:
        return None


def _is_account(key: str | None) -> bool:
    if not key:
        return False
    return key.split("@")[0].upper() not in SYSTEM_ACCOUNTS


def _by_actor(case: Case, e: dict) -> bool:
    if not case.actors:
        return not case.actor_absent  # an account the twin lacks did nothing in it
    return bool(_ids(e) & set(case.actors))


def _on(case: Case, e: dict, hosts: list[str]) -> bool:
    return not hosts or e.get("host") in hosts


def _coverage(case: Case, hosts: list[str]) -> bool:
    """Do these hosts (or the actors) report telemetry at all around the alert? Then the
    absence of the alleged activity means something; a host that never reports does not."""
    if any(e.get("host") in hosts for e in case.events) if hosts else bool(case.events):
        return True
    if any((case.ctx(h).get("events_total") or 0) > 0 for h in hosts):
        return True
    if case.actors and any(_ids(e) & set(case.actors) for e in case.events):
        return True
    return bool(hosts) and any(c.get("src") in hosts or c.get("dst") in hosts for c in case.connections)


def _not_seen_or_unverifiable(case: Case, hosts: list[str], what: str) -> Found:
    if _coverage(case, hosts):
        where = ", ".join(hosts[:3]) or "the alert's entities"
        return Found("not_seen", f"the telemetry from {where} around the alert shows no {what}")
    return Found("unverifiable", f"nothing was recorded on {', '.join(hosts[:3]) or 'the alert entities'} around "
                                 f"the alert, so {what} cannot be checked")


def _source_of_logon(e: dict) -> str | None:
    return e.get("from_host")


# ---------------------------------------------------------------------------- families

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


def _ip_like(s: str | None) -> bool:
    return bool(s) and bool(re.match(r"^[0-9a-fA-F:.]+$", s or "")) and any(c.isdigit() for c in s or "")


def _session_events(case: Case, logon: dict) -> list[dict]:
    """What ran in the logon's session after it: same host, its LogonId or its InLogonSession."""
    lid = (logon.get("target_logon_id") or logon.get("logon_id") or "").lower()
    t0 = logon.get("timestamp") or 0
    out = []
    for e in case.events:
        if e is logon or e.get("host") != logon.get("host"):
            continue
        ts = e.get("timestamp") or 0
        if ts < t0 - 2 or ts > t0 + WINDOW_AFTER_LOGON:
            continue
        if e.get("in_session") == logon.get("key") or (lid and lid not in ("0x0", "0x3e7") and lid in {
                (e.get("subject_logon_id") or "").lower(), (e.get("logon_id") or "").lower()}):
            out.append(e)
    return out


def _remote_exec_near(case: Case, logon: dict, window: int = 600) -> list[dict]:
    """Execution a remote-execution service starts right after a network logon: a new
    service, a process whose parent is WMI / WinRM / a remote service host, or a shell
    that the service control manager started (smbexec-style)."""
    t0 = logon.get("timestamp") or 0
    out = []
    for e in case.events:
        ts = e.get("timestamp") or 0
        if e.get("host") != logon.get("host") or not (t0 - 2 <= ts <= t0 + window):
            continue
        if e.get("event_id") in (7045, 4697):
            out.append(e)
            continue
        if "ProcessEvent" not in (e.get("kinds") or []):
            continue
        parent, image = _parent_image(e), _image(e)
        if parent in REMOTE_EXEC_PARENTS and image not in ("wmiprvse.exe", "conhost.exe") \
                or image in REMOTE_EXEC_IMAGES or (parent == "services.exe" and image in SHELLS):
            out.append(e)
    return out


def _lateral(case: Case) -> Found:
    if case.actor_absent and not case.actors:
        return _absent_actor(case, "remote logon")
    techs = {str(t).upper() for t in (case.alert or {}).get("techniques") or []}
    rdp = "T1021.001" in techs or any(w in f"{case.alert.get('rule') or ''} {case.alert.get('title') or ''}".lower()
                                      for w in ("rdp", "remote desktop"))
    targets = case.dst_hosts or [h for h in case.hosts if h not in case.src_hosts] or case.hosts
    logons = [e for e in case.events if e.get("event_id") == 4624 and e.get("logon_type") in (3, 10, 8, 9)
              and (not targets or e.get("host") in targets)
              and (not case.actors or set(e.get("targets") or []) & set(case.actors) or _ids(e) & set(case.actors))
              and _is_account((e.get("targets") or [None])[0] or e.get("target_user"))]
    if not logons:
        return _not_seen_or_unverifiable(case, targets, "network or remote-desktop logon by the account on the target")
    alleged_src = set(case.src_hosts)
    alleged_ip = set(case.src_ips)
    confirmed: list[tuple[dict, list[dict]]] = []
    share_only: list[dict] = []
    for lo in logons:
        if lo.get("logon_type") == 10 and (rdp or not techs):
            confirmed.append((lo, []))
            continue
        sess = _session_events(case, lo)
        shares = [e for e in sess if e.get("event_id") in (5140, 5145)]
        admin = [e for e in shares if ADMIN_SHARE.match(_share(e))]
        execs = [e for e in sess if "ProcessEvent" in (e.get("kinds") or []) or e.get("event_id") in (7045, 4697, 4698)]
        near = _remote_exec_near(case, lo)
        activity = admin + execs + [e for e in near if e not in execs]
        if activity:
            confirmed.append((lo, activity))
        elif shares:
            share_only.extend([lo, *shares])
    if confirmed:
        src_match = [c for c in confirmed if (not alleged_src or c[0].get("from_host") in alleged_src)
                     or (alleged_ip and c[0].get("ip") in alleged_ip)
                     or not (c[0].get("from_host") or c[0].get("ip"))]  # no address: nothing contradicts
        if (alleged_src or alleged_ip) and not src_match:
            actual = sorted({c[0].get("from_host") or c[0].get("ip") or "?" for c in confirmed})
            return Found("contradicted", f"the remote logon came from {', '.join(actual)}, not from "
                         f"{', '.join(sorted(alleged_src | alleged_ip))} as the alert says",
                         [c[0] for c in confirmed])
        use = src_match or confirmed
        near = {e["key"] for e in focus(case, [lo for lo, _ in use])}
        use = [c for c in use if c[0]["key"] in near] or use
        evs = [x for lo, act in use for x in [lo, *act[:4]]]
        actors = sorted({t for lo, _ in use for t in lo.get("targets") or []})
        sources = sorted({lo["from_host"] for lo, _ in use if lo.get("from_host")})
        kinds = sorted({_activity_word(x) for _, act in use for x in act} - {""}) or (["a remote desktop session"])
        return Found("corroborated", f"{', '.join(actors[:2]) or 'the account'} logged on to "
                     f"{', '.join(sorted({lo['host'] for lo, _ in use}))} over the network"
                     f"{' from ' + ', '.join(sources) if sources else ''} and, in that session, "
                     f"{', '.join(kinds)} followed", evs, actors=actors, sources=sources,
                     source_ips=sorted({lo["ip"] for lo, _ in use if lo.get("ip")}),
                     targets=sorted({lo["host"] for lo, _ in use}))
    if share_only:
        shares = sorted({_share(e) for e in share_only if e.get("event_id") in (5140, 5145)})
        return Found("contradicted", f"the network logon only touched {', '.join(shares)} (no admin share, no "
                     "service, no process in that session): ordinary file or named-pipe access, not remote "
                     "execution", share_only[:10])
    return Found("contradicted", "the account logged on over the network, but nothing ran in that logon session "
                 "afterwards: no remote execution", logons[:5])


def _activity_word(e: dict) -> str:
    eid = e.get("event_id")
    if eid in (5140, 5145):
        return f"{_share(e)} share access"
    if eid in (7045, 4697):
        return "a service install"
    if eid in (4698,):
        return "a scheduled task"
    if "ProcessEvent" in (e.get("kinds") or []):
        return f"{_image(e) or 'a process'}"
    return ""


def _exploit(case: Case) -> Found:
    targets = case.dst_hosts or [h for h in case.hosts if not external(h)] or case.hosts
    inbound = [c for c in case.connections if c.get("dst") in targets]
    procs = [e for e in case.events if "ProcessEvent" in (e.get("kinds") or []) and e.get("host") in targets]
    spawned = [e for e in procs if _parent_image(e) in SERVICE_PROCESSES and (
        _image(e) in SHELLS or _image(e) not in SERVICE_PROCESSES)]
    shells = focus(case, [e for e in spawned if _image(e) in SHELLS] or spawned)
    attackers = {m.text for m in case.mentions if m.role == "src_ip" and external(m.text)}
    # the service calling back out (JNDI/LDAP, a class or payload download) is the exploit working
    callbacks = [c for c in case.connections if c.get("src") in targets and external(c.get("dst"))
                 and (not attackers or c.get("dst") in attackers or c.get("dst") == "INTERNET")
                 and int(c.get("bytes") or 0) >= 1000]
    net_cb = [e for e in case.events if e.get("event_id") == 3 and e.get("host") in targets
              and _image(e) in SERVICE_PROCESSES and external(e.get("dst_ip"))]
    exploitable = [(h, s) for h in targets for s in case.ctx(h).get("services") or [] if s.get("exploitable_from")]
    vulnerable = [h for h in targets if (case.ctx(h).get("kev_total") or 0) > 0
                  or any((v.get("base_score") or 0) >= 7 for v in case.ctx(h).get("vulnerabilities") or [])]
    src = sorted({c["src"] for c in inbound})
    peer = sorted(attackers) or [s for s in src if external(s) and s != "INTERNET"]
    notes = {"exploitable": [s["key"] for _, s in exploitable][:3], "connections": inbound[:3],
             "internet": any(external(s) for s in src), "peers": peer}
    if shells or callbacks or net_cb:
        what = (f"the service process spawned {', '.join(sorted({_image(e) for e in shells})[:3])}" if shells else
                f"the host called back out to {', '.join(sorted({c['dst'] for c in callbacks} | {e.get('dst_ip') for e in net_cb})[:3])}")
        claims = [Claim(text=f"{c['src']} connected out to {c['dst']} after the inbound traffic",
                        evidence=[Evidence(edge=[c["src"], "ConnectedTo", c["dst"]])], agent="lead_analyst")
                  for c in callbacks[:2]]
        return Found("corroborated", f"after traffic to {', '.join(targets[:2])}, {what}", (shells + net_cb)[:5],
                     sources=[s for s in src if not external(s)], targets=list(targets), extra=claims, notes=notes)
    if inbound and (procs or _coverage(case, list(targets))):
        why = ("the exploit traffic reached the service, but nothing was spawned by it and it did not call back: an "
               "attempt that did not succeed") if (exploitable or vulnerable) else \
            "the service reached is not vulnerable to what the alert describes, and nothing ran on the host"
        claims = [Claim(text=f"{c['src']} connected to {c['dst']}, and the host reports its processes, none spawned "
                        "by the service", evidence=[Evidence(edge=[c["src"], "ConnectedTo", c["dst"]])],
                        agent="lead_analyst") for c in inbound[:1]]
        status = "attempted" if (exploitable or vulnerable) else "contradicted"
        return Found(status, why, procs[:3], notes=notes, extra=claims, targets=list(targets),
                     sources=[s for s in src if not external(s)])
    if inbound and not (exploitable or vulnerable):
        return Found("contradicted", "traffic reached the host, but none of its services is exploitable from "
                     "there, and no follow-on activity was recorded", [], notes=notes)
    if inbound:
        return Found("unverifiable", "traffic reached a vulnerable service, but no process telemetry from the "
                     "host shows whether it was exploited", [], notes=notes,
                     sources=[s for s in src if not external(s)], targets=list(targets))
    return _not_seen_or_unverifiable(case, targets, "connection to the service")


def _reverse_shell(case: Case) -> Found:
    hosts = case.hosts
    procs = [e for e in case.events if "ProcessEvent" in (e.get("kinds") or []) and _on(case, e, hosts)]
    named = set(case.processes)
    cand = [e for e in procs if (_image(e) in named if named else _image(e) in SHELLS)
            or any(w in _cmd(e) for w in ("/dev/tcp", "tcpclient", " -e /bin", " -e cmd", "nc -e", "socket.socket",
                                            "invoke-powershelltcp", "-nop -w hidden"))]
    nets = [e for e in case.events if e.get("event_id") == 3 and _on(case, e, hosts)
            and (not cand or _image(e) in {_image(c) for c in cand} or e.get("process_guid") in
                 {c.get("process_guid") for c in cand})]
    outbound = [c for c in case.connections if c.get("src") in hosts]
    if cand and (nets or outbound):
        return Found("corroborated", f"{_image(cand[0]) or 'a shell'} ran on {cand[0].get('host')} with an "
                     "outbound connection", cand[:3] + nets[:3], targets=list(hosts),
                     actors=sorted({u for e in cand for u in e.get("by") or []}))
    if cand:
        return Found("corroborated", f"{_image(cand[0])} ran on {cand[0].get('host')} the way a reverse shell "
                     "starts (no network record of it)", cand[:3], targets=list(hosts),
                     actors=sorted({u for e in cand for u in e.get("by") or []}))
    if procs and named:
        return Found("contradicted", f"{', '.join(sorted(named))} never ran on {', '.join(hosts[:2])} around the "
                     "alert (other processes did)", procs[:3])
    return _not_seen_or_unverifiable(case, hosts, "shell with an outbound connection")


_INTERNAL = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                                "127.0.0.0/8", "169.254.0.0/16", "fc00::/7", "fe80::/10")]


def external(key: str | None) -> bool:
    """INTERNET, or a host known only by an address outside the private ranges."""
    if key == "INTERNET":
        return True
    try:
        ip = ipaddress.ip_address(str(key))
    except ValueError:
        return False
    return not any(ip in n for n in _INTERNAL) and not ip.is_multicast


def _outbound(case: Case) -> list[dict]:
    """Flows from the alert's hosts to outside addresses; the per-address flows when the
    twin has them (the Internet node sums the same traffic again)."""
    hosts = case.src_hosts or case.hosts
    out = [c for c in case.connections if (not hosts or c.get("src") in hosts) and external(c.get("dst"))]
    named = [c for c in out if c.get("dst") != "INTERNET"]
    return named or out


def peers(case: Case, found_conns: list[dict] | None = None) -> list[str]:
    """The outside addresses the activity talked to or came from: the alert's, and the flows'."""
    out = [m.text for m in case.mentions if m.role in ("src_ip", "dst_ip") and external(m.text)]
    out += [c["dst"] for c in found_conns or [] if external(c.get("dst")) and c.get("dst") != "INTERNET"]
    out += [c["src"] for c in found_conns or [] if external(c.get("src")) and c.get("src") != "INTERNET"]
    return list(dict.fromkeys(out))


def _c2(case: Case) -> Found:
    out = _outbound(case)
    dst_named = [m.text for m in case.mentions if m.role == "dst_ip" and external(m.text)]
    if dst_named and any(c.get("dst") in dst_named for c in out):
        out = [c for c in out if c.get("dst") in dst_named]
    alleged = case.alleged_count()
    seen = sum(int(c.get("count") or 0) for c in out)
    if alleged and out and seen < alleged * 0.2:
        return Found("contradicted", f"only {seen} connection(s) to {', '.join(sorted({c['dst'] for c in out})[:2])} "
                     f"were observed, not the {alleged} the alert states", [], notes={"connections": out[:3]},
                     extra=[Claim(text=f"{c['src']} connected to {c['dst']} {c.get('count')} time(s)",
                                  evidence=[Evidence(edge=[c["src"], "ConnectedTo", c["dst"]])], agent="lead_analyst")
                            for c in out[:2]])
    heavy = [c for c in out if (c.get("count") or 0) >= 10]
    if heavy:
        c = max(heavy, key=lambda c: c.get("count") or 0)
        agents = [e for e in case.events if e.get("event_id") == 3 and e.get("dst_ip") == c["dst"]]
        return Found("corroborated", f"{c['src']} connected to {c['dst']} {c['count']} times around the alert "
                     "(regular, repeated connections)", agents[:3], sources=[c["src"]],
                     notes={"connections": heavy[:3], "peers": peers(case, heavy)},
                     extra=[Claim(text=f"{c['src']} made {c['count']} connections to {c['dst']}",
                                  evidence=[Evidence(edge=[c["src"], "ConnectedTo", c["dst"]])], agent="lead_analyst")])
    nets = [e for e in case.events if e.get("event_id") in (3, 22) and _on(case, e, case.hosts)]
    if len(nets) >= 10:
        return Found("corroborated", f"{len(nets)} network/DNS events from the host's processes around the alert",
                     nets[:10])
    if out or nets:
        return Found("contradicted", "only a few outbound connections were seen: no regular beaconing",
                     nets[:5], notes={"connections": out[:3]})
    return _not_seen_or_unverifiable(case, case.hosts, "outbound connection")


def _exfil(case: Case) -> Found:
    out = _outbound(case)
    dst_named = [m.text for m in case.mentions if m.role == "dst_ip" and external(m.text)]
    if dst_named and any(c.get("dst") in dst_named for c in out):
        out = [c for c in out if c.get("dst") in dst_named]
    total = sum(int(c.get("bytes_out") if c.get("bytes_out") is not None else c.get("bytes") or 0) for c in out)
    alleged = case.alleged_bytes()
    if out:
        c = max(out, key=lambda c: c.get("bytes") or 0)
        mb = (c.get("bytes") or 0) / 1e6
        claim = Claim(text=f"{c['src']} exchanged {mb:.1f} MB with {c['dst']} around the alert",
                      evidence=[Evidence(edge=[c["src"], "ConnectedTo", c["dst"]])], agent="lead_analyst")
        if alleged and total < alleged * 0.2:
            return Found("contradicted", f"only {total / 1e6:.1f} MB left the host, a fraction of the "
                         f"{alleged / 1e6:.0f} MB the alert states", [], extra=[claim], notes={"connections": out[:3]})
        if not alleged and total < 5_000_000:
            return Found("contradicted", f"only {total / 1e6:.2f} MB left the host: no large transfer happened",
                         [], extra=[claim], notes={"connections": out[:3]})
        return Found("corroborated", f"{c['src']} sent {total / 1e6:.0f} MB to {', '.join(sorted({x['dst'] for x in out})[:3])}",
                     [], sources=[c["src"]], extra=[claim], notes={"connections": out[:3], "bytes": total,
                                                                   "peers": peers(case, out)})
    return _not_seen_or_unverifiable(case, case.src_hosts or case.hosts, "outbound transfer")


def _scan(case: Case) -> Found:
    hosts = case.src_hosts or case.hosts
    out = [c for c in case.connections if c.get("src") in hosts]
    ports = {(c.get("dst"), p) for c in out for p in c.get("ports") or []}
    dsts = {c.get("dst") for c in out}
    if len(ports) >= 20 or len(dsts) >= 10:
        scanned = sorted(d for d in dsts if d and _ip_like(d))  # what was scanned: checked against a documented scope
        return Found("corroborated", f"{', '.join(hosts[:2])} reached {len(ports)} host:port pairs on "
                     f"{len(dsts)} hosts around the alert", [], sources=list(hosts), targets=sorted(d for d in dsts if d)[:10],
                     notes={"peers": scanned[:200]},
                     extra=[Claim(text=f"{c['src']} connected to {c['dst']}",
                                  evidence=[Evidence(edge=[c["src"], "ConnectedTo", c["dst"]])], agent="lead_analyst")
                            for c in out[:3]])
    if out:
        return Found("contradicted", f"{', '.join(hosts[:2])} reached only {len(ports)} port(s) on {len(dsts)} "
                     "host(s): ordinary traffic, not a scan", [], notes={"connections": out[:3]})
    return _not_seen_or_unverifiable(case, hosts, "connections from the host")


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


REMOTE_TOOLS = ("bomgar", "beyondtrust", "teamviewer", "anydesk", "screenconnect", "connectwise", "splashtop",
                "logmein", "vnc", "rustdesk", "atera", "dwagent", "remoteutilities", "rutserv", "ammyy", "jump client")


def _remote_access(case: Case) -> Found:
    procs = [e for e in case.events if "ProcessEvent" in (e.get("kinds") or []) and _on(case, e, case.hosts)]
    spawned = [e for e in procs if any(t in (e.get("parent_image") or "").lower() for t in REMOTE_TOOLS)]
    named = set(case.processes)
    if named:
        spawned = [e for e in spawned if _image(e) in named or _parent_image(e) in named] or spawned
    spawned = focus(case, spawned)
    tool_guids = {e.get("parent_process_guid") for e in spawned}
    nets = [e for e in case.events if e.get("event_id") == 3 and _on(case, e, case.hosts) and (
        any(t in (e.get("image") or "").lower() for t in REMOTE_TOOLS) or e.get("process_guid") in tool_guids)]
    conns = [c for c in case.connections if c.get("src") in case.hosts and external(c.get("dst"))]
    remote = {e.get("dst_ip") for e in nets if e.get("dst_ip")}
    if spawned:
        near = focus(case, nets, span=3600) if nets else []
        peer = sorted({e.get("dst_ip") for e in near if e.get("dst_ip")}) or sorted(remote)
        return Found("corroborated", f"the remote-access tool on {spawned[0].get('host')} started "
                     f"{', '.join(sorted({_image(e) for e in spawned})[:3])}"
                     + (f", talking to {', '.join(peer[:3])}" if peer else ""), spawned[:4] + near[:2],
                     actors=sorted({u for e in spawned for u in e.get("by") or [] if _is_account(u)}),
                     targets=sorted({e["host"] for e in spawned if e.get("host")}),
                     notes={"peers": peer or peers(case, conns), "connections": conns[:3]})
    if procs and named:
        return Found("contradicted", f"{', '.join(sorted(named))} did not run under remote-access software on "
                     f"{', '.join(case.hosts[:2])}", procs[:3])
    return _not_seen_or_unverifiable(case, case.hosts, "process started by remote-access software")


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


BUILTIN_TASK = re.compile(r"^\\?microsoft\\(windows|office|edgeupdate|visualstudio|xblgamesave)\\", re.I)


PERSIST_KIND = {"T1053": {4698, 4702, 106, 140, 200, 201}, "T1543": {7045, 4697, 12, 13, 14, 4657},
                "T1547": {12, 13, 14},
                "T1136": {4720}, "T1546": {19, 20, 21, 12, 13}}
CREATE_IDS = {4698, 106, 7045, 4697, 4720, 19, 20, 21, 12}
_EXE = re.compile(r"(?:[a-z]:|%[a-z]+%)\\[^\s\"'<>|]+?\.(?:exe|dll|ps1|bat|cmd|vbs|js)\b", re.I)
_TASK_CMD = re.compile(r"(?:<|&lt;)Command(?:>|&gt;)(.*?)(?:<|&lt;)/Command(?:>|&gt;)", re.I | re.S)


def task_command(e: dict) -> str:
    """The program a scheduled task or a service runs, from its XML or image path."""
    content = str(raw_field(e, "TaskContent", "TaskContentNew") or "")
    m = _TASK_CMD.search(content)
    if m:
        return m.group(1).strip()
    return str(raw_field(e, "ImagePath", "ServiceFileName") or e.get("image") or "")


def _norm_path(path: str) -> str:
    p = path.strip().strip('"').lower().replace("/", "\\")
    return re.sub(r"^%systemroot%|^%windir%", lambda _: "c:\\windows", p)


def _persistence(case: Case) -> Found:
    techs = {str(t).upper().split(".")[0] for t in (case.alert or {}).get("techniques") or []}
    ids = set().union(*(PERSIST_KIND[t] for t in techs if t in PERSIST_KIND)) or \
        {4698, 4702, 7045, 4697, 4720, 13, 12, 14, 19, 20, 21, 106, 200}
    evs = [e for e in case.events if e.get("event_id") in ids and _on(case, e, case.hosts)]
    if ids & {12, 13, 14}:  # registry writes count when they touch services or autoruns
        evs = [e for e in evs if e.get("event_id") not in (12, 13, 14) or re.search(
            r"\\(services|run|runonce|winlogon|image file execution options)\\",
            str(e.get("target_object") or raw_field(e, "TargetObject") or ""), re.I)]
    if case.processes:
        named = [e for e in evs if any(p in (str(raw_field(e, "ImagePath", "TaskContent", "Details", "ServiceFileName")
                                                   or "") + _cmd(e)).lower() for p in case.processes)]
        evs = named or evs
    evs = focus(case, evs)
    if evs:
        text = case.claim_text().lower()
        claimed_paths = [_norm_path(x) for x in _EXE.findall(case.claim_text())]
        actual = [_norm_path(task_command(e)) for e in evs if task_command(e)]
        modified = any(w in text for w in ("modified", "updated", "changed", "modification"))
        if not modified and any(w in text for w in ("new ", "created", "creation", "registered", "installed")) and \
                not any(e.get("event_id") in CREATE_IDS for e in evs):
            return Found("contradicted", f"{_persist_word(evs[0])} was only updated (event {evs[0].get('event_id')}), "
                         "not created as the alert says", evs[:3])
        for cp in claimed_paths:
            base = cp.rsplit("\\", 1)[-1]
            same = [a for a in actual if a.rsplit("\\", 1)[-1] == base]
            if same and cp not in same:
                return Found("contradicted", f"it runs {same[0]}, not {cp} as the alert says", evs[:3])
        actors = sorted({u for e in evs for u in e.get("by") or []})
        return Found("corroborated", f"{_persist_word(evs[0])} was created on {evs[0].get('host')}", evs[:5],
                     actors=actors, targets=sorted({e["host"] for e in evs if e.get("host")}))
    return _not_seen_or_unverifiable(case, case.hosts, "scheduled task, service, run key or account creation")


def _persist_word(e: dict) -> str:
    eid = e.get("event_id")
    name = e.get("service_name") or raw_field(e, "TaskName", "ServiceName", "TargetObject") or ""
    kind = {4698: "a scheduled task", 4702: "a scheduled-task update", 106: "a scheduled task",
            7045: "a service", 4697: "a service", 4720: "a user account", 13: "a registry autorun value"}.get(eid, "a "
                                                                                                          "persistence item")
    return f"{kind} {name}".strip()


def _credential_dump(case: Case) -> Found:
    hosts = case.hosts
    target = case.cred_target
    evs = [e for e in case.events if _on(case, e, hosts)]
    lsass_access = [e for e in evs if e.get("event_id") == 10 and str(e.get("target_image") or raw_field(
        e, "TargetImage") or "").lower().endswith("lsass.exe")]
    readers = [e for e in lsass_access if (_hex(e.get("granted_access") or raw_field(e, "GrantedAccess")) or 0) & 0x10]
    handle = [e for e in evs if e.get("event_id") in (4656, 4663) and "lsass.exe" in str(
        e.get("object_name") or raw_field(e, "ObjectName") or "").lower() and (
        _hex(e.get("access_mask") or raw_field(e, "AccessMask")) or 0) & 0x10]
    procs = [e for e in evs if "ProcessEvent" in (e.get("kinds") or [])]
    dump_procs = [e for e in procs if any(w in _cmd(e) or w in _image(e) for w in LSASS_DUMP_WORDS)]
    files = [e for e in evs if e.get("event_id") == 11]
    dump_files = [e for e in files if re.search(r"lsass.*\.dmp$|\.dmp$", str(e.get("target_filename") or raw_field(
        e, "TargetFilename") or ""), re.I)]
    hive = [e for e in procs if HIVE_RX.search(e.get("command_line") or "")] + [
        e for e in evs if e.get("event_id") in (4656, 4663, 4661, 11, 12, 13) and HIVE_RX.search(
            str(e.get("object_name") or raw_field(e, "ObjectName", "TargetFilename", "TargetObject") or ""))]
    ntds = [e for e in evs if e.get("event_id") in (4656, 4663) and "ntds.dit" in str(
        e.get("object_name") or raw_field(e, "ObjectName") or "").lower()] + [
        e for e in procs if NTDS_RX.search(e.get("command_line") or "")] + [
        e for e in files if "ntds.dit" in str(e.get("target_filename") or raw_field(e, "TargetFilename") or "").lower()
        and "\\windows\\ntds\\" not in str(e.get("target_filename") or "").lower()]
    groups = {"lsass": readers + handle + dump_procs + dump_files, "hives": hive, "ntds": ntds}
    hit = groups.get(target) if target != "any" else (groups["lsass"] + groups["hives"] + groups["ntds"])
    if not hit and target != "any":
        hit = [e for k, v in groups.items() if k != target for e in v]
    if hit:
        hit = focus(case, hit)
        actors = sorted({u for e in hit for u in e.get("by") or [] if _is_account(u)})
        what = "LSASS memory was read" if hit[0] in groups["lsass"] else (
            "the SAM/SECURITY/SYSTEM hives were saved" if hit[0] in groups["hives"] else "the NTDS.dit database was copied")
        return Found("corroborated", f"{what} on {hit[0].get('host')}"
                     f"{' by ' + ', '.join(actors[:2]) if actors else ''}", hit[:6], actors=actors,
                     targets=sorted({e["host"] for e in hit if e.get("host")}))
    if lsass_access:
        return Found("contradicted", "LSASS was opened only with query rights (no PROCESS_VM_READ): its memory "
                     "could not be read", lsass_access[:3])
    named = set(case.processes)
    if named and procs and not any(_image(e) in named for e in procs):
        return Found("contradicted", f"{', '.join(sorted(named))} never ran on {', '.join(hosts[:2])} around the "
                     "alert (other processes did)", procs[:3])
    return _not_seen_or_unverifiable(case, hosts, "credential access (LSASS read, hive save, NTDS copy)")


def _absent_actor(case: Case, what: str) -> Found:
    named = ", ".join(m.text for m in case.mentions if m.role == "user")
    others = [e for e in case.events if e.get("event_id") in (4624, 4625)][:5]
    return Found("contradicted" if others else "not_seen",
                 f"the alert's account {named} does not exist in the twin, so no {what} by it happened"
                 + (" (the logons recorded there are other accounts')" if others else ""), others)


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


def _execution(case: Case) -> Found:
    hosts = case.hosts
    procs = [e for e in case.events if "ProcessEvent" in (e.get("kinds") or []) and _on(case, e, hosts)]
    named = set(case.processes)
    cmds = [c.lower() for c in case.command_lines if len(c) > 6]
    if named or cmds:
        acted = [e for e in case.events if _on(case, e, hosts) and e not in procs and _image(e) in named]
        hit = focus(case, [e for e in procs if _image(e) in named or any(c[:60] in _cmd(e) for c in cmds)] + acted)
        if hit:
            actors = sorted({u for e in hit for u in e.get("by") or [] if _is_account(u)})
            return Found("corroborated", f"{_image(hit[0])} ran on {hit[0].get('host')}"
                         f"{' as ' + ', '.join(actors[:2]) if actors else ''}", hit[:5], actors=actors,
                         targets=sorted({e["host"] for e in hit if e.get("host")}))
        if procs:
            return Found("contradicted", f"{', '.join(sorted(named)) or 'the command'} never ran on "
                         f"{', '.join(hosts[:2])} around the alert (other processes did)", procs[:3])
        return _not_seen_or_unverifiable(case, hosts, "process creation")
    mine = [e for e in procs if _by_actor(case, e)]
    if mine:
        return Found("corroborated", f"processes ran on {mine[0].get('host')} around the alert", mine[:5],
                     actors=sorted({u for e in mine for u in e.get("by") or [] if _is_account(u)}))
    return _not_seen_or_unverifiable(case, hosts, "process creation")


def _generic(case: Case) -> Found:
    if case.processes or case.command_lines:
        return _execution(case)
    evs = [e for e in case.events if (not case.actors or _ids(e) & set(case.actors)) and _on(case, e, case.hosts)]
    if evs:
        return Found("corroborated", "the alert's entities were active as it says", evs[:5],
                     actors=sorted({u for e in evs for u in e.get("by") or [] if _is_account(u)}))
    return _not_seen_or_unverifiable(case, case.hosts, "activity by the alert's entities")


CHECKS: dict[str, Callable[[Case], Found]] = {
    "dcsync": _dcsync, "credential_dump": _credential_dump, "kerberoast": _kerberoast, "asrep": _asrep,
    "spray": _spray, "lateral": _lateral, "exploit": _exploit, "reverse_shell": _reverse_shell, "c2": _c2,
    "exfil": _exfil, "scan": _scan, "remote_access": _remote_access, "credential_use": _credential_use, "acl_abuse": _acl, "password_reset": _password_reset,
    "persistence": _persistence, "logon": _logon, "execution": _execution, "generic": _generic,
}


def _stale_source(case: Case) -> Found | None:
    """The alert's source host and source address disagree at the alert's time: the name
    was taken from a mapping that no longer held (the address belonged to another host)."""
    by_role: dict[str, set[str]] = {}
    for m in case.mentions:
        if m.resolved:
            by_role.setdefault(m.role, set()).add(m.resolved)
    names, ips = by_role.get("src_host", set()), by_role.get("src_ip", set())
    ips = {k for k in ips if not _ip_like(k)}  # a bare address: no host held it, nothing to contradict
    if names and ips and not names & ips:
        ip_txt = ", ".join(m.text for m in case.mentions if m.role == "src_ip")
        return Found("contradicted", f"at the alert's time {ip_txt} belonged to {', '.join(sorted(ips))}, not to "
                     f"{', '.join(sorted(names))} as the alert says: the activity is attributed to the wrong host",
                     [], sources=sorted(ips), notes={"misattributed": sorted(names)},
                     extra=[Claim(text=f"{ip_txt} was leased to {h} at the alert's time",
                                  evidence=[Evidence(node=h)], agent="lead_analyst") for h in sorted(ips)])
    return None


def happened(case: Case) -> tuple[Answer, Found]:
    if case.named and not case.actors and not case.hosts:
        f = Found("absent", f"the twin has none of the hosts or users the alert names ({', '.join(case.absent[:5])})")
        claims = [Claim(text=f"{a} does not exist in the twin", evidence=[Evidence(absent=a)], agent="lead_analyst",
                        decisive=True) for a in case.absent[:5]]
        return Answer(question="happened", status="absent", summary=f.summary, claims=claims), f
    found = _stale_source(case) or CHECKS[case.family.name](case)
    claims: list[Claim] = []
    if found.events:
        claims.append(Claim(text=found.summary, evidence=[Evidence(node=e["key"]) for e in found.events[:6]],
                            agent="lead_analyst", decisive=True))
    claims.extend(c.model_copy(update={"decisive": True}) for c in found.extra)
    if not claims and found.status in ("not_seen", "unverifiable"):
        ev = [Evidence(node=k) for k in (case.actors + case.hosts)[:3]]
        if ev:
            claims.append(Claim(text=f"{', '.join(k for k in (case.actors + case.hosts)[:3])} exist; {found.summary}",
                                evidence=ev, agent="lead_analyst", decisive=True))
    for a in case.absent[:3]:
        claims.append(Claim(text=f"{a} (named by the alert) does not exist in the twin", evidence=[Evidence(absent=a)],
                            agent="lead_analyst"))
    details = {"events": [e["key"] for e in found.events[:20]], "actors": found.actors, "sources": found.sources,
               "source_ips": found.source_ips, "targets": found.targets, **{k: v for k, v in found.notes.items()
                                                                            if k in ("success", "exploitable", "bytes",
                                                                                     "peers")}}
    return Answer(question="happened", status=found.status, summary=found.summary, claims=claims,
                  details=details), found
