"""Hosts, services, software and vulnerabilities from Nmap, Trivy, CycloneDX, CISA KEV
and EPSS: each parser on files in its tool's real shape, their merge into one twin
whatever order they arrive in, and malformed input (never a crash, clear rejects, a
rejected file leaves the twin as it was)."""

from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.ingest import cyclonedx, epss, kev, nmap, trivy
from graph.ingest._vulnshared import build_purl, parse_cvss_vector, purl_key, vuln_identity
from graph.ingest.base import BadFile, Batch, IngestContext, Source
from graph.ingest.registry import connectors, ingest, iter_sources, sniff
from graph.loader import TwinWriter
from graph.model import NodeSchema
from graph.schema import reset_twin
from tests.conftest import real_data

DATA = Path(__file__).parent / "data"
NMAP = DATA / "nmap" / "corp-scan.xml"
NMAP_LATER = DATA / "nmap" / "rescan-2025-09-01.xml"
TRIVY_WEB = DATA / "trivy" / "web01.corp.local.json"
TRIVY_WEB_PATCHED = DATA / "trivy" / "web01.corp.local-2025-09-02.json"
TRIVY_IMAGE = DATA / "trivy" / "alpine-3.19.json"
TRIVY_WS01 = DATA / "trivy" / "ws01-10.20.1.7.json"
SBOM_PORTAL = DATA / "cyclonedx" / "portal-3.4.2.cdx.json"
SBOM_AGENT = DATA / "cyclonedx" / "hr-agent-1.2.0.cdx.json"
EPSS = DATA / "epss" / "epss_scores-2025-08-25.csv"
NOW = 1_757_000_000
OFFLINE = IngestContext(driver=None, database=None, now=NOW)


def kev_catalog() -> Path:
    return real_data("kev", "known_exploited_vulnerabilities.json")


def rows(batch: Batch, label: str) -> dict[str, dict]:
    return {r["key"]: r for schema, rs in batch.nodes if schema.label == label for r in rs}


def edges(batch: Batch, rel_type: str) -> dict[tuple[str, str], dict]:
    return {(r["src"], r["dst"]): r for schema, rs in batch.rels if schema.type == rel_type for r in rs}


def load(twin, *paths: Path, now: int = NOW):
    return ingest(twin.driver, list(paths), database=twin.database, now=now)


def source(path: Path) -> Source:
    return Source.from_path(path)


