"""Process activity as Sysmon (and Security 4688 on servers) records it: the long-lived system processes
each host has, process creation, network connections, process access, file, registry and DNS events.
A mixin of `winevt.Events`; split out because process lineage (GUIDs, parent links) is its own idea."""

from __future__ import annotations

from datetime import timedelta

from common import NETBIOS, hexdigest, ts
from enterprise import COMPUTERS, C, IP_OF
from winevt_schema import IMAGES


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


class ProcessEvents:
    """Sysmon process lineage; uses the envelope and identities of `Events`."""

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
