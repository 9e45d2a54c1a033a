"""Reachability summaries (graph/derive/reach.py) answer blast_radius as the search does.

Every node with a static attack edge out is made a hub here (min_degree=1), so each
start of the corp twin and of a small generated enterprise is compared with the
exhaustive query, at every hop bound, with and without a time window; then again after
ingests that add and remove an edge, and after a forget.
"""

from __future__ import annotations

import pytest

from graph.derive import reach
from graph.generate import generate
from graph.ingest.registry import forget, ingest
from graph.schema import reset_twin
from graph.tools import radius_summary
from graph.tools.base import Toolbox
from graph.tools.fixtures import T0, corp_twin
from graph.tools.radius import BlastInput, exhaustive_blast
from graph.tools.radius_summary import summary_answer
from tests.conftest import Twin


def _edges_exist(twin: Twin, triples: set[tuple[str, str, str]]) -> bool:
    """Every [src, TYPE, dst] is an edge of the twin (HostedOn is stored asset -> host)."""
    rows = [{"a": b, "t": t, "b": a} if t == "HostedOn" else {"a": a, "t": t, "b": b} for a, t, b in triples]
    found = twin.driver.execute_query(
        "UNWIND $rows AS row MATCH (:Twin {key: row.a})-[r]->(:Twin {key: row.b}) WHERE type(r) = row.t "
        "RETURN count(DISTINCT row) AS n", rows=rows, database_=twin.database).records[0]["n"]
    return found == len(rows)


def _compare(tb: Toolbox, twin: Twin, key: str, h: int) -> bool:
    """True when the summary answered; then its answer equals the search's. Among equally
    short paths either may name a different one (Neo4j's SHORTEST 1 picks any): the
    examples' keys and hop counts must match and each path must be a real path."""
    lo, hi = tb.window(None)
    got = summary_answer(tb, key, h, lo, hi)
    if got is None:
        return False
    want = exhaustive_blast(tb, BlastInput(key=key, max_hops=h, examples=25), lo, hi)
    assert {c: v["total"] for c, v in got["categories"].items()} == {c: v.total for c, v in want.categories.items()}, (key, h)
    triples = set()
    for cat, v in want.categories.items():
        mine = got["categories"][cat]["examples"]
        assert [(e["key"], e["hops"]) for e in mine] == [(e.key, e.hops) for e in v.examples], (key, h, cat)
        for e in mine:
            assert e["nodes"][0] == key and e["nodes"][-1] == e["key"] and len(e["edges"]) == e["hops"]
            triples |= {(e["nodes"][i], t, e["nodes"][i + 1]) for i, t in enumerate(e["edges"])}
    assert _edges_exist(twin, triples), key
    assert sum(got["by_last_edge"].values()) == sum(want.by_last_edge.values())
    return True


def _starts(twin: Twin) -> list[str]:
    return [r["k"] for r in twin.driver.execute_query(
        f"MATCH (s:{reach.SUMMARY}) RETURN s.hub AS k ORDER BY k", database_=twin.database).records]


@pytest.fixture(autouse=True)
def _summaries_at_any_size(monkeypatch):
    monkeypatch.setattr(reach, "MIN_NODES", 0)


@pytest.fixture()
def corp(driver, neo4j_settings):
    reset_twin(driver, neo4j_settings.database)
    corp_twin(driver, neo4j_settings.database)
    return Twin(driver, neo4j_settings.database)


def test_summaries_equal_the_search_on_the_corp_twin(corp):
    out = reach.refresh(corp.driver, corp.database, min_degree=1)
    assert out["refreshed"] and out["hubs"] > 10
    starts = _starts(corp)
    assert "DC01.CORP.LOCAL" in starts and "HELPDESK1@CORP.LOCAL" in starts
    answered = 0
    for as_of in (None, T0, T0 + 60 * 86400):  # no window, the alert's, one with no live session
        tb = Toolbox(corp.driver, corp.database, as_of=as_of)
        for key in starts:
            for h in (1, 2, 4, 6):
                answered += _compare(tb, corp, key, h)
    assert answered == len(starts) * 4 * 3  # every start, every window


def test_the_hubs_searched_in_forked_workers_give_the_rows_of_one_process(corp):
    g = reach.read_graph(corp.driver, corp.database)
    keys = reach.hubs(g, 1)
    assert len(keys) >= 8
    one, _, _ = reach.hub_rows(g, keys, workers=1)
    two, bfs_s, answers_s = reach.hub_rows(g, keys, workers=2)
    assert [r["hub"] for r in one] == [g.keys[k] for k in keys]
    assert two == one and bfs_s > 0 and answers_s > 0


