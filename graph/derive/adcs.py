"""AD CS: how certificate authorities chain to each other, as BloodHound CE's post-processing
derives it from the collected objects.

- `EnterpriseCAFor` enterprise CA -> the root CA of the same certificate thumbprint;
- `IssuedSignedBy` CA -> the CA whose thumbprint is its chain's parent;
- `TrustedForNTAuth` enterprise CA -> the NTAuth store that lists its thumbprint.

These are the edges CE's ESC analyses walk; the ESC edges themselves are not derived yet.
"""

from __future__ import annotations

from collections import defaultdict

from graph import catalog
from graph.derive.base import Derivation, run_query, sync_edges
from graph.loader import TwinWriter

EDGES = ("EnterpriseCAFor", "IssuedSignedBy", "TrustedForNTAuth")
SCHEMAS = {t: catalog.rel(t, by="objectid") for t in EDGES}

_CAS = (
    "MATCH (n) WHERE (n:EnterpriseCA OR n:RootCA OR n:NTAuthStore) AND n.objectid IS NOT NULL "
    "RETURN n.objectid AS oid, [l IN labels(n) WHERE l IN ['EnterpriseCA','RootCA','NTAuthStore']][0] AS kind, "
    "n.certthumbprint AS tp, n.certchain AS chain, n.certthumbprints AS tps"
)


def adcs_pairs(cas: list) -> dict[str, set[tuple[str, str]]]:
    """Edge type -> (src, dst) objectids, from rows of `oid`, `kind` (EnterpriseCA, RootCA or
    NTAuthStore), `tp` (certthumbprint), `chain` (certchain) and `tps` (certthumbprints)."""
    by_tp: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rec in cas:
        if isinstance(rec["tp"], str) and rec["tp"]:
            by_tp[(rec["kind"], rec["tp"].upper())].add(rec["oid"])
    out: dict[str, set[tuple[str, str]]] = {t: set() for t in EDGES}
    for rec in cas:
        tp = rec["tp"].upper() if isinstance(rec["tp"], str) else ""
        if rec["kind"] == "EnterpriseCA" and tp:
            out["EnterpriseCAFor"].update((rec["oid"], root) for root in by_tp.get(("RootCA", tp), ()))
        chain = rec["chain"]
        if rec["kind"] in ("EnterpriseCA", "RootCA") and isinstance(chain, list) and len(chain) > 1:
            parent = str(chain[1]).upper()
            for kind in ("EnterpriseCA", "RootCA"):
                out["IssuedSignedBy"].update((rec["oid"], p) for p in by_tp.get((kind, parent), ()) if p != rec["oid"])
        if rec["kind"] == "NTAuthStore" and isinstance(rec["tps"], list):
            for t in rec["tps"]:
                if isinstance(t, str) and t:
                    out["TrustedForNTAuth"].update(
                        (eca, rec["oid"]) for eca in by_tp.get(("EnterpriseCA", t.upper()), ()))
    return out


def derive_adcs(writer: TwinWriter) -> None:
    pairs = adcs_pairs(run_query(writer, _CAS))
    for rel_type in EDGES:
        sync_edges(writer, SCHEMAS[rel_type], pairs[rel_type], {"isacl": False})


DERIVATION = Derivation(
    name="adcs", source="sharphound", after=("sharphound",),
    reads=("EnterpriseCA", "RootCA", "NTAuthStore"), writes=EDGES, run=derive_adcs,
)
