"""Zeek beyond conn.log: each log type read as what it is (DNS answers as leases,
Kerberos / SMB / DCE-RPC / files / notice as events, HTTP and TLS as aggregated edges),
refused by name when the twin does not read it, never loaded as connections; in Zeek's
TSV, Zeek's JSON, OTRF's underscore JSON, combined multi-log files and zips.

Real captures: brimdata's DNS logs in ../shared (TSV and JSON). tests/data/zeek holds
small logs written for these tests in Zeek 6's exact formats (headers as Zeek writes
them; `otrf_conn.json` in the shape of OTRF Security-Datasets' apt29 exports).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.ingest import zeek
from graph.ingest._zeekconn import parse_ts
from graph.ingest.base import BadFile, IngestContext, Source
from graph.ingest.registry import connectors, ingest, sniff
from graph.loader import TwinWriter
from graph.model import NodeSchema
from tests.conftest import REPO, real_data
from tests.test_event_sources import T0, edge, write_base

ZEEK = Path(__file__).parent / "data" / "zeek"
LAB = ZEEK / "lab"
BRIM_TSV = ("formats", "zeek", "zed-sample-zeek-default-dns.head200k.log")
BRIM_JSON = ("formats", "zeek", "zed-sample-zeek-json-dns.head50k.json")


def lab_zip(tmp_path: Path) -> Path:
    """The lab's logs zipped as a sensor ships them, conn.log first."""
    path = tmp_path / "sensor01-zeek_logs.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for f in sorted(LAB.iterdir()):
            zf.write(f, f.name)
    return path


def base_with_subnets(twin) -> None:
    """The event tests' CORP.LOCAL, plus the subnets network.yaml would give."""
    write_base(twin)
    TwinWriter(twin.driver, "fixture", database=twin.database, now=T0 - 86400).nodes(
        NodeSchema("Subnet"), [{"key": "10.20.0.0/16", "props": {}}, {"key": "10.10.0.0/24", "props": {}}])


def node(twin, key: str) -> dict | None:
    recs = twin.run("MATCH (n:Twin {key: $k}) RETURN properties(n) AS p, labels(n) AS l", k=key)
    return {**dict(recs[0]["p"]), "_labels": set(recs[0]["l"])} if recs else None


def events(twin, kind: str) -> list[dict]:
    """The observations of one kind, from the event store: their fields and their ties
    as `Edge>key` (the graph's edges when events were nodes)."""
    out = []
    for r in twin.events(kinds=[kind]):
        ties = [f"{rel}>{r[col]}" for rel, col in (("OnHost", "host"), ("FromHost", "from_host"), ("FromIP", "from_ip"))
                if r[col]] + [f"ByUser>{k}" for k in r["by_keys"]] + [f"TargetsUser>{k}" for k in r["target_keys"]]
        out.append(r["props"] | {"links": sorted(ties)})
    return out


def data_lines(path: Path) -> list[str]:
    return [ln for ln in path.read_text(encoding="utf-8").split("\n") if ln.strip() and not ln.startswith("#")]


# --------------------------------------------------------------------------- which log it is


@pytest.mark.parametrize("name,log", [
    ("dns.log", "dns"), ("conn.00:00:00-01:00:00.log", "conn"), ("NASHUA_smb_files.log", "smb_files"),
    ("SCRANTON_files.log", "files"), ("zed-sample-zeek-default-dns.head200k.log", "dns"),
    ("x.zip:kerberos.json", "kerberos"), ("weird.log", "weird"), ("x509.log", "x509"), ("events.json", None),
])
def test_the_log_type_of_a_file_name(name, log):
    assert zeek.log_from_name(name) == log


def test_the_log_type_of_a_records_fields():
    """OTRF spells `id_orig_h`; Zeek's own JSON nests nothing; both are read alike."""
    assert zeek.log_from_fields({"ts": 1, "id_orig_h": "10.0.0.1", "query": "a.b", "qtype_name": "A"}) == "dns"
    assert zeek.log_from_fields({"ts": 1, "uid": "C", "id.orig_h": "1", "endpoint": "samr", "operation": "x"}) == "dce_rpc"
    assert zeek.log_from_fields({"ts": 1, "fuid": "F", "tx_hosts": [], "mime_type": "x"}) == "files"
    assert zeek.log_from_fields({"ts": 1, "note": "Scan::Port_Scan", "fuid": "F"}) == "notice"
    assert zeek.log_from_fields({"ts": 1, "fingerprint": "ab", "certificate.subject": "CN=x"}) == "x509"
    assert zeek.log_from_fields({"ts": 1, "id.orig_h": "a", "id.resp_h": "b", "id.resp_p": 1}) == "conn"
    assert zeek.log_from_fields({"ts": 1, "id.orig_h": "a", "id.resp_h": "b", "id.resp_p": 1, "foo": 2}) is None


