"""Windows Security, Sysmon and System events as NXLog exports them (one JSON object per
line, flat fields: the shape of the Security-Datasets "mordor" files in
../shared/data/real/mordor-dcsync/), built from the enterprise model.

The builders here are the only place an event's fields are spelled, for both the
day of background activity (graph.generate.background) and the scenario kit
(graph.generate.telemetry): whatever a scenario adds looks exactly like the noise it
hides in. Each builder returns `(channel, event)` pairs without `RecordNumber`; the
caller numbers them per host and channel in time order (`Numberer`), because that
is the one field no single event can know.

`HostRuntime` holds what stays fixed on a host for the period (the process ids of
winlogon, services and lsass, the Sysmon machine GUID prefix) and hands out logon
ids, process ids and ephemeral ports from a range of its own, so the background and a
scenario never give two sessions or processes the same id on the same host.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from graph.generate.model import Enterprise, Host, User

SECURITY = "Security"
SYSMON = "Microsoft-Windows-Sysmon/Operational"
SYSTEM = "System"
_SEC_PROVIDER = ("Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-A5BA-3E3B0328C30D}")
_SYSMON_PROVIDER = ("Microsoft-Windows-Sysmon", "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}")
_SCM_PROVIDER = ("Service Control Manager", "{555908d1-a6d7-4695-8e1e-26931d2012f4}")
_KW_SUCCESS, _KW_FAILURE, _KW_SYSMON, _KW_SYSTEM = (-9214364837600034816, -9218868437227405312,
                                                      -9223372036854775808, -9187343239835811840)
REPLICATION_GUIDS = ("1131f6aa-9c07-11d1-f79f-00c04fc2dcd2", "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2",
                     "89e95b76-444d-4c62-991a-0facbeda640c")
DOMAIN_DNS_CLASS = "19195a5b-6da0-11d0-afd3-00c04fd930c9"
USER_CLASS = "bf967aba-0de6-11d0-a285-00aa003049e2"
SYSTEM_LOGON = "0x3e7"
NULL_SID = "S-1-0-0"
LOCAL_SYSTEM_SID = "S-1-5-18"
# Mandatory labels and Sysmon integrity levels.
INTEGRITY = {"medium": ("S-1-16-8192", "Medium"), "high": ("S-1-16-12288", "High"), "system": ("S-1-16-16384", "System")}
# Image -> (FileVersion, Description, Product, Company, OriginalFileName), for Sysmon 1.
_WIN = ("Microsoft® Windows® Operating System", "Microsoft Corporation")
IMAGE_INFO = {
    "userinit.exe": ("10.0.19041.1 (WinBuild.160101.0800)", "Userinit Logon Application", *_WIN, "USERINIT.EXE"),
    "explorer.exe": ("10.0.19041.3636 (WinBuild.160101.0800)", "Windows Explorer", *_WIN, "EXPLORER.EXE"),
    "cmd.exe": ("10.0.19041.3636 (WinBuild.160101.0800)", "Windows Command Processor", *_WIN, "Cmd.Exe"),
    "powershell.exe": ("10.0.19041.3636 (WinBuild.160101.0800)", "Windows PowerShell", *_WIN, "PowerShell.EXE"),
    "mstsc.exe": ("10.0.19041.3636 (WinBuild.160101.0800)", "Remote Desktop Connection", *_WIN, "mstsc.exe"),
    "mmc.exe": ("10.0.19041.3636 (WinBuild.160101.0800)", "Microsoft Management Console", *_WIN, "mmc.exe"),
    "rdpclip.exe": ("10.0.19041.3636 (WinBuild.160101.0800)", "RDP Clipboard Monitor", *_WIN, "rdpclip.exe"),
    "taskmgr.exe": ("10.0.19041.3636 (WinBuild.160101.0800)", "Task Manager", *_WIN, "Taskmgr.exe"),
    "servermanager.exe": ("10.0.17763.1 (WinBuild.160101.0800)", "Server Manager", *_WIN, "ServerManager.exe"),
    "notepad.exe": ("10.0.19041.3636 (WinBuild.160101.0800)", "Notepad", *_WIN, "NOTEPAD.EXE"),
    "wsmprovhost.exe": ("10.0.19041.3636 (WinBuild.160101.0800)", "Host process for WinRM plug-ins", *_WIN,
                        "wsmprovhost.exe"),
    "msedge.exe": ("120.0.2210.91", "Microsoft Edge", "Microsoft Edge", "Microsoft Corporation", "msedge.exe"),
    "outlook.exe": ("16.0.17126.20132", "Microsoft Outlook", "Microsoft Office", "Microsoft Corporation", "Outlook.exe"),
    "excel.exe": ("16.0.17126.20132", "Microsoft Excel", "Microsoft Office", "Microsoft Corporation", "Excel.exe"),
    "winword.exe": ("16.0.17126.20132", "Microsoft Word", "Microsoft Office", "Microsoft Corporation", "WinWord.exe"),
    "ms-teams.exe": ("24004.1307.2669.7070", "Microsoft Teams", "Microsoft Teams", "Microsoft Corporation",
                     "ms-teams.exe"),
    "onedrive.exe": ("23.246.1127.0002", "Microsoft OneDrive", "Microsoft OneDrive", "Microsoft Corporation",
                     "OneDrive.exe"),
}


@lru_cache(maxsize=1 << 17)
def _second(sec: int) -> tuple[str, str]:
    dt = datetime.fromtimestamp(sec, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S"), dt.strftime("%Y-%m-%d %H:%M:%S")


def times(ts: float) -> tuple[str, str, str]:
    """(@timestamp, EventTime, Sysmon UtcTime) for an epoch time, all UTC."""
    sec = int(ts)
    ms = int(round((ts - sec) * 1000))
    if ms == 1000:
        sec, ms = sec + 1, 0
    iso, plain = _second(sec)
    return f"{iso}.{ms:03d}Z", plain, f"{plain}.{ms:03d}"


def image_hashes(image: str) -> str:
    """Stable per executable (the same binary has the same hashes on every host)."""
    base = image.lower().encode()
    return (f"MD5={hashlib.md5(base).hexdigest().upper()},SHA256={hashlib.sha256(base).hexdigest().upper()},"
            f"IMPHASH={hashlib.md5(base[::-1]).hexdigest().upper()}")


def guid_of(*parts: object) -> str:
    h = hashlib.md5("|".join(str(p) for p in parts).encode()).hexdigest()
    return f"{{{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}}}"


Acct = tuple[str, str, str]  # (name, NetBIOS domain, SID)


class Names:
    """How this domain's hosts and accounts are spelled in events."""

    def __init__(self, ent: Enterprise) -> None:
        self.ent = ent
        self.netbios = ent.netbios
        self.domain = ent.domain
        self.dom_lower = ent.domain.lower()
        self.krbtgt_sid = ent.sid(502)
        self.domain_guid = guid_of("domain", ent.domain_sid)[1:-1]

    def hostname(self, h: Host) -> str:
        return f"{h.short}.{self.dom_lower}"

    def acct(self, who: User | Host) -> Acct:
        if isinstance(who, Host):
            return (f"{who.short}$", self.netbios, who.sid)
        return (who.sam, self.netbios, who.sid)


