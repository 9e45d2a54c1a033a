"""`inventory.csv` for the synthetic enterprise: the owners, criticality and crown
jewels an asset register would hold, written with the csv module so names with
commas or quotes would still round-trip.

With operational data (`plan`), the register also knows what the operations team
knows: which application runs where (a row per application, named by its SBOM purl,
`hosted_on` its server - the only place the twin learns that, since SBOMs never say),
the service each application listens on, and the parts hosts play (`scanner`,
`backup`; `paw` is already on the jump hosts). Tags are added to a host's existing
row, never as a second row: the connector rejects two rows naming one node.
"""

from __future__ import annotations

import csv
from pathlib import Path

from graph.generate.model import Enterprise
from graph.ingest.inventory import COLUMNS


def inventory_rows(ent: Enterprise, plan=None) -> list[dict]:
    rows = [dict(r) for r in ent.inventory]
    if plan is None:
        return rows
    by_name = {r["name"].upper(): r for r in rows}

    def tag(host, extra: str) -> None:
        row = by_name.get(host.fqdn.upper())
        if row is None:
            row = {"name": host.fqdn, "type": "host", "criticality": "high", "crown_jewel": "false",
                   "owner": "it-infra", "hosted_on": "", "tags": ""}
            rows.append(row)
            by_name[host.fqdn.upper()] = row
        tags = [t for t in row["tags"].split(";") if t]
        if extra not in tags:
            row["tags"] = ";".join([*tags, extra])

    tag(plan.scanner, "scanner")
    tag(plan.paw, "paw")
    tag(plan.backup, "backup")
    for app in plan.apps:
        lang = "java" if app.ptype == "maven" else "dotnet"
        rows.append({"name": app.purl, "type": "service", "criticality": app.criticality, "crown_jewel": "false",
                     "owner": app.owner, "hosted_on": app.host.fqdn, "tags": f"application;{lang};{app.kind}"})
        svc = f"{app.host.fqdn}:{app.port}/TCP"
        if svc.upper() not in by_name:
            rows.append({"name": svc, "type": "service", "criticality": app.criticality, "crown_jewel": "false",
                         "owner": app.owner, "hosted_on": app.host.fqdn, "tags": f"{app.name.lower()};https"})
            by_name[svc.upper()] = rows[-1]
    return rows


def write_inventory(ent: Enterprise, path: Path, plan=None) -> int:
    rows = inventory_rows(ent, plan)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)
