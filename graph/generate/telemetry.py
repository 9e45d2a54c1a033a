"""A kit for writing attack (or benign) telemetry that is consistent with a generated
enterprise - the same hosts, accounts, addresses and event shapes as its background.

Scenario builders describe what happened in domain terms; the kit writes every record
that would exist for it, and nothing else. A lateral movement over SMB is one call:

    tel = Telemetry(ent, start=plan.end - 3600)
    s = tel.logon("FS01.CORP.LOCAL", "T1-JSMITH@CORP.LOCAL", 3, src_host="WS0042.CORP.LOCAL")
    p = tel.process(s, "C:\\\\Windows\\\\PSEXESVC.exe", "PSEXESVC.exe")
    tel.write(out_dir)          # events.jsonl + conn.log (+ alerts), ready for `ingest`

and it yields the 4769 on the source's domain controller and its Kerberos connection,
the Zeek record from the source's address to 445 on FS01 opened in the same second,
the 4624 type 3 whose TargetLogonId the process (4688 and Sysmon 1) runs under, and a
parent process that exists. Absence of evidence therefore means something: a
scenario that does not call `logon` has no logon anywhere.

Conventions:
- Hosts are named by FQDN, short name, IP or `Host`; accounts by twin key
  (`ALICE@CORP.LOCAL`), `CORP\\alice`, SAM name, `WS01$` or `User`/`Host`.
- `t` is epoch seconds; when omitted, the kit's clock is used and then advanced one
  second, so calls in order make a timeline in order.
- Logon ids, process ids and record numbers come from a band of their own
  (`HostRuntime` band 1), so they never collide with the generated background's;
  `write` renumbers records per host and channel in time order, keeping the numbers.
- Alerts (`alert_ocsf`, `alert_ecs`) are documents graph.alert_model.parse_alert
  accepts; they are collected and written beside the events.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from graph.generate import winevents as we
from graph.generate.alerts import ecs_alert, ocsf_finding
from graph.generate.model import Enterprise, Host, User
from graph.generate.zeek import Conn, UidSource, write_conn_log
from graph.identity import is_ip

INTERNET = "INTERNET"
PORTS = {"smb": (445, "smb"), "winrm": (5985, "http"), "rdp": (3389, "rdp"), "sql": (1433, "-"),
         "rpc": (49668, "dce_rpc"), "ldap": (389, "ldap"), "ssh": (22, "ssh")}
_ADMIN_KINDS = {"builtin", "tier0", "tier1", "tier2", "helpdesk", "service"}


@dataclass
class LogonSession:
    """A logon on `host`: its id is what processes, share accesses and directory
    changes made in it carry."""

    host: Host
    user: User | Host
    logon_id: str
    logon_type: int
    t: float
    src: Host | None = None
    src_ip: str | None = None
    src_port: int | None = None
    elevated: bool = False
    shell: Process | None = None
    events: list[dict] = field(default_factory=list)
    connection: Conn | None = None


@dataclass
class Process:
    host: Host
    session: LogonSession | None
    pid: int
    image: str
    command_line: str
    guid: str
    t: float
    events: list[dict] = field(default_factory=list)

    @property
    def parent_ref(self) -> tuple:
        return (self.pid, self.image, self.command_line, self.guid)


class Telemetry:
    """Per-host record counters and id allocators over one `Enterprise`."""

    def __init__(self, ent: Enterprise, start: int | float, *, sysmon: bool = True) -> None:
        self.ent = ent
        self.names = we.Names(ent)
        self.clock = float(start)
        self.sysmon = sysmon
        self._index = {h.fqdn: i for i, h in enumerate(ent.hosts)}
        self._hosts: dict[str, Host] = {}
        for h in ent.hosts:
            for k in (h.fqdn.upper(), h.short.upper(), h.ip):
                self._hosts.setdefault(k, h)
        self._users: dict[str, User] = {}
        for u in ent.users:
            for k in (u.name.upper(), u.sam.upper(), f"{ent.netbios}\\{u.sam}".upper(), u.sid.upper()):
                self._users.setdefault(k, u)
        self._rt: dict[str, we.HostRuntime] = {}
        self._home: dict[str | None, Host] | None = None
        self._numbers = we.Numberer()
        self._rng = random.Random(f"telemetry:{ent.seed}:{start}")
        self.events: list[dict] = []
        self.conns: list[Conn] = []
        self.alerts: list[dict] = []

    # ------------------------------------------------------------------ naming

    def host(self, ref: Host | str) -> Host:
        if isinstance(ref, Host):
            return ref
        text = ref.strip().rstrip(".").upper()
        h = self._hosts.get(text) or self._hosts.get(text.split(".")[0] if not is_ip(text) else text)
        if h is None:
            raise KeyError(f"no host {ref!r} in this enterprise")
        return h

    def user(self, ref: User | Host | str) -> User | Host:
        if isinstance(ref, (User, Host)):
            return ref
        text = ref.strip()
        if text.endswith("$") or (text.upper().endswith("$@" + self.ent.domain)):
            return self.host(text.split("@")[0].split("\\")[-1][:-1])
        u = self._users.get(text.upper()) or self._users.get(text.split("@")[0].split("\\")[-1].upper())
        if u is None:
            raise KeyError(f"no account {ref!r} in this enterprise")
        return u

    def rt(self, h: Host) -> we.HostRuntime:
        rt = self._rt.get(h.fqdn)
        if rt is None:
            rt = self._rt[h.fqdn] = we.HostRuntime(h, self._index[h.fqdn], band=1)
        return rt

    def home_host(self, who: User | Host) -> Host:
        """Where an account normally works from: a computer account's own host, a
        user's workstation (the one AD names them primary user of), else the PAW (the
        last jump host) - the default source of Kerberos and directory calls that do
        not say where they came from."""
        if isinstance(who, Host):
            return who
        if self._home is None:
            self._home = {h.primary_user: h for h in self.ent.hosts if h.primary_user}
        return self._home.get(who.sid) or [h for h in self.ent.hosts if h.role == "jump"][-1]

    def site_dc(self, h: Host) -> Host:
        dcs = [x for x in self.ent.hosts if x.role == "dc"]
        return h if h.role == "dc" else dcs[int(h.ip.split(".")[-1]) % len(dcs)]

    def _t(self, t: float | None) -> float:
        if t is None:
            t = self.clock
        self.clock = max(self.clock, t + 1.0)
        return float(t)

    def _emit(self, h: Host, pairs: list[tuple[str, dict]]) -> list[dict]:
        rt = self.rt(h)
        out = []
        for channel, ev in pairs:
            ev["RecordNumber"] = self._numbers.take(rt, channel)
            self.events.append(ev)
            out.append(ev)
        return out

    def _src(self, src_host: Host | str | None, src_ip: str | None) -> tuple[Host | None, str]:
        if src_host is None or (isinstance(src_host, str) and src_host.upper() == INTERNET):
            if not src_ip:
                raise ValueError("a source outside the enterprise needs src_ip")
            return None, src_ip
        h = self.host(src_host)
        return h, src_ip or h.ip

    def _port(self, src: Host | None) -> int:
        return self.rt(src).port() if src is not None else self._rng.randint(1024, 65535)

    def _elevated(self, who: User | Host) -> bool:
        return isinstance(who, Host) or who.kind in _ADMIN_KINDS

    # ------------------------------------------------------------------ network

    def connection(self, src: Host | str, dst: Host | str, port: int, proto: str = "tcp", bytes: int = 4096,
                   t: float | None = None, *, src_ip: str | None = None, dst_ip: str | None = None,
                   service: str = "-", duration: float | None = None, resp_bytes: int | None = None,
                   state: str = "SF", src_port: int | None = None) -> Conn:
        """One Zeek conn record. `src`/`dst` is a host or "INTERNET" (then give the
        public address as src_ip / dst_ip); `bytes` is what the originator sent."""
        t = self._t(t)
        s_host, s_ip = self._src(src, src_ip)
        if isinstance(dst, str) and dst.upper() == INTERNET:
            if not dst_ip:
                raise ValueError("a destination outside the enterprise needs dst_ip")
            d_ip = dst_ip
        else:
            d_ip = dst_ip or self.host(dst).ip
        sport = src_port if src_port is not None else self._port(s_host)
        rb = resp_bytes if resp_bytes is not None else (max(0, bytes // 2) if state == "SF" else 0)
        dur = duration if duration is not None else (round(0.05 + bytes / 5e6, 6) if state == "SF" else None)
        c = Conn(round(t, 6), s_ip, sport, d_ip, port, proto, service, dur,
                 bytes if state != "S0" else 0, rb, state)
        self.conns.append(c)
        return c

    # ------------------------------------------------------------------ Kerberos

    def tgt_request(self, dc: Host | str, user: User | Host | str, preauth_type: int = 2,
                    src_host: Host | str | None = None, t: float | None = None, *, encryption: str = "0x12",
                    status: str = "0x0", src_ip: str | None = None) -> dict:
        """4768 on `dc` and the Kerberos connection to it (from `src_host`, default the
        account's `home_host`). AS-REP roasting is preauth_type=0 with encryption 0x17."""
        t = self._t(t)
        dc, who = self.host(dc), self.user(user)
        src, ip = self._src(src_host if src_host is not None or src_ip else self.home_host(who), src_ip)
        c = self.connection(src or INTERNET, dc, 88, "tcp", 1550, t - 0.004, src_ip=ip, service="krb_tcp",
                            resp_bytes=1480)
        self.clock = max(self.clock, t + 1.0)
        return self._emit(dc, we.tgt_4768(self.names, self.rt(dc), t, self.names.acct(who), ip, c.orig_p,
                                          encryption=encryption, preauth=preauth_type, status=status))[0]

    def ticket_request(self, dc: Host | str, user: User | Host | str, service_account: User | Host | str,
                       encryption: str = "0x12", src_host: Host | str | None = None, t: float | None = None, *,
                       status: str = "0x0", src_ip: str | None = None) -> dict:
        """4769 on `dc` for a service ticket to `service_account` and the Kerberos
        connection. Kerberoasting is encryption 0x17 (RC4) where AES (0x12) is normal."""
        t = self._t(t)
        dc, who, svc = self.host(dc), self.user(user), self.user(service_account)
        src, ip = self._src(src_host if src_host is not None or src_ip else self.home_host(who), src_ip)
        c = self.connection(src or INTERNET, dc, 88, "tcp", 1650, t - 0.004, src_ip=ip, service="krb_tcp",
                            resp_bytes=1560)
        self.clock = max(self.clock, t + 1.0)
        return self._emit(dc, we.tgs_4769(self.names, self.rt(dc), t, self.names.acct(who), self.names.acct(svc),
                                          ip, c.orig_p, encryption=encryption, status=status))[0]

    # ------------------------------------------------------------------ logons

    def logon(self, host: Host | str, user: User | Host | str, logon_type: int = 3,
              src_host: Host | str | None = None, t: float | None = None, *, src_ip: str | None = None,
              via: str | None = None, auth: str | None = None, elevated: bool | None = None,
              kerberos_events: bool = True, duration: float = 600.0) -> LogonSession:
        """A successful logon and everything it implies.

        - 2 / 11 (interactive, cached) and 7 (unlock) at the host itself: the 4624, and
          for 2 / 11 the user's shell (userinit -> explorer) as `session.shell`;
        - 3 (network): the Zeek connection from the source to the port of `via`
          (smb 445 by default, winrm 5985, sql 1433, rpc 49668, ldap 389), the 4624
          with the source address and port; over WinRM the wsmprovhost.exe the
          commands run under becomes `session.shell`;
        - 10 (RDP): the 3389 connection lasting `duration`, the 4624 and the shell.
        - 5 (service): the 4624 the host's service control manager writes when it
          starts a service as `user`, with no network side; the service's processes
          (`process` without a parent) are children of services.exe.
        With Kerberos (the default inside the domain) the source first gets a service
        ticket from its DC (4769 + Kerberos connection); with `auth="NTLM"` (the
        default from the internet) the DC validates the credentials (4776)."""
        t = self._t(t)
        h, who = self.host(host), self.user(user)
        rt, names = self.rt(h), self.names
        elevated = self._elevated(who) if elevated is None else elevated
        lid = rt.logon_id()
        s = LogonSession(h, who, lid, logon_type, t, elevated=elevated)
        if logon_type in (2, 7, 11):
            s.events += self._emit(h, we.logon_4624(names, rt, t, names.acct(who), logon_type, lid,
                                                    src_ip="127.0.0.1", src_port=0, elevated=elevated))
            if logon_type != 7:
                s.shell = self._shell(s, t)
            return s
        if logon_type == 5:
            s.events += self._emit(h, we.logon_4624(names, rt, t, names.acct(who), 5, lid, elevated=elevated))
            return s
        if logon_type not in (3, 10):
            raise ValueError(f"logon type {logon_type}: the kit writes 2, 3, 5, 7, 10 and 11")
        src, ip = self._src(src_host, src_ip)
        internet = src is None
        auth = auth or ("NTLM" if internet else "Kerberos")
        port, service = PORTS["rdp"] if logon_type == 10 else PORTS[via or "smb"]
        if auth == "Kerberos" and kerberos_events and not internet:
            self.ticket_request(self.site_dc(src), who, h, src_host=src, t=t - 0.4)
        elif auth == "NTLM" and kerberos_events:
            dc = self.site_dc(h)
            s.events += self._emit(dc, we.ntlm_4776(names, self.rt(dc), t - 0.05, names.acct(who),
                                                    src.short if src else "-"))
        c = self.connection(src or INTERNET, h, port, "tcp", 250_000 if logon_type == 10 else 1800, t - 0.01,
                            src_ip=ip, service=service, duration=duration if logon_type == 10 else None,
                            resp_bytes=4_000_000 if logon_type == 10 else 1200)
        self.clock = max(self.clock, t + 1.0)
        s.src, s.src_ip, s.src_port, s.connection = src, ip, c.orig_p, c
        s.events += self._emit(h, we.logon_4624(names, rt, t, names.acct(who), logon_type, lid, src_ip=ip,
                                                src_port=0 if logon_type == 10 else c.orig_p, auth=auth,
                                                elevated=elevated))
        if logon_type == 10:
            s.shell = self._shell(s, t, session=2)
        elif via == "winrm":
            s.shell = self.process(s, "C:\\Windows\\System32\\wsmprovhost.exe",
                                   "C:\\Windows\\system32\\wsmprovhost.exe -Embedding", t=t + 0.5,
                                   parent=(rt.svchost, "C:\\Windows\\System32\\svchost.exe",
                                           "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p",
                                           we.guid_of(h.fqdn, "svchost")))
        return s

    def _shell(self, s: LogonSession, t: float, session: int = 1) -> Process:
        rt = self.rt(s.host)
        winlogon = (rt.winlogon if session == 1 else rt.pid(), "C:\\Windows\\System32\\winlogon.exe", "winlogon.exe",
                    we.guid_of(s.host.fqdn, "winlogon", s.logon_id if session != 1 else ""))
        ui = self.process(s, "C:\\Windows\\System32\\userinit.exe", "C:\\Windows\\system32\\userinit.exe",
                          parent=winlogon, t=t + 1.4, _creator=True, _session=session)
        return self.process(s, "C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE", parent=ui, t=t + 3.1,
                            _session=session)

    def failed_logon(self, host: Host | str, user: User | Host | str | None, src_host: Host | str | None = None,
                     t: float | None = None, *, logon_type: int = 3, status: str = "0xc000006d",
                     sub_status: str = "0xc000006a", src_ip: str | None = None, via: str = "smb",
                     name: str | None = None) -> dict:
        """4625 on `host` (bad password by default: 0xC000006D / 0xC000006A; an unknown
        account is 0xC0000064 - pass `name` for an account the domain does not have)
        and the connection that carried the attempt."""
        t = self._t(t)
        h = self.host(host)
        if user is not None:
            acct = self.names.acct(self.user(user))
        elif name:
            acct = (name, self.ent.netbios, we.NULL_SID)
        else:
            raise ValueError("failed_logon needs a user or a name")
        src, ip = self._src(src_host, src_ip)
        port, service = PORTS["rdp"] if logon_type == 10 else PORTS[via]
        c = self.connection(src or INTERNET, h, port, "tcp", 1300, t - 0.01, src_ip=ip, service=service,
                            resp_bytes=700)
        self.clock = max(self.clock, t + 1.0)
        return self._emit(h, we.logon_failed_4625(self.names, self.rt(h), t, acct, logon_type, src_ip=ip,
                                                  src_port=c.orig_p, status=status, sub_status=sub_status,
                                                  workstation=src.short if src else "-"))[0]

    def logoff(self, session: LogonSession, t: float | None = None) -> list[dict]:
        t = self._t(t)
        rt, acct = self.rt(session.host), self.names.acct(session.user)
        pairs = []
        if session.logon_type in (2, 10, 11):
            pairs += we.user_logoff_4647(self.names, rt, t, acct, session.logon_id)
        pairs += we.logoff_4634(self.names, rt, t + 0.8, acct, session.logon_type, session.logon_id)
        return self._emit(session.host, pairs)

    # ------------------------------------------------------------------ on the host

    def process(self, session: LogonSession, image: str, command_line: str, parent: Process | tuple | None = None,
                t: float | None = None, *, integrity: str | None = None, _creator: bool = False,
                _session: int | None = None) -> Process:
        """4688 (and Sysmon 1) for a process in `session`. Without `parent` it is the
        session's shell (explorer, wsmprovhost) or, for a network logon over SMB,
        services.exe - how PsExec-style service execution starts - as for a service's
        own process in a service logon (5)."""
        t = self._t(t)
        h, rt = session.host, self.rt(session.host)
        if parent is None:
            if session.shell is not None:
                parent = session.shell
            else:
                parent = (rt.services, "C:\\Windows\\System32\\services.exe", "C:\\Windows\\system32\\services.exe",
                          we.guid_of(h.fqdn, "services"))
        pref = parent.parent_ref if isinstance(parent, Process) else parent
        pid = rt.pid()
        guid = we.process_guid(rt, t, pid)
        level = integrity or ("high" if session.elevated else "medium")
        kw: dict = {"integrity": level, "session": _session or (2 if session.logon_type == 10 else
                                                               1 if session.logon_type in (2, 11) else 0),
                    "sysmon": self.sysmon}
        if _creator:
            kw["creator"] = (self.names.acct(h), we.SYSTEM_LOGON)
        evs = self._emit(h, we.process_create(self.names, rt, t, self.names.acct(session.user), session.logon_id, pid,
                                              image, command_line, pref[0], pref[1], pref[2], guid, pref[3], **kw))
        return Process(h, session, pid, image, command_line, guid, t, evs)

    def share_access(self, session: LogonSession, share_name: str, t: float | None = None,
                     local_path: str | None = None) -> dict:
        """5140 for `\\\\*\\share_name` in a network session (`ADMIN$`, `C$`, `IPC$`...)."""
        t = self._t(t)
        path = local_path if local_path is not None else {
            "ADMIN$": "C:\\Windows", "C$": "C:\\", "D$": "D:\\", "IPC$": "", "SYSVOL": "C:\\Windows\\SYSVOL\\sysvol",
            "NETLOGON": "C:\\Windows\\SYSVOL\\sysvol\\" + self.ent.domain.lower() + "\\SCRIPTS"}.get(
            share_name.upper(), f"D:\\Shares\\{share_name}")
        return self._emit(session.host, we.share_5140(self.names, self.rt(session.host), t,
                                                      self.names.acct(session.user), session.logon_id,
                                                      session.src_ip or "-", session.src_port or 0, share_name,
                                                      path))[0]

    def service_install(self, session: LogonSession, service_name: str, image: str, t: float | None = None,
                        account: str = "LocalSystem") -> list[dict]:
        """7045 (System) and 4697 (Security) for a service created in `session`."""
        t = self._t(t)
        return self._emit(session.host, we.service_install(self.names, self.rt(session.host), t,
                                                           self.names.acct(session.user), session.logon_id,
                                                           service_name, image, account))

    def scheduled_task(self, session: LogonSession, name: str, command: str, t: float | None = None,
                       arguments: str = "") -> dict:
        t = self._t(t)
        return self._emit(session.host, we.scheduled_task_4698(self.names, self.rt(session.host), t,
                                                               self.names.acct(session.user), session.logon_id,
                                                               name, command, arguments))[0]

    # ------------------------------------------------------------------ directory

    def replication(self, dc: Host | str, actor: User | Host | str, src_host: Host | str | None = None,
                    with_replication_guids: bool = True, t: float | None = None, *, requests: int = 1) -> list[dict]:
        """A directory replication request (DRSUAPI over RPC) from `src_host` (default:
        the actor's `home_host`) as `actor`: the Kerberos ticket, the RPC connections
        (135, then 49668), the network logon on `dc` and a 4662 on the domain object for
        each of `requests` calls made over that one bind, a second apart (a DCSync of
        several accounts) - with the DS-Replication-Get-Changes rights when
        `with_replication_guids` (replication, or DCSync when the actor is not a domain
        controller), else an ordinary directory read."""
        t = self._t(t)
        dc, who = self.host(dc), self.user(actor)
        src = self.host(src_host if src_host is not None else self.home_host(who))
        if requests < 1:
            raise ValueError(f"replication needs at least one request, not {requests}")
        self.connection(src, dc, 135, "tcp", 236, t - 0.3, service="dce_rpc", resp_bytes=180)
        s = self.logon(dc, who, 3, src, t, via="rpc")
        evs = list(s.events)
        for k in range(requests):
            evs += self._emit(dc, we.directory_4662(self.names, self.rt(dc), t + 0.2 + k, self.names.acct(who),
                                                    s.logon_id, replication=with_replication_guids))
        self.clock = max(self.clock, t + requests + 0.2)
        return evs

    def directory_change(self, dc: Host | str, actor: User | Host | str, target: User | Host | str, event_id: int,
                         t: float | None = None, *, session: LogonSession | None = None,
                         src_host: Host | str | None = None, group: str | None = None,
                         attribute: str | None = None, value: str | None = None) -> dict:
        """4738 / 4724 / 5136 on `target`, 4728 / 4732 adding `target` to `group` (a
        group's twin key or SAM name). The change runs in `session` (a logon on the
        DC), else in a new LDAP network logon from `src_host` (default: the actor's
        `home_host`)."""
        t = self._t(t)
        dc, who, tgt = self.host(dc), self.user(actor), self.user(target)
        if session is None:
            session = self.logon(dc, who, 3, src_host if src_host is not None else self.home_host(who), t - 0.5,
                                 via="ldap")
        group_acct, group_dn = None, None
        if group is not None:
            g = next((x for x in self.ent.groups if x.name.upper() == group.upper()
                      or x.sam.upper() == group.upper() or x.name.split("@")[0].upper() == group.upper()), None)
            if g is None:
                raise KeyError(f"no group {group!r} in this enterprise")
            # SharpHound prefixes well-known SIDs with the domain; Windows does not.
            group_acct = (g.sam, self.ent.netbios, g.sid.removeprefix(self.ent.domain + "-"))
            group_dn = g.dn
        tdn = tgt.dn
        return self._emit(dc, we.directory_change(self.names, self.rt(dc), t, event_id, self.names.acct(who),
                                                  session.logon_id, target=self.names.acct(tgt), target_dn=tdn,
                                                  group=group_acct, group_dn=group_dn, attribute=attribute,
                                                  value=value))[0]

    # ------------------------------------------------------------------ alerts

    def alert_ocsf(self, title: str, technique: str, t: float | None = None, *, host: Host | str | None = None,
                   user: User | Host | str | None = None, src: Host | str | None = None, src_ip: str | None = None,
                   dst: Host | str | None = None, dst_ip: str | None = None, severity: str = "high",
                   uid: str | None = None, rule: str | None = None, description: str | None = None,
                   first_seen: float | None = None) -> dict:
        """An OCSF Detection Finding about things of this enterprise (collected for `write`)."""
        t = self._t(t)
        h = self.host(host) if host is not None else None
        u = self.names.acct(self.user(user)) if user is not None else None
        s_ip = src_ip or (self.host(src).ip if src is not None else None)
        d_ip = dst_ip or (self.host(dst).ip if dst is not None else None)
        doc = ocsf_finding(uid or f"ocsf-{self.ent.seed}-{len(self.alerts) + 1:04d}-{int(t)}", title, technique, t,
                           severity=severity, rule=rule, description=description,
                           host=h.fqdn if h else None, host_ip=h.ip if h else None,
                           user=(u[0], u[1], u[2]) if u else None, src_ip=s_ip, dst_ip=d_ip, first_seen=first_seen)
        self.alerts.append(doc)
        return doc

    def alert_ecs(self, rule_name: str, technique: str, t: float | None = None, *, host: Host | str | None = None,
                  user: User | Host | str | None = None, src: Host | str | None = None, src_ip: str | None = None,
                  dst: Host | str | None = None, dst_ip: str | None = None, severity: str = "high",
                  alert_uuid: str | None = None, reason: str | None = None, original_time: float | None = None,
                  process: Process | None = None) -> dict:
        """An Elastic Security alert about things of this enterprise (collected for `write`)."""
        t = self._t(t)
        h = self.host(host) if host is not None else None
        u = self.names.acct(self.user(user)) if user is not None else None
        s_ip = src_ip or (self.host(src).ip if src is not None else None)
        d_ip = dst_ip or (self.host(dst).ip if dst is not None else None)
        doc = ecs_alert(alert_uuid or we.guid_of("ecs", self.ent.seed, len(self.alerts), t)[1:-1], rule_name,
                        technique, t, severity=severity, reason=reason, user=(u[0], u[1]) if u else None,
                        host=h.fqdn if h else None, source_ip=s_ip, destination_ip=d_ip, original_time=original_time,
                        process=(process.image, process.pid, process.command_line) if process else None)
        self.alerts.append(doc)
        return doc

    # ------------------------------------------------------------------ output

    def write(self, out_dir: Path | str) -> dict[str, int]:
        """`events.jsonl` (time-sorted, record numbers rising per host and channel),
        `conn.log` (Zeek TSV) and, if any, `alerts.ocsf.jsonl` / `alerts.ecs.ndjson`."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        order = sorted(range(len(self.events)), key=lambda i: (self.events[i]["@timestamp"], i))
        by_stream: dict[tuple[str, str], list[int]] = {}
        for i in order:
            ev = self.events[i]
            by_stream.setdefault((ev["Hostname"], ev["Channel"]), []).append(ev["RecordNumber"])
        for nums in by_stream.values():
            nums.sort(reverse=True)
        for i in order:
            ev = self.events[i]
            ev["RecordNumber"] = by_stream[(ev["Hostname"], ev["Channel"])].pop()
        counts = {}
        if self.events:
            with (out / "events.jsonl").open("w", encoding="utf-8", newline="\n") as fh:
                for i in order:
                    fh.write(json.dumps(self.events[i]) + "\n")
            counts["events.jsonl"] = len(self.events)
        if self.conns:
            counts["conn.log"] = write_conn_log(self.conns, out / "conn.log", UidSource(f"kit:{self.ent.seed}"))
        ocsf = [a for a in self.alerts if "class_uid" in a]
        ecs = [a for a in self.alerts if "class_uid" not in a]
        for name, docs in (("alerts.ocsf.jsonl", ocsf), ("alerts.ecs.ndjson", ecs)):
            if docs:
                (out / name).write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
                counts[name] = len(docs)
        return counts
