"""SharpHound / BloodHound CE collection JSON (v4 to v6) into the twin, as BloodHound CE reads it.

A collection is one file per object kind, `{"data": [...], "meta": {"type": "users", "version":
6, "count": n}}`, alone or inside the zip SharpHound writes (the registry hands each member over
as its own Source). Each element of `data` is one record; the unit of rejection is the record.

Mapping decisions
-----------------
Identity. BloodHound keys everything by objectid; the twin keys by the contract's `key` so that
other sources (Nmap, events, inventory) land on the same node: users, groups, computers and
domains by upper-case `Properties.name`; OUs, containers, GPOs and AD CS objects by upper-case
`distinguishedname` (their names collide with groups and users); a record without one falls
back to its objectid. `objectid` (upper-case, as CE stores it) is always set, and every edge
finds its ends by objectid (`NodeRef(prop="objectid")`), since the data references by SID/GUID.

Duplicates. Records that share an ObjectIdentifier are one object: `groups.json` repeats the
well-known groups as name-only stubs and `domains.json` carries a `{"collected": true}` stub.
They merge before anything is written: the copy with more properties speaks (whatever the
order) and the others only fill what it lacks, so a stub never blanks the full record (nor
resets its IsACLProtected), and their edges are united. Two objects claiming one key in a file:
the first keeps it, the second is keyed by its objectid rather than merged into the first; a
name that reads as another object's objectid is not used as a key either.

Placeholders. An objectid referenced (ACE principal, member, session user, local-group member,
ContainedBy, GPLink, ...) but defined nowhere becomes a node keyed by the objectid with
`placeholder: true` and the label the reference gives (`ObjectType` / `PrincipalType`; `Base`
alone when that is not one of our kinds, e.g. `LocalUser`), as CE creates endpoint nodes.
Files of one collection arrive as separate Sources, transformed and loaded one after the
other (`computers.json` before `users.json`), so whether an objectid is "defined nowhere" is
only known at the end of the run. Hence: an edge whose ends are both known (in the file, or
already in the twin: one indexed look-up per file, not per row) is loaded with its file; an edge
with an unknown end waits, and `post_load` creates placeholders for what the whole run left
undefined, then writes the waiting edges. A placeholder thus never clobbers a real node and
objects defined later in the run never pass through a placeholder. The run's state lives on
the IngestContext, the one object transform and post_load share.

Across runs, a placeholder (or a node keyed by objectid for want of a name, or an object AD
renamed) may already hold an objectid that a record now defines with a proper key. The record
is written onto that node (edges find it by objectid), and `post_load` fixes its key, labels
and `placeholder` flag. Should the proper key already belong to a node without objectid (say
an Nmap host), the old node is absorbed into it: edges moved per type, properties copied. If
it belongs to another AD object, the node keeps its objectid key rather than merge the two.

Edges (BloodHound names and directions; `isacl` as CE):
- `MemberOf` member->group from `Members` and `PrimaryGroupSID` (`isprimarygroup`).
- `HasSession` Computer->User from `Sessions`, `PrivilegedSessions`, `RegistrySessions` when
  collected (a v3-style plain list is read too).
- `AdminTo` / `CanRDP` / `CanPSRemote` / `ExecuteDCOM` principal->Computer from `LocalGroups`
  whose SID ends in -544 / -555 / -580 / -562, from the older `LocalAdmins`,
  `RemoteDesktopUsers`, `PSRemoteUsers`, `DcomUsers` blocks, and from GPO-applied membership
  (`GPOChanges` x `AffectedComputers` on domains and OUs). This is legacy BloodHound's direct
  form: CE models the local groups as nodes and derives the same edges afterwards; the twin has
  no local-group nodes. `RemoteInteractiveLogonRight` from `UserRights` as CE.
- ACE edges principal->object named by `RightName` with `isinherited`; any RightName that is a
  safe identifier becomes an edge type, others are reported (`data[i].Aces[j]`) and skipped
  while the record loads. ACEs of an object on itself are skipped as CE does. Enterprise CAs
  use `CARegistryData.CASecurity` for Enroll / ManageCA / ManageCertificates when collected.
- `Contains` from `ChildObjects` and `ContainedBy`; `GPLink` GPO->OU/Domain (`enforced`);
  `AllowedToDelegate`, `AllowedToAct`, `HasSIDHistory`, `DumpSMSAPassword`, SPN target edges,
  `DCFor` (DC->Domain), `CoerceToTGT` (unconstrained delegation, non-DC) as CE.
- Trusts: `TrustedBy` (legacy CE name, the one the twin's model uses), with CE's directions:
  inbound or bidirectional gives target->domain, outbound or bidirectional domain->target;
  properties `trusttype`, `transitive`, `sidfiltering`. The trusted domain becomes a Domain node
  keyed by its name.
- AD CS: `PublishedTo` template->CA, `HostsCAService` computer->CA, `RootCAFor`,
  `NTAuthStoreFor`, `DelegatedEnrollmentAgent`, `OIDGroupLink` from the records;
  `EnterpriseCAFor` (enterprise CA->root CA of the same thumbprint), `IssuedSignedBy` (CA->the
  CA whose thumbprint is its chain's parent) and `TrustedForNTAuth` (enterprise CA->NTAuth store
  listing its thumbprint) derived in `post_load` as CE's post-processing does.

DCSync (post_load, after every ingest, idempotent): a principal gets `DCSync` to a domain when
it holds both `GetChanges` and `GetChangesAll` on it, directly or through nested `MemberOf`
(the group holding a right, and every transitive member of it, hold it), which is how CE
counts them. Membership is expanded breadth-first in Python, one query per nesting level (a
variable-length Cypher pattern enumerates paths, not nodes, and explodes on nested groups).
Derived edges no longer justified are deleted.

Tier 0: `tier0: true` on domains, Domain Admins (-512), Enterprise Admins (-519), Domain
Controllers (-516), Schema Admins (-518), Administrators (S-1-5-32-544), Enterprise Domain
Controllers (S-1-5-9), domain controllers (primary group -516 or `IsDC`), and anything the
data marks `highvalue` / `isTierZero` / `admin_tier_0`; `false` on every other AD node.

Properties: `Properties` are kept flat (nested values become JSON text in the loader); names
that are not identifiers, and our provenance names (`key`, `source`, ...), are dropped; integers
beyond 64 bits become text. Added: `objectid`, `domain`, `aliases` (lower-case name forms),
`shortname` (computers), `isdc`, `upn`, `isdeleted`, `isaclprotected`, `placeholder`.

Indexed values (keys, objectids, `name`, `domain`, `samaccountname`, ...) longer than 1024
characters reject their record: Neo4j refuses index entries over ~8 KB and would fail the batch.

Performance (a forest of 140k objects and 1.5M edges): one pass over each file, no query per
row; rows grouped per kind and edge type for the loader's batches; edge property dicts shared
rather than built per edge; the cyclic GC paused during a transform (it only rescans the
parsed JSON, and doubled the time); objectids this run already wrote are not looked up again,
and on a twin that held no AD object when the run began no look-up is made at all.

Files: a file that is not JSON, not an object, or lacks `data` is rejected whole (BadFile);
`meta.type` picks the kind, and a file without `meta` is accepted when its name says the kind
(`20240101_users.json`), since older tools and hand-made extracts drop it.
"""

