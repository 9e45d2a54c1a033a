"""What the host, software and vulnerability connectors (nmap, trivy, cyclonedx, kev,
epss) share: node kinds, purl and vulnerability-id canonical forms, CVSS vectors, and
resolving a host name as some tool wrote it against the hosts the twin already holds.

Not a connector (the leading underscore keeps the registry from looking for one).

Why canonical forms matter: the same package or vulnerability reaches the twin from
Trivy, CycloneDX, KEV and EPSS, each spelling it its own way (Trivy writes
`pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64`, Syft `...@5.2.15-2+b2`, a GHSA id may
come in any case). One key per thing is what makes them one node.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import quote, unquote

from graph import catalog
from graph.identity import is_ip, normalize_ip
from graph.ingest.base import BadFile, IngestContext, Source
from graph.loader import TwinWriter

# Software is shared too: never one source's snapshot to delete (the identity kinds, hosts
# and addresses, are graph.catalog's shared schemas).
PACKAGE = catalog.node("Package")
APPLICATION = catalog.node("Application", "Package")
VULNERABILITY = catalog.node("Vulnerability")

HAS_INSTALLED = catalog.rel("HasInstalled")
HAS_VULNERABILITY = catalog.rel("HasVulnerability")
DEPENDS_ON = catalog.rel("DependsOn")


# ---------------------------------------------------------------- reading files


_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def load_json(source: Source) -> object:
    """The whole document, or BadFile naming where the JSON breaks. UTF-16 with a BOM
    is read too: it is what `trivy ... > report.json` writes in Windows PowerShell 5."""
    if source.data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        try:
            text = source.data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise BadFile(f"not UTF-16 text ({exc.reason} at byte {exc.start})") from None
    else:
        text = source.text()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadFile(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (RecursionError, ValueError) as exc:  # absurd nesting, huge ints
        raise BadFile(f"not readable JSON: {type(exc).__name__}") from None
    if _LONE_SURROGATE_ESCAPE.search(text):
        try:
            doc = _scrub(doc)
        except RecursionError:
            raise BadFile("not readable JSON: nested too deeply") from None
    return doc


def _scrub(value: object) -> object:
    """JSON may escape half a surrogate pair (`\\ud800`); Neo4j cannot store it."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "replace").decode("utf-8")
        return value
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    return value


# Keys and names are indexed, and an index entry has a size limit (~8 KB): a longer
# "name" is junk, and must not sink the batch it is in.
MAX_KEY = 1000
MAX_NAME = 255


def clip(value: str | None, size: int = MAX_NAME) -> str | None:
    return value[:size] if value else value


MAX_INT = 2**53  # beyond this a number is junk, and beyond 2**63 Neo4j refuses it


def int_or_none(value: object) -> int | None:
    """An integer from JSON or XML text, within what Neo4j stores."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            return None
    return value if isinstance(value, int) and abs(value) <= MAX_INT else None


def text_or_none(value: object) -> str | None:
    """A non-empty stripped string, else None: JSON fields may hold anything."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def str_list(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [s for s in (text_or_none(v) for v in value) if s]


