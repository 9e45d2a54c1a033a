"""Writes the base twin of LMI.INTRA: SharpHound CE v6 JSON, Nmap XML, Trivy JSON, CycloneDX SBOM,
KEV/EPSS extracts, inventory.csv and network.yaml."""
from __future__ import annotations

import csv
import json
import os
from xml.sax.saxutils import escape

from common import DOMAIN, DOMAIN_DN, DOMAIN_SID, builtin, epoch, rng_for, sid, stable_uuid
from enterprise import (BUILTIN_DEFS, COMPUTERS, GROUP_DEFS, NON_DOMAIN, USERS, C, U, group_sid)

COLLECTED = "20250309230512"  # SharpHound run Sunday 2025-03-09 23:05 UTC
WHEN = epoch("2019-06-03 14:00:00")
METHODS = 521215

OU_TREE = [  # (dn relative to domain, description, blocks inheritance)
    ("OU=DOMAIN CONTROLLERS", "Default container for domain controllers"),
    ("OU=LMI", "Larchmont Mutual Insurance"),
    ("OU=TIER0,OU=LMI", "Tier 0: domain controllers' administrators, PAWs, PKI, Entra Connect"),
    ("OU=ACCOUNTS,OU=TIER0,OU=LMI", "Tier-0 admin accounts (t0_)"),
    ("OU=GROUPS,OU=TIER0,OU=LMI", "Tier-0 groups"),
    ("OU=PAW,OU=TIER0,OU=LMI", "Tier-0 privileged access workstations. Only GG-T0-Admins may log on."),
    ("OU=SERVERS,OU=TIER0,OU=LMI", "Tier-0 servers"),
    ("OU=TIER1,OU=LMI", "Tier 1: servers and their administrators"),
    ("OU=ACCOUNTS,OU=TIER1,OU=LMI", "Tier-1 admin accounts (t1_)"),
    ("OU=GROUPS,OU=TIER1,OU=LMI", "Tier-1 groups"),
    ("OU=SERVERS,OU=TIER1,OU=LMI", "Member servers"),
    ("OU=JUMPHOSTS,OU=TIER1,OU=LMI", "Tier-1 jump hosts"),
    ("OU=SERVICE ACCOUNTS,OU=TIER1,OU=LMI", "Service accounts"),
    ("OU=TIER2,OU=LMI", "Tier 2: workstations' administrators"),
    ("OU=ACCOUNTS,OU=TIER2,OU=LMI", "Tier-2 admin accounts (t2_)"),
    ("OU=GROUPS,OU=TIER2,OU=LMI", "Tier-2 groups"),
    ("OU=HELPDESK CONSOLES,OU=TIER2,OU=LMI", "Service desk consoles"),
    ("OU=STAFF,OU=LMI", "Staff accounts"),
    ("OU=BOS,OU=STAFF,OU=LMI", "Boston staff"),
    ("OU=PVD,OU=STAFF,OU=LMI", "Providence staff"),
    ("OU=WORKSTATIONS,OU=LMI", "Workstations"),
    ("OU=BOS,OU=WORKSTATIONS,OU=LMI", "Boston laptops"),
    ("OU=PVD,OU=WORKSTATIONS,OU=LMI", "Providence desktops"),
    ("OU=DMZ,OU=LMI", "DMZ servers (domain joined, portal)"),
    ("OU=GROUPS,OU=LMI", "Business groups managed by MIM"),
    ("OU=DISABLED,OU=LMI", "Disabled objects awaiting deletion"),
]
CONTAINERS = [("CN=USERS", "Default container for upgraded user accounts"),
              ("CN=COMPUTERS", "Default container for upgraded computer accounts"),
              ("CN=SYSTEM", "Builtin system settings"),
              ("CN=ADMINSDHOLDER,CN=SYSTEM", None)]
GPOS = [("{31B2F340-016D-11D2-945F-00C04FB984F9}", "DEFAULT DOMAIN POLICY", [""]),
        ("{6AC1786C-016F-11D2-945F-00C04FB984F9}", "DEFAULT DOMAIN CONTROLLERS POLICY", ["OU=DOMAIN CONTROLLERS"]),
        ("{8E1A3C52-4F0B-4C2E-9D7A-1B2C3D4E5F60}", "LMI-WORKSTATION-BASELINE", ["OU=WORKSTATIONS,OU=LMI"]),
        ("{2B7D9E14-6A3C-4F8B-A1D2-3E4F5A6B7C80}", "LMI-SERVER-BASELINE", ["OU=TIER1,OU=LMI", "OU=DMZ,OU=LMI"]),
        ("{5C3E2A91-7B4D-4E6F-8A9B-0C1D2E3F4A50}", "LMI-MECM-CLIENTPUSH", ["OU=WORKSTATIONS,OU=LMI", "OU=TIER1,OU=LMI"]),
        ("{9F8E7D6C-5B4A-4392-8170-6F5E4D3C2B10}", "LMI-TIER0-PAW", ["OU=PAW,OU=TIER0,OU=LMI"])]


def ou_guid(dn: str) -> str:
    return stable_uuid("ou", dn)


def ace(principal: str, ptype: str, right: str, inherited: bool = False) -> dict:
    return {"PrincipalSID": principal, "PrincipalType": ptype, "RightName": right, "IsInherited": inherited}


DA, EA, ADMINS, ACCOPS = sid(512), sid(519), builtin(544), builtin(548)


def base_aces(protected: bool = False) -> list:
    a = [ace(DA, "Group", "Owns"), ace(DA, "Group", "GenericAll"), ace(EA, "Group", "GenericAll", True),
         ace(ADMINS, "Group", "WriteDacl", True), ace(ADMINS, "Group", "WriteOwner", True)]
    if not protected:
        a.insert(2, ace(ACCOPS, "Group", "GenericAll"))
    return a


def container_of(ou: str) -> dict:
    if ou.startswith("CN=USERS"):
        return {"ObjectIdentifier": stable_uuid("container", "CN=USERS"), "ObjectType": "Container"}
    if ou.startswith("CN=COMPUTERS"):
        return {"ObjectIdentifier": stable_uuid("container", "CN=COMPUTERS"), "ObjectType": "Container"}
    return {"ObjectIdentifier": ou_guid(ou), "ObjectType": "OU"}


def wrap(kind: str, data: list) -> dict:
    return {"data": data, "meta": {"methods": METHODS, "type": kind, "count": len(data), "version": 6}}


HELPDESK, HELPDESK_PVD = group_sid("GG-T2-Helpdesk"), group_sid("GG-T2-Helpdesk-PVD")


