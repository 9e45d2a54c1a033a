"""Nmap XML (`nmap -sS -sV -O -oX`) of the scheduled scan, one file per zone and day.

The scan is the one the scanner host (JUMP01) runs every night between 02:00 and
05:00 UTC over the ports in `ops.SCAN_PORTS`; `scan_schedule` fixes when each host is
probed so the Zeek background (graph.generate.background) can log the very same
probes from the scanner's address. Every host appears with its FQDN as a PTR name and
its address: the leases the twin resolves Zeek and event IPs through. The XML follows
what Nmap 7.94 writes (DOCTYPE, xml-stylesheet, scaninfo, per-host status, addresses,
hostnames, extraports with extrareasons, ports with service/cpe, os, times, runstats),
streamed, so a 24,000-workstation zone does not sit in memory as a tree.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import quoteattr

from graph.generate.model import DAY, Host
from graph.generate.ops import SCAN_PORTS, OpsPlan, Svc

SCAN_START_H, SCAN_HOURS = 2, 3
ZONE_ORDER = ("dmz", "servers", "db", "mgmt", "corp")
_OS = {
    "Windows Server 2016": ("Microsoft Windows Server 2016", "2016", "cpe:/o:microsoft:windows_server_2016"),
    "Windows Server 2019": ("Microsoft Windows Server 2019", "2019", "cpe:/o:microsoft:windows_server_2019"),
    "Windows Server 2022": ("Microsoft Windows Server 2022", "2022", "cpe:/o:microsoft:windows_server_2022"),
    "Windows 10": ("Microsoft Windows 10 1709 - 21H2", "10", "cpe:/o:microsoft:windows_10"),
    "Windows 11": ("Microsoft Windows 11 21H2", "11", "cpe:/o:microsoft:windows_11"),
}
PORTS_SPEC = ",".join(str(p) for p in SCAN_PORTS)


def os_guess(h: Host) -> tuple[str, str, str]:
    for prefix, guess in _OS.items():
        if h.os.startswith(prefix):
            return guess
    return ("Microsoft Windows Server 2019", "2019", "cpe:/o:microsoft:windows_server_2019")


def scan_schedule(plan: OpsPlan, day: int) -> list[tuple[str, list[tuple[Host, float]]]]:
    """[(zone, [(host, probe start)])] for day `day` of the period, zones in scan order."""
    hosts = list(plan.ent.hosts)
    by_zone: dict[str, list[Host]] = {z: [] for z in ZONE_ORDER}
    for h in hosts:
        by_zone.setdefault(h.zone, []).append(h)
    t0 = plan.start + day * DAY + SCAN_START_H * 3600
    step = SCAN_HOURS * 3600 / max(1, len(hosts))
    r = random.Random(f"scan:{plan.ent.seed}:{day}")
    out, i = [], 0
    for zone, members in by_zone.items():
        members = sorted(members, key=lambda h: tuple(int(x) for x in h.ip.split(".")))
        slots = []
        for h in members:
            slots.append((h, round(t0 + i * step + r.uniform(0, step / 2), 3)))
            i += 1
        out.append((zone, slots))
    return out


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%a %b %d %H:%M:%S %Y")


def _port_xml(s: Svc) -> str:
    attrs = [f'name={quoteattr(s.name)}']
    if s.product:
        attrs.append(f"product={quoteattr(s.product)}")
    if s.version:
        attrs.append(f"version={quoteattr(s.version)}")
    if s.extrainfo:
        attrs.append(f"extrainfo={quoteattr(s.extrainfo)}")
    if s.tunnel:
        attrs.append(f"tunnel={quoteattr(s.tunnel)}")
    if s.product:
        attrs.append('ostype="Windows" method="probed" conf="10"')
    else:
        attrs.append('method="table" conf="3"')
    cpe = f"<cpe>{s.cpe}</cpe>" if s.cpe else ""
    return (f'<port protocol="{s.proto}" portid="{s.port}"><state state="open" reason="syn-ack" reason_ttl="127"/>'
            f"<service {' '.join(attrs)}>{cpe}</service></port>\n")


def host_xml(plan: OpsPlan, h: Host, start: float) -> str:
    svcs = [s for s in plan.host_services(h) if s.proto == "tcp" and s.port in SCAN_PORTS]
    open_ports = {s.port for s in svcs}
    rest = [p for p in SCAN_PORTS if p not in open_ports]
    # Workstations drop what they do not serve (Windows Firewall); servers answer with a reset.
    state, reason = ("filtered", "no-response") if h.role == "workstation" else ("closed", "reset")
    end = start + 1.5 + 0.4 * len(svcs)
    name, gen, cpe = os_guess(h)
    why = "localhost-response" if h is plan.scanner else "echo-reply"
    lines = [f'<host starttime="{int(start)}" endtime="{int(end)}"><status state="up" reason="{why}" reason_ttl="127"/>\n',
             f'<address addr="{h.ip}" addrtype="ipv4"/>\n',
             f'<hostnames>\n<hostname name="{h.fqdn.lower()}" type="PTR"/>\n</hostnames>\n<ports>']
    if rest:
        lines.append(f'<extraports state="{state}" count="{len(rest)}">\n'
                     f'<extrareasons reason="{reason}" count="{len(rest)}" proto="tcp" '
                     f'ports="{",".join(str(p) for p in rest)}"/>\n</extraports>\n')
    lines += [_port_xml(s) for s in svcs]
    lines.append("</ports>\n")
    used = svcs[0].port if svcs else 445
    lines.append(f'<os><portused state="open" proto="tcp" portid="{used}"/>\n'
                 f'<osmatch name={quoteattr(name)} accuracy="96" line="{70000 + int(gen) % 1000}">\n'
                 f'<osclass type="general purpose" vendor="Microsoft" osfamily="Windows" osgen={quoteattr(gen)} '
                 f'accuracy="96"><cpe>{cpe}</cpe></osclass>\n</osmatch>\n</os>\n')
    lines.append('<distance value="2"/>\n<times srtt="612" rttvar="193" to="100000"/>\n</host>\n')
    return "".join(lines)


def write_nmap(plan: OpsPlan, out_dir: Path) -> dict[str, int]:
    """One XML per zone and day under `out_dir`; returns {relative file: hosts}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for day in range(plan.days):
        date = datetime.fromtimestamp(plan.start + day * DAY, UTC).strftime("%Y%m%d")
        for zone, slots in scan_schedule(plan, day):
            if not slots:
                continue
            cidr = next(z.cidr for z in plan.ent.zones if z.name == zone)
            name = f"scan-{date}-{zone}.xml"
            first, last = slots[0][1], slots[-1][1] + 10
            args = f"nmap -sS -sV -O -T4 -p {PORTS_SPEC} -oX {name} {cidr}"
            with (out_dir / name).open("w", encoding="utf-8", newline="\n") as fh:
                fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n'
                         '<?xml-stylesheet href="file:///usr/bin/../share/nmap/nmap.xsl" type="text/xsl"?>\n'
                         f"<!-- Nmap 7.94SVN scan initiated {_stamp(first)} as: {args} -->\n"
                         f'<nmaprun scanner="nmap" args="{args}" start="{int(first)}" startstr="{_stamp(first)}" '
                         'version="7.94SVN" xmloutputversion="1.05">\n'
                         f'<scaninfo type="syn" protocol="tcp" numservices="{len(SCAN_PORTS)}" services="{PORTS_SPEC}"/>\n'
                         '<verbose level="0"/>\n<debugging level="0"/>\n')
                for h, start in slots:
                    fh.write(host_xml(plan, h, start))
                total = 2 ** (32 - int(cidr.split("/")[1]))
                fh.write(f'<runstats><finished time="{int(last)}" timestr="{_stamp(last)}" summary="Nmap done at '
                         f'{_stamp(last)}; {total} IP addresses ({len(slots)} hosts up) scanned in '
                         f'{last - first:.2f} seconds" elapsed="{last - first:.2f}" exit="success"/>'
                         f'<hosts up="{len(slots)}" down="{total - len(slots)}" total="{total}"/>\n</runstats>\n'
                         "</nmaprun>\n")
            counts[name] = len(slots)
    return counts