from __future__ import annotations

import gc
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from graph.identity import host_key, short_hostname
from graph.ingest._jsonhead import Large, json_head
from graph.ingest.base import BadFile, Batch, Connector, IngestContext, Source
from graph.loader import TwinWriter
from graph.model import NodeRef, NodeSchema, RelSchema, check_identifier
from graph.reader import TwinReader
from graph.schema import TWIN_LABEL

SOURCE = "sharphound"

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

NODE_SCHEMAS = {label: NodeSchema(label, (BASE,)) for label in LABELS}
# Placeholders are not a claim that the file describes their scope: never snapshot-cleaned.
PLACEHOLDER_SCHEMAS = {label: NodeSchema(label, (BASE,), snapshot=False) for label in LABELS}
PLACEHOLDER_SCHEMAS[BASE] = NodeSchema(BASE, snapshot=False)

_BY_OBJECTID = NodeRef(TWIN_LABEL, "objectid")


@cache
def rel_schema(rel_type: str) -> RelSchema:
    return RelSchema(rel_type, _BY_OBJECTID, _BY_OBJECTID)


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
_LONE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_META_TYPE = re.compile(r'"meta"\s*:\s*\{[^{}]*?"type"\s*:\s*"([A-Za-z]+)"', re.S)
_NAME_KIND = re.compile(r"(?:^|[_\-. ])(" + "|".join(KINDS) + r")\.json$", re.I)
_LOOKUP_CHUNK = 20_000
# Keys and these properties are indexed, and Neo4j refuses index entries over ~8 KB, which
# would sink a whole batch: longer values reject their record instead (4 bytes a character).
_MAX_INDEXED = 1024
_INDEXED_PROPS = ("name", "distinguishedname", "domain", "samaccountname", "shortname", "ip")


class _Invalid(ValueError):
    """A record that cannot be read as its kind: rejected whole, with the path at fault."""


# --------------------------------------------------------------------------- sniff


def _kind_from_name(name: str) -> str | None:
    m = _NAME_KIND.search(name.replace("\\", "/").rsplit("/", 1)[-1].rsplit(":", 1)[-1])
    return m.group(1).lower() if m else None