def users_json():
    out = []
    r = rng_for("bh-users")
    for u in USERS.values():
        protected = u.admincount
        aces = base_aces(protected)
        staff = "OU=STAFF" in u.ou
        if staff or "OU=TIER1" in u.ou and u.sam.startswith("t1_"):
            # inherited from OU=LMI: the delegation was meant for OU=Staff but was set one level too high
            aces.append(ace(HELPDESK, "Group", "ForceChangePassword", True))
        if staff:
            aces.append(ace(U("svc-pwreset").sid, "User", "ForceChangePassword", True))
        if not protected:
            aces.append(ace(sid(526), "Group", "AddKeyCredentialLink", True))
            aces.append(ace(U("MSOL_5f3a9c2e81d4").sid, "User", "AddKeyCredentialLink", True))
        pls = epoch("2025-01-15 10:00:00") - r.randint(0, 80) * 86400
        ll = epoch("2025-03-09 18:00:00") - r.randint(0, 3 * 86400)
        props = {
            "domain": DOMAIN, "name": u.name, "distinguishedname": u.dn, "domainsid": DOMAIN_SID,
            "highvalue": u.sam in ("Administrator",), "samaccountname": u.sam, "description": u.desc,
            "whencreated": WHEN + r.randint(0, 1500) * 86400, "sensitive": u.sam.startswith("t0_"),
            "dontreqpreauth": u.dontreqpreauth, "passwordnotreqd": False, "unconstraineddelegation": False,
            "pwdneverexpires": u.dept == "Service" or u.sam in ("Administrator", "krbtgt"), "enabled": u.enabled,
            "trustedtoauth": False, "lastlogon": ll if u.enabled else 0, "lastlogontimestamp": ll - 3600 if u.enabled else -1,
            "pwdlastset": pls, "serviceprincipalnames": u.spn, "hasspn": bool(u.spn),
            "displayname": f"{u.first} {u.last}" if u.first else u.sam,
            "email": f"{u.first.lower()}.{u.last.split(' ')[0].lower()}@larchmontmutual.com" if u.first and not u.sam[:3] in ("t0_", "t1_", "t2_") else None,
            "title": u.dept if u.first else None, "homedirectory": None, "userpassword": None, "unixpassword": None,
            "unicodepassword": None, "sfupassword": None, "logonscript": None, "admincount": u.admincount, "sidhistory": [],
        }
        spn_targets = []
        for s in u.spn:
            if s.upper().startswith("MSSQLSVC/") and ":1433" in s:
                host = s.split("/")[1].split(".")[0].split(":")[0].upper()
                if host in COMPUTERS:
                    spn_targets.append({"ComputerSID": C(host).sid, "Port": 1433, "Service": "SQLAdmin"})
        out.append({"Properties": props, "AllowedToDelegate": [], "PrimaryGroupSID": sid(513), "HasSIDHistory": [],
                    "SPNTargets": spn_targets, "Aces": aces, "ObjectIdentifier": u.sid, "IsDeleted": False,
                    "IsACLProtected": protected, "ContainedBy": container_of(u.ou)})
    return wrap("users", out)


def members_of(group_name: str) -> list:
    res = []
    for u in USERS.values():
        if group_name in u.groups:
            res.append({"ObjectIdentifier": u.sid, "ObjectType": "User"})
    return res


def groups_json():
    out = []
    r = rng_for("bh-groups")
    extra = {
        "Domain Admins": [{"ObjectIdentifier": group_sid("GG-T0-Admins"), "ObjectType": "Group"},
                          {"ObjectIdentifier": sid(500), "ObjectType": "User"}],
        "Enterprise Admins": [{"ObjectIdentifier": sid(500), "ObjectType": "User"}],
        "Schema Admins": [{"ObjectIdentifier": sid(500), "ObjectType": "User"}],
        "Domain Controllers": [{"ObjectIdentifier": c.sid, "ObjectType": "Computer"} for c in COMPUTERS.values() if c.is_dc],
        "Domain Users": [],  # primary group, not listed as Members by SharpHound
        "Cert Publishers": [{"ObjectIdentifier": C("BOS-PKI-01").sid, "ObjectType": "Computer"}],
    }
    mgmt_groups = ["GG-Claims-Users", "GG-Underwriting", "GG-Finance", "GG-Finance-Approvers", "GG-Actuarial",
                   "GG-CustomerService", "GG-HR", "GG-Legal", "GG-Sales", "GG-VPN-Users"]
    for rid_, name, ou, desc, admc in GROUP_DEFS:
        dn = f"CN={name.upper()},{ou or 'CN=USERS'},{DOMAIN_DN}"
        aces = base_aces(admc)
        if name in mgmt_groups:
            aces.append(ace(U("svc-iamsync").sid, "User", "AddMember"))
        if name == "GG-Finance-Approvers":
            # a few real members
            pass
        mem = extra.get(name, members_of(name))
        if name == "GG-Finance-Approvers":
            mem = [{"ObjectIdentifier": U(s).sid, "ObjectType": "User"} for s in ("hpark", "pwalsh")]
        out.append({"Properties": {"domain": DOMAIN, "name": f"{name.upper()}@{DOMAIN}", "distinguishedname": dn,
                                   "domainsid": DOMAIN_SID, "highvalue": name in ("Domain Admins", "Enterprise Admins", "Domain Controllers", "Schema Admins"),
                                   "samaccountname": name, "description": desc, "whencreated": WHEN + r.randint(0, 900) * 86400,
                                   "admincount": admc},
                    "Members": mem, "Aces": aces, "ObjectIdentifier": sid(rid_), "IsDeleted": False,
                    "IsACLProtected": admc, "ContainedBy": container_of(ou) if ou else container_of("CN=USERS")})
    for rid_, name, desc, admc in BUILTIN_DEFS:
        mem = members_of(name)
        if name == "Administrators":
            mem = [{"ObjectIdentifier": sid(500), "ObjectType": "User"}, {"ObjectIdentifier": sid(512), "ObjectType": "Group"},
                   {"ObjectIdentifier": sid(519), "ObjectType": "Group"}]
        out.append({"Properties": {"domain": DOMAIN, "name": f"{name.upper()}@{DOMAIN}",
                                   "distinguishedname": f"CN={name.upper()},CN=BUILTIN,{DOMAIN_DN}", "domainsid": DOMAIN_SID,
                                   "highvalue": name in ("Administrators", "Account Operators", "Backup Operators", "Server Operators", "Print Operators"),
                                   "samaccountname": name, "description": desc, "whencreated": WHEN, "admincount": admc},
                    "Members": mem, "Aces": base_aces(True), "ObjectIdentifier": builtin(rid_), "IsDeleted": False,
                    "IsACLProtected": False, "ContainedBy": {"ObjectIdentifier": "S-1-5-32", "ObjectType": "Base"}})
    # Enterprise Domain Controllers stub as SharpHound writes it
    out.append({"Properties": {"domain": DOMAIN, "name": f"ENTERPRISE DOMAIN CONTROLLERS@{DOMAIN}"}, "Members": [
        {"ObjectIdentifier": c.sid, "ObjectType": "Computer"} for c in COMPUTERS.values() if c.is_dc],
        "Aces": [], "ObjectIdentifier": f"{DOMAIN}-S-1-5-9", "IsDeleted": False, "IsACLProtected": False, "ContainedBy": None})
    return wrap("groups", out)


