"""SharpHound / BloodHound CE JSON against a real Neo4j, on the real ESC1 sample collection.

Expectations are computed from the sample files themselves (distinct ObjectIdentifiers, every
SID the records name, ACEs, memberships), so the tests say what BloodHound would load rather
than repeat numbers.
"""

from __future__ import annotations

import copy
import functools
import json
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.derive.dcsync import derive_dcsync
from graph.ingest import sharphound
from graph.ingest.base import BadFile, IngestContext, Source
from graph.ingest.registry import ingest
from graph.loader import TwinWriter
from graph.model import NodeSchema, RelSchema
from tests.conftest import real_data

SAMPLE = "bloodhound-esc1-v6"
NOW = 1_700_000_000


def _sample() -> Path:
    return real_data(SAMPLE)


def _docs(folder: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text("utf-8-sig")) for p in sorted(folder.glob("*.json"))}


def _ingest(twin, paths, now=NOW, **kw):
    return ingest(twin.driver, [Path(p) for p in paths], database=twin.database, now=now, **kw)


def _uid(value: str) -> str:
    return value.strip().upper()


def _referenced(docs: dict[str, dict]) -> set[str]:
    """Every objectid a record names, read independently of the connector."""
    refs: set[str] = set()

    def typed(items):
        if isinstance(items, dict):
            items = items.get("Results") or []
        for item in items or []:
            if item and item.get("ObjectIdentifier"):
                refs.add(_uid(item["ObjectIdentifier"]))

    for doc in docs.values():
        for rec in doc["data"]:
            for ace in rec.get("Aces") or []:
                refs.add(_uid(ace["PrincipalSID"]))
            typed(rec.get("Members"))
            typed(rec.get("ChildObjects"))
            typed(rec.get("AllowedToDelegate"))
            typed(rec.get("AllowedToAct"))
            typed(rec.get("HasSIDHistory"))
            typed(rec.get("EnabledCertTemplates"))
            if rec.get("ContainedBy") and rec["ContainedBy"].get("ObjectIdentifier"):
                refs.add(_uid(rec["ContainedBy"]["ObjectIdentifier"]))
            for name in ("PrimaryGroupSID", "HostingComputer", "DomainSID"):
                if rec.get(name):
                    refs.add(_uid(rec[name]))
            for block in ("Sessions", "PrivilegedSessions", "RegistrySessions"):
                for s in (rec.get(block) or {}).get("Results") or []:
                    refs.add(_uid(s["UserSID"]))
            for group in rec.get("LocalGroups") or []:
                typed(group.get("Results"))
            for link in rec.get("Links") or []:
                refs.add(_uid(link["GUID"]))
            for ace in ((rec.get("CARegistryData") or {}).get("CASecurity") or {}).get("Data") or []:
                refs.add(_uid(ace["PrincipalSID"]))
    return refs


# --------------------------------------------------------------------------- sniff


def test_sniff_recognises_every_sample_file_and_nothing_else():
    for path in sorted(_sample().glob("*.json")):
        head = path.read_bytes()[:65536].decode("utf-8", errors="replace")
        assert sharphound.sniff(str(path), head), path.name
    # containers.json is larger than the sniffed head: its meta block is not in it
    big = _sample() / "containers.json"
    assert big.stat().st_size > 65536
    assert '"meta"' not in big.read_bytes()[:65536].decode()
    assert not sharphound.sniff("x.json", '{"data": [{"kind": "AZUser", "data": {"id": "1"}}], "meta": {"type": "azure"}}')
    assert not sharphound.sniff("alerts.json", '{"finding_info": {"uid": "1"}, "class_uid": 2004}')
    assert not sharphound.sniff("users.json", "[1, 2, 3]")
    assert sharphound.sniff("20240101_users.json", '{"data": []}')


# --------------------------------------------------------------------------- the real sample


