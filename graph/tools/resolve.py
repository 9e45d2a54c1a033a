"""Alert strings -> twin keys, by exact name forms only.

An alert names things the way its sensor saw them: `WS01`, `ws01.corp.local`,
`10.20.1.7`, `CORP\\alice`, `alice@corp.com`, a SID. Each form has one exact meaning
in the twin, and that is all this tool matches: no substring or edit-distance
matching, because a decoy one character away (WS01A for WS01, HELPDESK10 for
HELPDESK1) is a different machine or person, and citing it would be a false claim.
When nothing matches, the answer says so explicitly (`not_found`, `absent: true`):
that absence is itself evidence ("the alert names a host the enterprise does not
have"). Only then, and clearly labelled as different entities, a few names sharing the
same stem are listed so a person can spot a typo.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from graph.identity import ip_key, is_ip, is_sid, normalize_ip, split_user
from graph.tools.spec import AsOf, ToolInput, ToolOutput, as_of_field, iso, tool

if TYPE_CHECKING:
    from graph.tools.base import Toolbox

FOUND_SCORE = 0.8  # the best candidate must reach this (and be alone at the top) to be "found"


class ResolveInput(ToolInput):
    names: list[str] = Field(min_length=1, max_length=50, description=(
        "Names exactly as the alert gives them: hostnames (WS01, ws01.corp.local), IP addresses, "
        "user names (CORP\\alice, alice@corp.local, alice), SIDs, twin keys, CVE ids, data asset names."))
    as_of: AsOf = as_of_field()


class Candidate(ToolOutput):
    key: str
    labels: list[str]
    score: float = Field(description="1.0 exact key or SID; 0.9-0.95 an exact alternate name form; below 0.8 weak")
    reason: str


class Similar(ToolOutput):
    key: str
    labels: list[str]
    note: str = "a DIFFERENT entity whose name shares a stem; not a match"


class Resolution(ToolOutput):
    input: str
    status: Literal["found", "ambiguous", "not_found"]
    absent: bool = Field(description="true when the twin has no entity by this name (usable as `absent` evidence)")
    candidates: list[Candidate]
    similar_names: list[Similar] = Field(default_factory=list, description="only when not_found; never matches")


class ResolveOutput(ToolOutput):
    as_of: str | None
    results: list[Resolution]


# Fixed query fragments, chosen per name form; values are always parameters.
_Q_KEY = "MATCH (n:Twin) WHERE n.key IN $keys RETURN n, 'key' AS how"
_Q_OID = "MATCH (n:Twin) WHERE n.objectid IN $oids RETURN n, 'objectid' AS how"
_Q_SHORT = "MATCH (n:Twin) WHERE n.shortname IN $shorts AND n:Computer RETURN n, 'shortname' AS how"
_Q_SAM = "MATCH (n:Twin) WHERE n.samaccountname IN $sams RETURN n, 'samaccountname' AS how"
_Q_ALIAS = ("MATCH (n:User) WHERE $lower IN coalesce(n.aliases, []) OR toLower(coalesce(n.upn, '')) = $lower "
            "RETURN n, 'alias' AS how")
_Q_NAME = "MATCH (n:Twin) WHERE n.name IN $names RETURN n, 'name' AS how"
_Q_PREFIX = "MATCH (n:Twin) WHERE n.key STARTS WITH $prefix RETURN n, 'prefix' AS how"
_Q_IPPROP = ("MATCH (n:Twin) WHERE n.ip = $ip AND n:Computer RETURN n, 'ipprop' AS how "
             "UNION MATCH (n:Computer) WHERE $ip IN coalesce(n.ips, []) RETURN n, 'ipprop' AS how")

_Q_LEASES = """
MATCH (c:Computer)-[l:HasIP]->(ip:Twin {key: $ipkey})
RETURN c.key AS key, labels(c) AS labels, l.firstseen AS firstseen, l.lastseen AS lastseen
ORDER BY l.lastseen DESC LIMIT 50
"""
_Q_DOMAINS = "MATCH (d:Domain) RETURN d.key AS key, d.netbios AS netbios, d.name AS name"
_Q_SIMILAR = """
MATCH (n:Twin) WHERE n.key STARTS WITH $stem AND NOT n:Event AND NOT n.key IN $exclude
RETURN n.key AS key, labels(n) AS labels ORDER BY size(n.key), n.key LIMIT 5
"""

_TRIM = " \t\r\n'\"`<>[](){},;"


@tool
def resolve_entities(tb: Toolbox, args: ResolveInput) -> ResolveOutput:
    """Map names from an alert (hosts, IPs, users in any form, SIDs, keys) to twin keys, ranked, with the reason for each match; a name the twin does not have comes back `not_found` with `absent: true`.

    Only exact name forms match: `WS01` never matches `WS01A`, `helpdesk1` never matches
    `helpdesk10`. An IP resolves to the host that held the lease at `as_of` (else the
    latest lease before it)."""
    t = tb.time(args.as_of)
    domains = _domain_map(tb)
    results = [_resolve_one(tb, raw, t, domains) for raw in args.names]
    return ResolveOutput(as_of=iso(t), results=results)


def _domain_map(tb: Toolbox) -> dict[str, str]:
    """NetBIOS name -> domain FQDN: the Domain's `netbios` when a connector set it, else
    the first label of its FQDN (CORP.LOCAL -> CORP), the AD default. Kept per toolbox."""
    cached = getattr(tb, "_netbios_map", None)
    if cached is not None:
        return cached
    out: dict[str, str] = {}
    for r in tb.rows("resolve_entities", _Q_DOMAINS):
        fqdn = r["key"]
        if r.get("netbios"):
            out[str(r["netbios"]).upper()] = fqdn
        out.setdefault(fqdn.split(".", 1)[0].upper(), fqdn)
        out[fqdn.upper()] = fqdn
    tb._netbios_map = out  # type: ignore[attr-defined]
    return out


def _lookup(tb: Toolbox, fragments: list[str], params: dict) -> list[dict]:
    if not fragments:
        return []
    query = "CALL () {\n" + "\nUNION\n".join(fragments) + "\n}\n" + (
        "RETURN n.key AS key, labels(n) AS labels, collect(DISTINCT how) AS hows LIMIT 50"
    )
    return tb.rows("resolve_entities", query, params)


def _resolve_one(tb: Toolbox, raw: str, t: int | None, domains: dict[str, str]) -> Resolution:
    text = str(raw).strip().strip(_TRIM).rstrip(".")
    cands: dict[str, Candidate] = {}

    def add(key: str, labels: list[str], score: float, reason: str) -> None:
        old = cands.get(key)
        if old is None or old.score < score:
            cands[key] = Candidate(key=key, labels=sorted(labels), score=score, reason=reason)

    if not text:
        return Resolution(input=raw, status="not_found", absent=True, candidates=[])

    upper, lower = text.upper(), text.lower()
    keys = sorted({text, upper, lower})
    fragments = [_Q_KEY, _Q_NAME]
    params: dict = {"keys": keys, "names": keys}
    if is_sid(text):
        fragments.append(_Q_OID)
        params["oids"] = sorted({text, upper})
    ip = normalize_ip(text) if is_ip(text) else None
    user_part, dom_part = split_user(text) if ("\\" in text or "@" in text) else (None, None)
    fqdn_from_netbios = None
    if user_part is not None:
        user_part = user_part.strip()
        if dom_part and "." not in dom_part:
            fqdn_from_netbios = domains.get(dom_part)
            if fqdn_from_netbios:
                keys2 = [f"{user_part}@{fqdn_from_netbios}"]
                if user_part.endswith("$"):
                    keys2.append(f"{user_part[:-1]}.{fqdn_from_netbios}")
                params["keys"] = sorted(set(params["keys"]) | set(keys2))
        if "@" in text:
            fragments.append(_Q_ALIAS)
            params["lower"] = lower
        if user_part:
            fragments.append(_Q_SAM)
            params["sams"] = sorted({user_part, user_part.lower(), user_part.title()})
            if user_part.endswith("$"):
                fragments.append(_Q_SHORT)
                params["shorts"] = [user_part[:-1]]
    elif ip is None and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_\- ]*\$?", text):
        # a bare name: a short hostname, an account name, or a group/user name without domain
        short = upper[:-1] if upper.endswith("$") else upper
        fragments += [_Q_SHORT, _Q_SAM, _Q_PREFIX]
        params["shorts"] = [short]
        params["sams"] = sorted({text, lower, text.title(), upper})
        params["prefix"] = f"{short}@"
    if ip is not None:
        params["keys"] = sorted(set(params["keys"]) | {ip, ip_key(ip)})
        fragments.append(_Q_IPPROP)
        params["ip"] = ip

    for row in _lookup(tb, fragments, params):
        key, labels, hows = row["key"], row["labels"], set(row["hows"])
        if "key" in hows:
            if key in (text, upper, lower):
                add(key, labels, 1.0, "exact key")
            elif ip is not None and key == ip_key(ip):
                add(key, labels, 0.6, "the IP address node itself (the host holding it is ranked above)")
            elif ip is not None and key == ip:
                add(key, labels, 1.0, "host keyed by its IP address")
            elif fqdn_from_netbios:
                add(key, labels, 0.98, f"NetBIOS domain {dom_part} is {fqdn_from_netbios}")
        if "objectid" in hows:
            add(key, labels, 1.0, "objectid (SID)")
        if "name" in hows and "key" not in hows:
            add(key, labels, 0.95, "exact name")
        if "alias" in hows:
            add(key, labels, 0.95, f"UPN / alias {lower}")
        if "shortname" in hows:
            if user_part and user_part.endswith("$"):
                if fqdn_from_netbios is None or key.endswith("." + fqdn_from_netbios):
                    add(key, labels, 0.95, f"machine account {user_part}")
            else:
                add(key, labels, 0.9, f"short hostname {params['shorts'][0]}")
        if "samaccountname" in hows:
            if user_part is None:
                add(key, labels, 0.9, f"account name {text}")
            elif fqdn_from_netbios and not key.endswith("@" + fqdn_from_netbios) and not key.endswith("." + fqdn_from_netbios):
                continue  # the same account name in another domain is another account
            elif dom_part and "." in dom_part and not key.endswith("@" + dom_part) and "@" in text:
                add(key, labels, 0.5, f"account name {user_part} matches, but the UPN suffix {dom_part} is no domain here")
            elif dom_part and "." not in dom_part and fqdn_from_netbios is None:
                add(key, labels, 0.6, f"account name {user_part}; NetBIOS domain {dom_part} is unknown to the twin")
            else:
                add(key, labels, 0.95, f"account name {user_part}")
        if "prefix" in hows:
            add(key, labels, 0.9, f"name {text} in domain {key.split('@', 1)[1]}")
        if "ipprop" in hows:
            add(key, labels, 0.7, f"host's recorded address is {ip}")

    if ip is not None:
        _leases(tb, ip, t, add)

    ranked = sorted(cands.values(), key=lambda c: (-c.score, c.key))
    if not ranked:
        return Resolution(input=raw, status="not_found", absent=True, candidates=[],
                          similar_names=_similar(tb, text, user_part, ip))
    top = ranked[0].score
    if top >= 0.9:  # a weak same-account-name guess next to a sure match would only invite a wrong citation
        ranked = [c for c in ranked if c.score >= 0.6]
    tied = [c for c in ranked if c.score == top]
    status = "found" if top >= FOUND_SCORE and len(tied) == 1 else "ambiguous"
    return Resolution(input=raw, status=status, absent=False, candidates=ranked[:10])


def _leases(tb: Toolbox, ip: str, t: int | None, add) -> None:
    """The lease holding the address at t; else the latest before t; a lease that only
    began after t is a weak candidate (the address was someone else's, or nobody's)."""
    rows = tb.rows("resolve_entities", _Q_LEASES, {"ipkey": ip_key(ip)})
    if not rows:
        return
    at = t if t is not None else int(time.time())
    during = [r for r in rows if (r["firstseen"] or 0) <= at <= (r["lastseen"] or 0)]
    for r in during:
        add(r["key"], r["labels"], 0.97, f"held {ip} at {iso(at)} (lease {iso(r['firstseen'])}..{iso(r['lastseen'])})")
    if during:
        return
    before = [r for r in rows if (r["lastseen"] or 0) < at]
    if before:
        r = max(before, key=lambda r: r["lastseen"] or 0)
        add(r["key"], r["labels"], 0.85, f"latest lease of {ip} before {iso(at)} ended {iso(r['lastseen'])}")
        return
    r = min(rows, key=lambda r: r["firstseen"] or 0)
    add(r["key"], r["labels"], 0.4, f"{ip} was first leased to it only at {iso(r['firstseen'])}, after {iso(at)}")


def _similar(tb: Toolbox, text: str, user_part: str | None, ip: str | None) -> list[Similar]:
    if ip is not None:
        return []
    stem = (user_part or text).upper().split(".", 1)[0].rstrip("$")
    if len(stem) < 3:
        return []
    rows = tb.rows("resolve_entities", _Q_SIMILAR, {"stem": stem, "exclude": [text.upper()]})
    return [Similar(key=r["key"], labels=sorted(r["labels"])) for r in rows]
