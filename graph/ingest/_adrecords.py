"""SharpHound records read one by one: an AD object's properties and the edges its record
states, checked field by field (a record that does not read is rejected whole, with the path
at fault), and its key and tier 0 as graph/MODEL.md's "Active Directory" sets them.

Not a connector (the leading underscore keeps the registry from looking for one): the file,
the run and the twin are graph/ingest/sharphound.py's.
"""

from __future__ import annotations

import json
import re
from functools import cache

from graph.identity import host_key, short_hostname

KINDS: dict[str, str] = {
    "users": "User",
    "groups": "Group",
    "computers": "Computer",
    "domains": "Domain",
    "ous": "OU",
    "gpos": "GPO",
    "containers": "Container",
    "certtemplates": "CertTemplate",
    "enterprisecas": "EnterpriseCA",
    "rootcas": "RootCA",
    "aiacas": "AIACA",
    "ntauthstores": "NTAuthStore",
    "issuancepolicies": "IssuancePolicy",
}
LABELS = frozenset(KINDS.values())
NAME_KEYED = frozenset({"User", "Group", "Computer", "Domain"})
BASE = "Base"

# Kinds as BloodHound names them in references (ObjectType / PrincipalType), lower-cased.
_REF_LABELS = {label.lower(): label for label in LABELS}

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED_PROPS = frozenset(
    {"key", "source", "sources", "firstseen", "lastseen", "placeholder", "tier0", "objectid"}
)
_LOCAL_GROUP_EDGES = {"544": "AdminTo", "555": "CanRDP", "580": "CanPSRemote", "562": "ExecuteDCOM"}
_LEGACY_LOCAL_BLOCKS = {
    "LocalAdmins": "AdminTo",
    "RemoteDesktopUsers": "CanRDP",
    "PSRemoteUsers": "CanPSRemote",
    "DcomUsers": "ExecuteDCOM",
}
_USER_RIGHT_EDGES = {"SeRemoteInteractiveLogonRight": "RemoteInteractiveLogonRight"}
_TIER0_DOMAIN_RIDS = ("-512", "-516", "-518", "-519")
_TIER0_WELL_KNOWN = ("S-1-5-32-544", "S-1-5-9")
_TRUST_DIRECTIONS = {0: "Disabled", 1: "Inbound", 2: "Outbound", 3: "Bidirectional"}
_TRUST_TYPES = {0: "ParentChild", 1: "CrossLink", 2: "Forest", 3: "External", 4: "Unknown"}
_INT64 = (-(2**63), 2**63 - 1)
# Keys and these properties are indexed, and Neo4j refuses index entries over ~8 KB, which
# would sink a whole batch: longer values reject their record instead (4 bytes a character).
MAX_INDEXED = 1024
_INDEXED_PROPS = ("name", "distinguishedname", "domain", "samaccountname", "shortname", "ip")


class Invalid(ValueError):
    """A record that cannot be read as its kind: rejected whole, with the path at fault."""



# --------------------------------------------------------------------------- values


