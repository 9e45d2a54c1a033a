"""Checks for the families seen on one host: exploitation of a service, reverse shells, persistence
(tasks, services, run keys), credential dumping (LSASS, hives, NTDS), execution, and the generic
fallback. Each reads the host's process, file and registry events."""

from __future__ import annotations

import re

from agents.models import Claim, Evidence
from agents.reasoning.case import Case, raw_field
from agents.reasoning.happened.base import (
    HIVE_RX,
    LSASS_DUMP_WORDS,
    NTDS_RX,
    SERVICE_PROCESSES,
    SHELLS,
    Found,
    _by_actor,
    _cmd,
    _coverage,
    _hex,
    _ids,
    _image,
    _is_account,
    _not_seen_or_unverifiable,
    _on,
    _parent_image,
    external,
    focus,
)


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
