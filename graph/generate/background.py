"""A working day (or several) of benign activity, as Zeek and Windows would record it.

What happens, in UTC, each day of the period:
- every workstation's computer account renews its TGT every ten hours and refreshes
  Group Policy every 90-120 minutes (LDAP, then an SMB network logon to its DC with
  a read of SYSVOL; the DC's matching logoffs are not written - they would be a third
  of the day's events and say nothing);
- on weekdays most workstation owners log on interactively (a cached logon for a few
  laptops off the network), start their applications (userinit -> explorer -> Edge,
  Outlook, Teams, Office: 4688 and Sysmon 1 in their logon session), unlock the
  screen, open their department share on a file server (service ticket, Zeek 445,
  network logon, 5140), use an internal web application (Kerberos SSO to its service
  account, Zeek 8443), browse the internet and resolve names, and log off;
- server administrators log on to the PAW and RDP (logon type 10) to the servers the
  directory shows them working on, where they run their tools;
- domain controllers replicate from their ring partner every hour (a network logon by
  the partner's machine account from its address, then 4662 with the
  DS-Replication-Get-Changes rights: what DCSync detection must tell apart);
- the backup server copies the file servers over SMB and the databases over TDS
  between 01:00 and 04:00 as svc-backup, in gigabytes;
- the scanner probes every host on the scan ports between 02:00 and 05:00 (the very
  probes Nmap's XML reports) and logs on to every server as svc-scan;
- customers reach the DMZ web servers from the internet; the web tier calls the
  application tier, which calls the databases.

Rules every record keeps (tests check them): each network logon has its Zeek
connection from the source address to the destination on the port the logon used,
opened in the same second; each process names the logon id of a 4624 on its host
(or SYSTEM's) and a parent that exists on that host; record numbers rise per host
and channel in time order; times are UTC.

Records are kept compact (a builder and its arguments) until written, then rendered
per file in time order, so a day of a 24,000-host estate (millions of records) is
written without holding millions of event dictionaries.
"""

from __future__ import annotations

import ipaddress
import random
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from graph.generate import winevents as we
from graph.generate.model import DAY, Host, User
from graph.generate.nmap import scan_schedule
from graph.generate.ops import SCAN_PORTS, OpsPlan
from graph.generate.zeek import Conn, write_hourly

try:
    import orjson

    def _dumps(obj: dict) -> bytes:
        return orjson.dumps(obj)
except ImportError:  # pragma: no cover - plain json is correct, only slower
    import json

    def _dumps(obj: dict) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

HOUR = 3600
_EDGE = "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe"
_OFFICE = "C:\\Program Files\\Microsoft Office\\root\\Office16\\"
USER_APPS = (
    (_EDGE, '"{img}" --profile-directory=Default'),
    (_OFFICE + "OUTLOOK.EXE", '"{img}" '),
    (_OFFICE + "EXCEL.EXE", '"{img}" '),
    (_OFFICE + "WINWORD.EXE", '"{img}" /n'),
    ("C:\\Program Files\\WindowsApps\\MSTeams_24004.1307.2669.7070_x64__8wekyb3d8bbwe\\ms-teams.exe", '"{img}"'),
    ("C:\\Windows\\System32\\notepad.exe", '"{img}"'),
)
ADMIN_TOOLS = (
    ("C:\\Windows\\System32\\mmc.exe", '"{img}" "C:\\Windows\\system32\\services.msc"'),
    ("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", '"{img}"'),
    ("C:\\Windows\\System32\\ServerManager.exe", '"{img}"'),
    ("C:\\Windows\\System32\\Taskmgr.exe", '"{img}" /4'),
    ("C:\\Windows\\System32\\mmc.exe", '"{img}" "C:\\Windows\\system32\\eventvwr.msc"'),
)
WINLOGON = "C:\\Windows\\System32\\winlogon.exe"
USERINIT = "C:\\Windows\\System32\\userinit.exe"
EXPLORER = "C:\\Windows\\explorer.exe"
_FIRST_OCTETS = (24, 31, 37, 46, 62, 66, 71, 73, 77, 81, 86, 88, 92, 98, 109, 151, 176, 178, 185, 188, 193, 212, 217)
_SAAS = ("13.107.42.14", "13.107.6.152", "20.190.159.2", "40.126.31.67", "52.96.165.18", "52.113.194.132",
         "142.250.185.78", "142.250.74.110", "172.217.16.142", "104.16.123.96", "151.101.1.140", "151.101.65.69",
         "23.215.0.136", "184.25.205.44", "54.230.112.9", "3.162.103.55", "35.186.224.25", "199.232.56.133")