def fix_surrogates(value):
    """JSON may carry lone UTF-16 surrogates (`\\ud800`) that no UTF-8 driver can send."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [fix_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {fix_surrogates(k): fix_surrogates(v) for k, v in value.items()}
    return value


def _scalar(v):
    if type(v) is int and not (_INT64[0] <= v <= _INT64[1]):
        return str(v)
    return v


def _prop_value(v):
    """Neo4j stores 64-bit integers; larger ones keep their digits as text. Nested values are
    left for the loader, which JSON-encodes them."""
    if isinstance(v, list):
        return [_scalar(x) for x in v]
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True, default=str)
    return _scalar(v)


@cache
def _prop_name_ok(name: str) -> bool:
    return bool(_IDENT.match(name)) and name.lower() not in _RESERVED_PROPS


def _norm_id(value: str) -> str:
    return value.strip().upper()


# --------------------------------------------------------------------------- record readers


def typename(v) -> str:
    return "null" if v is None else type(v).__name__.replace("str", "string").replace("dict", "object")


_WANT = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}


def _opt(rec: dict, name: str, kind: type, path: str):
    """The field if absent, null or of the type; a wrong type rejects the record."""
    v = rec.get(name)
    if v is not None and not isinstance(v, kind):
        raise Invalid(f"{path}{name} must be {_WANT[kind]}, not {typename(v)}")
    return v


def _sid(v, path: str) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str):
        raise Invalid(f"{path} must be a string, not {typename(v)}")
    if len(v) > MAX_INDEXED:
        raise Invalid(f"{path} is {len(v)} characters long, too long for an identifier")
    v = _norm_id(v)
    return v or None


def _principals(value, path: str) -> list[tuple[str, str | None]]:
    """A list of TypedPrincipal `{ObjectIdentifier, ObjectType}`; in APIResult form
    `{"Results": [...]}` too. Entries with a null identifier are CE's 'nothing here'."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = value.get("Results")
        path += ".Results"
        if value is None:
            return []
    if not isinstance(value, list):
        raise Invalid(f"{path} must be a list, not {typename(value)}")
    out = []
    for j, item in enumerate(value):
        if isinstance(item, str):  # v3 and hand-made lists of bare SIDs
            oid = _sid(item, f"{path}[{j}]")
            if oid:
                out.append((oid, None))
            continue
        found = _principal(item, f"{path}[{j}]")
        if found:
            out.append(found)
    return out


def _principal(item, path: str) -> tuple[str, str | None] | None:
    """A TypedPrincipal (v3's MemberId / MemberType too); None when it names nothing."""
    if item is None:
        return None
    if not isinstance(item, dict):
        raise Invalid(f"{path} must be an object, not {typename(item)}")
    oid = _sid(item.get("ObjectIdentifier", item.get("MemberId")), f"{path}.ObjectIdentifier")
    otype = item.get("ObjectType", item.get("MemberType"))
    if otype is not None and not isinstance(otype, str):
        raise Invalid(f"{path}.ObjectType must be a string, not {typename(otype)}")
    return (oid, otype) if oid else None


def _api_list(value, key: str, path: str) -> tuple[list, bool]:
    """`{"Results"/"Data": [...], "Collected": bool}` (SharpHound 4+) or a bare list (v3)."""
    if value is None:
        return [], False
    if isinstance(value, list):
        return value, True
    if not isinstance(value, dict):
        raise Invalid(f"{path} must be an object or a list, not {typename(value)}")
    items = value.get(key)
    if items is None:
        items = []
    if not isinstance(items, list):
        raise Invalid(f"{path}.{key} must be a list, not {typename(items)}")
    collected = value.get("Collected", True)
    return items, collected is not False


def label_of(object_type: str | None) -> str | None:
    return _REF_LABELS.get(object_type.lower()) if object_type else None



# Edge properties are shared, never mutated: a million ACEs need two dicts, not a million.
_PLAIN = {"isacl": False}
ACE_INHERITED = {"isacl": True, "isinherited": True}
ACE_EXPLICIT = {"isacl": True, "isinherited": False}
_PRIMARY = {"isacl": False, "isprimarygroup": True}
_MEMBER = {"isacl": False, "isprimarygroup": False}
_RIGHT_OK: dict[str, bool] = {}


class Record:
    """One record's contribution, committed to the file only if the whole record reads."""

    __slots__ = ("oid", "rels", "refs", "skipped", "weak_nodes")

    def __init__(self, oid: str):
        self.oid = oid
        self.rels: list[tuple[str, str, str, dict]] = []
        self.refs: list[tuple[str, str | None, str | None]] = []
        self.skipped: list[tuple[str, str]] = []  # (path, reason): reported, record still loads
        self.weak_nodes: list[tuple[str, str, dict]] = []  # (objectid, label, props)

    def edge(self, rel_type: str, src: str, dst: str, props: dict = _PLAIN) -> None:
        self.rels.append((rel_type, src, dst, props))

    def ref(self, oid: str, object_type: str | None, name: str | None = None) -> None:
        self.refs.append((oid, object_type, name))


