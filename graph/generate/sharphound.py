"""SharpHound CE v6 collection JSON for the synthetic enterprise.

Field names, nesting and key order follow the real ESC1.LOCAL collection in
`shared/data/real/bloodhound-esc1-v6/` (SpecterOps' own fixtures), including its
quirks: builtin groups named `DOMAIN-S-1-5-32-RID` and contained by the `S-1-5-32`
Base object, name-only stubs for well-known principals, `IGNOREME` local groups on
domain controllers, member machines' local groups as `{computer SID}-{RID}`, and the
configuration partition's children typed `Configuration`.

Files are streamed object by object: the large estate is ~10^5 objects and a
quarter of a gigabyte of JSON, which should never sit in memory as one string.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

from graph.generate.model import DAY, Container, Enterprise, Group, Host, User

METHODS = 521215  # the collection-method bitmask of the real sample (All)
CHUNK = 2000  # objects per write
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def _ace(sid: str, ptype: str, right: str, inherited: bool) -> dict:
    return {"PrincipalSID": sid, "PrincipalType": ptype, "RightName": right, "IsInherited": inherited}


def _ref(ref: tuple[str, str] | None) -> dict | None:
    return {"ObjectIdentifier": ref[0], "ObjectType": ref[1]} if ref else None


class _Acl:
    """Each kind's default ACL as the real collection shows it (shared lists, so 10^5
    objects do not mean 10^6 ACE dicts), plus the enterprise's extra ACEs."""

    def __init__(self, ent: Enterprise) -> None:
        g = "Group"
        da, ea, ka, eka = ent.sid(512), ent.sid(519), ent.sid(526), ent.sid(527)
        adm, ao = ent.builtin(544), ent.builtin(548)
        self.extra = ent.extra_aces
        self.user = [_ace(da, g, "Owns", False), _ace(ao, g, "GenericAll", False), _ace(da, g, "GenericAll", False),
                     _ace(ka, g, "AddKeyCredentialLink", True), _ace(eka, g, "AddKeyCredentialLink", True),
                     _ace(ea, g, "GenericAll", True), _ace(adm, g, "WriteDacl", True), _ace(adm, g, "WriteOwner", True),
                     _ace(adm, g, "AllExtendedRights", True), _ace(adm, g, "GenericWrite", True)]
        # AdminSDHolder's ACL replaces the inherited one on protected accounts and groups.
        self.protected = [_ace(da, g, "Owns", False), _ace(da, g, "GenericAll", False), _ace(ea, g, "GenericAll", False),
                          _ace(adm, g, "WriteDacl", False), _ace(adm, g, "WriteOwner", False),
                          _ace(adm, g, "AllExtendedRights", False), _ace(adm, g, "GenericWrite", False),
                          _ace(ka, g, "AddKeyCredentialLink", False), _ace(eka, g, "AddKeyCredentialLink", False),
                          _ace(adm, g, "GenericAll", False)]
        self.group = [_ace(da, g, "Owns", False), _ace(ao, g, "GenericAll", False), _ace(da, g, "GenericAll", False),
                      _ace(ea, g, "GenericAll", True), _ace(adm, g, "WriteDacl", True), _ace(adm, g, "WriteOwner", True),
                      _ace(adm, g, "GenericWrite", True)]
        self.computer = [_ace(da, g, "Owns", False), _ace(ao, g, "GenericAll", False), _ace(da, g, "GenericAll", False),
                         _ace(ka, g, "AddKeyCredentialLink", True), _ace(eka, g, "AddKeyCredentialLink", True),
                         _ace(ea, g, "GenericAll", True), _ace(adm, g, "WriteDacl", True), _ace(adm, g, "WriteOwner", True),
                         _ace(adm, g, "GenericWrite", True)]
        self.dc = [a for a in self.computer if a["PrincipalSID"] != ao]
        self.ou = [_ace(da, g, "Owns", False), _ace(da, g, "WriteDacl", False), _ace(da, g, "WriteOwner", False),
                   _ace(ea, g, "GenericAll", True), _ace(adm, g, "WriteDacl", True), _ace(adm, g, "WriteOwner", True)]
        self.container = [_ace(da, g, "Owns", False), _ace(da, g, "WriteDacl", False), _ace(da, g, "WriteOwner", False),
                          _ace(ea, g, "GenericAll", True), _ace(adm, g, "WriteDacl", True), _ace(adm, g, "WriteOwner", True)]
        self.gpo = [_ace(da, g, "Owns", False), _ace(da, g, "WriteDacl", False), _ace(da, g, "WriteOwner", False),
                    _ace(da, g, "GenericWrite", False), _ace(ea, g, "WriteDacl", False), _ace(ea, g, "WriteOwner", False),
                    _ace(ea, g, "GenericWrite", False)]
        self.pki = [_ace(ea, g, "Owns", False), _ace(adm, g, "GenericAll", False), _ace(da, g, "GenericAll", False),
                    _ace(ea, g, "GenericAll", False), _ace(ea, g, "GenericAll", True), _ace(da, g, "WriteDacl", True),
                    _ace(da, g, "WriteOwner", True)]
        self.domain = [_ace(adm, g, "Owns", False), _ace(adm, g, "WriteDacl", False), _ace(adm, g, "WriteOwner", False),
                       _ace(adm, g, "AllExtendedRights", False), _ace(da, g, "WriteDacl", False),
                       _ace(da, g, "WriteOwner", False), _ace(da, g, "AllExtendedRights", False),
                       _ace(ea, g, "GenericAll", False), _ace(f"{ent.domain}-S-1-5-9", g, "GetChanges", False),
                       _ace(f"{ent.domain}-S-1-5-9", g, "GetChangesInFilteredSet", False),
                       _ace(adm, g, "GetChangesAll", False), _ace(adm, g, "GetChanges", False),
                       _ace(adm, g, "GetChangesInFilteredSet", False), _ace(ent.sid(498), g, "GetChanges", False),
                       _ace(ent.sid(516), g, "GetChangesAll", False)]

    def of(self, objectid: str, default: list[dict]) -> list[dict]:
        extra = self.extra.get(objectid)
        if not extra:
            return default
        return default + [_ace(*a) for a in extra]


