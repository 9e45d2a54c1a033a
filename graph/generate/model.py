"""The synthetic enterprise as data, before any file format.

Every writer (SharpHound JSON, inventory.csv, network.yaml today; Nmap, Trivy, Zeek,
Windows events later) renders this one model, so the same host has the same FQDN,
SID and IP in every file and the planted facts are true in all of them at once.

Everything is drawn from one `random.Random(seed)` in a fixed order and no wall clock
is read: the same seed and sizes give byte-identical output. Work is linear in the
number of objects (memberships and picks are drawn by index, never by scanning), so
40k users / 24k hosts / 76k groups build in seconds.
"""

from __future__ import annotations

import ipaddress
import math
import random
import uuid
from dataclasses import dataclass, field

# 2025-01-01T00:00:00Z. AD timestamps are spread before it; fixed so runs are reproducible.
BASE_TIME = 1_735_689_600
DAY = 86_400

# (ObjectIdentifier, ObjectType) as SharpHound's TypedPrincipal.
Ref = tuple[str, str]

DEPARTMENTS = ("FINANCE", "HR", "SALES", "ENGINEERING", "MARKETING", "LEGAL", "OPERATIONS",
               "IT", "SUPPORT", "RESEARCH")
FIRST = ("james", "mary", "robert", "patricia", "john", "jennifer", "michael", "linda", "david",
         "elizabeth", "william", "barbara", "richard", "susan", "joseph", "jessica", "thomas",
         "sarah", "charles", "karen", "christopher", "lisa", "daniel", "nancy", "matthew", "betty",
         "anthony", "margaret", "mark", "sandra", "donald", "ashley", "steven", "kimberly", "paul",
         "emily", "andrew", "donna", "joshua", "michelle", "kenneth", "carol", "kevin", "amanda",
         "brian", "dorothy", "george", "melissa", "timothy", "deborah", "ronald", "stephanie",
         "edward", "rebecca", "jason", "sharon", "jeffrey", "laura", "ryan", "cynthia", "jacob",
         "kathleen", "gary", "amy", "nicholas", "angela", "eric", "shirley", "jonathan", "anna",
         "stephen", "brenda", "larry", "pamela", "justin", "emma", "scott", "nicole", "brandon",
         "helen", "benjamin", "samantha", "samuel", "katherine", "gregory", "christine", "alexander",
         "debra", "frank", "rachel", "patrick", "carolyn", "raymond", "janet", "jack", "maria",
         "dennis", "olivia", "jerry", "heather", "tyler", "diane", "aaron", "julie", "jose", "joyce")
LAST = ("smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez",
        "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor",
        "moore", "jackson", "martin", "lee", "perez", "thompson", "white", "harris", "sanchez",
        "clark", "ramirez", "lewis", "robinson", "walker", "young", "allen", "king", "wright",
        "scott", "torres", "nguyen", "hill", "flores", "green", "adams", "nelson", "baker", "hall",
        "rivera", "campbell", "mitchell", "carter", "roberts", "gomez", "phillips", "evans",
        "turner", "diaz", "parker", "cruz", "edwards", "collins", "reyes", "stewart", "morris",
        "morales", "murphy", "cook", "rogers", "gutierrez", "ortiz", "morgan", "cooper", "peterson",
        "bailey", "reed", "kelly", "howard", "ramos", "kim", "cox", "ward", "richardson", "watson",
        "brooks", "chavez", "wood", "james", "bennett", "gray", "mendoza", "ruiz", "hughes",
        "price", "alvarez", "castillo", "sanders", "patel", "myers", "long", "ross", "foster")
APPS = ("CRM", "ERP", "PAYROLL", "BILLING", "PORTAL", "WIKI", "JIRA", "GIT", "BI", "DMS", "HRIS",
        "LIMS", "MES", "PLM", "SCM", "TICKETS", "VPN", "MAIL", "CHAT", "ANALYTICS")

# Well-known builtin (S-1-5-32-RID) groups as SharpHound CE names them.
BUILTIN_GROUPS = (
    (544, "ADMINISTRATORS", "Administrators have complete and unrestricted access to the computer/domain", True),
    (545, "USERS", "Users are prevented from making accidental or intentional system-wide changes", False),
    (546, "GUESTS", "Guests have the same access as members of the Users group by default", False),
    (548, "ACCOUNT OPERATORS", "Members can administer domain user and group accounts", True),
    (549, "SERVER OPERATORS", "Members can administer domain servers", True),
    (550, "PRINT OPERATORS", "Members can administer printers installed on domain controllers", True),
    (551, "BACKUP OPERATORS", "Backup Operators can override security restrictions for backing up files", True),
    (552, "REPLICATOR", "Supports file replication in a domain", False),
    (554, "PRE-WINDOWS 2000 COMPATIBLE ACCESS", "A backward compatibility group which allows read access", False),
    (555, "REMOTE DESKTOP USERS", "Members in this group are granted the right to logon remotely", False),
    (556, "NETWORK CONFIGURATION OPERATORS", "Members can manage configuration of networking features", False),
    (557, "INCOMING FOREST TRUST BUILDERS", "Members can create incoming, one-way trusts to this forest", False),
    (558, "PERFORMANCE MONITOR USERS", "Members can access performance counter data locally and remotely", False),
    (559, "PERFORMANCE LOG USERS", "Members may schedule logging of performance counters", False),
    (560, "WINDOWS AUTHORIZATION ACCESS GROUP", "Members have access to the computed tokenGroupsGlobalAndUniversal attribute", False),
    (561, "TERMINAL SERVER LICENSE SERVERS", "Members can update user accounts with Terminal Services licensing", False),
    (562, "DISTRIBUTED COM USERS", "Members are allowed to launch, activate and use Distributed COM objects", False),
    (568, "IIS_IUSRS", "Built-in group used by Internet Information Services", False),
    (569, "CRYPTOGRAPHIC OPERATORS", "Members are authorized to perform cryptographic operations", False),
    (573, "EVENT LOG READERS", "Members of this group can read event logs from local machine", False),
    (574, "CERTIFICATE SERVICE DCOM ACCESS", "Members of this group are allowed to connect to Certification Authorities", False),
    (575, "RDS REMOTE ACCESS SERVERS", "Servers in this group enable users of RemoteApp programs", False),
    (576, "RDS ENDPOINT SERVERS", "Servers in this group run virtual machines and host sessions", False),
    (577, "RDS MANAGEMENT SERVERS", "Servers in this group can perform routine administrative actions", False),
    (578, "HYPER-V ADMINISTRATORS", "Members of this group have complete and unrestricted access to all features of Hyper-V", False),
    (579, "ACCESS CONTROL ASSISTANCE OPERATORS", "Members of this group can remotely query authorization attributes", False),
    (580, "REMOTE MANAGEMENT USERS", "Members of this group can access WMI resources over management protocols", False),
    (582, "STORAGE REPLICA ADMINISTRATORS", "Members of this group have complete access to Storage Replica", False),
)
# Domain groups with fixed RIDs: (rid, name, description, tier0, protected by AdminSDHolder).
DOMAIN_GROUPS = (
    (498, "ENTERPRISE READ-ONLY DOMAIN CONTROLLERS", "Members of this group are Read-Only Domain Controllers in the enterprise", False, False),
    (512, "DOMAIN ADMINS", "Designated administrators of the domain", True, True),
    (513, "DOMAIN USERS", "All domain users", False, False),
    (514, "DOMAIN GUESTS", "All domain guests", False, False),
    (515, "DOMAIN COMPUTERS", "All workstations and servers joined to the domain", False, False),
    (516, "DOMAIN CONTROLLERS", "All domain controllers in the domain", True, True),
    (517, "CERT PUBLISHERS", "Members of this group are permitted to publish certificates to the directory", False, False),
    (518, "SCHEMA ADMINS", "Designated administrators of the schema", False, True),
    (519, "ENTERPRISE ADMINS", "Designated administrators of the enterprise", True, True),
    (520, "GROUP POLICY CREATOR OWNERS", "Members in this group can modify group policy for the domain", False, False),
    (521, "READ-ONLY DOMAIN CONTROLLERS", "Members of this group are Read-Only Domain Controllers in the domain", False, True),
    (522, "CLONEABLE DOMAIN CONTROLLERS", "Members of this group that are domain controllers may be cloned", False, False),
    (525, "PROTECTED USERS", "Members of this group are afforded additional protections", False, False),
    (526, "KEY ADMINS", "Members of this group can perform administrative actions on key objects within the domain", False, True),
    (527, "ENTERPRISE KEY ADMINS", "Members of this group can perform administrative actions on key objects within the forest", False, True),
    (553, "RAS AND IAS SERVERS", "Servers in this group can access remote access properties of users", False, False),
    (571, "ALLOWED RODC PASSWORD REPLICATION GROUP", "Members in this group can have their passwords replicated to all RODCs", False, False),
    (572, "DENIED RODC PASSWORD REPLICATION GROUP", "Members in this group cannot have their passwords replicated to any RODCs", False, False),
)
# Well-known principals SharpHound emits as name-only stubs when referenced.
WELL_KNOWN_STUBS = (("S-1-1-0", "EVERYONE"), ("S-1-5-11", "AUTHENTICATED USERS"),
                    ("S-1-5-9", "ENTERPRISE DOMAIN CONTROLLERS"))

