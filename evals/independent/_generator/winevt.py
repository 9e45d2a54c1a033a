"""Windows Security / Sysmon / System events in the NXLog JSON-lines shape of the OTRF (Mordor) exports,
and Zeek conn.log lines, with background activity. One `Events` object per scenario."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

from common import COLLECTOR, DOMAIN, NETBIOS, UTC, LOCAL_OFFSET, hexdigest, iso, rng_for, sid, ts
from enterprise import COMPUTERS, USERS, C, U, IP_OF

SEC_GUID = "{54849625-5478-4994-A5BA-3E3B0328C30D}"
SYSMON_GUID = "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"
SCM_GUID = "{555908D1-A6D7-4695-8E1E-26931D2012F4}"
EVTLOG_GUID = "{FC65DDD8-D6EF-4962-83D5-6E5CFE9CE148}"
SYSMON_CH = "Microsoft-Windows-Sysmon/Operational"

SEC_TASK = {4624: (12544, "Logon"), 4625: (12544, "Logon"), 4634: (12545, "Logoff"), 4647: (12545, "Logoff"),
            4648: (12544, "Logon"), 4672: (12548, "Special Logon"), 4662: (14080, "Directory Service Access"),
            5136: (14081, "Directory Service Changes"), 4688: (13312, "Process Creation"), 4768: (14339, "Kerberos Authentication Service"),
            4769: (14337, "Kerberos Service Ticket Operations"), 4771: (14339, "Kerberos Authentication Service"),
            4776: (14336, "Credential Validation"), 4723: (13824, "User Account Management"), 4724: (13824, "User Account Management"),
            4738: (13824, "User Account Management"), 4720: (13824, "User Account Management"), 4722: (13824, "User Account Management"),
            4728: (13826, "Security Group Management"), 4729: (13826, "Security Group Management"),
            4732: (13826, "Security Group Management"), 4733: (13826, "Security Group Management"), 4756: (13826, "Security Group Management"),
            5140: (12808, "File Share"), 5145: (12811, "Detailed File Share"), 4697: (12289, "Security System Extension"),
            4698: (12804, "Other Object Access Events"), 4699: (12804, "Other Object Access Events"), 4702: (12804, "Other Object Access Events"),
            4663: (12800, "File System"), 4656: (12800, "File System"), 4673: (13056, "Sensitive Privilege Use"), 4674: (13056, "Sensitive Privilege Use"),
            5156: (12810, "Filtering Platform Connection"), 4742: (13825, "Computer Account Management"),
            4740: (13824, "User Account Management"), 4670: (13570, "Authorization Policy Change")}
SEC_VERSION = {4624: 2, 4625: 0, 4688: 2, 4662: 0, 4768: 0, 4769: 0, 5140: 1, 5145: 0, 4634: 0, 4672: 0, 5136: 0}
SYSMON_CAT = {1: "Process Create (rule: ProcessCreate)", 3: "Network connection detected (rule: NetworkConnect)",
              5: "Process terminated (rule: ProcessTerminate)", 10: "Process accessed (rule: ProcessAccess)",
              11: "File created (rule: FileCreate)", 13: "Registry value set (rule: RegistryEvent)", 22: "Dns query (rule: DnsQuery)",
              7: "Image loaded (rule: ImageLoad)"}
SYSMON_VER = {1: 5, 3: 5, 5: 3, 10: 3, 11: 2, 13: 2, 22: 5, 7: 3}

LOGON_TYPE_DESC = {2: "Interactive", 3: "Network", 4: "Batch", 5: "Service", 7: "Unlock", 10: "RemoteInteractive", 11: "CachedInteractive"}

# well-known images: path -> (description, product, company, original file name)
IMAGES = {
    "cmd.exe": ("Windows Command Processor", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "Cmd.Exe"),
    "powershell.exe": ("Windows PowerShell", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "PowerShell.EXE"),
    "svchost.exe": ("Host Process for Windows Services", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "svchost.exe"),
    "wmiprvse.exe": ("WMI Provider Host", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "Wmiprvse.exe"),
    "wsmprovhost.exe": ("Host process for WinRM plug-ins", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "wsmprovhost.exe"),
    "rundll32.exe": ("Windows host process (Rundll32)", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "RUNDLL32.EXE"),
    "reg.exe": ("Registry Console Tool", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "reg.exe"),
    "ntdsutil.exe": ("NT5DS", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "ntdsutil.exe"),
    "taskhostw.exe": ("Host Process for Windows Tasks", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "taskhostw.exe"),
    "conhost.exe": ("Console Window Host", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "CONHOST.EXE"),
    "schtasks.exe": ("Task Scheduler Configuration Tool", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "schtasks.exe"),
    "net.exe": ("Net Command", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "net.exe"),
    "whoami.exe": ("whoami - displays logged on user information", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "whoami.exe"),
    "rdpclip.exe": ("RDP Clipboard Monitor", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "rdpclip.exe"),
    "explorer.exe": ("Windows Explorer", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "EXPLORER.EXE"),
    "vssadmin.exe": ("Command Line Interface for Microsoft\u00ae Volume Shadow Copy Service ", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "VSSADMIN.EXE"),
    "wevtutil.exe": ("Eventing Command Line Utility", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "wevtutil.exe"),
    "java.exe": ("OpenJDK Platform binary", "OpenJDK Platform 11.0.13", "Eclipse Adoptium", "java.exe"),
    "tomcat9.exe": ("Commons Daemon Service Runner", "Apache Tomcat", "Apache Software Foundation", "prunsrv.exe"),
    "chrome.exe": ("Google Chrome", "Google Chrome", "Google LLC", "chrome.exe"),
    "OUTLOOK.EXE": ("Microsoft Outlook", "Microsoft Outlook", "Microsoft Corporation", "Outlook.exe"),
    "WINWORD.EXE": ("Microsoft Word", "Microsoft Office", "Microsoft Corporation", "WinWord.exe"),
    "ms-teams.exe": ("Microsoft Teams", "Microsoft Teams", "Microsoft Corporation", "ms-teams.exe"),
    "OneDrive.exe": ("Microsoft OneDrive", "Microsoft OneDrive", "Microsoft Corporation", "OneDrive.exe"),
    "MpCmdRun.exe": ("Microsoft Malware Protection Command Line Utility", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "MpCmdRun.exe"),
    "MsMpEng.exe": ("Antimalware Service Executable", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "MsMpEng.exe"),
    "gpupdate.exe": ("Microsoft\u00ae Windows\u00ae Operating System Group Policy Update Utility", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "gpupdate.exe"),
    "CompatTelRunner.exe": ("Microsoft Compatibility Telemetry", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "CompatTelRunner.exe"),
    "MonitoringHost.exe": ("Health Service Monitoring Host Process", "System Center Operations Manager", "Microsoft Corporation", "MonitoringHost.exe"),
    "CcmExec.exe": ("CCM Executive", "Microsoft Endpoint Configuration Manager", "Microsoft Corporation", "CcmExec.exe"),
    "sqlservr.exe": ("SQL Server Windows NT - 64 Bit", "Microsoft SQL Server", "Microsoft Corporation", "sqlservr.exe"),
    "w3wp.exe": ("IIS Worker Process", "Internet Information Services", "Microsoft Corporation", "w3wp.exe"),
    "VeeamAgent.exe": ("Veeam Agent", "Veeam Backup & Replication", "Veeam Software Group GmbH", "VeeamAgent.exe"),
    "VeeamGuestHelper.exe": ("Veeam Guest Helper", "Veeam Backup & Replication", "Veeam Software Group GmbH", "VeeamGuestHelper.exe"),
    "ccmsetup.exe": ("Configuration Manager Client Setup Bootstrap", "Microsoft Endpoint Configuration Manager", "Microsoft Corporation", "ccmsetup.exe"),
    "PSEXESVC.exe": ("PsExec Service", "Sysinternals PsExec", "Sysinternals - www.sysinternals.com", "psexesvc.exe"),
    "procdump64.exe": ("Sysinternals process dump utility", "ProcDump", "Sysinternals - www.sysinternals.com", "procdump"),
    "WindowsAzureGuestAgent.exe": ("Windows Azure Guest Agent", "Windows Azure Guest Agent", "Microsoft Corporation", "WindowsAzureGuestAgent.exe"),
    "bomgar-scc.exe": ("BeyondTrust Jump Client", "BeyondTrust Remote Support", "BeyondTrust Corporation", "bomgar-scc.exe"),
    "7z.exe": ("7-Zip Console", "7-Zip", "Igor Pavlov", "7z.exe"),
    "wmic.exe": ("WMI Commandline Utility", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "wmic.exe"),
    "mstsc.exe": ("Remote Desktop Connection", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "mstsc.exe"),
    "ssms.exe": ("SSMS", "Microsoft SQL Server Management Studio", "Microsoft Corporation", "Ssms.exe"),
    "Rubeus.exe": ("Rubeus", "Rubeus", "", "Rubeus.exe"),
    "lsass.exe": ("Local Security Authority Process", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "lsass.exe"),
    "services.exe": ("Services and Controller app", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "services.exe"),
    "WerFault.exe": ("Windows Problem Reporting", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "WerFault.exe"),
    "certutil.exe": ("CertUtil.exe", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "CertUtil.exe"),
    "curl.exe": ("curl executable", "The curl executable", "curl, https://curl.se/", "curl.exe"),
    "robocopy.exe": ("Microsoft Robocopy", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "robocopy.exe"),
    "sc.exe": ("Service Control Manager Configuration Tool", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "sc.exe"),
    "iisreset.exe": ("IIS Reset Utility", "Internet Information Services", "Microsoft Corporation", "iisreset.exe"),
}


def _basename(path: str) -> str:
    return path.replace("/", "\\").split("\\")[-1]


def hashes(path: str) -> str:
    b = _basename(path).lower()
    return (f"SHA1={hexdigest('sha1' + b, 40).upper()},MD5={hexdigest('md5' + b, 32).upper()},"
            f"SHA256={hexdigest('sha256' + b).upper()},IMPHASH={hexdigest('imp' + b, 32).upper()}")


def le_hex(n: int) -> str:
    b = n.to_bytes(8, "little").hex()
    return f"{b[:4]}-{b[4:]}"


class Proc(dict):
    """A process as Sysmon saw it: keys guid, pid, image, cmd, user, logon_id, host, integrity, session."""


class Events:
    def __init__(self, name: str, start: str, end: str):
        self.name = name
        self.rng = rng_for(name)
        self.start, self.end = ts(start), ts(end)
        self.win: list[dict] = []
        self.zeek: list[dict] = []
        self._procs: dict[tuple, Proc] = {}
        self._seq = 0
        self.sessions: dict[str, dict] = {}

    # ------------------------------------------------------------------ envelope
    def _t(self, t) -> datetime:
        if isinstance(t, str):
            return ts(t)
        return t

    def _env(self, host: str, t: datetime, channel: str, eid: int) -> dict:
        r = self.rng
        fq = C(host).fqdn.upper().split(".")[0] + "." + "lmi.intra" if host in COMPUTERS else host
        local = t + LOCAL_OFFSET
        recv = local + timedelta(seconds=r.randint(1, 3))
        lat = 900 + int(hexdigest("lat" + host, 4), 16) % 1600
        d = {"@timestamp": iso(t + timedelta(milliseconds=lat)), "@version": "1", "host": COLLECTOR, "port": 53114,
             "tags": ["lmi-wef"], "SourceModuleName": "eventlog", "SourceModuleType": "im_msvistalog",
             "EventTime": local.strftime("%Y-%m-%d %H:%M:%S"), "EventReceivedTime": recv.strftime("%Y-%m-%d %H:%M:%S"),
             "Hostname": fq, "Channel": channel, "EventID": eid, "_t": t}
        return d

    def sec(self, host: str, t, eid: int, fields: dict, failure: bool = False) -> dict:
        t = self._t(t)
        d = self._env(host, t, "Security", eid)
        task, cat = SEC_TASK.get(eid, (12544, "Logon"))
        d.update({"SourceName": "Microsoft-Windows-Security-Auditing", "ProviderGuid": SEC_GUID, "Task": task, "Category": cat,
                  "Opcode": "Info", "OpcodeValue": 0, "Version": SEC_VERSION.get(eid, 0),
                  "Keywords": -9218868437227405312 if failure else -9214364837600034816,
                  "EventType": "AUDIT_FAILURE" if failure else "AUDIT_SUCCESS", "Severity": "ERROR" if failure else "INFO",
                  "SeverityValue": 4 if failure else 2,
                  "ExecutionProcessID": 4 if eid in (4688, 5140, 5145, 4663, 4656, 5156) else self.lsass(host)["pid"],
                  "ThreadID": self.rng.randint(300, 9000)})
        d.update(fields)
        self.win.append(d)
        return d

    def sysmon(self, host: str, t, eid: int, fields: dict) -> dict:
        t = self._t(t)
        d = self._env(host, t, SYSMON_CH, eid)
        d.update({"SourceName": "Microsoft-Windows-Sysmon", "ProviderGuid": SYSMON_GUID, "Task": eid, "Category": SYSMON_CAT[eid],
                  "Opcode": "Info", "OpcodeValue": 0, "Version": SYSMON_VER[eid], "Keywords": -9223372036854775808,
                  "EventType": "INFO", "Severity": "INFO", "SeverityValue": 2, "ExecutionProcessID": 2860 + (sum(map(ord, host)) % 900),
                  "ThreadID": self.rng.randint(300, 9000), "UserID": "S-1-5-18", "AccountName": "SYSTEM", "Domain": "NT AUTHORITY",
                  "AccountType": "User", "RuleName": "-", "UtcTime": t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d}"})
        d.update(fields)
        self.win.append(d)
        return d

    def system(self, host: str, t, eid: int, fields: dict, source="Service Control Manager", guid=SCM_GUID) -> dict:
        t = self._t(t)
        d = self._env(host, t, "System", eid)
        d.update({"SourceName": source, "ProviderGuid": guid, "Task": 0, "Opcode": "Info", "OpcodeValue": 0, "Version": 0,
                  "Keywords": -9187343239835811840, "EventType": "INFO", "Severity": "INFO", "SeverityValue": 2,
                  "ExecutionProcessID": 712, "ThreadID": self.rng.randint(300, 9000)})
        d.update(fields)
        self.win.append(d)
        return d

    # ------------------------------------------------------------------ identities
    def hid(self, host: str) -> str:
        return hexdigest("hostid" + host, 8)

    def new_logon_id(self) -> str:
        return hex(self.rng.randint(0x100000, 0x9FFFFFF))

    def acct(self, who: str):
        """who: user sam, 'HOST$', 'SYSTEM', 'NETWORK SERVICE', 'LOCAL SERVICE' -> (name, domain, sid)"""
        if who == "SYSTEM":
            return "SYSTEM", "NT AUTHORITY", "S-1-5-18"
        if who == "NETWORK SERVICE":
            return "NETWORK SERVICE", "NT AUTHORITY", "S-1-5-20"
        if who == "LOCAL SERVICE":
            return "LOCAL SERVICE", "NT AUTHORITY", "S-1-5-19"
        if who.endswith("$"):
            c = C(who[:-1])
            return c.sam, NETBIOS, c.sid
        u = U(who)
        return u.sam, NETBIOS, u.sid

    # ------------------------------------------------------------------ processes
    def sysproc(self, host: str, image: str, pid: int, user: str = "SYSTEM", cmd: str | None = None, start="2025-03-08 04:02:11") -> Proc:
        k = (host, image.lower())
        if k not in self._procs:
            t0 = ts(start)
            tl = int(t0.timestamp())
            self._seq += 1
            guid = "{%s-%04x-%04x-%04x-000000000400}" % (self.hid(host), tl & 0xFFFF, tl >> 16, (pid * 7 + self._seq) & 0xFFFF)
            self._procs[k] = Proc(guid=guid, pid=pid, image=image, cmd=cmd or image, user=user, logon_id="0x3e7" if user == "SYSTEM" else "0x3e4",
                                  host=host, integrity="System", session="0")
        return self._procs[k]

    def lsass(self, host: str) -> Proc:
        return self.sysproc(host, "C:\\Windows\\System32\\lsass.exe", 640 + (sum(map(ord, host)) % 90) * 4, cmd="C:\\Windows\\system32\\lsass.exe")

    def services(self, host: str) -> Proc:
        return self.sysproc(host, "C:\\Windows\\System32\\services.exe", 620 + (sum(map(ord, host)) % 70) * 4, cmd="C:\\Windows\\system32\\services.exe")

    def svchost(self, host: str, group: str = "netsvcs -p -s Schedule") -> Proc:
        pid = 900 + (sum(map(ord, host + group)) % 300) * 4
        return self.sysproc(host, f"C:\\Windows\\System32\\svchost.exe|{group}", pid, cmd=f"C:\\Windows\\system32\\svchost.exe -k {group}")

    def wmiprvse(self, host: str) -> Proc:
        p = self.sysproc(host, "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", 3100 + (sum(map(ord, host)) % 200) * 4,
                         user="NETWORK SERVICE", cmd="C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding")
        return p

    def _img(self, p: Proc) -> str:
        return p["image"].split("|")[0]

    def proc(self, host: str, t, image: str, cmd: str, parent: Proc, user: str = "SYSTEM", logon_id: str | None = None,
             integrity: str = "High", session: str | None = None, cwd: str | None = None, sec4688: bool | None = None,
             subject: tuple | None = None, pid: int | None = None) -> Proc:
        """Process creation: Sysmon 1 always; Security 4688 on servers and DCs (LMI-SERVER-BASELINE audit policy)."""
        t = self._t(t)
        r = self.rng
        pid = pid or r.randint(1000, 15000) // 4 * 4
        tl = int(t.timestamp())
        self._seq += 1
        guid = "{%s-%04x-%04x-%04x-000000000400}" % (self.hid(host), tl & 0xFFFF, tl >> 16, (pid * 3 + self._seq) & 0xFFFF)
        name, dom, usid = self.acct(user)
        if logon_id is None:
            logon_id = {"SYSTEM": "0x3e7", "NETWORK SERVICE": "0x3e4", "LOCAL SERVICE": "0x3e5"}.get(user, "0x3e7")
        lid = int(logon_id, 16)
        logon_guid = "{%s-%04x-%04x-%s}" % (self.hid(host), (lid * 13) & 0xFFFF, 0x67d0 + (lid % 7), le_hex(lid))
        if session is None:
            session = "0" if user in ("SYSTEM", "NETWORK SERVICE", "LOCAL SERVICE") else "0"
        base = _basename(image)
        desc, prod, comp, orig = IMAGES.get(base, IMAGES.get(base.lower(), ("-", "-", "-", "-")))
        ver = "10.0.20348.2340 (WinBuild.160101.0800)" if comp == "Microsoft Corporation" else "-"
        pimg = self._img(parent)
        f = {"ProcessGuid": guid, "ProcessId": str(pid), "Image": image, "FileVersion": ver, "Description": desc, "Product": prod,
             "Company": comp, "OriginalFileName": orig, "CommandLine": cmd, "CurrentDirectory": cwd or ("C:\\Windows\\system32\\" if user in ("SYSTEM", "NETWORK SERVICE") else f"C:\\Users\\{name}\\"),
             "User": f"{dom}\\{name}", "LogonGuid": logon_guid, "LogonId": logon_id, "TerminalSessionId": session,
             "IntegrityLevel": integrity, "Hashes": hashes(image), "ParentProcessGuid": parent["guid"], "ParentProcessId": str(parent["pid"]),
             "ParentImage": pimg, "ParentCommandLine": parent["cmd"]}
        sev = self.sysmon(host, t, 1, f)
        p = Proc(guid=guid, pid=pid, image=image, cmd=cmd, user=user, logon_id=logon_id, host=host, integrity=integrity, session=session)
        p["ev"] = sev
        if sec4688 is None:
            sec4688 = C(host).role not in ("ws",) if host in COMPUTERS else False
        if sec4688:
            p["ev4688"] = None
            # the creator (subject) is the parent's account unless the new process runs under another logon
            sname, sdom, ssid, slid = subject if subject else (*self.acct(parent["user"]), parent["logon_id"])
            same = (slid == logon_id)
            p["ev4688"] = self.sec(host, t + timedelta(milliseconds=3), 4688, {
                "SubjectUserSid": ssid, "SubjectUserName": sname if sname != "SYSTEM" else host + "$", "SubjectDomainName": sdom if sname != "SYSTEM" else NETBIOS,
                "SubjectLogonId": slid, "NewProcessId": hex(pid), "NewProcessName": image,
                "TokenElevationType": "%%1936" if integrity in ("High", "System") else "%%1938", "ProcessId": hex(parent["pid"]),
                "CommandLine": cmd, "TargetUserSid": "S-1-0-0" if same else usid, "TargetUserName": "-" if same else name,
                "TargetDomainName": "-" if same else dom, "TargetLogonId": "0x0" if same else logon_id,
                "ParentProcessName": pimg, "MandatoryLabel": {"System": "S-1-16-16384", "High": "S-1-16-12288", "Medium": "S-1-16-8192"}[integrity]})
        return p

    def netconn(self, host: str, t, p: Proc, dst_ip: str, dport: int, proto: str = "tcp", src_ip: str | None = None,
                sport: int | None = None, initiated: bool = True, dst_host: str = "-") -> dict:
        src_ip = src_ip or IP_OF.get(host, "0.0.0.0")
        sport = sport or self.rng.randint(49700, 65000)
        name, dom, _ = self.acct(p["user"])
        return self.sysmon(host, t, 3, {"ProcessGuid": p["guid"], "ProcessId": str(p["pid"]), "Image": self._img(p), "User": f"{dom}\\{name}",
                                        "Protocol": proto, "Initiated": "true" if initiated else "false", "SourceIsIpv6": "false",
                                        "SourceIp": src_ip, "SourceHostname": "-", "SourcePort": str(sport), "SourcePortName": "-",
                                        "DestinationIsIpv6": "false", "DestinationIp": dst_ip, "DestinationHostname": dst_host,
                                        "DestinationPort": str(dport), "DestinationPortName": "-"})

    def proc_access(self, host: str, t, src: Proc, target: Proc, access: str, calltrace: str | None = None) -> dict:
        sname, sdom, _ = self.acct(src["user"])
        tname, tdom, _ = self.acct(target["user"])
        ct = calltrace or ("C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e|UNKNOWN(00000000002B1A4F)")
        return self.sysmon(host, t, 10, {"SourceProcessGUID": src["guid"], "SourceProcessId": str(src["pid"]),
                                         "SourceThreadId": str(self.rng.randint(1000, 9000)), "SourceImage": self._img(src),
                                         "TargetProcessGUID": target["guid"], "TargetProcessId": str(target["pid"]),
                                         "TargetImage": self._img(target), "GrantedAccess": access, "CallTrace": ct,
                                         "SourceUser": f"{sdom}\\{sname}", "TargetUser": f"{tdom}\\{tname}"})

    def file_create(self, host: str, t, p: Proc, path: str) -> dict:
        name, dom, _ = self.acct(p["user"])
        tt = self._t(t)
        return self.sysmon(host, tt, 11, {"ProcessGuid": p["guid"], "ProcessId": str(p["pid"]), "Image": self._img(p), "TargetFilename": path,
                                          "CreationUtcTime": tt.strftime("%Y-%m-%d %H:%M:%S.") + f"{tt.microsecond // 1000:03d}",
                                          "User": f"{dom}\\{name}"})

    def reg_set(self, host: str, t, p: Proc, key: str, details: str) -> dict:
        name, dom, _ = self.acct(p["user"])
        return self.sysmon(host, t, 13, {"EventType": "SetValue", "ProcessGuid": p["guid"], "ProcessId": str(p["pid"]), "Image": self._img(p),
                                         "TargetObject": key, "Details": details, "User": f"{dom}\\{name}"})

    def dns(self, host: str, t, p: Proc, query: str, result: str) -> dict:
        name, dom, _ = self.acct(p["user"])
        return self.sysmon(host, t, 22, {"ProcessGuid": p["guid"], "ProcessId": str(p["pid"]), "QueryName": query, "QueryStatus": "0",
                                         "QueryResults": result, "Image": self._img(p), "User": f"{dom}\\{name}"})

    # ------------------------------------------------------------------ logons
    def logon(self, host: str, t, user: str, ltype: int = 3, src_ip: str | None = None, src_name: str = "-",
              auth: str = "Kerberos", logon_id: str | None = None, elevated: bool = True, logon_guid: str | None = None,
              special: bool | None = None, linked: str = "0x0", dc: str | None = None, tgs: bool = True) -> dict:
        """4624 on `host` (+4672 for privileged accounts). For Kerberos network logons from another host a matching 4769
        (same LogonGuid, same client address) is written on the DC. Returns {'logon_id', 'event', 'logon_guid'}."""
        t = self._t(t)
        r = self.rng
        logon_id = logon_id or self.new_logon_id()
        name, dom, usid = self.acct(user)
        if ltype in (2, 7, 10, 11):
            subj = (host + "$", NETBIOS, "S-1-5-18", "0x3e7")
            pname, pid = "C:\\Windows\\System32\\svchost.exe" if ltype == 10 else "C:\\Windows\\System32\\winlogon.exe", hex(r.randint(400, 3000) // 4 * 4)
            lproc, apkg = ("User32 ", "Negotiate")
            ip = src_ip if ltype == 10 else "127.0.0.1"
            port = str(r.randint(49700, 65000)) if ltype == 10 else "0"
            ws = src_name if ltype == 10 else host
        elif ltype == 5:
            subj = (host + "$", NETBIOS, "S-1-5-18", "0x3e7")
            pname, pid, lproc, apkg, ip, port, ws = "C:\\Windows\\System32\\services.exe", hex(self.services(host)["pid"]), "Advapi  ", "Negotiate", "-", "-", "-"
        elif ltype == 4:
            subj = (host + "$", NETBIOS, "S-1-5-18", "0x3e7")
            pname, pid, lproc, apkg, ip, port, ws = "C:\\Windows\\System32\\svchost.exe", hex(self.svchost(host)["pid"]), "Advapi  ", "Negotiate", "-", "-", "-"
        else:
            subj = ("-", "-", "S-1-0-0", "0x0")
            pname, pid, ip = "-", "0x0", src_ip or "-"
            port = str(r.randint(49700, 65000)) if src_ip else "-"
            if auth == "NTLM":
                lproc, apkg, ws = "NtLmSsp ", "NTLM", src_name
            else:
                lproc, apkg, ws = "Kerberos", "Kerberos", "-"
        if logon_guid is None:
            logon_guid = "{00000000-0000-0000-0000-000000000000}" if auth == "NTLM" or ltype in (4, 5) else "{" + str(uuid.UUID(int=r.getrandbits(128))) + "}"
        f = {"SubjectUserSid": subj[2], "SubjectUserName": subj[0], "SubjectDomainName": subj[1], "SubjectLogonId": subj[3],
             "TargetUserSid": usid, "TargetUserName": name, "TargetDomainName": dom if dom != "NT AUTHORITY" else "NT AUTHORITY",
             "TargetLogonId": logon_id, "LogonType": str(ltype), "LogonProcessName": lproc, "AuthenticationPackageName": apkg,
             "WorkstationName": ws, "LogonGuid": logon_guid, "TransmittedServices": "-",
             "LmPackageName": "NTLM V2" if auth == "NTLM" else "-", "KeyLength": "128" if auth == "NTLM" else "0",
             "ProcessId": pid, "ProcessName": pname, "IpAddress": ip, "IpPort": port,
             "ImpersonationLevel": "%%1833", "RestrictedAdminMode": "-" if ltype != 10 else "%%1843",
             "TargetOutboundUserName": "-", "TargetOutboundDomainName": "-", "VirtualAccount": "%%1843",
             "TargetLinkedLogonId": linked, "ElevatedToken": "%%1842" if elevated else "%%1843"}
        ev = self.sec(host, t, 4624, f)
        if special is None:
            special = self.privileged_on(user, host)
        if special and ltype != 5:
            privs = "SeSecurityPrivilege\r\n\t\t\tSeBackupPrivilege\r\n\t\t\tSeRestorePrivilege\r\n\t\t\tSeTakeOwnershipPrivilege\r\n\t\t\tSeDebugPrivilege\r\n\t\t\tSeSystemEnvironmentPrivilege\r\n\t\t\tSeLoadDriverPrivilege\r\n\t\t\tSeImpersonatePrivilege\r\n\t\t\tSeDelegateSessionUserImpersonatePrivilege"
            if user == "svc-veeam" and host in COMPUTERS and C(host).is_dc:
                privs = "SeBackupPrivilege\r\n\t\t\tSeRestorePrivilege"
            self.sec(host, t, 4672, {"SubjectUserSid": usid, "SubjectUserName": name, "SubjectDomainName": dom, "SubjectLogonId": logon_id,
                                     "PrivilegeList": privs})
        if tgs and auth == "Kerberos" and ltype in (3, 10) and src_ip and src_ip not in ("-", "127.0.0.1") and not user.endswith("$"):
            dc = dc or self.dc_for(src_ip)
            svc = "cifs" if ltype == 3 else "TERMSRV"
            self.tgs(dc, t - timedelta(milliseconds=r.randint(40, 400)), user, host + "$", src_ip, logon_guid=logon_guid)
        return {"logon_id": logon_id, "event": ev, "logon_guid": logon_guid}

    def privileged_on(self, user: str, host: str) -> bool:
        """Would Windows write 4672 (special privileges) for this account's logon on this host?"""
        c = C(host) if host in COMPUTERS else None
        u = user.lower()
        if c is None:
            return False
        if u.endswith("$"):
            return c.is_dc and u[:-1].upper() in COMPUTERS and C(u[:-1].upper()).is_dc
        if u.startswith("t0_") or u == "administrator":
            return True
        if u.startswith("t1_"):
            return not c.is_dc and c.role not in ("paw", "pki", "aadc") and c.zone != "tier0"
        if u.startswith("t2_"):
            return c.role in ("ws", "hdk")
        if u == "svc-veeam":
            return c.is_dc or c.role in ("backup", "backup-proxy") or c.role not in ("ws", "paw")
        if u in ("svc-mecm-push", "svc-nessus"):
            return not c.is_dc and c.role not in ("paw", "pki", "aadc")
        return False

    def logoff(self, host: str, t, user: str, logon_id: str, ltype: int = 3) -> dict:
        name, dom, usid = self.acct(user)
        return self.sec(host, t, 4634, {"TargetUserSid": usid, "TargetUserName": name, "TargetDomainName": dom, "TargetLogonId": logon_id, "LogonType": str(ltype)})

    def logon_fail(self, host: str, t, user: str, src_ip: str, src_name: str = "-", ltype: int = 3, auth: str = "NTLM",
                   status: str = "0xc000006d", sub: str = "0xc000006a", domain: str | None = None) -> dict:
        r = self.rng
        return self.sec(host, t, 4625, {"SubjectUserSid": "S-1-0-0", "SubjectUserName": "-", "SubjectDomainName": "-", "SubjectLogonId": "0x0",
                                        "TargetUserSid": "S-1-0-0", "TargetUserName": user, "TargetDomainName": domain if domain is not None else NETBIOS,
                                        "Status": status, "FailureReason": "%%2313" if sub in ("0xc000006a", "0xc0000064") else "%%2304",
                                        "SubStatus": sub, "LogonType": str(ltype), "LogonProcessName": "NtLmSsp " if auth == "NTLM" else "Kerberos",
                                        "AuthenticationPackageName": "NTLM" if auth == "NTLM" else "Kerberos", "WorkstationName": src_name,
                                        "TransmittedServices": "-", "LmPackageName": "-", "KeyLength": "0", "ProcessId": "0x0",
                                        "ProcessName": "-", "IpAddress": src_ip, "IpPort": str(r.randint(49700, 65000))}, failure=True)

    def dc_for(self, ip: str) -> str:
        if ip.startswith("10.128."):
            return "AZE-ADDS-03"
        return "BOS-ADDS-01" if (sum(map(int, ip.split(".")[-2:])) % 3) else "BOS-ADDS-02"

    def kip(self, ip: str) -> str:
        return "::ffff:" + ip if ip and ip[0].isdigit() else ip

    def tgt(self, dc: str, t, user: str, ip: str, enc: str = "0x12", preauth: str = "2", status: str = "0x0",
            options: str = "0x40810010", cert: tuple = ("", "", "")) -> dict:
        name, dom, usid = self.acct(user)
        return self.sec(dc, t, 4768, {"TargetUserName": name, "TargetDomainName": DOMAIN, "TargetSid": usid if status == "0x0" else "S-1-0-0",
                                      "ServiceName": "krbtgt", "ServiceSid": sid(502), "TicketOptions": options, "Status": status,
                                      "TicketEncryptionType": enc if status == "0x0" else "0xffffffff", "PreAuthType": preauth if status == "0x0" else "-",
                                      "IpAddress": self.kip(ip), "IpPort": str(self.rng.randint(49700, 65000)),
                                      "CertIssuerName": cert[0], "CertSerialNumber": cert[1], "CertThumbprint": cert[2]},
                        failure=(status != "0x0"))

    def tgs(self, dc: str, t, user: str, service: str, ip: str, enc: str = "0x12", options: str = "0x40810000",
            status: str = "0x0", logon_guid: str | None = None) -> dict:
        """service: a user sam (SPN account) or HOST$ or 'krbtgt'"""
        name, dom, _ = self.acct(user)
        if service == "krbtgt":
            ssid, sname = sid(502), "krbtgt"
        else:
            sname, _, ssid = self.acct(service)
        lg = logon_guid or "{" + str(uuid.UUID(int=self.rng.getrandbits(128))) + "}"
        return self.sec(dc, t, 4769, {"TargetUserName": f"{name}@{DOMAIN}", "TargetDomainName": DOMAIN, "ServiceName": sname,
                                      "ServiceSid": ssid, "TicketOptions": options, "TicketEncryptionType": enc,
                                      "IpAddress": self.kip(ip), "IpPort": str(self.rng.randint(49700, 65000)), "Status": status,
                                      "LogonGuid": lg, "TransmittedServices": "-"}, failure=(status != "0x0"))

    def preauth_fail(self, dc: str, t, user: str, ip: str, status: str = "0x18") -> dict:
        name, dom, usid = self.acct(user)
        return self.sec(dc, t, 4771, {"TargetUserName": name, "TargetSid": usid, "ServiceName": f"krbtgt/{DOMAIN}", "TicketOptions": "0x40810010",
                                      "Status": status, "PreAuthType": "2", "IpAddress": self.kip(ip), "IpPort": str(self.rng.randint(49700, 65000)),
                                      "CertIssuerName": "", "CertSerialNumber": "", "CertThumbprint": ""}, failure=True)

    def ntlm_validate(self, dc: str, t, user: str, workstation: str, status: str = "0x0") -> dict:
        return self.sec(dc, t, 4776, {"PackageName": "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0", "TargetUserName": user,
                                      "Workstation": workstation, "Status": status}, failure=(status != "0x0"))

    # ------------------------------------------------------------------ directory
    def ds_access(self, dc: str, t, user: str, logon_id: str, properties: list, access_mask: str = "0x100",
                  object_type: str = "%{19195a5b-6da0-11d0-afd3-00c04fd930c9}", object_name: str | None = None,
                  access_list: str = "%%7688\r\n\t\t\t\t", operation: str = "Object Access") -> dict:
        name, dom, usid = self.acct(user)
        props = access_list.strip() + "\r\n\t\t" + "\r\n\t".join("{" + p + "}" for p in properties) + "\r\n"
        return self.sec(dc, t, 4662, {"SubjectUserSid": usid, "SubjectUserName": name, "SubjectDomainName": dom, "SubjectLogonId": logon_id,
                                      "ObjectServer": "DS", "ObjectType": object_type,
                                      "ObjectName": object_name or "%{" + DOMAIN_GUID + "}", "OperationType": operation,
                                      "HandleId": "0x0", "AccessList": access_list, "AccessMask": access_mask, "Properties": props,
                                      "AdditionalInfo": "-", "AdditionalInfo2": ""})

    def ds_change(self, dc: str, t, user: str, logon_id: str, dn: str, obj_guid: str, obj_class: str, attr: str, value: str,
                  op: str = "%%14674", syntax: str = "2.5.5.12", corr: str | None = None) -> dict:
        name, dom, usid = self.acct(user)
        corr = corr or "{" + str(uuid.UUID(int=self.rng.getrandbits(128))) + "}"
        return self.sec(dc, t, 5136, {"OpCorrelationID": corr, "AppCorrelationID": "-", "SubjectUserSid": usid, "SubjectUserName": name,
                                      "SubjectDomainName": dom, "SubjectLogonId": logon_id, "DSName": DOMAIN.lower(), "DSType": "%%14676",
                                      "ObjectDN": dn, "ObjectGUID": "{" + obj_guid.lower() + "}", "ObjectClass": obj_class,
                                      "AttributeLDAPDisplayName": attr, "AttributeSyntaxOID": syntax, "AttributeValue": value,
                                      "OperationType": op})

    def group_change(self, dc: str, t, eid: int, subject: str, logon_id: str, member: str, group: str) -> dict:
        from enterprise import group_sid, GROUP_DEFS
        sname, sdom, ssid = self.acct(subject)
        mu = U(member)
        gs = group_sid(group)
        return self.sec(dc, t, eid, {"MemberName": mu.dn, "MemberSid": mu.sid, "TargetUserName": group, "TargetDomainName": NETBIOS if not gs.startswith(DOMAIN + "-S-1-5-32") else "Builtin",
                                     "TargetSid": gs if not gs.startswith(DOMAIN) else gs.replace(DOMAIN + "-", ""),
                                     "SubjectUserSid": ssid, "SubjectUserName": sname, "SubjectDomainName": sdom, "SubjectLogonId": logon_id,
                                     "PrivilegeList": "-"})

    def pw_event(self, dc: str, t, eid: int, subject: str, logon_id: str, target: str, failure: bool = False) -> dict:
        sname, sdom, ssid = self.acct(subject)
        tname, tdom, tsid = self.acct(target)
        return self.sec(dc, t, eid, {"TargetUserName": tname, "TargetDomainName": tdom, "TargetSid": tsid, "SubjectUserSid": ssid,
                                     "SubjectUserName": sname, "SubjectDomainName": sdom, "SubjectLogonId": logon_id}, failure=failure)

    def user_changed(self, dc: str, t, subject: str, logon_id: str, target: str, **changes) -> dict:
        sname, sdom, ssid = self.acct(subject)
        tname, tdom, tsid = self.acct(target)
        f = {"Dummy": "-", "TargetUserName": tname, "TargetDomainName": tdom, "TargetSid": tsid, "SubjectUserSid": ssid,
             "SubjectUserName": sname, "SubjectDomainName": sdom, "SubjectLogonId": logon_id, "PrivilegeList": "-",
             "SamAccountName": "-", "DisplayName": "-", "UserPrincipalName": "-", "HomeDirectory": "-", "HomePath": "-",
             "ScriptPath": "-", "ProfilePath": "-", "UserWorkstations": "-", "PasswordLastSet": "-", "AccountExpires": "-",
             "PrimaryGroupId": "-", "AllowedToDelegateTo": "-", "OldUacValue": "0x0", "NewUacValue": "0x0",
             "UserAccountControl": "-", "UserParameters": "-", "SidHistory": "-", "LogonHours": "-"}
        f.update(changes)
        return self.sec(dc, t, 4738, f)

    # ------------------------------------------------------------------ shares
    def share(self, host: str, t, user: str, logon_id: str, ip: str, share: str, local: str, access: str = "0x1") -> dict:
        name, dom, usid = self.acct(user)
        return self.sec(host, t, 5140, {"SubjectUserSid": usid, "SubjectUserName": name, "SubjectDomainName": dom, "SubjectLogonId": logon_id,
                                        "ObjectType": "File", "IpAddress": ip, "IpPort": str(self.rng.randint(49700, 65000)),
                                        "ShareName": "\\\\*\\" + share, "ShareLocalPath": local, "AccessMask": access,
                                        "AccessList": "%%4416\r\n\t\t\t\t"})

    def share_file(self, host: str, t, user: str, logon_id: str, ip: str, share: str, local: str, rel: str,
                   access: str = "0x120089", access_list: str = "%%1538\r\n\t\t\t\t%%1541\r\n\t\t\t\t%%4416\r\n\t\t\t\t%%4419\r\n\t\t\t\t%%4423\r\n\t\t\t\t") -> dict:
        name, dom, usid = self.acct(user)
        return self.sec(host, t, 5145, {"SubjectUserSid": usid, "SubjectUserName": name, "SubjectDomainName": dom, "SubjectLogonId": logon_id,
                                        "ObjectType": "File", "IpAddress": ip, "IpPort": str(self.rng.randint(49700, 65000)),
                                        "ShareName": "\\\\*\\" + share, "ShareLocalPath": local, "RelativeTargetName": rel,
                                        "AccessMask": access, "AccessList": access_list,
                                        "AccessReason": "%%1538:\t%%1801\tD:(A;;FA;;;BA)\r\n\t\t\t\t%%4416:\t%%1801\tD:(A;;FA;;;BA)\r\n\t\t\t\t"})

    # ------------------------------------------------------------------ services, tasks, misc
    def service_install(self, host: str, t, name: str, image: str, account: str = "LocalSystem", start: str = "demand start",
                        subject: str | None = None, logon_id: str | None = None) -> dict:
        ev = self.system(host, t, 7045, {"ServiceName": name, "ImagePath": image, "ServiceType": "user mode service", "StartType": start,
                                         "AccountName": account, "UserID": self.acct(subject)[2] if subject else "S-1-5-18"})
        if subject:
            sname, sdom, ssid = self.acct(subject)
            self.sec(host, t, 4697, {"SubjectUserSid": ssid, "SubjectUserName": sname, "SubjectDomainName": sdom, "SubjectLogonId": logon_id,
                                     "ServiceName": name, "ServiceFileName": image, "ServiceType": "0x10",
                                     "ServiceStartType": "3" if start == "demand start" else "2", "ServiceAccount": account})
        return ev

    def task_created(self, host: str, t, subject: str, logon_id: str, task: str, command: str, args: str = "",
                     trigger: str = "<TimeTrigger><StartBoundary>2025-03-13T00:00:00</StartBoundary><Enabled>true</Enabled><Repetition><Interval>PT1H</Interval></Repetition></TimeTrigger>",
                     run_as: str = "S-1-5-18", eid: int = 4698) -> dict:
        sname, sdom, ssid = self.acct(subject)
        content = ('<?xml version="1.0" encoding="UTF-16"?>\r\n<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">\r\n'
                   f'  <RegistrationInfo>\r\n    <Author>{sdom}\\{sname}</Author>\r\n    <URI>{task}</URI>\r\n  </RegistrationInfo>\r\n'
                   f'  <Triggers>\r\n    {trigger}\r\n  </Triggers>\r\n  <Principals>\r\n    <Principal id="Author">\r\n      <UserId>{run_as}</UserId>\r\n      <RunLevel>HighestAvailable</RunLevel>\r\n    </Principal>\r\n  </Principals>\r\n'
                   f'  <Actions Context="Author">\r\n    <Exec>\r\n      <Command>{command}</Command>\r\n      <Arguments>{args}</Arguments>\r\n    </Exec>\r\n  </Actions>\r\n</Task>')
        content = content.replace("<", "&lt;").replace(">", "&gt;")
        return self.sec(host, t, eid, {"SubjectUserSid": ssid, "SubjectUserName": sname, "SubjectDomainName": sdom, "SubjectLogonId": logon_id,
                                       "TaskName": task, "TaskContent" if eid == 4698 else "TaskContentNew": content,
                                       "ClientProcessStartKey": str(self.rng.randint(10**15, 10**16)), "ClientProcessId": str(self.rng.randint(1000, 9000)),
                                       "ParentProcessId": str(self.rng.randint(600, 1200)), "RpcCallClientLocality": "0", "FQDN": f"{host}.lmi.intra"})

    def log_cleared(self, host: str, t, subject: str, logon_id: str) -> dict:
        t = self._t(t)
        sname, sdom, ssid = self.acct(subject)
        d = self._env(host, t, "Security", 1102)
        d.update({"SourceName": "Microsoft-Windows-Eventlog", "ProviderGuid": EVTLOG_GUID, "Task": 104, "Category": "Log clear",
                  "Opcode": "Info", "OpcodeValue": 0, "Version": 0, "Keywords": 4620693217682128896, "EventType": "INFO",
                  "Severity": "INFO", "SeverityValue": 2, "ExecutionProcessID": 1300, "ThreadID": self.rng.randint(300, 9000),
                  "SubjectUserSid": ssid, "SubjectUserName": sname, "SubjectDomainName": sdom, "SubjectLogonId": logon_id})
        self.win.append(d)
        return d

    def file_access(self, host: str, t, user: str, logon_id: str, obj: str, p: Proc, mask: str = "0x1",
                    access_list: str = "%%4416\r\n\t\t\t\t", eid: int = 4663) -> dict:
        name, dom, usid = self.acct(user)
        f = {"SubjectUserSid": usid, "SubjectUserName": name, "SubjectDomainName": dom, "SubjectLogonId": logon_id,
             "ObjectServer": "Security", "ObjectType": "File", "ObjectName": obj, "HandleId": hex(self.rng.randint(0x100, 0x4000)),
             "AccessList": access_list, "AccessMask": mask, "ProcessId": hex(p["pid"]), "ProcessName": self._img(p), "ResourceAttributes": "S:AI"}
        if eid == 4656:
            f.update({"TransactionId": "{00000000-0000-0000-0000-000000000000}", "AccessReason": "-", "PrivilegeList": "SeBackupPrivilege", "RestrictedSidCount": "0"})
        return self.sec(host, t, eid, f)

    def priv_use(self, host: str, t, user: str, logon_id: str, p: Proc, privs: str = "SeBackupPrivilege", obj_server: str = "Security") -> dict:
        name, dom, usid = self.acct(user)
        return self.sec(host, t, 4674, {"SubjectUserSid": usid, "SubjectUserName": name, "SubjectDomainName": dom, "SubjectLogonId": logon_id,
                                        "ObjectServer": obj_server, "ObjectType": "File", "ObjectName": "-", "HandleId": "0x0",
                                        "AccessMask": "0x20000", "PrivilegeList": privs, "ProcessId": hex(p["pid"]), "ProcessName": self._img(p)})

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

    # ------------------------------------------------------------------ output
    def finalize(self):
        self.win.sort(key=lambda d: d["_t"])
        counters: dict[tuple, int] = {}
        t0 = ts("2025-03-01 00:00:00")
        for d in self.win:
            k = (d["Hostname"], d["Channel"])
            h = d["Hostname"].split(".")[0].upper()
            role = C(h).role if h in COMPUTERS else "srv"
            rate = {"Security": 1.6 if role == "dc" else (0.05 if role == "ws" else 0.35), SYSMON_CH: 0.2 if role == "dc" else 0.45,
                    "System": 0.002}[d["Channel"]]
            base = {"Security": 3_000_000, SYSMON_CH: 5_000_000, "System": 60_000}[d["Channel"]] + int(hexdigest(d["Hostname"] + d["Channel"], 6), 16) % 700_000
            nominal = base + int((d["_t"] - t0).total_seconds() * rate)
            prev = counters.get(k, 0)
            counters[k] = max(prev + 1 + (self.rng.randint(0, 2) if prev else 0), nominal)
            d["RecordNumber"] = counters[k]
        self.zeek.sort(key=lambda z: z["ts"])

    def key(self, d: dict) -> str:
        return f"EVT:{d['Hostname'].upper()}:{d['Channel']}:{d['RecordNumber']}"

    def write(self, folder: str, zeek_format: str = "tsv"):
        import os
        os.makedirs(folder, exist_ok=True)
        files = []
        if self.win:
            with open(os.path.join(folder, "windows-events.jsonl"), "w") as f:
                for d in self.win:
                    o = {k: v for k, v in d.items() if k != "_t"}
                    f.write(json.dumps(o, separators=(",", ":")) + "\n")
            files.append("windows-events.jsonl")
        if self.zeek:
            if zeek_format == "json":
                with open(os.path.join(folder, "conn.log.json"), "w") as f:
                    for z in self.zeek:
                        o = dict(z)
                        o["ts"] = datetime.fromtimestamp(z["ts"], UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                        o["_path"] = "conn"
                        o["_write_ts"] = o["ts"]
                        if o["service"] == "-":
                            del o["service"]
                        if o["duration"] is None:
                            del o["duration"]
                        if not o["tunnel_parents"]:
                            del o["tunnel_parents"]
                        f.write(json.dumps(o, separators=(",", ":")) + "\n")
                files.append("conn.log.json")
            else:
                fields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration", "orig_bytes",
                          "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes",
                          "resp_pkts", "resp_ip_bytes", "tunnel_parents"]
                types = ["time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count", "string", "bool",
                         "bool", "count", "string", "count", "count", "count", "count", "set[string]"]
                first = datetime.fromtimestamp(self.zeek[0]["ts"], UTC)
                last = datetime.fromtimestamp(self.zeek[-1]["ts"], UTC)
                with open(os.path.join(folder, "conn.log"), "w") as f:
                    f.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n")
                    f.write(f"#open\t{first.strftime('%Y-%m-%d-%H-%M-%S')}\n#fields\t" + "\t".join(fields) + "\n#types\t" + "\t".join(types) + "\n")
                    for z in self.zeek:
                        vals = []
                        for k in fields:
                            v = z[k]
                            if k == "ts":
                                v = f"{v:.6f}"
                            elif k == "duration":
                                v = "-" if v is None else f"{v:.6f}"
                            elif isinstance(v, bool):
                                v = "T" if v else "F"
                            elif k == "tunnel_parents":
                                v = "(empty)" if not v else ",".join(v)
                            vals.append(str(v))
                        f.write("\t".join(vals) + "\n")
                    f.write(f"#close\t{(last + timedelta(seconds=60)).strftime('%Y-%m-%d-%H-%M-%S')}\n")
                files.append("conn.log")
        return files


