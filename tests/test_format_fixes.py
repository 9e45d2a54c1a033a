"""Real public files as a new user loads them: formats chosen by structure, facts from
scans kept at their newest, addresses that are no hosts, one node per Trivy target,
alerts in the envelopes Elastic and Kibana ship them in.

Real samples come from ../shared/data/real (provenance in its PROVENANCE.md files); where
one is missing the test says which public file it stands in for and builds it from a
real one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.ingest import nmap, trivy
from graph.ingest._jsonhead import Head, Large, scan
from graph.ingest.base import BadFile, IngestContext, Source
from graph.ingest.registry import connectors, ingest, sniff
from graph.loader import TwinWriter
from graph.model import NodeSchema
from tests.conftest import real_data

NOW = 1_757_000_000
OFFLINE = IngestContext(driver=None, database=None, now=NOW)


def fmt_of(path: Path, data: bytes | None = None) -> str | None:
    conn = sniff(Source(str(path), data if data is not None else path.read_bytes()), None, connectors())
    return conn.name if conn else None


def props(twin, key: str) -> dict | None:
    recs = twin.run("MATCH (n:Twin {key: $k}) RETURN properties(n) AS p, labels(n) AS l", k=key)
    return {**dict(recs[0]["p"]), "_labels": sorted(recs[0]["l"])} if recs else None


def load(twin, *paths: Path, **kw):
    return ingest(twin.driver, list(paths), database=twin.database, now=NOW, **kw)


# --------------------------------------------------------------------------- structural sniffing


def test_scan_reads_top_level_keys_past_large_values():
    blob = {"components": [{"type": "library", "name": f"p{i}", "purl": f"pkg:pypi/p{i}@1"} for i in range(3000)],
            "note": 'brackets } ] { [ and "quotes" \\ inside strings', "bomFormat": "CycloneDX"}
    h = scan(json.dumps(blob).encode())
    assert h.kind == "object" and h.complete and list(h.keys) == ["components", "note", "bomFormat"]
    assert h.keys["components"] == Large("array", ("type", "name", "purl"))
    assert h.keys["note"] == blob["note"] and h.keys["bomFormat"] == "CycloneDX"
    cut = scan(json.dumps(blob).encode(), limit=4096)
    assert not cut.complete and cut.keys["components"] == Large("array", ("type", "name", "purl"), complete=False)
    assert scan(b'\xef\xbb\xbf[{"a": 1}, {"b": 2}]').keys == {"a": 1}
    assert scan(b'{"_path": "dns", "ts": 1}\n{"_path": "conn", "ts": 2}\n').kind == "lines"
    assert scan(b"#separator \\x09") is None and scan(b"") is None and scan(b'{"a": ') is None


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda c: st.lists(c, max_size=5) | st.dictionaries(st.text(max_size=8), c, max_size=5),
                    max_leaves=30), st.integers(0, 400))
def test_scan_agrees_with_json_and_never_crashes(doc, cut):
    text = json.dumps(doc)
    h = scan(text.encode())
    if isinstance(doc, dict):
        assert h.kind == "object" and h.complete
        assert list(h.keys) == list(doc)
        for k, v in h.keys.items():
            assert v == doc[k] or isinstance(v, Large)
    scan(text.encode()[:cut])  # truncated anywhere: an answer, never an exception


@pytest.mark.parametrize("parts,fmt", [
    *[(("formats", "cyclonedx", n), "cyclonedx") for n in (
        "juice-shop-flat-bom.1.4.json", "laravel-7.12.0-bom.1.4.json", "dropwizard-1.3.15-bom.json",
        "proton-bridge-v1.8.0.bom.json", "keycloak-10.0.2-bom.json", "vex-bom.json", "trivy-npm-cyclonedx.json.golden")],
    *[(("formats", "trivy", n), "trivy") for n in (
        "alpine-39.json.golden", "debian-stretch.json.golden", "npm.json.golden", "spring4shell-jre11.json.golden",
        "fluentd-gems.json.golden")],
    *[(("formats", "nmap", n), "nmap") for n in ("fullscan.xml", "os_scan6.xml", "2_hosts_version.xml")],
    (("formats", "alerts", "kibana-8.1.0-es_archive-doc1.json"), "alerts"),
    (("formats", "alerts", "kibana-8.1.0-alert1-source.json"), "alerts"),
    (("kev", "known_exploited_vulnerabilities.json"), "kev"), (("kev", "schema.json"), None),
    (("bloodhound-esc1-v6", "users.json"), "sharphound"), (("bloodhound-esc1-v6", "certtemplates.json"), "sharphound"),
    (("mordor-dcsync", "covenant_dcsync_dcerpc_drsuapi_DsGetNCChanges_2020-08-05020926.json"), "winevents"),
], ids=lambda v: v[-1] if isinstance(v, tuple) else str(v))
def test_every_real_file_is_recognised_as_its_format(parts, fmt):
    assert fmt_of(real_data(*parts)) == fmt


def cyclonedx_py_bom(components: int) -> dict:
    """A BOM in the shape cyclonedx-py writes (keys sorted, `bomFormat` and `specVersion`
    after the components), standing in for CycloneDX/cyclonedx-python's snapshot
    tests/_data/snapshots/poetry/plain_regression-issue702_lock21_1.6.json.bin (553 KB),
    which ../shared lacks. Its packages are real PyPI releases' names."""
    names = ["aiohappyeyeballs", "aiohttp", "aiosignal", "attrs", "frozenlist", "idna", "multidict", "propcache", "yarl"]
    comps = [{"bom-ref": f"{n}@{i}.0.{j}", "description": f"{n} release {i}.0.{j}", "externalReferences": [
                 {"comment": "from legacy-api", "type": "distribution",
                  "url": f"https://pypi.org/simple/{n}/#{n}-{i}.0.{j}-py3-none-any.whl",
                  "hashes": [{"alg": "SHA-256", "content": f"{i:08x}{j:056x}"}]}],
              "name": n, "purl": f"pkg:pypi/{n}@{i}.0.{j}", "type": "library", "version": f"{i}.0.{j}"}
             for j, n in enumerate(names) for i in range(1, components // len(names) + 2)][:components]
    return {"components": comps,
            "dependencies": [{"ref": "root-component"}] + [{"ref": c["bom-ref"]} for c in comps],
            "metadata": {"component": {"bom-ref": "root-component", "name": "regression-issue702",
                                       "type": "application", "version": "0.1.0", "description": "packages from a lock file"},
                         "timestamp": "2025-01-14T12:00:00+00:00"},
            "version": 1, "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
            "bomFormat": "CycloneDX", "specVersion": "1.6"}


def test_a_cyclonedx_py_sbom_over_64_kib_with_bomformat_last_is_recognised(twin, tmp_path):
    path = tmp_path / "sbom.json"
    path.write_text(json.dumps(cyclonedx_py_bom(400), indent=2))
    assert path.stat().st_size > 3 * 65536 and b"bomFormat" not in path.read_bytes()[:65536]
    assert fmt_of(path) == "cyclonedx"
    report = load(twin, path)
    assert report.formats == {"cyclonedx": 1} and report.rejected == []
    assert twin.value("MATCH (:Application {key: 'app:regression-issue702@0.1.0'})-[r:HasInstalled]->() "
                      "RETURN count(r)") == 400


def test_a_bom_past_the_scan_limit_is_known_by_its_first_component():
    data = json.dumps(cyclonedx_py_bom(400)).encode()
    head = Head(data[:65536].decode(), data)
    head._json, head._scanned = scan(data, limit=70_000), True  # as if the file were larger than the limit
    assert not head.json.complete
    assert connectors()["cyclonedx"].sniff("sbom.json", head)


# --------------------------------------------------------------------------- timed facts: Nmap


def test_an_older_nmap_scan_loaded_late_keeps_the_newer_os_guess(twin):
    """os_scan6 (start 1399586136) guessed 192.168.1.3 less precisely than full_sudo6 (1399586452)."""
    newer, older = real_data("formats", "nmap", "full_sudo6.xml"), real_data("formats", "nmap", "os_scan6.xml")
    seen = []
    for order in ((newer, older), (older, newer)):
        twin.run("MATCH (n) DETACH DELETE n")
        for path in order:
            load(twin, path)
        mac = props(twin, "192.168.1.3")
        seen.append({k: mac.get(k) for k in ("nmap_os", "nmap_os_time", "operatingsystem", "nmap_os_accuracy")})
        svc = props(twin, "192.168.1.5:2869/TCP")
        assert svc["product"] == "Microsoft HTTPAPI httpd"  # the newer banner, whatever the order
    assert seen[0] == seen[1]
    assert seen[0]["nmap_os"].startswith("Apple Mac OS X 10.8 - 10.8.1") and seen[0]["nmap_os_time"] == 1399586591
    assert seen[0]["operatingsystem"] == seen[0]["nmap_os"]


def test_an_operating_system_another_source_set_is_never_replaced_by_a_guess(twin):
    TwinWriter(twin.driver, "sharphound", database=twin.database, now=NOW).nodes(
        NodeSchema("Computer"), [{"key": "192.168.1.5", "props": {"operatingsystem": "Windows Server 2008 R2 Standard"}}])
    load(twin, real_data("formats", "nmap", "os_scan6.xml"))
    host = props(twin, "192.168.1.5")
    assert host["operatingsystem"] == "Windows Server 2008 R2 Standard"
    assert host["nmap_os"] == "Microsoft Windows Server 2008 Beta 3"


def test_an_nmap_file_declaring_an_unknown_encoding_is_a_bad_file():
    """Found by the raw-bytes fuzzer: one stray byte in the XML declaration raised LookupError."""
    raw = real_data("formats", "nmap", "dionaea_scan.xml").read_bytes()
    assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    with pytest.raises(BadFile, match="unknown encoding: aUTF-8"):
        nmap.transform(Source("scan.xml", raw.replace(b'encoding="UTF-8"', b'encoding="aUTF-8"', 1)), OFFLINE)


# --------------------------------------------------------------------------- addresses that are no hosts


def test_localhost_and_broadcast_addresses_are_not_hosts(twin, tmp_path):
    report = load(twin, real_data("formats", "nmap", "2_hosts_version.xml"))
    assert [(r.record, r.error) for r in report.rejected] == [("host[0]", "127.0.0.1 is a loopback address: not a host")]
    assert props(twin, "127.0.0.1") is None and props(twin, "IP:127.0.0.1") is None
    assert props(twin, "SCANME.NMAP.ORG") is not None
    # full_sudo6 scanned 192.168.1.0/24; were its .255 "up", it would still be the broadcast
    xml = real_data("formats", "nmap", "full_sudo6.xml").read_text()
    marker = '<host><status state="down" reason="no-response" reason_ttl="0"/>\n<address addr="192.168.1.255"'
    assert marker in xml
    up = tmp_path / "full_sudo6-broadcast-up.xml"
    up.write_text(xml.replace(marker, marker.replace('state="down"', 'state="up"')))
    report = load(twin, up)
    assert [r.error for r in report.rejected] == ["192.168.1.255 is the broadcast address of a known subnet: not a host"]
    assert props(twin, "192.168.1.255") is None


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "0.0.0.0"])
def test_a_trivy_report_of_the_machine_it_ran_on_is_an_artifact(name):
    doc = json.loads(real_data("formats", "trivy", "debian-stretch.json.golden").read_text())
    doc["ArtifactName"], doc["ArtifactType"] = name, "filesystem"
    batch = trivy.transform(Source("local.json", json.dumps(doc).encode()), OFFLINE)
    [(schema, [row])] = [(s, r) for s, r in batch.nodes if s.label in ("Artifact", "Computer")]
    assert schema.label == "Artifact" and row["key"] == name