@dataclass
class HostRuntime:
    """Per-host constants and id allocators. `band` 0 is the background's, 1 a
    scenario's: their logon ids, process ids and record numbers never overlap."""

    host: Host
    index: int
    band: int = 0
    rng: random.Random = field(init=False)
    lsass: int = 0
    services: int = 0
    winlogon: int = 0
    svchost: int = 0
    guid8: str = ""
    _pid: int = 0
    _logon: int = 0
    _port: int = 0

    def __post_init__(self) -> None:
        r = random.Random(f"host:{self.host.sid}")
        self.winlogon = 4 * r.randint(120, 160)
        self.services = 4 * r.randint(161, 180)
        self.lsass = self.services + 4 * r.randint(2, 6)
        self.svchost = self.lsass + 4 * r.randint(20, 60)
        self.guid8 = f"{r.getrandbits(32):08x}"
        self.rng = random.Random(f"rt:{self.host.sid}:{self.band}")
        self._pid = 2000 + 4 * self.rng.randint(0, 500) + self.band * 40000
        self._logon = (0x100000 + self.rng.randint(0, 0xfffff) * 16) if self.band == 0 else (
            0x40000000 + self.rng.randint(0, 0xfffff) * 16)
        self._port = 49152 + self.rng.randint(0, 8000) + self.band * 8000

    def pid(self) -> int:
        self._pid += 4 * self.rng.randint(1, 40)
        return self._pid

    def logon_id(self) -> str:
        self._logon += self.rng.randint(0x100, 0x4000)
        return hex(self._logon)

    def port(self) -> int:
        self._port += self.rng.randint(1, 7)
        if self._port > 65535:
            self._port = 49152 + self._port % 1000
        return self._port

    def record_base(self, channel: str) -> int:
        base = 100_000 + (self.index * 7919 + (0 if channel == SECURITY else 3331)) % 800_000
        return base + self.band * 20_000_000