def sniff(name: str, head: str) -> bool:
    """SharpHound writes `meta` after `data`, so in a large file only the records are in the
    head: `ObjectIdentifier` with `Properties`/`Aces` is theirs alone (AzureHound uses `id`)."""
    text = head.lstrip("\ufeff \t\r\n")
    if not text.startswith("{"):
        return False
    h = json_head(head)  # the top-level keys, read past the head (graph.ingest._jsonhead)
    if h is not None and h.kind == "object":
        meta = h.get("meta")
        if isinstance(meta, dict) and isinstance(meta.get("type"), str):
            return meta["type"].lower() in KINDS
        data = h.get("data")
        first = data.first_keys if isinstance(data, Large) else (
            tuple(data[0]) if isinstance(data, list) and data and isinstance(data[0], dict) else ())
        if "ObjectIdentifier" in first and ("Properties" in first or "Aces" in first):
            return True
    m = _META_TYPE.search(text)
    if m:
        return m.group(1).lower() in KINDS
    if '"data"' not in text:
        return False
    if '"ObjectIdentifier"' in text and ('"Properties"' in text or '"Aces"' in text):
        return True
    return _kind_from_name(name) is not None and text.replace(" ", "").startswith('{"data":')


# --------------------------------------------------------------------------- values


def _fix_surrogates(value):
    """JSON may carry lone UTF-16 surrogates (`\\ud800`) that no UTF-8 driver can send."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [_fix_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_fix_surrogates(k): _fix_surrogates(v) for k, v in value.items()}
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


def _typename(v) -> str:
    return "null" if v is None else type(v).__name__.replace("str", "string").replace("dict", "object")


_WANT = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}


def _opt(rec: dict, name: str, kind: type, path: str):
    """The field if absent, null or of the type; a wrong type rejects the record."""
    v = rec.get(name)
    if v is not None and not isinstance(v, kind):
        raise _Invalid(f"{path}{name} must be {_WANT[kind]}, not {_typename(v)}")
    return v


def _sid(v, path: str) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str):
        raise _Invalid(f"{path} must be a string, not {_typename(v)}")
    if len(v) > _MAX_INDEXED:
        raise _Invalid(f"{path} is {len(v)} characters long, too long for an identifier")
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
        raise _Invalid(f"{path} must be a list, not {_typename(value)}")
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
        raise _Invalid(f"{path} must be an object, not {_typename(item)}")
    oid = _sid(item.get("ObjectIdentifier", item.get("MemberId")), f"{path}.ObjectIdentifier")
    otype = item.get("ObjectType", item.get("MemberType"))
    if otype is not None and not isinstance(otype, str):
        raise _Invalid(f"{path}.ObjectType must be a string, not {_typename(otype)}")
    return (oid, otype) if oid else None


def _api_list(value, key: str, path: str) -> tuple[list, bool]:
    """`{"Results"/"Data": [...], "Collected": bool}` (SharpHound 4+) or a bare list (v3)."""
    if value is None:
        return [], False
    if isinstance(value, list):
        return value, True
    if not isinstance(value, dict):
        raise _Invalid(f"{path} must be an object or a list, not {_typename(value)}")
    items = value.get(key)
    if items is None:
        items = []
    if not isinstance(items, list):
        raise _Invalid(f"{path}.{key} must be a list, not {_typename(items)}")
    collected = value.get("Collected", True)
    return items, collected is not False


def _label_of(object_type: str | None) -> str | None:
    return _REF_LABELS.get(object_type.lower()) if object_type else None


# --------------------------------------------------------------------------- the file


@dataclass
class _Node:
    label: str
    props: dict
    weak: bool = False  # known only from another object's record (a trust's target domain)


@dataclass
class _Parsed:
    file: str
    kind: str
    label: str
    batch: Batch
    nodes: dict[str, _Node] = field(default_factory=dict)
    rels: dict[str, dict[tuple[str, str], dict]] = field(default_factory=lambda: defaultdict(dict))
    refs: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


# Edge properties are shared, never mutated: a million ACEs need two dicts, not a million.
_PLAIN = {"isacl": False}
_ACE_INHERITED = {"isacl": True, "isinherited": True}
_ACE_EXPLICIT = {"isacl": True, "isinherited": False}
_PRIMARY = {"isacl": False, "isprimarygroup": True}
_MEMBER = {"isacl": False, "isprimarygroup": False}
_RIGHT_OK: dict[str, bool] = {}


class _Record:
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


def _aces(r: _Record, aces, path: str, keep=None) -> None:
    """The hot loop of a collection (a million ACEs): checks inlined, nothing allocated for
    an ACE beyond its two tuples."""
    if aces is None:
        return
    if not isinstance(aces, list):
        raise _Invalid(f"{path} must be a list, not {_typename(aces)}")
    target = r.oid
    rels = r.rels
    refs = r.refs
    for j, ace in enumerate(aces):
        if not isinstance(ace, dict):
            raise _Invalid(f"{path}[{j}] must be an object, not {_typename(ace)}")
        principal = ace.get("PrincipalSID")
        right = ace.get("RightName")
        ptype = ace.get("PrincipalType")
        inherited = ace.get("IsInherited", False)
        if type(principal) is not str or len(principal) > _MAX_INDEXED:
            if principal is None:
                continue
            principal = _sid(principal, f"{path}[{j}].PrincipalSID")
        if not isinstance(right, str):
            raise _Invalid(f"{path}[{j}].RightName must be a string, not {_typename(right)}")
        if ptype is not None and not isinstance(ptype, str):
            raise _Invalid(f"{path}[{j}].PrincipalType must be a string, not {_typename(ptype)}")
        if inherited is not True and inherited is not False and inherited is not None:
            raise _Invalid(f"{path}[{j}].IsInherited must be true/false, not {_typename(inherited)}")
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
        rels.append((right, principal, target, _ACE_INHERITED if inherited else _ACE_EXPLICIT))
        refs.append((principal, ptype, None))


def _typed_edges(r: _Record, rec: dict, name: str, rel_type: str, outbound: bool) -> None:
    for oid, otype in _principals(rec.get(name), name):
        if outbound:
            r.edge(rel_type, r.oid, oid)
        else:
            r.edge(rel_type, oid, r.oid)
        r.ref(oid, otype)


def _gpo_changes(r: _Record, rec: dict) -> None:
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


def _links(r: _Record, rec: dict) -> None:
    links = _opt(rec, "Links", list, "")
    for j, link in enumerate(links or ()):
        if not isinstance(link, dict):
            raise _Invalid(f"Links[{j}] must be an object, not {_typename(link)}")
        gpo = _sid(link.get("GUID", link.get("Guid")), f"Links[{j}].GUID")
        enforced = link.get("IsEnforced") or False
        if not isinstance(enforced, bool):
            raise _Invalid(f"Links[{j}].IsEnforced must be true/false, not {_typename(enforced)}")
        if gpo:
            r.edge("GPLink", gpo, r.oid, {"isacl": False, "enforced": enforced})
            r.ref(gpo, "GPO")


def _sessions(r: _Record, rec: dict) -> None:
    for block in ("Sessions", "PrivilegedSessions", "RegistrySessions"):
        items, collected = _api_list(rec.get(block), "Results", block)
        if not collected:
            continue
        for j, s in enumerate(items):
            p = f"{block}.Results[{j}]"
            if not isinstance(s, dict):
                raise _Invalid(f"{p} must be an object, not {_typename(s)}")
            user = _sid(s.get("UserSID", s.get("UserId")), f"{p}.UserSID")
            computer = _sid(s.get("ComputerSID", s.get("ComputerId")), f"{p}.ComputerSID") or r.oid
            if user:
                r.edge("HasSession", computer, user)
                r.ref(user, "User")
                if computer != r.oid:
                    r.ref(computer, "Computer")


def _local_groups(r: _Record, rec: dict) -> None:
    groups = _opt(rec, "LocalGroups", list, "")
    for j, group in enumerate(groups or ()):
        p = f"LocalGroups[{j}]"
        if not isinstance(group, dict):
            raise _Invalid(f"{p} must be an object, not {_typename(group)}")
        gid = _sid(group.get("ObjectIdentifier"), f"{p}.ObjectIdentifier") or ""
        names: dict[str, str] = {}
        local_names = group.get("LocalNames")
        if local_names is not None and not isinstance(local_names, list):
            raise _Invalid(f"{p}.LocalNames must be a list, not {_typename(local_names)}")
        for k, ln in enumerate(local_names or ()):
            if not isinstance(ln, dict):
                raise _Invalid(f"{p}.LocalNames[{k}] must be an object, not {_typename(ln)}")
            lid = _sid(ln.get("ObjectIdentifier"), f"{p}.LocalNames[{k}].ObjectIdentifier")
            lname = ln.get("PrincipalName")
            if lid and isinstance(lname, str) and len(lname) <= _MAX_INDEXED:
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


def _user_rights(r: _Record, rec: dict) -> None:
    rights = _opt(rec, "UserRights", list, "")
    for j, right in enumerate(rights or ()):
        p = f"UserRights[{j}]"
        if not isinstance(right, dict):
            raise _Invalid(f"{p} must be an object, not {_typename(right)}")
        privilege = right.get("Privilege")
        rel_type = _USER_RIGHT_EDGES.get(privilege) if isinstance(privilege, str) else None
        members = _principals(right.get("Results"), f"{p}.Results")
        if rel_type:
            for m_oid, m_type in members:
                r.edge(rel_type, m_oid, r.oid)
                r.ref(m_oid, m_type)


def _trusts(r: _Record, rec: dict) -> None:
    trusts = _opt(rec, "Trusts", list, "")
    for j, t in enumerate(trusts or ()):
        p = f"Trusts[{j}]"
        if not isinstance(t, dict):
            raise _Invalid(f"{p} must be an object, not {_typename(t)}")
        target = _sid(t.get("TargetDomainSid"), f"{p}.TargetDomainSid")
        tname = t.get("TargetDomainName")
        if tname is not None and not isinstance(tname, str):
            raise _Invalid(f"{p}.TargetDomainName must be a string, not {_typename(tname)}")
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
        if tname and tname.strip() and len(tname) <= _MAX_INDEXED:
            # Known by name: a real, if thinly described, domain rather than a placeholder.
            name = tname.strip().upper()
            r.weak_nodes.append((target, "Domain", {"name": name, "domain": name, "objectid": target}))
        r.ref(target, "Domain")


def _enterprise_ca(r: _Record, rec: dict, props: dict) -> None:
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
            raise _Invalid(f"{p} must be an object, not {_typename(res)}")
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


def _read_record(rec, label: str) -> tuple[_Record, dict]:
    if not isinstance(rec, dict):
        raise _Invalid(f"a record must be an object, not {_typename(rec)}")
    raw_oid = rec.get("ObjectIdentifier")
    if raw_oid is None:
        raise _Invalid("ObjectIdentifier is missing")
    oid = _sid(raw_oid, "ObjectIdentifier")
    if not oid:
        raise _Invalid("ObjectIdentifier is empty")
    raw_props = _opt(rec, "Properties", dict, "") or {}
    for name in ("name", "distinguishedname", "domain", "domainsid", "samaccountname",
                 "userprincipalname"):
        _opt(raw_props, name, str, "Properties.")
    for name in ("highvalue", "isTierZero", "istierzero", "unconstraineddelegation", "isdc"):
        _opt(raw_props, name, bool, "Properties.")
    for name in _INDEXED_PROPS:
        v = raw_props.get(name)
        if isinstance(v, (list, dict)) or (isinstance(v, str) and len(v) > _MAX_INDEXED):
            raise _Invalid(f"Properties.{name} is indexed and must be a short value (at most {_MAX_INDEXED} characters)")
    for name in ("IsDeleted", "IsACLProtected", "IsDC", "UnconstrainedDelegation"):
        _opt(rec, name, bool, "")

    props = {k: _prop_value(v) for k, v in raw_props.items() if v is not None and _prop_name_ok(k)}
    props["objectid"] = oid
    if isinstance(rec.get("IsDeleted"), bool):
        props["isdeleted"] = rec["IsDeleted"]
    if isinstance(rec.get("IsACLProtected"), bool):
        props["isaclprotected"] = rec["IsACLProtected"]

    r = _Record(oid)
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
                raise _Invalid(f"SPNTargets[{j}] must be an object, not {_typename(spn)}")
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


def _merge_props(into: dict, new: dict) -> None:
    """`into` keeps its values; what it lacks is filled from the other copy."""
    for k, v in new.items():
        if into.get(k) is None:
            into[k] = v


def _commit(parsed: _Parsed, r: _Record, props: dict, i: int) -> None:
    node = parsed.nodes.get(r.oid)
    if node is None:
        parsed.nodes[r.oid] = _Node(parsed.label, props)
    elif node.weak or len(props) > len(node.props):
        _merge_props(props, node.props)  # the fuller copy speaks, whichever came first
        parsed.nodes[r.oid] = _Node(parsed.label, props)
    else:
        _merge_props(node.props, props)
    rels = parsed.rels
    for rel_type, src, dst, rprops in r.rels:
        bucket = rels[rel_type]
        old = bucket.get((src, dst))
        if old is None or (old is _ACE_INHERITED and rprops is _ACE_EXPLICIT):
            bucket[(src, dst)] = rprops
    refs = parsed.refs
    for oid, otype, name in r.refs:
        known = refs.get(oid)
        if known is None or (known[0] is None and otype):
            refs[oid] = (_label_of(otype), name)
    for oid, label, wprops in r.weak_nodes:
        if oid not in parsed.nodes:
            parsed.nodes[oid] = _Node(label, wprops, weak=True)
    for path, reason in r.skipped:
        parsed.batch.reject(parsed.file, f"data[{i}].{path}", reason)


# --------------------------------------------------------------------------- keys, tier 0


def _wanted_key(label: str, props: dict) -> str | None:
    if label in NAME_KEYED:
        name = props.get("name")
        if isinstance(name, str) and name.strip():
            return host_key(name) if label == "Computer" else name.strip().upper()
        return None
    dn = props.get("distinguishedname")
    return dn.strip().upper() if isinstance(dn, str) and dn.strip() else None


def _is_tier0(label: str, oid: str, props: dict) -> bool:
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


def _domain_of(label: str, oid: str, props: dict) -> str | None:
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


def _finish_props(label: str, oid: str, props: dict) -> dict:
    dom = _domain_of(label, oid, props)
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
    props["tier0"] = _is_tier0(label, oid, props)
    props["placeholder"] = False
    return props


# --------------------------------------------------------------------------- twin look-up


def _lookup(reader: TwinReader, oids: Iterable[str]) -> dict[str, tuple[str, bool]]:
    """Objectid -> (key, is placeholder) of what the twin already holds; one indexed query per
    20k ids. Where two nodes share an objectid, the real one wins."""
    found: dict[str, tuple[str, bool]] = {}
    if not reader:
        return found
    ids = list(oids)
    query = (
        f"UNWIND $ids AS id MATCH (n:{TWIN_LABEL} {{objectid: id}}) "
        "RETURN id, n.key AS key, coalesce(n.placeholder, false) AS ph ORDER BY ph, key"
    )
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        for rec in reader.rows(query, ids=ids[start : start + _LOOKUP_CHUNK]):
            found.setdefault(rec["id"], (rec["key"], rec["ph"]))
    return found


@dataclass
class _Rekey:
    old: str
    new: str
    label: str
    oid: str


@dataclass
class SharpHoundRun:
    """What one run's transforms leave for its post_load (IngestContext.run_state): keys to
    fix, and the edges whose ends were not known yet (defined by a later file of the run,
    or by nobody)."""

    rekeys: list[_Rekey] = field(default_factory=list)
    rels: dict[str, dict[tuple[str, str], dict]] = field(default_factory=lambda: defaultdict(dict))
    refs: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    # objectid -> key of what this run wrote: known without asking the twin again.
    defined: dict[str, str] = field(default_factory=dict)
    # True when the twin held no AD object as the run began: then nothing it holds by objectid
    # is older than this run, and the look-ups are skipped (a first ingest of a big forest).
    fresh: bool | None = None


def _state(ctx: IngestContext) -> SharpHoundRun:
    state = ctx.run_state(SharpHoundRun)
    if state.fresh is None:
        state.fresh = not ctx.reader or not ctx.reader.value(
            f"RETURN EXISTS {{ MATCH (n:{TWIN_LABEL}) WHERE n.objectid IS NOT NULL }} AS any")
    return state


def _known(reader: TwinReader, state: SharpHoundRun, oids: Iterable[str]):
    """What the twin holds for these objectids: this run's own writes from memory, the rest
    by look-up unless the run began on a twin without AD objects."""
    found: dict[str, tuple[str, bool]] = {}
    ask = []
    for oid in oids:
        key = state.defined.get(oid)
        if key is not None:
            found[oid] = (key, False)
        else:
            ask.append(oid)
    if ask and not state.fresh:
        found.update(_lookup(reader, ask))
    return found


# --------------------------------------------------------------------------- transform


def _load_json(source: Source) -> dict:
    text = source.text()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadFile(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise BadFile("not JSON this reader can follow: nested too deeply") from None
    if not isinstance(doc, dict):
        raise BadFile(f"a SharpHound file is a JSON object, not {_typename(doc)}")
    if _LONE_SURROGATE.search(text):
        doc = _fix_surrogates(doc)
    return doc


def _file_kind(doc: dict, name: str) -> str:
    meta = doc.get("meta")
    if "data" not in doc:
        raise BadFile("no `data` list: not a SharpHound collection file")
    if not isinstance(doc["data"], list):
        raise BadFile(f"`data` must be a list, not {_typename(doc['data'])}")
    if meta is None:
        kind = _kind_from_name(name)
        if kind is None:
            raise BadFile("no `meta` block, and the file name does not say the kind (users.json, ...)")
        return kind
    if not isinstance(meta, dict):
        raise BadFile(f"`meta` must be an object, not {_typename(meta)}")
    kind = meta.get("type")
    if not isinstance(kind, str) or kind.lower() not in KINDS:
        raise BadFile(f"meta.type {kind!r} is not a SharpHound AD kind ({', '.join(KINDS)})")
    version = meta.get("version")
    if version is not None and (type(version) is not int or version < 4):
        raise BadFile(f"meta.version {version!r} is not supported (SharpHound JSON 4 to 6)")
    return kind.lower()


def transform(source: Source, ctx: IngestContext) -> Batch:
    # Parsing allocates millions of small objects and no cycles: the cyclic collector would
    # only rescan them, at half the transform time on large collections.
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        return _transform(source, ctx)
    finally:
        if gc_was_on:
            gc.enable()


def _transform(source: Source, ctx: IngestContext) -> Batch:
    doc = _load_json(source)
    kind = _file_kind(doc, source.name)
    batch = Batch()
    data = doc["data"]
    batch.records = len(data)
    parsed = _Parsed(file=source.name, kind=kind, label=KINDS[kind], batch=batch)
    for i, rec in enumerate(data):
        try:
            r, props = _read_record(rec, parsed.label)
        except _Invalid as exc:
            batch.reject(source.name, f"data[{i}]", str(exc))
            continue
        _commit(parsed, r, props, i)
    _emit(parsed, ctx)
    return batch


def _keep_edge(bucket: dict[tuple[str, str], dict], pair: tuple[str, str], props: dict) -> None:
    old = bucket.get(pair)
    if old is None or (old.get("isinherited") and props.get("isinherited") is False):
        bucket[pair] = props  # an explicit grant is the stronger statement


def _better_ref(refs: dict, oid: str, label: str | None, name: str | None) -> None:
    if oid not in refs or (refs[oid][0] is None and label):
        refs[oid] = (label, name)


def _emit(parsed: _Parsed, ctx: IngestContext) -> None:
    batch = parsed.batch
    state = _state(ctx)
    missing = [oid for oid in parsed.refs if oid not in parsed.nodes]
    twin = _known(ctx.reader, state, [*parsed.nodes, *missing])
    ids = parsed.nodes.keys() | parsed.refs.keys()
    # Nodes the twin holds stay where they are (edges find them by objectid); their key is
    # fixed in post_load. New ones take their proper key unless something else holds it, or
    # it reads as another object's objectid (the key a placeholder of it would take).
    claimed = {twin[oid][0] for oid in parsed.nodes if oid in twin}
    rows: dict[str, list[dict]] = defaultdict(list)
    domains: set[str] = set()
    for oid, node in parsed.nodes.items():
        props = _finish_props(node.label, oid, node.props)
        want = _wanted_key(node.label, props)
        if want is not None and want != oid and want in ids:
            want = None
        existing = twin.get(oid)
        if existing is not None:
            key = existing[0]
            if want is not None and want != key:
                state.rekeys.append(_Rekey(key, want, node.label, oid))
        else:
            key = want if want is not None and want not in claimed else oid
            claimed.add(key)
        if not node.weak and props.get("domain"):
            domains.add(props["domain"])
        rows[node.label].append({"key": key, "props": props})
        state.defined[oid] = key
    for label in sorted(rows):
        batch.add_nodes(NODE_SCHEMAS[label], rows[label])

    refresh = []
    for oid in missing:
        existing = twin.get(oid)
        if existing is None:
            label, name = parsed.refs[oid]
            _better_ref(state.refs, oid, label, name)
        elif existing[1]:  # a placeholder from an earlier run: say it was seen again
            refresh.append({"key": existing[0], "props": {"objectid": oid}})
    batch.add_nodes(PLACEHOLDER_SCHEMAS[BASE], refresh)

    known = parsed.nodes.keys() | twin.keys()
    for rel_type in sorted(parsed.rels):
        ready = []
        later = state.rels[rel_type]
        for (src, dst), props in parsed.rels[rel_type].items():
            if src in known and dst in known:
                ready.append({"src": src, "dst": dst, "props": props})
            else:
                _keep_edge(later, (src, dst), props)
        batch.add_rels(rel_schema(rel_type), ready)
    if len(domains) == 1:
        batch.scope = {"domain": next(iter(domains))}


# --------------------------------------------------------------------------- post_load

_KIND_LABELS = ":".join(sorted(LABELS))
_PROVENANCE = frozenset({"key", "source", "sources", "firstseen", "lastseen"})


def _run(writer: TwinWriter, query: str, **params) -> list:
    return writer.driver.execute_query(query, params, database_=writer.database).records


def _apply_rekeys(writer: TwinWriter, rekeys: list[_Rekey]) -> None:
    """Give nodes written under a placeholder's (or an old name's) key their proper key."""
    todo: list[_Rekey] = []
    olds: set[str] = set()
    news: set[str] = set()
    for rk in rekeys:
        if rk.old == rk.new or rk.old in olds or rk.new in news:
            continue
        olds.add(rk.old)
        news.add(rk.new)
        todo.append(rk)
    if not todo:
        return
    taken = {
        rec["k"]: rec["oid"]
        for rec in _run(
            writer,
            f"UNWIND $keys AS k MATCH (n:{TWIN_LABEL} {{key: k}}) RETURN k, n.objectid AS oid",
            keys=[rk.new for rk in todo],
        )
    }
    simple: dict[str, list[dict]] = defaultdict(list)
    for rk in todo:
        if rk.new not in taken:
            simple[rk.label].append({"old": rk.old, "new": rk.new})
        elif taken[rk.new] in (None, rk.oid):
            _absorb(writer, rk)
        # else: the proper key names another AD object; keep the objectid key rather than merge
    for label, rows in simple.items():
        _run(
            writer,
            f"UNWIND $rows AS row MATCH (n:{TWIN_LABEL} {{key: row.old}}) "
            f"REMOVE n:{_KIND_LABELS} SET n:{check_identifier(label)}:{BASE}, "
            "n.key = row.new, n.placeholder = false",
            rows=rows,
        )


def _absorb(writer: TwinWriter, rk: _Rekey) -> None:
    """Fold the node under `rk.old` into the existing node `rk.new`: its properties (fresh
    AD data) onto it, its edges moved type by type (Cypher has no dynamic types), then gone."""
    params = {"old": rk.old, "new": rk.new}
    for direction in ("out", "in"):
        pattern = "(o)-[r]->(x)" if direction == "out" else "(x)-[r]->(o)"
        types = [
            rec["t"]
            for rec in _run(
                writer,
                f"MATCH (o:{TWIN_LABEL} {{key: $old}}) MATCH {pattern} RETURN DISTINCT type(r) AS t",
                **params,
            )
        ]
        for t in types:
            t = check_identifier(t)
            new_edge = "(n)-[s:{t}]->(x)" if direction == "out" else "(x)-[s:{t}]->(n)"
            _run(
                writer,
                f"MATCH (o:{TWIN_LABEL} {{key: $old}}) MATCH (n:{TWIN_LABEL} {{key: $new}}) "
                f"MATCH {pattern.replace('[r]', f'[r:{t}]')} WHERE x <> o AND x <> n "
                f"MERGE {new_edge.format(t=t)} "
                "ON CREATE SET s = properties(r) "
                "ON MATCH SET s.firstseen = CASE WHEN r.firstseen < s.firstseen "
                "THEN r.firstseen ELSE s.firstseen END "
                "DELETE r",
                **params,
            )
    found = _run(writer, f"MATCH (o:{TWIN_LABEL} {{key: $old}}) RETURN properties(o) AS p", **params)
    if not found:
        return
    props = {k: v for k, v in found[0]["p"].items() if k not in _PROVENANCE}
    _run(
        writer,
        f"MATCH (o:{TWIN_LABEL} {{key: $old}}) MATCH (n:{TWIN_LABEL} {{key: $new}}) "
        "WITH o, n, n.firstseen AS nf, n.sources AS ns, o.firstseen AS of, o.sources AS os, "
        "n.lastseen AS nl, o.lastseen AS ol "
        "SET n += $props "
        "SET n.placeholder = false, "
        "n.firstseen = CASE WHEN nf IS NULL OR of < nf THEN of ELSE nf END, "
        "n.lastseen = CASE WHEN nl IS NULL OR ol > nl THEN ol ELSE nl END, "
        # sorted union: the loader's order-independent provenance
        "n.sources = reduce(acc = coalesce(ns, []), s IN coalesce(os, []) | "
        "CASE WHEN s IN acc THEN acc ELSE [x IN acc WHERE x < s] + s + [x IN acc WHERE x > s] END) "
        f"SET n:{check_identifier(rk.label)}:{BASE}, n.source = n.sources[0] "
        "WITH o DETACH DELETE o",
        props=props,
        **params,
    )


def _write_deferred(writer: TwinWriter, state: SharpHoundRun) -> None:
    """Placeholders for what the whole run named but nobody defined, then the edges that
    waited for their ends."""
    found = _known(TwinReader(writer.driver, writer.database), state, state.refs)
    holders: dict[str, list[dict]] = defaultdict(list)
    for oid, (label, name) in state.refs.items():
        if oid in found:
            continue
        props = {"objectid": oid, "placeholder": True}
        if name:
            props["name"] = name
        dom = _domain_of(label or BASE, oid, props)
        if dom:
            props["domain"] = dom
        props["tier0"] = _is_tier0(label or BASE, oid, props)
        holders[label or BASE].append({"key": oid, "props": props})
    for label in sorted(holders):
        writer.nodes(PLACEHOLDER_SCHEMAS[label], holders[label])
    for rel_type in sorted(state.rels):
        bucket = state.rels[rel_type]
        writer.rels(rel_schema(rel_type), [{"src": s, "dst": d, "props": p} for (s, d), p in bucket.items()])


def post_load(writer: TwinWriter, ctx: IngestContext) -> None:
    state = ctx.take_state(SharpHoundRun)
    if state is not None:
        _apply_rekeys(writer, state.rekeys)
        _write_deferred(writer, state)


CONNECTOR = Connector(
    name=SOURCE,
    sniff=sniff,
    transform=transform,
    post_load=post_load,
    order=10,
)