def test_a_live_session_that_shortens_a_distance_is_composed(corp):
    """HELPDESK1 -> HELPDESK -AdminTo-> WS07 -HasSession-> BOB -> DOMAIN ADMINS: the session
    (live around T0) is the only way to Domain Admins; statically BOB is out of reach. The
    stored answer would miss it, so the answer is composed with the live edge, equal to
    the search."""
    reach.refresh(corp.driver, corp.database, min_degree=1)
    at = Toolbox(corp.driver, corp.database, as_of=T0)
    stored = Toolbox(corp.driver, corp.database, as_of=T0 + 60 * 86400)  # the session is long over
    assert "tier0" not in summary_answer(stored, "HELPDESK1@CORP.LOCAL", 4, *stored.window(None))["categories"]
    got = summary_answer(at, "HELPDESK1@CORP.LOCAL", 4, *at.window(None))
    assert {e["key"] for e in got["categories"]["tier0"]["examples"]} == {"DC01.CORP.LOCAL", "DOMAIN ADMINS@CORP.LOCAL"}
    assert any("HasSession" in e["edges"] for e in got["categories"]["tier0"]["examples"])
    assert got["via_live_edges"] > 0
    assert _compare(at, corp, "HELPDESK1@CORP.LOCAL", 4)
    out = at.call("blast_radius", {"key": "HELPDESK1@CORP.LOCAL", "max_hops": 4})
    assert {e.key for e in out.categories["tier0"].examples} == {"DC01.CORP.LOCAL", "DOMAIN ADMINS@CORP.LOCAL"}


def test_a_stale_summary_is_not_used(corp):
    reach.refresh(corp.driver, corp.database, min_degree=1)
    tb = Toolbox(corp.driver, corp.database, as_of=T0 + 60 * 86400)
    assert summary_answer(tb, "HELPDESK@CORP.LOCAL", 2, *tb.window(None)) is not None
    corp.driver.execute_query(
        "MATCH (g:Twin {key: 'HELPDESK@CORP.LOCAL'}), (c:Twin {key: 'DB01.CORP.LOCAL'}) MERGE (g)-[:AdminTo]->(c)",
        database_=corp.database)
    assert summary_answer(tb, "HELPDESK@CORP.LOCAL", 2, *tb.window(None)) is None  # the fingerprint moved
    out = tb.call("blast_radius", {"key": "HELPDESK@CORP.LOCAL", "max_hops": 1})
    assert "DB01.CORP.LOCAL" in {e.key for e in out.categories["computers"].examples}
    assert reach.refresh(corp.driver, corp.database, min_degree=1)["refreshed"]
    assert _compare(tb, corp, "HELPDESK@CORP.LOCAL", 2)
    assert reach.refresh(corp.driver, corp.database, min_degree=1)["refreshed"] is False  # nothing moved


def test_summaries_follow_ingest_and_forget_on_a_generated_enterprise(driver, neo4j_settings, tmp_path, monkeypatch):
    db = neo4j_settings.database
    twin = Twin(driver, db)
    reset_twin(driver, db)
    monkeypatch.setattr(reach, "HUB_DEGREE", 1)  # every start with an edge out is a hub
    generate(tmp_path / "ent", seed=7, hosts=30, users=60)
    ingest(driver, [tmp_path / "ent"], database=db)  # the registry refreshes the summaries
    tb = Toolbox(driver, db)
    starts = _starts(twin)
    assert len(starts) > 20

    quiet = Toolbox(driver, db, as_of=1_000_000_000)  # a window where no session or traffic is live

    def all_equal() -> int:
        """Every start answers from its summary in the quiet window, equal to the search."""
        return sum(_compare(quiet, twin, k, 4) for k in starts)

    assert all_equal() == len(starts)
    # Without a window every session and flow is live: hubs whose distances they shorten
    # are composed through them, the rest read their stored answer; all equal.
    assert sum(_compare(tb, twin, k, 4) for k in starts) == len(starts)
    # An ingest that adds an edge: crown-jewel data on a host the starts reach (HostedOn).
    host = twin.driver.execute_query(
        "MATCH (c:Computer)<-[:AdminTo]-() WHERE NOT coalesce(c.tier0, false) "
        "RETURN c.key AS k, count(*) AS n ORDER BY n DESC, k LIMIT 1",
        database_=db).records[0]["k"]
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "inventory.csv").write_text("name,type,criticality,crown_jewel,owner,hosted_on,tags\n"
                                         f"PAYROLL-TEST,data,high,true,finance,{host},\n")
    ingest(driver, [extra], database=db, tag="payroll")
    assert "PAYROLL-TEST" in _jewels(quiet, starts)
    assert all_equal() == len(starts)
    forget(driver, "payroll", db)
    assert "PAYROLL-TEST" not in _jewels(quiet, starts)
    assert all_equal() == len(starts)


