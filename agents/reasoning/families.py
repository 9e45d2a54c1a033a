"""Alert families: which evidence to read for an alert, never which verdict to give.

A family says what corroborates the alert's claim (the events and flows to pull), which
roles may do such a thing legitimately (agents/reasoning/roles.py), and whether routine
history can stand in for a documented time. The verdict always comes from the same three
questions (agents/reasoning/decide.py); an alert of a family nobody listed here still
gets them, through `generic`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Family:
    name: str
    technique: str                    # the technique reported when the alert gives none
    title: str                        # what the activity is called in reasons
    event_ids: tuple[int, ...] = ()   # events to read around the alert (empty: all)
    connections: bool = False         # read observed network flows too
    roles: frozenset[str] = field(default_factory=frozenset)  # roles that may do it legitimately
    admin_work: bool = False          # an administrator of the target, from an admin host, may do it
    needs_where: bool = True          # authorisation must place the source host, not only the account
    history_authorises: bool = False  # a routine pattern (same who/where/what on earlier days) is enough
    severity: str = "medium"          # a true positive's floor before blast radius


LOGON_IDS = (4624, 4625, 4634, 4647, 4648, 4672)
PROCESS_IDS = (4688, 1)
SHARE_IDS = (5140, 5145)
SERVICE_IDS = (7045, 4697)
TASK_IDS = (4698, 4699, 4700, 4701, 4702, 106, 200, 201)
DIRECTORY_CHANGE_IDS = (5136, 5137, 5141, 4670, 4662, 4738, 4728, 4729, 4732, 4733, 4756, 4757, 4724,
                        4723, 4717, 4718, 4780, 4720, 4722, 4725, 4726, 4765, 4766)

FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("dcsync", "T1003.006", "directory replication (DCSync)", (4662, 4624, 4672), True,
           frozenset({"sync"}), severity="high"),
    # Administrators do not dump credentials as part of their work: only a documented
    # change or support case, or backup software reading hives/NTDS, makes it expected.
    Family("credential_dump", "T1003", "credential dumping",
           (*PROCESS_IDS, 10, 11, 4656, 4663, 4673, 4624, 4672, 4661, 8, 7, 17, 18, 23, 26), False,
           frozenset({"backup"}), history_authorises=True, severity="high"),
    Family("credential_use", "T1550", "use of stolen credential material (pass-the-hash or -ticket)",
           (*PROCESS_IDS, 3, 4768, 4769, 4624, 4648, 4672), True, frozenset({"pentest"}), severity="high"),
    Family("kerberoast", "T1558.003", "Kerberoasting (service tickets to crack)", (4769, 4768, 4624), True,
           frozenset({"scanner", "pentest", "legacy_app"}), history_authorises=True),
    Family("asrep", "T1558.004", "AS-REP roasting (tickets without pre-authentication)", (4768, 4771, 4624), True,
           frozenset({"scanner", "pentest", "legacy_app"}), history_authorises=True),
    Family("spray", "T1110.003", "password guessing", (4625, 4771, 4776, 4768, 4624, 4740), True,
           frozenset({"scanner", "pentest"})),
    Family("lateral", "T1021", "remote execution on another host",
           (*LOGON_IDS, 4778, 4779, *SHARE_IDS, *SERVICE_IDS, *PROCESS_IDS, *TASK_IDS, 3, 5156, 91, 6), True,
           frozenset({"deployment", "monitoring", "backup"}), admin_work=True, history_authorises=True),
    Family("exploit", "T1190", "exploitation of an exposed service", (*PROCESS_IDS, 3, 11, 4624), True,
           frozenset({"scanner", "pentest"}), severity="high"),
    Family("reverse_shell", "T1059", "a reverse shell", (*PROCESS_IDS, 3, 22, 4624), True,
           frozenset({"pentest"}), severity="high"),
    Family("remote_access", "T1219", "remote access software driving the host", (*PROCESS_IDS, 3, 22, 4624), True,
           frozenset({"vendor_support", "deployment", "monitoring"}), history_authorises=True, severity="high"),
    Family("c2", "T1071", "command-and-control beaconing", (*PROCESS_IDS, 3, 22), True,
           frozenset({"monitoring", "security_agent", "deployment", "backup"}), history_authorises=True,
           severity="high"),
    Family("exfil", "T1048", "data transfer out of the network", (*PROCESS_IDS, 3, 4663, 5145), True,
           frozenset({"backup", "transfer", "monitoring"}), history_authorises=True, severity="high"),
    Family("acl_abuse", "T1098", "a permission or group change", (*DIRECTORY_CHANGE_IDS, 4624), False,
           frozenset({"identity", "helpdesk", "sync"}), admin_work=True, needs_where=False),
    Family("password_reset", "T1098", "a password reset", (4724, 4723, 4738, 4767, 4624, 5136), False,
           frozenset({"helpdesk", "identity"}), admin_work=True, needs_where=False),
    Family("persistence", "T1053.005", "a persistence mechanism",
           (*TASK_IDS, *SERVICE_IDS, 4720, 12, 13, 14, 19, 20, 21, *PROCESS_IDS, 4624), False,
           frozenset({"deployment", "monitoring", "backup", "security_agent"}), admin_work=True,
           history_authorises=True),
    Family("scan", "T1046", "network scanning", (3, 5156, 4625), True,
           frozenset({"scanner", "pentest", "monitoring"}), history_authorises=True),
    Family("logon", "T1078", "a logon", (*LOGON_IDS, 4778, 4768, 4769, 4776), True,
           frozenset({"deployment", "monitoring", "backup", "scanner"}), admin_work=True, history_authorises=True,
           needs_where=False),
    Family("execution", "T1059", "process execution", (*PROCESS_IDS, 3, 4624, 4104, 800), False,
           frozenset({"deployment", "monitoring", "backup", "security_agent"}), admin_work=True,
           history_authorises=True),
    Family("generic", "", "the alert's activity", (), True,
           frozenset({"deployment", "monitoring", "backup", "scanner", "pentest", "security_agent"}),
           admin_work=True, history_authorises=True),
)}

# ATT&CK technique (sub-technique first, then its parent) -> family.
TECHNIQUES: dict[str, str] = {
    "T1003.006": "dcsync", "T1003.001": "credential_dump", "T1003.002": "credential_dump",
    "T1003.003": "credential_dump", "T1003.004": "credential_dump", "T1003.005": "credential_dump",
    "T1003": "credential_dump", "T1555": "credential_dump", "T1552": "credential_dump",
    "T1558.003": "kerberoast", "T1558.004": "asrep", "T1558": "kerberoast",
    "T1110": "spray", "T1021": "lateral", "T1570": "lateral", "T1047": "lateral", "T1569": "lateral",
    "T1563": "lateral", "T1550": "credential_use", "T1534": "lateral",
    "T1190": "exploit", "T1133": "exploit", "T1210": "exploit", "T1203": "exploit", "T1211": "exploit",
    "T1071": "c2", "T1573": "c2", "T1095": "c2", "T1571": "c2", "T1090": "c2", "T1105": "c2",
    "T1219": "remote_access", "T1572": "c2", "T1008": "c2", "T1102": "c2", "T1568": "c2", "T1001": "c2",
    "T1041": "exfil", "T1048": "exfil", "T1567": "exfil", "T1030": "exfil", "T1020": "exfil",
    "T1537": "exfil", "T1029": "exfil", "T1011": "exfil",
    "T1098": "acl_abuse", "T1222": "acl_abuse", "T1484": "acl_abuse", "T1556": "acl_abuse",
    "T1207": "acl_abuse", "T1531": "password_reset",
    "T1053": "persistence", "T1543": "persistence", "T1547": "persistence", "T1136": "persistence",
    "T1546": "persistence", "T1197": "persistence", "T1137": "persistence", "T1505": "persistence",
    "T1046": "scan", "T1595": "scan", "T1018": "scan", "T1135": "scan", "T1590": "scan",
    "T1078": "logon", "T1133.001": "logon",
    "T1059": "execution", "T1204": "execution", "T1218": "execution", "T1106": "execution",
    "T1027": "execution", "T1055": "execution", "T1140": "execution",
}
# Words of an alert's rule/title that name the activity more precisely than its
# technique (a T1098 that is a password reset, a T1059 that is a reverse shell), or
# when it gives no technique. Read in order; the first match wins.
KEYWORDS: list[tuple[str, str]] = [
    ("dcsync", "dcsync"), ("drsuapi", "dcsync"), ("getncchanges", "dcsync"), ("directory replication", "dcsync"),
    ("replication request", "dcsync"),
    ("pass-the-hash", "credential_use"), ("pass the hash", "credential_use"), ("overpass", "credential_use"),
    ("pass-the-ticket", "credential_use"), ("pass the ticket", "credential_use"), ("asktgt", "credential_use"),
    ("as-rep", "asrep"), ("asrep", "asrep"), ("without pre-auth", "asrep"), ("preauth", "asrep"),
    ("kerberoast", "kerberoast"), ("rc4 service ticket", "kerberoast"), ("spn", "kerberoast"),
    ("lsass", "credential_dump"), ("credential dump", "credential_dump"), ("mimikatz", "credential_dump"),
    ("ntds", "credential_dump"), ("sam hive", "credential_dump"), ("registry hive", "credential_dump"),
    ("hive", "credential_dump"), ("secretsdump", "credential_dump"), ("credential theft", "credential_dump"),
    ("password reset", "password_reset"), ("reset password", "password_reset"), ("password change", "password_reset"),
    ("spray", "spray"), ("brute", "spray"), ("password guess", "spray"), ("failed logon", "spray"),
    ("reverse shell", "reverse_shell"), ("bind shell", "reverse_shell"),
    ("beacon", "c2"), ("command and control", "c2"), ("command-and-control", "c2"), ("c2", "c2"),
    ("exfil", "exfil"), ("upload", "exfil"), ("data transfer", "exfil"), ("large transfer", "exfil"),
    ("outbound transfer", "exfil"),
    ("port scan", "scan"), ("network scan", "scan"), ("scanning", "scan"), ("sweep", "scan"),
    ("exploit", "exploit"), ("web shell", "exploit"), ("webshell", "exploit"),
    ("psexec", "lateral"), ("admin share", "lateral"), ("lateral", "lateral"), ("wmi", "lateral"),
    ("winrm", "lateral"), ("remote desktop", "lateral"), ("rdp", "lateral"), ("dcom", "lateral"),
    ("remote service", "lateral"),
    ("group membership", "acl_abuse"), ("added to", "acl_abuse"), ("acl", "acl_abuse"), ("dacl", "acl_abuse"),
    ("permission", "acl_abuse"), ("privileged group", "acl_abuse"),
    ("scheduled task", "persistence"), ("service install", "persistence"), ("new service", "persistence"),
    ("run key", "persistence"), ("persistence", "persistence"), ("account created", "persistence"),
    ("unusual source", "logon"), ("unusual logon", "logon"), ("new source", "logon"), ("impossible travel", "logon"),
    ("logon from", "logon"), ("login from", "logon"), ("anomalous logon", "logon"), ("logon", "logon"),
    ("powershell", "execution"), ("encoded command", "execution"), ("suspicious process", "execution"),
    ("lolbin", "execution"), ("execution", "execution"), ("process", "execution"),
]
# A technique whose family a rule word refines (a T1098 alert about a password reset).
_REFINABLE = {"acl_abuse", "execution", "logon", "generic", "lateral", "exploit"}
_REFINES = {
    "acl_abuse": {"password_reset"}, "execution": {"reverse_shell", "credential_dump", "c2"},
    "logon": {"spray", "lateral"}, "lateral": {"credential_dump"}, "exploit": {"reverse_shell"},
}


def family_of(techniques: list[str], rule: str | None, title: str | None) -> str:
    """The family an alert belongs to: its technique, refined or replaced by its rule words."""
    by_tech = None
    listed = [str(x).upper() for x in techniques or []]
    # the alert's first technique leads; a sub-technique of it, if listed, is more precise
    # (T1558 with T1558.004 is AS-REP roasting; T1219 with T1059.003 stays remote access)
    ordered = []
    for t in listed:
        subs = [x for x in listed if x.startswith(t + ".")]
        ordered += subs + [t]
    for t in ordered:
        fam = TECHNIQUES.get(t) or TECHNIQUES.get(t.split(".")[0])
        if fam:
            by_tech = fam
            break
    text = f" {rule or ''} {title or ''} ".lower()
    by_word = next((fam for word, fam in KEYWORDS if _has_word(text, word)), None)
    if by_tech is None:
        return by_word or "generic"
    if by_word == "password_reset" and (any(w in text for w in (" right", "delegat", "permission", " acl", " ace"))
                                        or any(str(t).upper().startswith(("T1222", "T1484")) for t in techniques or [])):
        by_word = None  # a reset-password *right* being granted is a permission change
    if by_word and by_tech in _REFINABLE and by_word in _REFINES.get(by_tech, set()):
        return by_word
    return by_tech


def _has_word(text: str, word: str) -> bool:
    i = text.find(word)
    while i >= 0:
        before = text[i - 1] if i > 0 else " "
        after = text[i + len(word)] if i + len(word) < len(text) else " "
        # longer words match as stems (kerberoast-ing, exfil-tration); short ones whole
        if not before.isalnum() and (not after.isalnum() or len(word) > 4):
            return True
        i = text.find(word, i + 1)
    return False


def credential_target(techniques: list[str], rule: str | None, title: str | None) -> str:
    """What a credential-dumping alert says was taken: lsass, hives, ntds or any."""
    ts = {str(t).upper() for t in techniques or []}
    text = f"{rule or ''} {title or ''}".lower()
    if "T1003.001" in ts or "lsass" in text or "minidump" in text:
        return "lsass"
    if "T1003.003" in ts or "ntds" in text:
        return "ntds"
    if ts & {"T1003.002", "T1003.004", "T1003.005"} or "hive" in text or " sam" in f" {text}":
        return "hives"
    return "any"