def test_an_sbom_placed_on_localhost_is_placed_nowhere(twin, tmp_path):
    doc = json.loads(real_data("formats", "cyclonedx", "laravel-7.12.0-bom.1.4.json").read_text())
    doc["metadata"]["component"]["properties"] = [{"name": "twinsight:host", "value": "127.0.0.1"}]
    path = tmp_path / "laravel.json"
    path.write_text(json.dumps(doc))
    report = load(twin, path)
    assert [(r.record, r.error) for r in report.rejected] == [
        ("metadata.component.properties", "host '127.0.0.1': 127.0.0.1 is a loopback address, not a host")]
    assert props(twin, "127.0.0.1") is None and twin.value("MATCH ()-[r:HostedOn]->() RETURN count(r)") == 0
    assert twin.value("MATCH (a:Application) RETURN count(a)") == 1


def test_an_older_trivy_report_loaded_late_keeps_the_newer_os(twin, tmp_path):
    doc = json.loads(real_data("formats", "trivy", "debian-stretch.json.golden").read_text())
    newer = dict(doc, ArtifactName="web01.corp.local", ArtifactType="filesystem", CreatedAt="2025-09-02T10:00:00Z")
    older = json.loads(json.dumps(newer))
    older["CreatedAt"], older["Metadata"]["OS"]["Name"] = "2025-08-01T10:00:00Z", "9.0"
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "new.json").write_text(json.dumps(newer))
    (tmp_path / "a" / "old.json").write_text(json.dumps(older))
    load(twin, tmp_path / "a" / "new.json")
    load(twin, tmp_path / "a" / "old.json")
    host = props(twin, "WEB01.CORP.LOCAL")
    assert host["os_name"] == doc["Metadata"]["OS"]["Name"] and host["os_name"] != "9.0"