def number_or_none(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None


# ---------------------------------------------------------------- package URLs

_PURL_TYPE = re.compile(r"^[a-z][a-z0-9.+-]*$")
# Characters left as they are inside a purl segment. Tools disagree on escaping `+`
# and `~`; decoding then re-encoding with one safe set gives every tool the same key.
_SAFE = "~+.-_!:"


def _seg(text: str) -> str:
    return quote(unquote(text), safe=_SAFE)


def purl_key(purl: object) -> str | None:
    return _purl_key(purl) if isinstance(purl, str) else None


@lru_cache(maxsize=65536)
def _purl_key(purl: str) -> str | None:
    """The contract key of a package: its purl without qualifiers or subpath, in one
    canonical spelling (type lower-case, segments decoded then re-encoded alike, PyPI
    names normalised as PEP 503 does). None when it is not a package URL."""
    text = text_or_none(purl)
    if not text or not text.lower().startswith("pkg:"):
        return None
    rest = text[4:].lstrip("/")
    rest = rest.split("#", 1)[0].split("?", 1)[0].strip("/")
    version = None
    at = rest.rfind("@")
    if at > rest.rfind("/"):
        rest, version = rest[:at], rest[at + 1:]
    parts = [p for p in rest.split("/") if p]
    if len(parts) < 2:
        return None
    ptype = parts[0].lower()
    if not _PURL_TYPE.match(ptype):
        return None
    names = [unquote(p) for p in parts[1:]]
    if ptype == "pypi":
        names[-1] = re.sub(r"[-_.]+", "-", names[-1]).lower()
    if not names[-1].strip():
        return None
    path = "/".join(quote(n, safe=_SAFE) for n in names)
    key = f"pkg:{ptype}/{path}"
    if version is not None and unquote(version).strip():
        key += "@" + _seg(version.strip())
    return key if len(key) <= MAX_KEY else None


def purl_props(key: str) -> dict:
    """Package properties derived from the key alone, so whichever source wrote the
    node last, `name` and `version` read the same."""
    body = key[4:]
    version = None
    at = body.rfind("@")
    if at > body.rfind("/"):
        body, version = body[:at], unquote(body[at + 1:])
    parts = body.split("/")
    ptype = parts[0]
    names = [unquote(p) for p in parts[1:]]
    return {
        "purl": key,
        "purl_type": ptype,
        "ecosystem": ptype,
        "namespace": "/".join(names[:-1]) or None,
        "name": names[-1],
        "version": version,
    }


# Trivy result Type -> (purl type, namespace) for OS package managers, and purl type
# for language ecosystems: for findings that come without a PkgIdentifier.PURL.
_OS_TYPES = {
    "alpine": ("apk", "alpine"), "wolfi": ("apk", "wolfi"), "chainguard": ("apk", "chainguard"),
    "debian": ("deb", "debian"), "ubuntu": ("deb", "ubuntu"),
    "redhat": ("rpm", "redhat"), "centos": ("rpm", "centos"), "rocky": ("rpm", "rocky"),
    "alma": ("rpm", "almalinux"), "amazon": ("rpm", "amazon"), "oracle": ("rpm", "oracle"),
    "fedora": ("rpm", "fedora"), "photon": ("rpm", "photon"), "opensuse": ("rpm", "opensuse"),
    "opensuse.leap": ("rpm", "opensuse"), "opensuse.tumbleweed": ("rpm", "opensuse"),
    "suse linux enterprise server": ("rpm", "suse"), "sles": ("rpm", "suse"),
    "cbl-mariner": ("rpm", "mariner"), "azurelinux": ("rpm", "azurelinux"),
}
_LANG_TYPES = {
    "npm": "npm", "yarn": "npm", "pnpm": "npm", "bun": "npm", "node-pkg": "npm",
    "pip": "pypi", "pipenv": "pypi", "poetry": "pypi", "uv": "pypi", "python-pkg": "pypi",
    "jar": "maven", "pom": "maven", "gradle": "maven", "sbt": "maven",
    "gomod": "golang", "gobinary": "golang",
    "cargo": "cargo", "rustbinary": "cargo", "rust-binary": "cargo",
    "composer": "composer", "composer-vendor": "composer",
    "bundler": "gem", "gemspec": "gem",
    "nuget": "nuget", "dotnet-core": "nuget", "dotnet-deps": "nuget", "packages-props": "nuget",
    "conan": "conan", "cocoapods": "cocoapods", "swift": "swift", "pub": "pub",
    "hex": "hex", "mix": "hex", "conda-pkg": "conda", "conda-environment": "conda",
    "julia": "julia",
}


def build_purl(tool_type: str | None, name: str, version: str | None) -> str | None:
    """A purl for a package a scanner named without one: pkg:{type}/{name}@{version},
    with the namespace conventions of the ecosystem (Maven `group:artifact`, npm scopes,
    Go module paths, the distro of OS packages)."""
    ttype = (tool_type or "").strip().lower()
    name = name.strip()
    if not name:
        return None
    if version:
        version = version.strip()
    if ttype in _OS_TYPES:
        ptype, namespace = _OS_TYPES[ttype]
        if version:
            version = re.sub(r"^\d+:", "", version)  # the epoch is a qualifier in purl
        path = f"{namespace}/{quote(name, safe=_SAFE)}"
    else:
        ptype = _LANG_TYPES.get(ttype, "generic")
        if ptype == "maven" and ":" in name:
            group, artifact = name.split(":", 1)
            path = f"{quote(group, safe=_SAFE)}/{quote(artifact, safe=_SAFE)}"
        elif "/" in name:
            ns, _, last = name.rpartition("/")
            path = "/".join(quote(p, safe=_SAFE) for p in ns.split("/") if p) + "/" + quote(last, safe=_SAFE)
        else:
            path = quote(name, safe=_SAFE)
    raw = f"pkg:{ptype}/{path}" + (f"@{quote(version, safe=_SAFE)}" if version else "")
    return purl_key(raw)


# ---------------------------------------------------------------- vulnerability ids

CVE_RE = re.compile(r"^CVE-\d{4}-\d{4,19}$", re.IGNORECASE)
GHSA_RE = re.compile(r"^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$", re.IGNORECASE)
_CVE_IN_TEXT = re.compile(r"CVE-\d{4}-\d{4,19}", re.IGNORECASE)
_GHSA_IN_TEXT = re.compile(r"GHSA(?:-[23456789cfghjmpqrvwx]{4}){3}", re.IGNORECASE)
_OTHER_ID = re.compile(r"^[A-Za-z][A-Za-z0-9._:-]{1,80}$")


def canonical_vuln_id(value: object) -> str | None:
    """CVE ids upper-case; GHSA ids as GitHub writes them (`GHSA-` + lower-case);
    other advisory ids (RUSTSEC-, GO-, DLA-, TEMP-...) as given. None for junk."""
    text = text_or_none(value)
    if not text:
        return None
    if CVE_RE.match(text):
        return text.upper()
    if GHSA_RE.match(text):
        return "GHSA-" + text[5:].lower()
    if _OTHER_ID.match(text):
        return text
    return None


def vuln_identity(primary: str, others: Iterable[str]) -> tuple[str, list[str]]:
    """The key (a CVE wins over a GHSA, a GHSA over anything else) and the other ids as
    aliases. A GHSA finding that names exactly one CVE is that CVE."""
    ids = [primary] + [i for i in (canonical_vuln_id(o) for o in others) if i]
    cves = sorted({i for i in ids if i.startswith("CVE-")})
    ghsas = sorted({i for i in ids if i.startswith("GHSA-")})
    if primary.startswith("CVE-"):
        key = primary
    elif len(cves) == 1:
        key = cves[0]
    elif primary.startswith("GHSA-"):
        key = primary
    elif ghsas and not cves:
        key = ghsas[0]
    else:
        key = primary
    return key, sorted(set(ids) - {key})


def ids_in_urls(urls: Iterable[str]) -> list[str]:
    """CVE / GHSA ids named by advisory URLs (NVD, cve.org, GitHub advisories)."""
    found: list[str] = []
    for url in urls:
        low = url.lower()
        if "nvd.nist.gov/vuln/detail/" in low or "cve.org/cverecord" in low or "cve.mitre.org" in low:
            found += _CVE_IN_TEXT.findall(url)
        if "github.com/advisories/" in low:
            found += _GHSA_IN_TEXT.findall(url)
    return found


# ---------------------------------------------------------------- CVSS

_AV = {"N": "NETWORK", "A": "ADJACENT", "L": "LOCAL", "P": "PHYSICAL"}
_AC = {"L": "LOW", "M": "MEDIUM", "H": "HIGH"}
_PR = {"N": "NONE", "L": "LOW", "H": "HIGH"}
_UI = {"N": "NONE", "R": "REQUIRED", "P": "PASSIVE", "A": "ACTIVE"}
_S = {"U": "UNCHANGED", "C": "CHANGED"}
_CIA = {"N": "NONE", "L": "LOW", "H": "HIGH", "P": "PARTIAL", "C": "COMPLETE"}


def parse_cvss_vector(vector: object) -> dict:
    """Cartography's CVE property names from a CVSS v2, v3.x or v4.0 vector string;
    unknown metrics are left out rather than guessed."""
    text = text_or_none(vector)
    if not text:
        return {}
    parts = text.split("/")
    version = None
    if parts[0].upper().startswith("CVSS:"):
        version = parts[0][5:]
        parts = parts[1:]
    metrics = {}
    for part in parts:
        name, sep, value = part.partition(":")
        if sep:
            metrics[name.strip().upper()] = value.strip().upper()
    if not metrics:
        return {}
    if version is None:
        version = "2.0" if "AU" in metrics else "3.0"
    out = {"vector_string": text, "cvss_version": version}
    pick = {
        "attack_vector": (_AV, "AV"), "attack_complexity": (_AC, "AC"),
        "privileges_required": (_PR, "PR"), "user_interaction": (_UI, "UI"), "scope": (_S, "S"),
        "confidentiality_impact": (_CIA, "VC" if version.startswith("4") else "C"),
        "integrity_impact": (_CIA, "VI" if version.startswith("4") else "I"),
        "availability_impact": (_CIA, "VA" if version.startswith("4") else "A"),
    }
    for prop, (table, metric) in pick.items():
        value = table.get(metrics.get(metric, ""))
        if value:
            out[prop] = value
    return out


def severity_from_score(score: float, version: str | None) -> str | None:
    if not 0.0 <= score <= 10.0:
        return None
    if version and version.startswith("2"):
        return "LOW" if score < 4 else "MEDIUM" if score < 7 else "HIGH"
    if score == 0:
        return "NONE"
    return "LOW" if score < 4 else "MEDIUM" if score < 7 else "HIGH" if score < 9 else "CRITICAL"


# ---------------------------------------------------------------- hosts in the twin

_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*$")


def looks_like_hostname(text: str) -> bool:
    return bool(_HOSTNAME.match(text.strip().rstrip(".")))


def service_host_part(host: str) -> str:
    """IPv6 addresses are bracketed in `HOST:PORT/PROTO` so the port stays readable."""
    return f"[{host}]" if ":" in host else host


_LOOKUP = """
UNWIND $keys AS q
MATCH (c:Twin {key: q}) WHERE c:Computer OR c:Artifact
RETURN 'key' AS kind, q AS q, c.key AS key, 0 AS t, [p IN $props | c[p]] AS vals
UNION ALL
UNWIND $shorts AS q
MATCH (c:Twin {shortname: q}) WHERE c:Computer
RETURN 'short' AS kind, q AS q, c.key AS key, 0 AS t, [p IN $props | c[p]] AS vals
UNION ALL
UNWIND $ips AS q
MATCH (:Twin {key: 'IP:' + q})<-[l:HasIP]-(c:Computer)
RETURN 'ip' AS kind, q AS q, c.key AS key, coalesce(l.lastseen, 0) AS t, [p IN $props | c[p]] AS vals
UNION ALL
UNWIND $ips AS q
MATCH (c:Twin {ip: q}) WHERE c:Computer
RETURN 'ip' AS kind, q AS q, c.key AS key, -1 AS t, [p IN $props | c[p]] AS vals
"""


@dataclass
class HostIndex:
    """What the twin knows about a set of host names, fetched in one query, and the
    rule for picking one: an FQDN must be a key; a short name or an IP must point at
    exactly one host, preferring name-keyed hosts over IP-keyed ones and, for an IP,
    the host that held it last (IPs move)."""

    keys: set[str] = field(default_factory=set)
    shorts: dict[str, set[str]] = field(default_factory=dict)
    ips: dict[str, dict[str, int]] = field(default_factory=dict)
    props: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def fetch(
        cls,
        ctx: IngestContext | None,
        names: Iterable[str],
        props: tuple[str, ...] = (),
        extra_keys: Iterable[str] = (),
    ) -> HostIndex:
        index = cls()
        keys, shorts, ips = set(extra_keys), set(), set()
        for name in names:
            text = name.strip().rstrip(".")
            if not text:
                continue
            if is_ip(text):
                ip = normalize_ip(text)
                ips.add(ip)
                keys.add(ip)
            elif "." in text:
                keys.add(text.upper())
            else:
                shorts.add(text.upper())
        if ctx is None or not ctx.reader or not (keys or shorts or ips):
            return index
        records = ctx.reader.rows(_LOOKUP, keys=sorted(keys), shorts=sorted(shorts), ips=sorted(ips),
                                  props=list(props))
        for rec in records:
            key = rec["key"]
            index.props[key] = dict(zip(props, rec["vals"], strict=True))
            if rec["kind"] == "key":
                index.keys.add(key)
            elif rec["kind"] == "short":
                index.shorts.setdefault(rec["q"], set()).add(key)
            else:
                seen = index.ips.setdefault(rec["q"], {})
                seen[key] = max(seen.get(key, -1), int(rec["t"] or 0))
        return index

    def resolve(self, name: str) -> str | None:
        text = name.strip().rstrip(".")
        if not text:
            return None
        if is_ip(text):
            ip = normalize_ip(text)
            holders = self.ips.get(ip, {})
            named = {k: t for k, t in holders.items() if not is_ip(k)}
            pool = named or holders
            if pool:
                return max(pool.items(), key=lambda kt: (kt[1], kt[0]))[0]
            return ip if ip in self.keys else None
        if "." in text:
            key = text.upper()
            return key if key in self.keys else None
        found = self.shorts.get(text.upper(), set())
        named = {k for k in found if not is_ip(k)}
        pool = named or found
        return next(iter(pool)) if len(pool) == 1 else None


# ---------------------------------------------------------------- derivations


class TimedFacts:
    """Newest observation wins, whatever order the files arrive in.

    A scan or report describes its target at one time (Nmap's scan start, Trivy's
    CreatedAt). Each group of facts it states (an OS guess, a MAC, an OS name) is stored
    with the time it was observed (`<group>_time`); a later load writes the group only
    when its observation is at least as new, so an old scan loaded after a new one cannot
    set the new facts back. The times already in the twin are read in one query."""

    def __init__(self, ctx: IngestContext | None, keys: Iterable[str], groups: Iterable[str]) -> None:
        self.stamps = {f"{g}_time" for g in groups}
        self.held: dict[tuple[str, str], int] = {}
        keys = sorted(set(keys))
        if ctx is None or not ctx.reader or not keys:
            return
        for rec in ctx.reader.rows(
            "UNWIND $keys AS k MATCH (n:Twin {key: k}) RETURN k, [s IN $stamps | n[s]] AS times",
            keys=keys, stamps=sorted(self.stamps),
        ):
            for stamp, t in zip(sorted(self.stamps), rec["times"], strict=True):
                if isinstance(t, int):
                    self.held[(rec["k"], stamp)] = t

    def apply(self, key: str, group: str, t: int, facts: dict, props: dict) -> bool:
        """Put `facts` (observed at `t`) into `props` unless a newer observation of the group
        is known; facts that are all None observe nothing and change nothing."""
        if all(v is None for v in facts.values()):
            return False
        stamp = f"{group}_time"
        if t < self.held.get((key, stamp), 0):
            return False
        self.held[(key, stamp)] = t
        props.update(facts)
        props[stamp] = t
        return True


def mark_unknown_kev(writer: TwinWriter) -> None:
    """`is_kev = false` only where nothing said otherwise: a vulnerability scanner
    never knows KEV membership, so it must not overwrite the KEV connector's `true`,
    whichever of the two ran first."""
    writer.driver.execute_query(
        "MATCH (v:Vulnerability) WHERE v.is_kev IS NULL SET v.is_kev = false",
        database_=writer.database,
    )
