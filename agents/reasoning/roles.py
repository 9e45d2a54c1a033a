"""Documentation as data: roles, hosts, accounts and time windows read from twin fields.

An organisation writes down what is expected in descriptions of accounts and hosts,
inventory owners and tags, group names and change references. These functions read
such text as *data* — they extract a few facts (which roles it names, which hosts and
accounts, which time windows, which tickets) and nothing else. Text carrying
instruction-like phrases ("ignore this alert", "mark as benign") documents nothing:
it is dropped and reported, because a field anyone with write access can set never
outweighs the telemetry.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from agents.prompts import injection_markers

# role -> words that name it (lower-case; matched on word boundaries).
ROLE_WORDS: dict[str, tuple[str, ...]] = {
    "backup": ("backup", "backups", "veeam", "commvault", "netbackup", "wbadmin", "backup exec", "veritas",
               "rubrik", "cohesity", "arcserve", "acronis", "restic", "bacula", "backup operators",
               "backup-operators", "approved-egress", "offsite copy", "snapshot job"),
    "scanner": ("scanner", "scanners", "vulnerability scan", "vulnerability scanning", "vuln scan", "vuln-scan",
                "vulnscan", "nessus", "tenable", "qualys", "rapid7", "nexpose", "insightvm", "openvas",
                "greenbone", "security scan", "credentialed scan", "authenticated scan", "approved-scanner",
                "asset discovery", "discovery scan", "nmap", "credential audit", "password audit"),
    "pentest": ("pentest", "pen test", "penetration test", "penetration testing", "red team", "red-team",
                "purple team", "security assessment", "adversary emulation", "engagement"),
    "helpdesk": ("helpdesk", "help desk", "help-desk", "service desk", "servicedesk", "it support",
                 "desktop support", "support desk", "password reset", "password resets", "tier 1 support",
                 "first line support", "1st line"),
    "identity": ("identity management", "identity-management", "iam", "provisioning", "sailpoint",
                 "identity manager", "mim", "okta", "user lifecycle", "joiner", "onboarding",
                 "account management", "approved-admin"),
    "sync": ("azure ad connect", "aad connect", "entra connect", "directory sync", "directory-sync",
             "directory synchronization", "directory synchronisation", "dirsync", "msol", "adsync",
             "password hash sync", "approved-replication", "replication account"),
    "deployment": ("sccm", "mecm", "configmgr", "configuration manager", "intune", "ansible", "puppet", "chef",
                   "saltstack", "salt minion", "software deployment", "software distribution", "pdq",
                   "patch management", "patching", "wsus", "bigfix", "tanium", "deployment",
                   "configuration management", "approved-admin"),
    "monitoring": ("monitoring", "scom", "nagios", "zabbix", "prtg", "solarwinds", "splunk", "datadog",
                   "health check", "inventory agent", "log collection", "lansweeper", "telemetry"),
    "security_agent": ("edr", "antivirus", "anti-virus", "defender", "crowdstrike", "sentinelone", "carbon black",
                       "guest agent", "waagent", "ssm agent", "amazon ssm", "google guest agent", "cloud agent"),
    "legacy_app": ("rc4", "legacy", "no preauth", "no pre-auth", "pre-authentication disabled",
                   "preauthentication disabled", "does not require kerberos preauthentication",
                   "weak encryption", "des-only", "known exception", "risk accepted", "risk-accepted"),
    "transfer": ("offsite", "cloud backup", "sftp", "file transfer", "data export", "etl", "replication to",
                 "archive upload", "approved-egress", "log shipping", "migration", "data transfer", "upload"),
    "vendor_support": ("vendor support", "vendor remote support", "remote support", "jump client", "beyondtrust",
                       "bomgar", "teamviewer", "anydesk", "screenconnect", "connectwise", "splashtop", "support appliance",
                       "vendor appliance", "support session", "remote access"),
    "admin_host": ("paw", "privileged access workstation", "jump host", "jumphost", "jump server", "jump box",
                   "jumpbox", "bastion", "admin workstation", "admin-workstation", "management host",
                   "management server", "administration host", "tier 0 admin", "tier-0 admin", "tier0 admin",
                   "desk console", "helpdesk console", "support console", "admin console", "management console"),
}
def _norm(text: str) -> str:
    """Lower case, with -, _ and = read as spaces (tags are written `guest-agent=...`)."""
    return re.sub(r"[-_=/]+", " ", text.lower())


def _word_rx(w: str) -> str:
    # longer words also match as stems (scanner -> scanners, vuln-scan -> vuln-scanner)
    return re.escape(_norm(w)) + ("" if len(w) > 4 else r"(?![a-z0-9])")


_ROLE_RES = {role: re.compile(r"(?<![a-z0-9])(?:" + "|".join(_word_rx(w) for w in words) + r")")
             for role, words in ROLE_WORDS.items()}
# Tokens of host and account names that say what the machine or account is for
# (SCAN01, BKP-02, svc_veeam, aadsync01): administrators choose names, attackers do not.
NAME_TOKENS: dict[str, str] = {
    **{t: "scanner" for t in ("scan", "scanner", "nessus", "qualys", "vuln", "vulnscan", "vscan", "openvas",
                              "tenable", "nexpose", "insightvm", "rapid7")},
    **{t: "backup" for t in ("bkp", "backup", "bak", "veeam", "vbr", "commvault", "netbackup", "rubrik", "cohesity",
                             "bck")},
    **{t: "admin_host" for t in ("paw", "jump", "jmp", "jumphost", "bastion", "mgmt", "adminws", "adminpc")},
    **{t: "deployment" for t in ("sccm", "mecm", "wsus", "deploy", "pdq", "ansible", "puppet", "salt", "chef",
                                 "intune", "patch", "configmgr")},
    **{t: "monitoring" for t in ("monitor", "monitoring", "scom", "zabbix", "nagios", "prtg", "splunk", "siem")},
    **{t: "sync" for t in ("aadc", "aadconnect", "adsync", "aadsync", "dirsync", "msol", "entraconnect")},
    **{t: "pentest" for t in ("pentest", "redteam", "kali")},
    **{t: "helpdesk" for t in ("helpdesk", "servicedesk", "support")},
}
# Zones whose name says they hold administration hosts.
ADMIN_ZONE = re.compile(r"(?<![a-z0-9])(mgmt|management|admin|paw|bastion|jump)(?![a-z0-9])", re.I)

_DAYS = {"mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2, "thu": 3,
         "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4, "sat": 5, "saturday": 5, "sun": 6,
         "sunday": 6}
_DAY = r"(?:mon(?:day)?|tue(?:s|sday)?|wed(?:nesday)?|thu(?:r|rs|rsday)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)"
_TIME = r"(\d{1,2})(?::|h)?(\d{2})?\s*(am|pm)?"
_RANGE = re.compile(
    rf"(?:(?P<d1>{_DAY})(?:\s*(?:-|–|to|through)\s*(?P<d2>{_DAY}))?[\s,]+)?"
    rf"(?:between\s+|from\s+)?{_TIME}\s*(?:-|–|to|until|and)\s*{_TIME}\s*(?P<tz>utc|gmt|z)?", re.I)
_AT = re.compile(rf"(?:(?P<d1>{_DAY})s?\s+)?(?:at\s+){_TIME}\s*(?P<tz>utc|gmt|z)", re.I)
_PERIODIC = re.compile(r"(?<![a-z])(nightly|daily|weekly|every night|every day|each night|hourly|"
                       r"business hours|working hours|office hours|weekdays|weekends)(?![a-z])", re.I)
_HOURLY = re.compile(r"(?:every hour|hourly|each hour)[^.;]{0,20}?\bat\s*(?:xx|hh)?:(\d{2})\b", re.I)
_DATE = re.compile(r"\b(20\d{2})-(\d{2})-(\d{2})\b")
_TICKET = re.compile(r"\b((?:CHG|CR|RFC|INC|REQ|RITM|TASK|CHANGE|TICKET)[-_ #]?\d{3,})\b", re.I)


@dataclass
class Window:
    """Minutes of the day (UTC) and, when given, the days of the week (0 = Monday), a
    date (days since the epoch), or minutes past every hour (`hourly`)."""

    start: int
    end: int
    days: frozenset[int] | None = None
    text: str = ""
    date: int | None = None
    hourly: bool = False

    def contains(self, ts: int, slack_min: int = 15) -> bool:
        if self.date is not None and ts // 86400 != self.date and not (
                self.start > self.end and ts // 86400 == self.date + 1):
            return False
        if self.hourly:
            m = (ts % 3600) // 60
            d = min((m - self.start) % 60, (self.start - m) % 60)
            return d <= max(slack_min // 2, 5)
        minute = (ts % 86400) // 60
        weekday = ((ts // 86400) + 3) % 7  # 1970-01-01 was a Thursday
        lo, hi = self.start - slack_min, self.end + slack_min
        if self.start <= self.end:
            in_time = lo <= minute <= hi
            day_ok = self.days is None or weekday in self.days
        else:  # crosses midnight: the part after midnight belongs to the day before
            in_time = minute >= lo or minute <= hi
            ref = weekday if minute >= lo else (weekday - 1) % 7
            day_ok = self.days is None or ref in self.days
        return in_time and day_ok


@dataclass
class DocFact:
    """What one piece of documentation says, and where it was written."""

    source: str          # the twin key whose field held it (or the group it names)
    field: str           # description, tags, owner, group, zone, ...
    text: str
    roles: set[str] = field(default_factory=set)
    hosts: set[str] = field(default_factory=set)       # twin host keys it names
    accounts: set[str] = field(default_factory=set)    # twin account keys it names
    windows: list[Window] = field(default_factory=list)
    periodic: set[str] = field(default_factory=set)    # nightly, weekly, business hours ...
    tickets: set[str] = field(default_factory=set)
    networks: list = field(default_factory=list)       # ipaddress networks it names (peers, ranges)
    structural: bool = False  # group membership, zone: set by administrators, not free text


def _minutes(h: str, m: str | None, ampm: str | None) -> int | None:
    hh, mm = int(h), int(m or 0)
    if ampm:
        ampm = ampm.lower()
        if hh == 12:
            hh = 0
        if ampm == "pm":
            hh += 12
    if not (0 <= hh <= 24 and 0 <= mm < 60):
        return None
    return min(hh * 60 + mm, 24 * 60)


def _day_set(d1: str | None, d2: str | None) -> frozenset[int] | None:
    if not d1:
        return None
    a = _DAYS.get(d1.lower().rstrip("s"), _DAYS.get(d1.lower()))
    if a is None:
        return None
    if not d2:
        return frozenset({a})
    b = _DAYS.get(d2.lower().rstrip("s"), _DAYS.get(d2.lower()))
    if b is None:
        return frozenset({a})
    out, d = {a}, a
    while d != b:
        d = (d + 1) % 7
        out.add(d)
    return frozenset(out)


def parse_windows(text: str) -> tuple[list[Window], set[str]]:
    """Time windows ("01:00-02:00 UTC", "Sun 02:00-02:30", "between 1am and 3am") and
    periodic words (nightly, weekly, business hours) a text documents."""
    windows: list[Window] = []
    dates = list(_DATE.finditer(text))
    text = _DATE.sub(" ", text)  # 2025-03-11 is a date, not 20:25-03:11
    for m in _RANGE.finditer(text):
        h1, m1, a1, h2, m2, a2 = m.group(3, 4, 5, 6, 7, 8)
        if m1 is None and m2 is None and not (a1 or a2) and not m.group("tz"):
            continue  # "2-3" alone is a count, not a time
        s, e = _minutes(h1, m1, a1 or a2), _minutes(h2, m2, a2)
        if s is None or e is None:
            continue
        windows.append(Window(s, e, _day_set(m.group("d1"), m.group("d2")), m.group(0).strip()))
    for m in _AT.finditer(text):
        s = _minutes(m.group(2), m.group(3), m.group(4))
        if s is not None and not any(w.start <= s <= w.end for w in windows):
            windows.append(Window(s, min(s + 60, 24 * 60), _day_set(m.group("d1"), None), m.group(0).strip()))
    periodic = {p.lower() for p in _PERIODIC.findall(text)}
    for m in _HOURLY.finditer(text):
        windows.append(Window(int(m.group(1)), int(m.group(1)), None, m.group(0).strip(), hourly=True))
    if dates and windows:
        import datetime as _dt

        day = int(_dt.datetime(int(dates[0].group(1)), int(dates[0].group(2)), int(dates[0].group(3)),
                               tzinfo=_dt.UTC).timestamp()) // 86400
        for w in windows:
            if not w.hourly:
                w.date = day
    if not windows:
        if periodic & {"business hours", "working hours", "office hours"}:
            windows.append(Window(7 * 60, 19 * 60, frozenset(range(5)), "business hours"))
        elif "weekdays" in periodic:
            windows.append(Window(0, 24 * 60, frozenset(range(5)), "weekdays"))
        elif "weekends" in periodic:
            windows.append(Window(0, 24 * 60, frozenset({5, 6}), "weekends"))
    return windows, periodic


def roles_in(text: str) -> set[str]:
    low = _norm(text)
    return {role for role, rx in _ROLE_RES.items() if rx.search(low)}


def roles_of_name(key: str) -> set[str]:
    """Roles a host or account name carries (SCAN01 -> scanner, svc_veeam -> backup)."""
    name = key.split("@")[0].split(".")[0].lower()
    tokens = [t for t in re.split(r"[^a-z]+", name) if t]
    return {NAME_TOKENS[t] for t in tokens if t in NAME_TOKENS}


class Names:
    """The twin's host and account names, to find which ones a text mentions."""

    def __init__(self, hosts: dict[str, str], accounts: dict[str, str]) -> None:
        # lower-case name form -> key; short names and sAMAccountNames included
        self.hosts = hosts
        self.accounts = accounts
        words = sorted(set(hosts) | set(accounts), key=len, reverse=True)
        self._rx = re.compile(r"(?<![A-Za-z0-9_$.-])(" + "|".join(re.escape(w) for w in words)
                              + r")(?![A-Za-z0-9_-])(?!\.\d)", re.I) if words else None

    def mentioned(self, text: str) -> tuple[set[str], set[str]]:
        hosts: set[str] = set()
        accounts: set[str] = set()
        if self._rx is None:
            return hosts, accounts
        for m in self._rx.finditer(text):
            w = m.group(1).lower().rstrip(".")
            if w in self.hosts:
                hosts.add(self.hosts[w])
            if w in self.accounts:
                accounts.add(self.accounts[w])
        return hosts, accounts


