"""The Zeek conn.log side and the ordinary background activity every scenario is buried in (Kerberos,
machine and user logons, share use, scheduled work, web and DNS traffic), drawn from the scenario's seed.
A mixin of `winevt.Events`; split out because the noise model is its own idea, apart from attack events."""

from __future__ import annotations

from datetime import timedelta

from enterprise import COMPUTERS, C, IP_OF, U
from winevt_schema import DOMAIN_DNS_CLASS, REPL_GET_CHANGES, REPL_GET_CHANGES_ALL


class BackgroundEvents:
    """Zeek connections and the background noise around a scenario."""

    # ------------------------------------------------------------------ zeek
    def conn(self, t, orig: str, resp: str, rport: int, proto: str = "tcp", service: str = "-", duration: float | None = None,
             ob: int | None = None, rb: int | None = None, state: str = "SF", oport: int | None = None, history: str | None = None) -> dict:
        t = self._t(t)
        r = self.rng
        oport = oport or r.randint(49700, 65000)
        if duration is None:
            duration = round(r.uniform(0.001, 2.5), 6) if state == "SF" else (round(r.uniform(0.0, 0.01), 6) if state in ("REJ", "RSTO", "RSTR") else 0.0)
        ob = r.randint(60, 2400) if ob is None else ob
        rb = r.randint(60, 12000) if rb is None else rb
        if state in ("S0", "REJ"):
            ob, rb = 0, 0
        if history is None:
            history = {"SF": "ShADadFf" if proto == "tcp" else "Dd", "S0": "S", "REJ": "Sr", "RSTO": "ShADadR", "RSTR": "ShADadr", "SH": "Sh", "OTH": "C", "S1": "ShAD"}.get(state, "ShADadFf")
        op = max(1, ob // 700 + (3 if proto == "tcp" and state == "SF" else 1))
        rp = max(0 if state in ("S0",) else 1, rb // 1200 + (2 if proto == "tcp" and state == "SF" else (1 if state == "REJ" else 0)))
        loc = lambda ip: ip.startswith(("10.", "172.20."))
        z = {"ts": t.timestamp() + r.random() * 0.001, "uid": "C" + "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(17)),
             "id.orig_h": orig, "id.orig_p": oport, "id.resp_h": resp, "id.resp_p": rport, "proto": proto, "service": service,
             "duration": duration, "orig_bytes": ob, "resp_bytes": rb, "conn_state": state, "local_orig": loc(orig), "local_resp": loc(resp),
             "missed_bytes": 0, "history": history, "orig_pkts": op, "orig_ip_bytes": ob + op * (52 if proto == "tcp" else 28),
             "resp_pkts": rp, "resp_ip_bytes": rb + rp * (52 if proto == "tcp" else 28), "tunnel_parents": []}
        if state == "S0":
            z["resp_pkts"], z["resp_ip_bytes"] = 0, 0
            z["orig_pkts"], z["orig_ip_bytes"] = 1, 44
            z["duration"] = None
            z["service"] = "-"
        if state == "REJ":
            z["orig_pkts"], z["orig_ip_bytes"], z["resp_pkts"], z["resp_ip_bytes"] = 1, 44, 1, 40
            z["service"] = "-"
        self.zeek.append(z)
        return z

    # ------------------------------------------------------------------ background
    def background(self, hosts: list[str], start=None, end=None, dcs: list[str] | None = None, workstations: int = 6,
                   density: float = 1.0, zeek: bool = True, replication: bool = False, skip_users: tuple = ()):
        """Ordinary activity: Kerberos on the DCs, machine and user logons, file-share use, scheduled work,
        routine processes and connections, and Zeek lines for all of it."""
        r = self.rng
        start = self._t(start) if start else self.start
        end = self._t(end) if end else self.end
        span = (end - start).total_seconds()
        dcs = dcs or ["BOS-ADDS-01", "BOS-ADDS-02"]
        ws_all = [c.short for c in COMPUTERS.values() if c.role == "ws" and c.owner and c.owner not in skip_users]
        wss = r.sample(ws_all, workstations)
        users = [C(w).owner for w in wss]
        rt = lambda: start + timedelta(seconds=r.uniform(0, span))
        n = max(60, int(span / 3600 * 40 * density))
        services = [("BOS-FS-01$", 5), ("svc-sharepoint", 2), ("BOS-EXC-01$", 3), ("BOS-APP-01$", 1), ("svc-sqlpolicy", 1),
                    ("BOS-APP-03$", 1), ("BOS-FS-02$", 1), ("svc-guidewire", 1), ("BOS-PRN-01$", 1), ("svc-reporting", 1)]
        svc_pool = [s for s, w in services for _ in range(w)]
        for dc in dcs:
            for _ in range(n):
                t = rt()
                w = r.choice(wss)
                u = C(w).owner
                ip = C(w).ip
                k = r.random()
                if k < 0.15:
                    self.tgt(dc, t, u, ip)
                    if zeek:
                        self.conn(t, ip, C(dc).ip, 88, service="krb_tcp", ob=r.randint(1400, 1700), rb=r.randint(1500, 1800))
                elif k < 0.55:
                    s = r.choice(svc_pool)
                    self.tgs(dc, t, u, s, ip)
                    if zeek:
                        self.conn(t, ip, C(dc).ip, 88, service="krb_tcp", ob=r.randint(1800, 2300), rb=r.randint(1600, 2000))
                elif k < 0.75:
                    m = r.choice(wss + [h for h in hosts if h in COMPUTERS and not C(h).is_dc] or wss)
                    li = self.logon(dc, t, m + "$", 3, src_ip=C(m).ip, tgs=False)
                    self.logoff(dc, t + timedelta(seconds=r.randint(1, 20)), m + "$", li["logon_id"])
                    if zeek:
                        self.conn(t, C(m).ip, C(dc).ip, 389, service="ldap", ob=r.randint(800, 3000), rb=r.randint(2000, 9000))
                elif k < 0.85:
                    self.tgt(dc, t, w + "$", ip)
                elif k < 0.9:
                    self.ntlm_validate(dc, t, u, w)
                else:
                    li = self.logon(dc, t, u, 3, src_ip=ip, tgs=False)
                    self.logoff(dc, t + timedelta(seconds=r.randint(1, 5)), u, li["logon_id"])
                    if zeek:
                        self.conn(t, ip, C(dc).ip, 445, service="smb,gssapi", ob=r.randint(2000, 5000), rb=r.randint(2000, 9000))
            if replication and len(dcs) > 1:
                other = [d for d in dcs if d != dc][0]
                for k_ in range(int(span / 900) + 1):
                    t = start + timedelta(seconds=k_ * 900 + r.randint(0, 200))
                    if t > end:
                        break
                    li = self.logon(dc, t, other + "$", 3, src_ip=C(other).ip, tgs=False)
                    self.ds_access(dc, t + timedelta(milliseconds=40), other + "$", li["logon_id"], [REPL_GET_CHANGES, DOMAIN_DNS_CLASS])
                    self.ds_access(dc, t + timedelta(milliseconds=42), other + "$", li["logon_id"], [REPL_GET_CHANGES_ALL, DOMAIN_DNS_CLASS])
                    if zeek:
                        self.conn(t, C(other).ip, C(dc).ip, 49667, service="dce_rpc", ob=r.randint(3000, 9000), rb=r.randint(9000, 90000))
        for h in hosts:
            if h not in COMPUTERS or C(h).is_dc:
                continue
            c = C(h)
            m = max(14, int(span / 3600 * 8 * density))
            sched = self.svchost(h)
            for _ in range(m):
                t = rt()
                k = r.random()
                if c.role == "ws":
                    u = c.owner or r.choice(users)
                    ex = self.sysproc(h, "C:\\Windows\\explorer.exe", 5000 + (sum(map(ord, h)) % 300) * 4, user=u, cmd="C:\\Windows\\Explorer.EXE")
                    ex["logon_id"] = self.user_logon_id(h, u)
                    ex["integrity"] = "Medium"
                    if k < 0.4:
                        img = r.choice(["C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
                                        "C:\\Users\\%s\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe" % U(u).sam])
                        p = self.proc(h, t, img, f'"{img}"', ex, user=u, logon_id=ex["logon_id"], integrity="Medium", session="1")
                        dst = r.choice(["142.250.80.46", "52.96.165.18", "13.107.42.14", "52.112.95.1", "20.190.151.68"])
                        self.netconn(h, t + timedelta(seconds=1), p, dst, 443)
                        if zeek:
                            self.conn(t + timedelta(seconds=1), c.ip, dst, 443, service="ssl", ob=r.randint(900, 40000), rb=r.randint(3000, 900000), duration=round(r.uniform(0.3, 120), 3))
                    elif k < 0.6:
                        self.proc(h, t, "C:\\Windows\\System32\\taskhostw.exe", "taskhostw.exe Install $(Arg0)", sched, user="SYSTEM", integrity="System")
                    elif k < 0.8 and zeek:
                        dc = self.dc_for(c.ip)
                        self.conn(t, c.ip, C(dc).ip, 53, proto="udp", service="dns", ob=r.randint(30, 80), rb=r.randint(60, 300))
                    elif zeek:
                        self.conn(t, c.ip, "10.40.16.21", 445, service="smb,gssapi", ob=r.randint(2000, 90000), rb=r.randint(5000, 400000), duration=round(r.uniform(1, 300), 3))
                else:
                    if c.zone == "dmz" and (k < 0.25 or k >= 0.55 and k < 0.7 or k >= 0.85):
                        k = 0.3 if k < 0.25 else 0.75
                    if k < 0.25:
                        u = r.choice(users)
                        ip = IP_OF[[w for w in wss if C(w).owner == u][0]]
                        li = self.logon(h, t, u, 3, src_ip=ip, dc=self.dc_for(ip))
                        if c.role == "file":
                            shr = r.choice(["Finance", "Claims", "Underwriting", "Users$"]) if h == "BOS-FS-01" else "Actuarial"
                            self.share(h, t + timedelta(milliseconds=30), u, li["logon_id"], ip, shr, f"\\??\\D:\\Shares\\{shr.rstrip('$')}")
                        elif c.role in ("app", "sql", "exchange", "print", "wsus", "web"):
                            self.share(h, t + timedelta(milliseconds=30), u, li["logon_id"], ip, "IPC$", "")
                        self.logoff(h, t + timedelta(seconds=r.randint(5, 600)), u, li["logon_id"])
                        if zeek:
                            self.conn(t, ip, c.ip, 445, service="smb,gssapi", ob=r.randint(1500, 30000), rb=r.randint(2000, 200000), duration=round(r.uniform(0.1, 90), 3))
                    elif k < 0.45:
                        self.proc(h, t, "C:\\Windows\\System32\\taskhostw.exe", "taskhostw.exe", sched, user="SYSTEM", integrity="System")
                    elif k < 0.55:
                        mp = self.sysproc(h, "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.25010.11-0\\MsMpEng.exe", 3000 + (sum(map(ord, h)) % 100) * 4)
                        self.proc(h, t, "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.25010.11-0\\MpCmdRun.exe",
                                  "\"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.25010.11-0\\MpCmdRun.exe\" SignatureUpdate -ScheduleJob -RestrictPrivileges -DefinitionUpdateAndPlatformUpdateOnly",
                                  mp, user="SYSTEM", integrity="System")
                    elif k < 0.7:
                        mh = self.sysproc(h, "C:\\Program Files\\Microsoft Monitoring Agent\\Agent\\HealthService.exe", 2400 + (sum(map(ord, h)) % 100) * 4)
                        p = self.sysproc(h, "C:\\Program Files\\Microsoft Monitoring Agent\\Agent\\MonitoringHost.exe", 2600 + (sum(map(ord, h)) % 100) * 4)
                        self.netconn(h, t, mh, "10.40.8.50", 5723)
                        if zeek:
                            self.conn(t, c.ip, "10.40.8.50", 5723, service="ssl", ob=r.randint(2000, 9000), rb=r.randint(900, 3000), duration=round(r.uniform(0.5, 30), 3))
                    elif k < 0.85:
                        dc = self.dc_for(c.ip)
                        ls = self.lsass(h)
                        self.netconn(h, t, ls, C(dc).ip, 88)
                        if zeek:
                            self.conn(t, c.ip, C(dc).ip, 88, service="krb_tcp", ob=r.randint(1400, 2200), rb=r.randint(1400, 2000))
                    else:
                        ccm = self.sysproc(h, "C:\\Windows\\CCM\\CcmExec.exe", 4400 + (sum(map(ord, h)) % 100) * 4)
                        self.netconn(h, t, ccm, "10.40.8.40", 443)
                        if zeek:
                            self.conn(t, c.ip, "10.40.8.40", 443, service="ssl", ob=r.randint(1500, 6000), rb=r.randint(1500, 60000), duration=round(r.uniform(0.2, 8), 3))
        if zeek:
            for _ in range(max(50, int(span / 3600 * 30 * density))):
                t = rt()
                w = r.choice(wss)
                ip = C(w).ip
                k = r.random()
                if k < 0.5:
                    dst = r.choice(["142.250.80.46", "52.96.165.18", "13.107.42.14", "52.112.95.1", "151.101.1.69", "104.18.32.7", "20.190.151.68"])
                    self.conn(t, ip, dst, 443, service="ssl", ob=r.randint(900, 60000), rb=r.randint(3000, 2_000_000), duration=round(r.uniform(0.2, 300), 3))
                elif k < 0.8:
                    self.conn(t, ip, C(self.dc_for(ip)).ip, 53, proto="udp", service="dns", ob=r.randint(30, 80), rb=r.randint(60, 300))
                else:
                    self.conn(t, ip, "10.40.16.52", 443, service="ssl", ob=r.randint(1000, 20000), rb=r.randint(10000, 800000), duration=round(r.uniform(0.2, 60), 3))

    def user_logon_id(self, host: str, user: str) -> str:
        k = f"{host}|{user}"
        if k not in self.sessions:
            self.sessions[k] = {"logon_id": hex(0x200000 + (sum(map(ord, k)) * 977) % 0x600000)}
        return self.sessions[k]["logon_id"]