def written(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


# ------------------------------------------------------------------ sniffing


@pytest.mark.parametrize("path,fmt", [
    (NMAP, "nmap"), (NMAP_LATER, "nmap"), (TRIVY_WEB, "trivy"), (TRIVY_IMAGE, "trivy"),
    (SBOM_PORTAL, "cyclonedx"), (SBOM_AGENT, "cyclonedx"), (EPSS, "epss"),
])
def test_each_file_is_recognised_as_its_format(path, fmt):
    assert sniff(source(path), None, connectors()).name == fmt


def test_real_kev_catalog_is_recognised_and_its_schema_is_not():
    assert sniff(source(kev_catalog()), None, connectors()).name == "kev"
    schema = kev_catalog().parent / "schema.json"
    assert not connectors()["kev"].sniff(str(schema), schema.read_text())


# ------------------------------------------------------------------ canonical forms


@pytest.mark.parametrize("raw,key", [
    ("pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.4", "pkg:deb/debian/openssl@3.0.11-1~deb12u2"),
    ("pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64", "pkg:deb/debian/bash@5.2.15-2+b2"),
    ("pkg:maven/com.acme/portal@3.4.2?type=war#src/main", "pkg:maven/com.acme/portal@3.4.2"),
    ("pkg:npm/@babel/core@7.0.0", "pkg:npm/%40babel/core@7.0.0"),
    ("pkg:npm/%40babel/core", "pkg:npm/%40babel/core"),
    ("PKG:PyPI/PyYAML_x@6.0.1", "pkg:pypi/pyyaml-x@6.0.1"),
    ("pkg:golang/github.com/gorilla/mux@v1.8.0", "pkg:golang/github.com/gorilla/mux@v1.8.0"),
])
def test_purl_key_is_one_spelling_per_package(raw, key):
    assert purl_key(raw) == key


@pytest.mark.parametrize("raw", ["", "maven:foo", "pkg:", "pkg:npm", "pkg:npm/", "pkg:9x/foo@1", None, 42])
def test_purl_key_refuses_what_is_not_a_purl(raw):
    assert purl_key(raw) is None


def test_built_purls_follow_the_ecosystem_conventions():
    assert build_purl("jar", "org.apache.logging.log4j:log4j-core", "2.14.1") == \
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
    assert build_purl("debian", "libc6", "2.36-9+deb12u4") == "pkg:deb/debian/libc6@2.36-9+deb12u4"
    assert build_purl("redhat", "openssl-libs", "1:3.0.7-27.el9") == "pkg:rpm/redhat/openssl-libs@3.0.7-27.el9"
    assert build_purl("gomod", "github.com/gorilla/mux", "v1.8.0") == "pkg:golang/github.com/gorilla/mux@v1.8.0"
    assert build_purl("something-new", "tool", "1") == "pkg:generic/tool@1"


def test_cvss_vectors_give_cartography_properties():
    v3 = parse_cvss_vector("CVSS:3.1/AV:A/AC:H/PR:L/UI:R/S:C/C:H/I:L/A:N")
    assert v3 == {
        "vector_string": "CVSS:3.1/AV:A/AC:H/PR:L/UI:R/S:C/C:H/I:L/A:N", "cvss_version": "3.1",
        "attack_vector": "ADJACENT", "attack_complexity": "HIGH", "privileges_required": "LOW",
        "user_interaction": "REQUIRED", "scope": "CHANGED", "confidentiality_impact": "HIGH",
        "integrity_impact": "LOW", "availability_impact": "NONE",
    }
    assert parse_cvss_vector("AV:L/AC:M/Au:N/C:P/I:P/A:C")["attack_vector"] == "LOCAL"
    assert parse_cvss_vector("CVSS:4.0/AV:P/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")["attack_vector"] == "PHYSICAL"
    assert parse_cvss_vector("garbage") == {}


def test_a_cve_wins_over_a_ghsa_and_the_other_ids_are_aliases():
    assert vuln_identity("GHSA-jfh8-c2jp-5v3q", ["CVE-2021-44228"]) == ("CVE-2021-44228", ["GHSA-jfh8-c2jp-5v3q"])
    assert vuln_identity("CVE-2021-44228", ["GHSA-JFH8-C2JP-5V3Q"]) == ("CVE-2021-44228", ["GHSA-jfh8-c2jp-5v3q"])
    # two CVEs named by one GHSA: no guess
    assert vuln_identity("GHSA-jfh8-c2jp-5v3q", ["CVE-2021-1", "CVE-2021-45046"])[0] == "GHSA-jfh8-c2jp-5v3q"


# ------------------------------------------------------------------ Nmap


def test_nmap_hosts_addresses_and_open_services():
    batch = nmap.transform(source(NMAP), OFFLINE)
    assert batch.records == 5 and batch.rejected == []
    hosts = rows(batch, "Computer")
    # the down host is not there; no twin, so the short name `ws01` keeps its IP key
    assert set(hosts) == {"WEB01.CORP.LOCAL", "10.20.1.7", "10.20.1.9", "DB01.CORP.LOCAL"}
    assert hosts["WEB01.CORP.LOCAL"]["props"]["shortname"] == "WEB01"
    assert hosts["WEB01.CORP.LOCAL"]["props"]["nmap_os"] == "Linux 4.15 - 5.8"
    assert hosts["10.20.1.7"]["props"]["shortname"] == "WS01"
    assert hosts["10.20.1.7"]["props"]["mac"] == "00:50:56:A1:3C:7E"
    assert hosts["DB01.CORP.LOCAL"]["firstseen"] == 1756113124
    services = rows(batch, "Service")
    assert set(services) == {
        "WEB01.CORP.LOCAL:22/TCP", "WEB01.CORP.LOCAL:80/TCP", "WEB01.CORP.LOCAL:443/TCP",
        "10.20.1.7:135/TCP", "10.20.1.7:445/TCP", "10.20.1.7:3389/TCP",
        "10.20.1.9:22/TCP", "DB01.CORP.LOCAL:1433/TCP",
    }  # 8080 was filtered, not open
    https = services["WEB01.CORP.LOCAL:443/TCP"]["props"]
    assert (https["port"], https["protocol"], https["name"], https["product"], https["version"], https["tunnel"]) == \
        (443, "tcp", "http", "nginx", "1.22.1", "ssl")
    assert https["cpe"] == ["cpe:/a:igor_sysoev:nginx:1.22.1"]
    assert ("WEB01.CORP.LOCAL", "WEB01.CORP.LOCAL:443/TCP") in edges(batch, "HasService")
    lease = edges(batch, "HasIP")[("DB01.CORP.LOCAL", "IP:10.30.0.4")]
    assert lease["firstseen"] == lease["lastseen"] == 1756113124
    assert rows(batch, "IP")["IP:10.30.0.4"]["props"] == {"address": "10.30.0.4", "version": 4}


def test_nmap_rejects_bad_hosts_and_ports_and_keeps_the_rest(tmp_path):
    text = NMAP.read_text()
    text = text.replace('addr="10.20.1.9" addrtype="ipv4"', 'addr="10.20.1.999" addrtype="ipv4"')
    text = text.replace('portid="3389"', 'portid="99999"')
    batch = nmap.transform(source(written(tmp_path, "scan.xml", text)), OFFLINE)
    found = {(r.record, r.error) for r in batch.rejected}
    assert ("host[2]", "address '10.20.1.999' is not a valid ipv4 address") in found
    assert ("host[1].port[2]", "portid '99999' is not a port number") in found
    assert all(r.file.endswith("scan.xml") for r in batch.rejected)
    assert "10.20.1.7:135/TCP" in rows(batch, "Service")
    assert "10.20.1.9" not in rows(batch, "Computer")


@pytest.mark.parametrize("doc,why", [
    ('<?xml version="1.0"?><!DOCTYPE nmaprun [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
     '<nmaprun><host>&b;</host></nmaprun>', "refused XML"),
    ('<?xml version="1.0"?><!DOCTYPE nmaprun SYSTEM "file:///etc/passwd"><nmaprun/>', "refused XML"),
    ('<?xml version="1.0"?><nmaprun start="1"><host><status state="up"/>', "truncated"),
    ('<?xml version="1.0"?><report><host/></report>', "not Nmap's <nmaprun>"),
    ("\x00\x01 not xml", "not well-formed"),
])
def test_nmap_unsafe_or_unreadable_xml_is_a_bad_file(tmp_path, doc, why):
    with pytest.raises(BadFile, match=re.escape(why)):
        nmap.transform(source(written(tmp_path, "x.xml", doc)), OFFLINE)


# ------------------------------------------------------------------ Trivy


def test_trivy_host_report_packages_and_findings():
    batch = trivy.transform(source(TRIVY_WEB), OFFLINE)
    assert batch.rejected == [] and batch.records == 6
    owner = rows(batch, "Computer")
    assert list(owner) == ["WEB01.CORP.LOCAL"]  # FQDN not yet in a twin: still a host
    assert owner["WEB01.CORP.LOCAL"]["props"]["os_family"] == "debian"
    packages = rows(batch, "Package")
    assert set(packages) == {
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u2", "pkg:deb/debian/libwebp7@1.2.4-0.2+deb12u1",
        "pkg:deb/debian/bash@5.2.15-2+b2",  # no PURL from Trivy: built from the result Type
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", "pkg:npm/micromatch@4.0.5",
        "pkg:npm/%40babel/traverse@7.22.5",
    }
    assert packages["pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"]["props"]["name"] == "log4j-core"
    installed = edges(batch, "HasInstalled")
    assert {dst for (src, dst) in installed if src == "WEB01.CORP.LOCAL"} == set(packages)
    vulns = rows(batch, "Vulnerability")
    assert set(vulns) == {"CVE-2023-5678", "CVE-2023-4863", "TEMP-0841856-B18BAF", "CVE-2021-44228",
                          "GHSA-952p-6rrq-rcjv", "CVE-2023-45133"}
    log4shell = vulns["CVE-2021-44228"]["props"]
    assert log4shell["base_score"] == 10.0 and log4shell["base_severity"] == "CRITICAL"
    assert (log4shell["attack_vector"], log4shell["attack_complexity"], log4shell["cvss_source"]) == \
        ("NETWORK", "LOW", "nvd")
    assert log4shell["vector_string"] == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"
    assert log4shell["aliases"] == ["GHSA-jfh8-c2jp-5v3q"]
    assert log4shell["cwe_ids"] == ["CWE-20", "CWE-400", "CWE-502"]
    assert log4shell["published_date"] == "2021-12-10T10:15:09.143Z"
    assert "is_kev" not in log4shell  # never the scanner's to say
    finding = edges(batch, "HasVulnerability")[("pkg:deb/debian/libwebp7@1.2.4-0.2+deb12u1", "CVE-2023-4863")]
    assert finding["props"]["installed_version"] == "1.2.4-0.2+deb12u1"
    assert finding["props"]["fixed_version"] == "1.2.4-0.2+deb12u2"
    assert finding["props"]["severity"] == "HIGH"
    assert finding["lastseen"] == 1756114212  # the report's CreatedAt


def test_trivy_image_report_belongs_to_the_artifact_with_its_dependency_graph():
    batch = trivy.transform(source(TRIVY_IMAGE), OFFLINE)
    art = rows(batch, "Artifact")["alpine:3.19"]["props"]
    assert art["artifact_type"] == "container_image" and art["repo_tags"] == ["alpine:3.19"]
    assert "Computer" not in {s.label for s, _ in batch.nodes}
    musl = "pkg:apk/alpine/musl@1.2.4_git20230717-r4"
    assert ("alpine:3.19", musl) in edges(batch, "HasInstalled")  # from Packages[], no finding
    assert set(edges(batch, "DependsOn")) == {
        ("pkg:apk/alpine/busybox@1.36.1-r15", musl), ("pkg:apk/alpine/libcrypto3@3.1.4-r5", musl)}


def test_trivy_bad_findings_are_rejected_by_path(tmp_path):
    doc = json.loads(TRIVY_WEB.read_text())
    doc["Results"][0]["Vulnerabilities"][1]["VulnerabilityID"] = "not an id!"
    doc["Results"][2]["Vulnerabilities"][0]["PkgIdentifier"]["PURL"] = "npm:micromatch"
    doc["Results"][1] = "oops"
    batch = trivy.transform(source(written(tmp_path, "r.json", json.dumps(doc))), OFFLINE)
    assert {(r.record, r.error) for r in batch.rejected} == {
        ("Results[0].Vulnerabilities[1]", "VulnerabilityID 'not an id!' is not an advisory id"),
        ("Results[2].Vulnerabilities[0]", "PURL 'npm:micromatch' is not a package URL"),
        ("Results[1]", "not an object"),
    }
    assert "CVE-2023-5678" in rows(batch, "Vulnerability")


def test_trivy_report_saved_by_powershell_as_utf16_is_read(tmp_path):
    path = written(tmp_path, "r.json", "\ufeff".encode("utf-16-le") + TRIVY_IMAGE.read_text().encode("utf-16-le"))
    assert set(rows(trivy.transform(source(path), OFFLINE), "Package")) == \
        set(rows(trivy.transform(source(TRIVY_IMAGE), OFFLINE), "Package"))


@pytest.mark.parametrize("change,why", [
    ({"SchemaVersion": 1}, "SchemaVersion 1"),
    ({"ArtifactName": ""}, "ArtifactName"),
    ({"Results": {"a": 1}}, "Results is not a list"),
])
def test_trivy_unusable_reports_are_bad_files(tmp_path, change, why):
    doc = {**json.loads(TRIVY_IMAGE.read_text()), **change}
    with pytest.raises(BadFile, match=why):
        trivy.transform(source(written(tmp_path, "r.json", json.dumps(doc))), OFFLINE)


# ------------------------------------------------------------------ CycloneDX


def test_cyclonedx_application_components_dependencies_and_vex():
    batch = cyclonedx.transform(source(SBOM_PORTAL), OFFLINE)
    assert batch.rejected == []
    app = "pkg:maven/com.acme/portal@3.4.2"
    apps = rows(batch, "Application")
    assert list(apps) == [app] and apps[app]["props"]["sbom_time"] == 1755698531
    assert [s.labels for s, _ in batch.nodes if s.label == "Application"] == [("Application", "Package")]
    packages = set(rows(batch, "Package"))
    assert len(packages) == 5  # nested jackson-core included, the file component is not a package
    assert "pkg:maven/com.fasterxml.jackson.core/jackson-core@2.13.4" in packages
    installed = edges(batch, "HasInstalled")
    assert {dst for (src, dst) in installed if src == app} == packages
    log4j = "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
    assert installed[(app, log4j)]["props"]["version_constraint"] == "[2.14,3.0)"
    deps = edges(batch, "DependsOn")
    assert (log4j, "pkg:maven/org.apache.logging.log4j/log4j-api@2.14.1") in deps
    assert deps[(app, log4j)]["props"]["version_constraint"] == "[2.14,3.0)"
    vulns = rows(batch, "Vulnerability")
    assert vulns["CVE-2021-44228"]["props"]["attack_vector"] == "NETWORK"
    assert vulns["CVE-2021-44228"]["props"]["vector_string"].startswith("CVSS:3.1/AV:N")
    assert vulns["CVE-2022-22965"]["props"]["cwe_ids"] == ["CWE-94"]
    findings = edges(batch, "HasVulnerability")
    assert (log4j, "CVE-2021-44228") in findings
    assert not any(dst == "CVE-2022-22965" for _, dst in findings)  # VEX: not_affected
    assert set(edges(batch, "HostedOn")) == {(app, "WEB01.CORP.LOCAL")}
    assert rows(batch, "Computer")["WEB01.CORP.LOCAL"]["props"]["shortname"] == "WEB01"


def test_cyclonedx_bad_components_and_refs_are_rejected(tmp_path):
    doc = json.loads(SBOM_PORTAL.read_text())
    doc["components"][1]["purl"] = "log4j-api"
    doc["components"][3] = ["not", "a", "component"]
    doc["dependencies"][1]["dependsOn"].append("pkg:maven/nowhere/nothing@1")
    doc["dependencies"].append({"ref": "missing-ref", "dependsOn": []})
    doc["dependencies"].append({"ref": "file:portal.properties", "dependsOn": []})  # a file: not an error
    doc["dependencies"][0]["dependsOn"].append("file:portal.properties")
    batch = cyclonedx.transform(source(written(tmp_path, "b.json", json.dumps(doc))), OFFLINE)
    records = {r.record: r.error for r in batch.rejected}
    assert records["components[1]"] == "purl 'log4j-api' is not a package URL"
    assert records["components[3]"] == "not an object"
    # log4j-core -> the rejected log4j-api is dropped quietly, the unknown ref is not
    assert "pkg:maven/nowhere/nothing@1" in records["dependencies[1]"] and "log4j-api" not in records["dependencies[1]"]
    assert "missing-ref" in records["dependencies[5]"]
    # components[3] was not even an object, so its ref is unknown to the dependencies naming it
    assert "spring-webmvc" in records["dependencies[0]"] and "spring-webmvc" in records["dependencies[4]"]
    assert set(records) == {"components[1]", "components[3]", "dependencies[0]", "dependencies[1]",
                            "dependencies[4]", "dependencies[5]"}
    assert "pkg:maven/com.fasterxml.jackson.core/jackson-core@2.13.4" in rows(batch, "Package")


def test_cyclonedx_short_host_unknown_to_the_twin_is_rejected_not_guessed():
    batch = cyclonedx.transform(source(SBOM_AGENT), OFFLINE)
    assert [(r.record, "ws01" in r.error) for r in batch.rejected] == [("metadata.component.properties", True)]
    assert edges(batch, "HostedOn") == {}
    assert edges(batch, "HasInstalled")[("pkg:pypi/hr-agent@1.2.0", "pkg:pypi/requests@2.31.0")]["props"][
        "version_constraint"] == ">=2.28,<3"


@pytest.mark.parametrize("doc,why", [
    ({"bomFormat": "SPDX"}, "bomFormat"),
    ({"bomFormat": "CycloneDX", "specVersion": "2.0", "metadata": {"component": {"name": "a"}}}, "specVersion"),
    ({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": []}, "metadata.component"),
])
def test_cyclonedx_unusable_boms_are_bad_files(tmp_path, doc, why):
    with pytest.raises(BadFile, match=why):
        cyclonedx.transform(source(written(tmp_path, "b.json", json.dumps(doc))), OFFLINE)


# ------------------------------------------------------------------ KEV and EPSS


def test_kev_real_catalog_transform():
    doc = json.loads(kev_catalog().read_text())
    batch = kev.transform(source(kev_catalog()), OFFLINE)
    vulns = rows(batch, "Vulnerability")
    assert batch.rejected == [] and batch.records == len(doc["vulnerabilities"])
    assert len(vulns) == len({v["cveID"] for v in doc["vulnerabilities"]})
    assert all(r["props"]["is_kev"] is True for r in vulns.values())
    ransomware = {v["cveID"] for v in doc["vulnerabilities"] if v["knownRansomwareCampaignUse"] == "Known"}
    assert {k for k, r in vulns.items() if r["props"]["kev_ransomware"]} == ransomware
    entry = doc["vulnerabilities"][0]
    props = vulns[entry["cveID"]]["props"]
    assert (props["kev_date_added"], props["kev_due_date"], props["kev_vendor"], props["kev_product"],
            props["kev_name"], props["kev_required_action"]) == \
        (entry["dateAdded"], entry["dueDate"], entry["vendorProject"], entry["product"],
         entry["vulnerabilityName"], entry["requiredAction"])


def test_kev_bad_entries_are_rejected(tmp_path):
    doc = json.loads(kev_catalog().read_text())
    doc["vulnerabilities"] = doc["vulnerabilities"][:4]
    doc["vulnerabilities"][1]["cveID"] = "CVE-21-1"
    doc["vulnerabilities"][2]["dateAdded"] = "25/08/2025"
    batch = kev.transform(source(written(tmp_path, "kev.json", json.dumps(doc))), OFFLINE)
    assert {r.record for r in batch.rejected} == {"vulnerabilities[1]", "vulnerabilities[2]"}
    assert len(rows(batch, "Vulnerability")) == 2


def test_epss_rows_and_rejects(tmp_path):
    text = EPSS.read_text() + "CVE-2024-0001,1.7,0.5\nnot-a-cve,0.1,0.1\nCVE-2024-0002,0.1\n"
    batch = epss.transform(source(written(tmp_path, "e.csv", text)), OFFLINE)
    assert [(r.record) for r in batch.rejected] == ["line 9", "line 10", "line 11"]
    cat = rows(batch, "EpssCatalog")["EPSS:CATALOG"]["props"]
    assert cat["score_date"] == "2025-08-25T12:55:00Z" and cat["model_version"] == "v2025.03.14"
    scores = dict(zip(cat["cves"], cat["scores"], strict=True))
    assert scores["CVE-2021-44228"] == 0.94358 and cat["count"] == 6
    with pytest.raises(BadFile, match="header"):
        epss.transform(source(written(tmp_path, "n.csv", "#model_version:v1\nfoo,bar\n")), OFFLINE)


# ------------------------------------------------------------------ into the twin


def _vuln(twin, key):
    recs = twin.run("MATCH (v:Vulnerability {key: $k}) RETURN properties(v) AS p", k=key)
    return recs[0]["p"] if recs else None


def _semantic(props: dict) -> dict:
    return {k: v for k, v in props.items() if k not in {"source", "sources", "lastseen", "firstseen"}}


def test_kev_catalog_flags_trivy_findings_whatever_the_order(twin):
    catalog = json.loads(kev_catalog().read_text())
    outcomes = []
    for order in ([kev_catalog(), TRIVY_WEB], [TRIVY_WEB, kev_catalog()]):
        reset_twin(twin.driver, twin.database)
        for path in order:  # separate runs: order cannot be fixed by the connectors' `order`
            assert load(twin, path).rejected == []
        assert twin.value("MATCH (v:Vulnerability) WHERE v.is_kev RETURN count(v)") == catalog["count"]
        log4shell = _vuln(twin, "CVE-2021-44228")
        assert log4shell["is_kev"] is True and log4shell["kev_ransomware"] is True
        assert log4shell["title"].startswith("log4j-core: Remote code execution")  # Trivy's, not KEV's name
        assert _vuln(twin, "CVE-2023-5678")["is_kev"] is False  # found by Trivy, not in KEV
        kev_only = _vuln(twin, "CVE-2014-0160")
        assert kev_only["title"] == kev_only["kev_name"] and kev_only["description"]
        outcomes.append({k: _semantic(_vuln(twin, k)) for k in ("CVE-2021-44228", "CVE-2023-4863", "CVE-2023-5678")})
    assert outcomes[0] == outcomes[1]


def test_epss_reaches_vulnerabilities_that_arrive_later(twin):
    load(twin, EPSS)
    load(twin, TRIVY_WEB)
    assert _vuln(twin, "CVE-2023-4863")["epss_score"] == 0.73206
    assert _vuln(twin, "CVE-2023-4863")["epss_percentile"] == 0.98743
    assert "epss_score" not in _vuln(twin, "GHSA-952p-6rrq-rcjv")
    later = _semantic(_vuln(twin, "CVE-2023-4863"))
    reset_twin(twin.driver, twin.database)
    load(twin, TRIVY_WEB)
    load(twin, EPSS)
    assert _semantic(_vuln(twin, "CVE-2023-4863")) == later
    assert twin.value("MATCH (c:EpssCatalog) RETURN count(c)") == 1


def test_an_older_epss_file_is_refused(twin, tmp_path):
    load(twin, EPSS)
    old = written(tmp_path, "old.csv", "#model_version:v2023.03.01,score_date:2024-01-01T00:00:00+0000\n"
                                       "cve,epss,percentile\nCVE-2021-44228,0.5,0.5\n")
    report = load(twin, old)
    assert [r.record for r in report.rejected] == ["-"] and "older" in report.rejected[0].error
    assert twin.value("MATCH (e:EpssCatalog) RETURN e.score_date") == "2025-08-25T12:55:00Z"


def _ad_computer(twin, key="WS01.CORP.LOCAL", short="WS01"):
    writer = TwinWriter(twin.driver, "sharphound", database=twin.database, now=NOW - 86400)
    writer.nodes(NodeSchema("Computer", ("Base",)), [{"key": key, "props": {
        "name": key, "shortname": short, "objectid": "S-1-5-21-3623811015-3361044348-30300820-1104",
        "domain": "CORP.LOCAL", "operatingsystem": "Windows 10 Enterprise", "enabled": True}}])


def test_one_host_seen_by_ad_nmap_trivy_and_an_sbom_is_one_node(twin):
    _ad_computer(twin)
    report = load(twin, NMAP, TRIVY_WS01, SBOM_AGENT)
    assert report.rejected == []
    ws01 = twin.run("MATCH (c:Computer) WHERE c.shortname = 'WS01' OR c.key CONTAINS '10.20.1.7' "
                    "OR '10.20.1.7' IN coalesce(c.ips, []) RETURN c.key AS k, properties(c) AS p")
    assert [r["k"] for r in ws01] == ["WS01.CORP.LOCAL"]
    props = ws01[0]["p"]
    assert props["ip"] == "10.20.1.7" and props["ips"] == ["10.20.1.7"]
    assert props["operatingsystem"] == "Windows 10 Enterprise"  # AD's, not Nmap's guess
    assert props["nmap_os"] == "Microsoft Windows 10 1709 - 21H2"
    assert set(props["sources"]) == {"sharphound", "nmap", "trivy"}  # the SBOM only points at it
    out = {(r["t"], r["d"]) for r in twin.run(
        "MATCH (:Computer {key: 'WS01.CORP.LOCAL'})-[r]->(d) RETURN type(r) AS t, d.key AS d")}
    assert out == {("HasIP", "IP:10.20.1.7"), ("HasService", "WS01.CORP.LOCAL:135/TCP"),
                   ("HasService", "WS01.CORP.LOCAL:445/TCP"), ("HasService", "WS01.CORP.LOCAL:3389/TCP"),
                   ("HasInstalled", "pkg:pypi/urllib3@2.0.7")}
    assert twin.value("MATCH (a:Application {key: 'pkg:pypi/hr-agent@1.2.0'})-[:HostedOn]->(c) RETURN c.key") == \
        "WS01.CORP.LOCAL"
    # and the application's urllib3 is the host's vulnerable urllib3
    assert twin.value(
        "MATCH (:Application {key: 'pkg:pypi/hr-agent@1.2.0'})-[:HasInstalled]->(p)<-[:HasInstalled]-"
        "(:Computer {key: 'WS01.CORP.LOCAL'}) MATCH (p)-[:HasVulnerability]->(v) RETURN v.key") == "CVE-2024-37891"


def _ip_state(twin):
    return {r["k"]: (r["ip"], sorted(r["ips"] or [])) for r in twin.run(
        "MATCH (c:Computer) WHERE c.key IN ['WS01.CORP.LOCAL', 'WS02.CORP.LOCAL'] "
        "RETURN c.key AS k, c.ip AS ip, c.ips AS ips")}


def test_an_ip_moves_to_the_host_a_later_scan_finds_it_on_in_either_order(twin):
    _ad_computer(twin)
    load(twin, NMAP)
    load(twin, NMAP_LATER)
    forward = _ip_state(twin)
    assert forward == {"WS01.CORP.LOCAL": (None, ["10.20.1.7"]), "WS02.CORP.LOCAL": ("10.20.1.7", ["10.20.1.7"])}
    reset_twin(twin.driver, twin.database)
    _ad_computer(twin)
    load(twin, NMAP_LATER)
    load(twin, NMAP)
    assert _ip_state(twin) == forward
    leases = {(r["h"], r["f"], r["l"]) for r in twin.run(
        "MATCH (h)-[l:HasIP]->(:IP {key: 'IP:10.20.1.7'}) RETURN h.key AS h, l.firstseen AS f, l.lastseen AS l")}
    assert leases == {("WS01.CORP.LOCAL", 1756113124, 1756113124), ("WS02.CORP.LOCAL", 1756713601, 1756713601)}


def _web_services(twin):
    return {r["k"] for r in twin.run(
        "MATCH (:Computer {key: 'WEB01.CORP.LOCAL'})-[:HasService]->(s) RETURN s.key AS k")}


def test_a_port_closed_at_a_later_scan_loses_its_service_edge(twin):
    load(twin, NMAP)
    assert _web_services(twin) == {"WEB01.CORP.LOCAL:22/TCP", "WEB01.CORP.LOCAL:80/TCP", "WEB01.CORP.LOCAL:443/TCP"}
    load(twin, NMAP_LATER)
    assert _web_services(twin) == {"WEB01.CORP.LOCAL:80/TCP", "WEB01.CORP.LOCAL:443/TCP"}
    ssh = twin.run("MATCH (s:Service {key: 'WEB01.CORP.LOCAL:22/TCP'}) RETURN s.state AS st, s.state_time AS t")[0]
    assert (ssh["st"], ssh["t"]) == ("closed", 1756713601)
    assert twin.value("MATCH (s:Service {key: 'WEB01.CORP.LOCAL:443/TCP'}) RETURN s.version") == "1.24.0"
    load(twin, NMAP)  # the older scan again changes nothing
    assert _web_services(twin) == {"WEB01.CORP.LOCAL:80/TCP", "WEB01.CORP.LOCAL:443/TCP"}
    assert twin.value("MATCH (s:Service {key: 'WEB01.CORP.LOCAL:443/TCP'}) RETURN s.version") == "1.24.0"
    reset_twin(twin.driver, twin.database)
    load(twin, NMAP, NMAP_LATER)  # one run: both scans, same outcome
    assert _web_services(twin) == {"WEB01.CORP.LOCAL:80/TCP", "WEB01.CORP.LOCAL:443/TCP"}


def _web_packages(twin):
    return {r["k"] for r in twin.run(
        "MATCH (:Computer {key: 'WEB01.CORP.LOCAL'})-[:HasInstalled]->(p) RETURN p.key AS k")}


def test_a_rescan_after_patching_drops_the_old_packages_in_either_order(twin):
    patched = {"pkg:deb/debian/libssl3@3.0.11-1~deb12u2", "pkg:deb/debian/bash@5.2.15-2+b2",
               "pkg:npm/micromatch@4.0.5", "pkg:npm/%40babel/traverse@7.22.5"}
    load(twin, TRIVY_WEB)
    assert "pkg:deb/debian/libwebp7@1.2.4-0.2+deb12u1" in _web_packages(twin)
    load(twin, TRIVY_WEB_PATCHED)
    assert _web_packages(twin) == patched
    load(twin, TRIVY_WEB)
    assert _web_packages(twin) == patched
    reset_twin(twin.driver, twin.database)
    load(twin, TRIVY_WEB_PATCHED)
    load(twin, TRIVY_WEB)
    assert _web_packages(twin) == patched


def test_a_newer_sbom_of_the_same_application_replaces_its_components(twin, tmp_path):
    load(twin, SBOM_PORTAL)
    doc = json.loads(SBOM_PORTAL.read_text())
    doc["metadata"]["timestamp"] = "2025-08-30T10:00:00Z"
    doc["components"] = [c for c in doc["components"] if c["name"] != "spring-webmvc"]
    doc["dependencies"] = [d for d in doc["dependencies"] if "spring" not in d["ref"]]
    doc["dependencies"][0]["dependsOn"] = [r for r in doc["dependencies"][0]["dependsOn"] if "spring" not in r]
    load(twin, written(tmp_path, "portal-new.cdx.json", json.dumps(doc)))
    load(twin, SBOM_PORTAL)  # the old one again, late
    names = {r["n"] for r in twin.run(
        "MATCH (:Application {key: 'pkg:maven/com.acme/portal@3.4.2'})-[:HasInstalled|DependsOn]->(p) "
        "RETURN p.name AS n")}
    assert names == {"log4j-core", "log4j-api", "jackson-databind", "jackson-core"}


def test_reingesting_the_same_files_changes_nothing_but_lastseen(twin):
    files = [NMAP, TRIVY_WEB, TRIVY_IMAGE, SBOM_PORTAL, EPSS, kev_catalog()]
    load(twin, *files)
    before = twin.snapshot()
    report = load(twin, *files, now=NOW + 3600)
    assert report.stats.nodes_created == 0 and report.stats.relationships_created == 0
    assert twin.snapshot() == before


# ------------------------------------------------------------------ malformed input

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**20) | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=6,
)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*prefix, i))


