"""The directory's objects: OUs and containers, GPOs, the built-in and custom groups, users (built-in,
admin, service and staff accounts) and hosts by role. Split from the relations step because what exists
is drawn before who is linked to what."""

from __future__ import annotations

import ipaddress
import math

from graph.generate.builder.base import _BuilderBase
from graph.generate.entities import (
    BUILTIN_GROUPS,
    DAY,
    DEPARTMENTS,
    DOMAIN_GROUPS,
    FIRST,
    LAST,
    WELL_KNOWN_STUBS,
    Container,
    Gpo,
    Group,
    Host,
    Ref,
    User,
)


class _Directory(_BuilderBase):
    """Draws the objects of the directory."""

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
