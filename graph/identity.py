"""Names of the same thing in different mouths: hosts and users as each source writes them.

AD says `WS01.CORP.LOCAL`, Nmap `ws01.corp.local` or `10.20.1.7`, Windows events
`WS01` or `CORP\\alice`, alerts `alice@corp.local`. These normalisers give the twin key
(contract section 2) or the look-up forms; resolution against the twin itself
(short names, IP at a time) lives in the toolbox and the connectors that need it.
"""

from __future__ import annotations

import ipaddress
import re

_SID = re.compile(r"^S-1-\d+(-\d+)+$", re.IGNORECASE)


def is_ip(text: str | None) -> bool:
    if not text:
        return False
    try:
        ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return False
    return True


def normalize_ip(text: str) -> str:
    addr = ipaddress.ip_address(text.strip().strip("[]"))
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return str(addr)


def ip_key(address: str) -> str:
    return f"IP:{normalize_ip(address)}"


def is_sid(text: str | None) -> bool:
    return bool(text) and bool(_SID.match(text.strip()))


def host_key(name_or_ip: str) -> str:
    """FQDN upper-case, else the IP; a trailing dot (DNS root) is dropped."""
    text = name_or_ip.strip().rstrip(".")
    if is_ip(text):
        return normalize_ip(text)
    return text.upper()


def short_hostname(name: str) -> str:
    return name.strip().rstrip(".").split(".", 1)[0].upper()


def split_user(name: str) -> tuple[str, str | None]:
    """`CORP\\alice` -> (ALICE, CORP); `alice@corp.local` -> (ALICE, CORP.LOCAL);
    `alice` -> (ALICE, None). A trailing `$` (machine account) is kept."""
    text = name.strip()
    if "\\" in text:
        dom, user = text.split("\\", 1)
        return user.upper(), (dom.upper() or None)
    if "@" in text:
        user, dom = text.rsplit("@", 1)
        return user.upper(), (dom.upper() or None)
    return text.upper(), None


def user_key(name: str, domain_fqdn: str | None) -> str | None:
    """The contract key `ALICE@CORP.LOCAL` when the domain's FQDN is known."""
    user, dom = split_user(name)
    if dom and "." in dom:
        return f"{user}@{dom}"
    if domain_fqdn:
        return f"{user}@{domain_fqdn.upper()}"
    return None