@st.composite
def mutated(draw, doc):
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(list(_paths(doc))))
        value = draw(json_values)
        if not path:
            doc = value
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    return doc


def _small_kev() -> dict:
    doc = json.loads(kev_catalog().read_text())
    return {**doc, "vulnerabilities": doc["vulnerabilities"][:3], "count": 3}


def check_outcome(transform, name: str, data: bytes) -> Batch | None:
    """The only allowed outcomes: a Batch whose rejects name the file and a record,
    with writable rows; or BadFile with a reason."""
    try:
        batch = transform(Source(name=name, data=data), OFFLINE)
    except BadFile as exc:
        assert str(exc).strip()
        return None
    for r in batch.rejected:
        assert r.file == name and r.record and r.error
    for _, rs in batch.nodes:
        assert all(isinstance(r["key"], str) and r["key"] for r in rs)
    for _, rs in batch.rels:
        assert all(isinstance(r["src"], str) and isinstance(r["dst"], str) for r in rs)
    return batch


FUZZ = settings(max_examples=120, deadline=None)


@FUZZ
@given(st.data())
def test_fuzz_trivy(data):
    doc = data.draw(mutated(json.loads(TRIVY_WEB.read_text())))
    check_outcome(trivy.transform, "fuzz.json", json.dumps(doc).encode())


