"""Trivy JSON reports (SchemaVersion 2): what is installed where, and what is wrong with it.

`(owner)-[:HasInstalled]->(Package)-[:HasVulnerability]->(Vulnerability)`, the owner being
the host the report names, else an `Artifact`. A report is the truth about each scope it
scanned at its time, so a rescan after an upgrade drops the old package and an old report
loaded late changes nothing. Owners, keys and patching: graph/MODEL.md, "Trivy".
"""

from __future__ import annotations

from graph import catalog
from graph.catalog import COMPUTER
from graph.identity import host_key, is_ip, short_hostname
from graph.ingest._addresses import not_a_host_name
from graph.ingest._jsonhead import json_head
from graph.ingest._vulnshared import (
    DEPENDS_ON,
    HAS_INSTALLED,
    HAS_VULNERABILITY,
    MAX_KEY,
    PACKAGE,
    VULNERABILITY,
    HostIndex,
    TimedFacts,
    build_purl,
    canonical_vuln_id,
    ids_in_urls,
    load_json,
    looks_like_hostname,
    mark_unknown_kev,
    number_or_none,
    parse_cvss_vector,
    purl_key,
    purl_props,
    severity_from_score,
    str_list,
    text_or_none,
    vuln_identity,
)
from graph.ingest.base import BadFile, Batch, Connector, IngestContext, Source
from graph.loader import TwinWriter
from graph.model import NodeSchema
from graph.timestamps import to_epoch

ARTIFACT = catalog.node("Artifact")

_CVSS_ORDER = ("nvd", "ghsa", "redhat")
# (vector field, score field, CVSS version when the vector does not say): v3 first.
_CVSS_FIELDS = (("V3Vector", "V3Score", "3.1"), ("V40Vector", "V40Score", "4.0"), ("V2Vector", "V2Score", "2.0"))
SEVERITIES = {"CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN", "NONE"}


class RecordError(ValueError):
    pass


def cvss_props(cvss: object, severity: str | None) -> dict:
    """Score, severity and vector metrics from Trivy's `CVSS` map."""
    sources = cvss if isinstance(cvss, dict) else {}
    order = [s for s in _CVSS_ORDER if s in sources] + sorted(s for s in sources if s not in _CVSS_ORDER)
    for field_vector, field_score, version in _CVSS_FIELDS:
        for name in order:
            entry = sources.get(name)
            if not isinstance(entry, dict):
                continue
            score = number_or_none(entry.get(field_score))
            parsed = parse_cvss_vector(entry.get(field_vector))
            if score is None and not parsed:
                continue
            if score is not None and not 0 <= score <= 10:
                continue
            out = dict(parsed)
            out["cvss_source"] = name
            if score is not None:
                out["base_score"] = score
                out["base_severity"] = severity_from_score(score, parsed.get("cvss_version") or version)
            elif severity:
                out["base_severity"] = severity
            return out
    return {"base_severity": severity} if severity else {}


def _vuln_props(v: dict, severity: str | None) -> dict:
    refs = str_list(v.get("References"))
    primary = text_or_none(v.get("PrimaryURL"))
    cwes = [c.upper() for c in str_list(v.get("CweIDs"))]
    props = {
        "title": text_or_none(v.get("Title")),
        "description": text_or_none(v.get("Description")),
        "published_date": text_or_none(v.get("PublishedDate")),
        "last_modified_date": text_or_none(v.get("LastModifiedDate")),
        "primary_url": primary,
        "references": refs or None,
        "cwe_ids": cwes or None,
    }
    props.update(cvss_props(v.get("CVSS"), severity if severity in SEVERITIES - {"UNKNOWN"} else None))
    return props


def _package_key(obj: dict, name: str | None, version: str | None, rtype: str | None) -> str:
    ident = obj.get("PkgIdentifier") if "PkgIdentifier" in obj else obj.get("Identifier")
    purl = ident.get("PURL") if isinstance(ident, dict) else None
    if purl is not None:
        key = purl_key(purl)
        if key is None:
            raise RecordError(f"PURL {str(purl)[:120]!r} is not a package URL")
        return key
    if not name:
        raise RecordError("no PkgName/Name and no PURL")
    key = build_purl(rtype, name, version)
    if key is None:
        raise RecordError(f"cannot build a package URL from name {name[:120]!r}")
    return key


