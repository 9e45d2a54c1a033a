"""The derivations after an ingest run only when the run touched their inputs
(graph/derive/base.py): on a generated estate, an ingest that skips one leaves the twin
exactly as running every derivation would, and a run that stops before its derivations,
or a `forget`, leaves them to be done, not lost."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from graph.derive.base import PENDING
from graph.generate import generate
from graph.ingest import registry
from graph.ingest.registry import derive, forget, ingest
from graph.schema import reset_twin

SEED, HOSTS, USERS = 5, 24, 40
NOW = 1_767_000_000


@pytest.fixture(scope="module")
def estate(tmp_path_factory) -> tuple[Path, dict[str, list[Path]]]:
    out = tmp_path_factory.mktemp("skip")
    doc = generate(out, seed=SEED, hosts=HOSTS, users=USERS, ops=True)
    by_format: dict[str, list[Path]] = {}
    for path, meta in sorted(doc["files"].items()):
        by_format.setdefault(meta["format"], []).append(out / path)
    return out, by_format


def _files(by_format: dict[str, list[Path]], *formats: str, without: tuple[str, ...] = ()) -> list[Path]:
    return [p for f, ps in by_format.items() for p in ps
            if (f in formats if formats else f not in without)]


def _exploits(twin) -> list[tuple]:
    return [tuple(r.values()) for r in twin.run(
        "MATCH (a)-[r:CanExploit]->(b) RETURN a.key AS a, b.key AS b, r.cve AS cve, r.via AS via ORDER BY a, b")]


def test_an_event_only_ingest_skips_what_it_cannot_move_and_the_twin_is_as_if_it_had_not(twin, estate):
    _, by_format = estate
    base = ingest(twin.driver, _files(by_format, without=("winevents", "alerts")), database=twin.database, now=NOW)
    assert base.skipped_derivations == []  # the first load touches everything
    assert _exploits(twin), "the generated estate has exploitable services: the test needs some"
    report = ingest(twin.driver, _files(by_format, "winevents"), database=twin.database, now=NOW + 60)
    assert report.events_stored > 0
    # Windows events write hosts, accounts, leases and sessions: never group membership,
    # replication rights or CA objects
    assert {"adcs", "dcsync"} <= set(report.skipped_derivations)
    assert set(report.as_contract()["derivations_skipped"]) == set(report.skipped_derivations)
    after = twin.snapshot()
    derive(twin.driver, twin.database, NOW + 60, None)  # every derivation, whatever changed
    assert twin.snapshot() == after, "a skipped derivation would have changed the twin"
    assert twin.value(f"MATCH (m:{PENDING}) RETURN count(m)") == 0


def test_exploit_is_skipped_when_no_host_moved_zone_and_runs_when_one_did(twin, estate, tmp_path):
    _, by_format = estate
    ingest(twin.driver, _files(by_format, without=("winevents", "alerts")), database=twin.database, now=NOW)
    ingest(twin.driver, _files(by_format, "winevents"), database=twin.database, now=NOW + 60)
    again = ingest(twin.driver, _files(by_format, "winevents"), database=twin.database, now=NOW + 120)
    assert "exploit" in again.skipped_derivations, again.as_contract()
    # a host seen at an address of another zone: host zones write InZone, exploit must run
    host, address = next(
        (r["h"], str(ipaddress.ip_network(r["cidr"])[77])) for r in twin.run(
            "MATCH (c:Computer)-[:InZone]->(z:Zone) MATCH (s:Subnet)-[:InZone]->(o:Zone) "
            "WHERE o <> z AND NOT (c)-[:InZone]->(o) AND c.objectid IS NOT NULL "
            "RETURN c.key AS h, s.key AS cidr ORDER BY h, cidr")
        if ipaddress.ip_network(r["cidr"]).is_private and ipaddress.ip_network(r["cidr"]).num_addresses > 100)
    # a machine logon of that host from the new address, in the generated files' own shape
    template = next(json.loads(line) for f in _files(by_format, "winevents")
                    for line in f.read_text(encoding="utf-8").splitlines()
                    if '"EventID":4624' in line and '$"' in line and '"LogonType":"3"' in line)
    template.update(TargetUserName=host.split(".")[0] + "$", IpAddress=address, RecordNumber=990_001)
    event = tmp_path / "moved.jsonl"
    event.write_text(json.dumps(template) + "\n", encoding="utf-8")
    moved = ingest(twin.driver, [event], database=twin.database, now=NOW + 180)
    assert "exploit" not in moved.skipped_derivations, moved.as_contract()


def test_a_run_stopped_before_its_derivations_leaves_them_to_the_next_run(twin, estate, driver, monkeypatch):
    _, by_format = estate
    scans = _files(by_format, "nmap", "trivy", "cyclonedx")
    rest = _files(by_format, without=("winevents", "alerts", "nmap", "trivy", "cyclonedx"))
    events = _files(by_format, "winevents")
    assert scans and rest and events
    # clean: everything in order; the events come twice, the second time moving no host
    # (alone, that ingest skips the exploit derivation: the second test)
    for files in (rest, events, scans, events):
        ingest(twin.driver, files, database=twin.database, now=NOW)
    clean = twin.snapshot()
    assert _exploits(twin)
    reset_twin(twin.driver, twin.database)

    ingest(twin.driver, rest, database=twin.database, now=NOW)
    ingest(twin.driver, events, database=twin.database, now=NOW)

    def stopped(*args, **kwargs):
        raise RuntimeError("stopped after the loads")

    monkeypatch.setattr(registry, "derive", stopped)
    with pytest.raises(RuntimeError, match="stopped after the loads"):
        ingest(twin.driver, scans, database=twin.database, now=NOW)
    monkeypatch.undo()
    assert twin.value(f"MATCH (m:{PENDING}) RETURN count(m)") == 1
    assert not _exploits(twin)  # the scans are in, their derived edges not yet
    report = ingest(twin.driver, events, database=twin.database, now=NOW)
    assert "exploit" not in report.skipped_derivations  # the events alone would not have run it
    assert twin.snapshot() == clean


def test_forget_derives_again_what_the_forgotten_run_supported(twin, estate):
    _, by_format = estate
    scans = _files(by_format, "nmap", "trivy", "cyclonedx")
    ingest(twin.driver, _files(by_format, without=("winevents", "alerts", "nmap", "trivy", "cyclonedx")),
           database=twin.database, now=NOW)
    assert not _exploits(twin)  # no services yet
    ingest(twin.driver, scans, database=twin.database, now=NOW, tag="scan")
    assert _exploits(twin)
    forget(twin.driver, "scan", database=twin.database)
    # derived at once, not left for whatever the next ingest happens to carry (an event
    # file would skip the exploit derivation)
    assert not _exploits(twin)
    assert twin.value(f"MATCH (m:{PENDING}) RETURN count(m)") == 0
