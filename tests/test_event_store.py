"""The event store beside the graph (graph/events): every event is a row under the twin's
keys (the graph holds no event nodes); a run is visible whole or not at all; a kill mid-ingest then a rerun
gives the store and the graph of a clean load; forget, reset and the relink cover it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from graph.events import EventFilter, event_row, open_store
from graph.events.duck import DuckEventStore
from graph.ingest.registry import forget, ingest
from graph.schema import reset_twin
from tests.test_crash_ingest import kill_at, normalized, run_ingest
from tests.test_winevents_real import otrf_lines, write

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "tests" / "data" / "events" / "windows.jsonl"
def tied_to_the_twin(twin, store) -> int:
    """Every event row names the twin's own keys: its key holds the host it is tied to,
    and every host, source host, account and address it is tied to is a node of the
    graph (an unresolved host is the name as written, marked so). Returns the rows."""
    rows = store.query(EventFilter())
    named: set[str] = set()
    for r in rows:
        if "HostUnresolved" not in r["marks"]:
            assert r["key"].startswith(f"EVT:{r['host']}:"), r["key"]
            named.add(r["host"])
        named.update(k for k in (r["from_host"], r["from_ip"], *r["by_keys"], *r["target_keys"]) if k)
    found = set(twin.value("UNWIND $keys AS k MATCH (n:Twin {key: k}) RETURN collect(k)", keys=sorted(named)))
    assert found == named, sorted(named - found)[:5]
    assert twin.value("MATCH (e:Event) RETURN count(e)") == 0  # events are the store's rows
    return len(rows)


def store_events(store) -> list[tuple]:
    return sorted((r["key"], r["host"], r["from_host"], r["event_id"], r["ts"], r["raw"],
                   tuple(sorted(r["by_keys"])), tuple(sorted(r["target_keys"])))
                  for r in store.query(EventFilter()))


@pytest.fixture
def store(twin, neo4j_settings):
    s = open_store(neo4j_settings.database)
    assert s.count() == 0  # reset_twin (the twin fixture) emptied it
    return s


def test_every_event_is_a_row_under_the_twins_keys(twin, store):
    report = ingest(twin.driver, [EVENTS], database=twin.database)
    assert report.loaded_files == 1 and report.events_stored == 19
    got = store_events(store)
    assert len(got) == 19 == tied_to_the_twin(twin, store)
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
    scratch = Path("/dev/shm") / f"1-1.parquet-{_dead_pid()}-1.jsonl"  # killed mid-write
    if Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK):
        scratch.write_text("{}\n")
    store.begin()
    assert not dead.exists() and store.count() == 0 and not scratch.exists()
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


def _row(key: str, ts: int, **kw) -> dict:
    return event_row(key, {"timestamp": ts, "event_id": 4624, **kw.pop("props", {})}, kw.pop("links", ()),
                     ["Event", "LogonEvent", *kw.pop("marks", ())], kw.pop("source", "t"))


def test_a_run_reads_its_own_rows_beside_the_committed_ones(tmp_path):
    """The relink and the alerts of an ingest read events it has not committed yet; a
    mark is judged on each event's latest version."""
    store = DuckEventStore(tmp_path)
    first = store.begin()
    first.append([_row("EVT:A:Security:1", 1_700_000_000, marks=["HostUnresolved"]),
                  _row("EVT:A:Security:2", 1_700_000_060, marks=["IpUnresolved"], source="w#tag")])
    first.commit()
    run = store.begin()
    run.append([_row("EVT:B:Security:3", 1_700_090_000, links=[("OnHost", "B")])])
    assert [r["key"] for r in run.query(EventFilter())] == ["EVT:A:Security:1", "EVT:A:Security:2", "EVT:B:Security:3"]
    assert [r["key"] for r in store.query(EventFilter())] == ["EVT:A:Security:1", "EVT:A:Security:2"]
    assert run.existing(["EVT:A:Security:1", "EVT:B:Security:3", "EVT:C:Security:9"]) == {
        "EVT:A:Security:1", "EVT:B:Security:3"}
    assert [r["key"] for r in run.query(EventFilter(marks=["HostUnresolved", "IpUnresolved"], source="w#tag"))] == [
        "EVT:A:Security:2"]
    assert [r["key"] for r in run.query(EventFilter(since=1_700_080_000, newest=True))] == ["EVT:B:Security:3"]
    # the same event written again, tied: no longer marked, for the run and once committed
    run.append([_row("EVT:A:Security:1", 1_700_000_000, links=[("OnHost", "A")])])
    assert [r["key"] for r in run.query(EventFilter(marks=["HostUnresolved"]))] == []
    run.commit()
    assert store.begin().query(EventFilter(marks=["HostUnresolved"])) == []
    assert store.get(["EVT:A:Security:1"])["EVT:A:Security:1"]["host"] == "A"


