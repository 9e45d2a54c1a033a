"""Live-layer ingest throughput: Zeek conn.log and Windows events, end to end, against a
bare `UNWIND $rows CREATE` of the same rows in the same run.

    python -m evals.bench.bench_ops_ingest [--scale 0.05] [--hosts 1000] [--users 2000]
                                           [--reset] [--json]

`--scale 1` synthesizes 1,000,000 Zeek records and 1,000,000 Windows events (the issue's
target: >= 20k records/s each); the default 0.05 is a quick check. The twin must be
empty, or `--reset` empties it (it holds only benchmark data afterwards).

Each source is timed as `twinsight ingest` runs it: read the file, transform (parse,
resolve against the twin, aggregate), load through the shared TwinWriter. The baseline
creates one bare node per input record (`UNWIND $rows AS r CREATE (:BenchRow) SET ...`,
no MERGE, no provenance, no relationships): the write floor for the same record count.
For Neo4j heap use TWINSIGHT_NEO4J_HEAP=4g TWINSIGHT_NEO4J_PAGECACHE=2g at full size.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from evals.bench import open_empty_twin
from graph.events import batch_event_rows, open_store
from graph.ingest import winevents, zeek
from graph.ingest.base import IngestContext, Source, load_batch
from graph.loader import TwinWriter
from graph.model import NodeSchema, RelSchema

T0 = 1710237600
DOM = "CORP.LOCAL"
DSID = "S-1-5-21-1111-2222-3333"
ZEEK_HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    "#open\t2024-03-12-10-00-00\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\t"
    "orig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\t"
    "orig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\t"
    "bool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n"
)
SERVICES = [(445, "tcp", "smb"), (88, "tcp", "krb_tcp"), (53, "udp", "dns"), (389, "tcp", "ldap"),
            (135, "tcp", "dce_rpc"), (443, "tcp", "ssl"), (3389, "tcp", "-"), (5985, "tcp", "http")]


def host_ip(i: int) -> str:
    return f"10.{20 + i // 62500}.{(i // 250) % 250}.{i % 250 + 1}"


def base_twin(driver, db, hosts: int, users: int) -> None:
    """AD-like hosts and users with one lease each (what SharpHound and Nmap would give)."""
    w = TwinWriter(driver, "bench", database=db, now=T0 - 86400)
    w.nodes(NodeSchema("Domain", ("Base",)), [{"key": DOM, "props": {"name": DOM, "objectid": DSID}}])
    w.nodes(NodeSchema("Computer", ("Base",)), [
        {"key": f"H{i}.{DOM}", "props": {"name": f"H{i}.{DOM}", "shortname": f"H{i}",
                                        "objectid": f"{DSID}-{10000 + i}", "domain": DOM}}
        for i in range(hosts)])
    w.nodes(NodeSchema("User", ("Base",)), [
        {"key": f"U{i}@{DOM}", "props": {"name": f"U{i}@{DOM}", "samaccountname": f"u{i}",
                                        "objectid": f"{DSID}-{100000 + i}", "domain": DOM}}
        for i in range(users)])
    w.nodes(NodeSchema("IP"), [{"key": f"IP:{host_ip(i)}", "props": {"address": host_ip(i)}}
                               for i in range(hosts)])
    w.rels(RelSchema("HasIP"), [{"src": f"H{i}.{DOM}", "dst": f"IP:{host_ip(i)}",
                                 "firstseen": T0 - 86400, "lastseen": T0 + 86400} for i in range(hosts)])


def zeek_lines(n: int, hosts: int, rnd: random.Random) -> list[str]:
    out = [ZEEK_HEADER.rstrip("\n")]
    servers = max(1, hosts // 20)
    for k in range(n):
        src = rnd.randrange(hosts)
        dst = rnd.randrange(servers) if k % 10 else rnd.randrange(hosts)
        port, proto, svc = SERVICES[k % len(SERVICES)]
        resp = host_ip(dst) if k % 50 else f"52.{k % 200}.{k % 97}.{k % 251}"
        ob, rb = rnd.randrange(40, 5000), rnd.randrange(40, 90000)
        out.append(f"{T0 + k * 0.05:.6f}\tC{k:017d}\t{host_ip(src)}\t{49152 + k % 16000}\t{resp}\t"
                   f"{port}\t{proto}\t{svc}\t0.0{k % 90:02d}\t{ob}\t{rb}\tSF\tT\tT\t0\tShADadfF\t"
                   f"12\t{ob + 500}\t10\t{rb + 400}\t-")
    out.append("#close\t2024-03-13-10-00-00")
    return out


def event_lines(n: int, hosts: int, users: int, rnd: random.Random) -> list[str]:
    """A realistic mix: logons, process creations (4688 / Sysmon 1), Sysmon 3, directory
    access, Kerberos tickets, and EventIDs with no subtype of their own."""
    out = []
    sec = {"SourceName": "Microsoft-Windows-Security-Auditing", "Channel": "Security",
           "SourceModuleType": "im_msvistalog", "@version": "1", "EventType": "AUDIT_SUCCESS"}
    sysmon = {"SourceName": "Microsoft-Windows-Sysmon", "Channel": "Microsoft-Windows-Sysmon/Operational",
              "SourceModuleType": "im_msvistalog", "@version": "1", "UserID": "S-1-5-18"}
    for k in range(n):
        h = rnd.randrange(hosts)
        u = rnd.randrange(users)
        ts = T0 + k * 0.05
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"
        host = f"H{h}.corp.local"
        logon = hex(0x100000 + (h * 7919 + u) % 0xFFFFF)
        kind = k % 20
        if kind < 6:
            e = {**sec, "EventID": 4624, "TargetUserName": f"u{u}", "TargetDomainName": "CORP",
                 "TargetUserSid": f"{DSID}-{100000 + u}", "TargetLogonId": logon,
                 "LogonType": rnd.choice(["2", "3", "3", "3", "10"]), "SubjectUserName": f"H{h}$",
                 "SubjectDomainName": "CORP", "SubjectUserSid": "S-1-5-18", "SubjectLogonId": "0x3e7",
                 "IpAddress": host_ip(rnd.randrange(hosts)), "IpPort": "0", "LogonProcessName": "Kerberos",
                 "AuthenticationPackageName": "Kerberos"}
        elif kind < 10:
            e = {**sec, "EventID": 4688, "SubjectUserName": f"u{u}", "SubjectDomainName": "CORP",
                 "SubjectUserSid": f"{DSID}-{100000 + u}", "SubjectLogonId": logon,
                 "NewProcessId": hex(1000 + k % 60000), "NewProcessName": "C:\\Windows\\System32\\cmd.exe",
                 "ProcessId": hex(1000 + (k - 20) % 60000), "ParentProcessName": "C:\\Windows\\explorer.exe",
                 "CommandLine": f"cmd.exe /c echo {k}", "TargetLogonId": "0x0"}
        elif kind < 12:
            e = {**sysmon, "EventID": 1, "UtcTime": when.replace("T", " ")[:-1],
                 "ProcessGuid": f"{{{h:08x}-{k >> 16:04x}-{k & 0xffff:04x}-0000-000000000000}}", "ProcessId": str(1000 + k % 60000),
                 "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                 "CommandLine": "powershell.exe -nop", "User": f"CORP\\u{u}", "LogonId": logon,
                 "ParentProcessGuid": f"{{{h:08x}-{(k - 20) >> 16:04x}-{(k - 20) & 0xffff:04x}-0000-000000000000}}",
                 "ParentProcessId": str(1000 + (k - 20) % 60000),
                 "Hashes": "SHA256=DE96A6E69944335375DC1AC238336066889D9FFC7D73628EF4FE1B1B160AB32C"}
        elif kind < 15:
            e = {**sysmon, "EventID": 3, "UtcTime": when.replace("T", " ")[:-1], "ProcessId": "4",
                 "Image": "System", "User": "NT AUTHORITY\\SYSTEM", "Protocol": "tcp", "Initiated": "false",
                 "SourceIp": host_ip(rnd.randrange(hosts)), "SourcePort": str(49152 + k % 16000),
                 "DestinationIp": host_ip(h), "DestinationPort": "445"}
        elif kind == 15:
            e = {**sec, "EventID": 4662, "SubjectUserName": f"u{u}", "SubjectDomainName": "CORP",
                 "SubjectUserSid": f"{DSID}-{100000 + u}", "SubjectLogonId": logon, "ObjectServer": "DS",
                 "AccessMask": "0x100" if k % 200 == 15 else "0x10",
                 "Properties": "%%7688\r\n\t\t{1131f6aa-9c07-11d1-f79f-00c04fc2dcd2}\r\n" if k % 200 == 15
                 else "%%7685\r\n\t\t{bf967aba-0de6-11d0-a285-00aa003049e2}\r\n"}
        elif kind < 18:
            e = {**sec, "EventID": 4769, "TargetUserName": f"u{u}@CORP.LOCAL", "TargetDomainName": "CORP.LOCAL",
                 "ServiceName": f"u{(u + 1) % users}", "TicketEncryptionType": rnd.choice(["0x12", "0x12", "0x17"]),
                 "IpAddress": "::ffff:" + host_ip(h), "Status": "0x0", "TicketOptions": "0x40810000"}
        else:
            e = {**sec, "EventID": rnd.choice([4634, 4672, 5140, 5156]), "SubjectUserName": f"u{u}",
                 "SubjectDomainName": "CORP", "SubjectUserSid": f"{DSID}-{100000 + u}",
                 "SubjectLogonId": logon, "TargetLogonId": logon}
        e["Hostname"] = host
        e["RecordNumber"] = 1_000_000 + k
        e["@timestamp"] = when
        out.append(json.dumps(e))
    return out


def timed_ingest(driver, db, connector, path: Path) -> dict:
    """What `twinsight ingest` does for one file, with its phases timed."""
    t0 = time.perf_counter()
    source = Source.from_path(path)
    ctx = IngestContext(driver=driver, database=db, now=int(time.time()))
    batch = connector.transform(source, ctx)
    t1 = time.perf_counter()
    writer = TwinWriter(driver, source=connector.CONNECTOR.name, database=db, now=ctx.now)
    load_batch(writer, batch)
    with tempfile.TemporaryDirectory() as tmp:  # events go to the event store, as ingest writes them
        run = open_store(path=Path(tmp)).begin()
        run.append(batch_event_rows(batch, writer.source))
        run.commit()
    t2 = time.perf_counter()
    rows = sum(len(r) for _, r in batch.nodes) + sum(len(r) for _, r in batch.rels) + len(batch.events)
    return {"records": batch.records, "rejected": len(batch.rejected), "rows_written": rows,
            "transform_s": round(t1 - t0, 2), "load_s": round(t2 - t1, 2), "seconds": round(t2 - t0, 2),
            "records_per_s": round(batch.records / (t2 - t0))}


def baseline(driver, db, rows: list[dict], batch: int = 10_000) -> dict:
    """One bare node per record: `UNWIND $rows AS r CREATE (n:BenchRow) SET n = r`."""
    t0 = time.perf_counter()
    for i in range(0, len(rows), batch):
        with driver.session(database=db) as s:
            s.execute_write(lambda tx, c=rows[i:i + batch]: tx.run(
                "UNWIND $rows AS r CREATE (n:BenchRow) SET n = r", rows=c).consume())
    secs = time.perf_counter() - t0
    while driver.execute_query("MATCH (n:BenchRow) WITH n LIMIT 50000 DETACH DELETE n "
                               "RETURN count(*) AS c", database_=db).records[0]["c"]:
        pass
    return {"seconds": round(secs, 2), "records_per_s": round(len(rows) / secs)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=0.05, help="fraction of 1M records per source")
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--reset", action="store_true", help="empty the twin first")
    ap.add_argument("--only", choices=("zeek", "winevents"), help="benchmark one source")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    n = max(1, int(1_000_000 * args.scale))
    opened = open_empty_twin(args.reset)
    if opened is None:
        return 2
    driver, db = opened
    rnd = random.Random(args.seed)
    base_twin(driver, db, args.hosts, args.users)
    results: dict = {"records_per_source": n, "hosts": args.hosts, "users": args.users}
    sources = [args.only] if args.only else ["zeek", "winevents"]
    with tempfile.TemporaryDirectory() as tmp:
        if "zeek" in sources:
            path = Path(tmp) / "conn.log"
            path.write_text("\n".join(zeek_lines(n, args.hosts, rnd)) + "\n")
            print(f"synthesized {n} Zeek records ({path.stat().st_size >> 20} MiB)", file=sys.stderr)
            results["zeek"] = timed_ingest(driver, db, zeek, path)
            print(f"zeek: {results['zeek']}", file=sys.stderr)
            with path.open() as f:
                rows = [dict(zip(("ts", "uid", "orig", "orig_p", "resp", "resp_p", "proto"),
                                 ln.split("\t")[:7], strict=True)) for ln in f if ln[0] != "#"]
            results["zeek"]["baseline"] = baseline(driver, db, rows)
            del rows
        if "winevents" in sources:
            path = Path(tmp) / "events.jsonl"
            path.write_text("\n".join(event_lines(n, args.hosts, args.users, rnd)) + "\n")
            print(f"synthesized {n} Windows events ({path.stat().st_size >> 20} MiB)", file=sys.stderr)
            results["winevents"] = timed_ingest(driver, db, winevents, path)
            print(f"winevents: {results['winevents']}", file=sys.stderr)
            with path.open() as f:
                rows = [{"key": f"R{i}", "fields": ln} for i, ln in enumerate(f)]
            results["winevents"]["baseline"] = baseline(driver, db, rows)
            del rows
    for name in sources:
        r = results[name]
        r["vs_baseline"] = round(r["records_per_s"] / r["baseline"]["records_per_s"], 2)
    driver.close()
    if args.json:
        print(json.dumps(results))
    else:
        print(f"{'source':<10} {'records':>9} {'transform s':>11} {'load s':>7} {'total s':>8} "
              f"{'records/s':>10} {'bare CREATE/s':>13} {'ratio':>6}")
        for name in sources:
            r = results[name]
            print(f"{name:<10} {r['records']:>9} {r['transform_s']:>11} {r['load_s']:>7} "
                  f"{r['seconds']:>8} {r['records_per_s']:>10} {r['baseline']['records_per_s']:>13} "
                  f"{r['vs_baseline']:>6}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