def _aces(r: Record, aces, path: str, keep=None) -> None:
    """The hot loop of a collection (a million ACEs): checks inlined, nothing allocated for
    an ACE beyond its two tuples."""
    if aces is None:
        return
    if not isinstance(aces, list):
        raise Invalid(f"{path} must be a list, not {typename(aces)}")
    target = r.oid
    rels = r.rels
    refs = r.refs
    for j, ace in enumerate(aces):
        if not isinstance(ace, dict):
            raise Invalid(f"{path}[{j}] must be an object, not {typename(ace)}")
        principal = ace.get("PrincipalSID")
        right = ace.get("RightName")
        ptype = ace.get("PrincipalType")
        inherited = ace.get("IsInherited", False)
        if type(principal) is not str or len(principal) > MAX_INDEXED:
            if principal is None:
                continue
            principal = _sid(principal, f"{path}[{j}].PrincipalSID")
        if not isinstance(right, str):
            raise Invalid(f"{path}[{j}].RightName must be a string, not {typename(right)}")
        if ptype is not None and not isinstance(ptype, str):
            raise Invalid(f"{path}[{j}].PrincipalType must be a string, not {typename(ptype)}")
        if inherited is not True and inherited is not False and inherited is not None:
            raise Invalid(f"{path}[{j}].IsInherited must be true/false, not {typename(inherited)}")
        principal = principal.strip().upper()
        if not principal or principal == target:
            continue
        ok = _RIGHT_OK.get(right)
        if ok is None:
            ok = bool(_IDENT.match(right))
            if len(_RIGHT_OK) < 10_000:  # the real vocabulary is a few dozen names
                _RIGHT_OK[right] = ok
        if not ok:
            r.skipped.append((f"{path}[{j}]", f"RightName {right!r} is not an edge name; ACE skipped"))
            continue
        if keep is not None and not keep(principal, ptype, right):
            continue
        rels.append((right, principal, target, ACE_INHERITED if inherited else ACE_EXPLICIT))
        refs.append((principal, ptype, None))


def _typed_edges(r: Record, rec: dict, name: str, rel_type: str, outbound: bool) -> None:
    for oid, otype in _principals(rec.get(name), name):
        if outbound:
            r.edge(rel_type, r.oid, oid)
        else:
            r.edge(rel_type, oid, r.oid)
        r.ref(oid, otype)


def _gpo_changes(r: Record, rec: dict) -> None:
    changes = _opt(rec, "GPOChanges", dict, "")
    if not changes:
        return
    computers = _principals(changes.get("AffectedComputers"), "GPOChanges.AffectedComputers")
    for block, rel_type in _LEGACY_LOCAL_BLOCKS.items():
        members = _principals(changes.get(block), f"GPOChanges.{block}")
        for m_oid, m_type in members:
            r.ref(m_oid, m_type)
            for c_oid, c_type in computers:
                r.edge(rel_type, m_oid, c_oid)
                r.ref(c_oid, c_type or "Computer")


def _links(r: Record, rec: dict) -> None:
    links = _opt(rec, "Links", list, "")
    for j, link in enumerate(links or ()):
        if not isinstance(link, dict):
            raise Invalid(f"Links[{j}] must be an object, not {typename(link)}")
        gpo = _sid(link.get("GUID", link.get("Guid")), f"Links[{j}].GUID")
        enforced = link.get("IsEnforced") or False
        if not isinstance(enforced, bool):
            raise Invalid(f"Links[{j}].IsEnforced must be true/false, not {typename(enforced)}")
        if gpo:
            r.edge("GPLink", gpo, r.oid, {"isacl": False, "enforced": enforced})
            r.ref(gpo, "GPO")


