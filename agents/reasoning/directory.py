"""Directory changes read from their events: what was changed, how, on what, for whom.

An alert about an ACL, a delegation, a shadow credential or a group membership makes a
specific claim (an ACE granted, a member *added*, msDS-KeyCredentialLink written); the
events say exactly what happened (5136 carries the attribute, the operation and the new
security descriptor; 4728/4732/4756 an addition, 4729/4733/4757 a removal). Reading them
field by field is how a misfire (an SPN write reported as a shadow credential, a removal
reported as an addition) is told from the real thing, and how the principal who gains
control is found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agents.reasoning.case import raw_field

ADD_IDS = {4728: "member", 4732: "member", 4756: "member"}
REMOVE_IDS = {4729: "member", 4733: "member", 4757: "member"}
VALUE_ADDED, VALUE_DELETED = "%%14674", "%%14675"
_ACE = re.compile(r"\((A|OA);([^;]*);([^;]*);([^;]*);([^;]*);([^)]*)\)")
# Rights that let a principal change the object (or take it over): generic all/write,
# write DACL / owner, write property, all extended rights (reset password, replication).
_CONTROL = ("GA", "GW", "WD", "WO", "WP", "CR")
# Principals that already control everything: their ACEs are no new privilege.
_TIER0_SIDS = {"DA", "EA", "BA", "SY", "CA", "SA", "ED", "S-1-5-18", "S-1-5-32-544", "S-1-5-9"}
_TIER0_RID = re.compile(r"^S-1-5-21-[\d-]+-(512|518|519|516|498|500)$")
# The claim an alert makes, by the words it uses -> the attributes that would prove it.
CLAIM_ATTRIBUTES: list[tuple[tuple[str, ...], set[str]]] = [
    (("key credential", "shadow credential", "keycredentiallink", "whfb", "hello for business"),
     {"msds-keycredentiallink"}),
    (("serviceprincipalname", "spn"), {"serviceprincipalname"}),
    (("rbcd", "resource-based", "allowedtoact"), {"msds-allowedtoactonbehalfofotheridentity"}),
    (("sidhistory", "sid history"), {"sidhistory"}),
    (("logon script", "scriptpath"), {"scriptpath"}),
    (("gpo", "group policy", "gplink"), {"gplink", "gpcfilesyspath", "versionnumber"}),
    (("dontreqpreauth", "pre-auth", "preauth", "useraccountcontrol", "uac"), {"useraccountcontrol"}),
    (("acl", "dacl", "ace", "permission", "security descriptor", "adminsdholder", "delegation", "genericall",
      "writedacl", "full control", "reset password right", "rights granted", "right granted"),
     {"ntsecuritydescriptor"}),
    (("group", "member"), {"member"}),
    (("password reset", "reset password", "password change", "password was reset"), {"password"}),
]
ADD_WORDS = ("added", "add ", "grant", "granted", "new ", "addition", "written", "write", "set ")
REMOVE_WORDS = ("removed", "remove", "deleted", "revoked", "removal")


@dataclass
class Change:
    event: dict
    op: str                    # add | remove | modify
    attribute: str             # lower-case LDAP name ("member" for group events)
    obj: str                   # the DN or the group name
    principals: list[str] = field(default_factory=list)  # SIDs / DNs that gain (or lose) something


def claimed(text: str) -> tuple[set[str], str | None]:
    """The attributes and the operation an alert's words allege."""
    low = f" {text.lower()} "
    attrs: set[str] = set()
    for words, a in CLAIM_ATTRIBUTES:  # "password reset or ACL change" claims either
        if any(re.search(r"(?<![a-z])" + re.escape(w), low) for w in words):
            attrs |= a
    op = None
    if any(w in low for w in REMOVE_WORDS):
        op = "remove"
    elif any(w in low for w in ADD_WORDS):
        op = "add"
    return attrs, op


def _aces(sddl: str) -> set[tuple[str, ...]]:
    return {m.groups() for m in _ACE.finditer(sddl or "")}


def changes(events: list[dict]) -> list[Change]:
    """Directory changes in the events, new ACEs diffed per LDAP operation (5136 logs the
    old descriptor as deleted and the new one as added, under one OpCorrelationID)."""
    out: list[Change] = []
    sd_pairs: dict[str, dict[str, str]] = {}
    for e in events:
        if e.get("event_id") == 5136 and str(raw_field(e, "AttributeLDAPDisplayName") or "").lower() == \
                "ntsecuritydescriptor":
            cid = str(raw_field(e, "OpCorrelationID") or e.get("key"))
            sd_pairs.setdefault(cid, {})[str(raw_field(e, "OperationType") or "")] = str(
                raw_field(e, "AttributeValue") or "")
    for e in events:
        eid = e.get("event_id")
        if eid == 4724:  # a password reset by another account
            out.append(Change(e, "modify", "password", str((e.get("targets") or [""])[0])))
            continue
        if eid in ADD_IDS or eid in REMOVE_IDS:
            member = raw_field(e, "MemberSid", "MemberName")
            group = raw_field(e, "TargetUserName") or ""
            out.append(Change(e, "add" if eid in ADD_IDS else "remove", "member", str(group),
                              [str(member)] if member else []))
        elif eid == 5136:
            attr = str(raw_field(e, "AttributeLDAPDisplayName") or "").lower()
            optype = str(raw_field(e, "OperationType") or "")
            obj = str(raw_field(e, "ObjectDN") or e.get("object_name") or "")
            if attr == "ntsecuritydescriptor":
                cid = str(raw_field(e, "OpCorrelationID") or e.get("key"))
                pair = sd_pairs.get(cid, {})
                if optype == VALUE_DELETED and VALUE_ADDED in pair:
                    continue  # the added value of the pair carries the change
                new = _aces(pair.get(VALUE_ADDED, "")) - _aces(pair.get(VALUE_DELETED, "")) if optype == VALUE_ADDED \
                    else set()
                principals = [a[5] for a in new if a[0] in ("A", "OA") and any(r in a[2] for r in _CONTROL)
                              and a[5] not in _TIER0_SIDS]
                out.append(Change(e, "add" if new else "modify", attr, obj, principals))
            else:
                value = str(raw_field(e, "AttributeValue") or "")
                principals = [value] if attr == "member" and value else []
                out.append(Change(e, "add" if optype == VALUE_ADDED else "remove" if optype == VALUE_DELETED
                                  else "modify", attr, obj, principals))
        elif eid == 4670:
            out.append(Change(e, "modify", "ntsecuritydescriptor", str(e.get("object_name") or "")))
        elif eid == 4662 and "DirectoryAccessEvent" in (e.get("kinds") or []):
            mask = str(e.get("access_mask") or raw_field(e, "AccessMask") or "0")
            try:
                write_dacl = int(mask, 16 if mask.lower().startswith("0x") else 10) & 0x40000
            except ValueError:
                write_dacl = 0
            if write_dacl:
                out.append(Change(e, "modify", "ntsecuritydescriptor", str(e.get("object_name") or "")))
    return out


def tier0_object(name: str) -> bool:
    """AdminSDHolder, tier-0 OUs and containers, by their distinguished name."""
    low = name.lower()
    return "cn=adminsdholder" in low or bool(re.search(r"(ou|cn)=(tier[ -_]?0|t0)\b", low)) or \
        "ou=domain controllers" in low


def tier0_sid(sid: str) -> bool:
    return sid in _TIER0_SIDS or bool(_TIER0_RID.match(sid))
