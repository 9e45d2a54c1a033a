"""A fixed table of real vulnerabilities in real packages, for the synthetic estate.

Trivy reports and SBOMs must name CVE ids that other sources also know (the CISA KEV
catalog, EPSS, NVD), or the twin could not join them: a made-up id would never be
flagged as known-exploited. So the generator never invents a vulnerability; it picks
package versions from this table, and whatever the table says is wrong with that
version is what the scanner reports. Ids, affected ranges, fixed versions, CVSS v3
vectors and dates are the published ones as best known (NVD / vendor advisories);
`kev` marks the entries that are in the CISA catalog (checked against the 2025-08
catalog), so tests can assert KEV joins without shipping the catalog.

Every host in the model runs Windows (that is what AD says), so the packages are the
ones a scanner finds on Windows servers: Java archives (Tomcat, web applications),
.NET dependencies (deps.json) and vendor Java applications (Confluence). OS packages
are never reported for Windows (Trivy cannot read them), which is also what the real
tool does.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Vuln:
    cve: str
    title: str
    description: str
    severity: str  # the scanner's (vendor) severity
    vector: str  # CVSS v3.x base vector (NVD)
    score: float
    published: str
    modified: str
    cwes: tuple[str, ...] = ()
    kev: bool = False


@dataclass(frozen=True, slots=True)
class Affects:
    """`cve` affects versions in [lo, hi) of the package; `fixed` as the advisory lists it."""

    cve: str
    lo: str
    hi: str
    fixed: str


_N = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8: the usual network RCE
_DOS = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"  # 7.5: network denial of service
_SMUGGLE = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N"  # 7.5: request smuggling

VULNS: dict[str, Vuln] = {v.cve: v for v in (
    Vuln("CVE-2021-44228", "log4j-core: Remote code execution in Log4j 2.x when logs contain an attacker-controlled string value",
         "Apache Log4j2 2.0-beta9 through 2.15.0 (excluding security releases 2.12.2, 2.12.3, and 2.3.1) JNDI features "
         "used in configuration, log messages, and parameters do not protect against attacker controlled LDAP and other "
         "JNDI related endpoints.", "CRITICAL", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0,
         "2021-12-10T10:15:09.143Z", "2024-07-24T17:08:24.167Z", ("CWE-20", "CWE-400", "CWE-502", "CWE-917"), True),
    Vuln("CVE-2021-45046", "log4j-core: DoS in log4j 2.x with thread context message pattern and context lookup pattern",
         "It was found that the fix to address CVE-2021-44228 in Apache Log4j 2.15.0 was incomplete in certain "
         "non-default configurations.", "CRITICAL", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H", 9.0,
         "2021-12-14T19:15:07.733Z", "2023-11-07T03:39:36.747Z", ("CWE-917",), True),
    Vuln("CVE-2021-45105", "log4j-core: DoS in log4j 2.x with Thread Context Map (MDC) input data contains a recursive lookup",
         "Apache Log4j2 versions 2.0-alpha1 through 2.16.0 (excluding 2.12.3 and 2.3.1) did not protect from "
         "uncontrolled recursion from self-referential lookups.", "MEDIUM",
         "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H", 5.9, "2021-12-18T12:15:07.433Z", "2023-11-07T03:39:38.567Z",
         ("CWE-20", "CWE-674")),
    Vuln("CVE-2021-44832", "log4j-core: remote code execution via JDBC Appender",
         "Apache Log4j2 versions 2.0-beta7 through 2.17.0 (excluding 2.3.2 and 2.12.4) are vulnerable to a remote "
         "code execution attack when a configuration uses a JDBC Appender with a JNDI LDAP data source URI.",
         "MEDIUM", "CVSS:3.1/AV:N/AC:H/PR:H/UI:N/S:U/C:H/I:H/A:H", 6.6, "2021-12-28T20:15:08.400Z",
         "2023-11-07T03:39:36.183Z", ("CWE-20", "CWE-74")),
    Vuln("CVE-2022-22965", "spring-framework: RCE via Data Binding on JDK 9+",
         "A Spring MVC or Spring WebFlux application running on JDK 9+ may be vulnerable to remote code execution "
         "(RCE) via data binding.", "CRITICAL", _N, 9.8, "2022-04-01T23:15:13.870Z", "2024-08-03T01:15:42.837Z",
         ("CWE-94",), True),
    Vuln("CVE-2022-22950", "spring-expression: Denial of service via specially crafted SpEL expression",
         "In Spring Framework versions 5.3.0 - 5.3.16 and older unsupported versions, it is possible for a user to "
         "provide a specially crafted SpEL expression that may cause a denial of service condition.", "MEDIUM",
         "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H", 6.5, "2022-04-01T23:15:13.527Z", "2022-10-27T17:35:19.557Z",
         ("CWE-770",)),
    Vuln("CVE-2016-1000027", "spring: HttpInvokerServiceExporter readRemoteInvocation method untrusted java deserialization",
         "Pivotal Spring Framework through 5.3.16 suffers from a potential remote code execution (RCE) issue if used "
         "for Java deserialization of untrusted data.", "CRITICAL", _N, 9.8, "2020-01-02T23:15:11.453Z",
         "2023-04-20T09:15:07.617Z", ("CWE-502",)),
    Vuln("CVE-2020-36518", "jackson-databind: denial of service via a large depth of nested objects",
         "jackson-databind before 2.13.0 allows a Java StackOverflow exception and denial of service via a large "
         "depth of nested objects.", "HIGH", _DOS, 7.5, "2022-03-11T07:15:07.800Z", "2022-11-29T22:12:22.453Z",
         ("CWE-787",)),
    Vuln("CVE-2022-42003", "jackson-databind: deep wrapper array nesting wrt UNWRAP_SINGLE_VALUE_ARRAYS",
         "In FasterXML jackson-databind before versions 2.13.4.1 and 2.12.17.1, resource exhaustion can occur "
         "because of a lack of a check in primitive value deserializers.", "HIGH", _DOS, 7.5,
         "2022-10-02T05:15:09.813Z", "2024-03-15T11:15:08.237Z", ("CWE-502",)),
    Vuln("CVE-2022-42004", "jackson-databind: use of deeply nested arrays",
         "In FasterXML jackson-databind before 2.13.4, resource exhaustion can occur because of a lack of a check "
         "in BeanDeserializer._deserializeFromArray.", "HIGH", _DOS, 7.5, "2022-10-02T05:15:09.860Z",
         "2023-12-20T10:15:13.437Z", ("CWE-502",)),
    Vuln("CVE-2022-42889", "apache-commons-text: variable interpolation RCE",
         "Apache Commons Text performs variable interpolation, allowing properties to be dynamically evaluated and "
         "expanded; versions 1.5 through 1.9 include interpolators that could result in arbitrary code execution.",
         "CRITICAL", _N, 9.8, "2022-10-13T13:15:09.930Z", "2024-04-30T15:15:49.667Z", ("CWE-94",)),
    Vuln("CVE-2022-1471", "snakeyaml: Constructor Deserialization Remote Code Execution",
         "SnakeYaml's Constructor() class does not restrict types which can be instantiated during deserialization.",
         "HIGH", _N, 9.8, "2022-12-01T11:15:10.553Z", "2024-06-21T19:15:23.083Z", ("CWE-20", "CWE-502")),
    Vuln("CVE-2024-1597", "pgjdbc: PostgreSQL JDBC Driver allows attacker to inject SQL if using PreferQueryMode=SIMPLE",
         "pgjdbc, the PostgreSQL JDBC Driver, allows attacker to inject SQL if using PreferQueryMode=SIMPLE.",
         "CRITICAL", _N, 9.8, "2024-02-19T13:15:07.740Z", "2024-11-21T08:50:59.707Z", ("CWE-89",)),
    Vuln("CVE-2021-42340", "tomcat: OutOfMemoryError caused by HTTP upgrade connection leak could lead to DoS",
         "The fix for bug 63362 introduced a memory leak: the object introduced to collect metrics for HTTP upgrade "
         "connections was not released for WebSocket connections once the connection was closed.", "HIGH", _DOS, 7.5,
         "2021-10-14T15:15:08.467Z", "2022-10-25T19:15:10.007Z", ("CWE-772",)),
    Vuln("CVE-2022-42252", "tomcat: request smuggling via malformed content-length",
         "If Apache Tomcat was configured to ignore invalid HTTP headers via setting rejectIllegalHeader to false, "
         "Tomcat did not reject a request containing an invalid Content-Length header.", "HIGH", _SMUGGLE, 7.5,
         "2022-11-01T09:15:11.303Z", "2023-11-07T03:52:52.687Z", ("CWE-444",)),
    Vuln("CVE-2023-44487", "HTTP/2: Multiple HTTP/2 enabled web servers are vulnerable to a DDoS attack (Rapid Reset Attack)",
         "The HTTP/2 protocol allows a denial of service (server resource consumption) because request cancellation "
         "can reset many streams quickly, as exploited in the wild in August through October 2023.", "HIGH", _DOS, 7.5,
         "2023-10-10T14:15:10.883Z", "2024-08-14T19:57:18.670Z", ("CWE-400",), True),
    Vuln("CVE-2023-46589", "tomcat: HTTP request smuggling via malformed trailer headers",
         "Improper Input Validation vulnerability in Apache Tomcat: Tomcat did not correctly parse HTTP trailer "
         "headers, which could lead to request smuggling.", "HIGH", _SMUGGLE, 7.5, "2023-11-28T16:15:06.943Z",
         "2024-02-16T18:15:07.793Z", ("CWE-444",)),
    Vuln("CVE-2022-23181", "tomcat: local privilege escalation via FileStore session persistence",
         "The fix for bug CVE-2020-9484 introduced a time of check, time of use vulnerability into Apache Tomcat "
         "that allowed a local attacker to perform actions with the privileges of the user that the Tomcat process "
         "is using.", "HIGH", "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.0, "2022-01-27T13:15:08.127Z",
         "2022-10-07T17:03:50.273Z", ("CWE-367",)),
    Vuln("CVE-2024-50379", "tomcat: RCE due to TOCTOU issue in JSP compilation",
         "Time-of-check Time-of-use (TOCTOU) Race Condition vulnerability during JSP compilation in Apache Tomcat "
         "permits an RCE on case insensitive file systems when the default servlet is enabled for write.",
         "CRITICAL", _N, 9.8, "2024-12-17T13:15:18.210Z", "2024-12-20T16:15:24.260Z", ("CWE-367",)),
    Vuln("CVE-2023-22515", "Atlassian Confluence Data Center and Server: broken access control",
         "Atlassian Confluence Data Center and Server contain a broken access control vulnerability that allows "
         "an attacker to create unauthorized Confluence administrator accounts.", "CRITICAL", _N, 9.8,
         "2023-10-04T14:15:10.440Z", "2024-02-14T13:42:38.620Z", ("CWE-20",), True),
    Vuln("CVE-2023-22518", "Atlassian Confluence Data Center and Server: improper authorization",
         "All versions of Confluence Data Center and Server are affected by this unexploited vulnerability; an "
         "unauthenticated attacker can reset Confluence and create a Confluence instance administrator account.",
         "CRITICAL", _N, 9.8, "2023-10-31T15:15:08.593Z", "2024-02-14T15:01:27.710Z", ("CWE-863",), True),
    Vuln("CVE-2023-22527", "Atlassian Confluence Data Center and Server: template injection RCE",
         "A template injection vulnerability on out-of-date versions of Confluence Data Center and Server allows an "
         "unauthenticated attacker to achieve RCE on an affected instance.", "CRITICAL", _N, 9.8,
         "2024-01-16T05:15:08.530Z", "2024-01-26T17:15:10.583Z", ("CWE-74",), True),
    Vuln("CVE-2021-26701", ".NET Core: Remote Code Execution Vulnerability in System.Text.Encodings.Web",
         ".NET Core Remote Code Execution Vulnerability.", "CRITICAL", _N, 9.8, "2021-02-25T23:15:14.490Z",
         "2023-12-29T17:15:45.060Z", ()),
    Vuln("CVE-2024-21907", "Newtonsoft.Json: denial of service via deeply nested JSON",
         "Newtonsoft.Json before version 13.0.1 is affected by a mishandling of exceptional conditions "
         "vulnerability: crafted data passed to JsonConvert.DeserializeObject may trigger a StackOverflow exception.",
         "HIGH", _DOS, 7.5, "2024-01-03T17:15:11.113Z", "2024-01-11T18:44:52.343Z", ("CWE-755",)),
    Vuln("CVE-2024-0056", "System.Data.SqlClient: SQL Data Provider Security Feature Bypass Vulnerability",
         "Microsoft.Data.SqlClient and System.Data.SqlClient SQL Data Provider Security Feature Bypass "
         "Vulnerability.", "HIGH", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:N", 8.7,
         "2024-01-09T18:15:46.230Z", "2024-05-29T00:15:15.987Z", ("CWE-319",)),
)}

# purl type + "namespace/name" -> what affects which versions.
AFFECTED: dict[str, tuple[Affects, ...]] = {
    "maven:org.apache.logging.log4j/log4j-core": (
        Affects("CVE-2021-44228", "2.0", "2.15.0", "2.15.0, 2.3.1, 2.12.2"),
        Affects("CVE-2021-45046", "2.0", "2.16.0", "2.16.0, 2.12.2"),
        Affects("CVE-2021-45105", "2.0", "2.17.0", "2.17.0, 2.12.3, 2.3.1"),
        Affects("CVE-2021-44832", "2.0", "2.17.1", "2.17.1, 2.12.4, 2.3.2"),
    ),
    "maven:org.springframework/spring-beans": (Affects("CVE-2022-22965", "5.3.0", "5.3.18", "5.2.20.RELEASE, 5.3.18"),),
    "maven:org.springframework/spring-expression": (
        Affects("CVE-2022-22950", "5.3.0", "5.3.17", "5.2.20.RELEASE, 5.3.17"),),
    "maven:org.springframework/spring-web": (Affects("CVE-2016-1000027", "0", "6.0.0", "6.0.0"),),
    "maven:com.fasterxml.jackson.core/jackson-databind": (
        Affects("CVE-2020-36518", "2.12.0", "2.12.6.1", "2.12.6.1, 2.13.2.1"),
        Affects("CVE-2020-36518", "2.13.0", "2.13.2.1", "2.12.6.1, 2.13.2.1"),
        Affects("CVE-2022-42003", "2.12.0", "2.12.7.1", "2.12.7.1, 2.13.4.2"),
        Affects("CVE-2022-42003", "2.13.0", "2.13.4.2", "2.12.7.1, 2.13.4.2"),
        Affects("CVE-2022-42004", "2.12.0", "2.12.7.1", "2.12.7.1, 2.13.4"),
        Affects("CVE-2022-42004", "2.13.0", "2.13.4", "2.12.7.1, 2.13.4"),
    ),
    "maven:org.apache.commons/commons-text": (Affects("CVE-2022-42889", "1.5", "1.10.0", "1.10.0"),),
    "maven:org.yaml/snakeyaml": (Affects("CVE-2022-1471", "0", "2.0", "2.0"),),
    "maven:org.postgresql/postgresql": (
        Affects("CVE-2024-1597", "42.2.0", "42.2.28", "42.2.28, 42.3.9, 42.4.4, 42.5.5, 42.6.1, 42.7.2"),),
    "maven:org.apache.tomcat/tomcat-catalina": (
        Affects("CVE-2022-42252", "9.0.0", "9.0.68", "8.5.83, 9.0.68, 10.0.27, 10.1.1"),
        Affects("CVE-2023-46589", "9.0.0", "9.0.83", "8.5.96, 9.0.83, 10.1.16, 11.0.0-M11"),
        Affects("CVE-2022-23181", "9.0.35", "9.0.58", "8.5.75, 9.0.58, 10.0.16, 10.1.0-M10"),
        Affects("CVE-2024-50379", "9.0.0", "9.0.98", "9.0.98, 10.1.34, 11.0.2"),
    ),
    "maven:org.apache.tomcat/tomcat-coyote": (
        Affects("CVE-2021-42340", "9.0.40", "9.0.54", "8.5.72, 9.0.54, 10.0.12, 10.1.0-M6"),
        Affects("CVE-2023-44487", "9.0.0", "9.0.81", "8.5.94, 9.0.81, 10.1.14, 11.0.0-M12"),
    ),
    "maven:com.atlassian.confluence/confluence": (
        Affects("CVE-2023-22515", "8.0.0", "8.3.3", "8.3.3, 8.4.3, 8.5.2"),
        Affects("CVE-2023-22518", "0", "8.3.4", "7.19.16, 8.3.4, 8.4.4, 8.5.3, 8.6.1"),
        Affects("CVE-2023-22527", "8.0.0", "8.5.4", "8.5.4"),
    ),
    "nuget:System.Text.Encodings.Web": (Affects("CVE-2021-26701", "4.0.0", "4.5.1", "4.5.1, 4.7.2, 5.0.1"),),
    "nuget:Newtonsoft.Json": (Affects("CVE-2024-21907", "0", "13.0.1", "13.0.1"),),
    "nuget:System.Data.SqlClient": (Affects("CVE-2024-0056", "0", "4.8.6", "4.8.6"),),
}


def version_key(version: str) -> tuple:
    """Numeric-aware ordering good enough for the versions in this table
    (`2.12.6.1` < `2.13.0`, `9.0.50` < `9.0.98`, `1.10.0` > `1.9`)."""
    out: list = []
    for part in version.replace("-", ".").split("."):
        out.append((0, int(part), "") if part.isdigit() else (1, 0, part))
    return tuple(out)


def findings(ptype: str, path: str, version: str) -> list[tuple[Vuln, str]]:
    """(vulnerability, fixed versions) for a package version, one per CVE."""
    seen: dict[str, tuple[Vuln, str]] = {}
    v = version_key(version)
    for a in AFFECTED.get(f"{ptype}:{path}", ()):
        if version_key(a.lo) <= v < version_key(a.hi) and a.cve not in seen:
            seen[a.cve] = (VULNS[a.cve], a.fixed)
    return list(seen.values())


def kev_ids() -> list[str]:
    return sorted(c for c, v in VULNS.items() if v.kev)