@FUZZ
@given(st.data())
def test_fuzz_cyclonedx(data):
    doc = data.draw(mutated(json.loads(SBOM_PORTAL.read_text())))
    check_outcome(cyclonedx.transform, "fuzz.cdx.json", json.dumps(doc).encode())


@FUZZ
@given(st.data())
def test_fuzz_kev(data):
    doc = data.draw(mutated(_small_kev()))
    check_outcome(kev.transform, "fuzz-kev.json", json.dumps(doc).encode())


NMAP_ATTRS = ["addr", "addrtype", "portid", "protocol", "state", "name", "type", "starttime", "start",
              "services", "product", "accuracy", "proto"]


@FUZZ
@given(st.data())
def test_fuzz_nmap(data):
    root = ET.fromstring(NMAP.read_bytes())
    elements = list(root.iter())
    for _ in range(data.draw(st.integers(1, 5))):
        el = data.draw(st.sampled_from(elements))
        action = data.draw(st.sampled_from(["attr", "drop", "text"]))
        if action == "attr":
            el.set(data.draw(st.sampled_from(NMAP_ATTRS)), data.draw(st.text(max_size=20)))
        elif action == "drop" and len(el):
            el.remove(data.draw(st.sampled_from(list(el))))
        else:
            el.text = data.draw(st.text(max_size=20))
    check_outcome(nmap.transform, "fuzz.xml", ET.tostring(root))


