"""The write path on the real server: schema, idempotent upserts, provenance, cleanup,
and what a dropped connection in the middle of a batch leaves behind."""

from __future__ import annotations

import random
import threading
import time

import pytest
from neo4j import GraphDatabase
from neo4j.exceptions import ServiceUnavailable, SessionExpired

from graph.loader import TwinWriter, clean_props, node_lanes, rel_rounds, tournament
from graph.model import NodeRef, NodeSchema, RelSchema
from graph.schema import apply_schema, describe_schema
from tests.tcp_proxy import CuttingProxy

USER = NodeSchema("User", ("Base",))
COMPUTER = NodeSchema("Computer", ("Base",))
ADMIN_TO = RelSchema("AdminTo", src=NodeRef(prop="objectid"), dst=NodeRef(prop="objectid"))
MEMBER_OF = RelSchema("MemberOf")


def users(n: int, prefix: str = "U") -> list[dict]:
    return [
        {"key": f"{prefix}{i}@CORP.LOCAL", "props": {"objectid": f"S-1-5-21-1-{i}", "name": f"{prefix}{i}@CORP.LOCAL", "enabled": i % 2 == 0}}
        for i in range(n)
    ]


def hosts(n: int) -> list[dict]:
    return [{"key": f"WS{i}.CORP.LOCAL", "props": {"objectid": f"S-1-5-21-2-{i}"}} for i in range(n)]


def admin_rows(n: int, m: int) -> list[dict]:
    return [{"src": f"S-1-5-21-1-{i}", "dst": f"S-1-5-21-2-{(i * 7) % m}", "props": {"isinherited": False}} for i in range(n)]


def test_schema_twice_is_noop(twin):
    before = describe_schema(twin.driver, twin.database)
    apply_schema(twin.driver, twin.database)
    apply_schema(twin.driver, twin.database)
    after = describe_schema(twin.driver, twin.database)
    assert before == after
    assert "twin_key" in after["constraints"]
    assert {"twin_objectid", "twin_name", "twin_lastseen"} <= set(after["indexes"])


def test_key_is_unique(twin):
    twin.run("CREATE (:Twin {key: 'X'})")
    with pytest.raises(Exception, match="already exists"):
        twin.run("CREATE (:Twin {key: 'X'})")


def test_upsert_twice_gives_the_same_graph(twin):
    w1 = TwinWriter(twin.driver, "test", database=twin.database, now=1000)
    w1.nodes(USER, users(50))
    w1.nodes(COMPUTER, hosts(10))
    w1.rels(ADMIN_TO, admin_rows(50, 10))
    assert w1.stats.nodes_created == 60
    assert w1.stats.relationships_created == 50
    first = twin.snapshot()
    w2 = TwinWriter(twin.driver, "test", database=twin.database, now=2000)
    w2.nodes(USER, users(50))
    w2.nodes(COMPUTER, hosts(10))
    w2.rels(ADMIN_TO, admin_rows(50, 10))
    assert w2.stats.nodes_created == 0 and w2.stats.nodes_updated == 60
    assert w2.stats.relationships_created == 0 and w2.stats.relationships_updated == 50
    assert twin.snapshot() == first  # everything equal but lastseen
    assert twin.value("MATCH (n:User) RETURN collect(DISTINCT n.lastseen)") == [2000]
    assert twin.value("MATCH (n:User) RETURN collect(DISTINCT n.firstseen)") == [1000]


def test_provenance_on_every_node_and_edge(twin):
    w = TwinWriter(twin.driver, "sharphound", database=twin.database, now=1234)
    w.nodes(USER, users(5))
    w.nodes(COMPUTER, hosts(5))
    w.rels(ADMIN_TO, admin_rows(5, 5))
    TwinWriter(twin.driver, "nmap", database=twin.database, now=1300).nodes(
        NodeSchema("Computer"), [{"key": "WS0.CORP.LOCAL", "props": {"os": "Windows"}}]
    )
    missing = twin.value(
        "MATCH (n) WHERE n.source IS NULL OR n.firstseen IS NULL OR n.lastseen IS NULL RETURN count(n)"
    )
    assert missing == 0
    assert twin.value(
        "MATCH ()-[r]->() WHERE r.source IS NULL OR r.firstseen IS NULL OR r.lastseen IS NULL RETURN count(r)"
    ) == 0
    ws0 = twin.run("MATCH (n {key:'WS0.CORP.LOCAL'}) RETURN n.sources AS s, n.os AS os, labels(n) AS l")[0]
    assert ws0["s"] == ["nmap", "sharphound"] and ws0["os"] == "Windows"  # sorted, not by time
    assert set(ws0["l"]) == {"Twin", "Computer", "Base"}


