"""FIRST's EPSS scores (CSV: a `#model_version:...,score_date:...` comment line, then
`cve,epss,percentile`), as `epss_score` / `epss_percentile` on the twin's
vulnerabilities.

The file scores every published CVE (~300k rows) while the twin holds the few
hundred its scanners found, and vulnerabilities keep arriving after the scores do
(a new Trivy report next week). So the scores are kept, compactly, and applied to
whatever needs them:

- the file becomes ONE `EpssCatalog` node (key `EPSS:CATALOG`: model_version,
  score_date, count and three parallel lists cves / scores / percentiles) - not
  300k nodes, and nothing outside the twin, so `twin reset` forgets it too;
- after every ingest, whatever it carried (`always_post_load`), vulnerabilities whose
  `epss_date` is not the catalog's score_date get their score (CVE key or a CVE
  alias) and `epss_date`; one query finds them, so a run that adds no vulnerability
  costs one cheap look-up, and EPSS before or after Trivy gives the same twin.
- A file older (score_date) than the catalog already held is refused whole, so a
  stale download cannot roll the scores back.

Agents' tools should not print the `EpssCatalog` node's lists (they are long).
Rows are rejected by line number (`line 17`) for a bad CVE id or a score outside 0..1.
"""

from __future__ import annotations

from datetime import UTC, datetime

from graph import catalog
from graph.ingest._vulnshared import CVE_RE
from graph.ingest.base import BadFile, Batch, Connector, IngestContext, Source
from graph.loader import TwinWriter, sources_with
from graph.timestamps import to_epoch

CATALOG = catalog.node("EpssCatalog")
CATALOG_KEY = "EPSS:CATALOG"
HEADER = ("cve", "epss", "percentile")


def _meta(line: str) -> dict[str, str]:
    """`#model_version:v2023.03.01,score_date:2024-05-14T00:00:00+0000`."""
    out = {}
    for part in line.lstrip("#").split(","):
        name, sep, value = part.partition(":")
        if sep:
            out[name.strip().lower()] = value.strip()
    return out