class Numberer:
    """RecordNumber per host and channel, handed out in the order events are rendered
    (render in time order and they increase with time)."""

    def __init__(self) -> None:
        self.next: dict[tuple[str, str], int] = {}

    def take(self, rt: HostRuntime, channel: str) -> int:
        key = (rt.host.fqdn, channel)
        n = self.next.get(key)
        if n is None:
            n = rt.record_base(channel)
        self.next[key] = n + 1
        return n


def _env(names: Names, rt: HostRuntime, channel: str, eid: int, ts: float, *, task: int, category: str,
         message: str, version: int = 0, failure: bool = False, provider: tuple[str, str] = _SEC_PROVIDER) -> dict:
    stamp, plain, _ = times(ts)
    received = _second(int(ts) + 1)[1]
    kw = _KW_FAILURE if failure else _KW_SUCCESS
    return {
        "@version": "1", "@timestamp": stamp, "EventTime": plain, "EventReceivedTime": received,
        "Hostname": names.hostname(rt.host), "SourceModuleName": "eventlog", "SourceModuleType": "im_msvistalog",
        "SourceName": provider[0], "ProviderGuid": provider[1], "Channel": channel, "EventID": eid,
        "RecordNumber": 0, "Version": version, "Task": task, "Category": category, "Opcode": "Info",
        "OpcodeValue": 0, "Keywords": kw, "EventType": "AUDIT_FAILURE" if failure else "AUDIT_SUCCESS",
        "Severity": "INFO", "SeverityValue": 2, "ExecutionProcessID": rt.lsass, "ThreadID": 400 + eid % 997,
        "Message": message,
    }


def _subject(ev: dict, acct: Acct | None, logon: str) -> None:
    if acct is None:
        ev.update(SubjectUserSid=NULL_SID, SubjectUserName="-", SubjectDomainName="-", SubjectLogonId="0x0")
    else:
        ev.update(SubjectUserSid=acct[2], SubjectUserName=acct[0], SubjectDomainName=acct[1], SubjectLogonId=logon)


# --------------------------------------------------------------------- logons

def logon_4624(names: Names, rt: HostRuntime, ts: float, target: Acct, logon_type: int, logon_id: str, *,
               src_ip: str = "-", src_port: int | str = "-", auth: str = "Kerberos", elevated: bool = False,
               logon_guid: str | None = None) -> list[tuple[str, dict]]:
    """4624. Interactive kinds (2, 7, 10, 11) are reported by the host's own account
    with svchost as the logon process; network ones (3) come with no subject; a
    service logon (5) is the service control manager (services.exe, Advapi) starting
    a service as its account, on the host itself."""
    ev = _env(names, rt, SECURITY, 4624, ts, task=12544, category="Logon", version=2,
              message="An account was successfully logged on.")
    interactive = logon_type in (2, 7, 10, 11)
    if interactive or logon_type == 5:
        _subject(ev, names.acct(rt.host), SYSTEM_LOGON)
    else:
        _subject(ev, None, "0x0")
    kerberos = auth == "Kerberos"
    ev.update(
        TargetUserSid=target[2], TargetUserName=target[0], TargetDomainName=target[1], TargetLogonId=logon_id,
        LogonType=str(logon_type),
        LogonProcessName="User32 " if interactive else ("Kerberos" if kerberos else "NtLmSsp "),
        AuthenticationPackageName="Negotiate" if interactive else ("Kerberos" if kerberos else "NTLM"),
        WorkstationName=rt.host.short if interactive else ("-" if kerberos else "-"),
        LogonGuid=logon_guid or (guid_of(rt.host.fqdn, logon_id) if kerberos or interactive
                                 else "{00000000-0000-0000-0000-000000000000}"),
        TransmittedServices="-", LmPackageName="-" if kerberos or interactive else "NTLM V2",
        KeyLength="0" if kerberos or interactive else "128",
        ProcessId=hex(rt.svchost) if interactive else "0x0",
        ProcessName="C:\\Windows\\System32\\svchost.exe" if interactive else "-",
        IpAddress=src_ip if src_ip else "-", IpPort=str(src_port),
        ImpersonationLevel="%%1833", RestrictedAdminMode="-" if logon_type != 10 else "%%1843",
        TargetOutboundUserName="-", TargetOutboundDomainName="-", VirtualAccount="%%1843",
        TargetLinkedLogonId="0x0", ElevatedToken="%%1842" if elevated else "%%1843",
    )
    if logon_type == 5:
        ev.update(LogonProcessName="Advapi  ", AuthenticationPackageName="Negotiate", WorkstationName="-",
                  ProcessId=hex(rt.services), ProcessName="C:\\Windows\\System32\\services.exe",
                  IpAddress="-", IpPort="-")
    return [(SECURITY, ev)]


