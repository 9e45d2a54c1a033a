"""Authentication as Windows records it: logons and logoffs with their 4672, failures, and the DC side
(Kerberos TGT/TGS, pre-authentication failures, NTLM validation) kept consistent with the logon it serves.
A mixin of `winevt.Events`; split out because the logon/ticket pairing rules are their own idea."""

from __future__ import annotations

import uuid
from datetime import timedelta

from common import DOMAIN, NETBIOS, sid
from enterprise import COMPUTERS, C


class AuthEvents:
    """Logons and the Kerberos/NTLM events on the DC that match them."""

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
