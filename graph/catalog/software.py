"""Software and its vulnerabilities: packages, applications, scanned artifacts, CVEs."""

from __future__ import annotations

from graph.catalog.common import DESCRIPTION, NAME, SBOM, SEVERITY, TITLE, TRIVY_TARGET, VERSION
from graph.catalog.core import Index, NodeKind, Prop, RelKind

GROUP = "Software and vulnerabilities"

_PURL = (
    Prop("name", "str", "package name (from the purl)", Index("package_name", "Package")),
    VERSION,
    Prop("purl", "str", "the package URL (= the key)"),
    Prop("purl_type", "str", "purl type (`deb`, `npm`, `maven`, ...)"),
    Prop("ecosystem", "str", "= purl_type"),
    Prop("namespace", "str", "purl namespace"),
    Prop("cpe", "list[str]", "CPE the SBOM gives"),
)
_CVSS = (
    Prop("base_score", "float", "CVSS base score"),
    Prop("base_severity", "str", "CVSS severity (`CRITICAL` ... `NONE`)"),
    Prop("vector_string", "str", "the CVSS vector"),
    Prop("cvss_version", "str", "2.0, 3.0, 3.1 or 4.0"),
    Prop("cvss_source", "str", "who scored it (nvd, ghsa, redhat, ...)"),
    Prop("attack_vector", "str", "NETWORK, ADJACENT, LOCAL, PHYSICAL: only NETWORK feeds CanExploit"),
    Prop("attack_complexity", "str", "LOW / HIGH"),
    Prop("privileges_required", "str", "NONE / LOW / HIGH"),
    Prop("user_interaction", "str", "NONE / REQUIRED / PASSIVE / ACTIVE"),
    Prop("scope", "str", "UNCHANGED / CHANGED"),
    Prop("confidentiality_impact", "str", "NONE / LOW / HIGH"),
    Prop("integrity_impact", "str", "NONE / LOW / HIGH"),
    Prop("availability_impact", "str", "NONE / LOW / HIGH"),
)
_KEV = (
    Prop("is_kev", "bool", "in CISA's Known Exploited Vulnerabilities (false when no KEV said so)",
         Index("vuln_kev", "Vulnerability")),
    Prop("kev_date_added", "str", "when CISA added it"),
    Prop("kev_due_date", "str", "CISA's remediation due date"),
    Prop("kev_ransomware", "bool", "known ransomware use"),
    Prop("kev_ransomware_use", "str", "CISA's knownRansomwareCampaignUse"),
    Prop("kev_vendor", "str", "vendorProject"),
    Prop("kev_product", "str", "product"),
    Prop("kev_name", "str", "vulnerabilityName"),
    Prop("kev_required_action", "str", "requiredAction"),
    Prop("kev_short_description", "str", "shortDescription"),
    Prop("kev_notes", "str", "notes"),
    Prop("kev_cwes", "list[str]", "CWE ids CISA lists"),
    Prop("kev_catalog_version", "str", "catalogVersion of the file"),
)
_EPSS = (
    Prop("epss_score", "float", "EPSS probability of exploitation"),
    Prop("epss_percentile", "float", "its percentile"),
    Prop("epss_date", "str", "score_date of the EPSS scores applied (also set when none matched)"),
    Prop("epss_model_version", "str", "EPSS model version"),
)

NODES = (
    NodeKind("Package", GROUP, "a software package", "purl without qualifiers or subpath", _PURL),
    NodeKind("Application", GROUP, "an SBOM's own component (always also a Package)",
             "the purl of metadata.component, else `app:NAME@VERSION`", (
                 NAME, DESCRIPTION,
                 Prop("group", "str", "CycloneDX group"),
                 Prop("component_type", "str", "CycloneDX type (`application`, `container`, ...)"),
                 *SBOM,
             ), subkind_of="Package"),
    NodeKind("Artifact", GROUP, "what a Trivy report scanned when it is not a known host (an image)",
             "Trivy's ArtifactName", (
                 NAME,
                 Prop("artifact_type", "str", "Trivy's ArtifactType"),
                 Prop("image_id", "str", "image id"),
                 Prop("repo_tags", "list[str]", "image tags"),
                 Prop("repo_digests", "list[str]", "image digests"),
                 *TRIVY_TARGET, *SBOM,
             )),
    NodeKind("Vulnerability", GROUP, "an advisory", "CVE id, else GHSA id, else the advisory id", (
        TITLE, DESCRIPTION, *_CVSS, *_KEV, *_EPSS,
        Prop("aliases", "list[str]", "its other ids (GHSA, vendor ids)"),
        Prop("published_date", "str", "published"),
        Prop("last_modified_date", "str", "last modified"),
        Prop("primary_url", "str", "the advisory's main page"),
        Prop("references", "list[str]", "reference URLs"),
        Prop("cwe_ids", "list[str]", "CWE ids"),
    )),
    NodeKind("EpssCatalog", GROUP, "the last EPSS file, so vulnerabilities loaded later get their scores "
             "(tools never show it)", "`EPSS:CATALOG`", (
                 NAME,
                 Prop("model_version", "str", "EPSS model version"),
                 Prop("score_date", "str", "the scores' date"),
                 Prop("count", "int", "how many CVEs it scores"),
                 Prop("cves", "list[str]", "the CVEs, sorted"),
                 Prop("scores", "list[float]", "their scores, parallel to cves"),
                 Prop("percentiles", "list[float]", "their percentiles, parallel to cves"),
             )),
)

_CONSTRAINT = Prop("version_constraint", "str", "the version range the dependent declared")

RELS = (
    RelKind("HasInstalled", GROUP, ("Computer", "Application", "Artifact"), ("Package",),
            "the package is installed on the host or bundled in the application", "trivy, cyclonedx", (
                Prop("scope", "str", "Trivy: `os-pkgs` or `class:target`; CycloneDX: required/optional/excluded"),
                Prop("targets", "list[str]", "Trivy targets (lock files, OS) that list it"),
                _CONSTRAINT,
            )),
    RelKind("DependsOn", GROUP, ("Application", "Package"), ("Package",), "a dependency (SBOM / Trivy graph)",
            "trivy, cyclonedx", (_CONSTRAINT,)),
    RelKind("HasVulnerability", GROUP, ("Package",), ("Vulnerability",), "a finding on the package",
            "trivy, cyclonedx", (
                SEVERITY,
                Prop("installed_version", "str", "the version found"),
                Prop("fixed_version", "str", "the version that fixes it (Trivy)"),
                Prop("status", "str", "Trivy's status (`fixed`, `affected`, `will_not_fix`, ...)"),
                Prop("severity_source", "str", "who rated the severity"),
                Prop("data_source", "str", "Trivy's vulnerability data source"),
                Prop("pkg_path", "str", "where the package was found"),
                Prop("vex_state", "str", "CycloneDX analysis state"),
            )),
)
