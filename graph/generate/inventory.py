"""`inventory.csv` for the synthetic enterprise: the owners, criticality and crown
jewels an asset register would hold, written with the csv module so names with
commas or quotes would still round-trip."""

from __future__ import annotations

import csv
from pathlib import Path

from graph.generate.model import Enterprise
from graph.ingest.inventory import COLUMNS


def write_inventory(ent: Enterprise, path: Path) -> int:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(ent.inventory)
    return len(ent.inventory)
