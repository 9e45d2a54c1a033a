"""The CISA Known Exploited Vulnerabilities catalog (JSON, as cisagov/kev-data ships it).

Every entry becomes (or flags) a `Vulnerability` keyed by its CVE id with
`is_kev = true` and the catalog's facts under `kev_*` names: kev_date_added,
kev_due_date, kev_ransomware (knownRansomwareCampaignUse == "Known"), kev_vendor,
kev_product, kev_name, kev_required_action, kev_short_description, kev_notes,
kev_cwes, kev_catalog_version.

Order independence with the scanners (Trivy, CycloneDX): they write the same nodes
by the same key, but never `is_kev` and never a `kev_*` property, and this connector
never writes their `title` / `description` / `cwe_ids`. Only after the load does KEV
fill those three from its own facts, and only where they are still empty - so a
scanner's richer text wins and nothing is lost, whichever file arrives first.

Entries are rejected (record `vulnerabilities[i]`) without a valid cveID or dateAdded,
or with a date that is not YYYY-MM-DD; the rest of the catalog still loads. The
catalog only ever adds: an entry CISA later removes stays flagged (a known gap).
"""

from __future__ import annotations

import re
from datetime import date

from graph.ingest._jsonhead import json_head
from graph.ingest._vulnshared import (
    CVE_RE,
    VULNERABILITY,
    load_json,
    str_list,
    text_or_none,
)
from graph.ingest.base import BadFile, Batch, Connector, IngestContext, Source
from graph.loader import TwinWriter

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Bad(ValueError):
    pass


def _date(entry: dict, field: str, required: bool) -> str | None:
    value = entry.get(field)
    if value is None and not required:
        return None
    text = text_or_none(value)
    if text is None:
        raise _Bad(f"{field} is missing" if value is None else f"{field} {value!r} is not a date")
    try:
        if not _DATE.match(text):
            raise ValueError
        date.fromisoformat(text)
    except ValueError:
        raise _Bad(f"{field} {text!r} is not a YYYY-MM-DD date") from None
    return text


def transform(source: Source, ctx: IngestContext) -> Batch:
    doc = load_json(source)
    if not isinstance(doc, dict):
        raise BadFile(f"top level is a JSON {type(doc).__name__}, not the KEV catalog object")
    version = text_or_none(doc.get("catalogVersion"))
    if version is None:
        raise BadFile("catalogVersion is missing or not a string: not a CISA KEV catalog")
    entries = doc.get("vulnerabilities")
    if not isinstance(entries, list):
        raise BadFile("vulnerabilities is missing or not a list")
    batch = Batch()
    rows: dict[str, dict] = {}
    for i, entry in enumerate(entries):
        record = f"vulnerabilities[{i}]"
        batch.records += 1
        try:
            if not isinstance(entry, dict):
                raise _Bad("not an object")
            cve = text_or_none(entry.get("cveID"))
            if cve is None or not CVE_RE.match(cve):
                raise _Bad(f"cveID {entry.get('cveID')!r} is not a CVE id")
            added = _date(entry, "dateAdded", required=True)
            due = _date(entry, "dueDate", required=False)
        except _Bad as exc:
            batch.reject(source.name, record, str(exc))
            continue
        use = text_or_none(entry.get("knownRansomwareCampaignUse"))
        key = cve.upper()
        rows[key] = {"key": key, "props": {
            "is_kev": True,
            "kev_date_added": added,
            "kev_due_date": due,
            "kev_ransomware": (use or "").lower() == "known",
            "kev_ransomware_use": use,
            "kev_vendor": text_or_none(entry.get("vendorProject")),
            "kev_product": text_or_none(entry.get("product")),
            "kev_name": text_or_none(entry.get("vulnerabilityName")),
            "kev_required_action": text_or_none(entry.get("requiredAction")),
            "kev_short_description": text_or_none(entry.get("shortDescription")),
            "kev_notes": text_or_none(entry.get("notes")),
            "kev_cwes": [c.upper() for c in str_list(entry.get("cwes"))] or None,
            "kev_catalog_version": version,
        }}
    batch.add_nodes(VULNERABILITY, list(rows.values()))
    return batch


_FILL = """
MATCH (v:Vulnerability)
WHERE v.is_kev = true AND (v.description IS NULL OR v.title IS NULL OR v.cwe_ids IS NULL)
SET v.description = coalesce(v.description, v.kev_short_description),
    v.title = coalesce(v.title, v.kev_name),
    v.cwe_ids = coalesce(v.cwe_ids, v.kev_cwes)
"""


def post_load(writer: TwinWriter, ctx: IngestContext) -> None:
    writer.driver.execute_query(_FILL, database_=writer.database)


def sniff(name: str, head: str) -> bool:
    """A value, not a schema's property definition (kev-data ships both side by side): the
    top-level `catalogVersion` is a string (graph.ingest._jsonhead)."""
    h = json_head(head)
    if h is None or h.kind != "object":
        return False
    return isinstance(h.get("catalogVersion"), str) and "vulnerabilities" in h.keys


CONNECTOR = Connector(name="kev", sniff=sniff, transform=transform, post_load=post_load, order=35)