def _props_base(ent: Enterprise, name: str, dn: str | None) -> dict:
    return {"domain": ent.domain, "name": name, "distinguishedname": dn, "domainsid": ent.domain_sid}


def _user(ent: Enterprise, acl: _Acl, u: User) -> dict:
    p = _props_base(ent, u.name, u.dn)
    p.update({
        "highvalue": False, "samaccountname": u.sam, "description": u.description, "whencreated": u.whencreated,
        "sensitive": u.sensitive, "dontreqpreauth": u.dontreqpreauth, "passwordnotreqd": False,
        "unconstraineddelegation": False, "pwdneverexpires": u.pwdneverexpires, "enabled": u.enabled,
        "trustedtoauth": u.trustedtoauth, "lastlogon": u.lastlogon, "lastlogontimestamp": u.lastlogon - (u.lastlogon % DAY),
        "pwdlastset": u.pwdlastset, "serviceprincipalnames": u.spns, "hasspn": bool(u.spns),
        "displayname": u.displayname, "email": u.email, "title": u.title, "homedirectory": None,
        "userpassword": None, "unixpassword": None, "unicodepassword": None, "sfupassword": None,
        "logonscript": None, "admincount": u.admincount, "sidhistory": [],
    })
    if u.delegate_spns:
        p["allowedtodelegate"] = u.delegate_spns
    return {
        "Properties": p,
        "AllowedToDelegate": [_ref(r) for r in u.delegate_to],
        "PrimaryGroupSID": ent.sid(u.primary_group_rid),
        "HasSIDHistory": [],
        "SPNTargets": u.spn_targets,
        "Aces": acl.of(u.sid, acl.protected if u.admincount else acl.user),
        "ObjectIdentifier": u.sid,
        "IsDeleted": False,
        "IsACLProtected": u.admincount,
        "ContainedBy": _ref(u.parent),
    }


def _group(ent: Enterprise, acl: _Acl, g: Group) -> dict:
    members = [_ref(m) for m in g.members]
    if g.kind == "stub":
        return {"Properties": {"name": g.name, "domainsid": ent.domain_sid, "domain": ent.domain},
                "Members": members, "Aces": [], "ObjectIdentifier": g.sid, "IsDeleted": False,
                "IsACLProtected": False, "ContainedBy": None}
    p = _props_base(ent, g.name, g.dn)
    p.update({"highvalue": g.highvalue, "samaccountname": g.sam, "description": g.description,
              "whencreated": g.whencreated, "admincount": g.admincount})
    return {
        "Properties": p,
        "Members": members,
        "Aces": acl.of(g.sid, acl.protected if g.admincount else acl.group),
        "ObjectIdentifier": g.sid,
        "IsDeleted": False,
        "IsACLProtected": g.admincount,
        "ContainedBy": _ref(g.parent),
    }