# --------------------------------------------------------------------------- one Trivy target, one node


def test_trivy_json_and_trivy_cyclonedx_of_one_target_are_one_node(twin):
    as_json = real_data("formats", "trivy", "npm.json.golden")
    as_cdx = real_data("formats", "cyclonedx", "trivy-npm-cyclonedx.json.golden")
    results = []
    for order in ((as_json, as_cdx), (as_cdx, as_json)):
        twin.run("MATCH (n) DETACH DELETE n")
        for path in order:
            assert load(twin, path).rejected == []
        owners = twin.run("MATCH (o)-[r:HasInstalled]->(:Package) WITH o, collect(r.sources) AS s "
                          "RETURN o.key AS k, labels(o) AS l, s")
        results.append([(r["k"], sorted(r["l"]), sorted({x for xs in r["s"] for x in xs})) for r in owners])
        assert twin.value("MATCH (a:Application) RETURN count(a)") == 0
    assert results[0] == results[1] == [("testdata/fixtures/repo/npm", ["Artifact", "Twin"], ["cyclonedx", "trivy"])]


# --------------------------------------------------------------------------- alert envelopes


KIBANA_ID = "30a75fe46d3dbdfab55982036f77a8d60e2d1112e96f277c3b8c22f9bb57817a"


def test_a_kibana_es_archive_document_is_the_alert_it_holds(twin):
    archived = real_data("formats", "alerts", "kibana-8.1.0-es_archive-doc1.json")
    report = load(twin, archived)
    assert report.rejected == [] and report.formats == {"alerts": 1}
    alert = props(twin, KIBANA_ID)
    assert alert["rule"] == "threat-match-rule" and alert["format"] == "ecs"
    before = twin.snapshot()
    load(twin, real_data("formats", "alerts", "kibana-8.1.0-alert1-source.json"))
    assert twin.snapshot() == before  # the same alert, unwrapped


