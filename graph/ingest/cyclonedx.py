"""CycloneDX JSON SBOMs (spec 1.2 to 1.6; written by cdxgen, Syft, Trivy, the Maven /
npm plugins): an application, what it is built from, and how the parts depend on
each other.

The newest SBOM of an application speaks for it; version constraints ride on the edges
because what-if needs them to tell which update breaks a dependent. Keys, hosts, VEX and
Trivy's BOMs: graph/MODEL.md, "CycloneDX".
"""

from __future__ import annotations

import re
from urllib.parse import quote

from graph.catalog import COMPUTER, HOSTED_ON
from graph.identity import host_key, is_ip, short_hostname
from graph.ingest._addresses import not_a_host_name
from graph.ingest._jsonhead import Large, json_head
from graph.ingest._vulnshared import (
    APPLICATION,
    DEPENDS_ON,
    HAS_INSTALLED,
    HAS_VULNERABILITY,
    MAX_KEY,
    PACKAGE,
    VULNERABILITY,
    HostIndex,
    canonical_vuln_id,
    clip,
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
from graph.ingest.trivy import owner_of
from graph.loader import TwinWriter
from graph.model import NodeSchema
from graph.timestamps import to_epoch

HOST_PROPERTIES = ("twinsight:host", "twinsight:hosted_on", "cdx:host")
_CONSTRAINT_NAMES = ("twinsight:version_constraint", "twinsight:requires", "cdx:version_constraint")
_GENERIC_TYPES = {"library", "framework", "application", "container", "platform", "operating-system"}
_SPEC = re.compile(r"^1\.\d+$")
_NOT_AFFECTING = {"not_affected", "false_positive", "resolved", "resolved_with_pedigree"}


class _Bad(ValueError):
    pass


def _properties(obj: dict) -> list[tuple[str, str]]:
    out = []
    props = obj.get("properties")
    for p in props if isinstance(props, list) else []:
        if isinstance(p, dict):
            name, value = text_or_none(p.get("name")), text_or_none(p.get("value"))
            if name and value:
                out.append((name, value))
    return out


def _constraint(props: list[tuple[str, str]]) -> str | None:
    for name, value in props:
        low = name.lower()
        if low in _CONSTRAINT_NAMES or low.endswith(("versionspecifiers", ":versionrange", ":version_range")):
            return value
    return None


def _component_key(comp: dict) -> str | None:
    """The package key, None for components that are not packages; _Bad when the
    component cannot be named at all."""
    purl = comp.get("purl")
    if purl is not None:
        key = purl_key(purl)
        if key is None:
            raise _Bad(f"purl {str(purl)[:120]!r} is not a package URL")
        return key
    name = text_or_none(comp.get("name"))
    if not name:
        raise _Bad("neither purl nor name")
    if (text_or_none(comp.get("type")) or "library") not in _GENERIC_TYPES:
        return None
    group = text_or_none(comp.get("group"))
    version = text_or_none(comp.get("version"))
    path = "/".join(quote(p, safe="~+.-_!:") for p in ([group] if group else []) + [name])
    return purl_key(f"pkg:generic/{path}" + (f"@{quote(version, safe='~+.-_!:')}" if version else ""))


_METHOD_RANK = {"cvssv31": 0, "cvssv3": 1, "cvssv4": 2, "cvssv2": 3}


def rating_props(ratings: object) -> dict:
    """Cartography's CVE properties from the best rating: CVSS v3.x before v4 before
    v2 before anything else, NVD's before other sources'."""
    usable = [r for r in (ratings if isinstance(ratings, list) else []) if isinstance(r, dict)]
    if not usable:
        return {}

    def rank(r: dict) -> tuple[int, int]:
        method = (text_or_none(r.get("method")) or "").lower()
        src = r.get("source") if isinstance(r.get("source"), dict) else {}
        return (_METHOD_RANK.get(method, 9), 0 if (text_or_none(src.get("name")) or "").upper() == "NVD" else 1)

    best = min(usable, key=rank)
    method = (text_or_none(best.get("method")) or "").lower()
    vector = text_or_none(best.get("vector"))
    if vector and not vector.upper().startswith("CVSS:"):
        prefix = {"cvssv31": "CVSS:3.1/", "cvssv3": "CVSS:3.0/", "cvssv4": "CVSS:4.0/"}.get(method)
        vector = prefix + vector if prefix else vector
    out = parse_cvss_vector(vector)
    score = number_or_none(best.get("score"))
    severity = (text_or_none(best.get("severity")) or "").upper() or None
    if score is not None and 0 <= score <= 10:
        out["base_score"] = score
        out["base_severity"] = severity_from_score(score, out.get("cvss_version") or ("2.0" if method == "cvssv2" else "3.1"))
    elif severity and severity != "UNKNOWN":
        out["base_severity"] = severity
    src = best.get("source") if isinstance(best.get("source"), dict) else {}
    if text_or_none(src.get("name")):
        out["cvss_source"] = text_or_none(src.get("name")).lower()
    return out


def _trivy_target(mc: dict, name: str, ctx: IngestContext) -> tuple[str, NodeSchema, dict] | None:
    """(key, schema, props) when Trivy wrote the BOM (`aquasecurity:trivy:SchemaVersion` on
    metadata.component): its component is the ArtifactName of Trivy's JSON report, so it is
    keyed and labelled exactly as graph.ingest.trivy keys that report's owner."""
    props = _properties(mc)
    if not any(n == "aquasecurity:trivy:SchemaVersion" for n, _ in props):
        return None
    ctype = text_or_none(mc.get("type")) or ""
    meta = {"ImageID": next((v for n, v in props if n == "aquasecurity:trivy:ImageID"), None),
            "RepoTags": [v for n, v in props if n == "aquasecurity:trivy:RepoTag"],
            "RepoDigests": [v for n, v in props if n == "aquasecurity:trivy:RepoDigest"]}
    hostish = is_ip(name) or looks_like_hostname(name)
    lookup = HostIndex.fetch(ctx, [name] if hostish else [], extra_keys=[name])
    key, schema, owner_props = owner_of(name, "container_image" if ctype == "container" else ctype, lookup, meta)
    return key, schema, owner_props


def _resolve_host(value: str, lookup: HostIndex) -> tuple[str | None, dict | None]:
    """(host key, props of a Computer to create) or (None, None) when a short name is
    not in the twin."""
    found = lookup.resolve(value)
    if found:
        return found, None
    text = value.strip().rstrip(".")
    if is_ip(text) or ("." in text and looks_like_hostname(text)):
        key = host_key(text)
        props = {"name": key}
        if not is_ip(key):
            props["shortname"] = short_hostname(key)
        return key, props
    return None, None


def transform(source: Source, ctx: IngestContext) -> Batch:
    doc = load_json(source)
    if not isinstance(doc, dict):
        raise BadFile(f"top level is a JSON {type(doc).__name__}, not a CycloneDX BOM object")
    if doc.get("bomFormat") != "CycloneDX":
        raise BadFile(f"bomFormat {str(doc.get('bomFormat'))[:60]!r} is not 'CycloneDX'")
    spec = text_or_none(doc.get("specVersion"))
    if not spec or not _SPEC.match(spec) or int(spec.split(".")[1]) < 2:
        raise BadFile(f"specVersion {str(doc.get('specVersion'))[:30]!r}: CycloneDX 1.2 to 1.6 JSON is read")
    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    mc = metadata.get("component")
    if not isinstance(mc, dict):
        raise BadFile("metadata.component is missing: the SBOM names no application to attach its components to")
    app_name = text_or_none(mc.get("name"))
    if not app_name:
        raise BadFile("metadata.component has no name")
    app_version = text_or_none(mc.get("version"))
    app_key = purl_key(mc.get("purl")) or f"app:{app_name}@{app_version or ''}".rstrip("@")
    if len(app_key) > MAX_KEY:
        raise BadFile(f"metadata.component names an application {len(app_key)} characters long")
    t = to_epoch(metadata.get("timestamp")) or ctx.now
    batch = Batch()

    app_props = purl_props(app_key) if app_key.startswith("pkg:") else {"name": app_name, "version": app_version}
    app_props.update({
        "name": clip(app_name), "version": app_version,
        "group": text_or_none(mc.get("group")),
        "component_type": text_or_none(mc.get("type")),
        "description": text_or_none(mc.get("description")),
    })
    owner_schema = APPLICATION
    trivy = _trivy_target(mc, app_name, ctx)
    if trivy is not None:  # Trivy's own report of a target: the node its JSON report makes
        app_key, owner_schema, app_props = trivy
    app_props.update({"sbom_serial": text_or_none(doc.get("serialNumber")), "sbom_spec_version": spec})
    refs: dict[str, str] = {}
    # refs in the BOM that load nothing (files, devices, data; rejected components): edges
    # to them are dropped quietly - the component's own reject already says why
    not_packages: set[str] = set()
    if text_or_none(mc.get("bom-ref")):
        refs[mc["bom-ref"].strip()] = app_key

    packages: dict[str, dict] = {}
    installed: dict[str, dict] = {}
    constraints: dict[str, str] = {}
    stack = [(f"components[{i}]", c) for i, c in enumerate(doc.get("components") or [])] \
        if isinstance(doc.get("components"), list) else []
    if doc.get("components") is not None and not isinstance(doc.get("components"), list):
        batch.reject(source.name, "components", "not a list")
    stack.reverse()
    while stack:
        path, comp = stack.pop()
        batch.records += 1
        try:
            if not isinstance(comp, dict):
                raise _Bad("not an object")
            key = _component_key(comp)
            ref = text_or_none(comp.get("bom-ref"))
            if ref and (ref in refs or ref in not_packages):
                raise _Bad(f"duplicate bom-ref {ref[:120]!r}")
        except _Bad as exc:
            batch.reject(source.name, path, str(exc))
            ref = text_or_none(comp.get("bom-ref")) if isinstance(comp, dict) else None
            if ref and ref not in refs:
                not_packages.add(ref)
            continue
        children = comp.get("components")
        if isinstance(children, list):
            stack.extend(reversed([(f"{path}.components[{k}]", c) for k, c in enumerate(children)]))
        if key is None:
            if ref:
                not_packages.add(ref)
            continue
        if ref:
            refs[ref] = key
        props = purl_props(key)
        cpe = text_or_none(comp.get("cpe"))
        if cpe:
            props["cpe"] = cpe
        packages[key] = {"key": key, "props": props, "firstseen": t, "lastseen": t}
        constraint = _constraint(_properties(comp))
        if constraint:
            constraints[key] = constraint
        if key != app_key:
            installed[key] = {"src": app_key, "dst": key, "firstseen": t, "lastseen": t, "props": {
                "scope": text_or_none(comp.get("scope")), "version_constraint": constraint}}

    depends: dict[tuple[str, str], dict] = {}
    deps = doc.get("dependencies")
    for i, dep in enumerate(deps if isinstance(deps, list) else []):
        record = f"dependencies[{i}]"
        batch.records += 1
        if not isinstance(dep, dict) or text_or_none(dep.get("ref")) is None:
            batch.reject(source.name, record, "no ref")
            continue
        src = refs.get(dep["ref"].strip())
        if src is None and dep["ref"].strip() in not_packages:
            continue
        if src is None:
            batch.reject(source.name, record, f"ref {dep['ref'][:120]!r} names no component of this BOM")
            continue
        unknown = []
        for target in str_list(dep.get("dependsOn")):
            dst = refs.get(target)
            if dst is None and target not in not_packages:
                unknown.append(target)
            elif dst is None:
                continue
            elif dst != src:
                depends[(src, dst)] = {"src": src, "dst": dst, "firstseen": t, "lastseen": t,
                                       "props": {"version_constraint": constraints.get(dst)}}
        if unknown:
            batch.reject(source.name, record, f"dependsOn names refs not in this BOM: {', '.join(unknown[:5])[:200]}")

    vulns, findings = _vulnerabilities(doc, refs, packages, app_key, app_version, t, batch, source.name,
                                       not_packages)

    host_value = next((v for n, v in _properties(mc) + _properties(metadata) if n.lower() in HOST_PROPERTIES), None)
    if owner_schema is COMPUTER:
        host_value = None  # the report is about the host itself
    not_host = not_a_host_name(host_value) if host_value else None
    if not_host:
        batch.reject(source.name, "metadata.component.properties", f"host {host_value[:120]!r}: {not_host}, not a host")
        host_value = None
    lookup = HostIndex.fetch(ctx, [host_value] if host_value else [])
    hosted_on, host_row = None, None
    if host_value:
        hosted_on, created = _resolve_host(host_value, lookup)
        if hosted_on is None:
            batch.reject(source.name, "metadata.component.properties",
                         f"host {host_value[:120]!r} is not in the twin (ingest AD/Nmap first, or use "
                         "inventory.csv hosted_on)")
        elif created is not None:
            host_row = {"key": hosted_on, "props": created, "firstseen": t, "lastseen": t}

    held = ctx.reader.rows("MATCH (a:Twin {key: $k}) RETURN a.sbom_time AS s", k=app_key)
    stamp = held[0]["s"] if held and isinstance(held[0]["s"], int) else t
    if stamp > t:  # a newer SBOM of it is loaded: its description stands
        app_props = {}
    app_props["sbom_time"] = max(t, stamp)

    if host_row:
        batch.add_nodes(COMPUTER, [host_row])
    batch.add_nodes(owner_schema, [{"key": app_key, "props": app_props, "firstseen": t, "lastseen": t}])
    packages.pop(app_key, None)
    batch.add_nodes(PACKAGE, list(packages.values()))
    batch.add_nodes(VULNERABILITY, list(vulns.values()))
    batch.add_rels(HAS_INSTALLED, list(installed.values()))
    batch.add_rels(DEPENDS_ON, list(depends.values()))
    batch.add_rels(HAS_VULNERABILITY, list(findings.values()))
    if hosted_on:
        batch.add_rels(HOSTED_ON, [{"src": app_key, "dst": hosted_on, "firstseen": t, "lastseen": t}])
    return batch


def _vulnerabilities(doc, refs, packages, app_key, app_version, t, batch, name, not_packages):
    vulns: dict[str, dict] = {}
    findings: dict[tuple[str, str], dict] = {}
    entries = doc.get("vulnerabilities")
    for i, v in enumerate(entries if isinstance(entries, list) else []):
        record = f"vulnerabilities[{i}]"
        batch.records += 1
        if not isinstance(v, dict):
            batch.reject(name, record, "not an object")
            continue
        vid = canonical_vuln_id(v.get("id"))
        if vid is None:
            batch.reject(name, record, f"id {v.get('id')!r} is not an advisory id")
            continue
        others = [r.get("id") for r in v.get("references") or [] if isinstance(r, dict)] \
            if isinstance(v.get("references"), list) else []
        key, aliases = vuln_identity(vid, [o for o in others if isinstance(o, str)])
        urls = [text_or_none(a.get("url")) for a in v.get("advisories") or [] if isinstance(a, dict)] \
            if isinstance(v.get("advisories"), list) else []
        src = v.get("source") if isinstance(v.get("source"), dict) else {}
        urls = [u for u in [text_or_none(src.get("url")), *urls] if u]
        cwes = [f"CWE-{c}" for c in v.get("cwes") or [] if isinstance(c, int) and not isinstance(c, bool)] \
            if isinstance(v.get("cwes"), list) else []
        props = {
            "description": text_or_none(v.get("description")) or text_or_none(v.get("detail")),
            "published_date": text_or_none(v.get("published")),
            "last_modified_date": text_or_none(v.get("updated")),
            "references": urls or None,
            "cwe_ids": cwes or None,
            "aliases": aliases or None,
            **rating_props(v.get("ratings")),
        }
        vulns[key] = {"key": key, "props": props, "firstseen": t, "lastseen": t}
        analysis = v.get("analysis") if isinstance(v.get("analysis"), dict) else {}
        state = text_or_none(analysis.get("state"))
        if state in _NOT_AFFECTING:
            continue
        affects = v.get("affects") if isinstance(v.get("affects"), list) else []
        unknown = []
        for a in affects:
            ref = text_or_none(a.get("ref")) if isinstance(a, dict) else None
            if ref is None:
                continue
            pkg = refs.get(ref) or refs.get(ref.rsplit("#", 1)[-1])  # BOM-Link urn:cdx:...#ref
            if pkg is None:
                if ref not in not_packages:
                    unknown.append(ref)
                continue
            version = (packages.get(pkg) or {}).get("props", {}).get("version") if pkg != app_key else app_version
            findings[(pkg, key)] = {"src": pkg, "dst": key, "firstseen": t, "lastseen": t, "props": {
                "installed_version": version,
                "severity": props.get("base_severity"),
                "vex_state": state,
            }}
        if unknown:
            batch.reject(name, record, f"affects refs not in this BOM: {', '.join(unknown[:5])[:200]}")
    return vulns, findings


_PRUNE = """
MATCH (a:Twin)-[r:HasInstalled|DependsOn]->(:Package)
WHERE r.source = $source AND a.sbom_time IS NOT NULL AND r.lastseen < a.sbom_time
DELETE r
"""


def post_load(writer: TwinWriter, ctx: IngestContext) -> None:
    writer.driver.execute_query(_PRUNE, source=writer.source, database_=writer.database)
    mark_unknown_kev(writer)


def sniff(name: str, head: str) -> bool:
    """By the top-level keys (graph.ingest._jsonhead): cyclonedx-py writes `bomFormat` last,
    after megabytes of components. A BOM larger than the scan limit is recognised by what
    came before the limit: `specVersion` beside `components` or `metadata`, or a
    `components` array whose first element is a CycloneDX component (type, name, and a
    bom-ref or purl)."""
    h = json_head(head)
    if h is None or h.kind != "object":
        return False
    if "bomFormat" in h.keys:
        return h.keys["bomFormat"] == "CycloneDX"
    if h.complete:
        return False
    if "specVersion" in h.keys and ("components" in h.keys or "metadata" in h.keys):
        return True
    comps = h.get("components")
    first = set(comps.first_keys) if isinstance(comps, Large) else set()
    return {"type", "name"} <= first and bool(first & {"bom-ref", "purl"})


CONNECTOR = Connector(name="cyclonedx", sniff=sniff, transform=transform, post_load=post_load, order=42)
