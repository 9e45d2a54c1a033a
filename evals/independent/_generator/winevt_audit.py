"""Object-access auditing: directory-service access and changes, group and password changes, share
access, service installs, scheduled tasks, log clearing, file access and privilege use.
A mixin of `winevt.Events`; split out because these are the audited changes attacks leave behind."""

from __future__ import annotations

import uuid

from common import DOMAIN, NETBIOS
from enterprise import U
from winevt_proc import Proc
from winevt_schema import DOMAIN_GUID, EVTLOG_GUID


class AuditEvents:
    """Audited object access and changes on DCs and servers."""

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