def test_data_times_widen_the_seen_window(twin):
    w = TwinWriter(twin.driver, "winevents", database=twin.database, now=9999)
    w.nodes(USER, [{"key": "A@CORP.LOCAL", "props": {}, "firstseen": 500, "lastseen": 600}])
    w.nodes(USER, [{"key": "A@CORP.LOCAL", "props": {}, "firstseen": 400, "lastseen": 450}])
    w.nodes(USER, [{"key": "A@CORP.LOCAL", "props": {}, "firstseen": 700, "lastseen": 800}])
    row = twin.run("MATCH (n {key:'A@CORP.LOCAL'}) RETURN n.firstseen AS f, n.lastseen AS l")[0]
    assert (row["f"], row["l"]) == (400, 800)


def test_unresolved_relationship_ends_are_counted_not_invented(twin):
    w = TwinWriter(twin.driver, "test", database=twin.database)
    w.nodes(USER, users(2))
    stats = w.rels(MEMBER_OF, [{"src": "U0@CORP.LOCAL", "dst": "NOPE@CORP.LOCAL"}])
    assert stats.unresolved == 1 and stats.relationships_created == 0
    assert twin.counts() == (2, 0)


def test_scoped_cleanup_removes_only_stale_rows_of_that_source_and_scope(twin):
    old = TwinWriter(twin.driver, "sharphound", database=twin.database, now=100)
    old.nodes(USER, [{"key": f"U{i}@A", "props": {"domain": "A"}} for i in range(3)])
    old.nodes(USER, [{"key": "V@B", "props": {"domain": "B"}}])
    TwinWriter(twin.driver, "inventory", database=twin.database, now=100).nodes(
        NodeSchema("DataAsset"), [{"key": "DB", "props": {"domain": "A"}}]
    )
    new = TwinWriter(twin.driver, "sharphound", database=twin.database, now=200)
    new.nodes(USER, [{"key": "U0@A", "props": {"domain": "A"}}])
    assert new.cleanup_nodes(USER, {"domain": "A"}) == 2
    keys = twin.value("MATCH (n) RETURN collect(n.key)")
    assert sorted(keys) == ["DB", "U0@A", "V@B"]


def test_clean_props_keeps_nested_values_as_json():
    out = clean_props({"a": None, "b": {"x": 1}, "c": [1, 2], "d": [{"k": 1}], "e": [1, "x"], "f": "s"})
    assert out == {"b": '{"x": 1}', "c": [1, 2], "d": '[{"k": 1}]', "e": '[1, "x"]', "f": "s"}


def _proxied_driver(neo4j_settings, proxy):
    return GraphDatabase.driver(
        f"bolt://127.0.0.1:{proxy.port}",
        auth=(neo4j_settings.user, neo4j_settings.password),
        max_transaction_retry_time=2,
        connection_timeout=5,
    )


@pytest.fixture
def proxy(neo4j_settings):
    if neo4j_settings.external and not neo4j_settings.uri.startswith(("bolt://", "neo4j://")):
        pytest.skip("the cutting proxy needs a plain-text Bolt server")
    p = CuttingProxy(neo4j_settings.local_port if not neo4j_settings.external else int(neo4j_settings.uri.rsplit(":", 1)[1]))
    yield p
    p.close()


