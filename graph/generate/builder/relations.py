"""Who is linked to what: group memberships, sessions and local admin rights on hosts, Kerberos
delegation and SPNs, the planted and random ACL misconfigurations, and the containers' child links.
This is where the attack paths the scenarios rely on are planted (recorded in `planted`)."""

from __future__ import annotations

from graph.generate.builder.base import _BuilderBase
from graph.generate.entities import APPS, DEPARTMENTS, Group, Host, Ref, User


class _Relations(_BuilderBase):
    """Draws the edges between the directory's objects."""

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