# directory GUIDs
DOMAIN_GUID = "7a3c1e52-9d4b-4f1e-8b2a-6c5d3e1f0a91"
DOMAIN_DNS_CLASS = "19195a5b-6da0-11d0-afd3-00c04fd930c9"
REPL_GET_CHANGES = "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2"
REPL_GET_CHANGES_ALL = "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2"
REPL_GET_CHANGES_FILTERED = "89e95b76-444d-4c62-991a-0facbeda640c"
USER_CLASS = "bf967aba-0de6-11d0-a285-00aa003049e2"
COMPUTER_CLASS = "bf967a86-0de6-11d0-a285-00aa003049e2"
GROUP_CLASS = "bf967a9c-0de6-11d0-a285-00aa003049e2"
OU_CLASS = "bf967aa5-0de6-11d0-a285-00aa003049e2"
PROP_PWD_LAST_SET = "bf967a0a-0de6-11d0-a285-00aa003049e2"
PROP_MEMBER = "bf9679c0-0de6-11d0-a285-00aa003049e2"
PROP_USER_ACCOUNT_RESTRICTIONS = "4c164200-20c0-11d0-a768-00aa006e0529"
PROP_GENERAL_INFO = "59ba2f42-79a2-11d0-9020-00c04fc2d3cf"
PROP_KEYCREDLINK = "5b47d60f-6090-40b2-9f37-2a4de88f3063"