def logon_failed_4625(names: Names, rt: HostRuntime, ts: float, target: Acct, logon_type: int, *,
                      src_ip: str, src_port: int | str, status: str, sub_status: str,
                      workstation: str = "-") -> list[tuple[str, dict]]:
    ev = _env(names, rt, SECURITY, 4625, ts, task=12544, category="Logon", failure=True,
              message="An account failed to log on.")
    _subject(ev, None, "0x0")
    ev.update(TargetUserSid=NULL_SID, TargetUserName=target[0], TargetDomainName=target[1], Status=status,
              FailureReason="%%2313", SubStatus=sub_status, LogonType=str(logon_type), LogonProcessName="NtLmSsp ",
              AuthenticationPackageName="NTLM", WorkstationName=workstation, TransmittedServices="-",
              LmPackageName="-", KeyLength="0", ProcessId="0x0", ProcessName="-", IpAddress=src_ip,
              IpPort=str(src_port))
    return [(SECURITY, ev)]


def logoff_4634(names: Names, rt: HostRuntime, ts: float, target: Acct, logon_type: int,
                logon_id: str) -> list[tuple[str, dict]]:
    ev = _env(names, rt, SECURITY, 4634, ts, task=12545, category="Logoff", message="An account was logged off.")
    ev.update(TargetUserSid=target[2], TargetUserName=target[0], TargetDomainName=target[1], TargetLogonId=logon_id,
              LogonType=str(logon_type))
    return [(SECURITY, ev)]


def user_logoff_4647(names: Names, rt: HostRuntime, ts: float, target: Acct, logon_id: str) -> list[tuple[str, dict]]:
    ev = _env(names, rt, SECURITY, 4647, ts, task=12545, category="Logoff", message="User initiated logoff:")
    ev.update(TargetUserSid=target[2], TargetUserName=target[0], TargetDomainName=target[1], TargetLogonId=logon_id)
    return [(SECURITY, ev)]


# --------------------------------------------------------------------- processes