def test_sample_nodes_one_per_distinct_objectid(twin):
    docs = _docs(_sample())
    report = _ingest(twin, [_sample()])
    assert report.rejected == []
    assert report.formats == {"sharphound": len(docs)}
    assert report.records == sum(len(d["data"]) for d in docs.values())
    assert report.stats.unresolved == 0
    for name, doc in docs.items():
        label = sharphound.KINDS[doc["meta"]["type"]]
        ids = {_uid(r["ObjectIdentifier"]) for r in doc["data"]}
        rows = twin.run(
            f"UNWIND $ids AS id MATCH (n:Twin {{objectid: id}}) RETURN id, n.key AS key, "
            f"n:{label} AS kind, n:Base AS base, n.placeholder AS ph",
            ids=sorted(ids),
        )
        assert sorted(r["id"] for r in rows) == sorted(ids), f"{name}: one node per objectid"
        assert all(r["kind"] and r["base"] and r["ph"] is False for r in rows), name
        real = twin.value(f"MATCH (n:{label}) WHERE NOT n.placeholder RETURN count(n)")
        assert real == len(ids), name
    # keys per contract section 2
    jones = next(r for r in docs["users.json"]["data"] if r["Properties"]["name"] == "JONES@ESC1.LOCAL")
    node = twin.run("MATCH (n:User {key: 'JONES@ESC1.LOCAL'}) RETURN n")[0]["n"]
    assert node["objectid"] == jones["ObjectIdentifier"]
    assert node["samaccountname"] == jones["Properties"]["samaccountname"]
    assert {"jones@esc1.local", jones["Properties"]["samaccountname"].lower()} <= set(node["aliases"])
    assert twin.value("MATCH (d:Domain {key: 'ESC1.LOCAL'}) RETURN d.objectid") == (
        "S-1-5-21-909015691-3030120388-2582151266"
    )
    assert twin.value("MATCH (o:OU) RETURN o.key") == "OU=DOMAIN CONTROLLERS,DC=ESC1,DC=LOCAL"
    dc = twin.run("MATCH (c:Computer {key: 'ESC1-DC.ESC1.LOCAL'}) RETURN c")[0]["c"]
    assert dc["shortname"] == "ESC1-DC" and dc["domain"] == "ESC1.LOCAL" and dc["isdc"] is True
    assert "esc1-dc" in dc["aliases"]


def test_every_named_sid_resolves_to_exactly_one_node(twin):
    docs = _docs(_sample())
    _ingest(twin, [_sample()])
    refs = _referenced(docs)
    rows = twin.run(
        "UNWIND $ids AS id OPTIONAL MATCH (n:Twin {objectid: id}) RETURN id, count(n) AS c", ids=sorted(refs)
    )
    assert {r["id"]: r["c"] for r in rows} == dict.fromkeys(refs, 1)
    defined = {_uid(r["ObjectIdentifier"]) for d in docs.values() for r in d["data"]}
    placeholders = {r["o"] for r in twin.run("MATCH (n {placeholder: true}) RETURN n.objectid AS o")}
    assert placeholders == refs - defined
    # placeholders are keyed by objectid and labelled from the reference
    tl = twin.run("MATCH (n {objectid: 'S-1-5-21-318463681-1533741871-3192839656-512'}) RETURN n.key AS k, labels(n) AS l")
    assert tl[0]["k"] == "S-1-5-21-318463681-1533741871-3192839656-512" and "Group" in tl[0]["l"]
    # no two nodes share an objectid anywhere
    assert twin.value("MATCH (n) WHERE n.objectid IS NOT NULL WITH n.objectid AS o, count(*) AS c WHERE c > 1 RETURN count(*)") == 0