def _host_spns(h: Host, ent: Enterprise) -> list[str]:
    s, f = h.short, h.fqdn
    spns = [f"TERMSRV/{s}", f"TERMSRV/{f}", f"RestrictedKrbHost/{s}", f"HOST/{s}", f"RestrictedKrbHost/{f}", f"HOST/{f}"]
    if h.role != "workstation":
        spns = [f"WSMAN/{s}", f"WSMAN/{f}", *spns]
    if h.is_dc:
        spns += [f"ldap/{f}/ForestDnsZones.{ent.domain}", f"ldap/{f}/DomainDnsZones.{ent.domain}", f"DNS/{f}",
                 f"GC/{f}/{ent.domain}", f"ldap/{f}/{ent.netbios}", f"ldap/{s}", f"ldap/{f}", f"ldap/{f}/{ent.domain}",
                 f"HOST/{s}/{ent.netbios}", f"HOST/{f}/{ent.netbios}", f"HOST/{f}/{ent.domain}"]
    return spns


def _session_result(results: list[dict], collected: bool = True) -> dict:
    return {"Results": results, "Collected": collected, "FailureReason": None}


def _local_group(oid: str, name: str, members: list[tuple[str, str]]) -> dict:
    return {"ObjectIdentifier": oid, "Name": name, "Results": [_ref(m) for m in members], "LocalNames": [],
            "Collected": True, "FailureReason": None}


def _computer(ent: Enterprise, acl: _Acl, h: Host) -> dict:
    p = _props_base(ent, h.fqdn, h.dn)
    p.update({
        "highvalue": False, "samaccountname": f"{h.short}$", "haslaps": h.role == "workstation",
        "description": None, "whencreated": h.whencreated, "enabled": h.enabled,
        "unconstraineddelegation": h.unconstrained, "trustedtoauth": False, "lastlogon": h.lastlogon,
        "lastlogontimestamp": h.lastlogon - (h.lastlogon % DAY), "pwdlastset": h.pwdlastset,
        "serviceprincipalnames": _host_spns(h, ent), "operatingsystem": h.os, "sidhistory": [],
    })
    sessions = [{"UserSID": u, "ComputerSID": h.sid} for u in h.sessions]
    if h.is_dc:
        b = ent.builtin
        local = [_local_group(b(544), "IGNOREME", [(ent.sid(500), "User"), (ent.sid(519), "Group"), (ent.sid(512), "Group")]),
                 _local_group(b(555), "IGNOREME", []), _local_group(b(562), "IGNOREME", []),
                 _local_group(b(580), "IGNOREME", [])]
        rights = [{"Privilege": "SeRemoteInteractiveLogonRight", "Results": [_ref((b(544), "Group"))],
                   "LocalNames": [], "Collected": True, "FailureReason": None}]
        registry = {"CertificateMappingMethods": {"Value": -1, "Collected": True, "FailureReason": None},
                    "StrongCertificateBindingEnforcement": {"Value": 1, "Collected": True, "FailureReason": None}}
        primary = ent.sid(516)
    else:
        f = h.fqdn
        local = [_local_group(f"{h.sid}-544", f"ADMINISTRATORS@{f}", h.admins),
                 _local_group(f"{h.sid}-555", f"REMOTE DESKTOP USERS@{f}", h.rdp),
                 _local_group(f"{h.sid}-562", f"DISTRIBUTED COM USERS@{f}", []),
                 _local_group(f"{h.sid}-580", f"REMOTE MANAGEMENT USERS@{f}", [])]
        # As on the real sample's member server: user rights are collected on DCs only
        # (on members they name machine-local groups, which the twin does not model).
        rights = []
        registry = {"CertificateMappingMethods": None, "StrongCertificateBindingEnforcement": None}
        primary = ent.sid(515)
    return {
        "Properties": p,
        "PrimaryGroupSID": primary,
        "AllowedToDelegate": [],
        "AllowedToAct": [_ref(r) for r in h.allowed_to_act],
        "HasSIDHistory": [],
        "DumpSMSAPassword": [],
        "Sessions": _session_result(sessions),
        "PrivilegedSessions": _session_result([]),
        "RegistrySessions": _session_result([]),
        "LocalGroups": local,
        "UserRights": rights,
        "DCRegistryData": registry,
        "Status": None,
        "Aces": acl.of(h.sid, acl.dc if h.is_dc else acl.computer),
        "ObjectIdentifier": h.sid,
        "IsDeleted": False,
        "IsACLProtected": False,
        "ContainedBy": _ref(h.parent),
    }