def _jewels(tb: Toolbox, starts: list[str]) -> set[str]:
    out = set()
    for k in starts:
        got = summary_answer(tb, k, 4, *tb.window(None))
        if got and "crown_jewels" in got["categories"]:
            out |= {e["key"] for e in got["categories"]["crown_jewels"]["examples"]}
    return out


def _non_hub_starts(twin: Twin) -> list[str]:
    """Every node with an attack edge out that has no summary of its own."""
    return [r["k"] for r in twin.driver.execute_query(
        f"MATCH (s:Twin) WHERE EXISTS {{ (s)-[:{'|'.join(reach.STATIC_EDGES)}|HasSession|ConnectedTo]->() }} "
        f"AND NOT EXISTS {{ MATCH (m:{reach.SUMMARY} {{hub: s.key}}) }} RETURN s.key AS k ORDER BY k",
        database_=twin.database).records]


def _through_a_hub(tb: Toolbox, key: str, h: int) -> bool:
    """The composed answer took some reached node's distance from a hub's summary."""
    return summary_answer(tb, key, h, *tb.window(None)).get("via_hubs", 0) > 0


def test_starts_without_a_summary_are_composed_equal_to_the_search(corp):
    """Only tier 0 and starts with 3+ edges out are hubs: every other start is answered by
    the search that stops at hubs plus the hubs' distances, equal to the full search."""
    out = reach.refresh(corp.driver, corp.database, min_degree=3)
    hubs = set(_starts(corp))
    starts = _non_hub_starts(corp)
    assert out["refreshed"] and len(hubs) >= 3 and len(starts) >= 10
    assert "HELPDESK1@CORP.LOCAL" in starts and "DOMAIN ADMINS@CORP.LOCAL" in hubs
    answered: dict = {}
    via_hub = 0
    for as_of in (None, T0, T0 + 60 * 86400):
        tb = Toolbox(corp.driver, corp.database, as_of=as_of)
        for key in starts:
            for h in (1, 2, 4, 6):
                if _compare(tb, corp, key, h):
                    answered[as_of] = answered.get(as_of, 0) + 1
                    via_hub += _through_a_hub(tb, key, h)
    # Every start composes in every window, the live sessions included.
    assert answered == {w: len(starts) * 4 for w in (None, T0, T0 + 60 * 86400)}
    assert via_hub >= 10  # 14 of them took distances from a hub (the rest stay among non-hubs)


def test_composed_starts_on_a_generated_enterprise(driver, neo4j_settings, tmp_path, monkeypatch):
    db = neo4j_settings.database
    twin = Twin(driver, db)
    reset_twin(driver, db)
    monkeypatch.setattr(reach, "HUB_DEGREE", 8)  # a few wide starts and tier 0 are hubs
    generate(tmp_path / "ent", seed=11, hosts=30, users=60)
    ingest(driver, [tmp_path / "ent"], database=db)
    hubs, starts = set(_starts(twin)), _non_hub_starts(twin)
    assert len(hubs) >= 3 and len(starts) > 30
    quiet, now = Toolbox(driver, db, as_of=1_000_000_000), Toolbox(driver, db)
    assert sum(_compare(quiet, twin, k, h) for k in starts for h in (2, 4)) == 2 * len(starts)
    assert sum(_through_a_hub(quiet, k, 4) for k in starts) > len(starts) // 4
    # With every session and flow of the day live: composed through them, still equal.
    assert sum(_compare(now, twin, k, 4) for k in starts) == len(starts)
    assert sum(summary_answer(now, k, 4, *now.window(None))["via_live_edges"] > 0 for k in starts) > 0


def test_a_composed_answer_is_refused_when_a_summary_piece_is_missing(corp):
    """Summaries written before categories were kept (or a hub's path tree) leave the
    search to answer rather than guess."""
    reach.refresh(corp.driver, corp.database, min_degree=3)
    tb = Toolbox(corp.driver, corp.database, as_of=T0 + 60 * 86400)
    key = next(k for k in _non_hub_starts(corp) if _through_a_hub(tb, k, 4))
    corp.driver.execute_query(f"MATCH (m:{reach.META}) REMOVE m.cats", database_=corp.database)
    radius_summary._UNIVERSE.clear()
    assert summary_answer(tb, key, 4, *tb.window(None)) is None
    reach.refresh(corp.driver, corp.database, min_degree=3, force=True)
    corp.driver.execute_query(f"MATCH (s:{reach.SUMMARY}) REMOVE s.pred", database_=corp.database)
    assert summary_answer(tb, key, 4, *tb.window(None)) is None
    out = tb.call("blast_radius", {"key": key, "max_hops": 4})
    assert out.found and out.reachable_total > 0
