"""Trivy JSON reports (SchemaVersion 2, `--list-all-pkgs`) for every server.

Each server is scanned as a VM (`trivy vm`, ArtifactName its FQDN, as the connector
and the test fixtures expect). Windows is not an OS Trivy reads packages of, so the
reports carry no `Metadata.OS` and no `os-pkgs` result - only what Trivy finds in
application folders: Java archives (one aggregated `Java` result, every package with
its `FilePath`) and .NET `deps.json` files. A server without such software gets a
report without `Results`, which is what Trivy writes for a clean scan: the twin then
knows the host was scanned and nothing was found, rather than knowing nothing.

Findings come from graph.generate.vulns (real CVE ids, fixed versions and CVSS
vectors), so the same packages in the application SBOMs and the KEV catalog join.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from graph.generate.model import Host
from graph.generate.ops import Lib, OpsPlan, TrivyTarget, iso

_DATA_SOURCES = {
    "maven": {"ID": "ghsa", "Name": "GitHub Security Advisory Maven",
              "URL": "https://github.com/advisories?query=type%3Areviewed+ecosystem%3Amaven"},
    "nuget": {"ID": "ghsa", "Name": "GitHub Security Advisory NuGet",
              "URL": "https://github.com/advisories?query=type%3Areviewed+ecosystem%3Anuget"},
}
_SEVERITY_NUM = {"LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}
SCAN_HOUR = 5


def _uid(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _pkg_id(lib: Lib) -> str:
    return f"{lib.trivy_name}:{lib.version}" if lib.ptype == "maven" else f"{lib.name}@{lib.version}"


def _package(lib: Lib, path: str) -> dict:
    doc = {"ID": _pkg_id(lib), "Name": lib.trivy_name,
           "Identifier": {"PURL": lib.purl, "UID": _uid(lib.purl, path)}, "Version": lib.version}
    if path:
        doc["FilePath"] = path
    doc["Layer"] = {}
    return doc


def _finding(lib: Lib, path: str, vuln, fixed: str) -> dict:
    cvss = {"nvd": {"V3Vector": vuln.vector, "V3Score": vuln.score}}
    if lib.ptype in ("maven", "nuget"):
        cvss["ghsa"] = {"V3Vector": vuln.vector, "V3Score": vuln.score}
    doc = {
        "VulnerabilityID": vuln.cve,
        "PkgID": _pkg_id(lib),
        "PkgName": lib.trivy_name,
        "PkgIdentifier": {"PURL": lib.purl, "UID": _uid(lib.purl, path)},
        "InstalledVersion": lib.version,
        "FixedVersion": fixed,
        "Status": "fixed",
        "Layer": {},
        "SeveritySource": "ghsa",
        "PrimaryURL": f"https://avd.aquasec.com/nvd/{vuln.cve.lower()}",
        "DataSource": _DATA_SOURCES[lib.ptype],
        "Title": vuln.title,
        "Description": vuln.description,
        "Severity": vuln.severity,
        "CweIDs": list(vuln.cwes),
        "VendorSeverity": {"ghsa": _SEVERITY_NUM[vuln.severity], "nvd": _SEVERITY_NUM[vuln.severity]},
        "CVSS": cvss,
        "References": [f"https://nvd.nist.gov/vuln/detail/{vuln.cve}"],
        "PublishedDate": vuln.published,
        "LastModifiedDate": vuln.modified,
    }
    if path:
        doc["PkgPath"] = path
    if not vuln.cwes:
        del doc["CweIDs"]
    return doc


def _result(t: TrivyTarget) -> dict:
    packages = [_package(lib, path) for lib, path in t.packages]
    found = [_finding(lib, path, v, fixed) for lib, path in t.packages for v, fixed in lib.vulns()]
    doc: dict = {"Target": t.target, "Class": "lang-pkgs", "Type": t.type, "Packages": packages}
    if found:
        doc["Vulnerabilities"] = found
    return doc


def report(h: Host, targets: list[TrivyTarget], created: float) -> dict:
    doc: dict = {
        "SchemaVersion": 2,
        "CreatedAt": iso(created).replace("Z", "000000Z"),
        "ArtifactName": h.fqdn.lower(),
        "ArtifactType": "vm",
        "Metadata": {"ImageConfig": {"architecture": "", "created": "0001-01-01T00:00:00Z", "os": "",
                                     "rootfs": {"type": "", "diff_ids": None}, "config": {}}},
    }
    if targets:
        doc["Results"] = [_result(t) for t in targets]
    return doc


def write_trivy(plan: OpsPlan, out_dir: Path) -> dict[str, int]:
    """One report per server (every host but workstations); {file: packages + findings}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    t0 = plan.start + SCAN_HOUR * 3600
    servers = [h for h in plan.ent.hosts if h.role != "workstation"]
    for i, h in enumerate(servers):
        targets = plan.trivy.get(h.fqdn, [])
        doc = report(h, targets, t0 + i * 7.3)
        name = f"{h.fqdn.lower()}.json"
        (out_dir / name).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        counts[name] = sum(len(r["Packages"]) + len(r.get("Vulnerabilities", [])) for r in doc.get("Results", []))
    return counts