def _gpo_changes(affected: list[tuple[str, str]]) -> dict:
    return {"LocalAdmins": [], "RemoteDesktopUsers": [], "DcomUsers": [], "PSRemoteUsers": [],
            "AffectedComputers": [_ref(a) for a in affected]}


def _domain(ent: Enterprise, acl: _Acl) -> dict:
    p = _props_base(ent, ent.domain, ent.domain_dn)
    p.update({"highvalue": True, "description": None, "whencreated": ent.domain_created, "functionallevel": "2016"})
    return {
        "GPOChanges": _gpo_changes([(h.sid, "Computer") for h in ent.hosts]),
        "Properties": p,
        "ChildObjects": [_ref(c) for c in ent.domain_children],
        "Trusts": [],
        "Links": [{"IsEnforced": False, "GUID": g} for g in ent.domain_links],
        "Aces": acl.of(ent.domain_sid, acl.domain),
        "ObjectIdentifier": ent.domain_sid,
        "IsDeleted": False,
        "IsACLProtected": False,
        "ContainedBy": None,
    }


def _ou(ent: Enterprise, acl: _Acl, c: Container) -> dict:
    p = _props_base(ent, f"{c.name}@{ent.domain}", c.dn)
    p.update({"highvalue": False, "description": c.description, "whencreated": c.whencreated, "blocksinheritance": False})
    return {
        "GPOChanges": _gpo_changes(c.affected_computers),
        "Properties": p,
        "Links": [{"IsEnforced": False, "GUID": g} for g in c.links],
        "ChildObjects": [_ref(x) for x in c.children],
        "Aces": acl.of(c.guid, acl.ou),
        "ObjectIdentifier": c.guid,
        "IsDeleted": False,
        "IsACLProtected": False,
        "ContainedBy": _ref(c.parent),
    }


def _container(ent: Enterprise, acl: _Acl, c: Container) -> dict:
    p = _props_base(ent, f"{c.name}@{ent.domain}", c.dn)
    p["highvalue"] = False
    return {"Properties": p, "ChildObjects": [_ref(x) for x in c.children], "Aces": acl.of(c.guid, acl.container),
            "ObjectIdentifier": c.guid, "IsDeleted": False, "IsACLProtected": False, "ContainedBy": _ref(c.parent)}


def _gpos(ent: Enterprise, acl: _Acl) -> Iterable[dict]:
    for g in ent.gpos:
        p = _props_base(ent, g.name, g.dn)
        p.update({"highvalue": False, "description": None, "whencreated": g.whencreated, "gpcpath": g.gpcpath})
        yield {"Properties": p, "Aces": acl.of(g.guid, acl.gpo), "ObjectIdentifier": g.guid, "IsDeleted": False,
               "IsACLProtected": True, "ContainedBy": None}


def _templates(ent: Enterprise, acl: _Acl) -> Iterable[dict]:
    da, ea = ent.sid(512), ent.sid(519)
    base = [_ace(ea, "Group", "Owns", False), _ace(da, "Group", "WriteDacl", False),
            _ace(da, "Group", "WriteOwner", False), _ace(ea, "Group", "WriteDacl", False),
            _ace(ea, "Group", "WriteOwner", False)]
    templates_dn = next(c for c in ent.containers if c.dn.startswith("CN=CERTIFICATE TEMPLATES,"))
    for t in ent.pki.templates:
        p = _props_base(ent, f"{t.name}@{ent.domain}", t.dn)
        p.update({
            "description": None, "whencreated": t.whencreated, "validityperiod": "1 year",
            "renewalperiod": "6 weeks", "schemaversion": t.schemaversion, "displayname": t.displayname,
            "oid": t.oid, "enrollmentflag": t.enrollmentflag, "requiresmanagerapproval": t.requires_manager_approval,
            "nosecurityextension": False, "certificatenameflag": t.certificatenameflag,
            "enrolleesuppliessubject": t.enrollee_supplies_subject,
            "subjectaltrequireupn": "SUBJECT_ALT_REQUIRE_UPN" in t.certificatenameflag,
            "ekus": t.ekus, "certificateapplicationpolicy": t.ekus if t.schemaversion > 1 else [],
            "authorizedsignatures": t.authorized_signatures, "applicationpolicies": [], "issuancepolicies": [],
            "effectiveekus": t.ekus, "authenticationenabled": t.authentication_enabled,
        })
        aces = base + [_ace(sid, typ, "Enroll", False) for sid, typ in t.enrollees]
        yield {"Properties": p, "Aces": acl.of(t.guid, aces), "ObjectIdentifier": t.guid, "IsDeleted": False,
               "IsACLProtected": True, "ContainedBy": _ref((templates_dn.guid, "Container"))}


