"""The synthetic enterprise: deterministic for a seed, shaped like a real SharpHound CE v6
collection, internally consistent, and — through the real connectors — a twin in which
every fact `generation.json` plants can be found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graph.generate import build_enterprise, generate
from graph.generate.model import CLIENT_AUTH
from graph.ingest.registry import ingest
from tests.conftest import real_data

KINDS = ("users", "groups", "computers", "domains", "ous", "gpos", "containers", "certtemplates",
         "enterprisecas", "rootcas", "aiacas", "ntauthstores")


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("corp")
    return out, generate(out, seed=42, hosts=30, users=60)


def load_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8-sig"))


def collection(out: Path) -> dict[str, list[dict]]:
    return {k: load_json(out / "ad" / f"{k}.json")["data"] for k in KINDS}


def test_same_seed_same_bytes_other_seed_other_estate(tmp_path):
    a = generate(tmp_path / "a", seed=5, hosts=20, users=40)
    b = generate(tmp_path / "b", seed=5, hosts=20, users=40)
    c = generate(tmp_path / "c", seed=6, hosts=20, users=40)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) == 15
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert a["planted"] == b["planted"]
    assert (tmp_path / "a/ad/users.json").read_bytes() != (tmp_path / "c/ad/users.json").read_bytes()
    assert a["domain_sid"] != c["domain_sid"]


@pytest.mark.parametrize("chunk", [1, 2, 7, 10_000])
def test_streamed_json_is_valid_at_every_chunk_boundary(tmp_path, monkeypatch, chunk):
    import graph.generate.sharphound as sh

    monkeypatch.setattr(sh, "CHUNK", chunk)
    ent = build_enterprise(9, hosts=14, users=30)
    counts = sh.write_sharphound(ent, tmp_path)
    for name, n in counts.items():
        doc = load_json(tmp_path / name)
        assert len(doc["data"]) == doc["meta"]["count"] == n


def _full(records: list[dict]) -> list[dict]:
    """Real records, not the name-only stubs SharpHound adds for well-known principals."""
    return [r for r in records if len(r["Properties"]) > 3]


def test_files_mirror_the_real_collection_layout(small):
    out, _ = small
    real_dir = real_data("bloodhound-esc1-v6")
    mine = collection(out)
    for kind in KINDS:
        doc, real = load_json(out / "ad" / f"{kind}.json"), load_json(real_dir / f"{kind}.json")
        assert set(doc) == {"data", "meta"}
        assert set(doc["meta"]) == set(real["meta"])
        assert (doc["meta"]["type"], doc["meta"]["version"], doc["meta"]["count"]) == (kind, 6, len(doc["data"]))
        real_full, mine_full = _full(real["data"]), _full(mine[kind])
        assert mine_full, kind
        top = set(real_full[0])
        props = set().union(*(set(r["Properties"]) for r in real_full))
        for obj in mine_full:
            assert set(obj) == top, (kind, set(obj) ^ top)
            assert props <= set(obj["Properties"]) <= props | {"allowedtodelegate"}, kind
            for ace in obj["Aces"]:
                assert set(ace) == {"PrincipalSID", "PrincipalType", "RightName", "IsInherited"}
            if obj["ContainedBy"] is not None:
                assert set(obj["ContainedBy"]) == {"ObjectIdentifier", "ObjectType"}
    real_stub = [r for r in load_json(real_dir / "groups.json")["data"] if len(r["Properties"]) == 3][0]
    stubs = [g for g in mine["groups"] if len(g["Properties"]) == 3]
    assert {g["Properties"]["name"] for g in stubs} == {"EVERYONE@CORP.LOCAL", "AUTHENTICATED USERS@CORP.LOCAL",
                                                         "ENTERPRISE DOMAIN CONTROLLERS@CORP.LOCAL"}
    assert all(set(g) == set(real_stub) for g in stubs)
    real_dc = load_json(real_dir / "computers.json")["data"][0]
    for c in mine["computers"]:
        assert set(c["Sessions"]) == set(real_dc["Sessions"])
        for lg in c["LocalGroups"]:
            assert set(lg) == set(real_dc["LocalGroups"][0])
    real_ca = load_json(real_dir / "enterprisecas.json")["data"][0]
    assert set(mine["enterprisecas"][0]["CARegistryData"]) == set(real_ca["CARegistryData"])


def test_well_known_identities(small):
    out, summary = small
    data = collection(out)
    dsid = summary["domain_sid"]
    groups = {g["Properties"]["name"]: g["ObjectIdentifier"] for g in data["groups"]}
    for name, rid in (("DOMAIN ADMINS", 512), ("DOMAIN USERS", 513), ("DOMAIN COMPUTERS", 515),
                      ("DOMAIN CONTROLLERS", 516), ("SCHEMA ADMINS", 518), ("ENTERPRISE ADMINS", 519),
                      ("KEY ADMINS", 526), ("ENTERPRISE KEY ADMINS", 527)):
        assert groups[f"{name}@CORP.LOCAL"] == f"{dsid}-{rid}"
    for name, rid in (("ADMINISTRATORS", 544), ("ACCOUNT OPERATORS", 548), ("BACKUP OPERATORS", 551),
                      ("REMOTE DESKTOP USERS", 555)):
        assert groups[f"{name}@CORP.LOCAL"] == f"CORP.LOCAL-S-1-5-32-{rid}"
    users = {u["Properties"]["name"]: u for u in data["users"]}
    assert users["ADMINISTRATOR@CORP.LOCAL"]["ObjectIdentifier"] == f"{dsid}-500"
    assert users["KRBTGT@CORP.LOCAL"]["Properties"]["enabled"] is False
    assert data["domains"][0]["ObjectIdentifier"] == dsid
    dcs = [c for c in data["computers"] if c["PrimaryGroupSID"] == f"{dsid}-516"]
    assert {c["Properties"]["name"] for c in dcs} == set(summary["servers"]["dc"])
    assert all(c["Properties"]["unconstraineddelegation"] for c in dcs)
    # RIDs are unique across users, groups and computers
    sids = [o["ObjectIdentifier"] for k in ("users", "groups", "computers") for o in data[k]]
    assert len(sids) == len(set(sids))
    # tiers nest: TIER0-ADMINS is a member of Domain Admins
    da = next(g for g in data["groups"] if g["ObjectIdentifier"] == f"{dsid}-512")
    assert {"ObjectIdentifier": groups["TIER0-ADMINS@CORP.LOCAL"], "ObjectType": "Group"} in da["Members"]


def test_every_reference_resolves(small):
    out, _ = small
    data = collection(out)
    defined = {o["ObjectIdentifier"] for objs in data.values() for o in objs}
    computers = {c["ObjectIdentifier"] for c in data["computers"]}
    refs: set[str] = set()
    for objs in data.values():
        for o in objs:
            refs |= {a["PrincipalSID"] for a in o.get("Aces", [])}
            refs |= {m["ObjectIdentifier"] for m in o.get("Members", [])}
            refs |= {c["ObjectIdentifier"] for c in o.get("ChildObjects", [])}
            refs |= {link["GUID"] for link in o.get("Links", [])}
            if o.get("ContainedBy") and o["ContainedBy"]["ObjectType"] != "Base":
                refs.add(o["ContainedBy"]["ObjectIdentifier"])
    for c in data["computers"]:
        refs |= {s["UserSID"] for s in c["Sessions"]["Results"]}
        for lg in c["LocalGroups"]:
            refs |= {m["ObjectIdentifier"] for m in lg["Results"]}
            if not lg["ObjectIdentifier"].startswith("CORP.LOCAL-"):
                assert lg["ObjectIdentifier"].rsplit("-", 1)[0] in computers
    ca = data["enterprisecas"][0]
    refs |= {t["ObjectIdentifier"] for t in ca["EnabledCertTemplates"]} | {ca["HostingComputer"]}
    assert refs - defined == set()


def test_planted_facts_are_in_the_files(small):
    out, summary = small
    data = collection(out)
    planted = json.loads((out / "generation.json").read_text())["planted"]
    assert planted == summary["planted"]
    by_name = {o["Properties"].get("name"): o for k in ("users", "groups", "computers", "domains") for o in data[k]}
    by_dn = {o["Properties"].get("distinguishedname"): o for k in KINDS for o in data[k]}
    obj = lambda key: by_name.get(key) or by_dn[key]  # noqa: E731
    assert planted["kerberoastable"]
    for key in planted["kerberoastable"]:
        p = by_name[key]["Properties"]
        assert p["hasspn"] and p["serviceprincipalnames"] and p["enabled"]
    for key in planted["asrep_roastable"]:
        assert by_name[key]["Properties"]["dontreqpreauth"] is True
    domain = data["domains"][0]
    for key in planted["dcsync_principals"]:
        sid = by_name[key]["ObjectIdentifier"]
        rights = {a["RightName"] for a in domain["Aces"] if a["PrincipalSID"] == sid}
        assert {"GetChanges", "GetChangesAll"} <= rights
    assert len(planted["acl_misconfigurations"]) >= 6
    for m in planted["acl_misconfigurations"]:
        sid = obj(m["principal"])["ObjectIdentifier"]
        assert any(a["PrincipalSID"] == sid and a["RightName"] == m["right"] for a in obj(m["target"])["Aces"]), m
    for t in planted["esc1_templates"]:
        p = by_dn[t["template"]]["Properties"]
        assert p["enrolleesuppliessubject"] and p["authenticationenabled"] and not p["requiresmanagerapproval"]
        assert CLIENT_AUTH in p["ekus"]
        enroll = {a["PrincipalSID"] for a in by_dn[t["template"]]["Aces"] if a["RightName"] == "Enroll"}
        assert {by_name[e]["ObjectIdentifier"] for e in t["enrollees"]} <= enroll
    for dn in planted["not_esc1_lookalikes"]:
        p = by_dn[dn]["Properties"]
        assert p["enrolleesuppliessubject"] and (p["requiresmanagerapproval"] or not p["authenticationenabled"])
    path = planted["attack_path"]
    nodes = path["nodes"]
    assert len(path["edges"]) == len(nodes) - 1
    entry, rg, wsa, ws, t0 = (obj(k) for k in nodes[:5])
    assert {"ObjectIdentifier": entry["ObjectIdentifier"], "ObjectType": "User"} in rg["Members"]
    assert any(a["PrincipalSID"] == rg["ObjectIdentifier"] and a["RightName"] == "AddMember" for a in wsa["Aces"])
    admins = next(lg for lg in ws["LocalGroups"] if lg["ObjectIdentifier"].endswith("-544"))
    assert {"ObjectIdentifier": wsa["ObjectIdentifier"], "ObjectType": "Group"} in admins["Results"]
    assert t0["ObjectIdentifier"] in {s["UserSID"] for s in ws["Sessions"]["Results"]}
    inventory = (out / "inventory.csv").read_text().splitlines()
    assert inventory[0] == "name,type,criticality,crown_jewel,owner,hosted_on,tags"
    crown = {line.split(",")[0] for line in inventory[1:] if line.split(",")[3] == "true"}
    assert crown == set(planted["crown_jewels"]) and {"CUSTOMER-DB", "CORP.LOCAL"} <= crown


def test_sizes_scale_and_are_checked():
    ent = build_enterprise(3, hosts=2400, users=4000)
    assert (len(ent.hosts), len(ent.users), len(ent.groups)) == (2400, 4000, 7600)
    assert sum(len(g.members) for g in ent.groups) > 7600 * 2
    assert len({h.ip for h in ent.hosts}) == 2400
    for bad in ({"hosts": 7}, {"hosts": 50, "users": 10}, {"hosts": 50, "misconfig_rate": 2.0}):
        with pytest.raises(ValueError):
            build_enterprise(1, **bad)


def test_generated_enterprise_ingests_with_planted_facts(twin, small):
    pytest.importorskip("graph.ingest.sharphound")
    out, summary = small
    paths = [out / p for p in summary["ingest_paths"]]
    report = ingest(twin.driver, paths, database=twin.database)
    assert [r.as_dict() for r in report.rejected] == []
    assert report.formats == {"sharphound": 12, "network": 1, "inventory": 1}
    planted = summary["planted"]

    def edge(src: str, rel: str, dst: str) -> bool:
        return bool(twin.value(f"MATCH (:Twin {{key: $a}})-[r:{rel}]->(:Twin {{key: $b}}) RETURN count(r) > 0",
                               a=src, b=dst))

    counts = summary["counts"]
    assert twin.value("MATCH (n:User) RETURN count(n)") == counts["users"]
    assert twin.value("MATCH (n:Group) RETURN count(n)") == counts["groups"]
    assert twin.value("MATCH (n:Computer) WHERE n.objectid IS NOT NULL RETURN count(n)") == counts["computers"]
    for key in planted["kerberoastable"]:
        assert twin.value("MATCH (u:User {key: $k}) RETURN u.hasspn", k=key) is True
    for key in planted["asrep_roastable"]:
        assert twin.value("MATCH (u:User {key: $k}) RETURN u.dontreqpreauth", k=key) is True
    for key in planted["dcsync_principals"]:
        assert edge(key, "DCSync", summary["domain"])
    for m in planted["acl_misconfigurations"]:
        assert edge(m["principal"], m["right"], m["target"]), m
    path = planted["attack_path"]
    for a, rel, b in zip(path["nodes"], path["edges"], path["nodes"][1:], strict=False):
        assert edge(a, rel, b), (a, rel, b)
    for t in planted["esc1_templates"]:
        assert twin.value("MATCH (t:CertTemplate {key: $k}) RETURN t.enrolleesuppliessubject", k=t["template"]) is True
        assert edge(t["template"], "PublishedTo", t["ca"])
        for e in t["enrollees"]:
            assert edge(e, "Enroll", t["template"])
    for m in planted["local_admin_misconfig"]:
        assert edge(m["principal"], "AdminTo", m["computer"])
    for s in planted["admin_sessions"]:
        assert edge(s["computer"], "HasSession", s["user"])
    for c in planted["constrained_delegation"]:
        assert edge(c["principal"], "AllowedToDelegate", c["target"])
    for key in planted["crown_jewels"]:
        assert twin.value("MATCH (n:Twin {key: $k}) RETURN n.crown_jewel", k=key) is True
    assert edge("CUSTOMER-DB", "HostedOn", summary["servers"]["db"][0])
    assert twin.value("MATCH (:Internet)-[r:CanReach]->(:Zone {key: 'dmz'}) RETURN r.ports") == ["443/tcp"]
    for a in planted["appliances"]:
        assert edge(a["key"], "InZone", a["zone"])
    # the inventory annotated the AD host rather than creating a second one
    pki = summary["servers"]["pki"][0]
    assert twin.value("MATCH (c:Computer {key: $k}) RETURN c.criticality + '/' + c.objectid", k=pki).startswith("critical/S-1-5-21-")
    jump = summary["servers"]["jump"][0]
    assert twin.value("MATCH (c:Computer {key: $k}) RETURN c.owner", k=jump) == "it-identity"

    again = ingest(twin.driver, paths, database=twin.database)
    assert again.rejected == []
    assert (again.stats.nodes_created, again.stats.relationships_created) == (0, 0)