_NET = re.compile(r"(?<![\d.])((?:\d{1,3}\.){3}\d{1,3})(/\d{1,2})?(?![\d.])")


def networks_in(text: str) -> list:
    out = []
    for m in _NET.finditer(text):
        try:
            out.append(ipaddress.ip_network(m.group(1) + (m.group(2) or ""), strict=False))
        except ValueError:
            continue
    return out


def read_fact(source: str, field_name: str, text: str, names: Names, *, structural: bool = False) -> DocFact:
    windows, periodic = parse_windows(text)
    hosts, accounts = names.mentioned(text)
    return DocFact(source=source, field=field_name, text=text[:300], roles=roles_in(text), hosts=hosts,
                   accounts=accounts, windows=windows, periodic=periodic,
                   tickets={t.upper() for t in _TICKET.findall(text)}, networks=networks_in(text),
                   structural=structural)


# Properties that hold documentation (AD and inventory); anything else is not read.
DOC_FIELDS = ("description", "tags", "owner", "title", "department", "info", "comment", "notes", "note",
              "role", "purpose", "usage", "managedby", "displayname", "function", "ticket", "change")


def facts_for(key: str, ctx: dict, names: Names) -> tuple[list[DocFact], list[str]]:
    """The documentation one entity carries, and the injection markers that disqualified some of it."""
    props = (ctx or {}).get("properties") or {}
    facts: list[DocFact] = []
    flagged: list[str] = []
    general: list[str] = []  # text about the entity as a whole (its constraints apply to its roles)
    for name in DOC_FIELDS:
        value = props.get(name)
        if value in (None, "", []):
            continue
        items = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        if name == "tags":  # each tag is its own statement: `offsite-copy=... 03:00-05:00` is not the backup window
            items = [t for v in items for t in re.split(r"[;,](?![^()]*\))", v) if t.strip()]
        for text in items:
            marks = injection_markers(text)
            if marks:
                flagged.extend(f"{key}.{name}: {m}" for m in marks)
                continue
            if name == "tags" and roles_in(text):
                facts.append(read_fact(key, name, text, names))
            else:
                general.append(text)
    named = roles_of_name(key)
    if general or named:
        fact = read_fact(key, "description", "; ".join(general), names)
        fact.roles |= named
        if fact.roles or fact.windows or fact.hosts or fact.networks:
            facts.append(fact)
    for g in (ctx or {}).get("member_of") or []:
        gname = str(g.get("key", ""))
        roles = roles_in(gname.split("@")[0].replace("-", " ").replace("_", " "))
        if roles:
            facts.append(DocFact(source=gname, field="group", text=gname, roles=roles, structural=True))
    for z in ((ctx or {}).get("core") or {}).get("zones") or []:
        roles = roles_in(str(z).replace("-", " ").replace("_", " "))
        if ADMIN_ZONE.search(str(z)):
            roles.add("admin_host")
        if roles:
            facts.append(DocFact(source=str(z), field="zone", text=str(z), roles=roles, structural=True))
    return facts, flagged