def test_memberships_sessions_local_admins_and_aces(twin):
    docs = _docs(_sample())
    _ingest(twin, [_sample()])
    members = {
        (_uid(m["ObjectIdentifier"]), _uid(g["ObjectIdentifier"]))
        for g in docs["groups.json"]["data"]
        for m in g["Members"]
    }
    members |= {
        (_uid(r["ObjectIdentifier"]), _uid(r["PrimaryGroupSID"]))
        for name in ("users.json", "computers.json")
        for r in docs[name]["data"]
        if r.get("PrimaryGroupSID")
    }
    got = {(r["a"], r["b"]) for r in twin.run("MATCH (a)-[:MemberOf]->(b) RETURN a.objectid AS a, b.objectid AS b")}
    assert got == members
    sessions = {
        (_uid(s["ComputerSID"]), _uid(s["UserSID"]))
        for c in docs["computers.json"]["data"]
        for block in ("Sessions", "PrivilegedSessions", "RegistrySessions")
        if c[block]["Collected"]
        for s in c[block]["Results"]
    }
    got = {(r["a"], r["b"]) for r in twin.run("MATCH (a:Computer)-[:HasSession]->(b:User) RETURN a.objectid AS a, b.objectid AS b")}
    assert got == sessions and sessions
    admins = {
        (_uid(m["ObjectIdentifier"]), _uid(c["ObjectIdentifier"]))
        for c in docs["computers.json"]["data"]
        for g in c["LocalGroups"]
        if g["ObjectIdentifier"].endswith("-544")
        for m in g["Results"]
    }
    got = {(r["a"], r["b"]) for r in twin.run("MATCH (a)-[:AdminTo]->(b:Computer) RETURN a.objectid AS a, b.objectid AS b")}
    assert got == admins and admins
    # every ACE of every object but the enterprise CA (CE rewrites its CA rights) is an edge
    aces: dict[tuple[str, str, str], bool] = {}
    for name, doc in docs.items():
        if name == "enterprisecas.json":
            continue
        for rec in doc["data"]:
            target = _uid(rec["ObjectIdentifier"])
            for ace in rec["Aces"]:
                if _uid(ace["PrincipalSID"]) == target:
                    continue
                k = (_uid(ace["PrincipalSID"]), ace["RightName"], target)
                aces[k] = aces.get(k, True) and ace["IsInherited"]
    rows = twin.run(
        "UNWIND $aces AS a MATCH (p:Twin {objectid: a[0]}) MATCH (t:Twin {objectid: a[2]}) "
        "OPTIONAL MATCH (p)-[r]->(t) WHERE type(r) = a[1] RETURN a, r.isinherited AS inh, r.isacl AS acl",
        aces=[list(k) for k in aces],
    )
    assert len(rows) == len(aces)
    assert all(r["acl"] is True and r["inh"] == aces[tuple(r["a"])] for r in rows)


def test_esc1_adcs_edges_and_path(twin):
    docs = _docs(_sample())
    _ingest(twin, [_sample()])
    ca = docs["enterprisecas.json"]["data"][0]
    ca_id = _uid(ca["ObjectIdentifier"])
    published = {r["t"] for r in twin.run(
        "MATCH (t:CertTemplate)-[:PublishedTo]->(ca:EnterpriseCA {objectid: $ca}) RETURN t.objectid AS t", ca=ca_id)}
    assert published == {_uid(t["ObjectIdentifier"]) for t in ca["EnabledCertTemplates"]}
    assert twin.value("MATCH (c:Computer)-[:HostsCAService]->(:EnterpriseCA {objectid: $ca}) RETURN c.objectid", ca=ca_id) == _uid(ca["HostingComputer"])
    domain = _uid(docs["rootcas.json"]["data"][0]["DomainSID"])
    chain = twin.run(
        "MATCH (ca:EnterpriseCA {objectid: $ca})-[:EnterpriseCAFor]->(:RootCA)-[:RootCAFor]->(d:Domain) "
        "MATCH (ca)-[:TrustedForNTAuth]->(:NTAuthStore)-[:NTAuthStoreFor]->(d) RETURN d.objectid AS d",
        ca=ca_id,
    )
    assert [r["d"] for r in chain] == [domain]
    # ESC1: a principal with Enroll on a template that lets the enrollee supply the subject and
    # authenticates, published by a CA it may also enroll on, trusted for NT authentication
    vulnerable = [t for t in docs["certtemplates.json"]["data"]
                  if t["Properties"]["enrolleesuppliessubject"] and t["Properties"]["authenticationenabled"]
                  and _uid(t["ObjectIdentifier"]) in published]
    assert vulnerable
    ca_enroll = {_uid(a["PrincipalSID"]) for a in ca["CARegistryData"]["CASecurity"]["Data"] if a["RightName"] == "Enroll"}
    expected = {
        _uid(a["PrincipalSID"]) for t in vulnerable for a in t["Aces"] if a["RightName"] == "Enroll"
    } & ca_enroll
    assert expected
    got = {r["p"] for r in twin.run(
        "MATCH (p)-[:Enroll]->(t:CertTemplate {enrolleesuppliessubject: true, authenticationenabled: true})"
        "-[:PublishedTo]->(ca:EnterpriseCA)-[:TrustedForNTAuth]->(:NTAuthStore)-[:NTAuthStoreFor]->(:Domain) "
        "MATCH (p)-[:Enroll]->(ca) RETURN DISTINCT p.objectid AS p")}
    assert got == expected
    esc1 = twin.run("MATCH (t:CertTemplate {key: $k}) RETURN t", k=vulnerable[0]["Properties"]["distinguishedname"].upper())
    assert esc1 and esc1[0]["t"]["ekus"] == vulnerable[0]["Properties"]["ekus"]
    restrictions = ca["CARegistryData"]["EnrollmentAgentRestrictions"]["Restrictions"]
    agents = {_uid(r["Agent"]["ObjectIdentifier"]) for r in restrictions if r["AccessType"] == "AccessAllowedCallback"}
    got = {r["a"] for r in twin.run("MATCH (a)-[:DelegatedEnrollmentAgent]->(:CertTemplate) RETURN DISTINCT a.objectid AS a")}
    assert got == agents


