"""What the estate holds beyond the directory's objects and edges: the AD CS PKI and its templates, the
network zones and flows, the inventory (crown jewels, owners), and the finished `Enterprise`. Split out
because these are drawn last, from what the directory and relations steps built."""

from __future__ import annotations

from graph.generate.builder.base import _BuilderBase
from graph.generate.entities import (
    CLIENT_AUTH,
    DAY,
    EFS,
    KDC_AUTH,
    SECURE_EMAIL,
    SERVER_AUTH,
    SMARTCARD_LOGON,
    CertTemplate,
    Enterprise,
    Flow,
    Pki,
    Zone,
)


class _Estate(_BuilderBase):
    """Draws the PKI, the network and the inventory, and assembles the Enterprise."""

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