def process_create(names: Names, rt: HostRuntime, ts: float, user: Acct, logon_id: str, pid: int, image: str,
                   command_line: str, ppid: int, parent_image: str, parent_command_line: str, guid: str,
                   parent_guid: str, *, integrity: str = "medium", creator: tuple[Acct, str] | None = None,
                   cwd: str | None = None, session: int = 1, sysmon: bool = True) -> list[tuple[str, dict]]:
    """4688 and, with `sysmon`, Sysmon 1 for the same process. `creator` is the account
    and logon that started it when that is not the process's own (winlogon starting
    userinit as the user: SYSTEM creates, the user's logon is the target)."""
    label, level = INTEGRITY[integrity]
    sec = _env(names, rt, SECURITY, 4688, ts, task=13312, category="Process Creation", version=2,
               message="A new process has been created.")
    if creator:
        _subject(sec, creator[0], creator[1])
        sec.update(TargetUserSid=user[2], TargetUserName=user[0], TargetDomainName=user[1], TargetLogonId=logon_id)
    else:
        _subject(sec, user, logon_id)
        sec.update(TargetUserSid=NULL_SID, TargetUserName="-", TargetDomainName="-", TargetLogonId="0x0")
    sec.update(NewProcessId=hex(pid), NewProcessName=image,
               TokenElevationType="%%1937" if integrity == "high" else "%%1938", ProcessId=hex(ppid),
               CommandLine=command_line, ParentProcessName=parent_image, MandatoryLabel=label)
    out = [(SECURITY, sec)]
    if not sysmon:
        return out
    stamp, plain, utc = times(ts)
    base = image.rsplit("\\", 1)[-1].lower()
    info = IMAGE_INFO.get(base, ("-", "-", "-", "-", "-"))
    sy = {
        "@version": "1", "@timestamp": stamp, "EventTime": plain, "EventReceivedTime": _second(int(ts) + 1)[1],
        "Hostname": names.hostname(rt.host), "SourceModuleName": "eventlog", "SourceModuleType": "im_msvistalog",
        "SourceName": _SYSMON_PROVIDER[0], "ProviderGuid": _SYSMON_PROVIDER[1], "Channel": SYSMON, "EventID": 1,
        "RecordNumber": 0, "Version": 5, "Task": 1, "Category": "Process Create (rule: ProcessCreate)",
        "Opcode": "Info", "OpcodeValue": 0, "Keywords": _KW_SYSMON, "EventType": "INFO", "Severity": "INFO",
        "SeverityValue": 2, "ExecutionProcessID": rt.svchost + 8, "ThreadID": 3000 + pid % 997,
        "UserID": LOCAL_SYSTEM_SID, "Domain": "NT AUTHORITY", "AccountName": "SYSTEM", "AccountType": "User",
        "Message": f"Process Create:\r\nRuleName: -\r\nUtcTime: {utc}",
        "RuleName": "-", "UtcTime": utc, "ProcessGuid": guid, "ProcessId": str(pid), "Image": image,
        "FileVersion": info[0], "Description": info[1], "Product": info[2], "Company": info[3],
        "OriginalFileName": info[4], "CommandLine": command_line,
        "CurrentDirectory": cwd or ("C:\\Windows\\system32\\" if integrity != "medium"
                                    else f"C:\\Users\\{user[0]}\\"),
        "User": f"{user[1]}\\{user[0]}", "LogonGuid": guid_of(rt.host.fqdn, logon_id), "LogonId": logon_id,
        "TerminalSessionId": str(session), "IntegrityLevel": level, "Hashes": image_hashes(image),
        "ParentProcessGuid": parent_guid, "ParentProcessId": str(ppid), "ParentImage": parent_image,
        "ParentCommandLine": parent_command_line,
        "ParentUser": f"{creator[0][1]}\\{creator[0][0]}" if creator else f"{user[1]}\\{user[0]}",
    }
    out.append((SYSMON, sy))
    return out


def process_guid(rt: HostRuntime, ts: float, pid: int) -> str:
    """Sysmon's ProcessGuid: machine part, creation time, then a per-process part."""
    sec = int(ts)
    return f"{{{rt.guid8}-{sec & 0xffff:04x}-{(sec >> 16) & 0xffff:04x}-{(pid >> 16) & 0xffff:04x}-{pid:08x}{rt.band:04x}}}"


# --------------------------------------------------------------------- objects and shares

def share_5140(names: Names, rt: HostRuntime, ts: float, user: Acct, logon_id: str, src_ip: str,
               src_port: int | str, share: str, local_path: str) -> list[tuple[str, dict]]:
    ev = _env(names, rt, SECURITY, 5140, ts, task=12808, category="File Share", version=1,
              message="A network share object was accessed.")
    _subject(ev, user, logon_id)
    ev.update(ObjectType="File", IpAddress=src_ip, IpPort=str(src_port), ShareName=f"\\\\*\\{share}",
              ShareLocalPath=f"\\??\\{local_path}" if local_path else "", AccessMask="0x1",
              AccessList="%%4416\r\n\t\t\t\t")
    return [(SECURITY, ev)]