@pytest.mark.parametrize("path", [*sorted(LAB.iterdir()), ZEEK / "otrf_conn.json", ZEEK / "combined.json"],
                         ids=lambda p: p.name)
def test_every_zeek_log_is_sniffed_as_zeek(path):
    assert sniff(Source.from_path(path), None, connectors()).name == "zeek"


@pytest.mark.parametrize("parts", [BRIM_TSV, BRIM_JSON], ids=["tsv", "json"])
def test_real_dns_logs_are_sniffed_as_zeek(parts):
    assert sniff(Source.from_path(real_data(*parts)), None, connectors()).name == "zeek"


# --------------------------------------------------------------------------- every log as what it is


def test_a_zip_of_zeek_logs_becomes_leases_events_and_edges(twin, tmp_path):
    base_with_subnets(twin)
    report = ingest(twin.driver, [lab_zip(tmp_path)], database=twin.database, now=T0 + 86400)
    assert [(Path(r.file.split(":")[-1]).name, r.error) for r in report.rejected] == [
        ("weird.log", zeek._refusal("weird"))]
    assert report.records == sum(len(data_lines(f)) for f in LAB.iterdir() if f.name != "weird.log")

    # dns: the unknown workstation by its answers (A at +12 s, PTR at +20 s with a 1200 s TTL)
    ws09 = node(twin, "WS09.CORP.LOCAL")
    assert "Computer" in ws09["_labels"] and ws09["ip"] == "10.20.1.50"
    lease = edge(twin, "WS09.CORP.LOCAL", "HasIP", "IP:10.20.1.50")
    assert (lease["firstseen"], lease["lastseen"]) == (T0 + 12, T0 + 20 + 1200)
    assert edge(twin, "DC01.CORP.LOCAL", "HasIP", "IP:10.10.0.5")["lastseen"] == T0 + 86400  # the base lease
    # not hosts: the domain apex, AD's service name, an alias of FILE01, a public answer
    for key in ("GC._MSDCS.CORP.LOCAL", "FILES.CORP.LOCAL", "WWW.EXAMPLE.COM", "10.20.1.50"):
        assert node(twin, key) is None, key
    assert "Computer" not in node(twin, "CORP.LOCAL")["_labels"]
    # conn: on the named host; the subnet broadcast 10.20.255.255 is nobody
    assert edge(twin, "WS09.CORP.LOCAL", "ConnectedTo", "DC01.CORP.LOCAL")["ports"] == ["445/tcp", "49667/tcp"]
    assert edge(twin, "WS09.CORP.LOCAL", "ConnectedTo", "FILE01.CORP.LOCAL")["count"] == 1
    assert node(twin, "10.20.255.255") is None

    rpc = events(twin, "RpcEvent")
    assert [(e["object_name"], e["count"]) for e in rpc] == [
        ("epmapper::ept_map", 1), ("drsuapi::DRSBind", 1), ("drsuapi::DRSGetNCChanges", 3)]
    assert rpc[2]["links"] == ["FromHost>WS09.CORP.LOCAL", "OnHost>DC01.CORP.LOCAL"]
    assert (rpc[2]["timestamp"], rpc[2]["last_timestamp"]) == (T0 + 60, T0 + 61)
    krb = events(twin, "KerberosEvent")
    assert [e.get("request_type") for e in krb] == [None, "AS", "TGS"]
    assert krb[2]["service_name"] == "cifs/file01.corp.local" and krb[2]["ticket_encryption"] == "rc4-hmac"
    assert krb[2]["links"] == ["ByUser>ALICE@CORP.LOCAL", "FromHost>WS09.CORP.LOCAL", "OnHost>DC01.CORP.LOCAL"]
    assert krb[0]["error_msg"] == "KDC_ERR_PREAUTH_REQUIRED" and "ByUser" not in str(krb[0]["links"])
    smb = events(twin, "SmbEvent")
    assert sorted((e["zeek_log"], e["share_name"], e.get("object_name") or "", e["count"]) for e in smb) == [
        ("smb_files", "\\\\FILE01\\C$", "Windows\\Temp\\svc.exe", 2),
        ("smb_mapping", "\\\\FILE01\\C$", "", 1), ("smb_mapping", "\\\\FILE01\\IPC$", "", 1)]
    assert all("OnHost>FILE01.CORP.LOCAL" in e["links"] for e in smb)
    [download] = events(twin, "FileEvent")  # the TLS certificate is no file event
    assert download["hashes"] == ["9e107d9d372bb6826bd81d3542a419d6", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"]
    # the server is a host known by its public address (contract §2)
    assert download["links"] == ["FromHost>93.184.216.34", "OnHost>WS09.CORP.LOCAL"] and download["file_source"] == "HTTP"
    [notice] = events(twin, "NoticeEvent")
    assert notice["note"] == "SSL::Invalid_Server_Cert" and notice["dst_ip"] == "93.184.216.34"

    http = edge(twin, "WS09.CORP.LOCAL", "HttpTo", "93.184.216.34")
    assert http["count"] == 2 and http["status_codes"] == [200, 404]
    assert http["uris"] == ["/favicon.ico", "/update/agent.bin"] and http["hosts"] == ["www.example.com"]
    tls = edge(twin, "WS09.CORP.LOCAL", "TlsTo", "93.184.216.34")
    assert tls["server_names"] == ["www.example.com"] and tls["established"] == 1 and tls["ports"] == ["443/tcp"]


def test_reingesting_zeek_logs_changes_nothing(twin, tmp_path):
    base_with_subnets(twin)
    path = lab_zip(tmp_path)
    ingest(twin.driver, [path], database=twin.database, now=T0 + 86400)
    before = twin.snapshot()
    again = ingest(twin.driver, [path, LAB], database=twin.database, now=T0 + 2 * 86400)
    assert again.stats.nodes_created == 0 and again.stats.relationships_created == 0
    assert twin.snapshot() == before


def test_a_forced_format_never_reads_a_log_as_connections(twin):
    """`--format zeek` on dns.log once made a ConnectedTo per DNS query."""
    path = real_data(*BRIM_TSV)
    report = ingest(twin.driver, [path], database=twin.database, forced_format="zeek", now=T0)
    assert report.records == len(data_lines(path)) and report.rejected == []
    assert twin.value("MATCH ()-[r:ConnectedTo]->() RETURN count(r)") == 0
    assert twin.value("MATCH ()-[r:HasIP]->() RETURN count(r)") > 0
    weird = ingest(twin.driver, [LAB / "weird.log"], database=twin.database, forced_format="zeek", now=T0)
    assert [r.error for r in weird.rejected] == [zeek._refusal("weird")] and weird.files == 0


@pytest.mark.parametrize("parts", [BRIM_TSV, BRIM_JSON], ids=["tsv", "json"])
def test_real_dns_answers_are_leases_of_internal_names(twin, parts):
    """brimdata's capture: a PTR answer leases its name the address, from the first answer
    to the last (TTL 0 here); names answered only with public addresses make no host."""
    path = real_data(*parts)
    lines = data_lines(path)
    report = ingest(twin.driver, [path], database=twin.database, now=T0)
    assert report.records == len(lines) and report.rejected == []
    seen: list[float] = []
    for line in lines:
        if "chimmichanga" not in line:
            continue
        if parts == BRIM_JSON:
            rec = json.loads(line)
            query, answers, ts = rec.get("query"), rec.get("answers") or [], parse_ts(rec["ts"])
        else:
            cells = line.split("\t")
            query, answers, ts = cells[9], cells[21].split(","), float(cells[0])
        if query == "111.0.0.10.in-addr.arpa" and answers == ["chimmichanga.wrccdc.secure"]:
            seen.append(ts)
    assert seen, "the capture's PTR answer for 10.0.0.111"
    lease = edge(twin, "CHIMMICHANGA.WRCCDC.SECURE", "HasIP", "IP:10.0.0.111")
    assert (lease["firstseen"], lease["lastseen"]) == (int(min(seen)), int(max(seen)))
    assert node(twin, "ISE.WRCCDC.ORG") is None  # answered with 134.71.3.16 only: the Internet
    assert twin.value("MATCH ()-[r:ConnectedTo]->() RETURN count(r)") == 0


def test_otrf_underscore_json_loads_and_skips_the_ethernet_broadcast(twin):
    """OTRF's exports spell `id_orig_h` and name the log in `@stream`; every record used to
    be rejected."""
    write_base(twin)
    report = ingest(twin.driver, [ZEEK / "otrf_conn.json"], database=twin.database, now=T0 + 86400)
    assert report.records == 4 and report.rejected == []
    e = edge(twin, "WS01.CORP.LOCAL", "ConnectedTo", "DC01.CORP.LOCAL")
    assert e["ports"] == ["53/udp", "445/tcp"] and e["count"] == 2 and e["bytes"] == 39 + 55 + 4020 + 1681
    assert edge(twin, "WS01.CORP.LOCAL", "ConnectedTo", "FILE01.CORP.LOCAL")["count"] == 1
    assert node(twin, "10.20.1.255") is None  # sent to ff:ff:ff:ff:ff:ff


def test_a_combined_json_file_resolves_through_its_own_dns_answers(twin):
    """Records of several logs in one stream, the DNS answer last: the connection and the
    RPC call before it still land on the named host; the x509 record is refused by type."""
    write_base(twin)
    report = ingest(twin.driver, [ZEEK / "combined.json"], database=twin.database, now=T0 + 86400)
    assert [(r.record, r.error) for r in report.rejected] == [("1 record from line 3", zeek._refusal("x509"))]
    assert edge(twin, "WS10.CORP.LOCAL", "ConnectedTo", "DC01.CORP.LOCAL")["ports"] == ["445/tcp"]
    [rpc] = events(twin, "RpcEvent")
    assert rpc["operation"] == "CreateServiceW" and rpc["links"] == ["FromHost>WS10.CORP.LOCAL", "OnHost>DC01.CORP.LOCAL"]
    assert node(twin, "10.20.1.60") is None


def test_a_run_that_rejects_every_record_exits_non_zero(twin, tmp_path):
    """Zeek JSON the twin cannot read record by record once exited 0 with all of it rejected."""
    bad = tmp_path / "conn.json"
    bad.write_text("".join(json.dumps({"ts": "yesterday", "uid": "C1", "id.orig_h": "10.0.0.1",
                                       "id.resp_h": "10.0.0.2", "id.resp_p": 445, "conn_state": "SF"}) + "\n"
                           for _ in range(3)))
    out = subprocess.run([sys.executable, "cli.py", "ingest", str(bad), "--json"], cwd=REPO, env=os.environ.copy(),
                         capture_output=True, text=True, timeout=300)
    doc = json.loads(out.stdout)
    assert out.returncode == 2, out.stderr
    assert doc["records"] == 3 and len(doc["rejected"]) == 3 and doc["files"] == 1
    good = subprocess.run([sys.executable, "cli.py", "ingest", str(ZEEK / "otrf_conn.json"), "--json"], cwd=REPO,
                          env=os.environ.copy(), capture_output=True, text=True, timeout=300)
    assert good.returncode == 0, good.stderr


def test_files_of_refused_logs_only_are_bad_files():
    ctx = IngestContext(None, None, T0)
    x509 = json.dumps({"_path": "x509", "ts": T0, "id": "F1", "certificate.subject": "CN=x"})
    with pytest.raises(BadFile, match="Zeek x509 log"):
        zeek.transform(Source("certs.json", (x509 + "\n" + x509).encode()), ctx)
    with pytest.raises(BadFile, match="Zeek weird log"):
        zeek.transform(Source.from_path(LAB / "weird.log"), ctx)
    with pytest.raises(BadFile, match="no Zeek log the twin knows"):
        zeek.transform(Source("x.json", b'{"ts": 1, "uid": "C1", "id.orig_h": "10.0.0.1", "color": "red"}\n'), ctx)


# --------------------------------------------------------------------------- never a crash

_cells = st.sampled_from(["-", "(empty)", "10.20.1.7", "1710237700.5", "53", "udp", "A", "PTR", "x",
                          "1.2.3.4.in-addr.arpa", "ws01.corp.local", "10.0.0.1,10.0.0.2", "nan", "\\x09", ""])


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(sorted(zeek.SUPPORTED)), st.lists(st.lists(_cells, min_size=0, max_size=26), max_size=6))
def test_any_log_type_with_odd_cells_never_crashes(log, rows):
    header = (LAB / f"{log}.log").read_text().split("\n")
    head = [ln for ln in header if ln.startswith("#") and not ln.startswith("#close")]
    width = len(next(ln for ln in head if ln.startswith("#fields")).split("\t")) - 1
    body = ["\t".join((r * width)[:width]) if r else "" for r in rows]
    try:
        batch = zeek.transform(Source(f"{log}.log", "\n".join(head + body).encode()), IngestContext(None, None, T0))
    except BadFile:
        return
    assert len(batch.rejected) <= batch.records


@settings(max_examples=120, deadline=None)
@given(st.lists(st.fixed_dictionaries(
    {"_path": st.sampled_from([*zeek.SUPPORTED, "weird", "x509"]), "ts": _cells | st.floats(), "uid": _cells},
    optional={"id.orig_h": _cells, "id_resp_h": _cells, "id.resp_p": _cells | st.integers(), "answers": st.lists(_cells),
              "query": _cells, "fuid": _cells, "note": _cells, "tx_hosts": st.lists(_cells), "client": _cells,
              "status_code": _cells | st.integers()}), min_size=1, max_size=6))
def test_any_combined_json_never_crashes(records):
    data = "\n".join(json.dumps(r) if r["ts"] == r["ts"] else "{" for r in records).encode()
    try:
        batch = zeek.transform(Source("combined.json", data), IngestContext(None, None, T0))
    except BadFile:
        return
    assert len(batch.rejected) <= batch.records
