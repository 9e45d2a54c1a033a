"""Question 2: is the activity expected here?

Authorisation is evidence in the twin, and it must fit the act on all four counts —
who (this account), from where (this source host), what (this kind of action, on this
target) and when (inside any documented window):

- structure: a domain controller replicating; an administrator of the target acting
  from an administration host; Windows' and known agents' own maintenance run by
  SYSTEM from their install paths;
- documentation: roles written on the account, its groups, the source or the target
  (descriptions, inventory tags, owners), with the hosts, accounts and time windows they
  name (agents/reasoning/roles.py);
- history: the same account doing the same thing from the same place on earlier days
  (routine), for families where routine is a meaningful defence.

A mismatch on any count (the backup account outside its window, the scanner account
from a workstation, helpdesk on a tier-0 account) means not authorised, and the answer
says which count failed. Free text with instruction-like phrases documents nothing.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from agents.models import Answer, Claim, Evidence
from agents.reasoning.case import ADMIN_EDGES, SYSTEM_ACCOUNTS, Case, raw_field
from agents.reasoning.directory import tier0_object, tier0_sid
from agents.reasoning.families import KEYWORDS
from agents.reasoning.happened import BUILTIN_TASK, Found, external, task_command
from agents.reasoning.roles import DocFact, Window, facts_for

VICTIM_FAMILIES = {"spray", "asrep", "scan", "exploit"}
# Addresses of the cloud platforms themselves (Azure WireServer, the instance metadata service).
CLOUD_ENDPOINTS = {"168.63.129.16": "Azure WireServer", "169.254.169.254": "instance metadata service",
                   "169.254.169.123": "AWS time service", "fd00:ec2::254": "instance metadata service"}
PEER_FAMILIES = {"exploit", "scan", "c2", "exfil", "remote_access"}
CONTROL_EDGES = ("GenericAll", "GenericWrite", "WriteDacl", "WriteOwner", "Owns", "ForceChangePassword",
                 "AllExtendedRights", "AddMember", "AddSelf", "WriteProperty")
# Known agents and Windows' own servicing: image basename -> the role it plays.
KNOWN_AGENTS: dict[str, str] = {
    "ccmexec.exe": "deployment", "ccmsetup.exe": "deployment", "ccmeval.exe": "deployment",
    "puppet.exe": "deployment", "puppet": "deployment", "chef-client": "deployment", "chef-client.exe": "deployment",
    "salt-minion.exe": "deployment", "salt-minion": "deployment", "salt-call": "deployment",
    "tiworker.exe": "deployment", "trustedinstaller.exe": "deployment", "wuauclt.exe": "deployment",
    "usoclient.exe": "deployment", "musnotification.exe": "deployment", "msiexec.exe": "deployment",
    "gpupdate.exe": "deployment", "mousocoreworker.exe": "deployment", "sihclient.exe": "deployment",
    "windowsazureguestagent.exe": "security_agent", "waappagent.exe": "security_agent", "waagent": "security_agent",
    "networkwatcheragent.exe": "security_agent", "collectguestlogs.exe": "security_agent",
    "mmaextensionheartbeatservice.exe": "monitoring",
    "amazon-ssm-agent.exe": "security_agent", "ssm-agent-worker.exe": "security_agent",
    "ssm-document-worker.exe": "security_agent", "googleguestagent.exe": "security_agent",
    "ec2config.exe": "security_agent", "ec2launch.exe": "security_agent",
    "msmpeng.exe": "security_agent", "mssense.exe": "security_agent", "senseir.exe": "security_agent",
    "sensendr.exe": "security_agent", "mpcmdrun.exe": "security_agent", "csfalconservice.exe": "security_agent",
    "sentinelagent.exe": "security_agent", "cb.exe": "security_agent", "repmgr.exe": "security_agent",
    "healthservice.exe": "monitoring", "monitoringhost.exe": "monitoring", "splunkd.exe": "monitoring",
    "splunk-winevtlog.exe": "monitoring", "zabbix_agentd.exe": "monitoring", "nxlog.exe": "monitoring",
    "winlogbeat.exe": "monitoring", "osqueryd.exe": "monitoring", "sysmon.exe": "monitoring",
    "sysmon64.exe": "monitoring", "compattelrunner.exe": "deployment", "taskhostw.exe": "deployment",
    "sdiagnhost.exe": "deployment", "wmiadap.exe": "monitoring",
}
# What a program does by itself: tasks and services it registers, registry and file writes,
# handles it opens (Sysmon 11-14/23/10, object access 4656-4663).
MAINTENANCE_IDS = {4698, 4702, 106, 200, 7045, 4697, 11, 12, 13, 14, 23, 10, 4656, 4657, 4658, 4660, 4663, 4690,
                   3, 5156, 5158}
# Shells and dual-use binaries: Windows ships them, but running them is someone's intent.
INTERACTIVE_TOOLS = {"cmd.exe", "powershell.exe", "pwsh.exe", "rundll32.exe", "mshta.exe", "wscript.exe",
                     "cscript.exe", "regsvr32.exe", "certutil.exe", "bitsadmin.exe", "net.exe", "net1.exe",
                     "whoami.exe", "nltest.exe", "reg.exe", "sc.exe", "schtasks.exe", "wmic.exe", "ntdsutil.exe",
                     "vssadmin.exe", "esentutl.exe", "procdump.exe", "procdump64.exe", "nslookup.exe", "quser.exe"}
SUSPICIOUS_CMD = re.compile(r"(-enc(odedcommand)?\s|frombase64string|downloadstring|downloadfile|invoke-expression|"
                            r"\biex\b|bypass|hidden|\\temp\\|\\appdata\\|\\users\\public\\|lsass|sekurlsa|mimikatz|"
                            r"comsvcs|procdump|/dev/tcp|nc(\.exe)?\s+-e|certutil.*-urlcache|bitsadmin.*transfer|"
                            r"mshta|regsvr32.*/i:http|rundll32.*javascript)", re.I)
SYSTEM_PATHS = re.compile(r"^[a-z]:\\(windows\\(system32|syswow64|servicing|ccm|winsxs)|program files( \(x86\))?|"
                          r"packages\\plugins|windowsazure)\\", re.I)


@dataclass
class Check:
    """One dimension of an authorisation."""

    ok: bool | None  # True match, False mismatch, None not documented
    why: str


@dataclass
class Grant:
    """A candidate authorisation and how it fares on who / where / what / when."""

    kind: str                       # structure | documentation | admin | routine
    summary: str
    who: Check
    where: Check
    what: Check
    when: Check
    claims: list[Claim] = field(default_factory=list)
    peer: Check = field(default_factory=lambda: Check(None, "no outside address involved"))

    def holds(self, needs_where: bool) -> bool:
        checks = [self.who, self.what, self.when, self.peer] + [self.where]
        if any(c.ok is False for c in checks):
            return False
        if self.who.ok is not True or self.what.ok is not True:
            return False
        return not (needs_where and self.where.ok is not True)

    def mismatch(self) -> str | None:
        for name, c in (("who", self.who), ("from where", self.where), ("what", self.what), ("when", self.when),
                         ("with whom", self.peer)):
            if c.ok is False:
                return f"{name}: {c.why}"
        return None


def _claim(text: str, *ev: Evidence) -> Claim:
    return Claim(text=text, evidence=list(ev), agent="lead_analyst", decisive=True)


def _member_evidence(case: Case, actor: str, group: str) -> Evidence:
    direct = any(g.get("key") == group and g.get("depth") == 1 for g in case.ctx(actor).get("member_of") or [])
    return Evidence(edge=[actor, "MemberOf", group]) if direct else Evidence(node=group)


def _fmt_time(ts: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%a %H:%M UTC")


def _when(facts: list[DocFact], ts: int | None) -> Check:
    windows: list[Window] = [w for f in facts for w in f.windows]
    periodic = {p for f in facts for p in f.periodic}
    if ts is None:
        return Check(None, "the activity's time is unknown")
    if windows:
        for w in windows:
            if w.contains(ts):
                return Check(True, f"{_fmt_time(ts)} is inside the documented window {w.text}")
        return Check(False, f"it happened {_fmt_time(ts)}, outside the documented window "
                            f"{', '.join(w.text for w in windows[:2])}")
    if periodic & {"nightly", "every night", "each night"}:
        minute = (ts % 86400) // 60
        if minute >= 18 * 60 or minute <= 7 * 60:
            return Check(True, f"{_fmt_time(ts)} is at night, as documented (nightly)")
        return Check(False, f"it happened {_fmt_time(ts)}, in the day, though documented as nightly")
    return Check(None, "no time window is documented")


# ----------------------------------------------------------------------------- grants

def _structure(case: Case, found: Found, who: list[str], srcs: list[str], ts: int | None) -> list[Grant]:
    out: list[Grant] = []
    fam = case.family.name
    if fam == "dcsync" and who and all(case.is_dc(a) for a in who):
        src_ok = not srcs or all(case.is_dc(s) for s in srcs)
        out.append(Grant("structure", f"{', '.join(who)} {'is a domain controller' if len(who) == 1 else 'are domain controllers'}:"
                         " replication between domain controllers is how the directory works",
                         Check(True, "the account is a domain controller's machine account"),
                         Check(src_ok, "the request came from a domain controller" if src_ok else
                               f"the request came from {', '.join(srcs)}, which is no domain controller"),
                         Check(True, "directory replication"), Check(None, "always"),
                         [_claim(f"{a} is a domain controller", Evidence(node=case.host_of_account(a) or a)) for a in who]))
    peers = list(found.notes.get("peers") or [])
    if fam in ("c2", "remote_access", "exfil", "generic") and peers and all(p in CLOUD_ENDPOINTS for p in peers):
        what = ", ".join(sorted({CLOUD_ENDPOINTS[p] for p in peers}))
        out.append(Grant("structure", f"the traffic goes to the cloud platform's own endpoint ({what}), which every "
                         "VM's guest agent talks to on a fixed schedule", Check(True, "the host's own agent"),
                         Check(True, "from the VM itself"), Check(True, what), Check(None, "always"),
                         [_claim(f"{p} is the cloud platform's {CLOUD_ENDPOINTS[p]}", *[Evidence(node=k) for k in
                                                                                   found.sources[:1]]) for p in peers[:1]
                          if found.sources]))
    if fam in ("persistence", "execution", "lateral", "c2", "logon", "generic", "credential_dump"):
        g = _known_maintenance(case, found)
        if g:
            out.append(g)
    if fam in ("logon", "lateral", "generic") and who and all(case.is_machine(a) for a in who):
        tgt = found.targets or case.dst_hosts or case.hosts
        if tgt and all(case.is_dc(t) or "Computer" in case.labels(t) for t in tgt):
            own = {case.host_of_account(a) or a for a in who}
            where = Check(True, "from the machine itself") if not srcs or set(srcs) <= own else Check(
                False, f"the machine account was used from {', '.join(sorted(set(srcs) - own))}, not from its own host")
            out.append(Grant("structure", f"{', '.join(who)} is a computer account: computers log on to domain "
                             "controllers and servers for policy, Kerberos and file access on their own",
                             Check(True, "a machine account"), where,
                             Check(fam != "lateral" or not found.events or all(
                                 "ProcessEvent" not in (e.get("kinds") or []) for e in found.events),
                                   "a network logon without remote execution"), Check(None, "always"),
                             [_claim(f"{a} is a computer account", Evidence(node=case.host_of_account(a) or a))
                              for a in who if case.host_of_account(a) or a in case.context]))
    return out


def _known_maintenance(case: Case, found: Found) -> Grant | None:
    """Windows' and known agents' own work: run by SYSTEM (or a machine account) from the
    agent's install path, without anything an attacker adds (encoded or download commands,
    temp paths, LSASS)."""
    evs = [e for e in found.events if "ProcessEvent" in (e.get("kinds") or []) or e.get("event_id") in MAINTENANCE_IDS]
    if len(evs) < len(found.events) and any(e.get("event_id") in (4624, 4625, 4648, 4768, 4769) for e in found.events):
        return None  # someone's logon is part of it: that is a session's work, not the system's
    if not evs:
        return None
    roles: set[str] = set()
    for e in evs:
        actor_names = {str(u).split("@")[0].upper() for u in e.get("by") or []} | {
            str(e.get("subject_user") or "").split("\\")[-1].upper()}
        system = bool(actor_names & SYSTEM_ACCOUNTS) or any(n.endswith("$") for n in actor_names if n)
        unnamed = not any(actor_names) and e.get("event_id") in MAINTENANCE_IDS
        if not (system or unnamed):
            return None
        image = str(e.get("image") or task_command(e) or "")
        image = re.sub(r"^%(systemroot|windir)%", lambda _: "C:\\Windows", image.strip().strip('"'), flags=re.I)
        image = re.sub(r"^\\device\\harddiskvolume\d+\\", lambda _: "C:\\", image, flags=re.I)  # WFP's path form
        task = str(raw_field(e, "TaskName") or "")
        written = str(raw_field(e, "Details") or "")  # a registry value being set
        content = f"{e.get('command_line') or ''} {raw_field(e, 'TaskContent', 'ImagePath', 'ServiceFileName') or ''} " \
                  f"{written}"
        if SUSPICIOUS_CMD.search(content) or SUSPICIOUS_CMD.search(image):
            return None
        if any(re.search(r"(?<![a-z0-9])" + re.escape(t) + r"\b", written, re.I) for t in INTERACTIVE_TOOLS):
            return None  # a service or autorun pointed at a shell is someone's doing, not Windows'
        base = image.replace("/", "\\").rsplit("\\", 1)[-1].lower()
        parent = str(e.get("parent_image") or "").replace("/", "\\").rsplit("\\", 1)[-1].lower()
        if task and BUILTIN_TASK.match(task):
            roles.add("windows")
        elif (base in KNOWN_AGENTS and (not image or SYSTEM_PATHS.match(image))) or (
                parent in KNOWN_AGENTS and SYSTEM_PATHS.match(str(e.get("parent_image") or "").strip('"'))):
            # a known agent's name counts from its install path only: the same name in
            # ProgramData or a profile is a masquerade
            roles.add(KNOWN_AGENTS.get(base) or KNOWN_AGENTS[parent])
        elif image and SYSTEM_PATHS.match(image.strip('"')) and e.get("event_id") not in (7045, 4697) \
                and base not in INTERACTIVE_TOOLS and (not parent or SYSTEM_PATHS.match(
                    str(e.get("parent_image") or "").strip('"'))):
            roles.add("windows")
        else:
            return None
    if case.family.name == "credential_dump":
        return None
    what = ", ".join(sorted(roles))
    return Grant("structure", f"the activity is the system's own maintenance ({what}), run by SYSTEM from its "
                 "install path with nothing an attacker adds", Check(True, "SYSTEM or a machine account"),
                 Check(True, "on the host itself"), Check(True, f"{what} work"), Check(None, "as scheduled"),
                 [_claim("the process ran as SYSTEM from the system's or a known agent's install path",
                         *[Evidence(node=e["key"]) for e in evs[:3]])])


def _documentation(case: Case, who: list[str], srcs: list[str], targets: list[str], ts: int | None,
                   found: Found) -> tuple[list[Grant], list[str]]:
    fam = case.family
    keys = list(dict.fromkeys([*who, *srcs, *targets]))
    names = case.names()
    facts: list[DocFact] = []
    flagged: list[str] = []
    for k in keys:
        f, bad = facts_for(k, case.ctx(k), names)
        facts.extend(f)
        flagged.extend(bad)
    # a change record: names this account, describes this kind of activity, with a ticket or a window
    for f in facts:
        if (f.tickets or f.windows) and (f.accounts & set(who) or f.source in who) and _describes(f.text, fam.name):
            f.roles.add("change")
    relevant = [f for f in facts if f.roles & (fam.roles | {"change"})]
    peers = list(found.notes.get("peers") or [])
    out: list[Grant] = []
    # Group the documentation by role: a role is granted when its facts, together, place
    # this account, this source and this time.
    for role in sorted({r for f in relevant for r in f.roles & (fam.roles | {"change"})}):
        rf = [f for f in relevant if role in f.roles]
        on_actor = [f for f in rf if f.source in who or f.accounts & set(who)
                    or (f.field == "group" and any(f.source in case.groups(a) for a in who))]
        on_source = [f for f in rf if f.source in srcs or f.hosts & set(srcs)]
        on_target = [f for f in rf if f.source in targets and f not in on_actor and f not in on_source]
        # documentation on the target that names this client (account, host or address) places who
        names_client = [f for f in on_target if f.accounts & set(who) or f.hosts & set(srcs)
                        or (peers and f.networks and all(_in_nets(p, f.networks) for p in peers))]
        # who
        if on_actor:
            who_c = Check(True, f"{', '.join(who)} is documented as {role} ({on_actor[0].source}: "
                                f"{on_actor[0].text[:80]})")
        elif names_client:
            who_c = Check(True, f"{names_client[0].source} documents this client for {role} "
                                f"({names_client[0].text[:80]})")
        elif on_source and not any(case.is_privileged(a) for a in who):
            who_c = Check(True, f"the {role} role is documented on the source host {on_source[0].source}")
        elif any(f.accounts for f in rf):
            named = sorted({a for f in rf for a in f.accounts})
            who_c = Check(False, f"the {role} documentation names {', '.join(named[:3])}, not {', '.join(who) or '?'}")
        else:
            who_c = Check(None, f"the {role} role is not documented for {', '.join(who) or 'the account'}")
        # where: every host it came from must be a documented one
        allowed = {h for f in rf for h in f.hosts} - set(targets)
        src_role = [f for f in rf if f.source in srcs]
        named_srcs = [x for x in srcs if not _ip_key(x)] or srcs
        if not srcs:
            where_c = Check(None, "the source host is not known")
        elif (src_role and all(any(f.source == x for f in src_role) or x in allowed for x in named_srcs)) or (
                allowed and set(named_srcs) <= allowed):
            where_c = Check(True, f"it came from {', '.join(named_srcs)}, the documented {role} host")
        elif allowed or src_role:
            other = [x for x in named_srcs if x not in allowed and not any(f.source == x for f in src_role)]
            where_c = Check(False, f"it came from {', '.join(other or named_srcs)}, not from "
                                   f"{', '.join(sorted(allowed | {f.source for f in src_role})[:3])} as documented for {role}")
        elif on_actor and not on_source and fam.needs_where:
            where_c = Check(False, f"it came from {', '.join(srcs)}, which is not documented as a {role} host")
        else:
            where_c = Check(None, "no host is documented for it")
        # what (scope)
        what_c = _scope(case, role, who, targets, found)
        when_c = _when(rf, ts)
        nets = [n for f in rf for n in f.networks]
        if fam.name in PEER_FAMILIES and nets and peers:
            outside = [x for x in peers if not _in_nets(x, nets)]
            peer_c = Check(not outside, f"it talked to {', '.join(outside)}, not the documented "
                                        f"{', '.join(str(n) for n in nets[:3])}" if outside else
                           f"{', '.join(peers[:3])} is the documented counterpart")
        else:
            peer_c = Check(None, "no counterpart address documented")
        if fam.name in PEER_FAMILIES and peer_c.ok is not None and not [x for x in srcs if not external(x)]:
            where_c = Check(peer_c.ok, peer_c.why)  # from outside: where is the address
        claims = [_claim(f"{f.source} documents the {role} role ({f.field}: {f.text[:100]})",
                         _member_evidence(case, who[0], f.source) if f.field == "group" and who else
                         Evidence(node=_node_of(case, f.source)))
                  for f in (on_actor + on_source + on_target)[:3] if _node_of(case, f.source)]
        out.append(Grant("documentation", f"documented {role} activity", who_c, where_c, what_c, when_c, claims,
                         peer_c))
    return out, flagged


def _in_nets(addr: str, nets: list) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in n for n in nets)


def _describes(text: str, family: str) -> bool:
    low = f" {text.lower()} "
    return any(fam == family and word in low for word, fam in KEYWORDS)


def _node_of(case: Case, source: str) -> str | None:
    if source in case.context:
        return source
    for c in case.context.values():
        for g in c.get("member_of") or []:
            if g.get("key") == source:
                return source
    return None


SENSITIVE_ATTRIBUTES = {"ntsecuritydescriptor", "msds-keycredentiallink", "serviceprincipalname",
                        "msds-allowedtoactonbehalfofotheridentity", "sidhistory", "scriptpath", "gplink",
                        "msds-allowedtodelegateto", "gpcfilesyspath"}
# Which sensitive attributes a role writes as part of its job (Entra Connect writes back
# Windows Hello keys); a helpdesk or identity tool writes none of them.
ROLE_SENSITIVE = {"sync": {"msds-keycredentiallink"}, "change": SENSITIVE_ATTRIBUTES}


def _scope(case: Case, role: str, who: list[str], targets: list[str], found: Found | None = None) -> Check:
    fam = case.family.name
    touched = {c["attribute"] for c in (found.notes.get("changes") or [])} if found is not None else set()
    beyond = (touched & SENSITIVE_ATTRIBUTES) - ROLE_SENSITIVE.get(role, set())
    if fam == "acl_abuse" and beyond:
        return Check(False, f"writing {', '.join(sorted(beyond))} is not part of a {role} role")
    if fam in ("password_reset", "acl_abuse") and role in ("helpdesk", "identity"):
        users = [t for t in targets if "User" in case.labels(t)]
        priv = [t for t in users if case.is_admin_account(t)]
        if priv and not any(case.is_tier0(a) for a in who):
            return Check(False, f"{', '.join(priv[:2])} is an administrator account, outside a {role} role")
    if fam == "credential_dump" and role == "backup" and case.cred_target == "lsass":
        return Check(False, "backup software reads files and hives, not LSASS memory")
    return Check(True, f"{case.family.title} is part of the {role} role")


def _admin(case: Case, who: list[str], srcs: list[str], targets: list[str], ts: int | None) -> list[Grant]:
    fam = case.family
    if not fam.admin_work or not who:
        return []
    out: list[Grant] = []
    directory = fam.name in ("acl_abuse", "password_reset")
    for a in who:
        ev: list[Evidence] = []
        held = []
        for t in targets:
            rs = case.rights(a, t, CONTROL_EDGES if directory else ADMIN_EDGES)
            if rs:
                held.append(t)
                r = rs[0]
                if r.get("via"):
                    ev += [_member_evidence(case, a, r["via"]), Evidence(edge=[r["via"], r["edge"], t])]
                else:
                    ev.append(Evidence(edge=[a, r["edge"], t]))
        tier0 = case.is_tier0(a)
        if directory and not tier0:
            continue  # an ACL that lets a non-administrator do it is the finding, not a licence
        if not held and not (directory and tier0):
            continue
        if directory and tier0 and not held:
            tier0_group = next((g.get("key") for g in case.ctx(a).get("member_of") or [] if g.get("tier0")), None)
            ev.append(_member_evidence(case, a, tier0_group) if tier0_group else Evidence(node=a))
        src_facts: list[DocFact] = []
        names = case.names()
        for s in srcs:
            if _ip_key(s):
                continue  # a bare address in an admin subnet is no known administration host
            src_facts += [f for f in facts_for(s, case.ctx(s), names)[0] if "admin_host" in f.roles]
        tier_gap = _tier_gap(case, a, targets, src_facts)
        if srcs and src_facts and tier_gap:
            where = Check(False, tier_gap)
        elif srcs and src_facts:
            where = Check(True, f"{', '.join(srcs)} is an administration host ({src_facts[0].text[:60]})")
        elif srcs and (case.is_dc(srcs[0]) and directory):
            where = Check(True, f"{srcs[0]} is a domain controller")
        elif srcs and (fam.needs_where or not directory):
            where = Check(False, f"it came from {', '.join(srcs)}, which is no documented administration host")
        elif srcs:
            where = Check(None, f"{', '.join(srcs)} is not documented as an administration host")
        else:
            where = Check(None, "the source host is not known")
        actor_facts = facts_for(a, case.ctx(a), names)[0]
        what = Check(True, f"{a} holds administrative rights over {', '.join(held or targets)}" + (
            " (tier-0 administrator)" if tier0 else ""))
        if directory and not tier0:
            priv = [t for t in targets if case.is_privileged(t)]
            if priv:
                what = Check(False, f"{', '.join(priv[:2])} is a tier-0 account: only tier-0 administrators manage it")
        claims = [_claim(f"{a} is entitled to administer {', '.join(held or targets)}", *ev)] if ev else []
        if src_facts and where.ok:
            claims.append(_claim(f"{srcs[0]} is an administration host", Evidence(node=srcs[0])))
        out.append(Grant("admin", f"{a} administering {', '.join(held or targets)}", Check(True, f"{a} holds the rights"),
                         where, what, _when(actor_facts + src_facts, ts), claims))
    return out


_TIER = re.compile(r"(?<![a-z0-9])(?:tier|t)[ -_]?([0-2])(?![0-9])", re.I)


def _ip_key(key: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-fA-F:.]+", key or "")) and any(c.isdigit() for c in key)


def _tiers(texts: list[str]) -> set[int]:
    return {int(m.group(1)) for t in texts for m in _TIER.finditer(t)}


def _tier_gap(case: Case, actor: str, targets: list[str], src_facts: list[DocFact]) -> str | None:
    """Tiering: a tier-0 account, or work on a tier-0 system, from an administration host
    documented for a lower tier (a tier-1 jump host) breaks the model that keeps tier-0
    credentials off lower-tier machines."""
    host_tiers = _tiers([f.text for f in src_facts])
    if not host_tiers or 0 in host_tiers:
        return None
    t0 = case.is_tier0(actor) or any(case.is_tier0(t) or case.is_dc(t) for t in targets)
    if t0:
        return (f"{src_facts[0].source} is documented as a tier-{min(host_tiers)} administration host, "
                "but the account or the target is tier 0")
    return None


def _routine(case: Case, who: list[str], srcs: list[str], ts: int | None) -> Grant | None:
    h = case.history or {}
    days = h.get("days") or []
    if len(days) < 3 or not case.family.history_authorises:
        return None
    when = Check(None, "no typical time")
    if ts is not None:
        minute = (ts % 86400) // 60
        lo = min(_min(d["first"]) for d in days) - 60
        hi = max(_min(d["last"]) for d in days) + 60
        when = Check(lo <= minute <= hi, f"{_fmt_time(ts)} is {'within' if lo <= minute <= hi else 'outside'} the "
                                        f"usual {days[0]['first']}-{days[-1]['last']} UTC of earlier days")
    return Grant("routine", f"the same activity by {', '.join(who) or 'the account'}"
                 f"{' from ' + ', '.join(srcs) if srcs else ''} happened on {len(days)} earlier days",
                 Check(True, "the same account"), Check(True if srcs else None, "the same source"),
                 Check(True, "the same events"), when,
                 [_claim(f"the same pattern was seen on {len(days)} earlier days ({days[0]['day']} to {days[-1]['day']})",
                         *[Evidence(node=k) for k in (h.get("examples") or [])[:3]])] if h.get("examples") else [])


def _min(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def escalations(case: Case, found: Found) -> list[tuple[str, str]]:
    """(principal, object) pairs where a change gives someone below tier 0 control over a
    tier-0 object (AdminSDHolder, a tier-0 group or OU): a backdoor, whoever made it."""
    out = []
    for c in found.notes.get("changes") or []:
        if c["op"] == "remove":
            continue
        obj = c.get("object_key") or c["object"]
        if not (tier0_object(c["object"]) or case.is_tier0(c.get("object_key"))):
            continue
        for raw, key in zip(c["principals"], c["principal_keys"], strict=False):
            if tier0_sid(raw) or (key and case.is_tier0(key)):
                continue
            out.append((key or raw, obj))
    return out


def expected(case: Case, found: Found) -> Answer:
    origin = case.origin
    if case.family.name in VICTIM_FAMILIES:
        # the alert's users were targeted; who acted is whoever was at the source
        who = [origin.account] if origin is not None and origin.account else []
    else:
        who = [a for a in (found.actors or case.actors) if a.split("@")[0].upper() not in SYSTEM_ACCOUNTS] or \
            list(found.actors or case.actors)
    srcs = list(dict.fromkeys([*([origin.host] if origin is not None and origin.host else []), *found.sources,
                               *case.src_hosts]))
    srcs = [s for s in srcs if s != "INTERNET"]
    targets = list(dict.fromkeys(found.targets or case.dst_hosts or case.target_users or case.hosts))
    ts = next((e.get("timestamp") for e in found.events if e.get("timestamp")), None) or case.as_of
    grants = _structure(case, found, who, srcs, ts)
    docs, flagged = _documentation(case, who, srcs, targets, ts, found)
    grants += docs + _admin(case, who, srcs, targets, ts)
    esc = escalations(case, found)
    if esc:
        # Only documentation that names this very principal and object covers a tier-0 grant.
        names = case.names()
        facts = [f for k in targets for f in facts_for(k, case.ctx(k), names)[0]]
        covered = [f for f in facts if any(p.split("@")[0].lower() in f.text.lower() for p, _ in esc)
                   and any(o.split(",")[0].split("=")[-1].lower() in f.text.lower() for _, o in esc)]
        if not covered:
            why = f"the change gives {esc[0][0]} (not tier 0) control over the tier-0 object {esc[0][1]}"
            for g in grants:
                g.what = Check(False, why)
    routine = _routine(case, who, srcs, ts)
    details: dict = {"who": who, "from": srcs, "targets": targets, "time": ts,
                     "injection_in_twin": flagged + list(case.injection)}
    good = [g for g in grants if g.holds(case.family.needs_where)]
    # A documented role that mismatches beats routine: it is the organisation saying who
    # may do this, and this is not it.
    mism = [g for g in grants if g.kind == "documentation" and g.mismatch() and (g.who.ok or g.where.ok)]
    if good:
        g = good[0]
        details.update(_dims(g))
        status = "authorised"
        return Answer(question="expected", status=status, summary=g.summary + "; " + "; ".join(
            c.why for c in (g.who, g.where, g.what, g.when) if c.ok), claims=g.claims, details=details)
    if routine is not None and routine.when.ok is not False and not mism and routine.where.ok is not False:
        details.update(_dims(routine))
        return Answer(question="expected", status="routine", summary=routine.summary, claims=routine.claims,
                      details=details)
    why = [g.mismatch() for g in grants if g.mismatch()]
    if not grants:
        summary = (f"nothing in the twin authorises {case.family.title} by {', '.join(who) or 'this account'}"
                   f"{' from ' + ', '.join(srcs) if srcs else ''}: no role, right or routine covers it")
    else:
        best = next((g for g in grants if g.mismatch()), grants[0])
        summary = f"{best.summary} does not cover this: " + (best.mismatch() or
                                                              "; ".join(c.why for c in (best.who, best.where, best.when)
                                                                        if c.ok is not True))
        details.update(_dims(best))
    if flagged:
        summary += f" (instruction-like text in the twin was ignored: {flagged[0]})"
    details["mismatches"] = why
    claims = [c for g in grants for c in g.claims][:3]
    return Answer(question="expected", status="not_authorised", summary=summary, claims=claims, details=details)


def _dims(g: Grant) -> dict:
    return {"grant": g.kind, "dimensions": {n: {"ok": c.ok, "why": c.why} for n, c in (
        ("who", g.who), ("where", g.where), ("what", g.what), ("when", g.when), ("peer", g.peer))}}
