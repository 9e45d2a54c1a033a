"""What the synthetic enterprise runs, decided once for every operational writer.

Nmap must report on a port the product whose packages Trivy finds on that host, the
SBOM of an application must list the same package URLs Trivy saw in its folder, the
inventory must place that application on that host, and the Zeek and Windows-event
background must come from the hosts that really play each part (the scanner, the
PAW, the backup server). So the decisions live here, in one `OpsPlan` drawn from its
own seeded RNG over the `Enterprise` - the AD model itself is not changed, and the
same seed gives the same plan.

Parts played by existing hosts (no host is added, so the AD collection is the same
with or without operational data):
- scanner: JUMP01, which the AD already names as the home of the scanner account
  (`svc-scan` has the SPN scan/jump01);
- PAW: the last jump host (JUMP02 in large estates; JUMP01 itself in small ones);
- backup server: the next-to-last application server (svc-backup is in Backup
  Operators and holds backup/<file server> SPNs);
- KEV exposure: WEB01, the customer portal the inventory already lists on 443, runs
  a Java application with Log4j 2.14.1 and Spring 5.3.15 behind an up-to-date Tomcat;
- internal KEV: one application server runs Confluence 8.3.2 (three KEV entries),
  reachable from the workstation zone on 8443.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from graph.generate.model import APPS, BASE_TIME, DAY, DEPARTMENTS, Enterprise, Host
from graph.generate.vulns import findings
from graph.ingest._vulnshared import purl_key

# Ports the scheduled scan probes (every port any host here listens on).
SCAN_PORTS = (22, 53, 80, 88, 135, 139, 389, 443, 445, 464, 593, 636, 1433, 3268, 3269, 3389, 5432, 5985,
              8080, 8443)
OPS_DIR = "ops"


@dataclass(frozen=True, slots=True)
class Svc:
    """A listening service as Nmap's -sV reports it."""

    port: int
    name: str
    product: str = ""
    version: str = ""
    extrainfo: str = ""
    tunnel: str = ""
    proto: str = "tcp"
    cpe: str = ""

    @property
    def zeek_service(self) -> str:
        return {"microsoft-ds": "smb", "netbios-ssn": "smb", "msrpc": "dce_rpc", "kerberos-sec": "krb_tcp",
                "domain": "dns", "ldap": "ldap", "ms-wbt-server": "rdp", "ms-sql-s": "-", "ssh": "ssh",
                "postgresql": "-", "http": "ssl" if self.tunnel else "http"}.get(self.name, "-")