def local_group(c, rid_, name, members):
    oid = f"{DOMAIN}-S-1-5-32-{rid_}" if c.is_dc else f"{c.sid}-{rid_}"
    return {"ObjectIdentifier": oid, "Name": f"{name.upper()}@{c.key}" if not c.is_dc else "IGNOREME",
            "Results": members, "LocalNames": [], "Collected": True, "FailureReason": None}


def g(name):
    return {"ObjectIdentifier": group_sid(name), "ObjectType": "Group"}


def usr(sam):
    return {"ObjectIdentifier": U(sam).sid, "ObjectType": "User"}


# sessions observed by SharpHound on 2025-03-09 (user sam list per host)
SESSIONS = {
    "BOS-PAW-01": ["t0_rnakamura"], "BOS-PAW-02": ["t0_dfoley"], "BOS-PAW-03": ["t0_aperez"],
    "BOS-JMP-01": ["t1_gmarsh", "t1_kvance", "t1_bquinn"], "BOS-JMP-02": ["t1_praman", "t1_tlindqvist", "t1_hokoye"],
    "BOS-HDK-01": ["t2_ohale", "t2_mchen"], "BOS-HDK-02": ["t2_jalvarez", "t2_lvogel"],
    "BOS-APP-06": ["t1_lbrandt"], "BOS-SQL-02": ["t1_praman"], "BOS-APP-07": ["t0_dfoley"],  # stale tier-0 session: hygiene finding
    "BOS-BKP-01": ["svc-veeam"], "BOS-MON-01": ["svc-scom"], "BOS-APP-04": ["svc-iamsync"], "BOS-APP-05": ["svc-legacyedi"],
    "BOS-MECM-01": ["svc-mecm-push"],
}


def computers_json():
    out = []
    r = rng_for("bh-computers")
    for c in COMPUTERS.values():
        spns = [f"HOST/{c.short}", f"HOST/{c.fqdn}", f"RestrictedKrbHost/{c.short}", f"RestrictedKrbHost/{c.fqdn}",
                f"TERMSRV/{c.short}", f"TERMSRV/{c.fqdn}"]
        if c.role not in ("ws", "paw", "hdk"):
            spns += [f"WSMAN/{c.short}", f"WSMAN/{c.fqdn}"]
        if c.is_dc:
            spns += [f"ldap/{c.fqdn}", f"ldap/{c.fqdn}/{DOMAIN}", f"GC/{c.fqdn}/{DOMAIN}", f"DNS/{c.fqdn}",
                     f"E3514235-4B06-11D1-AB04-00C04FC2DCD2/{stable_uuid('ntds', c.short).lower()}/{DOMAIN}"]
        admins, rdp, rmu = [], [], []
        if c.is_dc:
            admins = [usr("Administrator"), g("Domain Admins"), g("Enterprise Admins")]
        elif c.role in ("paw",):
            admins = [g("Domain Admins")]
        elif c.role in ("ws", "hdk"):
            admins = [g("Domain Admins"), g("GG-T2-Helpdesk"), usr("svc-mecm-push"), g("GG-VulnScan")]
        elif c.zone in ("tier0",) or c.role == "aadc":
            admins = [g("Domain Admins")]
        else:
            admins = [g("Domain Admins"), g("GG-T1-ServerAdmins"), usr("svc-mecm-push"), g("GG-VulnScan")]
            rmu = [g("GG-T1-ServerAdmins")]
            if c.role == "sql":
                admins.append(g("GG-SQL-Admins"))
            if c.zone != "dmz":
                admins.append(usr("svc-veeam"))  # Veeam guest processing needs local admin on protected servers
        if c.role == "jump":
            rdp = [g("GG-RDP-JumpHosts")]
        if c.role in ("ws",) and c.owner:
            rdp = []
        lgs = [local_group(c, 544, "Administrators", admins), local_group(c, 555, "Remote Desktop Users", rdp),
               local_group(c, 580, "Remote Management Users", rmu), local_group(c, 562, "Distributed COM Users", [])]
        sess = [{"UserSID": U(s).sid, "ComputerSID": c.sid} for s in SESSIONS.get(c.short, [])]
        if c.role == "ws" and c.owner and r.random() < 0.6:
            sess.append({"UserSID": U(c.owner).sid, "ComputerSID": c.sid})
        priv = [s for s in sess if any(x in s["UserSID"] for x in [U(a).sid for a in ("t0_rnakamura", "t0_dfoley", "t0_aperez")])]
        aces = base_aces(False)
        if c.role in ("ws",):
            aces.append(ace(HELPDESK, "Group", "GenericWrite", True))
        props = {"domain": DOMAIN, "name": c.key, "distinguishedname": c.dn.upper(), "domainsid": DOMAIN_SID,
                 "highvalue": c.is_dc, "samaccountname": c.sam, "haslaps": c.role in ("ws", "hdk"), "description": c.desc,
                 "whencreated": WHEN + r.randint(0, 1500) * 86400, "enabled": c.enabled, "unconstraineddelegation": c.is_dc,
                 "trustedtoauth": False, "lastlogon": epoch("2025-03-09 20:00:00") - r.randint(0, 86400) if c.enabled else epoch("2024-11-20 10:00:00"),
                 "lastlogontimestamp": epoch("2025-03-08 20:00:00") - r.randint(0, 86400), "pwdlastset": epoch("2025-02-20 00:00:00") - r.randint(0, 25) * 86400,
                 "serviceprincipalnames": spns, "operatingsystem": c.os, "sidhistory": []}
        out.append({"Properties": props, "PrimaryGroupSID": sid(516) if c.is_dc else sid(515), "AllowedToDelegate": [], "AllowedToAct": [],
                    "HasSIDHistory": [], "DumpSMSAPassword": [],
                    "Sessions": {"Results": sess, "Collected": True, "FailureReason": None},
                    "PrivilegedSessions": {"Results": priv, "Collected": True, "FailureReason": None},
                    "RegistrySessions": {"Results": [], "Collected": True, "FailureReason": None},
                    "LocalGroups": lgs, "UserRights": [], "DCRegistryData": {"CertificateMappingMethods": None, "StrongCertificateBindingEnforcement": None},
                    "Status": None, "Aces": aces, "ObjectIdentifier": c.sid, "IsDeleted": False, "IsACLProtected": False,
                    "ContainedBy": {"ObjectIdentifier": ou_guid(c.ou), "ObjectType": "OU"}})
    return wrap("computers", out)