def directory_4662(names: Names, rt: HostRuntime, ts: float, user: Acct, logon_id: str, *,
                   replication: bool) -> list[tuple[str, dict]]:
    """4662 on the domain object: with the DS-Replication-Get-Changes(-All) rights
    when `replication` (what a DC partner - or a DCSync - does), else a property read."""
    ev = _env(names, rt, SECURITY, 4662, ts, task=14080, category="Directory Service Access",
              message="An operation was performed on an object.")
    _subject(ev, user, logon_id)
    if replication:
        props = ("%%7688\r\n\t\t{" + REPLICATION_GUIDS[0] + "}\r\n\t\t{" + REPLICATION_GUIDS[1] + "}\r\n\t{"
                 + DOMAIN_DNS_CLASS + "}\r\n")
        access, mask, otype = "%%7688\r\n\t\t\t\t", "0x100", DOMAIN_DNS_CLASS
    else:
        props = "%%7684\r\n\t\t{" + USER_CLASS + "}\r\n"
        access, mask, otype = "%%7684\r\n\t\t\t\t", "0x10", USER_CLASS
    ev.update(ObjectServer="DS", ObjectType=f"%{{{otype}}}", ObjectName=f"%{{{names.domain_guid}}}",
              OperationType="Object Access", HandleId="0x0", AccessList=access, AccessMask=mask, Properties=props,
              AdditionalInfo="-", AdditionalInfo2="")
    return [(SECURITY, ev)]


# --------------------------------------------------------------------- Kerberos / NTLM

def tgt_4768(names: Names, rt: HostRuntime, ts: float, user: Acct, src_ip: str, src_port: int, *,
             encryption: str = "0x12", preauth: int | str = 2, status: str = "0x0") -> list[tuple[str, dict]]:
    ev = _env(names, rt, SECURITY, 4768, ts, task=14339, category="Kerberos Authentication Service",
              failure=status != "0x0", message="A Kerberos authentication ticket (TGT) was requested.")
    ev.update(TargetUserName=user[0], TargetDomainName=names.domain, TargetSid=user[2], ServiceName="krbtgt",
              ServiceSid=names.krbtgt_sid, TicketOptions="0x40810010", Status=status,
              TicketEncryptionType=encryption if status == "0x0" else "0xffffffff", PreAuthType=str(preauth),
              IpAddress=f"::ffff:{src_ip}", IpPort=str(src_port), CertIssuerName="", CertSerialNumber="",
              CertThumbprint="")
    return [(SECURITY, ev)]


def tgs_4769(names: Names, rt: HostRuntime, ts: float, user: Acct, service: Acct, src_ip: str, src_port: int, *,
             encryption: str = "0x12", status: str = "0x0", options: str = "0x40810000") -> list[tuple[str, dict]]:
    ev = _env(names, rt, SECURITY, 4769, ts, task=14337, category="Kerberos Service Ticket Operations",
              failure=status != "0x0", message="A Kerberos service ticket was requested.")
    ev.update(TargetUserName=f"{user[0]}@{names.domain}", TargetDomainName=names.domain, ServiceName=service[0],
              ServiceSid=service[2], TicketOptions=options, TicketEncryptionType=encryption,
              IpAddress=f"::ffff:{src_ip}", IpPort=str(src_port), Status=status,
              LogonGuid=guid_of("tgs", user[2], ts), TransmittedServices="-")
    return [(SECURITY, ev)]


def ntlm_4776(names: Names, rt: HostRuntime, ts: float, user: Acct, workstation: str, *,
              status: str = "0x0") -> list[tuple[str, dict]]:
    ev = _env(names, rt, SECURITY, 4776, ts, task=14336, category="Credential Validation", failure=status != "0x0",
              message="The computer attempted to validate the credentials for an account.")
    ev.update(PackageName="MICROSOFT_AUTHENTICATION_PACKAGE_V1_0", TargetUserName=user[0], Workstation=workstation,
              Status=status)
    return [(SECURITY, ev)]


# --------------------------------------------------------------------- persistence and directory changes

def service_install(names: Names, rt: HostRuntime, ts: float, user: Acct, logon_id: str, service_name: str,
                    image: str, account: str = "LocalSystem") -> list[tuple[str, dict]]:
    """7045 (System, Service Control Manager) and 4697 (Security) for one installation."""
    sysev = _env(names, rt, SYSTEM, 7045, ts, task=0, category="None", provider=_SCM_PROVIDER,
                 message="A service was installed in the system.")
    sysev.update(Keywords=_KW_SYSTEM, EventType="INFO", UserID=user[2], ServiceName=service_name, ImagePath=image,
                 ServiceType="user mode service", StartType="demand start", AccountName=account)
    sec = _env(names, rt, SECURITY, 4697, ts, task=12289, category="Security System Extension",
               message="A service was installed in the system.")
    _subject(sec, user, logon_id)
    sec.update(ServiceName=service_name, ServiceFileName=image, ServiceType="0x10", ServiceStartType="3",
               ServiceAccount=account)
    return [(SYSTEM, sysev), (SECURITY, sec)]


