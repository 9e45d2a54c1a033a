"""A seeded synthetic enterprise written in the real input formats (contract section 3).

The point is to exercise the real connectors end to end, at any size, with known
answers: `generation.json` lists what was planted (misconfigurations, roastable
accounts, an attack path, crown jewels) so tests and scenarios read the facts instead
of guessing them.

Layout of OUT:
    ad/*.json        SharpHound CE v6 collection (users.json, groups.json, ...)
    network.yaml     zones, subnets and firewall flows
    inventory.csv    owners, criticality, crown jewels (with ops: applications, their
                     services, the scanner / PAW / backup tags)
    generation.json  the manifest (not an input: ingest the paths in `ingest_paths`)
  with ops=True, under ops/ (graph.generate.ops decides what runs where):
    ops/nmap/scan-YYYYMMDD-ZONE.xml      the nightly scan, per zone and day
    ops/trivy/FQDN.json                  a Trivy report per server
    ops/sbom/APP-VERSION.cdx.json        a CycloneDX 1.5 SBOM per application
    ops/zeek/YYYY-MM-DD/conn.HH...log    hourly Zeek conn.log (TSV)
    ops/events/windows-NN.jsonl          Security / Sysmon events (NXLog JSON lines)
    ops/alerts/*                         the daily benign alerts (OCSF, Elastic)

`build_enterprise` gives the in-memory model (graph.generate.model.Enterprise) that
each writer renders. The KEV and EPSS feeds are not generated: the CVE ids are real
(graph.generate.vulns), so the real CISA catalog flags them when it is ingested too.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from graph.generate import ops as _ops
from graph.generate.alerts import write_background_alerts
from graph.generate.background import write_background
from graph.generate.inventory import write_inventory
from graph.generate.model import (
    Enterprise,
    build_enterprise,
    default_groups,
    default_users,
)
from graph.generate.network import write_network
from graph.generate.nmap import write_nmap
from graph.generate.sbom import write_sboms
from graph.generate.sharphound import write_sharphound
from graph.generate.trivy import write_trivy

__all__ = ["Enterprise", "build_enterprise", "default_groups", "default_users", "generate", "manifest"]

MANIFEST = "generation.json"
AD_DIR = "ad"


def write_ops(plan: _ops.OpsPlan, out_dir: Path, files: dict[str, dict]) -> tuple[dict, dict]:
    """Every operational file under out_dir/ops; records go into `files` (one entry per
    file, except Trivy reports and SBOMs: one per folder). Returns the manifest's `ops`
    summary and the seconds each writer took (kept out of the file: same seed, same bytes)."""
    root = out_dir / _ops.OPS_DIR
    timings: dict[str, float] = {}
    counts: dict[str, int] = {}

    def run(kind: str, fmt: str, per_file: bool, fn, *args) -> dict[str, int]:
        t = time.perf_counter()
        got = fn(*args)
        timings[kind] = round(time.perf_counter() - t, 3)
        if per_file:
            for name, n in got.items():
                files[f"{_ops.OPS_DIR}/{kind}/{name}"] = {"format": fmt, "records": n}
        else:
            files[f"{_ops.OPS_DIR}/{kind}/"] = {"format": fmt, "files": len(got), "records": sum(got.values())}
        counts[kind] = sum(got.values())
        return got

    run("nmap", "nmap", True, write_nmap, plan, root / "nmap")
    run("trivy", "trivy", False, write_trivy, plan, root / "trivy")
    run("sbom", "cyclonedx", False, write_sboms, plan, root / "sbom")
    t = time.perf_counter()
    events, conns = write_background(plan, root / "events", root / "zeek")
    timings["background"] = round(time.perf_counter() - t, 3)
    for name, n in events.items():
        files[f"{_ops.OPS_DIR}/events/{name}"] = {"format": "winevents", "records": n}
    for name, n in conns.items():
        files[f"{_ops.OPS_DIR}/zeek/{name}"] = {"format": "zeek", "records": n}
    counts["windows_events"], counts["zeek_records"] = sum(events.values()), sum(conns.values())
    run("alerts", "alerts", True, write_background_alerts, plan, root / "alerts")
    return {
        "period": {"start": _ops.iso(plan.start), "end": _ops.iso(plan.end), "days": plan.days,
                   "start_epoch": plan.start, "end_epoch": plan.end},
        "counts": counts,
        "applications": len(plan.apps),
    }, timings


def manifest(ent: Enterprise, files: dict[str, dict], params: dict) -> dict:
    roles = Counter(h.role for h in ent.hosts)
    members = sum(len(g.members) for g in ent.groups)
    extra_aces = sum(len(v) for v in ent.extra_aces.values())
    return {
        "generator": "twinsight.generate",
        "format_version": 1,
        "seed": ent.seed,
        "parameters": params,
        "domain": ent.domain,
        "domain_sid": ent.domain_sid,
        "counts": {
            "users": len(ent.users),
            "groups": len(ent.groups),
            "computers": len(ent.hosts),
            "ous": sum(1 for c in ent.containers if c.kind == "OU"),
            "containers": sum(1 for c in ent.containers if c.kind == "Container"),
            "gpos": len(ent.gpos),
            "certtemplates": len(ent.pki.templates),
            "group_members": members,
            "sessions": sum(len(h.sessions) for h in ent.hosts),
            "local_admin_entries": sum(len(h.admins) for h in ent.hosts),
            "extra_aces": extra_aces,
            "hosts_by_role": dict(sorted(roles.items())),
            "inventory_rows": len(ent.inventory),
            "zones": len(ent.zones),
            "flows": len(ent.flows),
        },
        "files": files,
        "ingest_paths": [AD_DIR, "network.yaml", "inventory.csv"],
        "zones": [{"name": z.name, "cidr": z.cidr, "internet_facing": z.internet_facing} for z in ent.zones],
        "servers": {role: [h.fqdn for h in ent.hosts if h.role == role]
                    for role in ("dc", "pki", "jump", "web", "app", "file", "db")},
        "planted": ent.planted,
    }


def generate(out_dir: Path, seed: int, hosts: int = 50, users: int | None = None,
             groups: int | None = None, *, domain: str = "CORP.LOCAL",
             misconfig_rate: float = 0.001, ops: bool = False, days: int = 1,
             end: int | None = None) -> dict:
    """Write the enterprise for (seed, sizes) under `out_dir` and return the manifest
    (also written as `generation.json`) plus `out_dir` and `seconds`.

    users defaults to 1.6 per host, groups to 1.9 per user; ValueError on sizes too
    small to hold the fixed structure (hosts < 8, users < 30). `ops` adds the
    operational data under ops/ for `days` days ending at `end` (epoch seconds;
    default: a midnight UTC derived from the seed, graph.generate.ops.ops_end); the AD
    files are the same with or without it."""
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    ent = build_enterprise(seed, hosts, users, groups, domain=domain, misconfig_rate=misconfig_rate)
    plan = _ops.build_plan(ent, days=days, end=end) if ops else None
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict] = {}
    for name, n in write_sharphound(ent, out_dir / AD_DIR).items():
        files[f"{AD_DIR}/{name}"] = {"format": "sharphound", "records": n}
    files["network.yaml"] = {"format": "network", "records": write_network(ent, out_dir / "network.yaml")}
    files["inventory.csv"] = {"format": "inventory",
                              "records": write_inventory(ent, out_dir / "inventory.csv", plan)}
    params = {"hosts": len(ent.hosts), "users": len(ent.users), "groups": groups if groups is not None else default_groups(len(ent.users)),
              "domain": ent.domain, "misconfig_rate": misconfig_rate}
    ops_doc, ops_seconds = None, None
    if plan is not None:
        params.update(ops=True, days=days, end=plan.end)
        ops_doc, ops_seconds = write_ops(plan, out_dir, files)
    doc = manifest(ent, files, params)
    if ops_doc is not None:
        doc["ingest_paths"].append(_ops.OPS_DIR)
        doc["ops"] = ops_doc
        doc["planted"] = {**doc["planted"], **_ops.planted(plan)}
    (out_dir / MANIFEST).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    out = {**doc, "out_dir": str(out_dir), "seconds": round(time.perf_counter() - t0, 3)}
    if ops_seconds is not None:
        out["ops_seconds"] = ops_seconds
    return out