def _pki_parent(ent: Enterprise, prefix: str) -> dict:
    c = next(c for c in ent.containers if c.dn.startswith(prefix))
    return _ref((c.guid, "Container"))


def _cert_props(ent: Enterprise, name: str, dn: str) -> dict:
    p = _props_base(ent, name, dn)
    p.update({"description": None, "whencreated": ent.pki.whencreated})
    return p


def _enterprise_ca(ent: Enterprise, acl: _Acl) -> dict:
    pki, g = ent.pki, "Group"
    adm, da, ea = ent.builtin(544), ent.sid(512), ent.sid(519)
    p = _cert_props(ent, f"{pki.ca_name}@{ent.domain}".upper(), pki.ca_dn)
    p.update({"flags": "SUPPORTS_NT_AUTHENTICATION, CA_SERVERTYPE_ADVANCED", "caname": pki.ca_name,
              "dnshostname": pki.host_fqdn, "certthumbprint": pki.thumbprint, "certname": pki.thumbprint,
              "certchain": [pki.thumbprint], "hasbasicconstraints": False, "basicconstraintpathlength": 0,
              "casecuritycollected": True, "enrollmentagentrestrictionscollected": True,
              "isuserspecifiessanenabledcollected": True})
    auth_users = f"{ent.domain}-S-1-5-11"
    security = [_ace(adm, g, "Owns", False), _ace(adm, g, "ManageCA", False), _ace(adm, g, "ManageCertificates", False),
                _ace(da, g, "ManageCA", False), _ace(da, g, "ManageCertificates", False), _ace(ea, g, "ManageCA", False),
                _ace(ea, g, "ManageCertificates", False), _ace(auth_users, g, "Enroll", False)]
    aces = [_ace(ea, g, "Owns", False), _ace(ea, g, "WriteDacl", False), _ace(ea, g, "WriteOwner", False),
            _ace(ea, g, "ManageCA", False), _ace(ea, g, "ManageCertificates", False),
            _ace(pki.host_sid, "Computer", "WriteDacl", False), _ace(pki.host_sid, "Computer", "WriteOwner", False),
            _ace(pki.host_sid, "Computer", "ManageCA", False), _ace(pki.host_sid, "Computer", "ManageCertificates", False),
            _ace(auth_users, g, "Enroll", False), _ace(ea, g, "GenericAll", True), _ace(da, g, "WriteDacl", True),
            _ace(da, g, "WriteOwner", True), _ace(da, g, "ManageCA", True)]
    return {
        "Properties": p,
        "HostingComputer": pki.host_sid,
        "CARegistryData": {
            "CASecurity": {"Data": security, "Collected": True, "FailureReason": None},
            "EnrollmentAgentRestrictions": {"Restrictions": [], "Collected": True, "FailureReason": None},
            "IsUserSpecifiesSanEnabled": {"Value": False, "Collected": True, "FailureReason": None},
        },
        "EnabledCertTemplates": [_ref((t.guid, "CertTemplate")) for t in pki.templates],
        "Aces": acl.of(pki.ca_guid, aces),
        "ObjectIdentifier": pki.ca_guid,
        "IsDeleted": False,
        "IsACLProtected": False,
        "ContainedBy": _pki_parent(ent, "CN=ENROLLMENT SERVICES,"),
    }


def _chain_props(ent: Enterprise) -> dict:
    t = ent.pki.thumbprint
    return {"certthumbprint": t, "certname": t, "certchain": [t], "hasbasicconstraints": False,
            "basicconstraintpathlength": 0}


def _root_ca(ent: Enterprise, acl: _Acl) -> dict:
    pki = ent.pki
    dn = f"CN={pki.ca_name},CN=CERTIFICATION AUTHORITIES,CN=PUBLIC KEY SERVICES,CN=SERVICES,CN=CONFIGURATION,{ent.domain_dn}".upper()
    p = _cert_props(ent, f"{pki.ca_name}@{ent.domain}".upper(), dn)
    p.update(_chain_props(ent))
    return {"Properties": p, "DomainSID": ent.domain_sid, "Aces": acl.of(pki.root_guid, acl.pki),
            "ObjectIdentifier": pki.root_guid, "IsDeleted": False, "IsACLProtected": False,
            "ContainedBy": _pki_parent(ent, "CN=CERTIFICATION AUTHORITIES,")}