def _closure(seeds: set[str], member_of: dict[str, set[str]]) -> set[str]:
    members: dict[str, set[str]] = defaultdict(set)
    for m, groups in member_of.items():
        for g in groups:
            members[g].add(m)
    seen, todo = set(seeds), list(seeds)
    while todo:
        for m in members.get(todo.pop(), ()):
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return seen


def test_dcsync_derived_through_nested_membership(twin):
    docs = _docs(_sample())
    _ingest(twin, [_sample()])
    member_of: dict[str, set[str]] = defaultdict(set)
    for g in docs["groups.json"]["data"]:
        for m in g["Members"]:
            member_of[_uid(m["ObjectIdentifier"])].add(_uid(g["ObjectIdentifier"]))
    for name in ("users.json", "computers.json"):
        for r in docs[name]["data"]:
            if r.get("PrimaryGroupSID"):
                member_of[_uid(r["ObjectIdentifier"])].add(_uid(r["PrimaryGroupSID"]))
    expected = set()
    for d in docs["domains.json"]["data"]:
        rights = defaultdict(set)
        for a in d["Aces"]:
            rights[a["RightName"]].add(_uid(a["PrincipalSID"]))
        both = _closure(rights["GetChanges"], member_of) & _closure(rights["GetChangesAll"], member_of)
        expected |= {(p, _uid(d["ObjectIdentifier"])) for p in both}
    got = {(r["a"], r["b"]) for r in twin.run("MATCH (a)-[:DCSync]->(b:Domain) RETURN a.objectid AS a, b.objectid AS b")}
    assert got == expected
    direct = {p for p, _ in expected if p.endswith("S-1-5-32-544")}
    assert direct, "the direct holder of both rights"
    assert len(expected) > len(direct), "members of the holders count too"
    assert twin.value("MATCH (c:Computer {isdc: true})-[:DCSync]->(:Domain) RETURN count(c)") >= 1
    # derivation is idempotent, and follows the rights when they go away
    before = twin.snapshot()
    derive_dcsync(TwinWriter(twin.driver, "sharphound", database=twin.database, now=NOW))
    assert twin.snapshot() == before
    twin.run("MATCH ()-[r:GetChangesAll]->(:Domain) DELETE r")
    derive_dcsync(TwinWriter(twin.driver, "sharphound", database=twin.database, now=NOW + 1))
    assert twin.value("MATCH ()-[r:DCSync]->() RETURN count(r)") == 0


def test_tier0_and_stub_merge(twin):
    docs = _docs(_sample())
    _ingest(twin, [_sample()])
    tier0 = {r["k"] for r in twin.run("MATCH (n {tier0: true}) WHERE NOT n.placeholder RETURN n.key AS k")}
    for must in ("ESC1.LOCAL", "DOMAIN ADMINS@ESC1.LOCAL", "ENTERPRISE ADMINS@ESC1.LOCAL",
                 "ADMINISTRATORS@ESC1.LOCAL", "DOMAIN CONTROLLERS@ESC1.LOCAL",
                 "SCHEMA ADMINS@ESC1.LOCAL", "ESC1-DC.ESC1.LOCAL"):
        assert must in tier0
    assert "DOMAIN USERS@ESC1.LOCAL" not in tier0 and "ESC1-SERVER.ESC1.LOCAL" not in tier0
    highvalue = {r["Properties"]["name"] for d in docs.values() for r in d["data"]
                 if r.get("Properties", {}).get("highvalue") is True}
    assert highvalue <= tier0
    # the name-only stub of Administrators did not blank the full record it repeats
    full = next(r for r in docs["groups.json"]["data"]
                if r["ObjectIdentifier"] == "ESC1.LOCAL-S-1-5-32-544" and "description" in r["Properties"])
    node = twin.run("MATCH (g:Group {objectid: 'ESC1.LOCAL-S-1-5-32-544'}) RETURN g")[0]["g"]
    assert node["description"] == full["Properties"]["description"]
    assert node["distinguishedname"] == full["Properties"]["distinguishedname"]
    # the domain's {"collected": true} stub merged into the named record
    assert twin.value("MATCH (d:Domain) RETURN count(d)") == 1
    assert twin.value("MATCH (d:Domain) RETURN d.functionallevel") == "2016"