def domains_json():
    msol, msol_old = U("MSOL_5f3a9c2e81d4").sid, U("MSOL_3b81e07d6a25").sid
    aces = [ace(ADMINS, "Group", "Owns"), ace(ADMINS, "Group", "WriteDacl"), ace(ADMINS, "Group", "WriteOwner"),
            ace(ADMINS, "Group", "AllExtendedRights"), ace(DA, "Group", "WriteDacl"), ace(DA, "Group", "WriteOwner"),
            ace(DA, "Group", "AllExtendedRights"), ace(EA, "Group", "GenericAll"),
            ace(f"{DOMAIN}-S-1-5-9", "Group", "GetChanges"), ace(f"{DOMAIN}-S-1-5-9", "Group", "GetChangesInFilteredSet"),
            ace(ADMINS, "Group", "GetChanges"), ace(ADMINS, "Group", "GetChangesAll"), ace(ADMINS, "Group", "GetChangesInFilteredSet"),
            ace(sid(498), "Group", "GetChanges"), ace(sid(516), "Group", "GetChangesAll"),
            ace(msol, "User", "GetChanges"), ace(msol, "User", "GetChangesAll"),
            ace(msol_old, "User", "GetChanges"), ace(msol_old, "User", "GetChangesAll")]
    child = [{"ObjectIdentifier": ou_guid("OU=DOMAIN CONTROLLERS"), "ObjectType": "OU"},
             {"ObjectIdentifier": ou_guid("OU=LMI"), "ObjectType": "OU"},
             {"ObjectIdentifier": stable_uuid("container", "CN=USERS"), "ObjectType": "Container"},
             {"ObjectIdentifier": stable_uuid("container", "CN=COMPUTERS"), "ObjectType": "Container"},
             {"ObjectIdentifier": stable_uuid("container", "CN=SYSTEM"), "ObjectType": "Container"}]
    d = {"GPOChanges": {"LocalAdmins": [], "RemoteDesktopUsers": [], "DcomUsers": [], "PSRemoteUsers": [], "AffectedComputers": []},
         "Properties": {"domain": DOMAIN, "name": DOMAIN, "distinguishedname": DOMAIN_DN, "domainsid": DOMAIN_SID, "highvalue": True,
                        "description": None, "whencreated": WHEN, "functionallevel": "2016", "collected": True},
         "ChildObjects": child, "Trusts": [], "Links": [{"IsEnforced": False, "GUID": GPOS[0][0].strip("{}")}],
         "Aces": aces, "ObjectIdentifier": DOMAIN_SID, "IsDeleted": False, "IsACLProtected": False, "ContainedBy": None}
    return wrap("domains", [d])


def ous_json():
    out = []
    for dn, desc in OU_TREE:
        full = f"{dn},{DOMAIN_DN}"
        parent = dn.split(",", 1)[1] if "," in dn else None
        children = [{"ObjectIdentifier": ou_guid(d2), "ObjectType": "OU"} for d2, _ in OU_TREE if "," in d2 and d2.split(",", 1)[1] == dn]
        children += [{"ObjectIdentifier": c.sid, "ObjectType": "Computer"} for c in COMPUTERS.values() if c.ou == dn]
        children += [{"ObjectIdentifier": u.sid, "ObjectType": "User"} for u in USERS.values() if u.ou == dn]
        links = [{"IsEnforced": False, "GUID": guid.strip("{}")} for guid, _, targets in GPOS if dn in targets]
        affected = [{"ObjectIdentifier": c.sid, "ObjectType": "Computer"} for c in COMPUTERS.values() if c.ou.endswith(dn)]
        aces = [ace(DA, "Group", "Owns"), ace(DA, "Group", "GenericAll"), ace(EA, "Group", "GenericAll", True),
                ace(ADMINS, "Group", "WriteDacl", True)]
        if dn == "OU=LMI":
            aces.append(ace(HELPDESK, "Group", "ForceChangePassword"))  # the too-broad delegation (should be OU=STAFF)
        name = dn.split(",")[0].split("=")[1]
        out.append({"GPOChanges": {"LocalAdmins": [], "RemoteDesktopUsers": [], "DcomUsers": [], "PSRemoteUsers": [], "AffectedComputers": affected},
                    "Properties": {"domain": DOMAIN, "name": f"{name}@{DOMAIN}", "distinguishedname": full, "domainsid": DOMAIN_SID,
                                   "highvalue": "TIER0" in dn or dn == "OU=DOMAIN CONTROLLERS", "description": desc, "whencreated": WHEN,
                                   "blocksinheritance": False},
                    "Links": links, "ChildObjects": children, "Aces": aces, "ObjectIdentifier": ou_guid(dn), "IsDeleted": False,
                    "IsACLProtected": False,
                    "ContainedBy": {"ObjectIdentifier": ou_guid(parent), "ObjectType": "OU"} if parent else {"ObjectIdentifier": DOMAIN_SID, "ObjectType": "Domain"}})
    return wrap("ous", out)


def containers_json():
    out = []
    for dn, desc in CONTAINERS:
        full = f"{dn},{DOMAIN_DN}"
        parent = dn.split(",", 1)[1] if "," in dn else None
        children = [{"ObjectIdentifier": u.sid, "ObjectType": "User"} for u in USERS.values() if u.ou == dn]
        aces = [ace(DA, "Group", "Owns"), ace(DA, "Group", "GenericAll"), ace(EA, "Group", "GenericAll"), ace(ADMINS, "Group", "GenericAll")] \
            if "ADMINSDHOLDER" in dn else [ace(DA, "Group", "Owns"), ace(DA, "Group", "GenericAll"), ace(EA, "Group", "GenericAll", True)]
        out.append({"Properties": {"domain": DOMAIN, "name": f"{dn.split(',')[0].split('=')[1]}@{DOMAIN}", "distinguishedname": full,
                                   "domainsid": DOMAIN_SID, "highvalue": "ADMINSDHOLDER" in dn},
                    "ChildObjects": children, "Aces": aces, "ObjectIdentifier": stable_uuid("container", dn), "IsDeleted": False,
                    "IsACLProtected": "ADMINSDHOLDER" in dn,
                    "ContainedBy": {"ObjectIdentifier": stable_uuid("container", parent), "ObjectType": "Container"} if parent else {"ObjectIdentifier": DOMAIN_SID, "ObjectType": "Domain"}})
    return wrap("containers", out)


def gpos_json():
    out = []
    for guid, name, _ in GPOS:
        out.append({"Properties": {"domain": DOMAIN, "name": f"{name}@{DOMAIN}",
                                   "distinguishedname": f"CN={guid},CN=POLICIES,CN=SYSTEM,{DOMAIN_DN}", "domainsid": DOMAIN_SID,
                                   "highvalue": False, "description": None, "whencreated": WHEN,
                                   "gpcpath": f"\\\\{DOMAIN}\\SYSVOL\\{DOMAIN}\\POLICIES\\{guid}"},
                    "Aces": [ace(DA, "Group", "Owns"), ace(DA, "Group", "GenericWrite"), ace(EA, "Group", "GenericWrite")],
                    "ObjectIdentifier": guid.strip("{}"), "IsDeleted": False, "IsACLProtected": True, "ContainedBy": None})
    return wrap("gpos", out)