def scheduled_task_4698(names: Names, rt: HostRuntime, ts: float, user: Acct, logon_id: str, name: str,
                        command: str, arguments: str = "") -> list[tuple[str, dict]]:
    ev = _env(names, rt, SECURITY, 4698, ts, task=12804, category="Other Object Access Events", version=1,
              message="A scheduled task was created.")
    _subject(ev, user, logon_id)
    stamp = times(ts)[0][:19]
    content = ('<?xml version="1.0" encoding="UTF-16"?>\r\n<Task version="1.2" '
               'xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">\r\n  <RegistrationInfo>\r\n'
               f"    <Date>{stamp}</Date>\r\n    <Author>{user[1]}\\{user[0]}</Author>\r\n"
               f"    <URI>\\{name}</URI>\r\n  </RegistrationInfo>\r\n  <Actions Context=\"Author\">\r\n"
               f"    <Exec>\r\n      <Command>{command}</Command>\r\n"
               + (f"      <Arguments>{arguments}</Arguments>\r\n" if arguments else "")
               + "    </Exec>\r\n  </Actions>\r\n</Task>")
    ev.update(TaskName=f"\\{name}", TaskContent=content, ClientProcessStartKey="0",
              ClientProcessId=str(rt.svchost), ParentProcessId=str(rt.services), RpcCallClientLocality="0",
              FQDN=names.hostname(rt.host))
    return [(SECURITY, ev)]


_DIRECTORY_EVENTS = {
    4738: (13824, "User Account Management", "A user account was changed."),
    4724: (13824, "User Account Management", "An attempt was made to reset an account's password."),
    4728: (13826, "Security Group Management", "A member was added to a security-enabled global group."),
    4732: (13826, "Security Group Management", "A member was added to a security-enabled local group."),
    5136: (14081, "Directory Service Changes", "A directory service object was modified."),
}


def directory_change(names: Names, rt: HostRuntime, ts: float, eid: int, actor: Acct, logon_id: str, *,
                     target: Acct, target_dn: str, group: Acct | None = None, group_dn: str | None = None,
                     attribute: str | None = None, value: str | None = None) -> list[tuple[str, dict]]:
    """4738 / 4724 (target: the account), 4728 / 4732 (target joins `group`), 5136 (an
    attribute of the target's object gets `value`)."""
    if eid not in _DIRECTORY_EVENTS:
        raise ValueError(f"event {eid} is not one of {sorted(_DIRECTORY_EVENTS)}")
    task, category, message = _DIRECTORY_EVENTS[eid]
    ev = _env(names, rt, SECURITY, eid, ts, task=task, category=category, message=message)
    _subject(ev, actor, logon_id)
    if eid in (4738, 4724):
        ev.update(TargetUserName=target[0], TargetDomainName=target[1], TargetSid=target[2])
        if eid == 4738:
            ev.update(PrivilegeList="-", SamAccountName="-", DisplayName="-", UserPrincipalName="-",
                      HomeDirectory="-", HomePath="-", ScriptPath="-", ProfilePath="-", UserWorkstations="-",
                      PasswordLastSet="-", AccountExpires="-", PrimaryGroupId="-", AllowedToDelegateTo="-",
                      OldUacValue="-", NewUacValue="-", UserAccountControl=value or "-", UserParameters="-",
                      SidHistory="-", LogonHours="-")
    elif eid in (4728, 4732):
        if group is None:
            raise ValueError(f"event {eid} needs the group the target is added to")
        ev.update(MemberName=target_dn, MemberSid=target[2], TargetUserName=group[0],
                  TargetDomainName="Builtin" if eid == 4732 and group[2].startswith("S-1-5-32-") else group[1],
                  TargetSid=group[2], PrivilegeList="-")
    else:
        ev.update(Version=0, OpCorrelationID=guid_of("op", ts, target_dn), AppCorrelationID="-",
                  DSName=names.domain.lower(), DSType="%%14676", ObjectDN=target_dn,
                  ObjectGUID=guid_of("obj", target_dn), ObjectClass="group" if group_dn else "user",
                  AttributeLDAPDisplayName=attribute or "description", AttributeSyntaxOID="2.5.5.12",
                  AttributeValue=value or "", OperationType="%%14674")
    return [(SECURITY, ev)]