# EKU OIDs.
CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"
SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
SMARTCARD_LOGON = "1.3.6.1.4.1.311.20.2.2"
SECURE_EMAIL = "1.3.6.1.5.5.7.3.4"
EFS = "1.3.6.1.4.1.311.10.3.4"
KDC_AUTH = "1.3.6.1.5.2.3.5"
AUTH_EKUS = {CLIENT_AUTH, SMARTCARD_LOGON, "1.3.6.1.5.2.3.4", "2.5.29.37.0"}

SERVICES_BY_ROLE: dict[str, tuple[tuple[int, str, str, str], ...]] = {
    "dc": ((53, "tcp", "domain", "Simple DNS Plus"), (88, "tcp", "kerberos-sec", "Microsoft Windows Kerberos"),
           (135, "tcp", "msrpc", "Microsoft Windows RPC"), (389, "tcp", "ldap", "Microsoft Windows Active Directory LDAP"),
           (445, "tcp", "microsoft-ds", ""), (636, "tcp", "ldapssl", ""), (3268, "tcp", "ldap", "Microsoft Windows Active Directory LDAP"),
           (3389, "tcp", "ms-wbt-server", "Microsoft Terminal Services")),
    "pki": ((80, "tcp", "http", "Microsoft IIS httpd"), (135, "tcp", "msrpc", "Microsoft Windows RPC"),
            (445, "tcp", "microsoft-ds", ""), (3389, "tcp", "ms-wbt-server", "Microsoft Terminal Services")),
    "jump": ((445, "tcp", "microsoft-ds", ""), (3389, "tcp", "ms-wbt-server", "Microsoft Terminal Services"),
             (5985, "tcp", "http", "Microsoft HTTPAPI httpd 2.0")),
    "web": ((80, "tcp", "http", "Microsoft IIS httpd"), (443, "tcp", "https", "Microsoft IIS httpd"),
            (5985, "tcp", "http", "Microsoft HTTPAPI httpd 2.0")),
    "app": ((445, "tcp", "microsoft-ds", ""), (3389, "tcp", "ms-wbt-server", "Microsoft Terminal Services"),
            (8443, "tcp", "https-alt", "Apache Tomcat")),
    "file": ((135, "tcp", "msrpc", "Microsoft Windows RPC"), (445, "tcp", "microsoft-ds", ""),
             (3389, "tcp", "ms-wbt-server", "Microsoft Terminal Services")),
    "db": ((445, "tcp", "microsoft-ds", ""), (1433, "tcp", "ms-sql-s", "Microsoft SQL Server 2019"),
           (3389, "tcp", "ms-wbt-server", "Microsoft Terminal Services")),
    "workstation": ((135, "tcp", "msrpc", "Microsoft Windows RPC"), (445, "tcp", "microsoft-ds", "")),
}


@dataclass(slots=True)
class Zone:
    name: str
    cidr: str
    internet_facing: bool = False
    exposed_ports: list[str] = field(default_factory=list)
    description: str = ""


@dataclass(slots=True)
class Flow:
    src: str
    dst: str
    ports: list[str]


@dataclass(slots=True)
class Host:
    short: str
    fqdn: str
    ip: str
    zone: str
    role: str  # dc, pki, jump, web, app, file, db, workstation
    os: str
    sid: str
    dn: str
    parent: Ref
    whencreated: int
    lastlogon: int
    pwdlastset: int
    enabled: bool = True
    unconstrained: bool = False
    primary_user: str | None = None  # SID of the workstation's owner
    admins: list[Ref] = field(default_factory=list)  # local Administrators (-544)
    rdp: list[Ref] = field(default_factory=list)  # local Remote Desktop Users (-555)
    sessions: list[str] = field(default_factory=list)  # user SIDs logged on
    allowed_to_act: list[Ref] = field(default_factory=list)

    @property
    def services(self) -> tuple[tuple[int, str, str, str], ...]:
        """Listening services by role, for the network-scan writers to come."""
        return SERVICES_BY_ROLE[self.role]

    @property
    def is_dc(self) -> bool:
        return self.role == "dc"


@dataclass(slots=True)
class User:
    sam: str
    name: str  # twin key, SAM@DOMAIN upper-case
    sid: str
    dn: str
    parent: Ref
    kind: str  # builtin, tier0, tier1, tier2, helpdesk, service, staff
    whencreated: int
    pwdlastset: int
    lastlogon: int
    enabled: bool = True
    displayname: str | None = None
    title: str | None = None
    department: str | None = None
    email: str | None = None
    description: str | None = None
    spns: list[str] = field(default_factory=list)
    dontreqpreauth: bool = False
    admincount: bool = False
    pwdneverexpires: bool = False
    sensitive: bool = False
    trustedtoauth: bool = False
    delegate_to: list[Ref] = field(default_factory=list)
    delegate_spns: list[str] = field(default_factory=list)
    spn_targets: list[dict] = field(default_factory=list)
    primary_group_rid: int = 513


@dataclass(slots=True)
class Group:
    name: str  # twin key
    sam: str
    sid: str
    dn: str | None
    parent: Ref | None
    kind: str  # builtin, domain, stub, tier, dept, team, resource
    whencreated: int
    description: str | None = None
    highvalue: bool = False
    admincount: bool = False
    members: list[Ref] = field(default_factory=list)


@dataclass(slots=True)
class Container:
    """An OU or a container (`kind`), with what it holds (filled once everything exists)."""

    guid: str
    dn: str
    name: str
    kind: str  # OU, Container
    parent: Ref | None
    whencreated: int
    description: str | None = None
    links: list[str] = field(default_factory=list)  # GPO object ids
    children: list[Ref] = field(default_factory=list)
    affected_computers: list[Ref] = field(default_factory=list)


@dataclass(slots=True)
class Gpo:
    guid: str
    dn: str
    name: str
    whencreated: int
    gpcpath: str


@dataclass(slots=True)
class CertTemplate:
    guid: str
    name: str  # CN, upper-case
    displayname: str
    dn: str
    schemaversion: int
    ekus: list[str]
    enrollee_supplies_subject: bool
    requires_manager_approval: bool
    certificatenameflag: str
    enrollmentflag: str
    enrollees: list[Ref]
    whencreated: int
    oid: str
    authorized_signatures: int = 0

    @property
    def authentication_enabled(self) -> bool:
        return not self.ekus or bool(AUTH_EKUS & set(self.ekus))

    @property
    def esc1(self) -> bool:
        """ESC1 as BloodHound reads it: the enrollee names the subject, the certificate
        authenticates, and no manager or agent signature stands in the way."""
        return (self.enrollee_supplies_subject and self.authentication_enabled
                and not self.requires_manager_approval and self.authorized_signatures == 0)


@dataclass(slots=True)
class Pki:
    ca_guid: str
    ca_name: str  # CORP-PKI01-CA
    root_guid: str
    aia_guid: str
    ntauth_guid: str
    thumbprint: str
    host_sid: str
    host_fqdn: str
    whencreated: int
    domain_dn: str
    templates: list[CertTemplate] = field(default_factory=list)

    @property
    def ca_dn(self) -> str:
        """The enterprise CA's twin key (AD CS objects are keyed by DN)."""
        return f"CN={self.ca_name},CN=ENROLLMENT SERVICES,CN=PUBLIC KEY SERVICES,CN=SERVICES,CN=CONFIGURATION,{self.domain_dn}".upper()