# ------------------------------------------------------------------ nmap
PORTS = {
    "dc": [(53, "tcp", "domain", "Simple DNS Plus", ""), (88, "tcp", "kerberos-sec", "Microsoft Windows Kerberos", ""),
           (135, "tcp", "msrpc", "Microsoft Windows RPC", ""), (389, "tcp", "ldap", "Microsoft Windows Active Directory LDAP", ""),
           (445, "tcp", "microsoft-ds", "", ""), (464, "tcp", "kpasswd5", "", ""), (636, "tcp", "ldapssl", "", ""),
           (3268, "tcp", "ldap", "Microsoft Windows Active Directory LDAP", ""), (3389, "tcp", "ms-wbt-server", "Microsoft Terminal Services", ""),
           (5985, "tcp", "http", "Microsoft HTTPAPI httpd", "2.0")],
    "srv": [(135, "tcp", "msrpc", "Microsoft Windows RPC", ""), (445, "tcp", "microsoft-ds", "", ""),
            (3389, "tcp", "ms-wbt-server", "Microsoft Terminal Services", ""), (5985, "tcp", "http", "Microsoft HTTPAPI httpd", "2.0")],
    "sql": [(1433, "tcp", "ms-sql-s", "Microsoft SQL Server", "")],
    "app": [(443, "tcp", "https", "Microsoft IIS httpd", "10.0")],
    "web": [(443, "tcp", "https", "Apache Tomcat", "9.0.54"), (80, "tcp", "http", "Microsoft IIS httpd", "10.0")],
    "backup": [(9392, "tcp", "unknown", "Veeam Backup Service", ""), (6160, "tcp", "unknown", "Veeam Installer Service", "")],
    "mecm": [(80, "tcp", "http", "Microsoft IIS httpd", "10.0"), (443, "tcp", "https", "Microsoft IIS httpd", "10.0"), (8530, "tcp", "http", "Microsoft IIS httpd", "10.0")],
    "monitoring": [(5723, "tcp", "unknown", "System Center Operations Manager", "")],
    "file": [],
    "exchange": [(25, "tcp", "smtp", "Microsoft Exchange smtpd", ""), (443, "tcp", "https", "Microsoft IIS httpd", "10.0")],
}


def nmap_xml():
    start = epoch("2025-03-09 02:10:04")
    hosts = []
    t = start
    for c in COMPUTERS.values():
        if c.role in ("ws", "paw", "hdk", "aadc-old", "scanner-lab") or c.zone == "azure" and c.role != "dc":
            continue
        ports = list(PORTS["dc"] if c.is_dc else PORTS["srv"])
        ports += PORTS.get(c.role, [])
        hosts.append((c.ip, c.fqdn, ports, t))
        t += 17
    hosts.append(("172.20.10.21", "dmz-sftp-01.lmi.intra", [(22, "tcp", "ssh", "OpenSSH", "9.2p1 Debian 2+deb12u3")], t))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<!DOCTYPE nmaprun>',
             f'<nmaprun scanner="nmap" args="nmap -sS -sV -Pn -p 22,25,53,80,88,135,389,443,445,464,636,1433,3268,3389,5723,5985,6160,8530,9392 -oX servers-20250309.xml 10.40.1.0/24 10.40.8.0/24 10.40.16.0/24 10.128.1.0/24 172.20.10.0/24" start="{start}" startstr="Sun Mar  9 02:10:04 2025" version="7.94" xmloutputversion="1.05">',
             '<scaninfo type="syn" protocol="tcp" numservices="19" services="22,25,53,80,88,135,389,443,445,464,636,1433,3268,3389,5723,5985,6160,8530,9392"/>',
             '<verbose level="0"/>', '<debugging level="0"/>']
    for ip, fqdn, ports, t in hosts:
        lines.append(f'<host starttime="{t}" endtime="{t + 15}"><status state="up" reason="user-set" reason_ttl="0"/>')
        lines.append(f'<address addr="{ip}" addrtype="ipv4"/>')
        lines.append(f'<hostnames><hostname name="{fqdn}" type="PTR"/></hostnames>')
        lines.append('<ports>')
        for p, proto, name, product, ver in ports:
            attrs = f'name="{name}"'
            if product:
                attrs += f' product="{escape(product)}"'
            if ver:
                attrs += f' version="{escape(ver)}"'
            ostype = ' ostype="Linux"' if p == 22 else (' ostype="Windows"' if product else "")
            lines.append(f'<port protocol="{proto}" portid="{p}"><state state="open" reason="syn-ack" reason_ttl="127"/>'
                         f'<service {attrs}{ostype} method="probed" conf="10"/></port>')
        lines.append('</ports>')
        lines.append(f'<times srtt="412" rttvar="120" to="100000"/></host>')
    end = t + 30
    lines.append(f'<runstats><finished time="{end}" timestr="Sun Mar  9 02:31:40 2025" summary="Nmap done at Sun Mar  9 02:31:40 2025; 1280 IP addresses ({len(hosts)} hosts up) scanned in {end - start}.00 seconds" elapsed="{end - start}.00" exit="success"/>'
                 f'<hosts up="{len(hosts)}" down="{1280 - len(hosts)}" total="1280"/></runstats>')
    lines.append('</nmaprun>')
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ trivy / sbom / kev / epss
def _vuln(cve, pkg, inst, fixed, sev, title, purl, cvss):
    return {"VulnerabilityID": cve, "PkgID": f"{pkg.split(':')[-1]}@{inst}" if ":" in pkg else f"{pkg}@{inst}", "PkgName": pkg,
            "PkgIdentifier": {"PURL": purl}, "InstalledVersion": inst, "FixedVersion": fixed, "Status": "fixed",
            "Layer": {}, "SeveritySource": "ghsa" if ":" in pkg else "debian", "PrimaryURL": f"https://avd.aquasec.com/nvd/{cve.lower()}",
            "DataSource": {"ID": "ghsa", "Name": "GitHub Security Advisory Maven", "URL": "https://github.com/advisories?query=type%3Areviewed+ecosystem%3Amaven"} if ":" in pkg else
            {"ID": "debian", "Name": "Debian Security Tracker", "URL": "https://salsa.debian.org/security-tracker-team/security-tracker"},
            "Title": title, "Severity": sev, "CVSS": {"nvd": {"V3Vector": cvss[0], "V3Score": cvss[1]}}}