def _sessions(r: Record, rec: dict) -> None:
    for block in ("Sessions", "PrivilegedSessions", "RegistrySessions"):
        items, collected = _api_list(rec.get(block), "Results", block)
        if not collected:
            continue
        for j, s in enumerate(items):
            p = f"{block}.Results[{j}]"
            if not isinstance(s, dict):
                raise Invalid(f"{p} must be an object, not {typename(s)}")
            user = _sid(s.get("UserSID", s.get("UserId")), f"{p}.UserSID")
            computer = _sid(s.get("ComputerSID", s.get("ComputerId")), f"{p}.ComputerSID") or r.oid
            if user:
                r.edge("HasSession", computer, user)
                r.ref(user, "User")
                if computer != r.oid:
                    r.ref(computer, "Computer")


def _local_groups(r: Record, rec: dict) -> None:
    groups = _opt(rec, "LocalGroups", list, "")
    for j, group in enumerate(groups or ()):
        p = f"LocalGroups[{j}]"
        if not isinstance(group, dict):
            raise Invalid(f"{p} must be an object, not {typename(group)}")
        gid = _sid(group.get("ObjectIdentifier"), f"{p}.ObjectIdentifier") or ""
        names: dict[str, str] = {}
        local_names = group.get("LocalNames")
        if local_names is not None and not isinstance(local_names, list):
            raise Invalid(f"{p}.LocalNames must be a list, not {typename(local_names)}")
        for k, ln in enumerate(local_names or ()):
            if not isinstance(ln, dict):
                raise Invalid(f"{p}.LocalNames[{k}] must be an object, not {typename(ln)}")
            lid = _sid(ln.get("ObjectIdentifier"), f"{p}.LocalNames[{k}].ObjectIdentifier")
            lname = ln.get("PrincipalName")
            if lid and isinstance(lname, str) and len(lname) <= MAX_INDEXED:
                names[lid] = lname
        members = _principals(group.get("Results"), f"{p}.Results")
        rel_type = _LOCAL_GROUP_EDGES.get(gid.rsplit("-", 1)[-1])
        for m_oid, m_type in members:
            r.ref(m_oid, m_type, names.get(m_oid))
            if rel_type:
                r.edge(rel_type, m_oid, r.oid)
    for block, rel_type in _LEGACY_LOCAL_BLOCKS.items():
        for m_oid, m_type in _principals(rec.get(block), block):
            r.edge(rel_type, m_oid, r.oid)
            r.ref(m_oid, m_type)


def _user_rights(r: Record, rec: dict) -> None:
    rights = _opt(rec, "UserRights", list, "")
    for j, right in enumerate(rights or ()):
        p = f"UserRights[{j}]"
        if not isinstance(right, dict):
            raise Invalid(f"{p} must be an object, not {typename(right)}")
        privilege = right.get("Privilege")
        rel_type = _USER_RIGHT_EDGES.get(privilege) if isinstance(privilege, str) else None
        members = _principals(right.get("Results"), f"{p}.Results")
        if rel_type:
            for m_oid, m_type in members:
                r.edge(rel_type, m_oid, r.oid)
                r.ref(m_oid, m_type)


def _trusts(r: Record, rec: dict) -> None:
    trusts = _opt(rec, "Trusts", list, "")
    for j, t in enumerate(trusts or ()):
        p = f"Trusts[{j}]"
        if not isinstance(t, dict):
            raise Invalid(f"{p} must be an object, not {typename(t)}")
        target = _sid(t.get("TargetDomainSid"), f"{p}.TargetDomainSid")
        tname = t.get("TargetDomainName")
        if tname is not None and not isinstance(tname, str):
            raise Invalid(f"{p}.TargetDomainName must be a string, not {typename(tname)}")
        direction = t.get("TrustDirection")
        ttype = t.get("TrustType")
        direction = _TRUST_DIRECTIONS.get(direction, direction) if isinstance(direction, int) else direction
        ttype = _TRUST_TYPES.get(ttype, ttype) if isinstance(ttype, int) else ttype
        if not target:
            continue
        props = {
            "isacl": False,
            "trusttype": ttype if isinstance(ttype, str) else None,
            "transitive": t.get("IsTransitive") if isinstance(t.get("IsTransitive"), bool) else None,
            "sidfiltering": t.get("SidFilteringEnabled")
            if isinstance(t.get("SidFilteringEnabled"), bool)
            else None,
        }
        if direction in ("Inbound", "Bidirectional"):
            r.edge("TrustedBy", target, r.oid, dict(props))
        if direction in ("Outbound", "Bidirectional"):
            r.edge("TrustedBy", r.oid, target, dict(props))
        if tname and tname.strip() and len(tname) <= MAX_INDEXED:
            # Known by name: a real, if thinly described, domain rather than a placeholder.
            name = tname.strip().upper()
            r.weak_nodes.append((target, "Domain", {"name": name, "domain": name, "objectid": target}))
        r.ref(target, "Domain")