@dataclass
class Enterprise:
    """The whole synthetic organisation: what every writer renders."""

    seed: int
    domain: str  # CORP.LOCAL
    netbios: str  # CORP
    domain_sid: str
    domain_dn: str
    domain_created: int
    hosts: list[Host]
    users: list[User]
    groups: list[Group]
    containers: list[Container]  # OUs and containers, parents before children
    gpos: list[Gpo]
    domain_links: list[str]
    domain_children: list[Ref]
    pki: Pki
    zones: list[Zone]
    flows: list[Flow]
    # ACEs beyond each kind's default set: objectid -> [(principal sid, type, right, inherited)].
    extra_aces: dict[str, list[tuple[str, str, str, bool]]]
    inventory: list[dict]
    planted: dict
    by_sid: dict[str, object] = field(default_factory=dict, repr=False)

    def sid(self, rid: int) -> str:
        return f"{self.domain_sid}-{rid}"

    def builtin(self, rid: int) -> str:
        return f"{self.domain}-S-1-5-32-{rid}"

    def key_of(self, objectid: str) -> str:
        """The twin key (contract section 2) of an object of this enterprise."""
        obj = self.by_sid.get(objectid)
        if obj is None:
            raise KeyError(objectid)
        if isinstance(obj, Host):
            return obj.fqdn
        if isinstance(obj, (User, Group)):
            return obj.name
        if isinstance(obj, (Container, Gpo, CertTemplate)):
            return obj.dn
        raise KeyError(objectid)


def default_users(hosts: int) -> int:
    return max(40, round(hosts * 1.6))


def default_groups(users: int) -> int:
    """~1.9 groups per user: large estates accumulate app, share and mail groups
    (40k users -> 76k groups)."""
    return max(80, round(users * 1.9))