def test_stub_order_does_not_matter(twin, tmp_path):
    doc = _docs(_sample())["groups.json"]
    reversed_doc = copy.deepcopy(doc)
    reversed_doc["data"].reverse()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "groups.json").write_text(json.dumps(doc))
    (tmp_path / "b" / "groups.json").write_text(json.dumps(reversed_doc))
    _ingest(twin, [tmp_path / "a"])
    first = twin.snapshot()
    twin.run("MATCH (n) DETACH DELETE n")
    _ingest(twin, [tmp_path / "b"])
    assert twin.snapshot() == first


# --------------------------------------------------------------------------- runs


def test_ingest_twice_changes_only_lastseen(twin):
    _ingest(twin, [_sample()], now=NOW)
    first = twin.snapshot()
    report = _ingest(twin, [_sample()], now=NOW + 3600)
    assert report.stats.nodes_created == 0 and report.stats.relationships_created == 0
    assert twin.snapshot() == first
    assert twin.value("MATCH (n:User {key: 'JONES@ESC1.LOCAL'}) RETURN n.lastseen") == NOW + 3600


def test_zip_equals_folder(twin, tmp_path):
    archive = tmp_path / "20231129_BloodHound.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(_sample().glob("*.json")):
            zf.write(path, f"20231129_{path.name}")
    report = _ingest(twin, [archive])
    assert report.rejected == [] and report.formats == {"sharphound": 13}
    from_zip = twin.snapshot()
    twin.run("MATCH (n) DETACH DELETE n")
    _ingest(twin, [_sample()])
    assert twin.snapshot() == from_zip


def test_placeholders_upgraded_in_place_across_runs(twin):
    """computers.json first names users and groups it does not define; the run that brings
    them must end with the graph a single run gives, not with twins of those objects."""
    sample = _sample()
    _ingest(twin, [sample / "computers.json"])
    assert twin.value("MATCH (n:User {placeholder: true}) RETURN count(n)") >= 1
    _ingest(twin, [sample])
    staged = twin.snapshot()
    twin.run("MATCH (n) DETACH DELETE n")
    _ingest(twin, [sample])
    assert staged == twin.snapshot()


def test_placeholder_absorbed_into_host_that_owns_its_key(twin, tmp_path):
    """A placeholder computer whose proper key an Nmap-style host (no objectid) already holds:
    one node remains, with both sources' edges."""
    sid = "S-1-5-21-1-2-3-1500"
    groups = {"data": [{"ObjectIdentifier": "S-1-5-21-1-2-3-515", "Properties": {"name": "DOMAIN COMPUTERS@CORP.LOCAL"},
                        "Members": [{"ObjectIdentifier": sid, "ObjectType": "Computer"}], "Aces": []}],
              "meta": {"type": "groups", "version": 6, "count": 1}}
    computers = {"data": [{"ObjectIdentifier": sid, "Properties": {"name": "WS01.CORP.LOCAL", "domain": "CORP.LOCAL"},
                           "Aces": [], "LocalGroups": []}],
                 "meta": {"type": "computers", "version": 6, "count": 1}}
    (tmp_path / "groups.json").write_text(json.dumps(groups))
    (tmp_path / "computers.json").write_text(json.dumps(computers))
    _ingest(twin, [tmp_path / "groups.json"])
    writer = TwinWriter(twin.driver, "nmap", database=twin.database, now=NOW)
    writer.nodes(NodeSchema("Computer"), [{"key": "WS01.CORP.LOCAL", "props": {"ip": "10.0.0.5"}}])
    writer.nodes(NodeSchema("Service"), [{"key": "WS01.CORP.LOCAL:445/TCP", "props": {"port": 445}}])
    writer.rels(RelSchema("HasService"), [{"src": "WS01.CORP.LOCAL", "dst": "WS01.CORP.LOCAL:445/TCP"}])
    _ingest(twin, [tmp_path / "computers.json"])
    rows = twin.run("MATCH (c:Computer) RETURN c")
    assert len(rows) == 1
    c = rows[0]["c"]
    assert c["key"] == "WS01.CORP.LOCAL" and c["objectid"] == sid and c["ip"] == "10.0.0.5"
    assert c["placeholder"] is False and set(c["sources"]) == {"sharphound", "nmap"}
    assert twin.value("MATCH (:Computer)-[:MemberOf]->(:Group) RETURN count(*)") == 1
    assert twin.value("MATCH (:Computer)-[:HasService]->(:Service) RETURN count(*)") == 1