def test_connection_killed_mid_batch_then_rerun_gives_identical_graph(twin, neo4j_settings, proxy):
    nodes, rels = users(3000), admin_rows(3000, 40)
    ref = TwinWriter(twin.driver, "test", database=twin.database, now=1)
    ref.nodes(USER, nodes)
    ref.nodes(COMPUTER, hosts(40))
    ref.rels(ADMIN_TO, rels)
    expected = twin.snapshot()
    twin.run("MATCH (n) DETACH DELETE n")

    with _proxied_driver(neo4j_settings, proxy) as drv:
        drv.verify_connectivity()
        w = TwinWriter(drv, "test", database=twin.database, now=1, batch_size=1000)
        w.nodes(COMPUTER, hosts(40))
        proxy.arm(after_bytes=150_000)  # the cut lands inside the second batch of users
        w.nodes(USER, nodes)  # retried by tenacity on the dropped connection
        w.rels(ADMIN_TO, rels)
    assert proxy.cuts >= 1
    assert twin.snapshot() == expected


def test_a_batch_the_server_terminates_is_run_again(twin):
    """The server ends a batch's transaction (its client's connection dropped, a lock
    client stopped, an operator's kill): nothing of it was committed, so the writer runs it
    again. Since Neo4j 5 these come as ClientErrors the driver will not retry itself; a CI
    run met one when the cutting proxy above dropped a connection."""
    rows = users(200)
    TwinWriter(twin.driver, "test", database=twin.database, now=1).nodes(USER, rows)
    expected = twin.snapshot()
    failures: list[BaseException] = []
    with twin.driver.session(database=twin.database) as blocker:
        hold = blocker.begin_transaction()  # a write lock on one node the batch will MERGE
        hold.run("MATCH (n:User {key: $k}) SET n.held = true", k="U7@CORP.LOCAL").consume()

        def write() -> None:
            try:
                TwinWriter(twin.driver, "test", database=twin.database, now=1, workers=1).nodes(USER, rows)
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)

        worker = threading.Thread(target=write)
        worker.start()
        terminated = []
        deadline = time.monotonic() + 30
        while not terminated and time.monotonic() < deadline:
            with twin.driver.session(database=twin.database) as admin:
                waiting = admin.run(
                    "SHOW TRANSACTIONS YIELD transactionId, currentQuery, status "
                    "WHERE currentQuery CONTAINS 'UNWIND $rows' AND status STARTS WITH 'Blocked' "
                    "RETURN transactionId"
                ).value()
                if waiting:
                    terminated = admin.run("TERMINATE TRANSACTIONS $ids YIELD message RETURN message", ids=waiting).value()
            time.sleep(0.05)
        hold.rollback()
    worker.join(60)
    assert terminated == ["Transaction terminated."]
    assert not worker.is_alive() and failures == []
    assert twin.snapshot() == expected


def test_a_failed_batch_leaves_nothing_behind(twin, neo4j_settings, proxy):
    with _proxied_driver(neo4j_settings, proxy) as drv:
        drv.verify_connectivity()
        w = TwinWriter(drv, "test", database=twin.database, batch_size=1000, attempts=1, workers=1)
        proxy.arm(after_bytes=150_000)
        proxy.refuse = True  # no reconnection: the batch in flight must vanish whole
        with pytest.raises((ServiceUnavailable, SessionExpired, OSError)):
            w.nodes(USER, users(5000))
    n = twin.value("MATCH (n:User) RETURN count(n)")
    assert n % 1000 == 0 and n < 5000  # only whole batches were committed


def test_a_failed_parallel_batch_leaves_only_whole_batches(twin, neo4j_settings, proxy):
    rows = users(5000)
    lanes = node_lanes(rows, 2)  # the lanes the writer makes (same process, same hash)
    batches = [{r["key"] for r in lane[i:i + 1000]} for lane in lanes for i in range(0, len(lane), 1000)]
    with _proxied_driver(neo4j_settings, proxy) as drv:
        drv.verify_connectivity()
        w = TwinWriter(drv, "test", database=twin.database, batch_size=1000, attempts=1, workers=2)
        proxy.arm(after_bytes=150_000)
        proxy.refuse = True
        with pytest.raises((ServiceUnavailable, SessionExpired, OSError)):
            w.nodes(USER, rows)
    present = set(twin.value("MATCH (n:User) RETURN collect(n.key)"))
    assert len(present) < 5000
    # every batch is there whole or not at all
    assert all(b <= present or not (b & present) for b in batches)
    assert present == set().union(*[b for b in batches if b <= present])


