"""The fixed vocabulary tools may write into Cypher text, and what attack paths may cross.

Values always travel as parameters; labels and relationship types cannot, so any
that a tool puts into query text must come from here. Each name is checked twice:
it must be a plain identifier (graph.model.check_identifier) and it must be one of
ours (graph/catalog, BloodHound CE names), so neither data nor an LLM can smuggle
text into a query through a label. What attack paths cross, and at what cost, is the
policy written here.
"""

from __future__ import annotations

from graph import catalog
from graph.model import check_identifier

# Every label and relationship type of the twin: the catalogue's (graph/catalog).
LABELS: frozenset[str] = frozenset(catalog.NODES)

# Attack edges and their cost: what it takes an attacker to cross one. Lower is easier.
# Membership is free (a member simply has the group's rights); using a right someone
# already holds costs 1; rights that need extra tooling or a noisier technique cost 2;
# exploiting a vulnerability costs 2 (1 when CISA lists it as exploited in the wild);
# an observed connection without a known exploit only says the packets flow: 3.
EDGE_COSTS: dict[str, float] = {
    # AD, BloodHound CE's traversable set
    "MemberOf": 0.0,
    "HasSession": 1.0,       # Computer->User: compromise the host, take the user's creds
    "AdminTo": 1.0,
    "CanPSRemote": 1.0,
    "CanRDP": 2.0,
    "ExecuteDCOM": 2.0,
    "SQLAdmin": 2.0,
    "AllowedToDelegate": 2.0,
    "AllowedToAct": 2.0,
    "AddAllowedToAct": 2.0,
    "WriteAccountRestrictions": 2.0,
    "CoerceToTGT": 2.0,
    "GenericAll": 1.0,
    "GenericWrite": 1.0,
    "WriteDacl": 2.0,
    "WriteOwner": 2.0,
    "Owns": 1.0,
    "ForceChangePassword": 1.0,
    "AddMember": 1.0,
    "AddSelf": 1.0,
    "AllExtendedRights": 1.0,
    "AddKeyCredentialLink": 2.0,
    "WriteSPN": 2.0,
    "DCSync": 1.0,
    "SyncLAPSPassword": 1.0,
    "ReadLAPSPassword": 1.0,
    "ReadGMSAPassword": 1.0,
    "DumpSMSAPassword": 1.0,
    "HasSIDHistory": 1.0,
    "Contains": 1.0,
    "GPLink": 1.0,
    "WriteGPLink": 2.0,
    "GoldenCert": 2.0,
    "ADCSESC1": 2.0,
    "ADCSESC3": 2.0,
    "ADCSESC4": 2.0,
    "ADCSESC6a": 2.0,
    "ADCSESC6b": 2.0,
    "ADCSESC9a": 2.0,
    "ADCSESC9b": 2.0,
    "ADCSESC10a": 2.0,
    "ADCSESC10b": 2.0,
    "ADCSESC13": 2.0,
    # network (ours)
    "InZone": 0.0,           # Computer->Zone: a foothold on a host is a foothold in its zone
    "CanExploit": 2.0,       # derived; 1.0 when the CVE is in CISA KEV (see KEV_COST)
    "ConnectedTo": 3.0,      # observed traffic: reachability without a known exploit
}
KEV_COST = 1.0
# Crossed backwards as the last hop only: a data asset falls with the host it lives on.
HOSTED_ON = "HostedOn"
HOSTED_ON_COST = 0.0

# Edges that mean "this happened at a time": filtered to the as_of window in paths.
TIMED_EDGES: frozenset[str] = frozenset({"HasSession", "ConnectedTo"})

# What "rights" means in entity_context: control edges a principal holds over an object.
RIGHT_EDGES: tuple[str, ...] = (
    "AdminTo", "CanRDP", "CanPSRemote", "ExecuteDCOM", "SQLAdmin", "AllowedToDelegate",
    "AllowedToAct", "AddAllowedToAct", "GenericAll", "GenericWrite", "WriteDacl",
    "WriteOwner", "Owns", "ForceChangePassword", "AddMember", "AddSelf",
    "AllExtendedRights", "AddKeyCredentialLink", "WriteSPN", "DCSync", "GetChanges",
    "GetChangesAll", "ReadLAPSPassword", "ReadGMSAPassword", "SyncLAPSPassword",
    "WriteAccountRestrictions", "Enroll", "ManageCA", "ManageCertificates",
    "ADCSESC1", "ADCSESC3", "ADCSESC4", "ADCSESC6a", "ADCSESC6b", "ADCSESC9a",
    "ADCSESC9b", "ADCSESC10a", "ADCSESC10b", "ADCSESC13", "GoldenCert",
)

REL_TYPES: frozenset[str] = frozenset(catalog.RELS)  # tests/test_catalog.py: EDGE_COSTS etc. among them

TRAVERSABLE: tuple[str, ...] = tuple(EDGE_COSTS)


class VocabularyError(ValueError):
    """A label or relationship type outside the fixed vocabulary."""


def label(name: str) -> str:
    """A label fit for query text: a safe identifier that the model defines."""
    check_identifier(name)
    if name not in LABELS:
        raise VocabularyError(f"label {name!r} is not in the twin's vocabulary")
    return name


def rel_type(name: str) -> str:
    check_identifier(name)
    if name not in REL_TYPES:
        raise VocabularyError(f"relationship type {name!r} is not in the twin's vocabulary")
    return name


def rel_alternation(names: tuple[str, ...] | list[str]) -> str:
    """`A|B|C` for a relationship pattern, every name checked."""
    if not names:
        raise VocabularyError("an empty set of relationship types")
    return "|".join(rel_type(n) for n in names)


def edge_cost(rel: str, is_kev: bool = False) -> float:
    if rel == "CanExploit" and is_kev:
        return KEV_COST
    if rel == HOSTED_ON:
        return HOSTED_ON_COST
    return EDGE_COSTS.get(rel, 1.0)


# A twin of this many nodes or more is "large": reachability summaries are kept for it
# (graph/derive/reach.py) and the searches take their shortcuts for wide reads (attack
# paths within 3 hops first, the what-if DAG pruned to the footholds' forward hops).
# Below it the plain search is cheap, and a shortcut's extra queries would cost more
# than they save.
LARGE_TWIN_NODES = 50_000
TWIN_NODES_QUERY = "MATCH (n:Twin) RETURN count(n) AS c"  # the count store: one cheap read


# blast_radius's categories of a reached node, first match wins: the search
# (graph/tools/radius.py) and the summaries (graph/derive/reach.py, which store each
# node's index in this tuple) must sort nodes the same way.
BLAST_CATEGORIES: tuple[str, ...] = ("crown_jewels", "tier0", "computers", "users", "groups", "data_assets",
                                     "domains", "zones", "other")


def category_case(v: str) -> str:
    """The Cypher CASE giving node `v` its BLAST_CATEGORIES entry."""
    return f"""CASE
  WHEN coalesce({v}.crown_jewel, false) THEN 'crown_jewels'
  WHEN coalesce({v}.tier0, false) THEN 'tier0'
  WHEN {v}:Computer THEN 'computers'
  WHEN {v}:User THEN 'users'
  WHEN {v}:Group THEN 'groups'
  WHEN {v}:DataAsset THEN 'data_assets'
  WHEN {v}:Domain THEN 'domains'
  WHEN {v}:Zone THEN 'zones'
  ELSE 'other' END"""
