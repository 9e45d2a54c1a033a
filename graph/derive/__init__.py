"""Derivations: edges the twin infers from what the connectors loaded, apart from ingest.

One module per derivation, as BloodHound CE's analysis package has one file per derived
edge: `adcs` (AD CS chains), `dcsync` (replication rights through nested groups),
`exploit` (CanExploit: reachability meets a remotely exploitable service). The ingest
registry runs `DERIVATIONS` in this order after an ingest, once all loads and the
connectors' own post-load steps are done, each one whose inputs the run touched (base.py);
each is idempotent and removes the edges it no longer supports.
"""

from graph.derive import adcs, dcsync, exploit
from graph.derive.base import Derivation

DERIVATIONS: tuple[Derivation, ...] = (adcs.DERIVATION, dcsync.DERIVATION, exploit.DERIVATION)

__all__ = ["DERIVATIONS", "Derivation"]
