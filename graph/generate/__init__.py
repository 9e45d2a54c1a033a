"""A seeded synthetic enterprise written in the real input formats (contract section 3).

The point is to exercise the real connectors end to end, at any size, with known
answers: `generation.json` lists what was planted (misconfigurations, roastable
accounts, an attack path, crown jewels) so tests and scenarios read the facts instead
of guessing them.

Layout of OUT:
    ad/*.json        SharpHound CE v6 collection (users.json, groups.json, ...)
    network.yaml     zones, subnets and firewall flows
    inventory.csv    owners, criticality, crown jewels
    generation.json  the manifest (not an input: ingest the paths in `ingest_paths`)

`build_enterprise` gives the in-memory model (graph.generate.model.Enterprise) that
each writer renders; operational formats (Nmap, Trivy, Zeek, events) can be added as
further writers over the same model.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from graph.generate.inventory import write_inventory
from graph.generate.model import (
    Enterprise,
    build_enterprise,
    default_groups,
    default_users,
)
from graph.generate.network import write_network
from graph.generate.sharphound import write_sharphound

__all__ = ["Enterprise", "build_enterprise", "default_groups", "default_users", "generate", "manifest"]

MANIFEST = "generation.json"
AD_DIR = "ad"


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
             misconfig_rate: float = 0.001) -> dict:
    """Write the enterprise for (seed, sizes) under `out_dir` and return the manifest
    (also written as `generation.json`) plus `out_dir` and `seconds`.

    users defaults to 1.6 per host, groups to 1.9 per user; ValueError on sizes too
    small to hold the fixed structure (hosts < 8, users < 30)."""
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    ent = build_enterprise(seed, hosts, users, groups, domain=domain, misconfig_rate=misconfig_rate)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict] = {}
    for name, n in write_sharphound(ent, out_dir / AD_DIR).items():
        files[f"{AD_DIR}/{name}"] = {"format": "sharphound", "records": n}
    files["network.yaml"] = {"format": "network", "records": write_network(ent, out_dir / "network.yaml")}
    files["inventory.csv"] = {"format": "inventory", "records": write_inventory(ent, out_dir / "inventory.csv")}
    params = {"hosts": len(ent.hosts), "users": len(ent.users), "groups": groups if groups is not None else default_groups(len(ent.users)),
              "domain": ent.domain, "misconfig_rate": misconfig_rate}
    doc = manifest(ent, files, params)
    (out_dir / MANIFEST).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return {**doc, "out_dir": str(out_dir), "seconds": round(time.perf_counter() - t0, 3)}