def test_renamed_object_keeps_one_node(twin, tmp_path):
    def users(name):
        return {"data": [{"ObjectIdentifier": "S-1-5-21-1-2-3-1105", "Properties": {"name": name, "domain": "CORP.LOCAL"},
                          "PrimaryGroupSID": "S-1-5-21-1-2-3-513", "Aces": []}],
                "meta": {"type": "users", "version": 5, "count": 1}}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "users.json").write_text(json.dumps(users("ALICE@CORP.LOCAL")))
    (tmp_path / "b" / "users.json").write_text(json.dumps(users("ALICE.SMITH@CORP.LOCAL")))
    _ingest(twin, [tmp_path / "a"])
    _ingest(twin, [tmp_path / "b"], now=NOW + 10)
    assert [r["k"] for r in twin.run("MATCH (u:User) RETURN u.key AS k")] == ["ALICE.SMITH@CORP.LOCAL"]
    assert twin.value("MATCH (:User)-[r:MemberOf]->() RETURN count(r)") == 1


# --------------------------------------------------------------------------- formats and versions


def test_v5_file_without_meta_older_blocks_and_trusts(twin, tmp_path):
    """Older SharpHound shapes: LocalAdmins blocks, GPOChanges, sessions as plain lists, no meta
    (the file name says the kind), trusts with numeric direction."""
    computers = {"data": [{
        "ObjectIdentifier": "S-1-5-21-9-9-9-1001",
        "Properties": {"name": "WS02.CORP.LOCAL", "domain": "CORP.LOCAL", "unconstraineddelegation": True,
                       "domainsid": "S-1-5-21-9-9-9"},
        "LocalAdmins": {"Results": [{"ObjectIdentifier": "S-1-5-21-9-9-9-1105", "ObjectType": "User"}], "Collected": True},
        "RemoteDesktopUsers": [{"ObjectIdentifier": "S-1-5-21-9-9-9-513", "ObjectType": "Group"}],
        "Sessions": [{"UserSID": "S-1-5-21-9-9-9-1106", "ComputerSID": "S-1-5-21-9-9-9-1001"}],
        "Aces": [{"PrincipalSID": "S-1-5-21-9-9-9-1105", "PrincipalType": "User", "RightName": "ReadLAPSPassword",
                  "IsInherited": False}],
    }]}
    domains = {"data": [{
        "ObjectIdentifier": "S-1-5-21-9-9-9",
        "Properties": {"name": "CORP.LOCAL", "domain": "CORP.LOCAL"},
        "Trusts": [{"TargetDomainSid": "S-1-5-21-7-7-7", "TargetDomainName": "PARTNER.LOCAL", "TrustDirection": 3,
                    "TrustType": 3, "IsTransitive": False, "SidFilteringEnabled": True}],
        "GPOChanges": {"LocalAdmins": [{"ObjectIdentifier": "S-1-5-21-9-9-9-1107", "ObjectType": "User"}],
                       "AffectedComputers": [{"ObjectIdentifier": "S-1-5-21-9-9-9-1001", "ObjectType": "Computer"}]},
        "Links": [{"GUID": "11111111-2222-3333-4444-555555555555", "IsEnforced": True}],
        "Aces": [],
    }], "meta": {"type": "domains", "version": 5, "count": 1}}
    (tmp_path / "20240101_computers.json").write_text(json.dumps(computers))
    (tmp_path / "20240101_domains.json").write_text(json.dumps(domains))
    report = _ingest(twin, [tmp_path])
    assert report.rejected == [] and report.stats.unresolved == 0
    edges = {(r["a"], r["t"], r["b"]) for r in twin.run(
        "MATCH (a)-[r]->(b) RETURN a.key AS a, type(r) AS t, b.key AS b")}
    assert ("S-1-5-21-9-9-9-1105", "AdminTo", "WS02.CORP.LOCAL") in edges
    assert ("S-1-5-21-9-9-9-1107", "AdminTo", "WS02.CORP.LOCAL") in edges
    assert ("S-1-5-21-9-9-9-513", "CanRDP", "WS02.CORP.LOCAL") in edges
    assert ("WS02.CORP.LOCAL", "HasSession", "S-1-5-21-9-9-9-1106") in edges
    assert ("S-1-5-21-9-9-9-1105", "ReadLAPSPassword", "WS02.CORP.LOCAL") in edges
    assert ("WS02.CORP.LOCAL", "CoerceToTGT", "CORP.LOCAL") in edges
    assert ("PARTNER.LOCAL", "TrustedBy", "CORP.LOCAL") in edges and ("CORP.LOCAL", "TrustedBy", "PARTNER.LOCAL") in edges
    assert twin.value("MATCH ()-[r:GPLink]->(:Domain) RETURN r.enforced") is True
    trust = twin.run("MATCH (:Domain {key: 'PARTNER.LOCAL'})-[r:TrustedBy]->() RETURN r")[0]["r"]
    assert trust["trusttype"] == "External" and trust["transitive"] is False and trust["sidfiltering"] is True
    assert twin.value("MATCH (d:Domain {key: 'PARTNER.LOCAL'}) RETURN d.placeholder") is False


