"""entity_context on the corp twin: facets with known contents, read at as_of."""

from __future__ import annotations

import pytest

from graph.tools.base import Toolbox
from graph.tools.fixtures import DAY, T0


@pytest.fixture(scope="module")
def tb(corp):
    return Toolbox(corp.driver, corp.database, as_of=T0)


def ctx(tb, key, **kw):
    return tb.call("entity_context", {"key": key, **kw})


def test_user_groups_rights_sessions_events(tb):
    c = ctx(tb, "HELPDESK1@CORP.LOCAL")
    assert c.found and "User" in c.labels and c.core["enabled"] is True
    groups = {(g["key"], g["depth"]) for g in c.member_of}
    assert groups == {("DOMAIN USERS@CORP.LOCAL", 1), ("HELPDESK@CORP.LOCAL", 1), ("WS ADMINS@CORP.LOCAL", 2)}
    held = {(r["edge"], r["target"], r["via"]) for r in c.rights_held}
    assert held == {("AdminTo", "WS07.CORP.LOCAL", "HELPDESK@CORP.LOCAL"),
                    ("AdminTo", "WS01.CORP.LOCAL", "WS ADMINS@CORP.LOCAL"),
                    ("CanRDP", "WS01A.CORP.LOCAL", "WS ADMINS@CORP.LOCAL")}
    assert [(s["host"], s["user"]) for s in c.sessions] == [("WS07.CORP.LOCAL", "HELPDESK1@CORP.LOCAL")]
    assert {e["event_id"]: e["count"] for e in c.event_counts} == {4624: 1, 4688: 1, 4662: 1}
    assert c.recent_events[0]["key"] == "EVT:DC01.CORP.LOCAL:Security:900"  # latest first
    assert [a["key"] for a in c.alerts] == ["ALERT-DCSYNC-1"] and c.alerts[0]["role"] == "actor"
    assert "aliases" not in c.properties and c.properties["samaccountname"] == "helpdesk1"


def test_host_exposure_services_and_vulnerabilities(tb):
    c = ctx(tb, "WEB01.CORP.LOCAL")
    assert c.core["zones"] == ["dmz"] and c.core["internet_exposed"] is True
    assert c.core["criticality"] == "high" and c.core["owner"] == "web-team"
    assert [v["cve"] for v in c.vulnerabilities] == ["CVE-2021-41773", "CVE-2023-38408"]  # KEV first
    kev = c.vulnerabilities[0]
    assert kev["is_kev"] is True and kev["epss_score"] == pytest.approx(0.944) and kev["attack_vector"] == "NETWORK"
    assert c.kev_total == 1 and c.packages_total == 2
    svc = {s["port"]: s for s in c.services}
    assert set(svc) == {22, 443}
    assert "INTERNET" in svc[443]["exploitable_from"] and svc[22]["exploitable_from"] == []
    assert c.leases[0]["other"] == "IP:10.10.0.5" and c.leases[0]["at_as_of"] is True


def test_host_admins_and_sessions_over_time(tb):
    c = ctx(tb, "WS07.CORP.LOCAL")
    assert [(r["edge"], r["principal"]) for r in c.rights_over] == [("AdminTo", "HELPDESK@CORP.LOCAL")]
    assert {s["user"] for s in c.sessions} == {"BOB@CORP.LOCAL", "HELPDESK1@CORP.LOCAL"}
    month_before = ctx(tb, "WS07.CORP.LOCAL", as_of=T0 - 30 * DAY)
    assert month_before.sessions == [] and month_before.events_total == 0
    assert month_before.leases[0]["at_as_of"] is False


def test_tier0_and_crown_jewel_flags(tb):
    assert ctx(tb, "DOMAIN ADMINS@CORP.LOCAL").core["tier0"] is True
    db = ctx(tb, "DB01.CORP.LOCAL")
    assert [h["key"] for h in db.hosted] == ["CUSTOMER-DB"] and db.hosted[0]["crown_jewel"] is True
    asset = ctx(tb, "CUSTOMER-DB")
    assert asset.core["crown_jewel"] is True and [h["key"] for h in asset.hosted] == ["DB01.CORP.LOCAL"]
    assert "DataAsset" in asset.labels


def test_unknown_key_is_not_found(tb):
    c = ctx(tb, "WS99.CORP.LOCAL")
    assert c.found is False and c.labels == []


def test_lists_are_capped(tb):
    c = ctx(tb, "HELPDESK1@CORP.LOCAL", max_items=1)
    assert len(c.member_of) == 1 and c.member_of_total == 3
    assert len(c.rights_held) == 1 and c.rights_held_total == 3