def _enterprise_ca(r: Record, rec: dict, props: dict) -> None:
    templates = _principals(rec.get("EnabledCertTemplates"), "EnabledCertTemplates")
    for t_oid, _t in templates:
        r.edge("PublishedTo", t_oid, r.oid)
        r.ref(t_oid, "CertTemplate")
    host = _sid(_opt(rec, "HostingComputer", str, ""), "HostingComputer")
    if host:
        r.edge("HostsCAService", host, r.oid)
        r.ref(host, "Computer")
    registry = _opt(rec, "CARegistryData", dict, "") or {}
    security, sec_collected = _api_list(registry.get("CASecurity"), "Data", "CARegistryData.CASecurity")
    restrictions, res_collected = _api_list(
        registry.get("EnrollmentAgentRestrictions"),
        "Restrictions",
        "CARegistryData.EnrollmentAgentRestrictions",
    )
    if registry.get("EnrollmentAgentRestrictions") is not None and res_collected:
        props["hasenrollmentagentrestrictions"] = bool(restrictions)
    for flag, prop in (
        ("IsUserSpecifiesSanEnabled", "isuserspecifiessanenabled"),
        ("RoleSeparationEnabled", "roleseparationenabled"),
    ):
        block = registry.get(flag)
        if isinstance(block, dict) and block.get("Collected") and isinstance(block.get("Value"), bool):
            props[prop] = block["Value"]
    for j, res in enumerate(restrictions):
        p = f"CARegistryData.EnrollmentAgentRestrictions.Restrictions[{j}]"
        if not isinstance(res, dict):
            raise Invalid(f"{p} must be an object, not {typename(res)}")
        if res.get("AccessType") != "AccessAllowedCallback":
            continue
        agent = _principal(res.get("Agent"), f"{p}.Agent")
        if res.get("AllTemplates") is True:
            targets = [t for t, _ in templates]
        else:
            tmpl = _principal(res.get("Template"), f"{p}.Template")
            targets = [tmpl[0]] if tmpl else []
        if agent:
            r.ref(agent[0], agent[1])
            for t_oid in targets:
                r.edge("DelegatedEnrollmentAgent", agent[0], t_oid)
                r.ref(t_oid, "CertTemplate")
    aces = _opt(rec, "Aces", list, "")
    if registry.get("CASecurity") is not None and sec_collected:
        ca_rights = {"ManageCA", "ManageCertificates", "Enroll"}
        _aces(r, security, "CARegistryData.CASecurity.Data",
              keep=lambda sid, ptype, right: ptype != "LocalGroup" and right != "Owns")
        _aces(r, aces, "Aces", keep=lambda sid, ptype, right: sid == host or right not in ca_rights)
    else:
        _aces(r, aces, "Aces")