def test_rows_written_through_json_lines_read_back_as_written_column_by_column(tmp_path):
    """An append goes through JSON lines DuckDB parses (fast), or column by column from
    Python when a value cannot (a number past 64 bits): both read back the same."""
    rows = [_row(f"EVT:H:Security:{i}", 1_700_000_000 + i, links=[("OnHost", "H"), ("ByUser", f"U{i}@D")],
                 props={"image": "C:\\Windows\\cmd.exe", "text": "é 日本 \" \n", "hashes": ["ab", "cd"], "n": i})
            for i in range(5)]
    rows[2]["marks"] = ["IpUnresolved"]
    rows[3]["channel"] = 7  # a number where text belongs is kept as text
    fast, slow = DuckEventStore(tmp_path / "fast"), DuckEventStore(tmp_path / "slow")
    fast._write_json(tmp_path / "fast" / "day=2023-11-14" / "1.parquet", [dict(r) for r in rows], 1)
    slow._write_columns(tmp_path / "slow" / "day=2023-11-14" / "1.parquet", [dict(r) for r in rows], 1)
    assert fast.query(EventFilter()) == slow.query(EventFilter())
    assert len(fast.query(EventFilter())) == 5 and fast.get(["EVT:H:Security:3"])["EVT:H:Security:3"]["channel"] == "7"
    big = DuckEventStore(tmp_path / "big")
    run = big.begin()
    run.append([_row("EVT:H:Security:9", 1_700_000_000, props={"n": 2 ** 70})])  # orjson refuses it
    run.commit()
    assert big.get(["EVT:H:Security:9"])["EVT:H:Security:9"]["props"]["n"] == 2 ** 70
    assert not list(tmp_path.rglob("*.jsonl")) and not list(Path("/dev/shm").glob("*.parquet-*.jsonl"))


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
    assert store_events(store) == base
    assert tied_to_the_twin(twin, store) == len(base)
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
        tied_to_the_twin(twin, store)
        marked = {m: {r["key"] for r in store.query(EventFilter(marks=[m]))}
                  for m in ("HostUnresolved", "IpUnresolved", "AccountUnresolved")}
        assert [len(marked[m]) for m in marked] == [alone.unresolved[k] for k in
                                                    ("event_hosts", "event_ips", "event_accounts")]
        after = ingest(twin.driver, [second], database=twin.database)
        relinked = after.unresolved["relinked"]
        assert sum(relinked.values()) > 0
        tied_to_the_twin(twin, store)
        still = {m: {r["key"] for r in store.query(EventFilter(marks=[m]))} for m in marked}
        assert [len(still[m]) for m in still] == [after.unresolved[k] for k in
                                                  ("event_hosts", "event_ips", "event_accounts")]
        # a re-keyed event is its host's now; a tied source address has its source host
        assert len(marked["HostUnresolved"]) - len(still["HostUnresolved"]) == relinked["event_hosts"]
        for key in marked["IpUnresolved"] - still["IpUnresolved"]:
            assert store.get([key])[key]["from_host"] is not None


def test_evidence_about_an_event_is_checked_in_the_store_when_the_graph_lacks_it(twin, store):
    """The grounding verifier and the evaluator (graph.evidence) find an `EVT:` key and its
    edges to the twin wherever the event lives: here only in the store."""
    from graph.evidence import check_items, existing_keys

    ingest(twin.driver, [EVENTS], database=twin.database)
    key = "EVT:WS01.CORP.LOCAL:Security:58210"
    assert twin.value("MATCH (e:Event) RETURN count(e)") == 0  # the store holds the events
    items = [{"node": key}, {"edge": [key, "OnHost", "WS01.CORP.LOCAL"]},
             {"edge": [key, "TargetsUser", "ALICE@CORP.LOCAL"]}, {"edge": [key, "TargetsUser", "BOB@CORP.LOCAL"]},
             {"edge": [key, "AdminTo", "WS01.CORP.LOCAL"]}, {"node": "EVT:WS01.CORP.LOCAL:Security:1"}]
    assert check_items(twin.driver, items, twin.database) == [True, True, True, False, False, False]
    assert existing_keys(twin.driver, [key, "EVT:NOPE:Security:1"], twin.database) == {key}