class _Builder:
    def __init__(self, seed: int, hosts: int, users: int, groups: int, domain: str,
                 misconfig_rate: float) -> None:
        if hosts < 8:
            raise ValueError("hosts must be at least 8 (one of each server role and a workstation)")
        if users < 30:
            raise ValueError("users must be at least 30 (built-in, admin and service accounts first)")
        if not 0 <= misconfig_rate <= 1:
            raise ValueError("misconfig_rate must lie between 0 and 1")
        self.rng = random.Random(seed)
        self.seed, self.n_hosts, self.n_users, self.n_groups = seed, hosts, users, groups
        self.domain = domain.upper().strip(".")
        self.netbios = self.domain.split(".")[0]
        self.domain_dn = ",".join(f"DC={p}" for p in self.domain.split("."))
        r = self.rng
        self.domain_sid = f"S-1-5-21-{r.randint(10**8, 4 * 10**9)}-{r.randint(10**8, 4 * 10**9)}-{r.randint(10**8, 4 * 10**9)}"
        self.domain_created = BASE_TIME - r.randint(1500, 3000) * DAY
        self.misconfig_rate = misconfig_rate
        self.next_rid = 1103
        self.extra_aces: dict[str, list[tuple[str, str, str, bool]]] = {}
        self.planted: dict = {}
        self.by_sid: dict[str, object] = {}

    # -- small helpers -------------------------------------------------------------
    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4)).upper()

    def rid(self) -> str:
        self.next_rid += 1
        return f"{self.domain_sid}-{self.next_rid - 1}"

    def sid(self, rid: int) -> str:
        return f"{self.domain_sid}-{rid}"

    def builtin(self, rid: int) -> str:
        return f"{self.domain}-S-1-5-32-{rid}"

    def when(self, lo_days: int, hi_days: int) -> int:
        return BASE_TIME - self.rng.randint(lo_days, hi_days) * DAY - self.rng.randint(0, DAY - 1)

    def ace(self, target: str, principal: Ref, right: str, inherited: bool = False) -> None:
        self.extra_aces.setdefault(target, []).append((principal[0], principal[1], right, inherited))

    # -- directory skeleton ------------------------------------------------------------
    def build_containers(self) -> None:
        d = self.domain_dn
        dom_ref = (self.domain_sid, "Domain")
        self.containers: list[Container] = []
        self.ou_by_name: dict[str, Container] = {}

        def add(kind: str, rdn: str, parent: Container | None, desc: str | None = None,
                parent_type: str | None = None) -> Container:
            dn = f"{rdn},{parent.dn if parent else d}"
            pref = (parent.guid, parent_type or parent.kind) if parent else dom_ref
            c = Container(self.guid(), dn.upper(), rdn.split("=", 1)[1].upper(), kind, pref,
                          self.domain_created + self.rng.randint(0, 3 * DAY), desc)
            self.containers.append(c)
            self.by_sid[c.guid] = c
            return c

        self.c_users = add("Container", "CN=Users", None)
        self.c_computers = add("Container", "CN=Computers", None)
        system = add("Container", "CN=System", None)
        add("Container", "CN=Policies", system)
        add("Container", "CN=AdminSDHolder", system)
        add("Container", "CN=ForeignSecurityPrincipals", None)
        add("Container", "CN=Managed Service Accounts", None)
        add("Container", "CN=Program Data", None)
        config = add("Container", "CN=Configuration", None)
        # SharpHound types the configuration partition's direct children's parent as
        # "Configuration" (see the real sample), so keep that quirk.
        services = add("Container", "CN=Services", config, parent_type="Configuration")
        pks = add("Container", "CN=Public Key Services", services)
        self.c_templates = add("Container", "CN=Certificate Templates", pks)
        self.c_enrollment = add("Container", "CN=Enrollment Services", pks)
        self.c_cas = add("Container", "CN=Certification Authorities", pks)
        self.c_aia = add("Container", "CN=AIA", pks)
        self.c_pks = pks

        ou = self.ou_by_name
        ou["dc"] = add("OU", "OU=Domain Controllers", None, "Default container for domain controllers")
        ou["tier0"] = add("OU", "OU=Tier0", None, "Tier 0: identity and PKI")
        ou["tier0_admins"] = add("OU", "OU=Admins", ou["tier0"], "Tier 0 administrator accounts")
        ou["tier0_servers"] = add("OU", "OU=Servers", ou["tier0"], "Tier 0 servers")
        ou["tier0_groups"] = add("OU", "OU=Groups", ou["tier0"], "Tier 0 groups")
        ou["servers"] = add("OU", "OU=Servers", None, "Member servers")
        ou["dmz"] = add("OU", "OU=DMZ", ou["servers"], "Internet-facing servers")
        ou["workstations"] = add("OU", "OU=Workstations", None, "Managed workstations")
        ou["staff"] = add("OU", "OU=Staff", None, "Employee accounts")
        for dept in DEPARTMENTS:
            ou[f"dept:{dept}"] = add("OU", f"OU={dept.title()}", ou["staff"])
        ou["it_admins"] = add("OU", "OU=IT Admins", None, "Tier 1 and 2 administrator accounts")
        ou["service_accounts"] = add("OU", "OU=Service Accounts", None)
        ou["groups"] = add("OU", "OU=Groups", None, "Role, application and share groups")

    def build_gpos(self) -> None:
        self.gpos: list[Gpo] = []

        def gpo(name: str, policy_guid: str | None = None) -> Gpo:
            pg = policy_guid or "{" + self.guid() + "}"
            dn = f"CN={pg},CN=POLICIES,CN=SYSTEM,{self.domain_dn}".upper()
            g = Gpo(self.guid(), dn, f"{name}@{self.domain}".upper(),
                    self.domain_created + self.rng.randint(0, 400) * DAY,
                    f"\\\\{self.domain}\\SYSVOL\\{self.domain}\\POLICIES\\{pg}".upper())
            self.gpos.append(g)
            self.by_sid[g.guid] = g
            return g

        default = gpo("Default Domain Policy", "{31B2F340-016D-11D2-945F-00C04FB984F9}")
        dcpol = gpo("Default Domain Controllers Policy", "{6AC1786C-016F-11D2-945F-00C04FB984F9}")
        ws = gpo("Workstation Baseline")
        srv = gpo("Server Baseline")
        t0 = gpo("Tier0 Hardening")
        self.domain_links = [default.guid]
        ou = self.ou_by_name
        ou["dc"].links.append(dcpol.guid)
        ou["workstations"].links.append(ws.guid)
        ou["servers"].links.append(srv.guid)
        ou["tier0"].links.append(t0.guid)
        self.gpo_ws = ws

    # -- principals ----------------------------------------------------------------------
    def build_fixed_groups(self) -> None:
        self.groups: list[Group] = []
        self.gsid: dict[str, str] = {}  # short handle -> SID
        created = self.domain_created
        for rid, name, desc, hv in BUILTIN_GROUPS:
            g = Group(f"{name}@{self.domain}", name.title(), self.builtin(rid),
                      f"CN={name},CN=BUILTIN,{self.domain_dn}", ("S-1-5-32", "Base"), "builtin",
                      created, desc, hv, hv)
            self._add_group(g)
        for rid, name, desc, tier0, protected in DOMAIN_GROUPS:
            g = Group(f"{name}@{self.domain}", name.title(), self.sid(rid),
                      f"CN={name},CN=USERS,{self.domain_dn}", (self.c_users.guid, "Container"),
                      "domain", created, desc, tier0, protected)
            self._add_group(g)
        for rid, name, desc in ((1101, "DNSADMINS", "DNS Administrators Group"),
                                (1102, "DNSUPDATEPROXY", "DNS clients who are permitted to perform dynamic updates")):
            self._add_group(Group(f"{name}@{self.domain}", name.title(), self.sid(rid),
                                  f"CN={name},CN=USERS,{self.domain_dn}", (self.c_users.guid, "Container"),
                                  "domain", created, desc))
        for sid, name in WELL_KNOWN_STUBS:
            self._add_group(Group(f"{name}@{self.domain}", name, f"{self.domain}-{sid}", None, None,
                                  "stub", created))
        ou = self.ou_by_name

        def custom(handle: str, name: str, where: Container, desc: str, hv: bool = False) -> Group:
            g = Group(f"{name}@{self.domain}", name.title(), self.rid(), f"CN={name},{where.dn}",
                      (where.guid, "OU"), "tier", self.when(200, 1400), desc, hv, hv)
            self._add_group(g)
            self.gsid[handle] = g.sid
            return g

        custom("tier0", "TIER0-ADMINS", ou["tier0_groups"], "Tier 0 administrators (nested in Domain Admins)", True)
        custom("pki_admins", "PKI-ADMINS", ou["tier0_groups"], "Certificate services administrators")
        custom("server_admins", "SERVER-ADMINS", ou["groups"], "Tier 1: local administrators of member servers")
        custom("db_admins", "DB-ADMINS", ou["groups"], "Database server administrators")
        custom("web_admins", "WEB-ADMINS", ou["groups"], "Web server administrators")
        custom("ws_admins", "WORKSTATION-ADMINS", ou["groups"], "Tier 2: local administrators of workstations")
        custom("helpdesk", "HELPDESK", ou["groups"], "Service desk: password resets and workstation support")
        custom("service_accounts", "SERVICE-ACCOUNTS", ou["groups"], "Application service accounts")
        custom("vpn_users", "VPN-USERS", ou["groups"], "Remote access users")
        custom("legacy_sync", "LEGACY-DIRSYNC", ou["groups"], "Old directory synchronisation (decommissioned?)")

    def _add_group(self, g: Group) -> None:
        self.groups.append(g)
        self.by_sid[g.sid] = g

    def _names(self, n: int, prefix: str = "") -> list[tuple[str, str, str]]:
        """n distinct (sam, first, last); collisions get a number as directories do."""
        out, used = [], self._used_sams
        r = self.rng
        for _ in range(n):
            first, last = r.choice(FIRST), r.choice(LAST)
            base = f"{prefix}{first[0]}{last}"
            sam, k = base, used.get(base, 0)
            if k:
                sam = f"{base}{k + 1}"
            used[base] = k + 1
            out.append((sam, first, last))
        return out

    def _user(self, sam: str, kind: str, where: Container | tuple[Ref, str], **kw) -> User:
        if isinstance(where, Container):
            parent, pdn = (where.guid, where.kind), where.dn
        else:
            parent, pdn = where
        sid = kw.pop("sid", None) or self.rid()
        created = kw.pop("whencreated", None) or self.when(30, 2500)
        pwd = kw.pop("pwdlastset", None) or max(created, self.when(1, 700))
        last = kw.pop("lastlogon", None) or max(pwd, self.when(0, 60))
        u = User(sam, f"{sam}@{self.domain}".upper(), sid, f"CN={sam},{pdn}".upper(), parent, kind,
                 created, pwd, last, **kw)
        self.users.append(u)
        self.by_sid[sid] = u
        return u

    def build_users(self) -> None:
        self.users: list[User] = []
        self._used_sams: dict[str, int] = {}
        U = self.n_users
        cu = ((self.c_users.guid, "Container"), self.c_users.dn)
        created = self.domain_created
        self.administrator = self._user("Administrator", "builtin", cu, sid=self.sid(500), whencreated=created,
                                        admincount=True, description="Built-in account for administering the computer/domain")
        self._user("Guest", "builtin", cu, sid=self.sid(501), whencreated=created, enabled=False,
                   lastlogon=created, description="Built-in account for guest access to the computer/domain",
                   primary_group_rid=514)
        self._user("krbtgt", "builtin", cu, sid=self.sid(502), whencreated=created, enabled=False,
                   lastlogon=created, admincount=True, spns=["kadmin/changepw"],
                   description="Key Distribution Center Service Account")
        for s in ("Administrator", "Guest", "krbtgt"):
            self._used_sams[s] = 1
        ou = self.ou_by_name
        n_t0, n_t1, n_t2 = max(2, U // 4000), max(2, U // 400), max(2, U // 300)
        n_hd, n_svc = max(3, U // 200), max(4, U // 500)
        n_staff = U - 3 - n_t0 - n_t1 - n_t2 - n_hd - n_svc
        if n_staff < 5:
            raise ValueError(f"users={U} leaves too few staff accounts; use at least 30")
        self.tier0 = [self._user(f"t0-{s}", "tier0", ou["tier0_admins"], admincount=True, pwdneverexpires=False,
                                 displayname=f"{f.title()} {la.title()} (Tier 0)", title="Identity Engineer",
                                 department="IT", sensitive=True)
                      for s, f, la in self._names(n_t0)]
        self.tier1 = [self._user(f"t1-{s}", "tier1", ou["it_admins"], displayname=f"{f.title()} {la.title()} (Tier 1)",
                                 title="Server Administrator", department="IT")
                      for s, f, la in self._names(n_t1)]
        self.tier2 = [self._user(f"t2-{s}", "tier2", ou["it_admins"], displayname=f"{f.title()} {la.title()} (Tier 2)",
                                 title="Desktop Engineer", department="IT")
                      for s, f, la in self._names(n_t2)]
        self.helpdesk = [self._user(f"helpdesk{i + 1}", "helpdesk", ou["it_admins"], title="Service Desk Analyst",
                                    department="SUPPORT", displayname=f"Helpdesk {i + 1}")
                         for i in range(n_hd)]
        for i in range(n_hd):
            self._used_sams[f"helpdesk{i + 1}"] = 1
        svc_names = ["svc-backup", "svc-sql", "svc-web", "svc-scan"] + [f"svc-app{i:03d}" for i in range(1, n_svc - 3)]
        self.services = [self._user(s, "service", ou["service_accounts"], pwdneverexpires=True,
                                    description=f"Service account ({s[4:].upper()})", pwdlastset=self.when(900, 2000))
                         for s in svc_names]
        self.staff = []
        for s, f, la in self._names(n_staff):
            dept = DEPARTMENTS[self.rng.randrange(len(DEPARTMENTS))]
            self.staff.append(self._user(s, "staff", ou[f"dept:{dept}"], displayname=f"{f.title()} {la.title()}",
                                         title=f"{dept.title()} Specialist", department=dept,
                                         email=f"{s}@{self.domain.lower()}"))
        # A few leavers: disabled, never cleaned up.
        for u in self.rng.sample(self.staff, max(1, len(self.staff) // 50)):
            u.enabled = False

    def build_hosts(self) -> None:
        H, r = self.n_hosts, self.rng
        small = H < 30
        n_dc = 1 if H < 20 else 2 if H < 2000 else min(12, 2 + H // 4000)
        counts = {
            "dc": n_dc, "pki": 1, "jump": 1 if H < 500 else 2,
            "web": max(1 if small else 2, round(H * 0.01)),
            "app": max(1 if small else 3, round(H * 0.04)),
            "file": max(1, round(H * 0.005)),
            "db": max(1 if small else 2, round(H * 0.01)),
        }
        counts["workstation"] = H - sum(counts.values())
        if counts["workstation"] < 1:
            raise ValueError(f"hosts={H} leaves no workstations")
        prefix = {"dc": "DC", "pki": "PKI", "jump": "JUMP", "web": "WEB", "app": "APP", "file": "FS",
                  "db": "DB", "workstation": "WS"}
        zone_of = {"dc": "mgmt", "pki": "mgmt", "jump": "mgmt", "web": "dmz", "app": "servers",
                   "file": "servers", "db": "db", "workstation": "corp"}
        in_zone: dict[str, int] = {}
        for role, zone in zone_of.items():
            in_zone[zone] = in_zone.get(zone, 0) + counts[role]
        bases = {"dmz": "10.10.0.0", "corp": "10.20.0.0", "servers": "10.30.0.0", "db": "10.40.0.0",
                 "mgmt": "10.50.0.0"}
        self.zone_nets: dict[str, ipaddress.IPv4Network] = {}
        for zone, base in bases.items():
            # room for the hosts, 10 reserved at the start, and the inventory's appliances
            need = in_zone.get(zone, 0) + 20
            plen = max(8, min(24, 32 - math.ceil(math.log2(need + 2))))
            self.zone_nets[zone] = ipaddress.ip_network(f"{base}/{plen}", strict=False)
        next_ip = {z: int(n.network_address) + 10 for z, n in self.zone_nets.items()}
        server_os = ("Windows Server 2016 Standard", "Windows Server 2019 Standard", "Windows Server 2022 Standard")
        ws_os = ("Windows 10 Enterprise", "Windows 11 Enterprise", "Windows 11 Enterprise")
        ou = self.ou_by_name
        where = {"dc": ou["dc"], "pki": ou["tier0_servers"], "jump": ou["tier0_servers"], "web": ou["dmz"],
                 "app": ou["servers"], "file": ou["servers"], "db": ou["servers"], "workstation": ou["workstations"]}
        self.hosts: list[Host] = []
        self.by_role: dict[str, list[Host]] = {}
        dc_rid = 1000
        for role in ("dc", "pki", "jump", "web", "app", "file", "db", "workstation"):
            width = max(2, len(str(counts[role])))
            for i in range(counts[role]):
                short = f"{prefix[role]}{i + 1:0{width}d}"
                fqdn = f"{short}.{self.domain}"
                if role == "dc":
                    sid, dc_rid = self.sid(dc_rid), dc_rid + 1
                    os_name = "Windows Server 2022 Datacenter"
                else:
                    sid = self.rid()
                    os_name = r.choice(ws_os if role == "workstation" else server_os)
                container = where[role]
                # A few workstations were joined without being moved out of the default container.
                if role == "workstation" and r.random() < 0.02:
                    container = self.c_computers
                zone = zone_of[role]
                ip = str(ipaddress.ip_address(next_ip[zone]))
                next_ip[zone] += 1
                created = self.when(20, 2000)
                h = Host(short, fqdn, ip, zone, role, os_name, sid, f"CN={short},{container.dn}".upper(),
                         (container.guid, container.kind), created, max(created, self.when(0, 14)),
                         max(created, self.when(0, 30)), unconstrained=(role == "dc"))
                self.hosts.append(h)
                self.by_role.setdefault(role, []).append(h)
                self.by_sid[sid] = h
        self.next_free_ip = next_ip

    # -- relationships -----------------------------------------------------------------------
    def build_groups_and_members(self) -> None:
        r, ou = self.rng, self.ou_by_name
        g = {x.sid: x for x in self.groups}

        def member(group_sid: str, ref: Ref) -> None:
            g[group_sid].members.append(ref)

        u = lambda x: (x.sid, "User")  # noqa: E731
        grp = lambda s: (s, "Group")  # noqa: E731
        comp = lambda h: (h.sid, "Computer")  # noqa: E731
        da, ea, sa, gpco = self.sid(512), self.sid(519), self.sid(518), self.sid(520)
        member(self.builtin(544), u(self.administrator))
        member(self.builtin(544), grp(ea))
        member(self.builtin(544), grp(da))
        member(self.builtin(545), grp(self.sid(513)))
        member(self.builtin(545), grp(f"{self.domain}-S-1-5-11"))
        member(self.builtin(546), u(self.users[1]))
        member(self.builtin(546), grp(self.sid(514)))
        member(self.builtin(554), grp(f"{self.domain}-S-1-5-11"))
        member(self.builtin(560), grp(f"{self.domain}-S-1-5-9"))
        member(self.builtin(574), grp(f"{self.domain}-S-1-5-11"))
        for x in (da, ea, sa, gpco):
            member(x, u(self.administrator))
        for x in (self.sid(502),):
            member(self.sid(572), (x, "User"))
        for x in (da, self.sid(516), self.sid(517), sa, ea, gpco, self.sid(521)):
            member(self.sid(572), grp(x))
        member(self.sid(517), comp(self.by_role["pki"][0]))
        for h in self.by_role["dc"]:
            member(f"{self.domain}-S-1-5-9", comp(h))
        # Tiers: Tier0 admins reach Domain Admins through a nested group, as most estates do.
        member(da, grp(self.gsid["tier0"]))
        for a in self.tier0:
            member(self.gsid["tier0"], u(a))
            member(self.sid(525), u(a))  # Protected Users
        member(self.gsid["pki_admins"], u(self.tier0[0]))
        for a in self.tier1:
            member(self.gsid["server_admins"], u(a))
        half = max(1, len(self.tier1) // 2)
        for a in self.tier1[:half]:
            member(self.gsid["db_admins"], u(a))
        for a in self.tier1[half:]:
            member(self.gsid["web_admins"], u(a))
        for a in self.tier2:
            member(self.gsid["ws_admins"], u(a))
        for a in self.helpdesk:
            member(self.gsid["helpdesk"], u(a))
        # Helpdesk nested in workstation admins: common, and it widens tier 2.
        member(self.gsid["ws_admins"], grp(self.gsid["helpdesk"]))
        for s in self.services:
            member(self.gsid["service_accounts"], u(s))
        svc = {s.sam: s for s in self.services}
        member(self.gsid["db_admins"], u(svc["svc-sql"]))
        member(self.builtin(551), u(svc["svc-backup"]))  # Backup Operators
        member(self.gsid["server_admins"], u(svc["svc-scan"]))  # a scanner with admin everywhere

        # Departments and teams: users sit in a team, teams nest into their department.
        dept_groups: dict[str, Group] = {}
        for dept in DEPARTMENTS:
            dg = Group(f"DEPT-{dept}@{self.domain}", f"Dept-{dept.title()}", self.rid(),
                       f"CN=DEPT-{dept},{ou['groups'].dn}", (ou["groups"].guid, "OU"), "dept",
                       self.when(500, 2500), f"All {dept.title()} staff")
            self._add_group(dg)
            dept_groups[dept] = dg
        n_teams = max(2, len(self.staff) // 25)
        teams: list[Group] = []
        teams_by_dept: dict[str, list[Group]] = {d: [] for d in DEPARTMENTS}
        for i in range(n_teams):
            dept = DEPARTMENTS[i % len(DEPARTMENTS)]
            tg = Group(f"TEAM-{dept}-{i + 1:04d}@{self.domain}", f"Team-{dept.title()}-{i + 1:04d}", self.rid(),
                       f"CN=TEAM-{dept}-{i + 1:04d},{ou['groups'].dn}", (ou["groups"].guid, "OU"), "team",
                       self.when(100, 2000), f"{dept.title()} team {i + 1}")
            self._add_group(tg)
            teams.append(tg)
            teams_by_dept[dept].append(tg)
            dept_groups[dept].members.append((tg.sid, "Group"))
        for s in self.staff:
            options = teams_by_dept[s.department] or teams
            options[r.randrange(len(options))].members.append(u(s))
        vpn = g[self.gsid["vpn_users"]]
        for s in self.staff:
            if r.random() < 0.3:
                vpn.members.append(u(s))

        # Resource groups: applications, shares, mailing lists. Most of the estate's groups.
        fixed = len(self.groups)
        n_res = max(1, self.n_groups - fixed)
        self.resource: list[Group] = []
        kinds = ("APP-{a}-{i:05d}-USERS", "FS-{d}-{i:05d}-RW", "FS-{d}-{i:05d}-RO", "DL-{d}-{i:05d}",
                 "APP-{a}-{i:05d}-ADMINS", "PRJ-{d}-{i:05d}")
        staff, n_staff = self.staff, len(self.staff)
        sizes = (1, 1, 2, 2, 3, 3, 4, 5, 6, 8)
        for i in range(n_res):
            pattern = kinds[i % len(kinds)]
            name = pattern.format(a=APPS[r.randrange(len(APPS))], d=DEPARTMENTS[r.randrange(len(DEPARTMENTS))], i=i + 1)
            rg = Group(f"{name}@{self.domain}", name.title(), self.rid(), f"CN={name},{ou['groups'].dn}",
                       (ou["groups"].guid, "OU"), "resource", self.when(10, 2400))
            k = sizes[r.randrange(len(sizes))]
            picked = {staff[r.randrange(n_staff)].sid for _ in range(k)}
            rg.members = [(sid, "User") for sid in sorted(picked)]
            roll = r.random()
            if roll < 0.15:
                rg.members.append((teams[r.randrange(len(teams))].sid, "Group"))
            elif roll < 0.20 and self.resource:
                # nest an older resource group: edges only point backwards, so no cycles
                rg.members.append((self.resource[r.randrange(len(self.resource))].sid, "Group"))
            self._add_group(rg)
            self.resource.append(rg)
        self.teams = teams

    def build_hosts_access(self) -> None:
        """Local groups (AdminTo / CanRDP) and sessions."""
        r = self.rng
        da = (self.sid(512), "Group")
        g = lambda h: (self.gsid[h], "Group")  # noqa: E731
        role_admins = {"web": [g("server_admins"), g("web_admins")], "app": [g("server_admins")],
                       "file": [g("server_admins")], "db": [g("server_admins"), g("db_admins")],
                       "pki": [g("tier0"), g("pki_admins")], "jump": [g("tier0")],
                       "workstation": [g("ws_admins")]}
        role_rdp = {"web": [g("web_admins")], "db": [g("db_admins")], "app": [g("server_admins")],
                    "file": [g("server_admins")], "pki": [], "jump": [g("server_admins")]}
        ws = self.by_role["workstation"]
        staff = [s for s in self.staff if s.enabled]
        for i, h in enumerate(self.hosts):
            if h.is_dc:
                continue
            h.admins = [da, *role_admins[h.role]]
            if h.role == "workstation":
                owner = staff[i % len(staff)]
                h.primary_user = owner.sid
                h.rdp = [(owner.sid, "User")]
                if r.random() < 0.8:
                    h.sessions.append(owner.sid)
            else:
                h.rdp = list(role_rdp[h.role])

        def sessions(users: list[User], hosts: list[Host], lo: int, hi: int) -> None:
            if not hosts:
                return
            for a in users:
                for _ in range(r.randint(lo, hi)):
                    h = hosts[r.randrange(len(hosts))]
                    if a.sid not in h.sessions:
                        h.sessions.append(a.sid)

        servers = [h for h in self.hosts if h.role in ("web", "app", "file", "db")]
        sessions(self.helpdesk, ws, 1, 3)
        sessions(self.tier2, ws, 1, 3)
        sessions(self.tier1, servers, 1, 3)
        sessions(self.tier0, self.by_role["dc"] + self.by_role["jump"], 1, 2)
        svc = {s.sam: s for s in self.services}
        for role, account in (("db", "svc-sql"), ("web", "svc-web"), ("file", "svc-backup")):
            for h in self.by_role[role]:
                h.sessions.append(svc[account].sid)

    def build_kerberos(self) -> None:
        svc = {s.sam: s for s in self.services}
        dbs, webs, apps = self.by_role["db"], self.by_role["web"], self.by_role["app"]
        sql = svc["svc-sql"]
        sql.spns = [f"MSSQLSvc/{h.fqdn.lower()}:1433" for h in dbs] + [f"MSSQLSvc/{h.fqdn.lower()}" for h in dbs]
        sql.spn_targets = [{"ComputerSID": h.sid, "Port": 1433, "Service": "SQLAdmin"} for h in dbs]
        web = svc["svc-web"]
        web.spns = [f"HTTP/{h.fqdn.lower()}" for h in webs]
        # Constrained delegation with protocol transition from the web tier to the database.
        web.trustedtoauth = True
        web.delegate_to = [(dbs[0].sid, "Computer")]
        web.delegate_spns = [f"MSSQLSvc/{dbs[0].fqdn.lower()}:1433", f"MSSQLSvc/{dbs[0].fqdn.lower()}"]
        svc["svc-backup"].spns = [f"backup/{h.fqdn.lower()}" for h in self.by_role["file"]]
        svc["svc-scan"].spns = [f"scan/{self.by_role['jump'][0].fqdn.lower()}"]
        for i, s in enumerate(self.services[4:]):
            h = apps[i % len(apps)]
            s.spns = [f"HTTP/{h.fqdn.lower()}:8443", f"HTTP/{h.short.lower()}:8443"]
        # AS-REP roastable: pre-authentication switched off "for a legacy app".
        n = max(1, self.n_users // 2000)
        self.asrep = self.rng.sample([s for s in self.staff if s.enabled], n)
        for s in self.asrep:
            s.dontreqpreauth = True
        # Unconstrained delegation on one member server: a classic finding.
        self.unconstrained = [apps[0]]
        apps[0].unconstrained = True

    def build_acl(self) -> None:
        """Delegations that are intended, then misconfigurations at the requested rate,
        then one complete path from an ordinary user to the domain."""
        r = self.rng
        hd = (self.gsid["helpdesk"], "Group")
        # Intended: the helpdesk resets staff passwords (inherited from the Staff OU).
        for s in self.staff:
            self.ace(s.sid, hd, "ForceChangePassword", True)
        misconfigs: list[dict] = []

        def plant(principal: Ref, right: str, target: str, note: str, inherited: bool = False) -> None:
            self.ace(target, principal, right, inherited)
            misconfigs.append({"principal": self._key(principal[0]), "right": right,
                               "target": self._key(target), "note": note})

        staff = [s for s in self.staff if s.enabled]
        res = self.resource
        user_rights = ("GenericAll", "GenericWrite", "WriteDacl", "WriteOwner", "ForceChangePassword")
        group_rights = ("GenericAll", "GenericWrite", "WriteDacl", "WriteOwner", "AddMember")
        n = max(6, round(self.misconfig_rate * (len(self.users) + len(self.groups))))
        for _ in range(n):
            principal = ((staff[r.randrange(len(staff))].sid, "User") if r.random() < 0.5
                         else (res[r.randrange(len(res))].sid, "Group"))
            if r.random() < 0.5:
                target = staff[r.randrange(len(staff))].sid
                right = user_rights[r.randrange(len(user_rights))]
            else:
                target = res[r.randrange(len(res))].sid
                right = group_rights[r.randrange(len(group_rights))]
            if target == principal[0]:
                continue
            plant(principal, right, target, "random ACL misconfiguration")
        # Privileged targets, so the misconfigurations matter.
        plant((staff[r.randrange(len(staff))].sid, "User"), "GenericAll", self.tier1[0].sid,
              "staff user controls a tier-1 admin account")
        plant(hd, "GenericWrite", self.gpo_ws.guid, "helpdesk can edit the workstation baseline GPO")
        plant((res[r.randrange(len(res))].sid, "Group"), "WriteDacl", self.gsid["server_admins"],
              "resource group can rewrite SERVER-ADMINS' ACL")

        # The planted chain: ENTRY -MemberOf-> RG -AddMember-> WORKSTATION-ADMINS
        #   -AdminTo-> WS -HasSession-> T0 admin -MemberOf-> TIER0-ADMINS -MemberOf-> DOMAIN ADMINS
        entry = staff[r.randrange(len(staff))]
        rg = res[r.randrange(len(res))]
        if (entry.sid, "User") not in rg.members:
            rg.members.append((entry.sid, "User"))
        plant((rg.sid, "Group"), "AddMember", self.gsid["ws_admins"], "attack path: resource group can add members to WORKSTATION-ADMINS")
        ws = self.by_role["workstation"]
        victim_ws = ws[r.randrange(len(ws))]
        t0 = self.tier0[0]
        if t0.sid not in victim_ws.sessions:
            victim_ws.sessions.append(t0.sid)
        self.planted["attack_path"] = {
            "description": "ordinary user -> resource group with AddMember on WORKSTATION-ADMINS -> local admin "
                           "on a workstation where a tier-0 admin is logged on -> Domain Admins -> domain",
            "nodes": [entry.name, rg.name, self._key(self.gsid["ws_admins"]), victim_ws.fqdn, t0.name,
                      self._key(self.gsid["tier0"]), f"DOMAIN ADMINS@{self.domain}", self.domain],
            "edges": ["MemberOf", "AddMember", "AdminTo", "HasSession", "MemberOf", "MemberOf", "WriteDacl"],
        }
        self.planted["admin_sessions"] = [{"computer": victim_ws.fqdn, "user": t0.name,
                                           "note": "tier-0 admin logged on a workstation"}]
        # Local admin misconfiguration: Domain Users administer one application server.
        app = self.by_role["app"][-1]
        app.admins.append((self.sid(513), "Group"))
        self.planted["local_admin_misconfig"] = [{"principal": f"DOMAIN USERS@{self.domain}", "computer": app.fqdn}]
        # DCSync by principals that are not domain controllers.
        svc = {s.sam: s for s in self.services}
        sync = self.by_sid[self.gsid["legacy_sync"]]
        sync.members.append((staff[r.randrange(len(staff))].sid, "User"))
        dcsync = [(svc["svc-backup"].sid, "User"), (sync.sid, "Group")]
        for p in dcsync:
            self.ace(self.domain_sid, p, "GetChanges")
            self.ace(self.domain_sid, p, "GetChangesAll")
        self.planted["dcsync_principals"] = [self._key(p[0]) for p in dcsync]
        self.planted["acl_misconfigurations"] = misconfigs

    def _key(self, objectid: str) -> str:
        obj = self.by_sid[objectid]
        if isinstance(obj, Host):
            return obj.fqdn
        if isinstance(obj, (User, Group)):
            return obj.name
        return obj.dn  # type: ignore[union-attr]

    def build_pki(self) -> None:
        r = self.rng
        host = self.by_role["pki"][0]
        ca_name = f"{self.netbios}-{host.short}-CA"
        created = self.domain_created + r.randint(30, 200) * DAY
        thumb = "".join(r.choice("0123456789ABCDEF") for _ in range(40))
        self.pki = Pki(self.guid(), ca_name, self.guid(), self.guid(), self.guid(), thumb, host.sid, host.fqdn, created,
                       self.domain_dn)
        g = lambda s: (s, "Group")  # noqa: E731
        du, dc_, da, ea = g(self.sid(513)), g(self.sid(515)), g(self.sid(512)), g(self.sid(519))
        dcs, edc = g(self.sid(516)), g(f"{self.domain}-S-1-5-9")
        upn = "SUBJECT_ALT_REQUIRE_UPN, SUBJECT_ALT_REQUIRE_EMAIL, SUBJECT_REQUIRE_EMAIL, SUBJECT_REQUIRE_DIRECTORY_PATH"
        dns = "SUBJECT_ALT_REQUIRE_DNS, SUBJECT_REQUIRE_DNS_AS_CN"
        ess = "ENROLLEE_SUPPLIES_SUBJECT"
        legacy = self.resource[r.randrange(len(self.resource))]
        specs = [
            # name, display, schema, ekus, ESS, manager approval, name flag, enrollment flag, enrollees
            ("USER", "User", 1, [EFS, SECURE_EMAIL, CLIENT_AUTH], False, False, upn, "INCLUDE_SYMMETRIC_ALGORITHMS, PUBLISH_TO_DS, AUTO_ENROLLMENT", [du]),
            ("MACHINE", "Computer", 1, [CLIENT_AUTH, SERVER_AUTH], False, False, dns, "AUTO_ENROLLMENT", [dc_]),
            ("DOMAINCONTROLLER", "Domain Controller", 1, [CLIENT_AUTH, SERVER_AUTH], False, False,
             "SUBJECT_ALT_REQUIRE_DIRECTORY_GUID, " + dns, "INCLUDE_SYMMETRIC_ALGORITHMS, PUBLISH_TO_DS, AUTO_ENROLLMENT", [dcs, edc]),
            ("KERBEROSAUTHENTICATION", "Kerberos Authentication", 2, [CLIENT_AUTH, SERVER_AUTH, SMARTCARD_LOGON, KDC_AUTH],
             False, False, "SUBJECT_ALT_REQUIRE_DOMAIN_DNS, SUBJECT_ALT_REQUIRE_DNS", "AUTO_ENROLLMENT", [dcs, edc]),
            ("WEBSERVER", "Web Server", 1, [SERVER_AUTH], True, False, ess, "NONE", []),
            ("SUBCA", "Subordinate Certification Authority", 1, [], True, False, ess, "NONE", []),
            ("ADMINISTRATOR", "Administrator", 1, ["1.3.6.1.4.1.311.10.3.1", EFS, SECURE_EMAIL, CLIENT_AUTH], False, False,
             upn, "INCLUDE_SYMMETRIC_ALGORITHMS, PUBLISH_TO_DS, AUTO_ENROLLMENT", []),
            ("EFS", "Basic EFS", 1, [EFS], False, False, "SUBJECT_ALT_REQUIRE_UPN, SUBJECT_REQUIRE_DIRECTORY_PATH",
             "INCLUDE_SYMMETRIC_ALGORITHMS, PUBLISH_TO_DS, AUTO_ENROLLMENT", [du]),
            # ESC1: the enrollee writes the subject, the certificate logs on, any user may enroll.
            ("CORPVPN", "Corp VPN", 2, [CLIENT_AUTH, SECURE_EMAIL], True, False, ess, "INCLUDE_SYMMETRIC_ALGORITHMS, PUBLISH_TO_DS", [du]),
            ("LEGACYCLIENTAUTH", "Legacy Client Auth", 2, [CLIENT_AUTH], True, False, ess, "NONE", [g(legacy.sid)]),
            # Look-alikes that are not ESC1: server-auth only; manager approval required.
            ("CORPWEBSERVER", "Corp Web Server", 2, [SERVER_AUTH], True, False, ess, "NONE", [dc_, du]),
            ("SMARTCARDADMIN", "Smartcard Admin", 2, [CLIENT_AUTH, SMARTCARD_LOGON], True, True, ess,
             "INCLUDE_SYMMETRIC_ALGORITHMS, PEND_ALL_REQUESTS, PUBLISH_TO_DS", [du]),
        ]
        base_oid = f"1.3.6.1.4.1.311.21.8.{r.randint(10**6, 10**7)}.{r.randint(10**6, 10**7)}"
        for i, (name, display, schema, ekus, ess_, approval, nflag, eflag, enrollees) in enumerate(specs):
            t = CertTemplate(self.guid(), name, display, f"CN={name},{self.c_templates.dn}", schema, ekus, ess_, approval,
                             nflag, eflag, [da, ea, *enrollees],
                             created + (r.randint(0, 900) * DAY if schema > 1 else 0), f"{base_oid}.{i + 1}")
            self.pki.templates.append(t)
            self.by_sid[t.guid] = t
        self.planted["esc1_templates"] = [
            {"template": t.dn, "name": t.name, "enrollees": [self._key(e[0]) for e in t.enrollees[2:]],
             "ca": self.pki.ca_dn} for t in self.pki.templates if t.esc1 and t.name in ("CORPVPN", "LEGACYCLIENTAUTH")]
        self.planted["not_esc1_lookalikes"] = [t.dn for t in self.pki.templates if t.name in ("CORPWEBSERVER", "SMARTCARDADMIN")]

    def link_children(self) -> None:
        """ChildObjects and GPO AffectedComputers, from every object's ContainedBy."""
        by_guid = {c.guid: c for c in self.containers}
        self.domain_children: list[Ref] = []
        for c in self.containers:
            if c.parent and c.parent[0] in by_guid:
                by_guid[c.parent[0]].children.append((c.guid, c.kind))
            elif c.parent and c.parent[1] == "Domain":
                self.domain_children.append((c.guid, c.kind))
        for u in self.users:
            by_guid[u.parent[0]].children.append((u.sid, "User"))
        for g in self.groups:
            if g.parent and g.parent[0] in by_guid:
                by_guid[g.parent[0]].children.append((g.sid, "Group"))
        for h in self.hosts:
            by_guid[h.parent[0]].children.append((h.sid, "Computer"))
            node = by_guid.get(h.parent[0])
            while node is not None:
                if node.kind == "OU":
                    node.affected_computers.append((h.sid, "Computer"))
                node = by_guid.get(node.parent[0]) if node.parent else None
        for t in self.pki.templates:
            self.c_templates.children.append((t.guid, "CertTemplate"))
        self.c_enrollment.children.append((self.pki.ca_guid, "EnterpriseCA"))
        self.c_cas.children.append((self.pki.root_guid, "RootCA"))
        self.c_aia.children.append((self.pki.aia_guid, "AIACA"))
        self.c_pks.children.append((self.pki.ntauth_guid, "NTAuthStore"))

    # -- network and inventory ------------------------------------------------------------
    def build_network(self) -> None:
        nets = self.zone_nets
        self.zones = [
            Zone("dmz", str(nets["dmz"]), True, ["443/tcp"], "Internet-facing web tier"),
            Zone("corp", str(nets["corp"]), description="Employee workstations"),
            Zone("servers", str(nets["servers"]), description="Application and file servers"),
            Zone("db", str(nets["db"]), description="Database servers"),
            Zone("mgmt", str(nets["mgmt"]), description="Tier 0: domain controllers, PKI, jump hosts"),
        ]
        ad = ["53/tcp", "53/udp", "88/tcp", "88/udp", "135/tcp", "389/tcp", "445/tcp", "464/tcp", "636/tcp",
              "3268/tcp", "49152-65535/tcp"]
        admin = ["22/tcp", "445/tcp", "3389/tcp", "5985/tcp"]
        self.flows = [
            Flow("corp", "dmz", ["443/tcp"]),
            Flow("corp", "servers", ["443/tcp", "445/tcp", "8443/tcp"]),
            Flow("corp", "mgmt", ad),
            Flow("dmz", "servers", ["8443/tcp"]),
            # Planted: the web tier reaches the database zone directly, bypassing the app tier.
            Flow("dmz", "db", ["1433/tcp"]),
            Flow("servers", "db", ["1433/tcp"]),
            Flow("servers", "mgmt", ad),
            Flow("db", "mgmt", ad),
            Flow("dmz", "mgmt", ["53/udp", "88/tcp", "389/tcp"]),
            Flow("mgmt", "corp", admin),
            Flow("mgmt", "servers", admin),
            Flow("mgmt", "db", [*admin, "1433/tcp"]),
            Flow("mgmt", "dmz", admin),
        ]
        self.planted["network_exposure"] = [
            {"from": "INTERNET", "to": "dmz", "ports": ["443/tcp"], "note": "internet-facing web tier"},
            {"from": "dmz", "to": "db", "ports": ["1433/tcp"], "note": "web tier reaches the database zone directly"},
        ]

    def build_inventory(self) -> None:
        rows: list[dict] = []

        def row(name: str, type_: str, crit: str, crown: bool, owner: str, hosted_on: str = "", tags: str = "") -> None:
            rows.append({"name": name, "type": type_, "criticality": crit, "crown_jewel": "true" if crown else "false",
                         "owner": owner, "hosted_on": hosted_on, "tags": tags})

        role = self.by_role
        row(self.domain, "service", "critical", True, "it-identity", tags="tier0;active-directory")
        for h in role["dc"]:
            row(h.fqdn, "host", "critical", False, "it-identity", tags="tier0;domain-controller")
        row(role["pki"][0].fqdn, "host", "critical", False, "it-identity", tags="tier0;pki")
        for h in role["jump"]:
            row(h.fqdn.lower(), "host", "high", False, "it-identity", tags="tier0;paw")
        for h in role["file"]:
            row(h.fqdn, "host", "high", True, "it-infra", tags="file-server")
        for h in role["db"]:
            row(h.fqdn, "host", "critical", False, "dba-team", tags="database")
        for h in role["web"]:
            row(h.fqdn, "host", "high", False, "web-team", tags="internet-facing;web")
        for h in role["app"]:
            row(h.fqdn, "host", "medium", False, "app-team", tags="application")
        db0, fs0 = role["db"][0], role["file"][0]
        db1 = role["db"][-1]
        row("CUSTOMER-DB", "data", "critical", True, "dba-team", db0.fqdn, "pii;pci;customer")
        row("FINANCE-LEDGER", "data", "critical", True, "finance", db1.fqdn, "financial;sox")
        row("HR-RECORDS", "data", "high", True, "hr", fs0.fqdn, "pii;hr")
        row(f"{role['web'][0].fqdn}:443/TCP", "service", "high", False, "web-team", role["web"][0].fqdn, "customer-portal")
        row(f"{db0.fqdn}:1433/TCP", "service", "critical", False, "dba-team", db0.fqdn, "mssql")
        for a in self.tier0:
            row(a.name, "user", "high", False, "it-identity", tags="tier0;admin")
        # An appliance AD does not know: keyed by its IP, placed in a zone by its address.
        fw_ip = str(self.zone_nets["mgmt"].network_address + self.zone_nets["mgmt"].num_addresses - 2)
        row(fw_ip, "host", "high", False, "netops", tags="firewall;appliance")
        self.inventory = rows
        self.planted["crown_jewels"] = [x["name"] for x in rows if x["crown_jewel"] == "true"]
        self.planted["appliances"] = [{"key": fw_ip, "zone": "mgmt"}]

    def finish(self) -> Enterprise:
        self.planted["kerberoastable"] = sorted(u.name for u in self.users if u.spns and u.enabled and u.sam != "krbtgt")
        self.planted["asrep_roastable"] = sorted(u.name for u in self.asrep)
        self.planted["unconstrained_delegation"] = [h.fqdn for h in self.unconstrained]
        svc_web = next(s for s in self.services if s.sam == "svc-web")
        self.planted["constrained_delegation"] = [{"principal": svc_web.name, "target": self._key(t[0])}
                                                  for t in svc_web.delegate_to]
        self.planted["privileged_kerberoastable"] = sorted(
            s.name for s in self.services if s.sam in ("svc-sql", "svc-backup", "svc-scan"))
        self.planted["tier0"] = {
            "domain_admins_group": f"DOMAIN ADMINS@{self.domain}",
            "tier0_admins": [a.name for a in self.tier0],
            "domain_controllers": [h.fqdn for h in self.by_role["dc"]],
        }
        by_sid = self.by_sid
        return Enterprise(
            seed=self.seed, domain=self.domain, netbios=self.netbios, domain_sid=self.domain_sid,
            domain_dn=self.domain_dn, domain_created=self.domain_created, hosts=self.hosts, users=self.users,
            groups=self.groups, containers=self.containers, gpos=self.gpos, domain_links=self.domain_links,
            domain_children=self.domain_children, pki=self.pki, zones=self.zones, flows=self.flows,
            extra_aces=self.extra_aces, inventory=self.inventory, planted=self.planted, by_sid=by_sid,
        )


def build_enterprise(seed: int, hosts: int = 50, users: int | None = None, groups: int | None = None, *,
                     domain: str = "CORP.LOCAL", misconfig_rate: float = 0.001) -> Enterprise:
    """The in-memory enterprise for a seed and size. `misconfig_rate` is the share of
    users and groups that receive a random dangerous ACE (at least six are planted)."""
    users = users if users is not None else default_users(hosts)
    groups = groups if groups is not None else default_groups(users)
    b = _Builder(seed, hosts, users, groups, domain, misconfig_rate)
    b.build_containers()
    b.build_gpos()
    b.build_fixed_groups()
    b.build_users()
    b.build_hosts()
    b.build_groups_and_members()
    b.build_hosts_access()
    b.build_kerberos()
    b.build_pki()
    b.build_acl()
    b.link_children()
    b.build_network()
    b.build_inventory()
    return b.finish()
