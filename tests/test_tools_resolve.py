"""resolve_entities on the hand-built corp twin: every name form, time-aware IPs, decoys."""

from __future__ import annotations

import pytest

from graph.tools.base import Toolbox
from graph.tools.fixtures import DAY, T0


@pytest.fixture(scope="module")
def tb(corp):
    return Toolbox(corp.driver, corp.database, as_of=T0)


def resolve(tb, name, **kw):
    return tb.call("resolve_entities", {"names": [name], **kw}).results[0]


@pytest.mark.parametrize("name, key", [
    ("WS07.CORP.LOCAL", "WS07.CORP.LOCAL"),            # exact key
    ("ws07.corp.local", "WS07.CORP.LOCAL"),            # FQDN, any case
    ("ws07.corp.local.", "WS07.CORP.LOCAL"),           # DNS root dot
    ("WS07", "WS07.CORP.LOCAL"),                       # short hostname (unique)
    ("WS07$", "WS07.CORP.LOCAL"),                      # machine account
    ("CORP\\WS07$", "WS07.CORP.LOCAL"),                # NetBIOS machine account
    ("S-1-5-21-1000-1106", "HELPDESK1@CORP.LOCAL"),    # SID
    ("CORP\\helpdesk1", "HELPDESK1@CORP.LOCAL"),       # NetBIOS user
    ("corp\\ALICE", "ALICE@CORP.LOCAL"),
    ("LAB\\alice", "ALICE@LAB.LOCAL"),                 # same name, other domain
    ("alice@corp.local", "ALICE@CORP.LOCAL"),          # user@fqdn
    ("alice@corp.com", "ALICE@CORP.LOCAL"),            # UPN with another suffix, via aliases
    ("helpdesk1", "HELPDESK1@CORP.LOCAL"),             # samaccountname
    ("Domain Admins", "DOMAIN ADMINS@CORP.LOCAL"),     # group name without domain
    ("CUSTOMER-DB", "CUSTOMER-DB"),                    # data asset
    ("cve-2021-41773", "CVE-2021-41773"),
    ("dmz", "dmz"),                                    # zone, case as written
    ("10.20.0.10", "DC01.CORP.LOCAL"),                 # IP -> lease holder
    (" 'WEB01' ", "WEB01.CORP.LOCAL"),                 # quoting from an alert
])
def test_name_forms_resolve(tb, name, key):
    r = resolve(tb, name)
    assert r.status == "found", r
    assert r.candidates[0].key == key
    assert r.candidates[0].reason and r.absent is False


def test_short_name_in_two_domains_is_ambiguous(tb):
    r = resolve(tb, "WS01")
    assert r.status == "ambiguous"
    assert {c.key for c in r.candidates[:2]} == {"WS01.CORP.LOCAL", "WS01.LAB.LOCAL"}
    assert "WS01A.CORP.LOCAL" not in {c.key for c in r.candidates}


@pytest.mark.parametrize("name, decoy", [
    ("WS01.CORP.LOCAL", "WS01A.CORP.LOCAL"),
    ("ws01", "WS01A.CORP.LOCAL"),
    ("helpdesk1", "HELPDESK10@CORP.LOCAL"),
    ("CORP\\helpdesk1", "HELPDESK10@CORP.LOCAL"),
    ("helpdesk1@corp.local", "HELPDESK10@CORP.LOCAL"),
    ("HELPDESK10", "HELPDESK1@CORP.LOCAL"),
    ("S-1-5-21-1000-110", "HELPDESK1@CORP.LOCAL"),     # a SID prefix is not a SID
])
def test_decoys_never_match(tb, name, decoy):
    r = resolve(tb, name)
    assert decoy not in {c.key for c in r.candidates}
    assert decoy not in {s.key for s in r.similar_names}


@pytest.mark.parametrize("name", ["WS99", "ws99.corp.local", "CORP\\mallory", "mallory@corp.local",
                                  "10.66.6.6", "S-1-5-21-1000-9999", "CVE-1999-0001"])
def test_absent_names_are_explicit(tb, name):
    r = resolve(tb, name)
    assert r.status == "not_found" and r.absent is True and r.candidates == []


def test_similar_names_only_when_not_found_and_labelled(tb):
    r = resolve(tb, "helpdesk2")
    assert r.status == "not_found"
    r = resolve(tb, "HELPDESK")  # the group exists: found, no similar list
    assert r.status == "found" and r.candidates[0].key == "HELPDESK@CORP.LOCAL" and r.similar_names == []
    r = resolve(tb, "WS0")
    assert r.status == "not_found"
    keys = {s.key for s in r.similar_names}
    assert {"WS01.CORP.LOCAL", "WS07.CORP.LOCAL"} <= keys
    assert all("not a match" in s.note for s in r.similar_names)


def test_ip_resolution_follows_the_leases(tb):
    # 10.20.1.7 was WS01's lease T0-7d..T0-1d, then WS07's T0-1d+1..T0+1d
    assert resolve(tb, "10.20.1.7").candidates[0].key == "WS07.CORP.LOCAL"
    early = resolve(tb, "10.20.1.7", as_of=T0 - 2 * DAY)
    assert early.candidates[0].key == "WS01.CORP.LOCAL" and "held" in early.candidates[0].reason
    later = resolve(tb, "10.20.1.7", as_of=T0 + 5 * DAY)
    assert later.candidates[0].key == "WS07.CORP.LOCAL" and "latest lease" in later.candidates[0].reason
    iso_time = resolve(tb, "10.20.1.7", as_of="2023-11-12T22:13:20Z")  # T0 - 2 days as ISO
    assert iso_time.candidates[0].key == "WS01.CORP.LOCAL"
    before_any = resolve(tb, "10.20.1.7", as_of=T0 - 30 * DAY)
    assert before_any.candidates[0].score < 0.8  # only a lease that began later: weak
    ip_node = [c for c in early.candidates if c.key == "IP:10.20.1.7"]
    assert ip_node and ip_node[0].score < early.candidates[0].score


def test_many_names_in_one_call(tb):
    out = tb.call("resolve_entities", {"names": ["WS07", "bob", "WS99"]})
    assert [r.status for r in out.results] == ["found", "found", "not_found"]
    assert out.as_of == "2023-11-14T22:13:20Z"


def test_llm_door_rejects_bad_arguments(tb):
    assert tb.call_tool("resolve_entities", {"names": []})["error"]["type"] == "invalid_arguments"
    assert tb.call_tool("resolve_entities", {"names": ["x"], "as_of": "yesterday"})["error"]["type"] == "invalid_arguments"
    assert tb.call_tool("resolve_entities", {"names": ["x"], "extra": 1})["error"]["type"] == "invalid_arguments"