def trivy_web01():
    purl = "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
    vulns = [
        _vuln("CVE-2021-44228", "org.apache.logging.log4j:log4j-core", "2.14.1", "2.15.0", "CRITICAL",
              "log4j-core: Remote code execution in Log4j 2.x when logs contain an attacker-controlled string value", purl,
              ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0)),
        _vuln("CVE-2021-45046", "org.apache.logging.log4j:log4j-core", "2.14.1", "2.16.0", "CRITICAL",
              "log4j-core: DoS in log4j 2.x with thread context message pattern and context lookup pattern", purl,
              ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H", 9.0)),
        _vuln("CVE-2021-44832", "org.apache.logging.log4j:log4j-core", "2.14.1", "2.17.1", "MEDIUM",
              "log4j-core: remote code execution via JDBC Appender", purl, ("CVSS:3.1/AV:N/AC:H/PR:H/UI:N/S:U/C:H/I:H/A:H", 6.6)),
    ]
    pkgs = [{"ID": "org.apache.logging.log4j:log4j-core:2.14.1", "Name": "org.apache.logging.log4j:log4j-core", "Identifier": {"PURL": purl},
             "Version": "2.14.1", "FilePath": "C:/Program Files/Apache Software Foundation/Tomcat 9.0/webapps/portal/WEB-INF/lib/log4j-core-2.14.1.jar"},
            {"ID": "org.apache.logging.log4j:log4j-api:2.14.1", "Name": "org.apache.logging.log4j:log4j-api",
             "Identifier": {"PURL": "pkg:maven/org.apache.logging.log4j/log4j-api@2.14.1"}, "Version": "2.14.1",
             "FilePath": "C:/Program Files/Apache Software Foundation/Tomcat 9.0/webapps/portal/WEB-INF/lib/log4j-api-2.14.1.jar"}]
    return {"SchemaVersion": 2, "CreatedAt": "2025-03-08T04:12:33.118427Z", "ArtifactName": "DMZ-WEB-01.lmi.intra", "ArtifactType": "vm",
            "Metadata": {"OS": {"Family": "windows", "Name": "10.0.20348"}, "ImageConfig": {"architecture": "", "created": "0001-01-01T00:00:00Z", "os": "", "rootfs": {"type": "", "diff_ids": None}, "config": {}}},
            "Results": [{"Target": "Java", "Class": "lang-pkgs", "Type": "jar", "Packages": pkgs, "Vulnerabilities": vulns}]}


def trivy_web02():
    purl = "pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1"
    pkgs = [{"ID": "org.apache.logging.log4j:log4j-core:2.17.1", "Name": "org.apache.logging.log4j:log4j-core", "Identifier": {"PURL": purl},
             "Version": "2.17.1", "FilePath": "C:/Program Files/Apache Software Foundation/Tomcat 9.0/webapps/portal/WEB-INF/lib/log4j-core-2.17.1.jar"}]
    return {"SchemaVersion": 2, "CreatedAt": "2025-03-08T04:19:02.551201Z", "ArtifactName": "DMZ-WEB-02.lmi.intra", "ArtifactType": "vm",
            "Metadata": {"OS": {"Family": "windows", "Name": "10.0.20348"}, "ImageConfig": {"architecture": "", "created": "0001-01-01T00:00:00Z", "os": "", "rootfs": {"type": "", "diff_ids": None}, "config": {}}},
            "Results": [{"Target": "Java", "Class": "lang-pkgs", "Type": "jar", "Packages": pkgs}]}


