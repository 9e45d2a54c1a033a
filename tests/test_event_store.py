"""The event store beside the graph (graph/events): every event the graph holds is a row
under the same keys; a run is visible whole or not at all; a kill mid-ingest then a rerun
gives the store and the graph of a clean load; forget, reset and the relink cover it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from graph.events import EventFilter, open_store
from graph.ingest.registry import forget, ingest
from graph.schema import reset_twin
from tests.test_crash_ingest import kill_at, normalized, run_ingest
from tests.test_winevents_real import otrf_lines, write

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "tests" / "data" / "events" / "windows.jsonl"
_GRAPH_EVENTS = """
MATCH (e:Event)
OPTIONAL MATCH (e)-[:OnHost]->(h)
OPTIONAL MATCH (e)-[:FromHost]->(s)
OPTIONAL MATCH (e)-[:ByUser]->(b)
OPTIONAL MATCH (e)-[:TargetsUser]->(t)
RETURN e.key AS key, coalesce(h.key, e.host) AS host, s.key AS from_host, e.event_id AS event_id,
       e.timestamp AS ts, e.fields AS raw, collect(DISTINCT b.key) AS by, collect(DISTINCT t.key) AS targets
"""


def graph_events(twin) -> list[tuple]:
    return sorted((r["key"], r["host"], r["from_host"], r["event_id"], r["ts"], r["raw"],
                   tuple(sorted(r["by"])), tuple(sorted(r["targets"]))) for r in twin.run(_GRAPH_EVENTS))


def store_events(store) -> list[tuple]:
    return sorted((r["key"], r["host"], r["from_host"], r["event_id"], r["ts"], r["raw"],
                   tuple(sorted(r["by_keys"])), tuple(sorted(r["target_keys"])))
                  for r in store.query(EventFilter()))


@pytest.fixture
def store(twin, neo4j_settings):
    s = open_store(neo4j_settings.database)
    assert s.count() == 0  # reset_twin (the twin fixture) emptied it
    return s


def test_every_event_of_the_graph_is_a_row_under_the_same_keys(twin, store):
    report = ingest(twin.driver, [EVENTS], database=twin.database)
    assert report.loaded_files == 1
    got = store_events(store)
    assert len(got) == 19
    assert got == graph_events(twin)
    row = store.get(["EVT:WS01.CORP.LOCAL:Security:58210"])["EVT:WS01.CORP.LOCAL:Security:58210"]
    assert row["target_keys"] == ["ALICE@CORP.LOCAL"] and row["props"]["logon_type"] == 10
    assert '"RecordNumber": 58210' in row["raw"]
    # the same file again is the same rows (the latest run's), not twice as many
    ingest(twin.driver, [EVENTS], database=twin.database)
    assert store_events(store) == got


def test_filters_by_host_account_ip_event_id_and_time(twin, store):
    ingest(twin.driver, [EVENTS], database=twin.database)
    everything = store.query(EventFilter())
    by_host = store.query(EventFilter(hosts=["ws01"]))  # the short name, any case
    assert by_host and all("WS01" in (r["host"], (r["from_host"] or "").split(".")[0])
                           or r["host"].startswith("WS01.") or (r["from_host"] or "").startswith("WS01.")
                           for r in by_host)
    alice = store.query(EventFilter(accounts=["alice"]))
    assert alice and all(any(k.split("@")[0] == "ALICE" for k in r["by_keys"] + r["target_keys"]) for r in alice)
    exact = store.query(EventFilter(accounts=["ALICE@CORP.LOCAL"]))
    assert exact == [r for r in alice if "ALICE@CORP.LOCAL" in r["by_keys"] + r["target_keys"]] != alice
    logons = store.query(EventFilter(event_ids=[4624]))
    assert logons and {r["event_id"] for r in logons} == {4624}
    ip = store.query(EventFilter(ips=["10.10.0.20"]))
    assert ip and all("10.10.0.20" in (r["ip"], r["dst_ip"]) for r in ip)
    t = everything[len(everything) // 2]["ts"]
    window = store.query(EventFilter(since=t, until=t + 60))
    assert window == [r for r in everything if t <= r["ts"] <= t + 60]
    assert len(store.query(EventFilter(limit=3))) == 3


def test_a_run_is_invisible_until_committed_and_a_dead_run_is_removed(store):
    run = store.begin()
    run.append([{"key": "EVT:H:Security:1", "ts": 1_700_000_000, "event_id": 4624, "source": "t"}])
    assert store.count() == 0  # written, not committed
    pending = run.dir
    dead = pending.with_name(f"{pending.name.rpartition('-')[0]}-{_dead_pid()}")
    pending.rename(dead)  # as if its process had been killed
    store.begin()
    assert not dead.exists() and store.count() == 0
    done = store.begin()
    done.append([{"key": "EVT:H:Security:2", "ts": 1_700_000_000, "event_id": 4624, "source": "t"}])
    done.commit()
    assert [r["key"] for r in store.query(EventFilter())] == ["EVT:H:Security:2"]


def _dead_pid() -> int:
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        pid += 1


@pytest.mark.parametrize("point", ["events-file:1", "events-commit:1", "batch-done:1"])
def test_a_kill_mid_ingest_then_a_rerun_gives_the_store_and_graph_of_a_clean_load(twin, store, point):
    since = int(time.time()) - 1
    clean = run_ingest(EVENTS)
    assert clean.wait(timeout=300) == 0, clean.stderr.read()
    expected_graph, expected_store = normalized(twin.snapshot(), since), store_events(store)
    assert len(expected_store) == 19
    reset_twin(twin.driver, twin.database)

    kill_at(EVENTS, point)
    assert store.count() == 0 or point == "events-commit:1"  # nothing of the run is visible
    rerun = run_ingest(EVENTS)
    assert rerun.wait(timeout=300) == 0, rerun.stderr.read()
    assert store_events(store) == expected_store
    assert normalized(twin.snapshot(), since) == expected_graph
    assert not any((store.root / "_pending").iterdir())  # the dead run's files are gone


def test_forget_and_reset_cover_the_store(twin, store, tmp_path):
    ingest(twin.driver, [EVENTS], database=twin.database)
    base = store_events(store)
    other = tmp_path / "other.jsonl"
    text = EVENTS.read_text()
    for a, b in (("WS01", "WS09"), ("DC01", "DC09"), ("FILE01", "FILE09"), ("LAPTOP77", "LAPTOP79"),
                 ("WS02", "WS08"), ("10.10.0.", "10.30.0."), ("10.20.1.", "10.40.1.")):
        text = text.replace(a, b)
    other.write_text(text)  # another enterprise's events: no key nor address shared
    ingest(twin.driver, [other], database=twin.database, tag="scenario-1")
    assert len(store_events(store)) > len(base)
    forget(twin.driver, "scenario-1", twin.database)
    assert store_events(store) == base == graph_events(twin)
    reset_twin(twin.driver, twin.database)
    assert store.count() == 0 and not store.root.exists()


def test_relinked_hosts_accounts_and_sources_are_patched_into_the_store(twin, store, tmp_path):
    """Events whose host, account or source host the twin learns only from a later file:
    the relink re-keys and ties them in the graph, and the store follows."""
    rubeus = otrf_lines("empire_shell_rubeus_asktgt_ptt")
    short = write(tmp_path / "short.jsonl", [ln for ln in rubeus if json.loads(ln)["Hostname"] == "WORKSTATION6"])
    full = write(tmp_path / "full.jsonl", [ln for ln in rubeus if json.loads(ln)["Hostname"] != "WORKSTATION6"])
    sharpsc = otrf_lines("covenant_sharpsc_create_dcerpc_smb_svcctl")
    ws6 = write(tmp_path / "ws6.jsonl", [ln for ln in sharpsc if '"WORKSTATION6.' in ln])
    ws5 = write(tmp_path / "ws5.jsonl", [ln for ln in sharpsc if '"WORKSTATION5.' in ln])
    for first, second in ((short, full), (ws6, ws5)):
        reset_twin(twin.driver, twin.database)
        alone = ingest(twin.driver, [first], database=twin.database)
        assert sum(alone.unresolved[k] for k in ("event_hosts", "event_ips", "event_accounts")) > 0
        assert store_events(store) == graph_events(twin)
        after = ingest(twin.driver, [second], database=twin.database)
        assert sum(after.unresolved["relinked"].values()) > 0
        assert store_events(store) == graph_events(twin)


def test_evidence_about_an_event_is_checked_in_the_store_when_the_graph_lacks_it(twin, store):
    """The grounding verifier and the evaluator (graph.evidence) find an `EVT:` key and its
    edges to the twin wherever the event lives: here only in the store."""
    from graph.evidence import check_items, existing_keys

    ingest(twin.driver, [EVENTS], database=twin.database)
    key = "EVT:WS01.CORP.LOCAL:Security:58210"
    twin.run("MATCH (e:Event {key: $k}) DETACH DELETE e", k=key)
    items = [{"node": key}, {"edge": [key, "OnHost", "WS01.CORP.LOCAL"]},
             {"edge": [key, "TargetsUser", "ALICE@CORP.LOCAL"]}, {"edge": [key, "TargetsUser", "BOB@CORP.LOCAL"]},
             {"edge": [key, "AdminTo", "WS01.CORP.LOCAL"]}, {"node": "EVT:WS01.CORP.LOCAL:Security:1"}]
    assert check_items(twin.driver, items, twin.database) == [True, True, True, False, False, False]
    assert existing_keys(twin.driver, [key, "EVT:NOPE:Security:1"], twin.database) == {key}