@dataclass(frozen=True, slots=True)
class Lib:
    """A package: `ptype` maven / nuget, `namespace` the Maven group (empty for NuGet)."""

    ptype: str
    namespace: str
    name: str
    version: str
    requires: tuple[str, ...] = ()  # names of libraries of the same stack
    constraint: str | None = None  # the range the application declares, where it matters

    @property
    def purl(self) -> str:
        path = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return purl_key(f"pkg:{self.ptype}/{path}@{self.version}") or ""

    @property
    def path(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def trivy_name(self) -> str:
        return f"{self.namespace}:{self.name}" if self.ptype == "maven" else self.name

    def vulns(self):
        return findings(self.ptype, self.path, self.version)


@dataclass(slots=True)
class App:
    """An application the organisation builds or buys, with its SBOM's contents."""

    name: str
    version: str
    ptype: str  # maven, nuget
    namespace: str
    host: Host
    port: int
    libs: list[Lib]
    direct: tuple[str, ...]  # names of the libraries the application itself requires
    description: str
    owner: str
    criticality: str
    install_dir: str  # where on the host Trivy finds its files
    kind: str  # war, dotnet, vendor

    @property
    def lib(self) -> Lib:
        return Lib(self.ptype, self.namespace, self.name, self.version)

    @property
    def purl(self) -> str:
        return self.lib.purl


@dataclass(slots=True)
class TrivyTarget:
    """One Trivy result: packages found under one target (`Java`, a deps.json)."""

    target: str
    type: str  # jar, dotnet-core
    packages: list[tuple[Lib, str]]  # (library, file path)


@dataclass(slots=True)
class OpsPlan:
    ent: Enterprise
    start: int
    end: int
    days: int
    services: dict[str, list[Svc]]  # host fqdn -> what it listens on
    trivy: dict[str, list[TrivyTarget]]  # host fqdn -> scanner results (servers only)
    apps: list[App]
    scanner: Host
    paw: Host
    backup: Host
    kev_host: Host
    wiki: Host
    shares: dict[str, list[tuple[str, str]]]  # file server fqdn -> [(share, local path)]
    dcs: list[Host]
    extra: dict = field(default_factory=dict)

    def host_services(self, h: Host) -> list[Svc]:
        return self.services[h.fqdn]

    def kev_facts(self) -> dict:
        app = next(a for a in self.apps if a.host is self.kev_host)
        cves = sorted({v.cve for lib in app.libs for v, _ in lib.vulns() if v.kev})
        return {"host": self.kev_host.fqdn, "ip": self.kev_host.ip, "zone": self.kev_host.zone,
                "service": f"{self.kev_host.fqdn}:443/TCP", "port": "443/tcp", "application": app.purl,
                "kev_cves": cves,
                "packages": sorted({lib.purl for lib in app.libs if any(v.kev for v, _ in lib.vulns())})}


def ops_end(seed: int) -> int:
    """The end of the operational period: midnight UTC one to four weeks after the AD
    snapshot (BASE_TIME), moved forward so the last day is a weekday."""
    end = BASE_TIME + (7 + seed % 21) * DAY
    while datetime.fromtimestamp(end - DAY, UTC).weekday() >= 5:
        end += DAY
    return end


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -------------------------------------------------------------------- software stacks

def _maven(group: str, name: str, version: str, requires: tuple[str, ...] = (), constraint: str | None = None) -> Lib:
    return Lib("maven", group, name, version, requires, constraint)


def spring_stack(spring: str, log4j: str, jackson: str, text: str, yaml: str, jdbc: Lib) -> tuple[list[Lib], tuple]:
    """A Spring MVC web application's libraries and which of them it requires directly.
    The constraints are the ones its build pins: Spring 5.x only, the jackson line it
    was tested on, Log4j 2."""
    s = "org.springframework"
    jline = ".".join(jackson.split(".")[:2])
    libs = [
        _maven(s, "spring-webmvc", spring, ("spring-web", "spring-context", "spring-beans", "spring-core",
                                             "spring-expression"), "[5.3,6.0)"),
        _maven(s, "spring-web", spring, ("spring-beans", "spring-core"), "[5.3,6.0)"),
        _maven(s, "spring-context", spring, ("spring-beans", "spring-core", "spring-expression")),
        _maven(s, "spring-beans", spring, ("spring-core",)),
        _maven(s, "spring-expression", spring, ("spring-core",)),
        _maven(s, "spring-core", spring, ("spring-jcl",)),
        _maven(s, "spring-jcl", spring),
        _maven("org.apache.logging.log4j", "log4j-core", log4j, ("log4j-api",), "[2.14,3.0)"),
        _maven("org.apache.logging.log4j", "log4j-api", log4j),
        _maven("com.fasterxml.jackson.core", "jackson-databind", jackson, ("jackson-core", "jackson-annotations"),
               f"[{jline},{jline.split('.')[0]}.{int(jline.split('.')[1]) + 1})"),
        _maven("com.fasterxml.jackson.core", "jackson-core", jackson),
        _maven("com.fasterxml.jackson.core", "jackson-annotations", ".".join(jackson.split(".")[:3])),
        _maven("org.apache.commons", "commons-text", text, ("commons-lang3",)),
        _maven("org.apache.commons", "commons-lang3", "3.12.0"),
        _maven("org.yaml", "snakeyaml", yaml),
        jdbc,
    ]
    direct = ("spring-webmvc", "log4j-core", "jackson-databind", "commons-text", "snakeyaml", jdbc.name)
    return libs, direct


MSSQL_JDBC = _maven("com.microsoft.sqlserver", "mssql-jdbc", "9.4.1.jre11")
JAVA_STACKS = {
    # name: (spring, log4j, jackson, commons-text, snakeyaml, jdbc, tomcat)
    "portal": ("5.3.15", "2.14.1", "2.12.3", "1.9", "1.29", MSSQL_JDBC, "9.0.98"),
    "old": ("5.3.20", "2.17.1", "2.13.2", "1.9", "1.33", _maven("org.postgresql", "postgresql", "42.2.18"), "9.0.50"),
    "mid": ("5.3.31", "2.20.0", "2.13.4.2", "1.10.0", "2.0", _maven("org.postgresql", "postgresql", "42.7.3"), "9.0.83"),
    "new": ("5.3.39", "2.24.2", "2.18.2", "1.12.0", "2.3", _maven("org.postgresql", "postgresql", "42.7.4"), "9.0.98"),
}
DOTNET_STACKS = {
    "old": (("Newtonsoft.Json", "12.0.3"), ("System.Text.Encodings.Web", "4.5.0"), ("System.Data.SqlClient", "4.8.5"),
            ("Serilog", "2.10.0"), ("Dapper", "2.0.123")),
    "new": (("Newtonsoft.Json", "13.0.3"), ("System.Text.Encodings.Web", "8.0.0"), ("System.Data.SqlClient", "4.8.6"),
            ("Serilog", "3.1.1"), ("Dapper", "2.1.35")),
}
TOMCAT_DIR = "Program Files/Apache Software Foundation/Tomcat 9.0"
WEB_APPS = ("partner-portal", "careers", "support-site", "status-page", "docs-site", "webshop", "events",
            "press-room", "investor-site", "download-center")


def tomcat_libs(version: str) -> list[Lib]:
    return [_maven("org.apache.tomcat", "tomcat-catalina", version, ("tomcat-coyote",)),
            _maven("org.apache.tomcat", "tomcat-coyote", version)]


def tomcat_jar(lib: Lib) -> str:
    """Tomcat's own file names for its libraries."""
    return "catalina.jar" if lib.name == "tomcat-catalina" else f"{lib.name}.jar"


def _windows_services(h: Host) -> list[Svc]:
    base = [Svc(135, "msrpc", "Microsoft Windows RPC", cpe="cpe:/o:microsoft:windows"),
            Svc(445, "microsoft-ds")]
    if h.role != "workstation":
        base.append(Svc(5985, "http", "Microsoft HTTPAPI httpd", "2.0", "SSDP/UPnP", cpe="cpe:/o:microsoft:windows"))
    base.append(Svc(3389, "ms-wbt-server", "Microsoft Terminal Services", cpe="cpe:/o:microsoft:windows"))
    return base


def _dc_services(ent: Enterprise) -> list[Svc]:
    dom = ent.domain.lower()
    ldap_extra = f"Domain: {dom}0., Site: Default-First-Site-Name"
    win = "cpe:/o:microsoft:windows"
    return [Svc(53, "domain", "Simple DNS Plus"), Svc(88, "kerberos-sec", "Microsoft Windows Kerberos", cpe=win),
            Svc(135, "msrpc", "Microsoft Windows RPC", cpe=win), Svc(139, "netbios-ssn", "Microsoft Windows netbios-ssn", cpe=win),
            Svc(389, "ldap", "Microsoft Windows Active Directory LDAP", extrainfo=ldap_extra, cpe=win),
            Svc(445, "microsoft-ds"), Svc(464, "kpasswd5"),
            Svc(593, "ncacn_http", "Microsoft Windows RPC over HTTP", "1.0", cpe=win),
            Svc(636, "ldap", "Microsoft Windows Active Directory LDAP", extrainfo=ldap_extra, tunnel="ssl", cpe=win),
            Svc(3268, "ldap", "Microsoft Windows Active Directory LDAP", extrainfo=ldap_extra, cpe=win),
            Svc(3269, "ldap", "Microsoft Windows Active Directory LDAP", extrainfo=ldap_extra, tunnel="ssl", cpe=win),
            Svc(3389, "ms-wbt-server", "Microsoft Terminal Services", cpe=win),
            Svc(5985, "http", "Microsoft HTTPAPI httpd", "2.0", "SSDP/UPnP", cpe=win)]


def _sorted(svcs: list[Svc]) -> list[Svc]:
    seen: dict[tuple[int, str], Svc] = {}
    for s in svcs:
        seen.setdefault((s.port, s.proto), s)
    return [seen[k] for k in sorted(seen)]


def build_plan(ent: Enterprise, days: int = 1, end: int | None = None) -> OpsPlan:
    """The operational plan for `days` days ending at `end` (default `ops_end(seed)`)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    r = random.Random(f"ops:{ent.seed}")
    end = int(end if end is not None else ops_end(ent.seed))
    start = end - days * DAY
    by_role: dict[str, list[Host]] = {}
    for h in ent.hosts:
        by_role.setdefault(h.role, []).append(h)
    webs, apps_h, jumps, dbs, files = by_role["web"], by_role["app"], by_role["jump"], by_role["db"], by_role["file"]
    scanner, paw = jumps[0], jumps[-1]
    backup = apps_h[-2] if len(apps_h) >= 2 else apps_h[0]
    wiki = apps_h[0] if len(apps_h) < 4 else apps_h[1]
    kev_host = webs[0]
    group = f"com.{ent.netbios.lower()}"
    nuget_prefix = ent.netbios.title()

    services: dict[str, list[Svc]] = {}
    trivy: dict[str, list[TrivyTarget]] = {}
    apps: list[App] = []
    for h in ent.hosts:
        svcs = _windows_services(h)
        if h.role == "dc":
            svcs = _dc_services(ent)
        elif h.role == "workstation":
            svcs.insert(1, Svc(139, "netbios-ssn", "Microsoft Windows netbios-ssn", cpe="cpe:/o:microsoft:windows"))
        elif h.role == "pki":
            svcs += [Svc(80, "http", "Microsoft IIS httpd", "10.0", cpe="cpe:/a:microsoft:internet_information_services:10.0"),
                     Svc(443, "http", "Microsoft IIS httpd", "10.0", tunnel="ssl",
                         cpe="cpe:/a:microsoft:internet_information_services:10.0")]
        elif h.role == "jump":
            svcs.append(Svc(22, "ssh", "OpenSSH", "for_Windows_8.1", "protocol 2.0", cpe="cpe:/a:openbsd:openssh:for_windows_8.1"))
        elif h.role == "file":
            svcs.append(Svc(139, "netbios-ssn", "Microsoft Windows netbios-ssn", cpe="cpe:/o:microsoft:windows"))
        elif h.role == "db":
            svcs.append(Svc(1433, "ms-sql-s", "Microsoft SQL Server 2019", "15.00.2000.00", "RTM",
                            cpe="cpe:/a:microsoft:sql_server:2019"))
            if dbs.index(h) % 3 == 2:
                svcs.append(Svc(5432, "postgresql", "PostgreSQL DB", "9.6.0 or later",
                                cpe="cpe:/a:postgresql:postgresql"))
        services[h.fqdn] = svcs

    def app_version() -> str:
        return f"{r.randint(1, 6)}.{r.randint(0, 14)}.{r.randint(0, 9)}"

    def java_app(h: Host, name: str, stack: str, port: int, owner: str, crit: str, desc: str,
                 version: str | None = None) -> App:
        spring, log4j, jackson, text, yaml, jdbc, tomcat = JAVA_STACKS[stack]
        libs, direct = spring_stack(spring, log4j, jackson, text, yaml, jdbc)
        app = App(name, version or app_version(), "maven", group, h, port, libs, direct, desc, owner, crit,
                  f"{TOMCAT_DIR}/webapps/{name}", "war")
        trivy[h.fqdn] = [TrivyTarget("Java", "jar", [
            *[(lib, f"{TOMCAT_DIR}/lib/{tomcat_jar(lib)}") for lib in tomcat_libs(tomcat)],
            *[(lib, f"{app.install_dir}/WEB-INF/lib/{lib.name}-{lib.version}.jar") for lib in libs]])]
        apps.append(app)
        services[h.fqdn] = _sorted(services[h.fqdn] + [
            Svc(port, "http", "Apache Tomcat", tomcat, tunnel="ssl" if port != 80 else "",
                cpe=f"cpe:/a:apache:tomcat:{tomcat}")])
        return app

    # The customer portal on WEB01: the exposed KEV.
    java_app(kev_host, "customer-portal", "portal", 443, "web-team", "critical",
             "Customer self-service portal", version="3.4.1")
    services[kev_host.fqdn] = _sorted(services[kev_host.fqdn] + [
        Svc(80, "http", "Apache Tomcat", JAVA_STACKS["portal"][6], cpe=f"cpe:/a:apache:tomcat:{JAVA_STACKS['portal'][6]}")])
    for i, h in enumerate(webs[1:]):
        stack = "old" if r.random() < 0.5 else "new"
        base = WEB_APPS[i % len(WEB_APPS)] + ("" if i < len(WEB_APPS) else f"-{i // len(WEB_APPS) + 1}")
        pascal = "".join(p.title() for p in base.split("-"))
        libs = [Lib("nuget", "", n, v) for n, v in DOTNET_STACKS[stack]]
        app = App(f"{nuget_prefix}.{pascal}", app_version(), "nuget", "", h, 443, libs, tuple(lib.name for lib in libs),
                  f"Public web site ({base})", "web-team", "high", f"inetpub/wwwroot/{base}", "dotnet")
        apps.append(app)
        trivy[h.fqdn] = [TrivyTarget(f"{app.install_dir}/{app.name}.deps.json", "dotnet-core",
                                     [(lib, "") for lib in libs])]
        iis = "cpe:/a:microsoft:internet_information_services:10.0"
        services[h.fqdn] = _sorted(services[h.fqdn] + [Svc(80, "http", "Microsoft IIS httpd", "10.0", cpe=iis),
                                                       Svc(443, "http", "Microsoft IIS httpd", "10.0", tunnel="ssl", cpe=iis)])
    names = iter(range(10**6))
    for h in apps_h:
        if h is backup and h is not wiki:  # one application server only: it does both
            continue
        if h is wiki:
            conf = Lib("maven", "com.atlassian.confluence", "confluence", "8.3.2")
            libs = [_maven("org.apache.commons", "commons-text", "1.10.0", ("commons-lang3",)),
                    _maven("org.apache.commons", "commons-lang3", "3.12.0"),
                    _maven("com.fasterxml.jackson.core", "jackson-databind", "2.15.2", ("jackson-core",)),
                    _maven("com.fasterxml.jackson.core", "jackson-core", "2.15.2"),
                    *tomcat_libs("9.0.75")]
            app = App("confluence", "8.3.2", "maven", "com.atlassian.confluence", h, 8443, libs,
                      ("commons-text", "jackson-databind", "tomcat-catalina"), "Atlassian Confluence (team wiki)",
                      "it-collab", "high", "Program Files/Atlassian/Confluence", "vendor")
            apps.append(app)
            trivy[h.fqdn] = [TrivyTarget("Java", "jar", [
                (conf, f"{app.install_dir}/confluence/WEB-INF/lib/confluence-8.3.2.jar"),
                *[(lib, f"{app.install_dir}/confluence/WEB-INF/lib/{lib.name}-{lib.version}.jar") for lib in libs[:4]],
                *[(lib, f"{app.install_dir}/lib/{tomcat_jar(lib)}") for lib in libs[4:]]])]
            services[h.fqdn] = _sorted(services[h.fqdn] + [
                Svc(8443, "http", "Apache Tomcat", tunnel="ssl", cpe="cpe:/a:apache:tomcat")])
            continue
        k = next(names)
        base = APPS[k % len(APPS)].lower() + ("" if k < len(APPS) else f"-{k // len(APPS) + 1}")
        roll = r.random()
        stack = "old" if roll < 0.3 else "mid" if roll < 0.6 else "new"
        java_app(h, base, stack, 8443, "app-team", "high" if k % 5 == 0 else "medium", f"{base.upper()} application")

    shares: dict[str, list[tuple[str, str]]] = {}
    for i, h in enumerate(files):
        depts = [d for j, d in enumerate(DEPARTMENTS) if j % len(files) == i] or list(DEPARTMENTS)
        shares[h.fqdn] = [(d.title(), f"D:\\Shares\\{d.title()}") for d in depts] + [("Users$", "D:\\Users")]
    for h in ent.hosts:
        services[h.fqdn] = _sorted(services[h.fqdn])
    return OpsPlan(ent, start, end, days, services, trivy, apps, scanner, paw, backup, kev_host, wiki, shares,
                   by_role["dc"])


def planted(plan: OpsPlan) -> dict:
    """The operational facts `generation.json` lists under `planted`."""
    ent = plan.ent
    internal = next(a for a in plan.apps if a.host is plan.wiki and a.kind == "vendor")
    conf_cves = sorted({v.cve for v, _ in internal.lib.vulns() if v.kev})
    return {
        "kev_exposed": plan.kev_facts(),
        "internal_kev": {"host": plan.wiki.fqdn, "zone": plan.wiki.zone, "service": f"{plan.wiki.fqdn}:8443/TCP",
                         "application": internal.purl, "kev_cves": conf_cves},
        "scanner_host": {"host": plan.scanner.fqdn, "ip": plan.scanner.ip, "account": f"SVC-SCAN@{ent.domain}",
                         "ports": list(SCAN_PORTS), "window_utc": "02:00-05:00"},
        "paw_host": {"host": plan.paw.fqdn, "ip": plan.paw.ip},
        "backup_server": {"host": plan.backup.fqdn, "ip": plan.backup.ip, "account": f"SVC-BACKUP@{ent.domain}",
                          "targets": [h.fqdn for h in ent.hosts if h.role in ("file", "db")],
                          "window_utc": "01:00-04:00"},
        "dc_machine_accounts": [{"account": f"{h.short}$", "key": h.fqdn, "ip": h.ip} for h in plan.dcs],
        "applications": [{"name": a.name, "purl": a.purl, "host": a.host.fqdn, "port": f"{a.port}/tcp"}
                         for a in plan.apps],
    }