def _unit(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError
    return value


def transform(source: Source, ctx: IngestContext) -> Batch:
    text = source.text()
    meta: dict[str, str] = {}
    columns: dict[str, int] | None = None
    batch = Batch()
    scores: dict[str, tuple[float, float]] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if columns is None and not meta:
                meta = _meta(line)
            continue
        cells = [c.strip() for c in line.split(",")]
        if columns is None:
            names = [c.lower() for c in cells]
            if not set(HEADER) <= set(names):
                raise BadFile(f"line {lineno}: header is {line[:80]!r}, expected 'cve,epss,percentile'")
            columns = {n: names.index(n) for n in HEADER}
            continue
        batch.records += 1
        try:
            cve = cells[columns["cve"]].upper()
            if not CVE_RE.match(cve):
                raise ValueError(f"{cells[columns['cve']][:40]!r} is not a CVE id")
            try:
                epss, pct = _unit(cells[columns["epss"]]), _unit(cells[columns["percentile"]])
            except ValueError:
                raise ValueError("epss and percentile must be numbers between 0 and 1") from None
        except IndexError:
            batch.reject(source.name, f"line {lineno}", f"{len(cells)} cells, expected {len(HEADER)}")
            continue
        except ValueError as exc:
            batch.reject(source.name, f"line {lineno}", str(exc))
            continue
        scores[cve] = (epss, pct)
    if columns is None:
        raise BadFile("no 'cve,epss,percentile' header: not an EPSS file")

    score_date = meta.get("score_date") or datetime.fromtimestamp(ctx.now, UTC).isoformat()
    if ctx.reader:
        held = ctx.reader.rows("MATCH (e:Twin {key: $k}) RETURN e.score_date AS d", k=CATALOG_KEY)
        if held and held[0]["d"]:
            new, old = to_epoch(score_date), to_epoch(held[0]["d"])
            if new is not None and old is not None and new < old:
                raise BadFile(f"scores dated {score_date} are older than the EPSS scores the twin holds "
                              f"({held[0]['d']}); nothing loaded")
    cves = sorted(scores)
    batch.add_nodes(CATALOG, [{"key": CATALOG_KEY, "props": {
        "name": "EPSS scores",
        "model_version": meta.get("model_version"),
        "score_date": score_date,
        "count": len(cves),
        "cves": cves,
        "scores": [scores[c][0] for c in cves],
        "percentiles": [scores[c][1] for c in cves],
    }}])
    return batch


_TODO = """
MATCH (v:Vulnerability)
WHERE v.epss_date IS NULL OR v.epss_date <> $d
RETURN v.key AS key, coalesce(v.aliases, []) AS aliases
"""


# A derived annotation, not a sighting: it adds `epss` to `sources` (in sort order, as
# the loader does, `source` the first of them) but leaves `lastseen` to the connectors
# that saw the vulnerability, so re-ingesting the same files leaves the twin as it was
# whichever order the scores were first applied in.
_ANNOTATE = """
UNWIND $rows AS row
MATCH (v:Twin {key: row.key})
SET v.epss_score = row.score, v.epss_percentile = row.pct, v.epss_date = $d,
    v.epss_model_version = $m,
    v.sources = """ + sources_with("v.sources", "'epss'") + """
SET v.source = v.sources[0]
"""
_CHECKED = "UNWIND $keys AS k MATCH (v:Twin {key: k}) SET v.epss_date = $d"


def post_load(writer: TwinWriter, ctx: IngestContext) -> None:
    db = writer.database
    held = writer.driver.execute_query(
        "MATCH (e:Twin {key: $k}) RETURN e.score_date AS d", k=CATALOG_KEY, database_=db,
    ).records
    if not held or not held[0]["d"]:
        return
    score_date = held[0]["d"]
    todo = writer.driver.execute_query(_TODO, d=score_date, database_=db).records
    if not todo:
        return
    cat = writer.driver.execute_query(
        "MATCH (e:Twin {key: $k}) RETURN e.cves AS c, e.scores AS s, e.percentiles AS p, "
        "e.model_version AS m", k=CATALOG_KEY, database_=db,
    ).records[0]
    table = {c: (s, p) for c, s, p in zip(cat["c"] or [], cat["s"] or [], cat["p"] or [], strict=False)}
    scored, unscored = [], []
    for rec in todo:
        cve = next((k for k in [rec["key"], *rec["aliases"]] if k in table), None)
        if cve is None:
            unscored.append(rec["key"])
        else:
            scored.append({"key": rec["key"], "score": table[cve][0], "pct": table[cve][1]})
    # what the derivations after the run read (graph/ingest/base.py, post_load_kinds)
    writer.stats.per_kind["Vulnerability"] = len(scored) + len(unscored)
    for chunk in (scored[i:i + 10_000] for i in range(0, len(scored), 10_000)):
        writer.driver.execute_query(_ANNOTATE, rows=chunk, d=score_date, m=cat["m"], database_=db)
    for chunk in (unscored[i:i + 10_000] for i in range(0, len(unscored), 10_000)):
        writer.driver.execute_query(_CHECKED, keys=chunk, d=score_date, database_=db)


def sniff(name: str, head: str) -> bool:
    lines = [ln.strip().lower() for ln in head.lstrip("\ufeff").splitlines()[:3]]
    if not lines:
        return False
    if lines[0].startswith("#model_version"):
        return True
    first = next((ln for ln in lines if ln and not ln.startswith("#")), "")
    return first.replace(" ", "").startswith("cve,epss,percentile")


CONNECTOR = Connector(
    name="epss", sniff=sniff, transform=transform, post_load=post_load, order=45,
    always_post_load=True,
    post_load_kinds=("Vulnerability",),
)
