"""What every family's check is written with: `Found` (one check's answer and what shows it), `focus`
(the occurrence the alert is about), the event accessors, the coverage test that tells `not_seen` from
`unverifiable`, the address test `external`, and the process and command vocabularies the checks
match against. Shared here so the family modules never import each other."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from agents.models import Claim
from agents.reasoning.case import SYSTEM_ACCOUNTS, Case, raw_field

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


def _ip_like(s: str | None) -> bool:
    return bool(s) and bool(re.match(r"^[0-9a-fA-F:.]+$", s or "")) and any(c.isdigit() for c in s or "")


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


def _absent_actor(case: Case, what: str) -> Found:
    named = ", ".join(m.text for m in case.mentions if m.role == "user")
    others = [e for e in case.events if e.get("event_id") in (4624, 4625)][:5]
    return Found("contradicted" if others else "not_seen",
                 f"the alert's account {named} does not exist in the twin, so no {what} by it happened"
                 + (" (the logons recorded there are other accounts')" if others else ""), others)