def owner_of(name: str, atype: str, lookup: HostIndex, meta: dict) -> tuple[str, NodeSchema, dict]:
    """(key, schema, props) of the thing a Trivy report is about, whichever of Trivy's
    formats said it (JSON here, CycloneDX in graph.ingest.cyclonedx): one target, one node.
    `localhost` and addresses such as 127.0.0.1 name no host: that target is an Artifact."""
    local = not_a_host_name(name)
    resolved = lookup.resolve(name) if not local and (is_ip(name) or looks_like_hostname(name)) else None
    if resolved:
        return resolved, COMPUTER, {}
    text = name.strip().rstrip(".")
    if not local and atype != "container_image" and (is_ip(text) or ("." in text and looks_like_hostname(text))):
        key = host_key(text)
        props = {"name": key}
        if not is_ip(key):
            props["shortname"] = short_hostname(key)
        return key, COMPUTER, props
    return name, ARTIFACT, {
        "name": name,
        "artifact_type": atype or None,
        "image_id": text_or_none(meta.get("ImageID")),
        "repo_tags": str_list(meta.get("RepoTags")) or None,
        "repo_digests": str_list(meta.get("RepoDigests")) or None,
    }


def _result_scope(res: dict) -> str:
    """OS packages are one scope per owner (the OS name in Target changes on upgrade);
    language packages are scoped by their target file."""
    if text_or_none(res.get("Class")) == "os-pkgs":
        return "os-pkgs"
    return f"{text_or_none(res.get('Class')) or 'unknown'}:{text_or_none(res.get('Target')) or ''}"


def transform(source: Source, ctx: IngestContext) -> Batch:
    doc = load_json(source)
    if not isinstance(doc, dict):
        raise BadFile(f"top level is a JSON {type(doc).__name__}, not a Trivy report object")
    if doc.get("SchemaVersion") != 2 or isinstance(doc.get("SchemaVersion"), bool):
        raise BadFile(f"SchemaVersion {str(doc.get('SchemaVersion'))[:30]}: only Trivy SchemaVersion 2 reports are read")
    name = text_or_none(doc.get("ArtifactName"))
    if not name:
        raise BadFile("ArtifactName is missing or empty: the report names nothing it scanned")
    if len(name) > MAX_KEY:
        raise BadFile(f"ArtifactName is {len(name)} characters long: not a host or artifact name")
    atype = text_or_none(doc.get("ArtifactType")) or ""
    results = doc.get("Results")
    if results is None:
        results = []
    if not isinstance(results, list):
        raise BadFile("Results is not a list")
    t = to_epoch(doc.get("CreatedAt")) or ctx.now

    lookup = HostIndex.fetch(
        ctx, [name] if (is_ip(name) or looks_like_hostname(name)) else [],
        props=("trivy_scopes", "trivy_scope_times"), extra_keys=[name],
    )
    meta = doc.get("Metadata") if isinstance(doc.get("Metadata"), dict) else {}
    owner, owner_schema, owner_props = owner_of(name, atype, lookup, meta)
    os_info = meta.get("OS") if isinstance(meta.get("OS"), dict) else {}
    TimedFacts(ctx, [owner], ("trivy_os",)).apply(owner, "trivy_os", t, {
        "os_family": text_or_none(os_info.get("Family")), "os_name": text_or_none(os_info.get("Name"))},
        owner_props)

    batch = Batch()
    packages: dict[str, dict] = {}
    installed: dict[str, dict] = {}
    vulns: dict[str, dict] = {}
    findings: dict[tuple[str, str], dict] = {}
    depends: dict[tuple[str, str], dict] = {}
    scopes: dict[str, int] = {}

    def add_package(key: str, scope: str, target: str | None) -> None:
        packages.setdefault(key, {"key": key, "props": purl_props(key), "firstseen": t, "lastseen": t})
        edge = installed.setdefault(key, {"src": owner, "dst": key, "props": {"scope": scope, "targets": []},
                                          "firstseen": t, "lastseen": t})
        if target and target not in edge["props"]["targets"]:
            edge["props"]["targets"].append(target)

    for i, res in enumerate(results):
        rrec = f"Results[{i}]"
        if not isinstance(res, dict):
            batch.reject(source.name, rrec, "not an object")
            continue
        rtype = text_or_none(res.get("Type"))
        target = text_or_none(res.get("Target"))
        scope = _result_scope(res)
        scopes[scope] = t
        pkgs, found = res.get("Packages"), res.get("Vulnerabilities")
        if pkgs is not None and not isinstance(pkgs, list):
            batch.reject(source.name, f"{rrec}.Packages", "not a list")
            pkgs = None
        if found is not None and not isinstance(found, list):
            batch.reject(source.name, f"{rrec}.Vulnerabilities", "not a list")
            found = None
        by_id: dict[str, str] = {}
        pending_deps: list[tuple[str, list[str]]] = []
        for j, p in enumerate(pkgs or []):
            prec = f"{rrec}.Packages[{j}]"
            batch.records += 1
            try:
                if not isinstance(p, dict):
                    raise RecordError("not an object")
                pname = text_or_none(p.get("Name"))
                version = text_or_none(p.get("Version"))
                release = text_or_none(p.get("Release"))
                if version and release:
                    version = f"{version}-{release}"
                key = _package_key(p, pname, version, rtype)
            except RecordError as exc:
                batch.reject(source.name, prec, str(exc))
                continue
            add_package(key, scope, target)
            pid = text_or_none(p.get("ID"))
            if pid:
                by_id[pid] = key
            deps = str_list(p.get("DependsOn"))
            if deps:
                pending_deps.append((key, deps))
        for key, deps in pending_deps:
            for dep in deps:
                if dep in by_id and by_id[dep] != key:
                    depends[(key, by_id[dep])] = {"src": key, "dst": by_id[dep], "firstseen": t, "lastseen": t}
        for j, v in enumerate(found or []):
            vrec = f"{rrec}.Vulnerabilities[{j}]"
            batch.records += 1
            try:
                if not isinstance(v, dict):
                    raise RecordError("not an object")
                raw_id = v.get("VulnerabilityID")
                vid = canonical_vuln_id(raw_id)
                if vid is None:
                    raise RecordError(f"VulnerabilityID {raw_id!r} is not an advisory id")
                pname = text_or_none(v.get("PkgName"))
                installed_version = text_or_none(v.get("InstalledVersion"))
                pkey = _package_key(v, pname, installed_version, rtype)
            except RecordError as exc:
                batch.reject(source.name, vrec, str(exc))
                continue
            others = str_list(v.get("VendorIDs")) + ids_in_urls(str_list(v.get("References")))
            vkey, aliases = vuln_identity(vid, others)
            severity = (text_or_none(v.get("Severity")) or "").upper() or None
            add_package(pkey, scope, target)
            row = vulns.get(vkey)
            if row is None:  # the same advisory on many packages: describe it once
                row = vulns[vkey] = {"key": vkey, "firstseen": t, "lastseen": t, "props": {
                    k: val for k, val in _vuln_props(v, severity).items() if val is not None}}
                row["props"]["aliases"] = aliases
            elif aliases:
                row["props"]["aliases"] = sorted(set(row["props"]["aliases"]) | set(aliases))
            source_info = v.get("DataSource") if isinstance(v.get("DataSource"), dict) else {}
            findings[(pkey, vkey)] = {
                "src": pkey, "dst": vkey, "firstseen": t, "lastseen": t,
                "props": {
                    "installed_version": installed_version,
                    "fixed_version": text_or_none(v.get("FixedVersion")),
                    "severity": severity,
                    "status": text_or_none(v.get("Status")),
                    "severity_source": text_or_none(v.get("SeveritySource")),
                    "data_source": text_or_none(source_info.get("ID")),
                    "pkg_path": text_or_none(v.get("PkgPath")),
                },
            }

    for row in vulns.values():
        if not row["props"]["aliases"]:
            del row["props"]["aliases"]
    owner_props.update(_merge_scopes(lookup.props.get(owner, {}), scopes))
    batch.add_nodes(owner_schema, [{"key": owner, "props": owner_props, "firstseen": t, "lastseen": t}])
    batch.add_nodes(PACKAGE, list(packages.values()))
    batch.add_nodes(VULNERABILITY, list(vulns.values()))
    batch.add_rels(HAS_INSTALLED, list(installed.values()))
    batch.add_rels(DEPENDS_ON, list(depends.values()))
    batch.add_rels(HAS_VULNERABILITY, list(findings.values()))
    return batch


