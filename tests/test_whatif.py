"""What-if on hand-built twins with known answers; the twin must never change.

Twins:
- `corp` (graph.tools.fixtures.corp_twin): INTERNET -CanExploit(KEV CVE-2021-41773)-> WEB01
  -InZone-> dmz -CanExploit-> DB01 <-HostedOn- CUSTOMER-DB, plus an identity path to
  Domain Admins; WEB01 is the only bridge to CUSTOMER-DB.
- `shop` (built below): an internet-facing web host running an application with a
  vulnerable log4j, the only way to the ORDERS database; versions of log4j known
  elsewhere in the twin; a plugin whose recorded constraint an update breaks; a second
  crown jewel (LEDGER) in a vault zone nothing reaches.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.derive.exploit import compute_exploit_edges, exploit_rows
from graph.schema import reset_twin
from graph.tools.fixtures import T0, TwinBuilder, corp_twin, synthetic_twin
from graph.whatif import (
    Action,
    ForwardBall,
    PathScope,
    WhatIfError,
    WhatIfInputError,
    compare_versions,
    fixed_in,
    keys_of,
    parse_argv,
    rank,
    run_whatif_argv,
    runner,
    satisfies,
    simulate,
    subtract_ports,
    whatif_command,
)
from graph.whatif import runner as _runner
from tests.conftest import REPO, Twin
from tests.tcp_proxy import CuttingProxy

LOG4J = "pkg:maven/org.apache.logging.log4j/log4j-core"
SHOP = "pkg:maven/com.acme/shop@1.0.0"
PLUGIN = "pkg:maven/com.acme/report-plugin@1.2.0"
WEB01, DB01, DB02, OTHER = "WEB01.SHOP.LOCAL", "DB01.SHOP.LOCAL", "DB02.SHOP.LOCAL", "OTHER02.SHOP.LOCAL"
ALICE = "ALICE@SHOP.LOCAL"


def shop_twin(driver, database) -> None:
    """Known answers:
    - entry points: INTERNET and ALICE (phishable); goals: ORDERS (on DB01) and LEDGER
      (on DB02, in the vault zone nothing reaches). Paths: (INTERNET, ORDERS) through
      INTERNET -CanExploit(log4j, KEV, 443)-> WEB01 -InZone-> dmz -CanExploit(5432)-> DB01;
      (ALICE, ORDERS) through ALICE -MemberOf-> WEBOPS -AdminTo-> WEB01 -InZone-> dmz -> DB01.
    - WEB01 runs nginx (clean) and the SHOP application, whose log4j-core 2.14.1 has
      CVE-2021-44228 (KEV, fixed 2.15.0) and CVE-2021-45046 (fixed 2.16.0), both NETWORK.
    - log4j-core 2.16.0 is known (scanned on OTHER02) with CVE-2021-44832 (NETWORK);
      OTHER02 also runs 2.14.1 (the same Package node as SHOP's), in the lab zone.
    - REPORT-PLUGIN (in SHOP) requires log4j-core [2.10,2.15): any update past 2.14.x breaks it.
    """
    b = TwinBuilder(now=T0)
    dom = "SHOP.LOCAL"
    b.node("Domain", dom, name=dom, objectid="S-1-5-21-77", tier0=False)
    alice = b.user("alice", dom, "S-1-5-21-77-1101", admincount=False)
    b.user("bob", dom, "S-1-5-21-77-1102", admincount=True)
    webops = b.group("WebOps", dom, "S-1-5-21-77-1201")
    b.edge(alice, "MemberOf", webops)
    for short, ip in (("WEB01", "10.1.0.5"), ("DB01", "10.3.0.9"), ("DB02", "10.4.0.9"), ("OTHER02", "10.5.0.2")):
        b.computer(short, dom, f"S-1-5-21-77-{ip.split('.')[-1]}", ip=ip)
    b.edge(webops, "AdminTo", WEB01)
    b.node("Internet", "INTERNET", name="INTERNET")
    for z in ("dmz", "db", "vault", "lab"):
        b.node("Zone", z, name=z, internet_facing=z == "dmz")
    b.edge("INTERNET", "CanReach", "dmz", ports=["443/tcp"])
    b.edge("dmz", "CanReach", "db", ports=["5432/tcp"])
    for h, z in ((WEB01, "dmz"), (DB01, "db"), (DB02, "vault"), (OTHER, "lab")):
        b.edge(h, "InZone", z)
    for h, port, product in ((WEB01, 443, "nginx"), (DB01, 5432, "PostgreSQL"), (DB02, 5432, "PostgreSQL"),
                             (OTHER, 8080, "Jetty")):
        key = f"{h}:{port}/TCP"
        b.node("Service", key, port=port, protocol="tcp", name=product.lower(), product=product, state="open")
        b.edge(h, "HasService", key)
    vulns = {
        "CVE-2021-44228": dict(attack_vector="NETWORK", is_kev=True, base_score=10.0, epss_score=0.97),
        "CVE-2021-45046": dict(attack_vector="NETWORK", is_kev=False, base_score=9.0, epss_score=0.9),
        "CVE-2021-44832": dict(attack_vector="NETWORK", is_kev=False, base_score=6.6, epss_score=0.1),
        "CVE-2023-2454": dict(attack_vector="NETWORK", is_kev=False, base_score=7.2, epss_score=0.01),
    }
    for cve, props in vulns.items():
        b.node("Vulnerability", cve, **props)

    def pkg(purl: str, **extra) -> str:
        name, version = purl.rsplit("/", 1)[-1].split("@")
        b.node("Package", purl, name=name, version=version, purl_type=purl[4:].split("/")[0],
               ecosystem=purl[4:].split("/")[0], purl=purl, **extra)
        return purl

    old, known = pkg(f"{LOG4J}@2.14.1"), pkg(f"{LOG4J}@2.16.0")
    nginx, pg = pkg("pkg:deb/debian/nginx@1.22.1"), pkg("pkg:deb/debian/postgresql-15@15.3")
    pkg(PLUGIN)
    b.node("Application", SHOP, extra=("Package",), name="shop", version="1.0.0", purl=SHOP)
    b.edge(SHOP, "HostedOn", WEB01)
    b.edge(SHOP, "HasInstalled", old, scope="required")
    b.edge(SHOP, "HasInstalled", PLUGIN, scope="required")
    b.edge(SHOP, "DependsOn", PLUGIN)
    b.edge(PLUGIN, "DependsOn", old, version_constraint="[2.10,2.15)")
    b.edge(WEB01, "HasInstalled", nginx)
    for h in (DB01, DB02):
        b.edge(h, "HasInstalled", pg)
    b.edge(OTHER, "HasInstalled", old)
    b.edge(OTHER, "HasInstalled", known)
    b.edge(old, "HasVulnerability", "CVE-2021-44228", installed_version="2.14.1", fixed_version="2.15.0")
    b.edge(old, "HasVulnerability", "CVE-2021-45046", installed_version="2.14.1", fixed_version="2.16.0")
    b.edge(known, "HasVulnerability", "CVE-2021-44832", installed_version="2.16.0", fixed_version="2.17.1")
    b.edge(pg, "HasVulnerability", "CVE-2023-2454", installed_version="15.3", fixed_version="15.3-1")
    for name, host in (("ORDERS", DB01), ("LEDGER", DB02)):
        b.node("DataAsset", name, name=name, crown_jewel=True, criticality="critical")
        b.edge(name, "HostedOn", host)
    b.write(driver, database)
    from graph.derive.exploit import derive_exploit_edges

    derive_exploit_edges(driver, database, now=T0)


_LOADED: list[str | None] = [None]


def _load(driver, database, name: str, build) -> Twin:
    """Simulations never change the twin (every test checks), so a twin built once
    serves every test that asks for it until another twin replaces it."""
    if _LOADED[0] != name:
        reset_twin(driver, database)
        _LOADED[0] = None
        build(driver, database)
        _LOADED[0] = name
    return Twin(driver, database)


@pytest.fixture
def shop(driver, neo4j_settings):
    return _load(driver, neo4j_settings.database, "shop", shop_twin)


@pytest.fixture
def corp(driver, neo4j_settings):
    return _load(driver, neo4j_settings.database, "corp", corp_twin)


@pytest.fixture
def scratch(driver, neo4j_settings):
    """An empty twin for a test to fill."""
    _LOADED[0] = None
    reset_twin(driver, neo4j_settings.database)
    return Twin(driver, neo4j_settings.database)


def sim(twin: Twin, *argv: str, **kw):
    """Simulate, and hold the twin to being exactly as it was."""
    before = twin.snapshot()
    res = simulate(twin.driver, twin.database, list(argv), **kw)
    assert twin.snapshot() == before, f"{argv} changed the twin"
    assert res.twin_unchanged is True
    assert res.paths_after == res.paths_before - res.paths_removed_count + res.paths_added_count
    return res


def removed(res) -> set[tuple[str, str]]:
    return {(p.nodes[0], p.goal) for p in res.paths_removed}


# ---------------------------------------------------------------- versions


@pytest.mark.parametrize("a,b,eco,expected", [
    ("2.4.51", "2.4.49", "deb", 1), ("1.2.10", "1.2.9", None, 1), ("1:1.0", "2.0", "deb", 1),
    ("1.0~rc1", "1.0", "deb", -1), ("3.0.11-1~deb12u2", "3.0.11-1", "deb", -1), ("2.0.0-rc.1", "2.0.0", "npm", -1),
    ("1.0rc1", "1.0", "pypi", -1), ("1.0.post1", "1.0", "pypi", 1), ("v1.2.3", "1.2.3", "golang", 0),
    ("1.0-SNAPSHOT", "1.0", "maven", -1), ("2.17.1", "2.17.1", "maven", 0), ("1.1.1w", "1.1.1v", "deb", 1),
])
def test_compare_versions(a, b, eco, expected):
    assert compare_versions(a, b, eco) == expected
    assert compare_versions(b, a, eco) == -expected


@pytest.mark.parametrize("version,fixed,expected", [
    ("2.15.0", "2.15.0", True), ("2.14.1", "2.15.0", False), ("3.0.0", "2.15.0", True),
    ("3.0.12", "1.1.1w, 3.0.12", True), ("3.0.5", "1.1.1w, 3.0.12", False), ("1.1.1w", "1.1.1w, 3.0.12", True),
    ("2.0.0", "1.1.1w, 3.0.12", None), ("1.0", None, None), ("1.0", "", None), ("2.13.5", "2.13.4.2, 2.12.7.1", True),
])
def test_fixed_in(version, fixed, expected):
    assert fixed_in(version, fixed, "maven") is expected


@pytest.mark.parametrize("version,constraint,eco,expected", [
    ("2.14.1", "[2.10,2.15)", "maven", True), ("2.17.1", "[2.10,2.15)", "maven", False),
    ("2.15", "[2.10,2.15]", "maven", True), ("1.5.0", "^1.2.3", "npm", True), ("2.0.0", "^1.2.3", "npm", False),
    ("0.2.9", "^0.2.3", "npm", True), ("0.3.0", "^0.2.3", "npm", False), ("1.2.9", "~1.2.3", "npm", True),
    ("1.3.0", "~1.2.3", "npm", False), ("1.4.5", ">=1.0,<2.0", "pypi", True), ("2.0", ">=1.0,<2.0", "pypi", False),
    ("1.4.9", "~=1.4.2", "pypi", True), ("1.5.0", "~=1.4.2", "pypi", False), ("1.9", "1.x", "npm", True),
    ("2.1", "1.x || >=2.1", "npm", True), ("1.5", "1.2 - 1.8", "npm", True), ("1.9", ">= 1.2 < 1.8", "npm", False),
    ("3.1", "!=3.1", "pypi", False), ("1.0", "what?", None, None), ("1.0", None, None, None),
])
def test_satisfies(version, constraint, eco, expected):
    assert satisfies(version, constraint, eco) is expected


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=300, deadline=None)
@given(text, text, text)
def test_version_functions_never_crash(a, b, c):
    assert compare_versions(a, b, "deb") in (-1, 0, 1)
    assert compare_versions(a, b, "npm") in (-1, 0, 1)
    assert compare_versions(a, a, "pypi") == 0
    assert satisfies(a, b, "npm") in (True, False, None)
    assert fixed_in(a, c, "deb") in (True, False, None)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.from_regex(r"\d{1,5}(\.\d{1,3}){0,3}", fullmatch=True), min_size=3, max_size=3))
def test_compare_versions_is_an_order(vs):
    a, b, c = vs
    assert compare_versions(a, b) == -compare_versions(b, a)
    if compare_versions(a, b) <= 0 and compare_versions(b, c) <= 0:
        assert compare_versions(a, c) <= 0


def test_subtract_ports():
    assert subtract_ports(["443/tcp", "22/tcp"], 443, 443, "tcp") == (["22/tcp"], True)
    assert subtract_ports(["49152-65535/tcp"], 50000, 50000, "tcp") == (["49152-49999/tcp", "50001-65535/tcp"], True)
    assert subtract_ports(["53/udp"], 53, 53, "tcp") == (["53/udp"], False)
    assert subtract_ports(None, 1, 2, "tcp") == ([], False)


# ---------------------------------------------------------------- argv


@pytest.mark.parametrize("argv,message", [
    ([], "needs an action"), (["reboot", "X"], "unknown what-if action"), (["isolate"], "takes 1 argument"),
    (["block", "a", "b", "http"], "PORT/PROTO"), (["expose", "H", "70000/tcp"], "PORT/PROTO"),
    (["patch", "H", "CVE 2021"], "not a vulnerability id"), (["update", "H", "pkg", "1 2"], "not a version"),
])
def test_bad_action_words(argv, message):
    with pytest.raises(WhatIfInputError, match=message):
        Action.from_argv(argv)


def test_parse_argv_options():
    words, opts = parse_argv(["rank", "--target=CUSTOMER-DB", "--top", "3", "--json", "--source", "A", "--source", "B"])
    assert words == ["rank"] and opts == {"target": "CUSTOMER-DB", "top": 3, "sources": ["A", "B"]}
    with pytest.raises(WhatIfInputError, match="--top takes a whole number"):
        parse_argv(["rank", "--top", "many"])
    with pytest.raises(WhatIfInputError, match="unknown option '--force'"):
        parse_argv(["isolate", "X", "--force"])


# ---------------------------------------------------------------- CanExploit recomputed for the hosts a change touches


def test_exploit_rows_for_some_hosts_equal_the_whole_derivation_filtered(corp):
    whole = compute_exploit_edges(corp.driver, corp.database)
    with corp.driver.session(database=corp.database) as s:
        web = [r for r in whole if r["dst"] == "WEB01.CORP.LOCAL"]
        assert exploit_rows(_runner(s), ["WEB01.CORP.LOCAL"]) == web and web


def test_exploit_rows_for_some_hosts_on_a_generated_twin(scratch):
    synthetic_twin(scratch.driver, scratch.database, users=120, hosts=60, groups=12, seed=3, derive=False)
    whole = compute_exploit_edges(scratch.driver, scratch.database)
    hosts = sorted({r["dst"] for r in whole})[::3]
    assert whole and hosts
    with scratch.driver.session(database=scratch.database) as s:
        assert exploit_rows(_runner(s), hosts) == [r for r in whole if r["dst"] in hosts]


# ---------------------------------------------------------------- corp twin


def test_isolating_the_only_bridge_removes_every_path_through_it(corp):
    res = sim(corp, "isolate", "WEB01.CORP.LOCAL")
    assert res.action == "isolate WEB01.CORP.LOCAL"
    through = {("INTERNET", "CUSTOMER-DB"), ("HELPDESK1@CORP.LOCAL", "CUSTOMER-DB"),
               ("HELPDESK10@CORP.LOCAL", "CUSTOMER-DB")}
    assert removed(res) == through and res.paths_removed_count == 3
    for p in res.paths_removed:  # listed as they were, through WEB01
        assert "WEB01.CORP.LOCAL" in p.nodes and p.nodes[-1] == "CUSTOMER-DB" and p.edges[-1] == "HostedOn"
        assert len(p.edges) == len(p.nodes) - 1
    assert res.paths_after == res.paths_before - 3
    keys = {(b.key, b.kind) for b in res.breaks}
    assert ("WEB01.CORP.LOCAL:443/TCP", "unreachable") in keys and ("INTERNET", "flow") in keys
    assert ("SVC_SQL@CORP.LOCAL", "session") in keys
    assert res.exploit_edges_removed == [] and res.changes["edges_removed"] == 6  # deleted outright, not re-derived
    assert res.vulns_gained == [] and res.vulns_lost == []


def test_patch_of_the_kev_cve_removes_exactly_the_exploit_paths(corp):
    res = sim(corp, "patch", "WEB01.CORP.LOCAL", "cve-2021-41773")
    assert res.argv == ["patch", "WEB01.CORP.LOCAL", "CVE-2021-41773"]
    assert res.vulns_lost == ["CVE-2021-41773"] and res.kev_lost == ["CVE-2021-41773"] and res.vulns_gained == []
    # the internet still reaches WEB01 by the traffic seen to it (ConnectedTo is an attack edge)
    assert removed(res) == {("HELPDESK1@CORP.LOCAL", "CUSTOMER-DB"), ("HELPDESK10@CORP.LOCAL", "CUSTOMER-DB")}
    assert {(e.src, e.dst) for e in res.exploit_edges_removed} == {
        ("INTERNET", "WEB01.CORP.LOCAL"), ("corp", "WEB01.CORP.LOCAL"), ("dmz", "WEB01.CORP.LOCAL")}
    assert [b.key for b in res.breaks] == ["WEB01.CORP.LOCAL:443/TCP"] and res.breaks[0].kind == "restart"


def test_disable_and_membership_and_edge_removal(corp):
    da = ("HELPDESK1@CORP.LOCAL", "DOMAIN ADMINS@CORP.LOCAL")
    res = sim(corp, "disable", "bob@corp.local")
    assert res.argv[1] == "BOB@CORP.LOCAL"
    assert removed(res) == {da, ("HELPDESK1@CORP.LOCAL", "CORP.LOCAL")}
    assert ("WS07.CORP.LOCAL", "session") in {(b.key, b.kind) for b in res.breaks}

    res = sim(corp, "remove-member", "HELPDESK1@CORP.LOCAL", "HELPDESK@CORP.LOCAL")
    assert da in removed(res) and all(e == "HELPDESK1@CORP.LOCAL" for e, _ in removed(res))
    lost = {(b.key, b.kind) for b in res.breaks}
    assert {("WS07.CORP.LOCAL", "access_lost"), ("WS01.CORP.LOCAL", "access_lost")} <= lost

    res = sim(corp, "remove-edge", "WS07.CORP.LOCAL", "hassession", "BOB@CORP.LOCAL")
    assert removed(res) == {da, ("HELPDESK1@CORP.LOCAL", "CORP.LOCAL")}
    assert [(b.key, b.kind) for b in res.breaks] == [("BOB@CORP.LOCAL", "session")]


def test_block_closes_the_flow_and_its_exploit(corp):
    res = sim(corp, "block", "INTERNET", "dmz", "443/tcp")
    assert [(e.src, e.dst) for e in res.exploit_edges_removed] == [("INTERNET", "WEB01.CORP.LOCAL")]
    kinds = {(b.key, b.kind) for b in res.breaks}
    assert ("WEB01.CORP.LOCAL:443/TCP", "flow") in kinds and ("WEB01.CORP.LOCAL:443/TCP", "unreachable") in kinds
    # the observed flow was the internet's other way in: with both closed, its path goes
    assert removed(res) == {("INTERNET", "CUSTOMER-DB")}


def test_rank_puts_the_true_choke_point_first(corp):
    before = corp.snapshot()
    seen = []
    ranked = rank(corp.driver, corp.database, "CUSTOMER-DB", top=5, progress=lambda i, n, t: seen.append((i, n)))
    assert corp.snapshot() == before
    assert ranked[0].action == "isolate WEB01.CORP.LOCAL"
    assert ranked[0].paths_removed == ranked[0].paths_before == 3 and ranked[0].target == "WEB01.CORP.LOCAL"
    keys = [(-r.paths_removed, len(r.breaks), r.cost, r.action) for r in ranked]
    assert keys == sorted(keys) and all(r.paths_removed > 0 and r.twin_unchanged for r in ranked)
    assert all(r.paths_removed <= r.bound for r in ranked)
    assert seen and seen[-1][0] == seen[-1][1]
    doc = run_whatif_argv(corp.driver, corp.database, ["rank", "--target", "CUSTOMER-DB", "--top", "2"])
    assert [r["action"] for r in doc["ranking"]][0] == "isolate WEB01.CORP.LOCAL" and len(doc["ranking"]) <= 2
    assert doc["paths_before"] == 3 and doc["twin_unchanged"] is True


def test_rank_from_a_foothold(corp):
    ranked = rank(corp.driver, corp.database, "DOMAIN ADMINS@CORP.LOCAL", top=3, sources=["HELPDESK1@CORP.LOCAL"])
    assert ranked and ranked[0].paths_removed == 1 == ranked[0].paths_before
    assert ranked[0].action in {"remove-member HELPDESK1@CORP.LOCAL HELPDESK@CORP.LOCAL",
                                "remove-edge HELPDESK@CORP.LOCAL AdminTo WS07.CORP.LOCAL",
                                "remove-edge WS07.CORP.LOCAL HasSession BOB@CORP.LOCAL",
                                "remove-member BOB@CORP.LOCAL 'DOMAIN ADMINS@CORP.LOCAL'"}


def test_unknown_keys_and_wrong_kinds_are_input_errors(corp):
    before = corp.snapshot()
    for argv, message in [
        (["isolate", "WS-99.CORP.LOCAL"], "HOST 'WS-99.CORP.LOCAL' is not in the twin"),
        (["isolate", "BOB@CORP.LOCAL"], "is a User, not a Computer"),
        (["disable", "WS07.CORP.LOCAL"], "not a User"),
        (["remove-member", "ALICE@CORP.LOCAL", "DOMAIN ADMINS@CORP.LOCAL"], "not a direct member"),
        (["remove-edge", "WS07.CORP.LOCAL", "Teleport", "BOB@CORP.LOCAL"], "not a relationship type"),
        (["remove-edge", "BOB@CORP.LOCAL", "HasSession", "WS07.CORP.LOCAL"], "edges are written src TYPE dst"),
        (["patch", "DB01.CORP.LOCAL", "CVE-2021-41773"], "has no package with CVE-2021-41773"),
        (["patch", "DB01.CORP.LOCAL", "CVE-1999-0001"], "is not in the twin"),
        (["update", "WEB01.CORP.LOCAL", "openssl", "3.0.13"], "is not installed on"),
        (["block", "corp", "nowhere", "443/tcp"], "TO 'nowhere' is not in the twin"),
    ]:
        with pytest.raises(WhatIfInputError, match=message):
            simulate(corp.driver, corp.database, argv)
    with pytest.raises(WhatIfInputError, match="--target 'NOPE' is not in the twin"):
        rank(corp.driver, corp.database, "NOPE")
    assert corp.snapshot() == before


# ---------------------------------------------------------------- shop twin: software


def test_update_that_fixes_the_kev_cve_removes_exactly_the_paths_through_it(shop):
    res = sim(shop, "update", WEB01, LOG4J, "2.17.1")
    assert res.argv == ["update", WEB01, LOG4J, "2.17.1"]
    assert res.vulns_lost == ["CVE-2021-44228", "CVE-2021-45046"] and res.vulns_gained == []
    assert res.kev_lost == ["CVE-2021-44228"]
    assert res.unknown is True and any("never seen in the twin" in n for n in res.notes)
    assert removed(res) == {("INTERNET", "ORDERS")} and res.paths_before == 2 and res.paths_after == 1
    assert res.paths_removed[0].nodes == ["INTERNET", WEB01, "dmz", DB01, "ORDERS"]
    assert ("INTERNET", WEB01) in {(e.src, e.dst) for e in res.exploit_edges_removed}
    # OTHER02 shares the old Package node: its exposure is untouched
    assert not any(e.dst == OTHER for e in res.exploit_edges_removed)
    brk = {(b.key, b.kind): b.reason for b in res.breaks}
    assert (PLUGIN, "incompatible") in brk and "[2.10,2.15)" in brk[(PLUGIN, "incompatible")]
    assert (SHOP, "restart") in brk


def test_update_to_a_version_known_elsewhere_reports_what_it_introduces(shop):
    res = sim(shop, "update", WEB01, "log4j-core", "2.16.0")
    assert res.unknown is False
    assert res.vulns_gained == ["CVE-2021-44832"] and res.vulns_lost == ["CVE-2021-44228", "CVE-2021-45046"]
    assert res.paths_removed_count == 0  # 2.16.0 is still exploitable over the network
    assert [(e.src, e.dst, e.cve) for e in res.exploit_edges_removed] == []
    assert (PLUGIN, "incompatible") in {(b.key, b.kind) for b in res.breaks}


def test_update_within_the_constraint_breaks_nothing_and_unknown_fix_stays(shop):
    res = sim(shop, "update", SHOP, f"{LOG4J}@2.14.1", "2.14.2")  # a version in a purl is ignored
    assert res.argv[1:] == [SHOP, LOG4J, "2.14.2"]
    assert not [b for b in res.breaks if b.kind == "incompatible"]
    assert res.vulns_lost == [] and res.paths_removed_count == 0 and res.unknown is True


def test_patch_one_of_two_findings_removes_nothing(shop):
    res = sim(shop, "patch", WEB01, "CVE-2021-44228")
    assert res.vulns_lost == ["CVE-2021-44228"] and res.paths_removed_count == 0
    assert res.paths_before == res.paths_after == 2


def test_isolate_disable_remove_member_block_expose_on_shop(shop):
    res = sim(shop, "isolate", WEB01)
    assert removed(res) == {("INTERNET", "ORDERS"), (ALICE, "ORDERS")} and res.paths_after == 0
    assert (SHOP, "unreachable") in {(b.key, b.kind) for b in res.breaks}

    res = sim(shop, "disable", ALICE)
    assert removed(res) == {(ALICE, "ORDERS")}

    res = sim(shop, "remove-member", ALICE, "WEBOPS@SHOP.LOCAL")
    assert removed(res) == {(ALICE, "ORDERS")}
    assert [(b.key, b.kind) for b in res.breaks] == [(WEB01, "access_lost")]

    res = sim(shop, "block", "dmz", "db", "5432/tcp")
    assert removed(res) == {("INTERNET", "ORDERS"), (ALICE, "ORDERS")}
    assert [(e.src, e.dst) for e in res.exploit_edges_removed] == [("dmz", DB01)]
    assert [(b.key, b.kind) for b in res.breaks] == [(f"{DB01}:5432/TCP", "unreachable")]

    res = sim(shop, "expose", DB02, "5432/tcp")
    assert res.paths_removed_count == 0 and res.paths_added_count == 1
    assert res.paths_added[0].nodes == ["INTERNET", DB02, "LEDGER"] and res.paths_added[0].goal == "LEDGER"
    assert [(e.src, e.dst, e.cve) for e in res.exploit_edges_added] == [("INTERNET", DB02, "CVE-2023-2454")]

    res = sim(shop, "expose", DB02, "9999/tcp")
    assert res.paths_added_count == 0 and any("no open service" in n for n in res.notes)


def test_goals_and_sources_narrow_the_count(shop):
    res = sim(shop, "isolate", WEB01, goals=["ORDERS"], sources=[ALICE])
    assert res.paths_before == 1 and removed(res) == {(ALICE, "ORDERS")} and res.goals == ["ORDERS"]


# ---------------------------------------------------------------- a generated twin: the choke point


def _bridge_twin(scratch) -> None:
    """Forty users reach a bridge host through many groups; only BRIDGE01 holds the
    admin's session."""
    b = TwinBuilder(now=T0)
    dom = "GEN.LOCAL"
    b.node("Domain", dom, name=dom, objectid="S-1-5-21-9", tier0=True)
    da = b.group("Domain Admins", dom, "S-1-5-21-9-512", tier0=True, admincount=True)
    admin = b.user("admin", dom, "S-1-5-21-9-500", admincount=True)
    b.edge(admin, "MemberOf", da)
    bridge = b.computer("BRIDGE01", dom, "S-1-5-21-9-1000")
    b.edge(bridge, "HasSession", admin)
    for g in range(5):
        grp = b.group(f"Ops{g}", dom, f"S-1-5-21-9-20{g}")
        b.edge(grp, "AdminTo", bridge)
        ws = b.computer(f"WS{g:02d}", dom, f"S-1-5-21-9-30{g}")
        b.edge(grp, "AdminTo", ws)
        for u in range(8):
            user = b.user(f"u{g}{u}", dom, f"S-1-5-21-9-4{g}{u}", admincount=False)
            b.edge(user, "MemberOf", grp)
            b.edge(ws, "HasSession", user)
    b.write(scratch.driver, scratch.database)


def test_rank_finds_the_bridge_in_a_generated_twin(scratch):
    """Every action that cuts all forty users' paths is on the bridge; nothing else does."""
    _bridge_twin(scratch)
    before = scratch.snapshot()
    ranked = rank(scratch.driver, scratch.database, "DOMAIN ADMINS@GEN.LOCAL", top=6)
    assert scratch.snapshot() == before
    full = [r for r in ranked if r.paths_removed == r.paths_before == 40]
    assert ranked[0] in full
    assert {r.action for r in full} <= {"isolate BRIDGE01.GEN.LOCAL", "disable ADMIN@GEN.LOCAL",
                                        "remove-edge BRIDGE01.GEN.LOCAL HasSession ADMIN@GEN.LOCAL",
                                        "remove-member ADMIN@GEN.LOCAL 'DOMAIN ADMINS@GEN.LOCAL'"}
    assert len(full) == 4 and all(r.paths_removed == 8 for r in ranked[4:])


@pytest.mark.parametrize("argv", [
    ["disable", "HELPDESK1@CORP.LOCAL"], ["remove-member", "HELPDESK1@CORP.LOCAL", "HELPDESK@CORP.LOCAL"],
    ["isolate", "WS07.CORP.LOCAL"], ["remove-edge", "WS07.CORP.LOCAL", "HasSession", "BOB@CORP.LOCAL"],
    ["isolate", "WEB01.CORP.LOCAL"], ["disable", "BOB@CORP.LOCAL"]])
def test_counting_from_sources_reads_only_their_reach_with_the_same_answer(corp, argv):
    """From given sources the exposure holds only the sources' reach (a partial Exposure,
    graph/whatif/paths.py): every count and path equals the full reach's answer, which
    the same starts given as compromised entry points (and nothing else) produce."""
    starts = ["HELPDESK1@CORP.LOCAL", "WEB01.CORP.LOCAL", "CAROL@CORP.LOCAL"]
    for as_of in (None, T0):
        a = sim(corp, *argv, sources=starts, as_of=as_of)
        b = sim(corp, *argv, compromised=starts, entry_points=(), as_of=as_of)
        assert a.paths_before == b.paths_before > 0
        assert (a.paths_after, a.paths_removed_count, a.paths_added_count) == \
               (b.paths_after, b.paths_removed_count, b.paths_added_count)
        assert [(p.nodes, p.goal) for p in a.paths_removed] == [(p.nodes, p.goal) for p in b.paths_removed]
        assert [(p.nodes, p.goal) for p in a.paths_added] == [(p.nodes, p.goal) for p in b.paths_added]


def _entry_side(dag, entries) -> dict:
    """What the ranking reads of a DAG: the part reachable from the entry points, with
    each node's successors, immediate dominator and the entry points it dominates."""
    entries = [e for e in entries if e in dag.succ]
    todo, part = list(entries), {}
    while todo:
        x = todo.pop()
        if x in part:
            continue
        part[x] = sorted(dag.succ[x])
        todo += [y for _, y, _ in dag.succ[x]]
    dom = dag.dominated(entries)
    return {x: (succ, dag.idom[x], dom.get(x, 0)) for x, succ in part.items()}


def _rank_with_and_without_the_stop(twin, monkeypatch, cases) -> dict[str, list[int]]:
    """Rank each (target, sources) three ways: the DAG pruned to the entry points' forward
    ball and stopped at them (the default), only stopped, and full. The rankings and
    everything the ranking reads of the DAG must be equal; the DAG sizes are returned."""
    rank_mod = sys.modules["graph.whatif.rank"]  # the module: graph.whatif exports the function under its name
    original = rank_mod.ShortestDag.__init__
    runs: dict[str, tuple[list, list[int], list[dict]]] = {}
    depths: list[int | None] = []  # the entry points' depth the pruned DAG was given
    for mode in ("ball", "stop", "full"):
        sizes: list[int] = []
        parts: list[dict] = []

        def recording(self, run, scope, anchor_ids, until=None, ball=None, depth=None, mode=mode, sizes=sizes,
                      parts=parts):
            entries = list(until or [])
            if mode == "ball":
                depths.append(depth)
            original(self, run, scope, anchor_ids, None if mode == "full" else until,
                     ball if mode == "ball" else None, depth if mode == "ball" else None)
            sizes.append(len(self.order))
            parts.append(_entry_side(self, entries))

        monkeypatch.setattr(rank_mod.ShortestDag, "__init__", recording)
        # the ball is built on large twins only: these small ones are treated as large
        monkeypatch.setattr(rank_mod, "LARGE_TWIN_NODES", 0 if mode == "ball" else 10**12)
        got = [[(r.action, r.paths_removed, r.paths_before, [b.model_dump() for b in r.breaks]) for r in
                rank(twin.driver, twin.database, target, top=10, sources=sources)] for target, sources in cases]
        runs[mode] = (got, sizes, parts)
    assert all(runs["ball"][0]) and runs["ball"][0] == runs["stop"][0] == runs["full"][0]
    assert runs["ball"][2] == runs["stop"][2] == runs["full"][2]
    assert all(a <= b <= c for a, b, c in zip(runs["ball"][1], runs["stop"][1], runs["full"][1], strict=True))
    return {**{mode: sizes for mode, (_, sizes, _) in runs.items()}, "depths": depths}


def test_rank_stops_the_dag_at_its_entry_points_with_the_same_answer(corp, monkeypatch):
    """The shortest-path DAG stops growing once every entry point that reaches the target
    is in it, and with few entry points keeps only nodes their shortest paths can cross
    (graph/whatif/rank.py, ShortestDag): the ranking is the one the full DAG gives."""
    sizes = _rank_with_and_without_the_stop(corp, monkeypatch, [
        ("DOMAIN ADMINS@CORP.LOCAL", ["HELPDESK1@CORP.LOCAL"]), ("CUSTOMER-DB", None),
        ("CORP.LOCAL", ["HELPDESK1@CORP.LOCAL", "WEB01.CORP.LOCAL"]), ("DOMAIN ADMINS@CORP.LOCAL", None),
        ("CORP.LOCAL", None)])
    # CUSTOMER-DB from the internet and the phishable users: few enough for the ball
    assert sizes["ball"][1] < sizes["stop"][1]
    assert None not in sizes["depths"]  # every pruned DAG above was cut by its entry points' depth


def test_the_stopped_dag_is_smaller_from_a_foothold(scratch, monkeypatch):
    _bridge_twin(scratch)
    sizes = _rank_with_and_without_the_stop(scratch, monkeypatch, [
        ("DOMAIN ADMINS@GEN.LOCAL", ["U00@GEN.LOCAL"]), ("DOMAIN ADMINS@GEN.LOCAL", ["U00@GEN.LOCAL", "U41@GEN.LOCAL"]),
        ("DOMAIN ADMINS@GEN.LOCAL", None)])
    assert sizes["stop"][0] < sizes["full"][0]  # the workstations one layer past the users are never read
    # one foothold: the domain admins, the admin, the bridge, the foothold's group and itself
    assert sizes["ball"][0] == 5 < sizes["stop"][0]
    # U00 -MemberOf-> OPS0 -AdminTo-> BRIDGE01 -HasSession-> ADMIN -MemberOf-> DOMAIN ADMINS
    assert sizes["depths"] == [4, 4, 4]


def test_the_forward_ball_stops_at_its_cap(scratch):
    """Past `cap` nodes the ball stops growing and says how far it is complete."""
    _bridge_twin(scratch)
    with scratch.driver.session(database=scratch.database) as session:
        run = runner(session)
        u00 = run("MATCH (u:Twin {key: 'U00@GEN.LOCAL'}) RETURN id(u) AS i")[0]["i"]
        scope = PathScope(goals=["DOMAIN ADMINS@GEN.LOCAL"], sources=["U00@GEN.LOCAL"])
        whole = ForwardBall(run, scope, [u00])
        assert whole.radius == scope.max_hops  # the twin is small: everything U00 reaches
        names = keys_of(run, whole.dist)
        assert {names[n] for n in whole.within(2)} == {"U00@GEN.LOCAL", "OPS0@GEN.LOCAL", "BRIDGE01.GEN.LOCAL",
                                                        "WS00.GEN.LOCAL"}
        # the layer that passes the cap is still whole (it was read in full); none after it
        small = ForwardBall(run, scope, [u00], cap=3)
        assert small.radius == 2 and sorted(small.dist) == whole.within(2)
        # a layer cut off by the query's limit (WS00 holds eight sessions) is not counted
        ws00 = run("MATCH (c:Twin {key: 'WS00.GEN.LOCAL'}) RETURN id(c) AS i")[0]["i"]
        cut = ForwardBall(run, scope, [ws00], cap=2)
        assert cut.radius == 0 and cut.within(0) == [ws00]


# ---------------------------------------------------------------- a simulation that dies midway

_CHILD = """
import sys, time
from pathlib import Path
from graph.db import open_driver
from graph.settings import Neo4jSettings
from graph.whatif import simulate
s = Neo4jSettings.from_env()
d = open_driver(s)
marker = Path(sys.argv[1])
def stage(name):
    if name == "applied":
        marker.write_text("applied")
        time.sleep(120)
simulate(d, s.database, sys.argv[2:], on_stage=stage, tx_timeout=10)
"""


@pytest.mark.parametrize("argv", [["isolate", "WEB01.CORP.LOCAL"], ["update", "WEB01.CORP.LOCAL", "apache2", "2.4.51"]])
def test_a_killed_simulation_leaves_the_twin_unchanged(corp, tmp_path, argv):
    before = corp.snapshot()
    marker = tmp_path / "stage"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(marker), *argv], cwd=REPO, env=os.environ.copy(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while not marker.exists():
            assert child.poll() is None, child.stderr.read().decode()[-2000:]
            assert time.time() < deadline, "the child never reached the applied stage"
            time.sleep(0.05)
        # mid-transaction: the change exists only inside the child's transaction
        assert corp.snapshot() == before
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    assert _wait_unlocked(corp) < 25  # at the latest the transaction's 10 s timeout frees them
    assert corp.snapshot() == before


def _wait_unlocked(twin: Twin) -> float:
    """Take the locks a simulation of `isolate WEB01` takes (delete its edges, then roll
    back) until they are free: the dead transaction is gone. Returns how long that took."""
    t0 = time.time()
    while True:
        try:
            with twin.driver.session(database=twin.database) as s:
                tx = s.begin_transaction(timeout=2)
                tx.run("MATCH (h:Twin {key: 'WEB01.CORP.LOCAL'})-[r]-() DELETE r").consume()
                tx.rollback()
            return time.time() - t0
        except Exception:
            assert time.time() - t0 < 30, "the dead transaction still holds its locks"
            time.sleep(0.5)


@pytest.mark.parametrize("reconnect", [True, False])
def test_a_dropped_connection_mid_simulation_leaves_the_twin_unchanged(corp, neo4j_settings, reconnect):
    """The connection drops after the change was applied. When simulate can reconnect it
    terminates its orphaned transaction at once; when it cannot, the transaction's own
    timeout frees the locks. Either way nothing was committed."""
    from neo4j import GraphDatabase

    before = corp.snapshot()
    proxy = CuttingProxy(neo4j_settings.local_port)
    drv = GraphDatabase.driver(f"bolt://127.0.0.1:{proxy.port}", auth=(neo4j_settings.user, neo4j_settings.password),
                               max_transaction_retry_time=1, connection_acquisition_timeout=5)
    try:
        def cut(name: str) -> None:
            if name == "applied":
                proxy.refuse = not reconnect
                proxy.cut_all()

        with pytest.raises(WhatIfError, match="lost the twin") as err:
            simulate(drv, corp.database, ["isolate", "WEB01.CORP.LOCAL"], on_stage=cut, tx_timeout=4)
        assert ("terminated" in str(err.value)) is reconnect
        assert corp.snapshot() == before  # uncommitted: never visible
        waited = _wait_unlocked(corp)
        assert waited < (3 if reconnect else 12), waited
    finally:
        drv.close()
        proxy.close()
    assert corp.snapshot() == before


# ---------------------------------------------------------------- the CLI body


def test_whatif_command_json_and_errors(corp, capsys):
    before = corp.snapshot()
    assert whatif_command(["isolate", "WEB01.CORP.LOCAL"], json_out=True) == 0
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert set(doc) >= {"action", "paths_before", "paths_after", "paths_removed", "vulns_gained", "vulns_lost",
                        "breaks", "twin_unchanged"}
    assert doc["action"] == "isolate WEB01.CORP.LOCAL" and doc["twin_unchanged"] is True
    assert all(set(p) >= {"nodes", "edges"} for p in doc["paths_removed"])
    assert all(set(b) >= {"key", "reason"} for b in doc["breaks"])

    assert whatif_command(["rank", "--target", "CUSTOMER-DB", "--top", "2"], json_out=True) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["ranking"][0]["action"] == "isolate WEB01.CORP.LOCAL"
    assert "[1/" in out.err  # progress on stderr

    for argv in (["isolate", "NOPE.CORP.LOCAL"], ["frobnicate"], ["block", "dmz", "db", "x/tcp"],
                 ["rank", "--top", "3"]):
        assert whatif_command(argv, json_out=True) == 2
        out = capsys.readouterr()
        assert out.out == "" and len(out.err.strip().splitlines()) == 1 and out.err.startswith("twinsight whatif:")
    assert whatif_command(["isolate", "WEB01.CORP.LOCAL"]) == 0  # the readable table
    assert "What-if: isolate WEB01.CORP.LOCAL" in capsys.readouterr().out
    assert corp.snapshot() == before


word = st.one_of(st.sampled_from(["isolate", "disable", "patch", "update", "block", "expose", "remove-edge",
                                  "remove-member", "--max-hops", "WEB01.CORP.LOCAL", "dmz", "db",
                                  "443/tcp", "CVE-2021-41773", "AdminTo", "HELPDESK@CORP.LOCAL", "apache2"]),
                 st.text(max_size=12))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(word, max_size=5))
