"""Checks for the families seen on the wire or across hosts: lateral movement (a logon and what ran
in its session), C2 beacons, exfiltration, scans and remote-access tools, and `peers` (the outside
ends of the alert's connections)."""

from __future__ import annotations

from agents.models import Claim, Evidence
from agents.reasoning.case import Case
from agents.reasoning.happened.base import (
    ADMIN_SHARE,
    REMOTE_EXEC_IMAGES,
    REMOTE_EXEC_PARENTS,
    SHELLS,
    WINDOW_AFTER_LOGON,
    Found,
    _absent_actor,
    _activity_word,
    _ids,
    _image,
    _ip_like,
    _is_account,
    _not_seen_or_unverifiable,
    _on,
    _parent_image,
    _share,
    external,
    focus,
)


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
