"""`network.yaml` for the synthetic enterprise, in the contract's shape (flow-style
flows, as the contract's own example writes them)."""

from __future__ import annotations

from pathlib import Path

import yaml

from graph.generate.model import Enterprise


def network_document(ent: Enterprise) -> dict:
    zones = []
    for z in ent.zones:
        zone: dict = {"name": z.name, "cidrs": [z.cidr]}
        if z.description:
            zone["description"] = z.description
        if z.internet_facing:
            zone["internet_facing"] = True
            zone["exposed_ports"] = list(z.exposed_ports)
        zones.append(zone)
    flows = [{"from": f.src, "to": f.dst, "ports": list(f.ports)} for f in ent.flows]
    return {"zones": zones, "flows": flows}


def write_network(ent: Enterprise, path: Path) -> int:
    doc = network_document(ent)
    text = yaml.safe_dump({"zones": doc["zones"]}, sort_keys=False, default_flow_style=False)
    text += "flows:\n" + "".join(
        "  - " + yaml.safe_dump(f, sort_keys=False, default_flow_style=True, width=1000) for f in doc["flows"])
    path.write_text(f"# Synthetic enterprise {ent.domain} (seed {ent.seed}): zones and allowed flows\n{text}",
                    encoding="utf-8")
    return len(doc["zones"]) + len(doc["flows"])