def test_any_words_give_a_result_or_an_input_error_and_leave_the_twin_alone(corp, argv):
    before = corp.counts()
    try:
        doc = run_whatif_argv(corp.driver, corp.database, argv)
        assert doc["twin_unchanged"] is True
    except WhatIfInputError as exc:
        assert str(exc) and "\n" not in str(exc)
    assert corp.counts() == before


def test_contract_shape_validates(corp):
    doc = run_whatif_argv(corp.driver, corp.database, ["patch", "WEB01.CORP.LOCAL", "CVE-2021-41773"])
    for key, kind in (("action", str), ("paths_before", int), ("paths_after", int), ("paths_removed", list),
                      ("vulns_gained", list), ("vulns_lost", list), ("breaks", list), ("twin_unchanged", bool)):
        assert isinstance(doc[key], kind), key
    assert json.loads(json.dumps(doc)) == doc


def test_a_small_twin_ranks_without_the_ball(corp, monkeypatch):
    """Under vocab.LARGE_TWIN_NODES the DAG is built without the forward ball (its extra
    queries cost more than they save there); the ranking is the same either way."""
    rank_mod = sys.modules["graph.whatif.rank"]
    balls: list[int] = []
    built = rank_mod.ForwardBall.__init__

    def counting(self, *a, **kw):
        balls.append(1)
        built(self, *a, **kw)

    monkeypatch.setattr(rank_mod.ForwardBall, "__init__", counting)
    args = dict(target="DOMAIN ADMINS@CORP.LOCAL", top=5, sources=["HELPDESK1@CORP.LOCAL"])
    def ranking() -> list[dict]:
        return [r.model_dump(exclude={"seconds"}) for r in rank(corp.driver, corp.database, **args)]

    small = ranking()
    assert small and balls == []
    monkeypatch.setattr(rank_mod, "LARGE_TWIN_NODES", 0)
    assert ranking() == small and balls == [1]