def read_record(rec, label: str) -> tuple[Record, dict]:
    if not isinstance(rec, dict):
        raise Invalid(f"a record must be an object, not {typename(rec)}")
    raw_oid = rec.get("ObjectIdentifier")
    if raw_oid is None:
        raise Invalid("ObjectIdentifier is missing")
    oid = _sid(raw_oid, "ObjectIdentifier")
    if not oid:
        raise Invalid("ObjectIdentifier is empty")
    raw_props = _opt(rec, "Properties", dict, "") or {}
    for name in ("name", "distinguishedname", "domain", "domainsid", "samaccountname",
                 "userprincipalname"):
        _opt(raw_props, name, str, "Properties.")
    for name in ("highvalue", "isTierZero", "istierzero", "unconstraineddelegation", "isdc"):
        _opt(raw_props, name, bool, "Properties.")
    for name in _INDEXED_PROPS:
        v = raw_props.get(name)
        if isinstance(v, (list, dict)) or (isinstance(v, str) and len(v) > MAX_INDEXED):
            raise Invalid(f"Properties.{name} is indexed and must be a short value (at most {MAX_INDEXED} characters)")
    for name in ("IsDeleted", "IsACLProtected", "IsDC", "UnconstrainedDelegation"):
        _opt(rec, name, bool, "")

    props = {k: _prop_value(v) for k, v in raw_props.items() if v is not None and _prop_name_ok(k)}
    props["objectid"] = oid
    if isinstance(rec.get("IsDeleted"), bool):
        props["isdeleted"] = rec["IsDeleted"]
    if isinstance(rec.get("IsACLProtected"), bool):
        props["isaclprotected"] = rec["IsACLProtected"]

    r = Record(oid)
    contained = _principal(rec.get("ContainedBy"), "ContainedBy")
    if contained:
        r.edge("Contains", contained[0], oid)
        r.ref(contained[0], contained[1])
    if label != "EnterpriseCA":
        _aces(r, _opt(rec, "Aces", list, ""), "Aces")

    if label in ("User", "Computer"):
        primary = _sid(_opt(rec, "PrimaryGroupSID", str, ""), "PrimaryGroupSID")
        if primary:
            r.edge("MemberOf", oid, primary, _PRIMARY)
            r.ref(primary, "Group")
        _typed_edges(r, rec, "AllowedToDelegate", "AllowedToDelegate", outbound=True)
        _typed_edges(r, rec, "HasSIDHistory", "HasSIDHistory", outbound=True)
        is_dc = (
            rec.get("IsDC") is True
            or raw_props.get("isdc") is True
            or (label == "Computer" and bool(primary) and primary.endswith("-516"))
        )
        domainsid = _sid(_opt(rec, "DomainSID", str, ""), "DomainSID") or (
            _norm_id(raw_props["domainsid"]) if raw_props.get("domainsid") else None
        )
        if is_dc:
            props["isdc"] = True
            if domainsid:
                r.edge("DCFor", oid, domainsid)
                r.ref(domainsid, "Domain")
        elif domainsid and (
            raw_props.get("unconstraineddelegation") is True
            or rec.get("UnconstrainedDelegation") is True
        ):
            r.edge("CoerceToTGT", oid, domainsid)
            r.ref(domainsid, "Domain")
    if label == "User":
        spns = _opt(rec, "SPNTargets", list, "")
        for j, spn in enumerate(spns or ()):
            if not isinstance(spn, dict):
                raise Invalid(f"SPNTargets[{j}] must be an object, not {typename(spn)}")
            target = _sid(spn.get("ComputerSID"), f"SPNTargets[{j}].ComputerSID")
            service = spn.get("Service")
            port = spn.get("Port")
            if target and isinstance(service, str) and _IDENT.match(service):
                r.edge(service, oid, target, {"isacl": True, "port": _scalar(port) if isinstance(port, int) else None})
                r.ref(target, "Computer")
    elif label == "Computer":
        _typed_edges(r, rec, "AllowedToAct", "AllowedToAct", outbound=False)
        _typed_edges(r, rec, "DumpSMSAPassword", "DumpSMSAPassword", outbound=True)
        _sessions(r, rec)
        _local_groups(r, rec)
        _user_rights(r, rec)
        registry = rec.get("DCRegistryData")
        if isinstance(registry, dict):
            for block, prop in (
                ("CertificateMappingMethods", "certificatemappingmethodsraw"),
                ("StrongCertificateBindingEnforcement", "strongcertificatebindingenforcementraw"),
            ):
                value = registry.get(block)
                if isinstance(value, dict) and value.get("Collected") and type(value.get("Value")) is int:
                    props[prop] = _scalar(value["Value"])
    elif label == "Group":
        for m_oid, m_type in _principals(rec.get("Members"), "Members"):
            r.edge("MemberOf", m_oid, oid, _MEMBER)
            r.ref(m_oid, m_type)
        _typed_edges(r, rec, "HasSIDHistory", "HasSIDHistory", outbound=True)
    elif label in ("Domain", "OU", "Container"):
        _typed_edges(r, rec, "ChildObjects", "Contains", outbound=True)
        if label != "Container":
            _links(r, rec)
            _gpo_changes(r, rec)
        if label == "Domain":
            _trusts(r, rec)
    elif label == "EnterpriseCA":
        _enterprise_ca(r, rec, props)
    elif label in ("RootCA", "NTAuthStore"):
        domainsid = _sid(_opt(rec, "DomainSID", str, ""), "DomainSID")
        if domainsid:
            r.edge("RootCAFor" if label == "RootCA" else "NTAuthStoreFor", oid, domainsid)
            r.ref(domainsid, "Domain")
    elif label == "IssuancePolicy":
        link = _principal(rec.get("GroupLink"), "GroupLink")
        if link:
            r.edge("OIDGroupLink", oid, link[0])
            r.ref(link[0], link[1] or "Group")
    return r, props



