"""The synthetic enterprise's vocabulary and types: the name pools, built-in groups, EKUs and services
each server role runs, and the dataclasses (Host, User, Group, ...) that `Enterprise` holds and every
writer reads. Kept apart from the builder (graph.generate.builder) so a writer reads the model without
the seeded drawing that fills it; graph.generate.model re-exports all of it."""

from __future__ import annotations

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

