"""Names of the same thing in different mouths: hosts and users as each source writes them.

AD says `WS01.CORP.LOCAL`, Nmap `ws01.corp.local` or `10.20.1.7`, Windows events
`WS01` or `CORP\\alice`, alerts `alice@corp.local`. These normalisers give the twin key
(contract section 2) or the look-up forms; resolution against the twin itself
(short names, IP at a time) lives in graph/resolve.py. Event log channels are spelled
as exporters please (`security`, `Security`): one canonical spelling keys the event.
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


# Channels as Windows names them. Channel names are case-insensitive in Windows, and
# exporters lower-case some of them (OTRF files hold both `security` and `Security`).
_CHANNELS = (
    "Security", "System", "Application", "Setup", "ForwardedEvents", "Windows PowerShell",
    "Directory Service", "DNS Server", "DFS Replication", "File Replication Service",
    "Key Management Service", "HardwareEvents", "Internet Explorer",
    "Microsoft-Windows-Sysmon/Operational",
    "Microsoft-Windows-PowerShell/Operational",
    "Microsoft-Windows-WMI-Activity/Operational",
    "Microsoft-Windows-TaskScheduler/Operational",
    "Microsoft-Windows-Windows Defender/Operational",
    "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",
    "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
    "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational",
    "Microsoft-Windows-TerminalServices-RDPClient/Operational",
    "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational",
    "Microsoft-Windows-WinRM/Operational",
    "Microsoft-Windows-Bits-Client/Operational",
    "Microsoft-Windows-DNS-Client/Operational",
    "Microsoft-Windows-DNSServer/Analytical",
    "Microsoft-Windows-Dhcp-Client/Operational",
    "Microsoft-Windows-Dhcp-Client/Admin",
    "Microsoft-Windows-SMBServer/Security",
    "Microsoft-Windows-SMBClient/Security",
    "Microsoft-Windows-NTLM/Operational",
    "Microsoft-Windows-CodeIntegrity/Operational",
    "Microsoft-Windows-AppLocker/EXE and DLL",
    "Microsoft-Windows-AppLocker/MSI and Script",
    "Microsoft-Windows-Kernel-IO/Operational",
    "Microsoft-Windows-Security-Mitigations/KernelMode",
    "Microsoft-Windows-Shell-Core/Operational",
    "Microsoft-Windows-GroupPolicy/Operational",
    "Microsoft-Windows-Windows Firewall With Advanced Security/ConnectionSecurity",
    "Microsoft-Windows-CAPI2/Operational",
    "Microsoft-Windows-LSA/Operational",
    "Microsoft-Windows-Kerberos/Operational",
)
_CHANNEL_BY_LOWER = {c.lower(): c for c in _CHANNELS}


def canonical_channel(name: str) -> str:
    """A channel's canonical spelling: Windows' own for the channels it ships (any case
    in, `Security` out); any other channel as written, except that a name written all
    in one case gets each word capitalised, so that `microsoft-windows-foo/operational`
    and `MICROSOFT-WINDOWS-FOO/OPERATIONAL` key the same event."""
    text = " ".join(name.split())
    known = _CHANNEL_BY_LOWER.get(text.lower())
    if known:
        return known
    if text.islower() or text.isupper():
        return re.sub(r"[A-Za-z]+", lambda m: m.group(0).capitalize(), text)
    return text
