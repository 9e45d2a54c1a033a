"""Addresses that name no host, whichever source writes them.

Loopback, multicast, unspecified and the limited broadcast are fixed (graph.resolve's
`classify_ip` says `ignore`). A subnet's own broadcast address depends on the subnet:
x.x.x.255 is a host in a /16 and the broadcast of a /24. The twin knows its subnets from
network.yaml (`Subnet` nodes keyed by CIDR), and a scanner knows the ranges it scanned, so
each source asks here with what it knows.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from graph.reader import TwinReader
from graph.resolve import classify_ip


def broadcasts(cidrs: Iterable[str]) -> frozenset[str]:
    """The broadcast address of each IPv4 network of 4 addresses or more among `cidrs`."""
    out = set()
    for cidr in cidrs:
        try:
            net = ipaddress.ip_network(str(cidr).strip(), strict=False)
        except ValueError:
            continue
        if net.version == 4 and net.prefixlen <= 30:
            out.add(str(net.broadcast_address))
    return frozenset(out)


def subnet_broadcasts(reader: TwinReader) -> frozenset[str]:
    """Broadcast addresses of the subnets the twin knows (one query)."""
    return broadcasts(reader.value("MATCH (s:Subnet) RETURN collect(s.key) AS keys") or [])


_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def not_a_host_name(name: str) -> str | None:
    """Why a name a tool gives for its target (an address or a host name) names no host of
    the twin: the machine the tool ran on (`localhost`), or an address of `not_a_host`."""
    text = name.strip().rstrip(".").strip("[]")
    if text.lower() in _LOCAL_NAMES:
        return f"{text} is the machine the tool ran on"
    return not_a_host(text)


def not_a_host(address: str, known_broadcasts: frozenset[str] = frozenset()) -> str | None:
    """Why `address` names no host (a phrase for a rejection message), or None."""
    info = classify_ip(address)
    if info is None:
        return None
    if info.kind == "ignore":
        addr = ipaddress.ip_address(info.address)
        what = ("loopback" if addr.is_loopback else "multicast" if addr.is_multicast
                else "unspecified" if addr.is_unspecified else "broadcast")
        return f"{info.address} is a {what} address"
    if info.address in known_broadcasts:
        return f"{info.address} is the broadcast address of a known subnet"
    return None