def _aia_ca(ent: Enterprise, acl: _Acl) -> dict:
    pki = ent.pki
    dn = f"CN={pki.ca_name},CN=AIA,CN=PUBLIC KEY SERVICES,CN=SERVICES,CN=CONFIGURATION,{ent.domain_dn}".upper()
    p = _cert_props(ent, f"{pki.ca_name}@{ent.domain}".upper(), dn)
    p.update({"crosscertificatepair": [], "hascrosscertificatepair": False, **_chain_props(ent)})
    aces = acl.pki + [_ace(pki.host_sid, "Computer", "GenericAll", False)]
    return {"Properties": p, "Aces": acl.of(pki.aia_guid, aces), "ObjectIdentifier": pki.aia_guid,
            "IsDeleted": False, "IsACLProtected": False, "ContainedBy": _pki_parent(ent, "CN=AIA,")}


def _ntauth(ent: Enterprise, acl: _Acl) -> dict:
    pki = ent.pki
    dn = f"CN=NTAUTHCERTIFICATES,CN=PUBLIC KEY SERVICES,CN=SERVICES,CN=CONFIGURATION,{ent.domain_dn}".upper()
    p = _props_base(ent, f"NTAUTHCERTIFICATES@{ent.domain}", dn)
    p.update({"certthumbprints": [pki.thumbprint], "description": None, "whencreated": pki.whencreated})
    return {"Properties": p, "DomainSID": ent.domain_sid, "Aces": acl.of(pki.ntauth_guid, acl.pki),
            "ObjectIdentifier": pki.ntauth_guid, "IsDeleted": False, "IsACLProtected": False,
            "ContainedBy": _pki_parent(ent, "CN=PUBLIC KEY SERVICES,")}


def _stream(path: Path, kind: str, count: int, objects: Iterable[dict]) -> int:
    """`{"data":[...],"meta":{...}}` written in chunks, never held whole."""
    written = 0
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write('{"data":[')
        buf: list[str] = []
        for obj in objects:
            buf.append(_dumps(obj))
            written += 1
            if len(buf) >= CHUNK:
                fh.write(("," if written > len(buf) else "") + ",".join(buf))
                buf.clear()
        if buf:
            fh.write(("," if written > len(buf) else "") + ",".join(buf))
        fh.write('],"meta":' + _dumps({"methods": METHODS, "type": kind, "count": count, "version": 6}) + "}")
    if written != count:
        raise AssertionError(f"{path.name}: meta.count {count} != {written} objects written")
    return written


def write_sharphound(ent: Enterprise, out_dir: Path) -> dict[str, int]:
    """One file per object type, as SharpHound names them; returns records per file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    acl = _Acl(ent)
    ous = [c for c in ent.containers if c.kind == "OU"]
    containers = [c for c in ent.containers if c.kind == "Container"]
    plan: list[tuple[str, int, Callable[[], Iterable[dict]]]] = [
        ("users", len(ent.users), lambda: (_user(ent, acl, u) for u in ent.users)),
        ("groups", len(ent.groups), lambda: (_group(ent, acl, g) for g in ent.groups)),
        ("computers", len(ent.hosts), lambda: (_computer(ent, acl, h) for h in ent.hosts)),
        ("domains", 1, lambda: iter([_domain(ent, acl)])),
        ("ous", len(ous), lambda: (_ou(ent, acl, c) for c in ous)),
        ("containers", len(containers), lambda: (_container(ent, acl, c) for c in containers)),
        ("gpos", len(ent.gpos), lambda: _gpos(ent, acl)),
        ("certtemplates", len(ent.pki.templates), lambda: _templates(ent, acl)),
        ("enterprisecas", 1, lambda: iter([_enterprise_ca(ent, acl)])),
        ("rootcas", 1, lambda: iter([_root_ca(ent, acl)])),
        ("aiacas", 1, lambda: iter([_aia_ca(ent, acl)])),
        ("ntauthstores", 1, lambda: iter([_ntauth(ent, acl)])),
    ]
    return {f"{kind}.json": _stream(out_dir / f"{kind}.json", kind, count, make()) for kind, count, make in plan}