# --------------------------------------------------------------------------- malformed input


@functools.cache
def _sample_docs() -> dict[str, dict]:
    return _docs(_sample())


def _base_doc() -> dict:
    """A few real records of each shape: users, groups (stubs among them), the computers, the
    enterprise CA and the domains, as fresh copies to mutate."""
    docs = _sample_docs()
    return {
        "users": {"data": copy.deepcopy(docs["users.json"]["data"][:3]), "meta": {"type": "users", "version": 6}},
        "groups": {"data": copy.deepcopy(docs["groups.json"]["data"][:4]), "meta": {"type": "groups", "version": 6}},
        "computers": {"data": copy.deepcopy(docs["computers.json"]["data"]), "meta": {"type": "computers", "version": 6}},
        "enterprisecas": {"data": copy.deepcopy(docs["enterprisecas.json"]["data"]), "meta": {"type": "enterprisecas", "version": 6}},
        "domains": {"data": copy.deepcopy(docs["domains.json"]["data"]), "meta": {"type": "domains", "version": 6}},
    }


def test_bad_records_rejected_with_reasons_rest_loads(twin, tmp_path):
    doc = _base_doc()["users"]
    n = len(doc["data"])
    doc["data"].append({"Properties": {"name": "NOID@ESC1.LOCAL"}})
    doc["data"].append({"ObjectIdentifier": "S-1-5-21-1-1-1-1", "Properties": ["not", "an", "object"]})
    doc["data"].append({"ObjectIdentifier": "S-1-5-21-1-1-1-2", "Aces": [{"PrincipalSID": 5, "RightName": "GenericAll"}]})
    doc["data"].append("just a string")
    doc["data"].append({"ObjectIdentifier": "S-1-5-21-1-1-1-3", "Properties": {"name": "OK@ESC1.LOCAL"},
                        "Aces": [{"PrincipalSID": "S-1-5-21-1-1-1-4", "RightName": "Not An Edge", "IsInherited": False}]})
    path = tmp_path / "users.json"
    path.write_text(json.dumps(doc))
    report = _ingest(twin, [path])
    by_record = {r.record: r.error for r in report.rejected}
    assert by_record[f"data[{n}]"] == "ObjectIdentifier is missing"
    assert "Properties must be an object" in by_record[f"data[{n + 1}]"]
    assert "Aces[0].PrincipalSID must be a string" in by_record[f"data[{n + 2}]"]
    assert "must be an object" in by_record[f"data[{n + 3}]"]
    assert "not an edge name" in by_record[f"data[{n + 4}].Aces[0]"]
    assert all(r.file == str(path) for r in report.rejected)
    assert twin.value("MATCH (u:User) WHERE NOT u.placeholder RETURN count(u)") == n + 1
    assert twin.value("MATCH (u:User {key: 'OK@ESC1.LOCAL'}) RETURN count(u)") == 1


