"""Properties more than one kind holds, declared once (the look-ups that cross kinds are
indexed on the `Twin` label: one index serves a user, a host and a group alike)."""

from __future__ import annotations

from graph.catalog.core import Index, Prop

NAME = Prop("name", "str", "display name (AD: upper-case `Properties.name`; hosts: the key)", Index("twin_name"))
OBJECTID = Prop("objectid", "str", "SID or GUID, upper-case as BloodHound CE stores it", Index("twin_objectid"))
DOMAIN = Prop("domain", "str", "AD domain (FQDN, upper-case)", Index("twin_domain"))
SHORTNAME = Prop("shortname", "str", "first label of a host's name (`WS01`)", Index("twin_shortname"))
SAMACCOUNTNAME = Prop("samaccountname", "str", "pre-Windows 2000 logon name", Index("twin_samaccountname"))
IP = Prop("ip", "str", "current address (a host: its latest lease; an event: the remote address)",
          Index("twin_ip"))
IPS = Prop("ips", "list[str]", "every address the host held, latest first")
TIER0 = Prop("tier0", "bool", "tier 0 (BloodHound's highvalue): an attack-path goal", Index("twin_tier0"))
ALIASES = Prop("aliases", "list[str]", "lower-case name forms an alert may use (sam, UPN, sam@domain)")
DESCRIPTION = Prop("description", "str", "free text from the source")
VERSION = Prop("version", "str", "version as the source wrote it")
PORT = Prop("port", "int", "port number")
PROTOCOL = Prop("protocol", "str", "`tcp`, `udp` or `sctp`")
PORTS = Prop("ports", "list[str]", "ports as `N/proto` or ranges `N-M/proto`")
COUNT = Prop("count", "int", "how many observations the item sums")
TITLE = Prop("title", "str", "one-line title")
TIMESTAMP = Prop("timestamp", "int", "when it happened (epoch seconds)")
TIME = Prop("time", "str", "`timestamp` in ISO 8601 UTC")
SEVERITY = Prop("severity", "str", "severity as the source rates it")
HASHES = Prop("hashes", "list[str]", "file hashes (md5, sha1, sha256; lower-case)")
INGESTS = Prop("ingests", "list[str]", "digests of the files already counted into an aggregate (idempotent re-ingest)")
ISACL = Prop("isacl", "bool", "true when the edge comes from an ACE, false on the other AD edges (BloodHound CE)")

# Facts of a host observed at a time (graph.ingest._vulnshared.TimedFacts): `<group>_time`.
SBOM = (
    Prop("sbom_serial", "str", "serialNumber of the CycloneDX BOM that described it"),
    Prop("sbom_spec_version", "str", "CycloneDX specVersion of that BOM"),
    Prop("sbom_time", "int", "time of the newest BOM loaded for it (its facts stand until a newer one)"),
)
TRIVY_TARGET = (
    Prop("trivy_scopes", "list[str]", "package scopes Trivy reported for it (`os-pkgs`, `lang:target`)"),
    Prop("trivy_scope_times", "list[int]", "latest report time of each scope, parallel to trivy_scopes"),
    Prop("os_family", "str", "OS family Trivy detected"),
    Prop("os_name", "str", "OS version Trivy detected"),
    Prop("trivy_os_time", "int", "time of the report that gave os_family / os_name"),
)
