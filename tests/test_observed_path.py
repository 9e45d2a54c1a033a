"""The observed path reads source-first, the way an analyst draws it (and BloodHound's
edges run): the host, the account whose session it holds, what that account reached;
an outside party that drives a host starts the path, exfiltration ends at its address;
a domain controller taken with admin rights, or dumped, leads on to its domain."""

from __future__ import annotations

from agents.models import Origin
from agents.paths import observed_from_origin
from agents.reasoning.happened import Found
from tests.test_reasoning import NIGHT, T, case, ctx

WS, SRV, DC = "WS1.X.LOCAL", "SRV1.X.LOCAL", "DC1.X.LOCAL"
ALICE = "ALICE@X.LOCAL"
C2 = "203.0.113.9"


def _chain_to(target: str) -> Origin:
    """ALICE logged on at WS1, then over the network onto `target` (latest step first)."""
    return Origin(host=WS, account=ALICE, chain=[
        {"host": target, "account": ALICE, "from_host": WS, "timestamp": T, "evidence": ["EVT:2"]},
        {"host": WS, "account": ALICE, "timestamp": NIGHT, "evidence": ["EVT:1"]},
    ])


def test_a_local_logon_puts_the_host_before_the_account_whose_session_it_holds():
    c = case("lateral", actors=[ALICE], hosts=[SRV], src=[WS], dst=[SRV], origin=_chain_to(SRV),
             contexts=[ctx(WS, ["Computer"]), ctx(SRV, ["Computer"]), ctx(ALICE, ["User"])])
    path, evidence = observed_from_origin(c, Found("corroborated", "", targets=[SRV]))
    assert path is not None and path.nodes == [WS, ALICE, SRV]
    assert path.edges[0] == "HasSession" and evidence == ["EVT:1", "EVT:2"]


def test_an_outside_party_that_drives_the_host_starts_the_path():
    c = case("c2", hosts=[WS], src=[WS], contexts=[ctx(WS, ["Computer"])])
    found = Found("corroborated", "", sources=[WS], notes={"peers": [C2]})
    path, _ = observed_from_origin(c, found, outside=[C2])
    assert path is not None and path.nodes == [C2, WS] and path.edges == ["ConnectedTo"]
    # without the address in the twin the aggregate stands, at the end where it was
    path, _ = observed_from_origin(c, found, outside=[])
    assert path is not None and path.nodes == [WS, "INTERNET"]


def test_exfiltration_ends_at_the_address_it_went_to():
    c = case("exfil", hosts=[WS], src=[WS], contexts=[ctx(WS, ["Computer"])])
    path, _ = observed_from_origin(c, Found("corroborated", "", sources=[WS]), outside=[C2])
    assert path is not None and path.nodes == [WS, C2]


def test_a_dumped_domain_controller_leads_on_to_its_domain_and_a_plain_logon_does_not():
    contexts = [ctx(WS, ["Computer"]), ctx(DC, ["Computer"], isdc=True, domain="X.LOCAL"), ctx(ALICE, ["User"])]
    dump = case("credential_dump", actors=[ALICE], hosts=[DC], src=[WS], dst=[DC], origin=_chain_to(DC),
                contexts=contexts)
    path, _ = observed_from_origin(dump, Found("corroborated", "", targets=[DC]), domains={"X.LOCAL"})
    assert path is not None and path.nodes == [WS, ALICE, DC, "X.LOCAL"] and path.edges[-1] == "DCFor"
    # a logon onto the DC without admin rights is not control of the domain
    logon = case("lateral", actors=[ALICE], hosts=[DC], src=[WS], dst=[DC], origin=_chain_to(DC),
                 contexts=contexts)
    path, _ = observed_from_origin(logon, Found("corroborated", "", targets=[DC]), domains={"X.LOCAL"})
    assert path is not None and path.nodes == [WS, ALICE, DC]
    # and the domain is named only when the twin holds it
    path, _ = observed_from_origin(dump, Found("corroborated", "", targets=[DC]), domains=set())
    assert path is not None and path.nodes[-1] == DC


def test_what_the_events_show_it_went_through_joins_the_entities_once():
    from types import SimpleNamespace

    from agents.models import AttackPath, EntityRef
    from agents.report import _entities

    st = SimpleNamespace(entities=[EntityRef(key=SRV, labels=["Computer"], role="host"),
                                   EntityRef(key="WS9.X.LOCAL", labels=["Computer"], role="src_host")],
                         context=None)
    observed = AttackPath(nodes=[WS, ALICE, SRV], edges=["HasSession", "AdminTo"], kind="observed")
    onward = AttackPath(nodes=[WS, ALICE, SRV, "CUSTOMER-DB"], edges=["HasSession", "AdminTo", "HostedOn"],
                        kind="to_crown_jewel", onward=True)
    possible = AttackPath(nodes=[ALICE, "GROUP@X.LOCAL", DC], edges=["MemberOf", "AdminTo"], kind="to_crown_jewel")
    got = _entities(st, [observed, onward, possible], misattributed=["WS9.X.LOCAL"])
    assert [e["key"] for e in got] == [SRV, WS, ALICE, "CUSTOMER-DB"]  # not the possible path's, not the wrong source
    assert {e["role"] for e in got[1:]} == {"observed_path"}


def test_the_person_at_the_source_follows_the_source_host_when_the_chain_walked_hosts_only():
    """An AS-REP request or a scan names no account: the chain holds hosts only. The account
    attributed to the source's keyboard takes the second step, its session on that host."""
    roasted = "SVC-EDI@X.LOCAL"
    origin = Origin(host=WS, account=ALICE, chain=[
        {"host": DC, "account": None, "from_host": WS, "timestamp": T, "evidence": ["EVT:9"]},
        {"host": WS, "account": None, "timestamp": None, "evidence": []},
    ])
    c = case("asrep", hosts=[DC], src=[WS], dst=[DC], origin=origin,
             contexts=[ctx(WS, ["Computer"]), ctx(DC, ["Computer"], isdc=True), ctx(roasted, ["User"])])
    path, _ = observed_from_origin(c, Found("corroborated", "", targets=[roasted]))
    assert path is not None and path.nodes == [WS, ALICE, DC, roasted]
    assert path.edges[:2] == ["HasSession", "ConnectedTo"] and path.edges[-1] == "ASREPRoast"
    # without an attributed account the path is the hosts the request crossed
    origin.account = None
    path, _ = observed_from_origin(c, Found("corroborated", "", targets=[roasted]))
    assert path is not None and path.nodes == [WS, DC, roasted]