@pytest.mark.parametrize(
    "content, reason",
    [
        (b'{"data": [', "not JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"[1, 2]", "JSON object"),
        (b'{"meta": {"type": "users", "version": 6}}', "no `data`"),
        (b'{"data": {}, "meta": {"type": "users"}}', "`data` must be a list"),
        (b'{"data": [], "meta": {"type": "azure", "version": 6}}', "meta.type"),
        (b'{"data": [], "meta": {"type": "users", "version": 3}}', "meta.version"),
        (b'{"data": []}', "file name"),
    ],
)
def test_unparseable_file_leaves_twin_unchanged(twin, tmp_path, content, reason):
    _ingest(twin, [_sample() / "groups.json"])
    before = twin.snapshot()
    path = tmp_path / "collection.json"
    path.write_bytes(content)
    report = ingest(twin.driver, [path], database=twin.database, forced_format="sharphound", now=NOW + 5)
    assert len(report.rejected) == 1 and report.rejected[0].record == "-"
    assert reason in report.rejected[0].error
    assert twin.snapshot() == before


_json = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=10,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


@st.composite
def _mutated(draw):
    docs = _base_doc()
    kind = draw(st.sampled_from(sorted(docs)))
    doc = docs[kind]
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        if not path:
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "delete", "sid"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "sid":
            parent[path[-1]] = draw(st.sampled_from(["", "S-1-5-21-1-2-3-99", "esc1.local-s-1-5-11", "\ud800x", "x" * 2000]))
        else:
            parent[path[-1]] = draw(_json)
    return kind, doc


def _check_batch(batch, n_records):
    for schema, rows in batch.nodes:
        assert schema.label in sharphound.LABELS | {"Base"}
        for row in rows:
            assert isinstance(row["key"], str) and row["key"]
            assert isinstance(row["props"]["objectid"], str)
    for schema, rows in batch.rels:
        assert schema.type.isidentifier()
        for row in rows:
            assert isinstance(row["src"], str) and isinstance(row["dst"], str)
    for r in batch.rejected:
        assert r.record.startswith("data[") and r.error
        assert int(r.record[5:].split("]")[0]) < n_records


@settings(max_examples=200, deadline=None)
@given(_mutated())
def test_random_mutations_never_crash_transform(mutation):
    kind, doc = mutation
    source = Source(f"{kind}.json", json.dumps(doc).encode())
    ctx = IngestContext(driver=None, database=None, now=NOW)
    try:
        batch = sharphound.transform(source, ctx)
    except BadFile as exc:
        assert str(exc)
        return
    _check_batch(batch, len(doc["data"]))
    whole = {r.record for r in batch.rejected if "." not in r.record}
    written = {row["props"]["objectid"] for _, rows in batch.nodes for row in rows
               if row["props"].get("placeholder") is False}
    for i, rec in enumerate(doc["data"]):
        if f"data[{i}]" not in whole:
            assert _uid(rec["ObjectIdentifier"].encode("utf-8", "replace").decode()) in written


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_mutated())
def test_random_mutations_load_without_errors(twin, tmp_path, mutation):
    kind, doc = mutation
    twin.run("MATCH (n) DETACH DELETE n")
    path = tmp_path / f"{kind}.json"
    path.write_text(json.dumps(doc))
    report = _ingest(twin, [path])
    assert report.stats.unresolved == 0, "every edge end exists (real node or placeholder)"
    assert twin.value("MATCH (n) WHERE n.objectid IS NOT NULL WITH n.objectid AS o, count(*) AS c "
                      "WHERE c > 1 RETURN count(*)") == 0
    if report.files == 0:
        assert twin.counts() == (0, 0)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_arbitrary_bytes_are_bad_file_or_batch(data):
    try:
        batch = sharphound.transform(Source("users.json", data), IngestContext(None, None, NOW))
    except BadFile as exc:
        assert str(exc), "a BadFile says why"
    else:
        doc = json.loads(data.decode("utf-8-sig"))
        assert batch.records == len(doc["data"])
        _check_batch(batch, len(doc["data"]))