def test_search_hits_and_archive_files_of_several_alerts_load(twin, tmp_path):
    """Shapes built from the real alert: a search response whose hits carry the id only in
    `_id`, and an es_archive data file (documents separated by blank lines)."""
    doc = json.loads(real_data("formats", "alerts", "kibana-8.1.0-es_archive-doc1.json").read_text())
    source = doc["value"]["source"]
    bare = {k: v for k, v in source.items() if k != "kibana.alert.uuid"}
    hits = tmp_path / "search.json"
    hits.write_text(json.dumps({"took": 3, "hits": {"total": {"value": 2}, "hits": [
        {"_index": ".alerts-security.alerts-default", "_id": "hit-one", "_source": bare},
        {"_index": ".alerts-security.alerts-default", "_id": "ignored", "_source": source}]}}))
    archive = tmp_path / "data.json"
    second = json.loads(json.dumps(doc))
    second["value"]["id"] = "archived-two"
    del second["value"]["source"]["kibana.alert.uuid"]
    archive.write_text(json.dumps(doc, indent=2) + "\n\n" + json.dumps(second, indent=2) + "\n")
    assert fmt_of(hits) == fmt_of(archive) == "alerts"
    report = load(twin, hits, archive)
    assert report.rejected == [] and report.records == 4
    assert set(twin.value("MATCH (a:Alert) RETURN collect(a.key)")) == {"hit-one", KIBANA_ID, "archived-two"}