# --------------------------------------------------------------------------- keys, tier 0


def wanted_key(label: str, props: dict) -> str | None:
    if label in NAME_KEYED:
        name = props.get("name")
        if isinstance(name, str) and name.strip():
            return host_key(name) if label == "Computer" else name.strip().upper()
        return None
    dn = props.get("distinguishedname")
    return dn.strip().upper() if isinstance(dn, str) and dn.strip() else None


def is_tier0(label: str, oid: str, props: dict) -> bool:
    if label == "Domain" or props.get("isdc") is True:
        return True
    if props.get("highvalue") is True or props.get("istierzero") is True or props.get("isTierZero") is True:
        return True
    tags = props.get("system_tags")
    if isinstance(tags, str) and "admin_tier_0" in tags:
        return True
    if label == "Group" or label == BASE:
        if "S-1-5-21-" in oid and oid.endswith(_TIER0_DOMAIN_RIDS):
            return True
        if any(oid == w or oid.endswith("-" + w) for w in _TIER0_WELL_KNOWN):
            return True
    return False


def domain_of(label: str, oid: str, props: dict) -> str | None:
    dom = props.get("domain")
    if isinstance(dom, str) and dom.strip():
        return dom.strip().upper()
    name = props.get("name")
    if isinstance(name, str) and name:
        if label == "Domain":
            return name.strip().upper()
        if "@" in name:
            return name.rsplit("@", 1)[1].strip().upper() or None
        if label == "Computer" and "." in name:
            return name.strip().rstrip(".").split(".", 1)[1].upper()
    m = re.match(r"^(.+\..+)-S-1-\d", oid)  # well-known SIDs: ESC1.LOCAL-S-1-5-11
    return m.group(1) if m else None


def finish_props(label: str, oid: str, props: dict) -> dict:
    dom = domain_of(label, oid, props)
    if dom:
        props["domain"] = dom
    name = props.get("name")
    aliases = set()
    if isinstance(name, str) and name.strip():
        aliases.add(name.strip().lower())
    sam = props.get("samaccountname")
    if isinstance(sam, str) and sam.strip():
        aliases.add(sam.strip().lower())
        if dom and label in ("User", "Group"):
            aliases.add(f"{sam.strip()}@{dom}".lower())
    upn = props.get("userprincipalname")
    if isinstance(upn, str) and upn.strip():
        props["upn"] = upn.strip().lower()
        aliases.add(props["upn"])
    if label == "Computer" and isinstance(name, str) and name.strip():
        props["shortname"] = short_hostname(name)
        aliases.add(props["shortname"].lower())
    if aliases:
        props["aliases"] = sorted(aliases)
    props["tier0"] = is_tier0(label, oid, props)
    props["placeholder"] = False
    return props