def trivy_sftp():
    vulns = [
        _vuln("CVE-2024-2511", "libssl3", "3.0.13-1~deb12u1", "3.0.14-1~deb12u1", "LOW", "openssl: Unbounded memory growth with session handling in TLSv1.3",
              "pkg:deb/debian/libssl3@3.0.13-1~deb12u1?arch=amd64&distro=debian-12.6", ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", 3.7)),
    ]
    pkgs = [{"ID": "openssh-server@1:9.2p1-2+deb12u3", "Name": "openssh-server", "Identifier": {"PURL": "pkg:deb/debian/openssh-server@1:9.2p1-2+deb12u3?arch=amd64&distro=debian-12.6"},
             "Version": "1:9.2p1-2+deb12u3", "SrcName": "openssh", "SrcVersion": "1:9.2p1-2+deb12u3"},
            {"ID": "libssl3@3.0.13-1~deb12u1", "Name": "libssl3", "Identifier": {"PURL": "pkg:deb/debian/libssl3@3.0.13-1~deb12u1?arch=amd64&distro=debian-12.6"},
             "Version": "3.0.13-1~deb12u1", "SrcName": "openssl", "SrcVersion": "3.0.13-1~deb12u1"}]
    return {"SchemaVersion": 2, "CreatedAt": "2025-03-08T04:25:40.90211Z", "ArtifactName": "DMZ-SFTP-01.lmi.intra", "ArtifactType": "vm",
            "Metadata": {"OS": {"Family": "debian", "Name": "12.6"}, "ImageConfig": {"architecture": "", "created": "0001-01-01T00:00:00Z", "os": "", "rootfs": {"type": "", "diff_ids": None}, "config": {}}},
            "Results": [{"Target": "DMZ-SFTP-01.lmi.intra (debian 12.6)", "Class": "os-pkgs", "Type": "debian", "Packages": pkgs, "Vulnerabilities": vulns}]}


def sbom_portal():
    comps = [
        ("org.apache.logging.log4j", "log4j-core", "2.14.1"), ("org.apache.logging.log4j", "log4j-api", "2.14.1"),
        ("org.springframework", "spring-webmvc", "5.3.13"), ("org.springframework", "spring-core", "5.3.13"),
        ("com.microsoft.sqlserver", "mssql-jdbc", "9.4.0.jre11"), ("com.fasterxml.jackson.core", "jackson-databind", "2.13.0"),
    ]
    app = "pkg:maven/com.larchmontmutual/customer-portal@4.2.0"
    c = [{"type": "library", "bom-ref": f"pkg:maven/{g_}/{a}@{v}", "group": g_, "name": a, "version": v, "purl": f"pkg:maven/{g_}/{a}@{v}",
          "licenses": [{"license": {"id": "Apache-2.0"}}] if "mssql" not in a else [{"license": {"id": "MIT"}}]} for g_, a, v in comps]
    deps = [{"ref": app, "dependsOn": [f"pkg:maven/{g_}/{a}@{v}" for g_, a, v in comps if a in ("log4j-core", "spring-webmvc", "mssql-jdbc", "jackson-databind")]},
            {"ref": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", "dependsOn": ["pkg:maven/org.apache.logging.log4j/log4j-api@2.14.1"]},
            {"ref": "pkg:maven/org.springframework/spring-webmvc@5.3.13", "dependsOn": ["pkg:maven/org.springframework/spring-core@5.3.13"]}]
    return {"bomFormat": "CycloneDX", "specVersion": "1.5", "serialNumber": "urn:uuid:" + stable_uuid("sbom", "portal").lower(), "version": 1,
            "metadata": {"timestamp": "2025-02-27T16:40:11Z", "tools": {"components": [{"type": "application", "group": "org.cyclonedx", "name": "cyclonedx-maven-plugin", "version": "2.7.11"}]},
                         "component": {"type": "application", "bom-ref": app, "group": "com.larchmontmutual", "name": "customer-portal", "version": "4.2.0", "purl": app}},
            "components": c, "dependencies": deps}


def kev_extract():
    src = json.load(open("/work/shared/data/real/kev/known_exploited_vulnerabilities.json"))
    keep = {"CVE-2021-44228", "CVE-2021-45046", "CVE-2021-42278", "CVE-2021-42287", "CVE-2020-1472", "CVE-2024-6387"}
    v = [x for x in src["vulnerabilities"] if x["cveID"] in keep]
    return {"title": src["title"], "catalogVersion": src["catalogVersion"], "dateReleased": src["dateReleased"], "count": len(v), "vulnerabilities": v}


EPSS = [("CVE-2021-44228", 0.94358, 0.99992), ("CVE-2021-45046", 0.94172, 0.99941), ("CVE-2021-44832", 0.42301, 0.97299),
        ("CVE-2024-2511", 0.00613, 0.69315), ("CVE-2024-6387", 0.40215, 0.97192)]


# ------------------------------------------------------------------ inventory / network
def inventory_rows():
    rows = []
    T = lambda c: c.key
    for c in COMPUTERS.values():
        if c.role == "ws":
            continue
        crit = "critical" if c.zone == "tier0" or c.is_dc or c.role in ("aadc", "paw") else ("high" if c.role in ("sql", "file", "backup", "web", "jump", "mecm") else "medium")
        cj = "true" if c.is_dc or c.role in ("aadc", "pki") else "false"
        owner = {"dc": "Directory Services", "pki": "Directory Services", "aadc": "Directory Services", "paw": "Directory Services",
                 "jump": "Infra Ops", "hdk": "Service Desk", "scanner": "SecOps VM", "scanner-lab": "SecOps VM", "mecm": "Endpoint Engineering",
                 "monitoring": "Infra Ops", "backup": "Infra Ops", "backup-proxy": "Infra Ops", "web": "Digital", "exchange": "Messaging"}.get(c.role, "Application Support")
        tags = [f"zone={c.zone}", f"role={c.role}"]
        if c.is_dc:
            tags += ["tier0", "replication-partners=BOS-ADDS-01;BOS-ADDS-02;AZE-ADDS-03"] if False else ["tier0"]
        extra = {
            "BOS-VSCAN-01": ["scanner", "scan-window=Sun 02:00-05:00 UTC", "scan-account=svc-nessus", "scan-scope=10.40.0.0/16,172.20.10.0/24 (excl. 10.40.200.0/24)"],
            "BOS-VSCAN-02": ["scanner", "lab-only", "scan-scope=10.40.200.0/24"],
            "BOS-BKP-01": ["backup", "backup-window=daily 01:00-03:00 UTC", "backup-account=svc-veeam", "offsite-copy=20.60.134.36:443 daily 03:00-05:00 UTC"],
            "BOS-BKP-02": ["backup", "backup-window=daily 01:00-03:00 UTC", "backup-account=svc-veeam"],
            "BOS-MECM-01": ["config-mgmt", "client-push-account=svc-mecm-push"],
            "BOS-JMP-01": ["jump-host", "tier1-admin-source"], "BOS-JMP-02": ["jump-host", "tier1-admin-source"],
            "BOS-HDK-01": ["helpdesk-console"], "BOS-HDK-02": ["helpdesk-console"],
            "AZE-AADC-01": ["tier0", "entra-connect", "sync-account=MSOL_5f3a9c2e81d4", "sync-interval=30min"],
            "BOS-APP-02": ["ms-support-case=2503110040001872", "lsass-diagnostic-dump=CHG-3381 2025-03-11 14:00-16:00 UTC by t1_bquinn from BOS-JMP-01",
                           "migration=SharePoint Migration Tool (svc-sharepoint) to lmimutual.sharepoint.com (Microsoft 365, 13.107.136.0/22), CHG-3388, nightly 22:00-06:00 UTC 2025-03-10..2025-03-21"],
            "BOS-APP-08": ["vendor-remote-support=BeyondTrust jump client to 198.51.100.40:443 (Guidewire support), CHG-3012"],
            "AZE-APP-01": ["azure-vm", "guest-agent=WindowsAzureGuestAgent -> 168.63.129.16:80/32526"],
            "AZE-APP-02": ["azure-vm", "guest-agent=WindowsAzureGuestAgent -> 168.63.129.16:80/32526"],
            "DMZ-WEB-01": ["internet-facing", "public-ip=203.0.113.10", "asv-scan=Qualys 64.39.96.0/20 first Tuesday of the month 13:00-17:00 UTC"],
            "DMZ-WEB-02": ["internet-facing", "public-ip=203.0.113.10", "asv-scan=Qualys 64.39.96.0/20 first Tuesday of the month 13:00-17:00 UTC"],
            "BOS-APP-04": ["mim", "sync-account=svc-iamsync", "schedule=hourly at :05"],
            "BOS-APP-05": ["edi-gateway", "kerberos-no-preauth-client=svc-legacyedi (SEC-EXC-114)"],
            "BOS-APP-06": ["sspr", "sspr-account=svc-pwreset"],
            "BOS-MON-01": ["monitoring", "monitoring-account=svc-scom"],
        }.get(c.short, [])
        rows.append((c.key, "host", crit, cj, owner, "", ";".join(tags + extra)))
    rows.append(("DMZ-SFTP-01.LMI.INTRA", "host", "high", "false", "Digital", "",
                 "zone=dmz;role=sftp;internet-facing;public-ip=203.0.113.21;partner=Keystone Reinsurance 198.51.100.24 daily uploads 05:00-06:00 UTC"))
    rows.append((DOMAIN, "data", "critical", "true", "Directory Services", "", "ad-domain;tier0"))
    rows.append(("POLICYHOLDER-DB", "data", "critical", "true", "Policy Admin", "BOS-SQL-01.LMI.INTRA", "pii;pci"))
    rows.append(("CLAIMS-DB", "data", "critical", "true", "Claims IT", "BOS-SQL-02.LMI.INTRA", "pii;phi"))
    rows.append(("DW-ANALYTICS", "data", "high", "true", "Data Office", "BOS-SQL-11.LMI.INTRA", "pii;aggregated"))
    rows.append(("ACTUARIAL-MODELS", "data", "critical", "true", "Actuarial", "BOS-FS-02.LMI.INTRA", "trade-secret;share=\\\\BOS-FS-02\\Actuarial"))
    rows.append(("BACKUP-REPOSITORY", "data", "critical", "true", "Infra Ops", "BOS-BKP-01.LMI.INTRA", "backups;immutable=false"))
    rows.append(("PAYMENTS-GATEWAY", "service", "critical", "true", "Finance IT", "BOS-APP-01.LMI.INTRA", "pci;approvers=GG-Finance-Approvers"))
    rows.append(("pkg:maven/com.larchmontmutual/customer-portal@4.2.0", "service", "high", "false", "Digital", "DMZ-WEB-01.LMI.INTRA", "internet-facing;reads=POLICYHOLDER-DB"))
    for sam in ("svc-veeam", "svc-nessus", "svc-mecm-push", "svc-legacyedi", "MSOL_5f3a9c2e81d4", "svc-iamsync", "svc-pwreset", "svc-scom"):
        u = U(sam)
        owner = {"svc-veeam": "Infra Ops", "svc-nessus": "SecOps VM", "svc-mecm-push": "Endpoint Engineering", "svc-legacyedi": "B2B Integration",
                 "MSOL_5f3a9c2e81d4": "Directory Services", "svc-iamsync": "IAM", "svc-pwreset": "IAM", "svc-scom": "Infra Ops"}[sam]
        tags = {"svc-veeam": "service-account;window=daily 01:00-03:00 UTC;sources=BOS-BKP-01,BOS-BKP-02",
                "svc-nessus": "service-account;window=Sun 02:00-05:00 UTC;sources=BOS-VSCAN-01",
                "svc-mecm-push": "service-account;sources=BOS-MECM-01",
                "svc-legacyedi": "service-account;no-preauth;exception=SEC-EXC-114;sources=BOS-APP-05",
                "MSOL_5f3a9c2e81d4": "service-account;replication;sources=AZE-AADC-01",
                "svc-iamsync": "service-account;sources=BOS-APP-04;schedule=hourly :05",
                "svc-pwreset": "service-account;sources=BOS-APP-06",
                "svc-scom": "service-account;sources=BOS-MON-01"}[sam]
        rows.append((u.name, "user", "high", "false", owner, "", tags))
    return rows


NETWORK = """# Larchmont Mutual network zones and firewall policy (NET-STD-002, reviewed 2025-02)
zones:
  - name: dmz
    cidrs: [172.20.10.0/24]
    internet_facing: true
    exposed_ports: [443/tcp, 22/tcp]
  - name: tier0
    cidrs: [10.40.1.0/24]
  - name: paw
    cidrs: [10.40.9.0/24]
  - name: mgmt
    cidrs: [10.40.8.0/24, 10.40.10.0/24]
  - name: servers
    cidrs: [10.40.16.0/22]
  - name: lab
    cidrs: [10.40.200.0/24]
  - name: users-bos
    cidrs: [10.60.0.0/16]
  - name: users-pvd
    cidrs: [10.61.0.0/16]
  - name: vpn
    cidrs: [10.99.0.0/16]
  - name: azure
    cidrs: [10.128.0.0/16]
flows:
  - {from: users-bos, to: tier0, ports: [53/tcp, 53/udp, 88/tcp, 88/udp, 135/tcp, 389/tcp, 445/tcp, 464/tcp, 636/tcp, 3268/tcp, 49152-65535/tcp]}
  - {from: users-pvd, to: tier0, ports: [53/tcp, 53/udp, 88/tcp, 88/udp, 135/tcp, 389/tcp, 445/tcp, 464/tcp, 636/tcp, 3268/tcp, 49152-65535/tcp]}
  - {from: vpn, to: tier0, ports: [53/udp, 88/tcp, 88/udp, 389/tcp, 445/tcp, 464/tcp]}
  # legacy user-to-server rule (SEC-EXC-120, to be narrowed to 80/443/445/1433 in Q3)
  - {from: users-bos, to: servers, ports: [80/tcp, 443/tcp, 445/tcp, 1433/tcp, 135/tcp, 3389/tcp, 5985/tcp, 49152-65535/tcp]}
  - {from: users-pvd, to: servers, ports: [80/tcp, 443/tcp, 445/tcp, 1433/tcp]}
  - {from: vpn, to: servers, ports: [80/tcp, 443/tcp, 445/tcp, 1433/tcp, 3389/tcp]}
  - {from: users-bos, to: mgmt, ports: [3389/tcp, 443/tcp]}
  - {from: mgmt, to: servers, ports: [22/tcp, 135/tcp, 445/tcp, 1433/tcp, 3389/tcp, 5985/tcp, 5986/tcp, 9392/tcp, 6160/tcp, 49152-65535/tcp]}
  - {from: mgmt, to: users-bos, ports: [135/tcp, 445/tcp, 3389/tcp, 5985/tcp, 49152-65535/tcp]}
  - {from: mgmt, to: users-pvd, ports: [135/tcp, 445/tcp, 3389/tcp, 5985/tcp, 49152-65535/tcp]}
  - {from: mgmt, to: tier0, ports: [53/udp, 88/tcp, 135/tcp, 389/tcp, 445/tcp, 49152-65535/tcp]}
  - {from: mgmt, to: dmz, ports: [135/tcp, 445/tcp, 3389/tcp, 5985/tcp, 49152-65535/tcp]}
  - {from: paw, to: tier0, ports: [3389/tcp, 5985/tcp, 5986/tcp, 135/tcp, 445/tcp, 389/tcp, 636/tcp, 88/tcp, 49152-65535/tcp]}
  - {from: paw, to: azure, ports: [3389/tcp, 5985/tcp, 5986/tcp, 445/tcp]}
  - {from: tier0, to: azure, ports: [53/udp, 88/tcp, 135/tcp, 389/tcp, 445/tcp, 636/tcp, 3268/tcp, 49152-65535/tcp]}
  - {from: azure, to: tier0, ports: [53/udp, 88/tcp, 135/tcp, 389/tcp, 445/tcp, 636/tcp, 3268/tcp, 49152-65535/tcp]}
  - {from: dmz, to: servers, ports: [1433/tcp]}
  - {from: dmz, to: tier0, ports: [88/tcp, 389/tcp, 53/udp]}
  - {from: servers, to: tier0, ports: [53/udp, 88/tcp, 88/udp, 135/tcp, 389/tcp, 445/tcp, 464/tcp, 636/tcp, 3268/tcp, 49152-65535/tcp]}
  - {from: lab, to: mgmt, ports: [443/tcp]}
"""


def write_base(out_dir: str):
    os.makedirs(out_dir, exist_ok=True)
    for kind, fn in (("users", users_json), ("groups", groups_json), ("computers", computers_json), ("domains", domains_json),
                     ("ous", ous_json), ("containers", containers_json), ("gpos", gpos_json)):
        with open(os.path.join(out_dir, f"{COLLECTED}_{kind}.json"), "w") as f:
            json.dump(fn(), f, separators=(",", ":"))
    with open(os.path.join(out_dir, "nmap-servers-20250309.xml"), "w") as f:
        f.write(nmap_xml())
    for name, fn in (("trivy-dmz-web-01.json", trivy_web01), ("trivy-dmz-web-02.json", trivy_web02), ("trivy-dmz-sftp-01.json", trivy_sftp)):
        with open(os.path.join(out_dir, name), "w") as f:
            json.dump(fn(), f, indent=2)
    with open(os.path.join(out_dir, "customer-portal-4.2.0.cdx.json"), "w") as f:
        json.dump(sbom_portal(), f, indent=2)
    with open(os.path.join(out_dir, "kev-extract.json"), "w") as f:
        json.dump(kev_extract(), f, indent=2)
    with open(os.path.join(out_dir, "epss-extract.csv"), "w") as f:
        f.write("#model_version:v2025.03.14,score_date:2025-03-09T00:00:00+0000\ncve,epss,percentile\n")
        for c_, e_, p_ in EPSS:
            f.write(f"{c_},{e_},{p_}\n")
    with open(os.path.join(out_dir, "inventory.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "type", "criticality", "crown_jewel", "owner", "hosted_on", "tags"])
        for r_ in inventory_rows():
            w.writerow(r_)
    with open(os.path.join(out_dir, "network.yaml"), "w") as f:
        f.write(NETWORK)