def test_tournament_meets_every_pair_of_buckets_once_and_no_bucket_twice_a_round():
    for buckets in (2, 4, 6, 8):
        rounds = tournament(buckets)
        pairs = [tuple(sorted(p)) for r in rounds for p in r]
        assert sorted(pairs) == [(i, j) for i in range(buckets) for j in range(i + 1, buckets)]
        for r in rounds:
            used = [b for p in r for b in p]
            assert len(used) == len(set(used)) == buckets


def test_rel_rounds_keep_lanes_of_a_round_apart_and_rows_in_order():
    rnd = random.Random(3)
    rows = [{"src": f"N{rnd.randrange(300)}", "dst": f"N{rnd.randrange(300)}", "i": i} for i in range(20_000)]
    for workers in (2, 3):
        rounds = rel_rounds(rows, workers)
        seen = sorted(r["i"] for lanes in rounds for lane in lanes for r in lane)
        assert seen == list(range(len(rows)))  # every row exactly once
        where: dict[tuple, int] = {}
        for n, lanes in enumerate(rounds):
            nodes = [{x for r in lane for x in (r["src"], r["dst"])} for lane in lanes]
            for a in range(len(nodes)):
                for b in range(a + 1, len(nodes)):
                    assert not nodes[a] & nodes[b]  # lanes of a round never share a node
            for k, lane in enumerate(lanes):
                last: dict[tuple, int] = {}
                for r in lane:
                    pair = (r["src"], r["dst"])
                    assert where.setdefault(pair, (n, k)) == (n, k)  # one pair, one lane
                    assert r["i"] > last.get(pair, -1)  # in input order
                    last[pair] = r["i"]


def test_parallel_writes_give_the_same_graph_and_stats_as_sequential(twin):
    rnd = random.Random(5)
    nodes = users(1500) + [  # the same keys again, later rows must win as they do in order
        {"key": f"U{i}@CORP.LOCAL", "props": {"objectid": f"S-1-5-21-1-{i}", "title": f"v{i}"},
         "lastseen": 50} for i in range(0, 1500, 7)]
    hosts_ = hosts(60)
    rels = [{"src": f"S-1-5-21-1-{rnd.randrange(1500)}", "dst": f"S-1-5-21-2-{rnd.randrange(60)}",
             "props": {"n": i}, "lastseen": 10 + i % 5} for i in range(6000)]
    stats, snaps = [], []
    for workers in (1, 3):
        twin.run("MATCH (n) DETACH DELETE n")
        w = TwinWriter(twin.driver, "test", database=twin.database, now=1, batch_size=250, workers=workers)
        w.nodes(COMPUTER, hosts_)
        w.nodes(USER, nodes)
        w.rels(ADMIN_TO, rels)
        w.rels(MEMBER_OF, [{"src": f"U{i}@CORP.LOCAL", "dst": f"WS{i % 60}.CORP.LOCAL"} for i in range(1500)])
        snaps.append(twin.snapshot())
        s = w.stats
        stats.append((s.nodes_created, s.nodes_updated, s.relationships_created,
                      s.relationships_updated, s.unresolved, s.per_kind))
    assert stats[0] == stats[1]
    assert snaps[0] == snaps[1]
    assert stats[0][2] > 4000  # the parallel path really wrote (and merged) relationships


ON = RelSchema("OnHost", snapshot=False)
BY = RelSchema("ByUser", snapshot=False)
EVENT = NodeSchema("Event", ("LogonEvent",), snapshot=False)
LINKED_EVENT = NodeSchema("Event", ("LogonEvent",), snapshot=False, links=(ON, BY))