def test_reach_from_few_sources_searched_pair_by_pair_equals_the_search_back_from_the_goals(corp, monkeypatch):
    """`reach(only=...)` from a few sources runs one shortest-path search per (source,
    anchor) instead of one search back from each goal; it must give the same sources for
    every goal, from every node of the corp twin alone and in groups (goals and their
    anchors among them: a source that is an anchor counts only through a cycle), with
    and without a time window. The search back, forced, and the unrestricted reach cut
    to the sources are the references. (On the corp twin DB01, CUSTOMER-DB's anchor, gets
    back to itself in a few hops; DC01 does not.)"""
    paths_mod = sys.modules["graph.whatif.paths"]
    with corp.driver.session(database=corp.database) as s:
        run = runner(s)
        keys = [r["k"] for r in run("MATCH (n:Twin) RETURN n.key AS k ORDER BY k")]
        groups = [[k] for k in keys] + [keys[i:i + 3] for i in range(0, len(keys), 3)]
        for as_of in (None, T0):
            scope = PathScope(goals=None, as_of=as_of)
            goals = paths_mod.resolve_goals(run, scope)
            assert len(goals) >= 3 and any(len(g["anchors"]) > 1 or g["anchors"] != [g["key"]] for g in goals)
            full = paths_mod.reach(run, scope, goals)
            assert any(full.values())
            for group in groups:
                only = paths_mod.entry_ids(run, PathScope(sources=group))
                monkeypatch.setattr(paths_mod, "PAIR_SEARCHES", 10**6)
                pairwise = paths_mod.reach(run, scope, goals, only=only)
                monkeypatch.setattr(paths_mod, "PAIR_SEARCHES", 0)
                back = paths_mod.reach(run, scope, goals, only=only)
                assert pairwise == back, (group, as_of)
                assert pairwise == {g: r & only for g, r in full.items()}, (group, as_of)
                if group == ["DB01.CORP.LOCAL"] and as_of is None:  # an anchor back to itself
                    assert pairwise["CUSTOMER-DB"] == only
                if group == ["DC01.CORP.LOCAL"]:  # an anchor no cycle returns to
                    assert not pairwise["DC01.CORP.LOCAL"]