@FUZZ
@given(st.lists(st.one_of(
    st.text(max_size=40),
    st.tuples(st.from_regex(r"CVE-\d{4}-\d{4,6}", fullmatch=True), st.floats(), st.floats()).map(
        lambda t: f"{t[0]},{t[1]},{t[2]}"),
), max_size=20), st.booleans())
def test_fuzz_epss(lines, with_header):
    text = ("#model_version:v2025.03.14,score_date:2025-08-25T00:00:00Z\ncve,epss,percentile\n" if with_header else "")
    batch = check_outcome(epss.transform, "fuzz.csv", (text + "\n".join(lines)).encode())
    if batch is not None:
        cat = rows(batch, "EpssCatalog")["EPSS:CATALOG"]["props"]
        assert all(0 <= s <= 1 for s in cat["scores"] + cat["percentiles"])


@FUZZ
@given(st.sampled_from([TRIVY_WEB, SBOM_PORTAL, NMAP, EPSS]), st.binary(max_size=64), st.integers(0, 10**6))
def test_fuzz_raw_bytes(path, junk, at):
    raw = path.read_bytes()
    at %= len(raw)
    transform = {TRIVY_WEB: trivy.transform, SBOM_PORTAL: cyclonedx.transform,
                 NMAP: nmap.transform, EPSS: epss.transform}[path]
    check_outcome(transform, path.name, raw[:at] + junk + raw[at + len(junk):])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from([("trivy", TRIVY_WEB), ("cyclonedx", SBOM_PORTAL), ("nmap", NMAP_LATER),
                        ("kev", None)]), st.floats(0.05, 0.95))