def events(n: int, start: int = 0) -> list[dict]:
    """Events on 60 hosts by 1500 users; every 13th names a host the twin does not hold,
    and some name the same edge twice."""
    rows = []
    for i in range(start, start + n):
        host = f"WS{i % 60}.CORP.LOCAL" if i % 13 else "GHOST.CORP.LOCAL"
        links = [("OnHost", host), ("ByUser", f"U{i % 1500}@CORP.LOCAL")]
        if i % 5 == 0:
            links.append(("OnHost", host))
        rows.append({"key": f"EVT:{i}", "firstseen": 100 + i, "lastseen": 100 + i,
                     "props": {"event_id": 4624, "n": i, "note": None}, "links": links})
    return rows


def _as_merges(rows: list[dict]) -> tuple[list[dict], dict[str, list[dict]]]:
    nodes = [{k: v for k, v in r.items() if k != "links"} for r in rows]
    rels: dict[str, list[dict]] = {"OnHost": [], "ByUser": []}
    for r in rows:
        for t, dst in dict.fromkeys(r["links"]):
            rels[t].append({"src": r["key"], "dst": dst, "firstseen": r["firstseen"], "lastseen": r["lastseen"]})
    return nodes, rels


@pytest.mark.parametrize("workers", [1, 2])
def test_linked_nodes_give_the_graph_and_stats_of_node_and_edge_merges(twin, workers):
    rows = events(3000)
    results = []
    for linked in (False, True):
        twin.run("MATCH (n) DETACH DELETE n")
        w = TwinWriter(twin.driver, "test", database=twin.database, now=1, batch_size=400, workers=workers)
        w.nodes(COMPUTER, hosts(60))
        w.nodes(USER, users(1500))
        w.stats = type(w.stats)()
        if linked:
            w.nodes(LINKED_EVENT, rows)
        else:
            nodes, rels = _as_merges(rows)
            w.nodes(EVENT, nodes)
            w.rels(ON, rels["OnHost"])
            w.rels(BY, rels["ByUser"])
        s = w.stats
        results.append(((s.nodes_created, s.relationships_created, s.unresolved), twin.snapshot()))
    assert results[0] == results[1]
    created, edges, unresolved = results[1][0]
    assert (created, edges, unresolved) == (3000, 6000 - unresolved, 3000 // 13 + 1)
    assert twin.value("MATCH (:Event {key: 'EVT:5'})-[r:OnHost]->() RETURN count(r)") == 1


def test_linked_nodes_written_again_merge_instead_of_duplicating(twin):
    twin.run("MATCH (n) DETACH DELETE n")
    w = TwinWriter(twin.driver, "test", database=twin.database, now=1, batch_size=500)
    w.nodes(COMPUTER, hosts(60))
    w.nodes(USER, users(1500))
    w.nodes(LINKED_EVENT, events(2000))
    once = twin.snapshot()
    # the same events again, and a file that overlaps them by half
    again = TwinWriter(twin.driver, "test", database=twin.database, now=1, batch_size=500)
    again.nodes(LINKED_EVENT, events(2000))
    assert twin.snapshot() == once
    assert again.stats.nodes_created == 0 and again.stats.nodes_updated == 2000
    assert again.stats.relationships_created == 0
    more = TwinWriter(twin.driver, "test", database=twin.database, now=1, batch_size=500)
    more.nodes(LINKED_EVENT, events(2000, start=1000))
    assert more.stats.nodes_created == 1000
    assert twin.value("MATCH (e:Event) RETURN count(e)") == 3000
    assert twin.value("MATCH (e:Event)-[r:OnHost]->() WITH e, count(r) AS c WHERE c > 1 RETURN count(e)") == 0
    assert twin.value("MATCH (e:Event)-[r:ByUser]->() RETURN count(r)") == 3000


def test_linked_nodes_refuse_an_undeclared_link(twin):
    w = TwinWriter(twin.driver, "test", database=twin.database, now=1)
    bad = [{"key": "EVT:X", "props": {}, "links": [("AdminTo", "WS1.CORP.LOCAL")]}]
    with pytest.raises(ValueError, match="AdminTo"):
        w.nodes(LINKED_EVENT, bad)
    with pytest.raises(ValueError, match="twin key"):
        NodeSchema("Event", links=(ADMIN_TO,))


SESSION = RelSchema("HasSession", src=NodeRef(), dst=NodeRef())


def test_provenance_does_not_depend_on_the_order_of_the_writes(twin):
    """`sources` sorted and `source` the first of them: a crash and a rerun (or two files in
    either order) write the same rows in another order and must leave the same graph."""
    snaps = []
    for order in (("winevents", "sharphound", "nmap"), ("nmap", "sharphound", "winevents")):
        twin.run("MATCH (n) DETACH DELETE n")
        for source in order:
            w = TwinWriter(twin.driver, source, database=twin.database, now=1)
            w.nodes(COMPUTER, [{"key": "WS0.CORP.LOCAL", "props": {"objectid": "S-1-5-21-2-0"}}])
            w.nodes(USER, users(1))
            w.rels(SESSION, [{"src": "WS0.CORP.LOCAL", "dst": "U0@CORP.LOCAL"}])
        snaps.append(twin.snapshot())
    assert snaps[0] == snaps[1]
    edge = twin.run("MATCH ()-[r:HasSession]->() RETURN r.sources AS s, r.source AS one")[0]
    assert edge["s"] == ["nmap", "sharphound", "winevents"] and edge["one"] == "nmap"


def test_cleanup_withdraws_a_source_from_what_another_still_vouches_for(twin):
    old = TwinWriter(twin.driver, "sharphound", database=twin.database, now=100)
    old.nodes(COMPUTER, hosts(2))
    old.nodes(USER, users(2))
    old.rels(MEMBER_OF, [{"src": "U0@CORP.LOCAL", "dst": "WS0.CORP.LOCAL"},
                         {"src": "U1@CORP.LOCAL", "dst": "WS1.CORP.LOCAL"}])
    # Another source vouches for the first edge (and, by sort order, comes first in `sources`).
    TwinWriter(twin.driver, "inventory", database=twin.database, now=100).rels(
        MEMBER_OF, [{"src": "U0@CORP.LOCAL", "dst": "WS0.CORP.LOCAL"}])
    new = TwinWriter(twin.driver, "sharphound", database=twin.database, now=200)
    assert new.cleanup_rels(MEMBER_OF) == 1  # only the edge sharphound alone stood for
    rest = twin.run("MATCH (a)-[r:MemberOf]->(b) RETURN a.key AS a, r.sources AS s, r.source AS one")
    assert [(r["a"], r["s"], r["one"]) for r in rest] == [("U0@CORP.LOCAL", ["inventory"], "inventory")]


def test_a_property_over_the_cap_refuses_its_row_and_writes_the_rest(twin):
    w = TwinWriter(twin.driver, "test", database=twin.database, now=1, max_property_bytes=1000, batch_size=2)
    rows = users(5)
    rows[2]["props"]["description"] = "é" * 600  # 1,200 bytes of UTF-8 in 600 characters
    w.nodes(USER, rows)
    w.nodes(COMPUTER, hosts(1))
    w.rels(MEMBER_OF, [{"src": "U0@CORP.LOCAL", "dst": "WS0.CORP.LOCAL", "props": {"note": ["x" * 600] * 2}},
                       {"src": "U1@CORP.LOCAL", "dst": "WS0.CORP.LOCAL"}])
    w.nodes(LINKED_EVENT, [{"key": "EVT:BIG", "props": {"raw": "{" * 2000}, "links": [("OnHost", "WS0.CORP.LOCAL")]},
                           {"key": "EVT:OK", "props": {}, "links": [("OnHost", "WS0.CORP.LOCAL")]}])
    assert [r for r, _ in w.rejected] == ["User U2@CORP.LOCAL", "U0@CORP.LOCAL MemberOf WS0.CORP.LOCAL", "Event EVT:BIG"]
    assert all("over the 1,000-byte property cap" in why for _, why in w.rejected)
    assert sorted(twin.value("MATCH (n:User) RETURN collect(n.key)")) == ["U0@CORP.LOCAL", "U1@CORP.LOCAL",
                                                                          "U3@CORP.LOCAL", "U4@CORP.LOCAL"]
    assert twin.value("MATCH ()-[r:MemberOf]->() RETURN count(r)") == 1
    assert twin.value("MATCH (e:Event) RETURN collect(e.key)") == ["EVT:OK"]