def _merge_scopes(known: dict, scanned: dict[str, int]) -> dict:
    """Latest scan time per scope, old and new together, as two parallel lists (Neo4j
    properties cannot be maps)."""
    names, times = known.get("trivy_scopes"), known.get("trivy_scope_times")
    merged: dict[str, int] = {}
    if isinstance(names, list) and isinstance(times, list) and len(names) == len(times):
        merged = {str(n): int(x) for n, x in zip(names, times, strict=True) if isinstance(x, int)}
    for scope, when in scanned.items():
        merged[scope] = max(merged.get(scope, when), when)
    if not merged:
        return {}
    order = sorted(merged)
    return {"trivy_scopes": order, "trivy_scope_times": [merged[s] for s in order]}


_PRUNE = """
MATCH (h:Twin)-[r:HasInstalled]->(:Package)
WHERE r.source = $source AND h.trivy_scopes IS NOT NULL AND r.scope IN h.trivy_scopes
WITH h, r, [i IN range(0, size(h.trivy_scopes) - 1) WHERE h.trivy_scopes[i] = r.scope
            | h.trivy_scope_times[i]][0] AS scanned
WHERE r.lastseen < scanned
DELETE r
"""


def post_load(writer: TwinWriter, ctx: IngestContext) -> None:
    writer.driver.execute_query(_PRUNE, source=writer.source, database_=writer.database)
    mark_unknown_kev(writer)


def sniff(name: str, head: str) -> bool:
    """By the top-level keys (graph.ingest._jsonhead), wherever in the object they are."""
    h = json_head(head)
    return h is not None and h.kind == "object" and h.has("SchemaVersion", "ArtifactName")


CONNECTOR = Connector(name="trivy", sniff=sniff, transform=transform, post_load=post_load, order=40)
