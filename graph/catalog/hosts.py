"""Hosts, their addresses and services, the network they sit in and the traffic between them."""

from __future__ import annotations

from graph.catalog.ad import _AD_COMMON, AD_OPEN, COMPUTER_AD
from graph.catalog.common import (
    COUNT,
    DESCRIPTION,
    INGESTS,
    IP,
    IPS,
    NAME,
    PORT,
    PORTS,
    PROTOCOL,
    SBOM,
    TRIVY_TARGET,
    VERSION,
)
from graph.catalog.core import Index, NodeKind, Prop, RelKind

GROUP = "Hosts and network"


def _timed(group: str, what: str) -> Prop:
    return Prop(f"{group}_time", "int", f"time of the newest observation of {what} (an older file cannot set it back)")


def _capped(names: tuple[str, ...]) -> tuple[Prop, ...]:
    """`<name>_truncated` of a capped union list (graph.ingest._live.accumulate)."""
    return tuple(Prop(f"{n}_truncated", "bool", f"`{n}` reached its cap and dropped values") for n in names)


NODES = (
    NodeKind("Computer", GROUP, "a host: AD computer, or one Nmap, Trivy, Zeek, events or the inventory name",
             "AD: upper-case `Properties.name`; else FQDN upper-case, else the IP", (
                 *_AD_COMMON, *COMPUTER_AD, IP, IPS,
                 Prop("external", "bool", "a public address seen in traffic (keyed by its IP)"),
                 Prop("nmap_os", "str", "Nmap's best OS match"),
                 Prop("nmap_os_accuracy", "int", "its accuracy (%)"),
                 Prop("nmap_os_family", "str", "its OS family"),
                 Prop("nmap_os_cpe", "list[str]", "its CPEs"),
                 _timed("nmap_os", "the Nmap OS guess"),
                 Prop("nmap_os_filled", "str", "the value Nmap put in `operatingsystem` (replaced by a newer guess)"),
                 Prop("mac", "str", "MAC address (Nmap)"),
                 Prop("mac_vendor", "str", "vendor of the MAC"),
                 _timed("mac", "the MAC"),
                 Prop("hostnames", "list[str]", "names Nmap reported for it"),
                 _timed("hostnames", "the host names"),
                 *TRIVY_TARGET, *SBOM,
             ), open=AD_OPEN),
    NodeKind("Internet", GROUP, "everything outside the enterprise: where exposure paths start", "`INTERNET`",
             (NAME,)),
    NodeKind("Zone", GROUP, "a network zone of network.yaml", "its name", (
        NAME, DESCRIPTION,
        Prop("internet_facing", "bool", "INTERNET reaches it on `exposed_ports`"),
        Prop("exposed_ports", "list[str]", "ports open to the internet"),
        Prop("cidrs", "list[str]", "its address ranges"),
    )),
    NodeKind("Subnet", GROUP, "an address range of a zone", "its CIDR", (
        Prop("cidr", "str", "the range"),
        Prop("version", "int", "4 or 6"),
        Prop("zone", "str", "the zone it belongs to"),
    )),
    NodeKind("IP", GROUP, "an address hosts lease", "`IP:` + the address", (
        Prop("address", "str", "the address", Index("ip_address", "IP")),
        Prop("version", "int", "4 or 6"),
    )),
    NodeKind("Service", GROUP, "a listening service", "`HOST:PORT/PROTO`", (
        NAME, PORT, PROTOCOL, VERSION,
        Prop("state", "str", "`open`, `closed`, `filtered` at the latest scan (HasService means open)"),
        _timed("state", "the port state"),
        Prop("host", "str", "key of the host it runs on"),
        Prop("product", "str", "product Nmap identified"),
        Prop("extrainfo", "str", "Nmap's extra information"),
        Prop("tunnel", "str", "`ssl` when wrapped"),
        Prop("ostype", "str", "OS type the service reveals"),
        Prop("method", "str", "how Nmap identified it (`probed`, `table`)"),
        Prop("conf", "int", "Nmap's confidence (0-10)"),
        Prop("cpe", "list[str]", "CPEs of the service"),
    )),
    NodeKind("DataAsset", GROUP, "data the inventory names (a database, a share)", "inventory `name`", (NAME,)),
)

_CONN = ("ports",)
_HTTP = ("ports", "methods", "hosts", "uris", "user_agents", "status_codes", "mime_types")
_TLS = ("ports", "server_names", "versions", "ciphers", "ja3", "ja3s", "subjects", "issuers", "validation_status")
_SRC = ("Computer", "Internet")

RELS = (
    RelKind("InZone", GROUP, ("Computer", "Subnet"), ("Zone",), "a host (by its addresses) or subnet in a zone",
            "network"),
    RelKind("CanReach", GROUP, ("Zone", "Internet"), ("Zone", "Computer"),
            "the firewall lets traffic through on these ports (network.yaml; a host target is a port forward)",
            "network", (PORTS,)),
    RelKind("HasIP", GROUP, ("Computer",), ("IP",), "a lease: the host held the address from firstseen to lastseen",
            "nmap, zeek, winevents", (
                Prop("evidence", "list[str]", "how events showed it (`own_traffic`, `machine_logon`, "
                                              "`logon_workstation`)"),
            )),
    RelKind("HasService", GROUP, ("Computer",), ("Service",), "the service is open on the host (latest scan)", "nmap"),
    RelKind("HostedOn", GROUP, ("DataAsset", "Application", "Service"), ("Computer",),
            "what runs or lives on a host (inventory hosted_on, an SBOM's host)", "inventory, cyclonedx"),
    RelKind("ConnectedTo", GROUP, _SRC, ("Computer", "Internet"), "observed connections, summed per host pair",
            "zeek", (
                PORTS, COUNT, INGESTS, *_capped(_CONN),
                Prop("bytes", "int", "bytes both ways"),
                Prop("bytes_out", "int", "bytes the source sent"),
            )),
    RelKind("HttpTo", GROUP, _SRC, _SRC, "HTTP requests, aggregated per host pair (lists: distinct values, capped)",
            "zeek", (
                COUNT, INGESTS, *(Prop(n, "list[int]" if n == "status_codes" else "list[str]", f"distinct {n}")
                                  for n in _HTTP), *_capped(_HTTP),
            )),
    RelKind("TlsTo", GROUP, _SRC, _SRC, "TLS sessions, aggregated per host pair (lists: distinct values, capped)",
            "zeek", (
                COUNT, INGESTS, Prop("established", "int", "sessions that completed the handshake"),
                *(Prop(n, "list[str]", f"distinct {n}") for n in _TLS), *_capped(_TLS),
            )),
    RelKind("CanExploit", GROUP, ("Internet", "Zone", "Computer"), ("Computer",),
            "can send packets to a remotely exploitable service of the host", "graph/derive/exploit.py", (
                Prop("cve", "str", "the best vulnerability (KEV, then EPSS, then CVSS)"),
                Prop("is_kev", "bool", "it is in CISA KEV"),
                Prop("epss_score", "float", "its EPSS score"),
                Prop("base_score", "float", "its CVSS base score"),
                Prop("port", "str", "the service's port, `443/tcp`"),
                Prop("service", "str", "the service's key"),
                Prop("cves", "list[str]", "every exploitable vulnerability there, best first (at most 10)"),
                Prop("basis", "str", "`product` (the package is the service's) or `host` (on the host)"),
                Prop("via", "str", "`CanReach`, `intra-zone` or `ConnectedTo`"),
            )),
)