def public_ips(r: random.Random, n: int) -> list[str]:
    out = []
    while len(out) < n:
        ip = f"{r.choice(_FIRST_OCTETS)}.{r.randint(1, 254)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
        if ipaddress.ip_address(ip).is_global:
            out.append(ip)
    return out


class Simulation:
    """Collects the period's records; `write` renders them."""

    def __init__(self, plan: OpsPlan) -> None:
        self.plan = plan
        self.ent = ent = plan.ent
        self.names = we.Names(ent)
        self.rt = {h.fqdn: we.HostRuntime(h, i) for i, h in enumerate(ent.hosts)}
        self.events: dict[str, list] = defaultdict(list)
        self.zeek: list[Conn] = []
        self.r = random.Random(f"background:{ent.seed}")
        self.seq = 0
        self.by_role: dict[str, list[Host]] = defaultdict(list)
        for h in ent.hosts:
            self.by_role[h.role].append(h)
        self.dcs = self.by_role["dc"]
        self.svc = {u.sam: u for u in ent.users if u.kind == "service"}
        # The service account whose SPN names an application server (Kerberos SSO to it).
        self.spn_owner: dict[str, User] = {}
        for u in ent.users:
            for spn in u.spns:
                if spn.upper().startswith("HTTP/") and ":8443" in spn:
                    self.spn_owner.setdefault(spn.split("/", 1)[1].split(":")[0].upper(), u)
        self.dept_share: dict[str, tuple[Host, str, str]] = {}
        for fs, shares in plan.shares.items():
            for share, path in shares:
                self.dept_share.setdefault(share.upper(), (next(h for h in ent.hosts if h.fqdn == fs), share, path))
        self.app_hosts = [a.host for a in plan.apps if a.host.role == "app"]
        self.saas = list(_SAAS) + public_ips(random.Random(f"saas:{ent.seed}"), 60)
        self.clients = public_ips(random.Random(f"clients:{ent.seed}"), 400)

    # ------------------------------------------------------------------ primitives

    def site_dc(self, h: Host) -> Host:
        if h.role == "dc":
            return h
        return self.dcs[int(h.ip.split(".")[-1]) % len(self.dcs)]

    def ev(self, host: Host, ts: float, fn, *args, **kw) -> None:
        self.seq += 1
        self.events[host.fqdn].append((ts, self.seq, fn, args, kw or None))

    def conn(self, ts: float, src: Host | str, sport: int, dst: Host | str, dport: int, proto: str = "tcp",
             service: str = "-", dur: float | None = None, ob: int | None = None, rb: int | None = None,
             state: str = "SF") -> None:
        s = src if isinstance(src, str) else src.ip
        d = dst if isinstance(dst, str) else dst.ip
        self.zeek.append(Conn(round(ts, 6), s, sport, d, dport, proto, service, dur, ob, rb, state))

    def port(self, h: Host) -> int:
        return self.rt[h.fqdn].port()

    def acct(self, who: User | Host) -> we.Acct:
        return self.names.acct(who)

    def tgt(self, who: User | Host, src: Host, t: float) -> None:
        dc = self.site_dc(src)
        p = self.port(src)
        self.conn(t - 0.004, src, p, dc, 88, "tcp", "krb_tcp", 0.003 + self.r.random() * 0.01, 1530 + self.r.randint(0, 200),
                  1460 + self.r.randint(0, 300))
        self.ev(dc, t, we.tgt_4768, self.acct(who), src.ip, p)

    def tgs(self, who: User | Host, service: User | Host, src: Host, t: float, dc: Host | None = None) -> None:
        dc = dc or self.site_dc(src)
        p = self.port(src)
        self.conn(t - 0.004, src, p, dc, 88, "tcp", "krb_tcp", 0.002 + self.r.random() * 0.01, 1600 + self.r.randint(0, 400),
                  1500 + self.r.randint(0, 300))
        self.ev(dc, t, we.tgs_4769, self.acct(who), self.acct(service), src.ip, p)

    def network_logon(self, who: User | Host, src: Host, dst: Host, t: float, port: int = 445, service: str = "smb",
                      dur: float = 0.05, ob: int = 1200, rb: int = 900) -> tuple[str, int]:
        """The Zeek connection and the 4624 type 3 it carried; (logon id, source port)."""
        p = self.port(src)
        lid = self.rt[dst.fqdn].logon_id()
        self.conn(t - 0.01, src, p, dst, port, "tcp", service, dur, ob, rb)
        self.ev(dst, t, we.logon_4624, self.acct(who), 3, lid, src_ip=src.ip, src_port=p)
        return lid, p

    def process(self, h: Host, t: float, who: User, lid: str, image: str, cmd: str, parent: tuple | None,
                integrity: str = "medium", creator: bool = False, session: int = 1) -> tuple:
        """A process in logon session `lid`; `parent` is (pid, image, cmd, guid) or None
        for winlogon (a process older than the period). Returns the process as a parent."""
        rt = self.rt[h.fqdn]
        pid = rt.pid()
        guid = we.process_guid(rt, t, pid)
        if parent is None:
            parent = (rt.winlogon, WINLOGON, "winlogon.exe", we.guid_of(h.fqdn, "winlogon"))
        kw = {"integrity": integrity, "session": session}
        if creator:
            kw["creator"] = (self.acct(h), we.SYSTEM_LOGON)
        self.ev(h, t, we.process_create, self.acct(who), lid, pid, image, cmd, parent[0], parent[1], parent[2], guid,
                parent[3], **kw)
        return (pid, image, cmd, guid)

    def shell(self, h: Host, t: float, who: User, lid: str, integrity: str = "medium", session: int = 1,
              winlogon: tuple | None = None) -> tuple:
        ui = self.process(h, t + 1.4, who, lid, USERINIT, "C:\\Windows\\system32\\userinit.exe", winlogon,
                          integrity, creator=True, session=session)
        return self.process(h, t + 3.1, who, lid, EXPLORER, "C:\\Windows\\Explorer.EXE", ui, integrity,
                            session=session)

    # ------------------------------------------------------------------ the day

    def run(self) -> None:
        p = self.plan
        for d in range(p.days):
            day0 = p.start + d * DAY
            weekday = datetime.fromtimestamp(day0, UTC).weekday() < 5
            self.scan(d)
            self.backups(day0)
            self.replication(day0)
            self.machines(day0)
            self.users(day0, weekday)
            self.admins(day0, weekday)
            self.services(day0, weekday)

    def machines(self, day0: float) -> None:
        r = self.r
        for h in self.ent.hosts:
            if h.role == "dc":
                continue
            dc = self.site_dc(h)
            first = day0 + r.uniform(0, 3 * HOUR)
            for k in range(3):
                t = first + k * 10 * HOUR + r.uniform(0, 60)
                self.tgt(h, h, t)
                self.tgs(h, dc, h, t + 0.4)
            for _ in range(5 if h.role != "workstation" else 0):
                self.conn(day0 + r.uniform(0, DAY), h, self.port(h), dc, 53, "udp", "dns", 0.0004, 38, 102)
            if h.role != "workstation":
                continue
            t = day0 + r.uniform(0, 90 * 60)
            while t < day0 + DAY - 60:
                self.conn(t, h, self.port(h), dc, 389, "tcp", "ldap", 0.03, 2100 + r.randint(0, 900),
                          3800 + r.randint(0, 4000))
                lid, sp = self.network_logon(h, h, dc, t + 0.3, dur=0.2 + r.random(), ob=3200 + r.randint(0, 2000),
                                             rb=9000 + r.randint(0, 40000))
                self.ev(dc, t + 0.34, we.share_5140, self.acct(h), lid, h.ip, sp, "SYSVOL",
                        "C:\\Windows\\SYSVOL\\sysvol")
                # (the DC's 4634 for these is left out: most of a DC's volume, and it says nothing)
                t += 90 * 60 + r.uniform(0, 30 * 60)

    def users(self, day0: float, weekday: bool) -> None:
        r, ent = self.r, self.ent
        apps = self.app_hosts
        for w in self.by_role["workstation"]:
            u = ent.by_sid.get(w.primary_user) if w.primary_user else None
            if not isinstance(u, User) or not u.enabled or r.random() > (0.92 if weekday else 0.06):
                continue
            dc = self.site_dc(w)
            t_on = day0 + 7 * HOUR + r.uniform(0, 2.5 * HOUR)
            t_off = day0 + 16 * HOUR + r.uniform(0, 2.5 * HOUR)
            cached = r.random() < 0.04
            if not cached:
                self.tgt(u, w, t_on - 1.2)
                self.tgs(u, w, w, t_on - 0.8)
            rt = self.rt[w.fqdn]
            lid = rt.logon_id()
            self.ev(w, t_on, we.logon_4624, self.acct(u), 11 if cached else 2, lid, src_ip="127.0.0.1", src_port=0)
            explorer = self.shell(w, t_on, u, lid)
            for image, cmd in r.sample(USER_APPS, r.randint(3, 5)):
                self.process(w, r.uniform(t_on + 15, t_on + HOUR), u, lid, image, cmd.format(img=image), explorer)
            for _ in range(r.randint(0, 2)):
                t = r.uniform(t_on + HOUR, t_off - HOUR)
                self.ev(w, t, we.logon_4624, self.acct(u), 7, rt.logon_id(), src_ip="127.0.0.1", src_port=0)
            if not cached:
                share = self.dept_share.get((u.department or "").title().upper())
                for _ in range(r.randint(1, 2) if share else 0):
                    fs, name, path = share
                    t = r.uniform(t_on + 60, t_off - 900)
                    self.tgs(u, fs, w, t)
                    dur = r.uniform(2, 600)
                    lid3, sp = self.network_logon(u, w, fs, t + 0.25, dur=dur, ob=r.randint(2000, 200_000),
                                                  rb=r.randint(10_000, 20_000_000))
                    self.ev(fs, t + 0.3, we.share_5140, self.acct(u), lid3, w.ip, sp, name, path)
                    self.ev(fs, t + 0.25 + dur, we.logoff_4634, self.acct(u), 3, lid3)
                if apps:
                    a = apps[r.randrange(len(apps))]
                    t = r.uniform(t_on + 60, t_off - 60)
                    self.tgs(u, self.spn_owner.get(a.fqdn, a), w, t)
                    self.conn(t + 0.2, w, self.port(w), a, 8443, "tcp", "ssl", r.uniform(1, 300),
                              r.randint(3000, 90_000), r.randint(20_000, 4_000_000))
            for _ in range(r.randint(12, 24)):
                t = r.uniform(t_on, t_off)
                self.conn(t, w, self.port(w), self.saas[r.randrange(len(self.saas))], 443, "tcp", "ssl",
                          r.uniform(0.2, 900), r.randint(900, 80_000), r.randint(4000, 6_000_000))
            for _ in range(r.randint(6, 12)):
                self.conn(r.uniform(t_on - 10, t_off), w, self.port(w), dc, 53, "udp", "dns", 0.0005, 40, 120)
            self.ev(w, t_off, we.user_logoff_4647, self.acct(u), lid)
            self.ev(w, t_off + 1.2, we.logoff_4634, self.acct(u), 11 if cached else 2, lid)

    def rdp(self, who: User, paw: Host, paw_lid: str, paw_shell: tuple, target: Host, t: float) -> None:
        r = self.r
        self.process(paw, t, who, paw_lid, "C:\\Windows\\System32\\mstsc.exe",
                     f'"C:\\Windows\\system32\\mstsc.exe" /v:{target.fqdn.lower()}', paw_shell)
        self.tgs(who, target, paw, t + 0.6)
        dur = r.uniform(600, 5400)
        self.conn(t + 1.0, paw, self.port(paw), target, 3389, "tcp", "rdp", dur, r.randint(200_000, 3_000_000),
                  r.randint(2_000_000, 80_000_000))
        rt = self.rt[target.fqdn]
        lid = rt.logon_id()
        self.ev(target, t + 1.3, we.logon_4624, self.acct(who), 10, lid, src_ip=paw.ip, src_port=0, elevated=True)
        session = 2 + r.randint(0, 3)
        winlogon = (rt.pid(), WINLOGON, "winlogon.exe", we.guid_of(target.fqdn, "winlogon", lid))
        explorer = self.shell(target, t + 1.3, who, lid, "high", session, winlogon)
        self.process(target, t + 6, who, lid, "C:\\Windows\\System32\\rdpclip.exe", "rdpclip", explorer, "high",
                     session=session)
        for image, cmd in r.sample(ADMIN_TOOLS, r.randint(1, 3)):
            self.process(target, r.uniform(t + 20, t + dur - 30), who, lid, image, cmd.format(img=image), explorer,
                         "high", session=session)
        self.ev(target, t + dur, we.user_logoff_4647, self.acct(who), lid)
        self.ev(target, t + dur + 1.1, we.logoff_4634, self.acct(who), 10, lid)

    def admins(self, day0: float, weekday: bool) -> None:
        r, ent, paw = self.r, self.ent, self.plan.paw
        servers = [h for h in ent.hosts if h.role in ("web", "app", "file", "db", "dc")]
        targets: dict[str, list[Host]] = defaultdict(list)
        for h in servers:
            for sid in h.sessions:
                targets[sid].append(h)
        admins = [u for u in ent.users if u.kind in ("tier0", "tier1") and u.enabled and targets.get(u.sid)]
        prt = self.rt[paw.fqdn]
        for u in admins:
            if r.random() > (0.85 if weekday else 0.1):
                continue
            t_on = day0 + 8 * HOUR + r.uniform(0, 2 * HOUR)
            self.tgt(u, paw, t_on - 1.0)
            lid = prt.logon_id()
            self.ev(paw, t_on, we.logon_4624, self.acct(u), 2, lid, src_ip="127.0.0.1", src_port=0, elevated=True)
            explorer = self.shell(paw, t_on, u, lid, "high")
            t = t_on + r.uniform(60, 600)
            for _ in range(r.randint(1, 3)):
                self.rdp(u, paw, lid, explorer, r.choice(targets[u.sid]), t)
                t += r.uniform(1800, 7200)
            t_off = max(t, t_on + 6 * HOUR)
            self.ev(paw, t_off, we.user_logoff_4647, self.acct(u), lid)
            self.ev(paw, t_off + 1.0, we.logoff_4634, self.acct(u), 2, lid)

    def replication(self, day0: float) -> None:
        r, dcs = self.r, self.dcs
        if len(dcs) < 2:
            return
        for i, dc in enumerate(dcs):
            partner = dcs[i - 1]
            self.tgs(partner, dc, partner, day0 + r.uniform(0, 600), dc=partner)
            for hour in range(24):
                t = day0 + hour * HOUR + 60 * (5 + 7 * i % 50) + r.uniform(0, 30)
                self.conn(t - 0.05, partner, self.port(partner), dc, 135, "tcp", "dce_rpc", 0.004, 236, 180)
                lid, _ = self.network_logon(partner, partner, dc, t, port=49668, service="dce_rpc",
                                            dur=r.uniform(0.2, 4), ob=r.randint(4000, 30_000),
                                            rb=r.randint(20_000, 2_000_000))
                self.ev(dc, t + 0.2, we.directory_4662, self.acct(partner), lid, replication=True)
                self.ev(dc, t + 4.5 + r.random(), we.logoff_4634, self.acct(partner), 3, lid)

    def backups(self, day0: float) -> None:
        r, b = self.r, self.plan.backup
        account = self.svc["svc-backup"]
        t = day0 + HOUR + 60  # the alert writer (graph.generate.alerts) knows this start
        for h in self.by_role["file"] + self.by_role["db"]:
            self.tgs(account, h, b, t)
            if h.role == "file":
                size = r.randint(20, 400) * 1_000_000_000
                dur = size / 220e6
                lid, sp = self.network_logon(account, b, h, t + 0.3, dur=dur, ob=r.randint(2, 40) * 1_000_000,
                                             rb=size)
                self.ev(h, t + 0.35, we.share_5140, self.acct(account), lid, b.ip, sp, "D$", "D:\\")
            else:
                size = r.randint(5, 80) * 1_000_000_000
                dur = size / 180e6
                lid, sp = self.network_logon(account, b, h, t + 0.3, port=1433, service="-", dur=dur,
                                             ob=r.randint(1, 10) * 1_000_000, rb=size)
            self.ev(h, t + 0.3 + dur, we.logoff_4634, self.acct(account), 3, lid)
            t += min(dur, 3 * HOUR / max(1, len(self.by_role["file"]) + len(self.by_role["db"]))) + r.uniform(5, 60)

    def scan(self, day: int) -> None:
        r, scanner = self.r, self.plan.scanner
        account = self.svc["svc-scan"]
        for _, slots in scan_schedule(self.plan, day):
            for h, start in slots:
                if h is scanner:
                    continue
                open_ports = {s.port: s for s in self.plan.host_services(h)}
                for k, port in enumerate(SCAN_PORTS):
                    t = start + 0.002 * k
                    s = open_ports.get(port)
                    if s is not None:
                        self.conn(t, scanner, self.port(scanner), h, port, "tcp", s.zeek_service,
                                  round(r.uniform(0.01, 1.5), 6), r.randint(40, 900), r.randint(0, 4000))
                    elif h.role == "workstation":
                        self.conn(t, scanner, self.port(scanner), h, port, "tcp", "-", None, 0, 0, "S0")
                    else:
                        self.conn(t, scanner, self.port(scanner), h, port, "tcp", "-", round(r.uniform(1e-4, 2e-3), 6),
                                  0, 0, "REJ")
                if h.role != "workstation":
                    t = start + 5 + r.random()
                    self.tgs(account, h, scanner, t)
                    lid, sp = self.network_logon(account, scanner, h, t + 0.3, dur=r.uniform(5, 40),
                                                 ob=r.randint(20_000, 90_000), rb=r.randint(40_000, 400_000))
                    self.ev(h, t + 0.35, we.share_5140, self.acct(account), lid, scanner.ip, sp, "IPC$", "")
                    self.ev(h, t + 45 + r.random(), we.logoff_4634, self.acct(account), 3, lid)

    def services(self, day0: float, weekday: bool) -> None:
        r = self.r
        webs, apps, dbs = self.by_role["web"], self.app_hosts, self.by_role["db"]
        portal = self.plan.kev_host
        for w in webs:
            n = 1200 if w is portal else 300
            n = n if weekday else n // 3
            for _ in range(n):
                t = day0 + r.uniform(0, DAY)
                self.conn(t, self.clients[r.randrange(len(self.clients))], r.randint(1024, 65535), w, 443, "tcp", "ssl",
                          r.uniform(0.1, 120), r.randint(500, 40_000), r.randint(2000, 900_000))
            for _ in range(24 if apps else 0):
                a = apps[r.randrange(len(apps))]
                self.conn(day0 + r.uniform(0, DAY), w, self.port(w), a, 8443, "tcp", "ssl", r.uniform(0.05, 5),
                          r.randint(600, 20_000), r.randint(1000, 200_000))
        if dbs:
            for _ in range(48):
                self.conn(day0 + r.uniform(0, DAY), portal, self.port(portal), dbs[0], 1433, "tcp", "-",
                          r.uniform(0.01, 3), r.randint(300, 9000), r.randint(800, 400_000))
            for a in apps:
                db = dbs[int(a.ip.split(".")[-1]) % len(dbs)]
                for _ in range(24):
                    self.conn(day0 + r.uniform(0, DAY), a, self.port(a), db, 1433, "tcp", "-", r.uniform(0.01, 3),
                              r.randint(300, 9000), r.randint(800, 400_000))

    # ------------------------------------------------------------------ writing

    def shards(self) -> list[list[str]]:
        """Hosts grouped into event files of similar size; a host is never split, so
        its logon sessions and process parents stay in one file (where the connector
        links them)."""
        target = 150_000
        counts = sorted(((len(v), k) for k, v in self.events.items()), reverse=True)
        total = sum(n for n, _ in counts)
        n = max(1, min(64, -(-total // target)))
        bins: list[tuple[int, int, list[str]]] = [(0, i, []) for i in range(n)]
        for size, host in counts:
            bins.sort(key=lambda b: (b[0], b[1]))
            load, i, members = bins[0]
            members.append(host)
            bins[0] = (load + size, i, members)
        return [b[2] for b in sorted(bins, key=lambda b: b[1]) if b[2]]

    def write_events(self, out_dir: Path) -> dict[str, int]:
        out_dir.mkdir(parents=True, exist_ok=True)
        numbers = we.Numberer()
        counts: dict[str, int] = {}
        names, rts = self.names, self.rt
        for i, hosts in enumerate(self.shards()):
            rows = []
            for fqdn in hosts:
                rows.extend((ts, seq, fqdn, fn, args, kw) for ts, seq, fn, args, kw in self.events.pop(fqdn))
            rows.sort(key=lambda x: (x[0], x[1]))
            name = f"windows-{i:02d}.jsonl"
            n = 0
            with (out_dir / name).open("wb") as fh:
                buf: list[bytes] = []
                for ts, _, fqdn, fn, args, kw in rows:
                    rt = rts[fqdn]
                    for channel, ev in (fn(names, rt, ts, *args, **kw) if kw else fn(names, rt, ts, *args)):
                        ev["RecordNumber"] = numbers.take(rt, channel)
                        buf.append(_dumps(ev))
                        n += 1
                    if len(buf) >= 2048:
                        fh.write(b"\n".join(buf) + b"\n")
                        buf.clear()
                if buf:
                    fh.write(b"\n".join(buf) + b"\n")
            counts[name] = n
        return counts

    def write_zeek(self, out_dir: Path) -> dict[str, int]:
        counts = write_hourly(self.zeek, out_dir, self.plan.start, self.plan.end, self.ent.seed)
        self.zeek = []
        return counts


def write_background(plan: OpsPlan, events_dir: Path, zeek_dir: Path) -> tuple[dict[str, int], dict[str, int]]:
    sim = Simulation(plan)
    sim.run()
    return sim.write_events(events_dir), sim.write_zeek(zeek_dir)