def test_a_rejected_file_leaves_the_twin_unchanged(tmp_path_factory, twin_loaded, case, cut):
    fmt, path = case
    raw = (path or kev_catalog()).read_bytes()
    bad = tmp_path_factory.mktemp("bad") / f"truncated.{fmt}"
    bad.write_bytes(raw[: int(len(raw) * cut)])
    before = twin_loaded.snapshot()
    report = ingest(twin_loaded.driver, [bad], database=twin_loaded.database, forced_format=fmt, now=NOW + 10)
    assert [r.file for r in report.rejected] == [str(bad)] and report.files == 0
    assert twin_loaded.snapshot() == before


def _fuzz_case(draw_from, fmt: str) -> bytes:
    if fmt == "nmap":
        root = ET.fromstring(NMAP_LATER.read_bytes())
        elements = list(root.iter())
        for _ in range(draw_from(st.integers(1, 4))):
            el = draw_from(st.sampled_from(elements))
            el.set(draw_from(st.sampled_from(NMAP_ATTRS)), draw_from(st.text(max_size=30)))
        return ET.tostring(root)
    base = {"trivy": TRIVY_WS01, "cyclonedx": SBOM_AGENT, "kev": None}[fmt]
    doc = json.loads(base.read_text()) if base else _small_kev()
    return json.dumps(draw_from(mutated(doc))).encode()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_malformed_files_never_crash_an_ingest(tmp_path_factory, twin_loaded, data):
    """Through the whole path (twin look-ups, loader, derivations): a mutated file is
    loaded with its rejects, or refused whole and the twin stays as it was."""
    fmt = data.draw(st.sampled_from(["nmap", "trivy", "cyclonedx", "kev"]))
    path = tmp_path_factory.mktemp("fuzz") / f"mutated.{fmt}"
    path.write_bytes(_fuzz_case(data.draw, fmt))
    before = twin_loaded.snapshot()
    report = ingest(twin_loaded.driver, [path], database=twin_loaded.database, forced_format=fmt, now=NOW + 20)
    assert all(r.file == str(path) and r.record and r.error for r in report.rejected)
    if report.files == 0:
        assert twin_loaded.snapshot() == before


@pytest.fixture
def twin_loaded(twin):
    _ad_computer(twin)
    load(twin, NMAP, TRIVY_WEB, SBOM_PORTAL, EPSS)
    return twin


def test_fixtures_are_found_by_the_folder_walk():
    names = {Path(s.name).name for s in iter_sources([DATA / "nmap", DATA / "trivy", DATA / "cyclonedx", DATA / "epss"])}
    assert {NMAP.name, TRIVY_WEB.name, SBOM_AGENT.name, EPSS.name} <= names