def test_entry_depth_is_the_farthest_entry_points_distance_or_unknown(scratch, monkeypatch):
    """The depth that cuts the pruned DAG: the farthest entry point's hops to its nearest
    anchor, an anchor being at 0; unknown (None) when an entry point reaches no anchor
    within the bound, or when there would be more searches than PAIR_SEARCHES."""
    rank_mod = sys.modules["graph.whatif.rank"]
    _bridge_twin(scratch)
    with scratch.driver.session(database=scratch.database) as session:
        run = runner(session)
        ids = {r["k"]: r["i"] for r in run("MATCH (n:Twin) RETURN n.key AS k, id(n) AS i")}
        da, scope = [ids["DOMAIN ADMINS@GEN.LOCAL"]], PathScope(goals=["DOMAIN ADMINS@GEN.LOCAL"])
        depth = lambda *keys: rank_mod.entry_depth(run, scope, [ids[k] for k in keys], da)  # noqa: E731
        assert depth("ADMIN@GEN.LOCAL") == 1
        assert depth("BRIDGE01.GEN.LOCAL", "ADMIN@GEN.LOCAL") == 2
        assert depth("U00@GEN.LOCAL", "ADMIN@GEN.LOCAL") == 4
        assert depth("DOMAIN ADMINS@GEN.LOCAL", "ADMIN@GEN.LOCAL") == 1  # the anchor itself is at 0
        assert depth("GEN.LOCAL", "ADMIN@GEN.LOCAL") is None  # the domain reaches nothing
        assert rank_mod.entry_depth(run, scope.model_copy(update={"max_hops": 3}), [ids["U00@GEN.LOCAL"]], da) is None
        monkeypatch.setattr(rank_mod, "PAIR_SEARCHES", 1)
        assert depth("U00@GEN.LOCAL", "ADMIN@GEN.LOCAL") is None
