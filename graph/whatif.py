"""What-if: simulate a change on the twin without touching it (contract section 7).

Why a write transaction and not a copy. A copy of a large twin costs minutes and
drifts; the twin itself already holds every index the path search needs. So each
simulation opens ONE explicit Neo4j write transaction, makes the change in it (edges
deleted, edges and nodes created, derived `CanExploit` edges recomputed), counts the
attack paths inside the same transaction (`graph.tools.paths` takes a `run` callable
for exactly this), and always rolls back - in a `finally`, never a commit. Other
sessions never see the change (Neo4j isolates uncommitted writes), and a process that
dies or a connection that drops mid-simulation leaves an uncommitted transaction that
the server rolls back.

`twin_unchanged` is checked, not assumed: node and relationship counts, and a SHA-256
of the touched subgraph (every node the change touched or could touch, its labels and
properties, and every edge among those nodes with its type and properties), are taken
before the first write and again after the rollback, and must be equal.

What "attack paths" means here (paths_before / paths_after):
    One attack path per (entry point, goal) pair that is connected within `max_hops`
    (default 6, the attack_paths tool's default) over the traversable edges of
    graph/tools/vocab.py (timed edges live around `as_of` when one is given).
    Entry points: INTERNET and the phishable users (enabled, not admincount, not
    tier 0), as graph/tools/paths.py defines them, plus `compromised` keys; or exactly
    the `sources` the caller gives. Goals: every crown-jewel and tier-0 node (a data
    asset, application or service is reached through the host it is HostedOn), or the
    one target of `rank` / `simulate(goals=[...])`. A path may pass through another goal
    (a path to the domain through Domain Admins counts for both).
    So paths_before is the number of exposed (entry, goal) pairs, a count that stays
    exact on a twin where 40,000 users reach a goal (enumerating their paths would not).
    A path is *removed* when its pair has no path left after the change (a pair that is
    merely rerouted is not); `paths_removed` lists up to `listed` removed pairs'
    shortest paths as they were (found after the rollback, on the twin as it is) and
    `paths_removed_count` counts all of them; likewise `paths_added`. Hence
    paths_after = paths_before - paths_removed_count + paths_added_count.
    Cost: the before-count runs on the committed twin in parallel read sessions while
    the transaction makes the change; the after-count recounts only the goals the change
    can reach (those whose reach holds the head of a changed traversable edge).

Ranking (`rank`): candidate single actions come from one shortest path per entry point
to the target (a breadth-first tree built layer by layer); each carries how many of
those paths cross what it removes, which bounds the paths it can remove. Candidates are
simulated in the order of that bound and ranked by paths removed, then fewer breaks,
then ACTION_COST; once the top N are known and no remaining bound can reach them, the
rest are skipped.

How each action changes the twin (inside the transaction only):
- `isolate HOST`: its CanReach, ConnectedTo, CanExploit, InZone and HasSession edges go,
  and so do remote-access edges into it (AdminTo, CanRDP, CanPSRemote, ExecuteDCOM,
  SQLAdmin): those are used over the network it has just lost. Its own AD rights stay
  (using them needs a foothold on the host, which isolation denies).
- `disable USER`: `enabled` becomes false (no longer an entry point), its outgoing
  traversable edges (memberships included) and the sessions holding it go.
- `remove-member`, `remove-edge`: that one edge goes (remove-edge takes any
  relationship type of the twin's vocabulary); derived CanExploit edges are recomputed
  when the edge fed them (software, services, zones, flows).
- `patch TARGET CVE`: every package of the target (a host's installed packages; an
  application's packages and dependencies, up to 4 levels, as the CanExploit
  derivation reads them) that has the CVE is replaced, for this target only, by a
  patched copy without that finding; packages of other owners are untouched.
- `update TARGET PACKAGE VERSION`: the target's package moves to VERSION: the owners'
  HasInstalled edges (and an application's DependsOn edges) are rewired to
  PACKAGE@VERSION. What the new version fixes and brings is judged from the twin: the
  Package node PACKAGE@VERSION, when the twin has one that a scanner reported on, is
  the truth; otherwise each old finding stays unless Trivy's `fixed_version` says
  VERSION has the fix (a Debian-style tokenised compare, with semver pre-releases and
  PEP 440 markers ordered before the release), and `unknown: true` says plainly that
  what VERSION introduces is not known.
- `block FROM TO PORT/PROTO`: zone to zone (or INTERNET to a zone), the CanReach ports
  are narrowed; between hosts (or hosts of the zones), observed ConnectedTo flows on
  that port go. A host-level block cannot narrow a zone rule; a note says so.
- `expose HOST PORT/PROTO`: a host-level `(INTERNET)-[:CanReach {ports}]->(HOST)` rule
  (a port forward) is added.
After the change, CanExploit into the hosts it concerns is recomputed with the same
code as graph/tools/exploit.py (`exploit_rows`, run inside the simulation's
transaction), which reads host-level CanReach as well.

Dropped connections: each simulation transaction carries a timeout (`tx_timeout`,
60 s) and a metadata token. Neo4j does not always notice at once that the connection of
an idle open transaction is gone, and until it does the orphan holds its locks (never
its changes: they are uncommitted); simulate terminates it by its token over a fresh
connection, and when the server cannot be reached at all the timeout frees the locks.

Breaks: what depends on what goes away - services and data on an isolated host and the
observed flows to it, sessions that end, rights a member or a disabled account loses,
services whose account is disabled (its SPNs), dependents whose recorded version
constraint the new version does not meet, services and applications that restart to
load updated software, flows a block closes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shlex
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any, Literal

import neo4j
from neo4j.exceptions import DriverError, Neo4jError
from pydantic import BaseModel, ConfigDict, Field

from graph.ingest._vulnshared import canonical_vuln_id, purl_key, purl_props
from graph.tools.base import Limits, parse_time
from graph.tools.exploit import _matches, covers, exploit_rows, parse_port_spec
from graph.tools.paths import _check_int, build_path_query, path_params, rows_to_paths
from graph.tools.vocab import (
    REL_TYPES,
    RIGHT_EDGES,
    TIMED_EDGES,
    TRAVERSABLE,
    rel_alternation,
    rel_type,
)

# ====================================================================== errors


class WhatIfInputError(ValueError):
    """Bad usage or a key the twin does not have: the CLI exits 2 with this one line."""


class WhatIfError(RuntimeError):
    """The simulation could not run (connection lost, server error): exit 1. Whatever it
    had changed was never committed."""


# ====================================================================== versions

_OS_TYPES = {"deb", "rpm", "apk", "alpm", "opkg"}
_PRE_MARKER = re.compile(r"(?<=[0-9])[.-]?(alpha|beta|preview|pre|rc|a|b|c|dev)(?=[0-9]|$)", re.IGNORECASE)
_DIGITS = "0123456789"


def _order(c: str) -> int:
    if c in _DIGITS:
        return 0
    if c.isalpha():
        return ord(c)
    if c == "~":
        return -1
    return ord(c) + 256


def _verrevcmp(a: str, b: str) -> int:
    """dpkg's comparison of one version part: runs of non-digits compared character by
    character (letters before other marks, `~` before everything, even the end), runs
    of digits compared as numbers."""
    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and a[i] not in _DIGITS) or (j < len(b) and b[j] not in _DIGITS):
            ac = _order(a[i]) if i < len(a) else 0
            bc = _order(b[j]) if j < len(b) else 0
            if ac != bc:
                return -1 if ac < bc else 1
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        first_diff = 0
        while i < len(a) and a[i] in _DIGITS and j < len(b) and b[j] in _DIGITS:
            if not first_diff and a[i] != b[j]:
                first_diff = -1 if a[i] < b[j] else 1
            i += 1
            j += 1
        if i < len(a) and a[i] in _DIGITS:
            return 1
        if j < len(b) and b[j] in _DIGITS:
            return -1
        if first_diff:
            return first_diff
    return 0


def _split_debian(v: str) -> tuple[int, str, str]:
    epoch = 0
    m = re.match(r"^(\d+):(.*)$", v)
    if m:
        epoch, v = int(m.group(1)), m.group(2)
    upstream, sep, revision = v.rpartition("-")
    if not sep:
        upstream, revision = v, ""
    return epoch, upstream, revision


def _normalise_lang(v: str) -> str:
    """Library versions (semver, PEP 440, Maven): build metadata ignored, a pre-release
    (`-rc.1`, `rc1`, `.dev0`, `-SNAPSHOT`) made to sort before its release with dpkg's
    `~`; a purely numeric qualifier (`1.0-1`) is a further release number."""
    v = v.strip()
    if v[:1] in "vV" and v[1:2].isdigit():
        v = v[1:]
    v = v.split("+", 1)[0]
    main, sep, pre = v.partition("-")
    if sep:
        v = f"{main}.{pre}" if pre.replace(".", "").isdigit() else f"{main}~{pre}"
    return _PRE_MARKER.sub(lambda m: "~" + m.group(1).lower(), v)


def compare_versions(a: str, b: str, ecosystem: str | None = None) -> int:
    """-1, 0 or 1. OS packages (deb, rpm, apk) compare as dpkg does (epoch, upstream,
    revision); everything else as semver-ish text through the same tokeniser."""
    a, b = str(a).strip(), str(b).strip()
    if (ecosystem or "").lower() in _OS_TYPES:
        ea, ua, ra = _split_debian(a)
        eb, ub, rb = _split_debian(b)
        if ea != eb:
            return -1 if ea < eb else 1
        return _verrevcmp(ua, ub) or _verrevcmp(ra, rb)
    return _verrevcmp(_normalise_lang(a), _normalise_lang(b))


def _numbers(v: str) -> list[int]:
    v = re.sub(r"^\d+:", "", v.strip())
    v = v[1:] if v[:1] in "vV" else v
    out = []
    for part in re.split(r"[.\-+~_]", v):
        m = re.match(r"\d+", part)
        if not m:
            break
        out.append(int(m.group()))
    return out


def _branch(v: str) -> tuple[int, ...]:
    return tuple(_numbers(v)[:2])


def fixed_in(version: str, fixed_version: str | None, ecosystem: str | None = None) -> bool | None:
    """Does `version` carry the fix Trivy names in `fixed_version` (one version, or a
    comma-separated list, one per release branch)? None when that cannot be told.

    With several fixes, the one on `version`'s branch (major.minor) decides; a version
    newer than every fix has it, one older than every fix has not, one between branches
    is unknown (its branch may never have been fixed)."""
    if not fixed_version:
        return None
    fixes = [f for f in (x.strip() for x in re.split(r"[,|\s]+", fixed_version)) if f]
    fixes = [f for f in fixes if re.search(r"\d", f)]
    if not fixes:
        return None
    same = [f for f in fixes if _branch(f) == _branch(version)]
    if same:
        return any(compare_versions(version, f, ecosystem) >= 0 for f in same)
    cmp = [compare_versions(version, f, ecosystem) for f in fixes]
    if all(c >= 0 for c in cmp):
        return True
    if all(c < 0 for c in cmp):
        return False
    return None


_OP = re.compile(r"^(===|==|!=|~=|>=|<=|>|<|=|\^|~)?\s*(.+)$")


def _wild_range(ver: str) -> tuple[str | None, str | None] | None:
    """`1.2.*`, `1.x`, `*` -> (lower inclusive, upper exclusive); None if not a wildcard."""
    parts = re.split(r"\.", ver)
    if not any(p in ("*", "x", "X") for p in parts):
        return None
    fixed = []
    for p in parts:
        if p in ("*", "x", "X"):
            break
        if not p.isdigit():
            return None
        fixed.append(int(p))
    if not fixed:
        return None, None
    upper = fixed[:-1] + [fixed[-1] + 1]
    return ".".join(map(str, fixed)), ".".join(map(str, upper))


def _comparator(token: str, version: str, eco: str | None) -> bool | None:
    m = _OP.match(token.strip())
    if not m:
        return None
    op, ver = m.group(1) or "", m.group(2).strip()
    if not re.search(r"\d|\*|^[xX]$", ver):
        return None
    wild = _wild_range(ver)
    if wild is not None:
        lo, hi = wild
        inside = (lo is None or compare_versions(version, lo, eco) >= 0) and (
            hi is None or compare_versions(version, hi, eco) < 0)
        return (not inside) if op == "!=" else inside
    cmp = compare_versions(version, ver, eco)
    nums = _numbers(ver)
    if op == "^":
        if not nums:
            return None
        idx = next((i for i, n in enumerate(nums) if n != 0), len(nums) - 1)
        upper = nums[: idx + 1]
        upper[-1] += 1
        return cmp >= 0 and compare_versions(version, ".".join(map(str, upper)), eco) < 0
    if op in ("~", "~="):
        if not nums:
            return None
        keep = nums[:-1] if op == "~=" and len(nums) > 1 else nums[: max(1, min(2, len(nums)))]
        if op == "~" and len(nums) == 1:
            keep = nums[:1]
        upper = keep[:-1] + [keep[-1] + 1] if op == "~" else keep[:-1] + [keep[-1] + 1]
        if op == "~" and len(nums) >= 2:
            upper = [nums[0], nums[1] + 1]
        return cmp >= 0 and compare_versions(version, ".".join(map(str, upper)), eco) < 0
    return {"": cmp == 0, "=": cmp == 0, "==": cmp == 0, "===": cmp == 0, "!=": cmp != 0,
            ">=": cmp >= 0, "<=": cmp <= 0, ">": cmp > 0, "<": cmp < 0}[op]


_INTERVAL = re.compile(r"([\[(])\s*([^,\])]*?)\s*(?:,\s*([^\])]*?)\s*)?([\])])")


def satisfies(version: str, constraint: str | None, ecosystem: str | None = None) -> bool | None:
    """Does `version` meet a recorded version constraint? npm ranges (`^1.2`, `~1.2.3`,
    `1.x`, `a - b`, `||`), PEP 440 specifiers (`>=1.0,<2`, `~=1.4`), Maven / NuGet
    intervals (`[1.0,2.0)`). None when the constraint cannot be read."""
    if constraint is None or not str(constraint).strip():
        return None
    text = str(constraint).strip()
    results = []
    for alt in text.split("||"):
        alt = alt.strip()
        if not alt:
            continue
        if alt[0] in "[(":
            found = list(_INTERVAL.finditer(alt))
            if not found:
                return None
            ok = False
            for m in found:
                lo_b, lo, hi, hi_b = m.group(1), m.group(2), m.group(3), m.group(4)
                if hi is None:  # [1.0] exact
                    ok |= compare_versions(version, lo, ecosystem) == 0
                    continue
                good = True
                if lo:
                    c = compare_versions(version, lo, ecosystem)
                    good &= c > 0 or (c == 0 and lo_b == "[")
                if hi:
                    c = compare_versions(version, hi, ecosystem)
                    good &= c < 0 or (c == 0 and hi_b == "]")
                ok |= good
            results.append(ok)
            continue
        hyphen = re.match(r"^(\S+)\s+-\s+(\S+)$", alt)
        if hyphen:
            alt = f">={hyphen.group(1)} <={hyphen.group(2)}"
        alt = re.sub(r"(===|==|!=|~=|>=|<=|>|<|=|\^|~)\s+", r"\1", alt)
        tokens = [t for t in re.split(r"[,\s]+", alt) if t]
        if not tokens:
            return None
        if (ecosystem or "").lower() == "maven" and len(tokens) == 1 and _OP.match(tokens[0]).group(1) is None:
            results.append(True)  # a bare Maven version is a soft requirement
            continue
        verdicts = [_comparator(t, version, ecosystem) for t in tokens]
        if any(v is None for v in verdicts):
            return None
        results.append(all(verdicts))
    if not results:
        return None
    return any(results)


def _purl_base(key: str) -> str:
    at = key.rfind("@")
    return key[:at] if at > key.rfind("/") else key


# ====================================================================== actions

Verb = Literal["update", "patch", "isolate", "disable", "remove-member", "remove-edge", "block", "expose"]
ARITY: dict[str, int] = {"update": 3, "patch": 2, "isolate": 1, "disable": 1, "remove-member": 2,
                         "remove-edge": 3, "block": 3, "expose": 2}
USAGE: dict[str, str] = {
    "update": "update TARGET PACKAGE VERSION",
    "patch": "patch TARGET CVE",
    "isolate": "isolate HOST",
    "disable": "disable USER",
    "remove-member": "remove-member MEMBER GROUP",
    "remove-edge": "remove-edge SRC TYPE DST",
    "block": "block FROM TO PORT/PROTO",
    "expose": "expose HOST PORT/PROTO",
    "rank": "rank --target KEY [--top N]",
}
# Effort and disruption a change usually takes, the last tie-breaker of `rank`: fixing
# one ACL or membership is one directory edit; disabling an account or patching is an
# operational change; a firewall change touches every flow of a zone; isolating a host
# stops everything on it.
ACTION_COST: dict[str, float] = {"remove-edge": 1.0, "remove-member": 1.0, "disable": 2.0, "patch": 2.0,
                                 "update": 3.0, "block": 3.0, "isolate": 4.0, "expose": 5.0}


class Action(BaseModel):
    """One change, as the CLI words it: `Action(verb="isolate", args=["WEB01.CORP.LOCAL"])`."""

    model_config = ConfigDict(frozen=True)
    verb: Verb
    args: tuple[str, ...]

    @property
    def argv(self) -> list[str]:
        return [self.verb, *self.args]

    @property
    def text(self) -> str:
        return shlex.join(self.argv)

    @classmethod
    def from_argv(cls, argv: Iterable[str]) -> Action:
        words = [str(w) for w in argv]
        if not words:
            raise WhatIfInputError("whatif needs an action: " + "; ".join(USAGE.values()))
        verb = words[0].strip().lower()
        if verb not in ARITY:
            raise WhatIfInputError(f"unknown what-if action {words[0]!r}; one of: {', '.join(USAGE)}")
        args = [w.strip() for w in words[1:]]
        if len(args) != ARITY[verb]:
            raise WhatIfInputError(f"{verb} takes {ARITY[verb]} argument(s), got {len(args)}: usage: "
                                   f"whatif {USAGE[verb]}")
        for w in args:
            if not w:
                raise WhatIfInputError(f"an empty argument: usage: whatif {USAGE[verb]}")
            if len(w) > 1000:
                raise WhatIfInputError(f"argument {w[:40]!r}... is longer than any key in the twin")
        if verb in ("block", "expose"):
            _port_arg(args[-1])
        if verb == "patch" and canonical_vuln_id(args[1]) is None:
            raise WhatIfInputError(f"CVE {args[1]!r} is not a vulnerability id (CVE-YYYY-N or GHSA-...)")
        if verb == "update" and (re.search(r"\s", args[2]) or not re.search(r"[0-9A-Za-z]", args[2])):
            raise WhatIfInputError(f"VERSION {args[2]!r} is not a version")
        return cls(verb=verb, args=tuple(args))


def _port_arg(text: str) -> tuple[int, int, str]:
    spec = parse_port_spec(text)
    if spec is None or not 1 <= spec[0] <= spec[1] <= 65535 or spec[2] not in ("tcp", "udp", "sctp"):
        raise WhatIfInputError(f"PORT/PROTO {text!r} is not a port such as 443/tcp (or a range 8000-8100/tcp)")
    return spec


def _fmt_port(lo: int, hi: int, proto: str) -> str:
    return f"{lo}/{proto}" if lo == hi else f"{lo}-{hi}/{proto}"


def subtract_ports(ports: object, lo: int, hi: int, proto: str) -> tuple[list[str], bool]:
    """Ports left after closing [lo, hi]/proto, and whether anything was closed. Ranges
    are split around the closed span; entries that cannot be read are kept as they are."""
    items = ports if isinstance(ports, (list, tuple)) else ([] if ports is None else [ports])
    out, changed = [], False
    for item in items:
        spec = parse_port_spec(item)
        if spec is None or spec[2] != proto or spec[1] < lo or spec[0] > hi:
            out.append(item if isinstance(item, str) else str(item))
            continue
        changed = True
        if spec[0] < lo:
            out.append(_fmt_port(spec[0], lo - 1, proto))
        if spec[1] > hi:
            out.append(_fmt_port(hi + 1, spec[1], proto))
    return out, changed


# ====================================================================== results


class PathOut(BaseModel):
    nodes: list[str] = Field(description="entry point first; edges[i] joins nodes[i] and nodes[i+1]")
    edges: list[str]
    goal: str | None = None
    cost: float | None = None


class Break(BaseModel):
    key: str
    reason: str
    kind: str = Field(default="breaks", description=(
        "unreachable | flow | session | access_lost | service_account | incompatible | restart | risk"))


class ExploitEdge(BaseModel):
    src: str
    dst: str
    cve: str | None = None
    port: str | None = None
    cves: list[str] = Field(default_factory=list)


class WhatIfResult(BaseModel):
    """Contract section 7, plus extras."""

    action: str
    argv: list[str]
    paths_before: int
    paths_after: int
    paths_removed: list[PathOut]
    vulns_gained: list[str]
    vulns_lost: list[str]
    breaks: list[Break]
    twin_unchanged: bool
    paths_removed_count: int = 0
    paths_added: list[PathOut] = Field(default_factory=list)
    paths_added_count: int = 0
    unknown: bool = False
    notes: list[str] = Field(default_factory=list)
    kev_gained: list[str] = Field(default_factory=list)
    kev_lost: list[str] = Field(default_factory=list)
    exploit_edges_added: list[ExploitEdge] = Field(default_factory=list)
    exploit_edges_removed: list[ExploitEdge] = Field(default_factory=list)
    changes: dict[str, int] = Field(default_factory=dict)
    goals: list[str] = Field(default_factory=list)
    entry_points: list[str] = Field(default_factory=list)
    max_hops: int = 6
    seconds: float = 0.0

    def contract(self) -> dict:
        return self.model_dump(mode="json")


class RankedAction(BaseModel):
    """One candidate action, simulated: what `recommended_actions` is built from."""

    action: str
    argv: list[str]
    verb: str
    target: str = Field(description="the key the action acts on (argv[1])")
    goal: str = Field(description="the key paths were counted to")
    paths_before: int
    paths_after: int
    paths_removed: int
    breaks: list[Break]
    cost: float
    bound: int = Field(description="paths (of those found before) that crossed what the action removes")
    vulns_lost: list[str] = Field(default_factory=list)
    twin_unchanged: bool
    seconds: float


# ====================================================================== path counting


_ANCHORS = """
MATCH (g:Twin) WHERE g.key IN $keys
RETURN g.key AS key,
  CASE WHEN g:DataAsset OR g:Application OR g:Service
       THEN COLLECT { MATCH (g)-[:HostedOn]->(h:Computer) RETURN h.key ORDER BY h.key }
            + COLLECT { MATCH (h:Computer)-[:HasService]->(g) RETURN h.key ORDER BY h.key }
       ELSE [g.key] END AS anchors
"""
_ALL_GOALS = """
MATCH (g:Twin) WHERE coalesce(g.tier0, false) OR coalesce(g.crown_jewel, false)
RETURN g.key AS key ORDER BY key LIMIT $cap
"""


class PathScope(BaseModel):
    """Which paths are counted: see the module docstring."""

    goals: list[str] | None = None
    sources: list[str] | None = None
    entry_points: tuple[str, ...] = ("internet", "phishable_users")
    compromised: list[str] = Field(default_factory=list)
    max_hops: int = 6
    as_of: int | None = None
    max_goals: int = 200

    def window(self) -> tuple[int | None, int | None]:
        if self.as_of is None:
            return None, None
        lim = Limits()
        return self.as_of - lim.session_lookback_s, self.as_of + lim.session_lookahead_s

    def params(self) -> dict:
        lo, hi = self.window()
        p = path_params(sources=self.sources, internet="internet" in self.entry_points,
                        phish="phishable_users" in self.entry_points, compromised=self.compromised, lo=lo, hi=hi)
        p["timed"] = sorted(TIMED_EDGES)
        return p

    def describe(self) -> list[str]:
        if self.sources:
            return list(self.sources)
        return [*self.entry_points, *(f"compromised:{k}" for k in self.compromised)]


Run = Callable[..., list[dict]]


def _runner(tx_or_session) -> Run:
    def run(query: str, params: dict | None = None, **kw) -> list[dict]:
        return [r.data() for r in tx_or_session.run(query, {**(params or {}), **kw})]
    return run


def resolve_goals(run: Run, scope: PathScope) -> list[dict]:
    """Goal keys and the nodes paths reach them through (their anchors)."""
    keys = scope.goals
    if keys is None:
        keys = [r["key"] for r in run(_ALL_GOALS, cap=scope.max_goals)]
    if not keys:
        return []
    rows = run(_ANCHORS, keys=list(keys))
    found = {r["key"]: r["anchors"] for r in rows}
    return [{"key": k, "anchors": found[k]} for k in keys if k in found]


def reach_query(max_hops: int, timed: bool) -> str:
    """Per goal, the nodes that reach one of its anchors within max_hops, as internal
    ids. A variable-length expansion keyed on DISTINCT start nodes runs as Neo4j's
    pruning breadth-first search (each node visited once per goal); measured 3-5x
    faster than a SHORTEST path per entry on the 66k-node benchmark twin, where the
    SHORTEST form over 20k+ sources did not finish in 120 s. Ids, not keys, cross the
    wire: a goal can be reached from tens of thousands of nodes."""
    h = _check_int(max_hops, 1, 10, "max_hops")
    t = rel_alternation(TRAVERSABLE)
    when = ("  WHERE all(r IN rs WHERE NOT type(r) IN $timed OR (r.firstseen <= $hi AND r.lastseen >= $lo))\n"
            if timed else "")
    return (
        "UNWIND $goals AS goal\n"
        "CALL (goal) {\n"
        "  MATCH (a:Twin) WHERE a.key IN goal.anchors\n"
        f"  MATCH (s)-[rs:{t}*1..{h}]->(a)\n"
        f"{when}"
        "  RETURN collect(DISTINCT id(s)) AS reach\n"
        "}\n"
        "RETURN goal.key AS goal, reach"
    )


_ENTRY_IDS = """
CALL () {
  MATCH (s:Internet) WHERE $internet RETURN s
  UNION
  MATCH (s:User) WHERE $phish AND coalesce(s.enabled, false) AND NOT coalesce(s.admincount, false)
    AND NOT coalesce(s.tier0, false) RETURN s
  UNION
  MATCH (s:Twin) WHERE s.key IN $compromised RETURN s
}
RETURN collect(id(s)) AS ids
"""
_SOURCE_IDS = "MATCH (s:Twin) WHERE s.key IN $sources RETURN collect(id(s)) AS ids"


def entry_ids(run: Run, scope: PathScope) -> frozenset[int]:
    """The entry points as paths.py defines them (`_ENTRY`), or exactly `sources`."""
    rows = run(_SOURCE_IDS if scope.sources else _ENTRY_IDS, scope.params())
    return frozenset(rows[0]["ids"]) if rows else frozenset()


class Exposure:
    """Which entry points reach which goals: per goal the ids of every node that reaches
    it within the hop bound (its reach), the entry points, and the ids a goal's own
    pairs leave out (its anchors and itself)."""

    def __init__(self, reach: dict[str, frozenset[int]], entries: frozenset[int], own: dict[str, frozenset[int]]):
        self.reach, self.entries, self.own = reach, entries, own

    def pairs(self, goal: str) -> frozenset[int]:
        return (self.reach.get(goal, frozenset()) & self.entries) - self.own.get(goal, frozenset())

    def total(self) -> int:
        return sum(len(self.pairs(g)) for g in self.reach)

    def affected(self, changed: set[int]) -> list[str]:
        """Goals a change can alter: one whose reach (or anchors) holds the head of a
        changed traversable edge, or a node whose entry status changed. A removed edge
        lies on a path to the goal only if its head reaches the goal; along a new path,
        the last added edge's head reaches the goal over unchanged edges, so it is in
        the reach as it was before."""
        return [g for g in self.reach if changed & (self.reach[g] | self.own.get(g, frozenset()))]


def goal_ids(run: Run, goals: list[dict]) -> dict[str, frozenset[int]]:
    keys = sorted({k for g in goals for k in [g["key"], *g["anchors"]]})
    ids = {r["k"]: r["i"] for r in run("MATCH (n:Twin) WHERE n.key IN $keys RETURN n.key AS k, id(n) AS i", keys=keys)}
    return {g["key"]: frozenset(ids[k] for k in [g["key"], *g["anchors"]] if k in ids) for g in goals}


def reach(run: Run, scope: PathScope, goals: list[dict]) -> dict[str, frozenset[int]]:
    goals = [g for g in goals if g["anchors"]]
    if not goals:
        return {}
    rows = run(reach_query(scope.max_hops, scope.as_of is not None), {**scope.params(), "goals": goals})
    return {r["goal"]: frozenset(r["reach"]) for r in rows}


def exposure(run: Run, scope: PathScope, goals: list[dict]) -> Exposure:
    """Every (entry point, goal) pair with a path (see the module docstring), in one
    session or transaction."""
    return Exposure(reach(run, scope, goals), entry_ids(run, scope), goal_ids(run, goals))


def exposure_parallel(driver: neo4j.Driver, database: str | None, scope: PathScope, goals: list[dict],
                      workers: int = 2) -> Exposure:
    """The same, on the committed twin, goals split over `workers` read sessions: the
    before-count of a simulation runs here while its transaction plans and applies the
    change (uncommitted writes are invisible to these sessions)."""
    from concurrent.futures import ThreadPoolExecutor

    live = [g for g in goals if g["anchors"]]
    chunks = [live[i::workers] for i in range(max(1, workers))]

    def one(chunk: list[dict]) -> dict[str, frozenset[int]]:
        with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS, notifications_min_severity="OFF") as s:
            return reach(_runner(s), scope, chunk)

    with ThreadPoolExecutor(max_workers=len(chunks) + 1) as pool:
        futs = [pool.submit(one, c) for c in chunks if c]
        with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS, notifications_min_severity="OFF") as s:
            run = _runner(s)
            entries, own = entry_ids(run, scope), goal_ids(run, goals)
        out: dict[str, frozenset[int]] = {}
        for f in futs:
            out.update(f.result())
    return Exposure(out, entries, own)


def keys_of(run: Run, ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(ids))
    if not ids:
        return {}
    return {r["i"]: r["k"] for r in run("MATCH (n) WHERE id(n) IN $ids RETURN id(n) AS i, n.key AS k", ids=ids)}


def _pair_paths(run: Run, scope: PathScope, pairs: list[tuple[str, str]]) -> list[PathOut]:
    """The shortest path of each (entry, goal) pair, by the attack_paths tool's own query."""
    by_goal: dict[str, list[str]] = defaultdict(list)
    for entry, goal in pairs:
        by_goal[goal].append(entry)
    lo, hi = scope.window()
    out: list[PathOut] = []
    query = build_path_query("pair", 1, scope.max_hops)
    for goal, entries in by_goal.items():
        params = path_params(target=goal, sources=entries, lo=lo, hi=hi, keep=len(entries) * 4 + 4,
                             candidates=len(entries) * 4 + 4)
        paths = rows_to_paths(run(query, params), "from_entry_point", k=len(entries) * 4 + 4)
        seen: set[str] = set()
        for p in paths:
            if p.nodes[0] in seen:
                continue
            seen.add(p.nodes[0])
            out.append(PathOut(nodes=p.nodes, edges=p.edges, goal=goal, cost=p.cost))
    order = {pair: i for i, pair in enumerate(pairs)}
    out.sort(key=lambda p: order.get((p.nodes[0], p.goal), 1 << 30))
    return out


# ====================================================================== the simulation


class _Sim:
    """The state of one simulation inside its transaction: what it touched, what it
    changed, what breaks. Every write goes through here."""

    def __init__(self, run: Run, action: Action) -> None:
        self.run = run
        self.action = action
        self.touched: set[str] = set()
        self.breaks: list[Break] = []
        self.notes: list[str] = []
        self.unknown = False
        self.rederive: set[str] = set()
        self.to_delete: list[dict] = []          # {id, src, type, dst, props}
        self.to_create: list[dict] = []          # {src, type, dst, props}
        self.to_set: list[dict] = []             # {key, props}
        self.new_nodes: list[dict] = []          # {key, labels, props}
        self.scope_owners: list[str] = []
        self.scope_hosts: list[str] = []
        self.vulns_before: dict[str, bool] = {}
        self.vulns_after: dict[str, bool] = {}
        self.changes: Counter[str] = Counter()
        self.exploit_added: list[ExploitEdge] = []
        self.exploit_removed: list[ExploitEdge] = []
        self.post_hooks: list[Callable[[], None]] = []
        self.changed: set[str] = set()           # heads of changed traversable edges, nodes whose props changed
        self.props_changed = False

    # -- look-ups ---------------------------------------------------------------------
    def node(self, key: str, want: tuple[str, ...] | None = None, what: str = "key") -> dict:
        """The node a CLI word names: its exact key, else the upper-case key (hosts and
        AD names are upper-case), else a zone or CVE spelled in another case."""
        rows = self.run(
            "MATCH (n:Twin) WHERE n.key IN [$k, toUpper($k)] "
            "RETURN n.key AS key, labels(n) AS labels, properties(n) AS props "
            "ORDER BY CASE WHEN n.key = $k THEN 0 ELSE 1 END LIMIT 1", k=key)
        if not rows:
            rows = self.run(
                "MATCH (n:Zone) WHERE toLower(n.key) = toLower($k) "
                "RETURN n.key AS key, labels(n) AS labels, properties(n) AS props LIMIT 1", k=key)
        if not rows:
            raise WhatIfInputError(f"{what} {key!r} is not in the twin")
        row = rows[0]
        if want and not set(want) & set(row["labels"]):
            kinds = "/".join(sorted(set(row["labels"]) - {"Twin", "Base"})) or "node"
            raise WhatIfInputError(f"{what} {row['key']!r} is a {kinds}, not a {' or '.join(want)}")
        return row

    def edges(self, query: str, **params) -> list[dict]:
        return self.run(query, **params)

    # -- planned writes ---------------------------------------------------------------
    def delete(self, rows: Iterable[dict]) -> None:
        known = {d["id"] for d in self.to_delete}
        for r in rows:
            if r["id"] not in known:
                known.add(r["id"])
                self.to_delete.append(r)
                self.touched.update((r["src"], r["dst"]))

    def create(self, src: str, rtype: str, dst: str, props: dict | None = None) -> None:
        rel_type(rtype)
        self.to_create.append({"src": src, "type": rtype, "dst": dst, "props": dict(props or {})})
        self.touched.update((src, dst))

    def set_props(self, key: str, props: dict) -> None:
        self.to_set.append({"key": key, "props": props})
        self.touched.add(key)

    def add_node(self, key: str, labels: list[str], props: dict) -> None:
        self.new_nodes.append({"key": key, "labels": labels, "props": props})
        self.touched.add(key)

    def brk(self, key: str, reason: str, kind: str) -> None:
        self.breaks.append(Break(key=key, reason=reason, kind=kind))

    def apply(self) -> None:
        now = int(time.time())
        for n in self.new_nodes:
            labels = ":".join(["Twin", *sorted(set(n["labels"]) - {"Twin"})])
            for lbl in n["labels"]:
                _check_label(lbl)
            self.run(f"CREATE (n:{labels}) SET n = $props, n.key = $key, n.source = 'whatif', "
                     "n.sources = ['whatif'], n.firstseen = $now, n.lastseen = $now, n.whatif = true",
                     props=n["props"], key=n["key"], now=now)
            self.changes["nodes_added"] += 1
        trav = set(TRAVERSABLE)
        self.changed.update(d["dst"] for d in self.to_delete if d["type"] in trav)
        self.changed.update(c["dst"] for c in self.to_create if c["type"] in trav)
        self.changed.update(x["key"] for x in self.to_set)
        self.props_changed = self.props_changed or bool(self.to_set)
        if self.to_delete:
            ids = [d["id"] for d in self.to_delete]
            self.run("UNWIND $ids AS id MATCH ()-[r]->() WHERE elementId(r) = id DELETE r", ids=ids)
            self.changes["edges_removed"] += len(ids)
        by_type: dict[str, list[dict]] = defaultdict(list)
        for c in self.to_create:
            by_type[c["type"]].append({"src": c["src"], "dst": c["dst"],
                                       "props": {k: v for k, v in c["props"].items() if v is not None}})
        for rtype, rows in by_type.items():
            done = self.run(
                "UNWIND $rows AS row MATCH (a:Twin {key: row.src}) MATCH (b:Twin {key: row.dst}) "
                f"CREATE (a)-[r:{rel_type(rtype)}]->(b) SET r = row.props, r.source = 'whatif', "
                "r.sources = ['whatif'], r.firstseen = coalesce(row.props.firstseen, $now), "
                "r.lastseen = coalesce(row.props.lastseen, $now) RETURN count(*) AS c", rows=rows, now=now)
            self.changes["edges_added"] += done[0]["c"] if done else 0
        for s in self.to_set:
            self.run("MATCH (n:Twin {key: $key}) SET n += $props", key=s["key"], props=s["props"])
            self.changes["nodes_changed"] += 1
        self.to_delete, self.to_create, self.to_set, self.new_nodes = [], [], [], []


def _check_label(name: str) -> str:
    from graph.tools.vocab import label
    return label(name)


# -------------------------------------------------------------------- network actions

_REMOTE_IN = ("AdminTo", "CanRDP", "CanPSRemote", "ExecuteDCOM", "SQLAdmin")
_NET_TYPES = ("CanReach", "ConnectedTo", "CanExploit", "InZone", "HasSession")
_EDGE_ROW = ("elementId(r) AS id, startNode(r).key AS src, type(r) AS type, endNode(r).key AS dst, "
             "properties(r) AS props")


def _plan_isolate(sim: _Sim) -> None:
    host = sim.node(sim.action.args[0], ("Computer",), "HOST")["key"]
    sim.action = sim.action.model_copy(update={"args": (host,)})
    rows = sim.edges(
        f"MATCH (h:Twin {{key: $h}})-[r]-(o) WHERE type(r) IN $net "
        f"OR (endNode(r) = h AND type(r) IN $remote) RETURN {_EDGE_ROW}",
        h=host, net=list(_NET_TYPES), remote=list(_REMOTE_IN))
    sim.delete(rows)
    sim.touched.add(host)
    for svc in sim.run("MATCH (h:Twin {key: $h})-[:HasService]->(s:Service) "
                       "WHERE coalesce(toLower(s.state), 'open') = 'open' "
                       "RETURN s.key AS key, s.port AS port, coalesce(s.protocol, 'tcp') AS proto ORDER BY key", h=host):
        flows = [r for r in rows if r["type"] == "ConnectedTo" and r["dst"] == host and isinstance(svc["port"], int)
                 and covers(r["props"].get("ports"), svc["port"], str(svc["proto"]).lower())]
        extra = f"; {len(flows)} observed client(s) use it" if flows else ""
        sim.brk(svc["key"], f"unreachable while {host} is isolated{extra}", "unreachable")
    for dep in sim.run("MATCH (d:Twin)-[:HostedOn]->(h:Twin {key: $h}) RETURN d.key AS key ORDER BY key", h=host):
        sim.brk(dep["key"], f"hosted on {host}, which is isolated", "unreachable")
    for r in sorted((r for r in rows if r["type"] == "ConnectedTo"), key=lambda r: (r["src"], r["dst"])):
        peer = r["dst"] if r["src"] == host else r["src"]
        ports = ", ".join(map(str, r["props"].get("ports") or [])) or "some ports"
        where = f"to {host}" if r["dst"] == host else f"from {host}"
        sim.brk(peer, f"loses its observed flow {where} on {ports} ({r['props'].get('count', '?')} connections)",
                "flow")
    for r in sorted((r for r in rows if r["type"] == "HasSession"), key=lambda r: r["dst"]):
        sim.brk(r["dst"], f"its session on {host} ends", "session")


def _zone_hosts(sim: _Sim, zone: str, with_services: bool) -> list[str]:
    extra = " AND EXISTS { (c)-[:HasService]->(:Service) }" if with_services else ""
    return [r["k"] for r in sim.run(
        f"MATCH (c:Computer)-[:InZone]->(z:Twin {{key: $z}}) WHERE true{extra} RETURN c.key AS k ORDER BY k", z=zone)]


def _plan_block(sim: _Sim) -> None:
    src_word, dst_word, port_word = sim.action.args
    lo, hi, proto = _port_arg(port_word)
    src = sim.node(src_word, ("Zone", "Internet", "Computer"), "FROM")
    dst = sim.node(dst_word, ("Zone", "Computer"), "TO")
    sk, dk = src["key"], dst["key"]
    if sk == dk:
        raise WhatIfInputError(f"FROM and TO are both {sk!r}")
    sim.action = sim.action.model_copy(update={"args": (sk, dk, _fmt_port(lo, hi, proto))})
    zone_level = "Computer" not in src["labels"] and "Computer" not in dst["labels"]
    sim.touched.update((sk, dk))
    if zone_level:
        reach = sim.edges(f"MATCH (a:Twin {{key: $a}})-[r:CanReach]->(b:Twin {{key: $b}}) RETURN {_EDGE_ROW}",
                          a=sk, b=dk)
        for r in reach:
            left, changed = subtract_ports(r["props"].get("ports"), lo, hi, proto)
            if not changed:
                continue
            sim.delete([r])
            if left:
                sim.create(sk, "CanReach", dk, {**r["props"], "ports": left})
            for svc in sim.run(
                    "MATCH (c:Computer)-[:InZone]->(:Twin {key: $z}) MATCH (c)-[:HasService]->(s:Service) "
                    "WHERE s.port >= $lo AND s.port <= $hi AND toLower(coalesce(s.protocol, 'tcp')) = $proto "
                    "AND coalesce(toLower(s.state), 'open') = 'open' RETURN s.key AS key ORDER BY key LIMIT 1000",
                    z=dk, lo=lo, hi=hi, proto=proto):
                sim.brk(svc["key"], f"no longer reachable from {sk} on {_fmt_port(lo, hi, proto)}", "unreachable")
        if not any(subtract_ports(r["props"].get("ports"), lo, hi, proto)[1] for r in reach):
            sim.notes.append(f"no firewall flow lets {sk} reach {dk} on {_fmt_port(lo, hi, proto)}: "
                             "the zone rules do not change")
    else:
        sim.notes.append("a host-level block closes the observed flows between the hosts (and a host-level "
                         "rule such as one `expose` writes); zone rules are per zone, so a path through the "
                         "zones' own reachability remains")
        if "Computer" in dst["labels"] and "Computer" not in src["labels"]:
            for r in sim.edges(f"MATCH (a:Twin {{key: $a}})-[r:CanReach]->(b:Twin {{key: $b}}) RETURN {_EDGE_ROW}",
                               a=sk, b=dk):
                left, changed = subtract_ports(r["props"].get("ports"), lo, hi, proto)
                if changed:
                    sim.delete([r])
                    if left:
                        sim.create(sk, "CanReach", dk, {**r["props"], "ports": left})
    srcs = [sk] if "Computer" in src["labels"] or "Internet" in src["labels"] else _zone_hosts(sim, sk, False)
    dsts = [dk] if "Computer" in dst["labels"] else _zone_hosts(sim, dk, False)
    flows = sim.edges(f"MATCH (a:Twin)-[r:ConnectedTo]->(b:Twin) WHERE a.key IN $a AND b.key IN $b "
                      f"RETURN {_EDGE_ROW}", a=srcs, b=dsts)
    for r in sorted(flows, key=lambda r: (r["src"], r["dst"])):
        left, changed = subtract_ports(r["props"].get("ports"), lo, hi, proto)
        if not changed:
            continue
        sim.delete([r])
        if left:
            sim.create(r["src"], "ConnectedTo", r["dst"], {**r["props"], "ports": left})
        svc = f"{r['dst']}:{lo}/{proto.upper()}" if lo == hi else r["dst"]
        sim.brk(svc, f"observed flow from {r['src']} ({r['props'].get('count', '?')} connections) is blocked",
                "flow")
    sim.rederive.update([dk] if "Computer" in dst["labels"] else _zone_hosts(sim, dk, True))


def _plan_expose(sim: _Sim) -> None:
    host = sim.node(sim.action.args[0], ("Computer",), "HOST")["key"]
    lo, hi, proto = _port_arg(sim.action.args[1])
    spec = _fmt_port(lo, hi, proto)
    sim.action = sim.action.model_copy(update={"args": (host, spec)})
    if not sim.run("MATCH (i:Twin {key: 'INTERNET'}) RETURN i.key AS k"):
        sim.add_node("INTERNET", ["Internet"], {"name": "INTERNET"})
    old = sim.edges(f"MATCH (i:Twin {{key: 'INTERNET'}})-[r:CanReach]->(h:Twin {{key: $h}}) RETURN {_EDGE_ROW}",
                    h=host)
    ports = list(old[0]["props"].get("ports") or []) if old else []
    if old and covers(ports, lo, proto) and covers(ports, hi, proto):
        sim.notes.append(f"INTERNET may already reach {host} on {spec}")
    sim.delete(old)
    sim.create("INTERNET", "CanReach", host, {**(old[0]["props"] if old else {}), "ports": ports + [spec]})
    services = sim.run("MATCH (h:Twin {key: $h})-[:HasService]->(s:Service) WHERE s.port >= $lo AND s.port <= $hi "
                       "AND toLower(coalesce(s.protocol, 'tcp')) = $proto "
                       "AND coalesce(toLower(s.state), 'open') = 'open' RETURN s.key AS key", h=host, lo=lo, hi=hi,
                       proto=proto)
    if not services:
        sim.notes.append(f"no open service is known on {host} at {spec}: nothing new becomes exploitable")
    sim.rederive.add(host)


# -------------------------------------------------------------------- identity actions


def _rights_of(sim: _Sim, member: str) -> set[tuple[str, str]]:
    """(right, object) a principal holds directly or through its groups."""
    rows = sim.run(
        "MATCH (m:Twin {key: $m}) MATCH (m)-[:MemberOf]->{0,10}(g) MATCH (g)-[r]->(o) WHERE type(r) IN $rights "
        "RETURN DISTINCT type(r) AS t, o.key AS o", m=member, rights=list(RIGHT_EDGES))
    return {(r["t"], r["o"]) for r in rows}


def _members_count(sim: _Sim, group: str) -> int:
    rows = sim.run("MATCH (g:Twin {key: $g})<-[:MemberOf]-{1,10}(m) WHERE NOT m:Group "
                   "RETURN count(DISTINCT m) AS c", g=group)
    return rows[0]["c"] if rows else 0


def _plan_disable(sim: _Sim) -> None:
    user = sim.node(sim.action.args[0], ("User",), "USER")
    key = user["key"]
    sim.action = sim.action.model_copy(update={"args": (key,)})
    out = sim.edges(f"MATCH (u:Twin {{key: $u}})-[r]->(o) WHERE type(r) IN $trav RETURN {_EDGE_ROW}",
                    u=key, trav=list(TRAVERSABLE))
    sessions = sim.edges(f"MATCH (c)-[r:HasSession]->(u:Twin {{key: $u}}) RETURN {_EDGE_ROW}", u=key)
    sim.delete(out)
    sim.delete(sessions)
    sim.set_props(key, {"enabled": False})
    if user["props"].get("enabled") is False:
        sim.notes.append(f"{key} is already disabled in the twin")
    for r in sorted(out, key=lambda r: (r["type"], r["dst"])):
        if r["type"] == "MemberOf":
            sim.brk(r["dst"], f"{key} can no longer use its membership", "access_lost")
        else:
            sim.brk(r["dst"], f"{key} loses {r['type']} on it", "access_lost")
    for r in sorted(sessions, key=lambda r: r["src"]):
        sim.brk(r["src"], f"{key}'s session on it ends", "session")
    spns = user["props"].get("serviceprincipalnames") or []
    for spn in spns if isinstance(spns, list) else [spns]:
        m = re.match(r"^[^/]+/([^:/]+)(?::(\d+))?", str(spn))
        if not m:
            continue
        hostname = m.group(1).upper()
        hosts = sim.run("MATCH (h:Computer) WHERE h.key = $n OR h.shortname = $n RETURN h.key AS k LIMIT 1",
                        n=hostname)
        if not hosts:
            continue
        hk = hosts[0]["k"]
        svc = f"{hk}:{m.group(2)}/TCP" if m.group(2) else None
        target = svc if svc and sim.run("MATCH (s:Twin {key: $k}) RETURN s.key AS k", k=svc) else hk
        sim.brk(target, f"runs as {key} (SPN {spn}), which is disabled", "service_account")


def _lost_rights(sim: _Sim, member: str, before: set[tuple[str, str]], via: str) -> None:
    after = _rights_of(sim, member)
    lost = sorted(before - after)
    n = _members_count(sim, member) if sim.run("MATCH (g:Group {key: $g}) RETURN g.key AS k", g=member) else 0
    who = f"{member} (and its {n} member(s))" if n else member
    for t, o in lost:
        sim.brk(o, f"{who} loses {t} on it (it came through {via})", "access_lost")


def _plan_remove_member(sim: _Sim) -> None:
    m = sim.node(sim.action.args[0], None, "MEMBER")["key"]
    g = sim.node(sim.action.args[1], ("Group",), "GROUP")["key"]
    sim.action = sim.action.model_copy(update={"args": (m, g)})
    rows = sim.edges(f"MATCH (m:Twin {{key: $m}})-[r:MemberOf]->(g:Twin {{key: $g}}) RETURN {_EDGE_ROW}", m=m, g=g)
    if not rows:
        via = sim.run("MATCH (m:Twin {key: $m})-[:MemberOf]->(x)-[:MemberOf]->{1,9}(g:Twin {key: $g}) "
                      "RETURN x.key AS k LIMIT 1", m=m, g=g)
        hint = f" (it is one through {via[0]['k']})" if via else ""
        raise WhatIfInputError(f"MEMBER {m!r} is not a direct member of {g!r}{hint}")
    before = _rights_of(sim, m)
    sim.delete(rows)
    sim.post_hooks.append(lambda: _lost_rights(sim, m, before, g))


_DERIVATION_INPUTS = {"HasInstalled", "DependsOn", "HasVulnerability", "HasService", "InZone", "CanReach",
                      "ConnectedTo", "HostedOn"}


def _plan_remove_edge(sim: _Sim) -> None:
    src_w, type_w, dst_w = sim.action.args
    by_lower = {t.lower(): t for t in REL_TYPES}
    rtype = type_w if type_w in REL_TYPES else by_lower.get(type_w.lower())
    if rtype is None:
        raise WhatIfInputError(f"TYPE {type_w!r} is not a relationship type of the twin (graph/MODEL.md)")
    src = sim.node(src_w, None, "SRC")["key"]
    dst = sim.node(dst_w, None, "DST")["key"]
    sim.action = sim.action.model_copy(update={"args": (src, rtype, dst)})
    rows = sim.edges(f"MATCH (a:Twin {{key: $a}})-[r:{rel_type(rtype)}]->(b:Twin {{key: $b}}) RETURN {_EDGE_ROW}",
                     a=src, b=dst)
    if not rows:
        back = sim.run(f"MATCH (a:Twin {{key: $b}})-[r:{rel_type(rtype)}]->(b:Twin {{key: $a}}) RETURN 1 AS x",
                       a=src, b=dst)
        hint = f" (there is {dst} -{rtype}-> {src}: edges are written src TYPE dst)" if back else ""
        raise WhatIfInputError(f"no edge {src} -{rtype}-> {dst} in the twin{hint}")
    sim.delete(rows)
    if rtype == "MemberOf":
        before = _rights_of(sim, src)
        sim.post_hooks.append(lambda: _lost_rights(sim, src, before, dst))
    elif rtype in RIGHT_EDGES:
        n = _members_count(sim, src) if sim.run("MATCH (g:Group {key: $g}) RETURN 1 AS x", g=src) else 0
        who = f"{src} (and its {n} member(s))" if n else src
        sim.brk(dst, f"{who} loses {rtype} on it", "access_lost")
    elif rtype == "HasSession":
        sim.brk(dst, f"its session on {src} ends", "session")
    elif rtype == "ConnectedTo":
        sim.brk(dst, f"loses its observed flow from {src} on "
                     f"{', '.join(map(str, rows[0]['props'].get('ports') or [])) or 'some ports'}", "flow")
    elif rtype == "HostedOn":
        sim.brk(src, f"is no longer hosted on {dst}", "unreachable")
    if rtype in _DERIVATION_INPUTS:
        sim.rederive.update(_hosts_fed_by(sim, src, dst, rtype))


def _hosts_fed_by(sim: _Sim, src: str, dst: str, rtype: str) -> list[str]:
    """The hosts whose CanExploit edges an edge of this kind feeds."""
    if rtype in ("HasService", "InZone"):
        return [src]
    if rtype in ("ConnectedTo", "HostedOn"):
        return [dst]
    if rtype == "CanReach":
        rows = sim.run("MATCH (d:Twin {key: $d}) RETURN d:Computer AS host", d=dst)
        return [dst] if rows and rows[0]["host"] else _zone_hosts(sim, dst, True)
    if rtype == "HasInstalled":
        rows = sim.run("MATCH (s:Twin {key: $s}) RETURN s:Computer AS host, "
                       "COLLECT { MATCH (s)-[:HostedOn]->(h:Computer) RETURN h.key } AS hosts", s=src)
        return [src] if rows and rows[0]["host"] else (rows[0]["hosts"] if rows else [])
    return _hosts_using(sim, [src])  # DependsOn, HasVulnerability: wherever the package is


def _hosts_using(sim: _Sim, keys: list[str]) -> list[str]:
    rows = sim.run(
        "UNWIND $keys AS k MATCH (p:Twin {key: k}) CALL (p) { "
        "  MATCH (c:Computer)-[:HasInstalled]->(p) RETURN c "
        "  UNION MATCH (app:Application)-[:HasInstalled|DependsOn]->{0,4}(p) MATCH (app)-[:HostedOn]->(c:Computer) "
        "  RETURN c UNION MATCH (c:Computer) WHERE c = p RETURN c } RETURN DISTINCT c.key AS k ORDER BY k", keys=keys)
    return [r["k"] for r in rows]


# -------------------------------------------------------------------- software actions

_SCOPE = """
MATCH (t:Twin {key: $k})
RETURN t.key AS key, labels(t) AS labels,
  CASE WHEN t:Computer THEN [t.key] ELSE COLLECT { MATCH (t)-[:HostedOn]->(h:Computer) RETURN h.key ORDER BY h.key }
  END AS hosts,
  CASE WHEN t:Computer THEN COLLECT { MATCH (a:Application)-[:HostedOn]->(t) RETURN a.key ORDER BY a.key }
  ELSE [] END AS apps
"""
_SCOPE_PACKAGES = """
UNWIND $owners AS o
MATCH (x:Twin {key: o})
CALL (x) {
  MATCH (x)-[:HasInstalled]->(p:Package) WHERE x:Computer RETURN p
  UNION
  MATCH (x)-[:HasInstalled|DependsOn]->{0,4}(p:Package) WHERE NOT x:Computer RETURN p
}
WITH DISTINCT p
OPTIONAL MATCH (p)-[hv:HasVulnerability]->(v:Vulnerability)
RETURN p.key AS key, p.name AS name, p.version AS version, coalesce(p.ecosystem, p.purl_type) AS eco,
       labels(p) AS labels,
       collect(CASE WHEN v IS NULL THEN NULL ELSE {cve: v.key, kev: coalesce(v.is_kev, false),
               fixed: hv.fixed_version, props: properties(hv)} END) AS vulns
"""


def _scope(sim: _Sim, word: str) -> dict[str, dict]:
    """The target's owners (a host and the applications hosted on it, or one
    application) and their packages with findings, as the CanExploit derivation sees them."""
    node = sim.node(word, None, "TARGET")
    rows = sim.run(_SCOPE, k=node["key"])
    row = rows[0]
    owners = [row["key"], *row["apps"]]
    sim.scope_owners = owners
    sim.scope_hosts = list(row["hosts"])
    sim.touched.update(owners)
    sim.touched.update(sim.scope_hosts)
    pkgs = {r["key"]: r for r in sim.run(_SCOPE_PACKAGES, owners=owners)}
    if not pkgs:
        raise WhatIfInputError(f"TARGET {row['key']!r} has no installed packages in the twin")
    return pkgs


def _vulns(pkgs: Iterable[dict]) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for p in pkgs:
        for v in p["vulns"]:
            out[v["cve"]] = out.get(v["cve"], False) or bool(v["kev"])
    return out


def _scope_vulns(sim: _Sim) -> dict[str, bool]:
    return _vulns(sim.run(_SCOPE_PACKAGES, owners=sim.scope_owners))


def _edges_into(sim: _Sim, pkg: str) -> list[dict]:
    """The edges that make `pkg` part of the target: the owners' HasInstalled, and
    DependsOn from an application's own packages. (A host's packages are its direct
    installs, as the CanExploit derivation reads them; their DependsOn edges are
    shared with every host of that version and are left alone.)"""
    rows = sim.edges(f"MATCH (x:Twin)-[r:HasInstalled]->(p:Twin {{key: $p}}) WHERE x.key IN $xs RETURN {_EDGE_ROW}",
                     p=pkg, xs=sim.scope_owners)
    app_pkgs = [k for k in _app_package_keys(sim) if k != pkg]
    if app_pkgs:
        rows += sim.edges(f"MATCH (x:Twin)-[r:DependsOn]->(p:Twin {{key: $p}}) WHERE x.key IN $xs "
                          f"RETURN {_EDGE_ROW}", p=pkg, xs=app_pkgs)
    return rows


def _app_package_keys(sim: _Sim) -> list[str]:
    apps = [o for o in sim.scope_owners if o not in sim.scope_hosts]
    if not apps:
        return []
    rows = sim.run("UNWIND $apps AS a MATCH (x:Twin {key: a})-[:HasInstalled|DependsOn]->{0,4}(p:Package) "
                   "RETURN collect(DISTINCT p.key) AS ks", apps=apps)
    return rows[0]["ks"] if rows else []


def _rewire(sim: _Sim, edges: list[dict], new_key: str) -> None:
    for e in edges:
        sim.delete([e])
        sim.create(e["src"], e["type"], new_key, e["props"])


def _restart_breaks(sim: _Sim, pkg: dict, what: str) -> None:
    """Services on the target's hosts that run the package restart; so do the
    applications of the target that contain it."""
    name = pkg["name"] or _purl_base(pkg["key"]).rsplit("/", 1)[-1]
    rows = sim.run(
        "UNWIND $hosts AS hk MATCH (h:Twin {key: hk})-[:HasService]->(s:Service) "
        "WHERE coalesce(toLower(s.state), 'open') = 'open' "
        "OPTIONAL MATCH (src)-[c:ConnectedTo]->(h) "
        "RETURN s.key AS key, s.port AS port, coalesce(s.protocol, 'tcp') AS proto, "
        "coalesce(s.product, '') + ' ' + coalesce(s.name, '') AS words, "
        "collect(CASE WHEN src IS NULL THEN NULL ELSE [src.key, c.ports] END) AS flows ORDER BY key",
        hosts=sim.scope_hosts)
    for s in rows:
        if not _matches(s["words"], name):
            continue
        users = sorted({f[0] for f in s["flows"] if isinstance(s["port"], int)
                        and covers(f[1], s["port"], str(s["proto"]).lower())})
        extra = f"; {len(users)} observed client(s) use it ({', '.join(users[:5])})" if users else ""
        sim.brk(s["key"], f"runs {name}: restarts to load {what}{extra}", "restart")
    apps = [o for o in sim.scope_owners if o not in sim.scope_hosts]
    if apps:
        holders = sim.run("UNWIND $apps AS a MATCH (x:Twin {key: a})-[:HasInstalled|DependsOn]->{1,4}(p:Twin {key: $p}) "
                          "RETURN DISTINCT x.key AS k ORDER BY k", apps=apps, p=pkg["key"])
        for h in holders:
            sim.brk(h["k"], f"contains {name}: rebuilt and restarted with {what}", "restart")


def _plan_patch(sim: _Sim) -> None:
    target_w, cve_w = sim.action.args
    cve = canonical_vuln_id(cve_w)
    vrow = sim.run("MATCH (v:Twin {key: $k}) RETURN v.key AS k, labels(v) AS l", k=cve)
    if not vrow or "Vulnerability" not in vrow[0]["l"]:
        raise WhatIfInputError(f"CVE {cve!r} is not in the twin")
    pkgs = _scope(sim, target_w)
    tkey = sim.scope_owners[0]
    sim.action = sim.action.model_copy(update={"args": (tkey, cve)})
    hit = [p for p in pkgs.values() if any(v["cve"] == cve for v in p["vulns"])]
    if not hit:
        raise WhatIfInputError(f"TARGET {tkey!r} has no package with {cve} in the twin")
    sim.vulns_before = _vulns(pkgs.values())
    for p in sorted(hit, key=lambda p: p["key"]):
        if p["key"] in sim.scope_owners:  # an application's own finding: the target itself
            sim.delete(sim.edges(f"MATCH (p:Twin {{key: $p}})-[r:HasVulnerability]->(v:Twin {{key: $v}}) "
                                 f"RETURN {_EDGE_ROW}", p=p["key"], v=cve))
        else:
            clone = f"{p['key']}#whatif-patched-{cve}"
            labels = [x for x in p["labels"] if x in ("Package",)]
            props = sim.run("MATCH (p:Twin {key: $p}) RETURN properties(p) AS props", p=p["key"])[0]["props"]
            props = {k: v for k, v in props.items() if k not in ("key", "source", "sources", "firstseen", "lastseen")}
            sim.add_node(clone, labels or ["Package"], {**props, "patched": [cve], "whatif_of": p["key"]})
            for e in sim.edges(f"MATCH (p:Twin {{key: $p}})-[r:HasVulnerability|DependsOn]->(x) RETURN {_EDGE_ROW}",
                               p=p["key"]):
                if not (e["type"] == "HasVulnerability" and e["dst"] == cve):
                    sim.create(clone, e["type"], e["dst"], e["props"])
            _rewire(sim, _edges_into(sim, p["key"]), clone)
        _restart_breaks(sim, p, f"the fix for {cve}")
    sim.rederive.update(sim.scope_hosts)
    sim.post_hooks.append(lambda: setattr(sim, "vulns_after", _scope_vulns(sim)))


def _plan_update(sim: _Sim) -> None:
    target_w, pkg_w, version = sim.action.args
    pkgs = _scope(sim, target_w)
    tkey = sim.scope_owners[0]
    wanted = pkg_w.strip()
    base = purl_key(wanted) if wanted.lower().startswith("pkg:") else None
    if base is not None:
        base = _purl_base(base)

    def is_it(p: dict) -> bool:
        if p["key"] in sim.scope_owners:
            return False
        if base is not None:
            return _purl_base(p["key"]) == base
        return (p["name"] or "").lower() == wanted.lower() or _purl_base(p["key"]).lower() == wanted.lower()

    olds = sorted((p for p in pkgs.values() if is_it(p)), key=lambda p: p["key"])
    if not olds:
        raise WhatIfInputError(f"PACKAGE {pkg_w!r} is not installed on {tkey} in the twin")
    bases = sorted({_purl_base(p["key"]) for p in olds})
    if len(bases) > 1:
        raise WhatIfInputError(f"PACKAGE {pkg_w!r} names several packages on {tkey}: {', '.join(bases)}; "
                               "give the purl without its version")
    base = bases[0]
    eco = olds[0]["eco"] or (base[4:].split("/", 1)[0] if base.startswith("pkg:") else None)
    new_key = purl_key(f"{base}@{version}") if base.startswith("pkg:") else f"{base}@{version}"
    if new_key is None:
        raise WhatIfInputError(f"VERSION {version!r} does not make a package URL with {base}")
    sim.action = sim.action.model_copy(update={"args": (tkey, base, version)})
    sim.vulns_before = _vulns(pkgs.values())
    olds = [p for p in olds if p["key"] != new_key]
    if not olds:
        sim.notes.append(f"{tkey} already has {new_key}: nothing changes")
        sim.post_hooks.append(lambda: setattr(sim, "vulns_after", _scope_vulns(sim)))
        return
    known = sim.run("MATCH (n:Twin {key: $k}) RETURN properties(n) AS props, labels(n) AS labels, "
                    "COLLECT { MATCH (n)-[:HasVulnerability]->(v) RETURN v.key } AS vulns", k=new_key)
    scanned = bool(known) and (bool(known[0]["vulns"]) or "trivy" in (known[0]["props"].get("sources") or []))
    if known and scanned:
        sim.notes.append(f"{new_key} is in the twin: its recorded findings ({len(known[0]['vulns'])}) are taken")
    else:
        sim.unknown = True
        why = ("is in the twin, but no scanner has reported on it" if known
               else "was never seen in the twin")
        sim.notes.append(f"{new_key} {why}: what it introduces is unknown; old findings stay unless their "
                         "fixed_version says it has the fix")
        if not known:
            sim.add_node(new_key, ["Package"], {**purl_props(new_key), "unknown_version": True}
                         if new_key.startswith("pkg:") else {"name": base, "version": version})
        sim.touched.add(new_key)
    carried: set[tuple[str, str]] = set()
    for old in olds:
        old_version = old["version"] or old["key"].rsplit("@", 1)[-1]
        if compare_versions(version, old_version, eco) < 0:
            sim.notes.append(f"{old['key']} -> {version} is a downgrade")
        if not (known and scanned):
            for v in old["vulns"]:
                fixed = fixed_in(version, v["fixed"], eco)
                if fixed is True:
                    continue
                if fixed is None:
                    sim.notes.append(f"{v['cve']}: " + (f"cannot tell whether {version} has the fix "
                                                        f"(fixed in {v['fixed']})" if v["fixed"]
                                                        else "no fixed version is known: taken to remain"))
                if ("HasVulnerability", v["cve"]) not in carried:
                    carried.add(("HasVulnerability", v["cve"]))
                    sim.create(new_key, "HasVulnerability", v["cve"], {**v["props"], "installed_version": version})
            if not known:
                for e in sim.edges(f"MATCH (p:Twin {{key: $p}})-[r:DependsOn]->(x) RETURN {_EDGE_ROW}", p=old["key"]):
                    if ("DependsOn", e["dst"]) not in carried:
                        carried.add(("DependsOn", e["dst"]))
                        sim.create(new_key, "DependsOn", e["dst"], e["props"])
        into = _edges_into(sim, old["key"])
        _constraint_breaks(sim, old, into, version, eco, sorted(pkgs))
        _rewire(sim, into, new_key)
        _restart_breaks(sim, old, f"{old['name'] or base} {version}")
    sim.rederive.update(sim.scope_hosts)
    sim.post_hooks.append(lambda: setattr(sim, "vulns_after", _scope_vulns(sim)))


def _constraint_breaks(sim: _Sim, old: dict, into: list[dict], version: str, eco: str | None,
                       scope_pkgs: list[str]) -> None:
    """Dependents whose recorded constraint VERSION does not meet break; a major-version
    jump under dependents that recorded none is a risk."""
    shared = sim.edges(f"MATCH (x:Package)-[r:DependsOn]->(p:Twin {{key: $p}}) WHERE x.key IN $xs RETURN {_EDGE_ROW}",
                       p=old["key"], xs=[k for k in scope_pkgs if k != old["key"]])
    seen: set[tuple[str, str]] = set()
    old_version = old["version"] or ""
    major_jump = bool(_numbers(old_version)[:1] and _numbers(version)[:1]
                      and _numbers(old_version)[0] != _numbers(version)[0])
    name = old["name"] or _purl_base(old["key"])
    for e in into + shared:
        c = e["props"].get("version_constraint")
        if (e["src"], str(c)) in seen:
            continue
        seen.add((e["src"], str(c)))
        if c:
            ok = satisfies(version, c, eco)
            if ok is False:
                sim.brk(e["src"], f"requires {name} {c}; {version} does not satisfy it", "incompatible")
            elif ok is None:
                sim.notes.append(f"{e['src']} requires {name} {c!r}, a constraint that cannot be read")
        elif major_jump and e["type"] == "DependsOn" and (eco or "").lower() not in _OS_TYPES:
            sim.brk(e["src"], f"depends on {name}, which jumps major version {old_version} -> {version} "
                              "(no constraint recorded)", "risk")


PLANNERS: dict[str, Callable[[_Sim], None]] = {
    "isolate": _plan_isolate, "disable": _plan_disable, "remove-member": _plan_remove_member,
    "remove-edge": _plan_remove_edge, "block": _plan_block, "expose": _plan_expose,
    "patch": _plan_patch, "update": _plan_update,
}


# -------------------------------------------------------------------- derivation and checksum


def _rederive(sim: _Sim, hosts: list[str]) -> None:
    """Recompute CanExploit into `hosts` on the transaction's state and swap the edges."""
    if not hosts:
        return
    old = sim.run(f"MATCH (a)-[r:CanExploit]->(c:Twin) WHERE c.key IN $hosts RETURN {_EDGE_ROW}", hosts=hosts)
    new = exploit_rows(sim.run, hosts)
    old_pairs = {(r["src"], r["dst"]): r["props"] for r in old}
    new_pairs = {(r["src"], r["dst"]): r["props"] for r in new}
    if old:
        sim.run("UNWIND $ids AS id MATCH ()-[r]->() WHERE elementId(r) = id DELETE r", ids=[r["id"] for r in old])
    if new:
        sim.run("UNWIND $rows AS row MATCH (a:Twin {key: row.src}) MATCH (b:Twin {key: row.dst}) "
                "CREATE (a)-[r:CanExploit]->(b) SET r = row.props, r.source = 'whatif', r.sources = ['whatif']",
                rows=new)
    for pair in sorted(set(old_pairs) - set(new_pairs)):
        p = old_pairs[pair]
        sim.exploit_removed.append(ExploitEdge(src=pair[0], dst=pair[1], cve=p.get("cve"), port=p.get("port"),
                                               cves=list(p.get("cves") or [])))
    for pair in sorted(set(new_pairs) - set(old_pairs)):
        p = new_pairs[pair]
        sim.exploit_added.append(ExploitEdge(src=pair[0], dst=pair[1], cve=p.get("cve"), port=p.get("port"),
                                             cves=list(p.get("cves") or [])))
    changed = [pair for pair in set(old_pairs) & set(new_pairs)
               if (old_pairs[pair].get("cves"), old_pairs[pair].get("port")) != (new_pairs[pair].get("cves"),
                                                                                   new_pairs[pair].get("port"))]
    sim.changed.update(pair[1] for pair in set(old_pairs) ^ set(new_pairs))
    sim.changes["exploit_edges_removed"] += len(set(old_pairs) - set(new_pairs))
    sim.changes["exploit_edges_added"] += len(set(new_pairs) - set(old_pairs))
    sim.changes["exploit_edges_changed"] += len(changed)


def _derivation_sources(run: Run, hosts: list[str]) -> set[str]:
    """Every node a recomputed CanExploit edge into `hosts` could start from: zones, the
    internet, and observed peers. They are part of the touched subgraph."""
    if not hosts:
        return set()
    rows = run("MATCH (z) WHERE z:Zone OR z:Internet RETURN collect(z.key) AS ks")
    keys = set(rows[0]["ks"]) if rows else set()
    rows = run("MATCH (a)-[:ConnectedTo|CanExploit]->(c:Twin) WHERE c.key IN $hosts RETURN collect(DISTINCT a.key) AS ks",
               hosts=hosts)
    keys.update(rows[0]["ks"] if rows else [])
    return keys


_FINGERPRINT = """
MATCH (n:Twin) WHERE n.key IN $keys
RETURN n.key AS key, labels(n) AS labels, properties(n) AS props,
       COLLECT { MATCH (n)-[r]->(m:Twin) WHERE m.key IN $keys
                 RETURN [type(r), m.key, properties(r)] } AS out
"""


def fingerprint(run: Run, keys: Iterable[str]) -> str:
    """SHA-256 of the subgraph induced by `keys`: every node's labels and properties,
    every edge among them with its type and properties (parallel edges included)."""
    keys = sorted(set(keys))
    h = hashlib.sha256()
    if not keys:
        return h.hexdigest()
    rows = sorted(run(_FINGERPRINT, keys=keys), key=lambda r: r["key"])
    for r in rows:
        out = sorted(json.dumps(e, sort_keys=True, default=str) for e in r["out"])
        h.update(json.dumps([r["key"], sorted(r["labels"]), r["props"], out], sort_keys=True,
                            default=str).encode())
    h.update(f"|{len(rows)}".encode())
    return h.hexdigest()


def _counts(run: Run) -> tuple[int, int]:
    n = run("MATCH (n) RETURN count(n) AS c")[0]["c"]
    r = run("MATCH ()-[r]->() RETURN count(r) AS c")[0]["c"]
    return n, r


# -------------------------------------------------------------------- simulate


def simulate(
    driver: neo4j.Driver,
    database: str | None,
    action: Action | list[str],
    *,
    goals: list[str] | None = None,
    sources: list[str] | None = None,
    entry_points: tuple[str, ...] = ("internet", "phishable_users"),
    compromised: list[str] | None = None,
    max_hops: int = 6,
    as_of: str | int | float | None = None,
    listed: int = 25,
    on_stage: Callable[[str], None] | None = None,
    baseline: Exposure | None = None,
    workers: int = 2,
    tx_timeout: float = 60.0,
) -> WhatIfResult:
    """Simulate one action inside one write transaction that is always rolled back.

    `goals` (keys) narrows what paths are counted to (default: every crown jewel and
    tier-0 node); `sources` replaces the entry points; `listed` caps the paths listed
    (counts are always complete). `on_stage(name)` is called at "planned", "applied" and
    "counted" (tests kill the process there). `baseline` reuses a before-exposure that
    `rank` computed once for the same goals and scope; otherwise the before-count runs
    on the committed twin in `workers` read sessions while the transaction plans and
    applies the change. Raises WhatIfInputError for bad input (exit 2), WhatIfError
    when the twin could not be used (exit 1).

    The transaction carries `tx_timeout` (seconds) and a metadata token. If the
    connection drops, the server may keep the orphaned transaction - uncommitted, so
    invisible, but holding its locks - until it notices; simulate then terminates it
    by its token over a fresh connection, and when even that fails the timeout bounds
    how long its locks can block writers."""
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    t0 = time.perf_counter()
    act = action if isinstance(action, Action) else Action.from_argv(action)
    try:
        when = parse_time(as_of)
    except ValueError as exc:
        raise WhatIfInputError(f"as_of: {exc}") from None
    scope = PathScope(goals=goals, sources=sources, entry_points=tuple(entry_points),
                      compromised=list(compromised or []), max_hops=_hops(max_hops), as_of=when)
    stage = on_stage or (lambda _name: None)
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        with driver.session(database=database, notifications_min_severity="OFF") as session:
            read = _runner(session)
            counts_before = _counts(read)
            goal_rows = resolve_goals(read, scope)
            if scope.goals is not None and len(goal_rows) < len(scope.goals):
                missing = sorted(set(scope.goals) - {g["key"] for g in goal_rows})
                raise WhatIfInputError(f"goal {missing[0]!r} is not in the twin")
            pending = None if baseline is not None else pool.submit(
                exposure_parallel, driver, database, scope, goal_rows, workers)
            token = uuid.uuid4().hex
            tx = session.begin_transaction(metadata={"twinsight_whatif": token, "action": act.text[:200]},
                                           timeout=tx_timeout)
            try:
                run = _runner(tx)
                sim = _Sim(run, act)
                PLANNERS[act.verb](sim)
                rederive = sorted(sim.rederive)
                sim.touched.update(rederive)
                sim.touched.update(_derivation_sources(run, rederive))
                sim.touched.update(n["key"] for n in sim.new_nodes)
                sim.touched.update(c["dst"] for c in sim.to_create)
                keys = sorted(sim.touched)
                fp_before = fingerprint(run, keys)
                stage("planned")
                sim.apply()
                _rederive(sim, rederive)
                for hook in sim.post_hooks:
                    hook()
                stage("applied")
                before = baseline if baseline is not None else pending.result()
                changed = set(keys_of_ids(run, sim.changed)) if sim.changed else set()
                affected = before.affected(changed)
                entries = entry_ids(run, scope) if sim.props_changed else before.entries
                fresh = reach(run, scope, [g for g in goal_rows if g["key"] in affected]) if affected else {}
                after = Exposure({**before.reach, **fresh}, entries, before.own)
                added = {g: after.pairs(g) - before.pairs(g) for g in after.reach}
                added_pairs = _name_pairs(run, added, listed)
                paths_added = _pair_paths(run, scope, added_pairs) if added_pairs else []
                stage("counted")
            finally:
                with contextlib.suppress(DriverError, OSError):  # a dead connection: the server rolls back
                    if not tx.closed():
                        tx.rollback()
                with contextlib.suppress(DriverError, OSError):
                    tx.close()
            fp_after = fingerprint(read, keys)
            counts_after = _counts(read)
            removed = {g: before.pairs(g) - after.pairs(g) for g in before.reach}
            removed_pairs = _name_pairs(read, removed, listed)
            paths_removed = _pair_paths(read, scope, removed_pairs) if removed_pairs else []
    except (WhatIfInputError, WhatIfError):
        raise
    except Neo4jError as exc:
        raise WhatIfError(f"Neo4j refused the simulation of {act.text!r}: {exc.message or exc}") from None
    except (DriverError, OSError) as exc:
        done = "token" in locals() and _terminate(driver, database, token)
        how = ("its transaction was terminated" if done else
               f"the server rolls the uncommitted change back (at the latest after {tx_timeout:g} s)")
        raise WhatIfError(f"lost the twin during the simulation of {act.text!r} ({type(exc).__name__}); "
                          f"{how}") from None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    unchanged = fp_before == fp_after and counts_before == counts_after
    if not unchanged:
        sim.notes.append("the twin differs from before the simulation: something else wrote to it meanwhile, "
                         f"or the rollback failed (counts {counts_before} -> {counts_after})")
    gained = sorted(set(sim.vulns_after) - set(sim.vulns_before))
    lost = sorted(set(sim.vulns_before) - set(sim.vulns_after))
    n_removed = sum(len(v) for v in removed.values())
    n_added = sum(len(v) for v in added.values())
    if n_removed > len(paths_removed):
        sim.notes.append(f"{n_removed} paths removed, {len(paths_removed)} listed")
    return WhatIfResult(
        action=sim.action.text, argv=sim.action.argv,
        paths_before=before.total(), paths_after=after.total(),
        paths_removed=paths_removed, paths_removed_count=n_removed,
        paths_added=paths_added, paths_added_count=n_added,
        vulns_gained=gained, vulns_lost=lost,
        kev_gained=[c for c in gained if sim.vulns_after.get(c)], kev_lost=[c for c in lost if sim.vulns_before.get(c)],
        breaks=sim.breaks, twin_unchanged=unchanged, unknown=sim.unknown, notes=sim.notes,
        exploit_edges_added=sim.exploit_added, exploit_edges_removed=sim.exploit_removed,
        changes=dict(sim.changes), goals=[g["key"] for g in goal_rows], entry_points=scope.describe(),
        max_hops=scope.max_hops, seconds=round(time.perf_counter() - t0, 3),
    )


def _terminate(driver: neo4j.Driver, database: str | None, token: str) -> bool:
    """Terminate an orphaned simulation transaction by its metadata token, over a new
    connection; False when the server cannot be reached (its timeout then applies)."""
    try:
        with driver.session(database=database, notifications_min_severity="OFF") as s:
            ids = [r["transactionId"] for r in s.run(
                "SHOW TRANSACTIONS YIELD transactionId, metaData WHERE metaData.twinsight_whatif = $t "
                "RETURN transactionId", t=token)]
            if ids:
                s.run("TERMINATE TRANSACTIONS $ids", ids=ids).consume()
            return True
    except Exception:  # best effort: the connection is what just failed
        return False


def keys_of_ids(run: Run, keys: Iterable[str]) -> list[int]:
    """Internal ids of the nodes with these keys (what reach sets hold)."""
    rows = run("MATCH (n:Twin) WHERE n.key IN $keys RETURN collect(id(n)) AS ids", keys=sorted(set(keys)))
    return rows[0]["ids"] if rows else []


def _name_pairs(run: Run, by_goal: dict[str, frozenset[int]], listed: int) -> list[tuple[str, str]]:
    """The first `listed` (entry key, goal) pairs, by goal then entry key."""
    if listed <= 0:
        return []
    out: list[tuple[str, str]] = []
    for goal in sorted(by_goal):
        ids = sorted(by_goal[goal])[:5000]
        names = keys_of(run, ids)
        out += sorted((names[i], goal) for i in ids if i in names)[: max(0, listed - len(out))]
        if len(out) >= listed:
            break
    return out


def _hops(value: int) -> int:
    try:
        return _check_int(value, 1, 10, "max_hops")
    except Exception:
        raise WhatIfInputError("max_hops must be an integer from 1 to 10") from None


# ====================================================================== rank


def _pred_query(timed: bool) -> str:
    t = rel_alternation(TRAVERSABLE)
    when = " WHERE NOT type(r) IN $timed OR (r.firstseen <= $hi AND r.lastseen >= $lo)" if timed else ""
    return (
        "UNWIND $frontier AS fid\n"
        "MATCH (y) WHERE id(y) = fid\n"
        f"MATCH (x)-[r:{t}]->(y){when}\n"
        "RETURN id(x) AS x, collect([type(r), id(y), elementId(r)]) AS via"
    )


class ShortestDag:
    """Every shortest path towards the anchors, within the hop bound, as a layered DAG:
    for each node the edges that start one of its shortest paths. Built one layer per
    query; a SHORTEST path per entry point is far slower when tens of thousands of entry
    points reach a goal (see reach_query).

    Its dominators give each candidate a tight upper bound: an entry point loses every
    path only if every shortest path of it crossed what the action removes, i.e. only if
    that node dominates it (or that edge is the only way out of a node that does)."""

    ROOT = -1

    def __init__(self, run: Run, scope: PathScope, anchor_ids: set[int]) -> None:
        self.succ: dict[int, list[tuple[str, int, str]]] = {a: [] for a in anchor_ids}
        self.order: list[int] = sorted(anchor_ids)
        frontier = sorted(anchor_ids)
        query = _pred_query(scope.as_of is not None)
        for _ in range(scope.max_hops):
            if not frontier:
                break
            nxt = []
            for row in run(query, {**scope.params(), "frontier": frontier}):
                if row["x"] not in self.succ:
                    self.succ[row["x"]] = [(v[0], v[1], v[2]) for v in row["via"]]
                    nxt.append(row["x"])
            nxt.sort()
            self.order += nxt
            frontier = nxt
        self.idom: dict[int, int] = {}
        depth: dict[int, int] = {self.ROOT: 0}
        for x in self.order:  # successors come first: they sit one layer closer to the anchors
            ys = [y for _, y, _ in self.succ[x]]
            if not ys:
                d = self.ROOT
            else:
                d = ys[0]
                for y in ys[1:]:
                    d = self._lca(d, y, depth)
            self.idom[x] = d
            depth[x] = depth[d] + 1

    def _lca(self, a: int, b: int, depth: dict[int, int]) -> int:
        while a != b:
            if depth[a] >= depth[b]:
                a = self.idom.get(a, self.ROOT)
            else:
                b = self.idom.get(b, self.ROOT)
        return a

    def dominated(self, entries: Iterable[int]) -> dict[int, int]:
        """node id -> how many entry points it dominates (itself included)."""
        cnt: Counter[int] = Counter({e: 1 for e in entries if e in self.succ})
        for x in reversed(self.order):
            if cnt[x]:
                cnt[self.idom[x]] += cnt[x]
        return cnt

    def tree_paths(self, entries: Iterable[int]) -> list[list[tuple[int, str, int, str]]]:
        """One shortest path per entry point, as steps (src id, type, dst id, edge id)."""
        out = []
        for e in sorted(entries):
            steps, node = [], e
            while self.succ.get(node):
                rtype, nxt, eid = self.succ[node][0]
                steps.append((node, rtype, nxt, eid))
                node = nxt
            if steps:
                out.append(steps)
        return out


class _Candidate:
    __slots__ = ("action", "bound")

    def __init__(self, action: Action, bound: int) -> None:
        self.action = action
        self.bound = bound


def _candidates(run: Run, dag: ShortestDag, entries: frozenset[int], own: set[int],
                pool: int) -> dict[tuple[str, ...], _Candidate]:
    """Single actions that cut the paths, each with an upper bound of the entry points it
    can cut off: the smaller of the shortest-path dominator count (see ShortestDag) and
    the number of tree paths crossing what it removes (a disconnected entry point's
    tree path is one of its shortest paths, so it crosses it too). Only the `pool`
    nodes and edges with the highest bounds become actions."""
    paths = dag.tree_paths(entries)
    dom = dag.dominated(entries)
    node_hits: dict[int, set[int]] = defaultdict(set)
    edge_hits: dict[str, set[int]] = defaultdict(set)
    edge_of: dict[str, tuple[int, str, int]] = {}
    for i, steps in enumerate(paths):
        for src, rtype, dst, eid in steps:
            if src not in own:
                node_hits[src].add(i)
            edge_hits[eid].add(i)
            edge_of[eid] = (src, rtype, dst)

    def node_bound(n: int) -> int:
        return min(len(node_hits.get(n, ())), dom.get(n, 0))

    def edge_bound(eid: str) -> int:
        src = edge_of[eid][0]
        only_way = len(dag.succ.get(src, ())) == 1
        return min(len(edge_hits[eid]), dom.get(src, 0) if only_way else 0)

    top_nodes = [n for n in sorted(node_hits, key=lambda n: (-node_bound(n), n))[:pool] if node_bound(n) > 0]
    exploits = [e for e in edge_hits if edge_of[e][1] in ("CanExploit", "ConnectedTo")]
    top_edges = [e for e in sorted((e for e in edge_hits if edge_of[e][1] != "InZone"),
                                   key=lambda e: (-edge_bound(e), e))[:pool] if edge_bound(e) > 0]
    ids = set(top_nodes) | {edge_of[e][i] for e in set(top_edges) | set(exploits) for i in (0, 2)}
    info = {r["i"]: r for r in run("MATCH (n) WHERE id(n) IN $ids RETURN id(n) AS i, n.key AS k, labels(n) AS l, "
                                   "COLLECT { MATCH (n)-[:InZone]->(z:Zone) RETURN z.key } AS zones",
                                   ids=sorted(ids))}
    details = {r["e"]: r for r in run(
        "UNWIND $eids AS eid MATCH ()-[r]->() WHERE elementId(r) = eid "
        "RETURN eid AS e, r.cve AS cve, r.cves AS cves, r.port AS port, r.ports AS ports",
        eids=sorted(set(exploits)))}
    cands: dict[tuple[str, ...], _Candidate] = {}

    def add(bound: int, verb: str, *args: str) -> None:
        if bound <= 0:
            return
        act = Action(verb=verb, args=tuple(args))
        have = cands.get(tuple(act.argv))
        if have is None or have.bound < bound:
            cands[tuple(act.argv)] = _Candidate(act, bound)

    for n in top_nodes:
        node = info.get(n)
        if node and "User" in node["l"]:
            add(node_bound(n), "disable", node["k"])
        elif node and "Computer" in node["l"]:
            add(node_bound(n), "isolate", node["k"])
    # a zone block closes the exploits from FROM into the zone and the flows between
    # the zones' hosts: the tree paths crossing any of them bound what it can cut
    between: dict[tuple[str, str], set[int]] = defaultdict(set)
    into_host: dict[int, set[int]] = defaultdict(set)
    for eid in exploits:
        src, rtype, dst = edge_of[eid]
        if src not in info or dst not in info:
            continue
        if rtype == "CanExploit":
            into_host[dst] |= edge_hits[eid]
        froms = set(info[src]["zones"]) | ({info[src]["k"]} if "Computer" not in info[src]["l"] else set())
        for f in froms:
            for z in info[dst]["zones"]:
                between[(f, z)] |= edge_hits[eid]
    for eid in exploits:  # every exploit and flow: patches and blocks are bounded otherwise
        src, rtype, dst = edge_of[eid]
        if src not in info or dst not in info:
            continue
        a, b, bound = info[src]["k"], info[dst]["k"], edge_bound(eid)
        d = details.get(eid) or {}
        if rtype == "CanExploit":
            for c in (list(d.get("cves") or []) or [d.get("cve")])[:3]:
                if c:
                    add(min(len(into_host[dst]), dom.get(dst, 0)), "patch", b, c)
            port = d.get("port")
            if port and parse_port_spec(port):
                if "Computer" in info[src]["l"]:
                    add(bound, "block", a, b, str(port))
                for z in info[dst]["zones"]:
                    if z != a:
                        add(len(between[(a, z)]), "block", a, z, str(port))
        else:
            for pt in list(d.get("ports") or [])[:3]:
                if parse_port_spec(pt):
                    add(bound, "block", a, b, str(pt))
    for eid in top_edges:
        src, rtype, dst = edge_of[eid]
        if src in info and dst in info and rtype not in ("CanExploit", "ConnectedTo"):
            a, b = info[src]["k"], info[dst]["k"]
            if rtype == "MemberOf":
                add(edge_bound(eid), "remove-member", a, b)
            else:
                add(edge_bound(eid), "remove-edge", a, rtype, b)
    return cands


def rank(
    driver: neo4j.Driver,
    database: str | None,
    target: str,
    top: int = 10,
    sources: list[str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    *,
    max_hops: int = 6,
    max_candidates: int | None = None,
    entry_points: tuple[str, ...] = ("internet", "phishable_users"),
    compromised: list[str] | None = None,
    as_of: str | int | float | None = None,
) -> list[RankedAction]:
    """Single actions ranked by attack paths removed to `target` (from the entry points,
    or from `sources`), then least breakage, then ACTION_COST; each one simulated in its
    own rolled-back transaction. Candidates - users to disable, memberships and other
    edges to remove, hosts to isolate, CVEs to patch, flows to block - come from the
    shortest paths of the entry points to the target (ShortestDag); each carries an
    upper bound of the paths it can remove. The `max_candidates` (default 2*top + 10)
    with the highest bounds are simulated in that order, stopping once no remaining
    bound can reach the top N.
    Actions that remove nothing are left out. `progress(done, total, text)` after each."""
    if not isinstance(top, int) or isinstance(top, bool) or not 1 <= top <= 100:
        raise WhatIfInputError("--top must be a whole number from 1 to 100")
    try:
        when = parse_time(as_of)
    except ValueError as exc:
        raise WhatIfInputError(f"as_of: {exc}") from None
    scope = PathScope(goals=[target], sources=sources, entry_points=tuple(entry_points),
                      compromised=list(compromised or []), max_hops=_hops(max_hops), as_of=when)
    limit = max_candidates if max_candidates is not None else 2 * top + 10
    try:
        with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS, notifications_min_severity="OFF") as session:
            run = _runner(session)
            found = run("MATCH (n:Twin) WHERE n.key IN [$k, toUpper($k)] RETURN n.key AS k "
                        "ORDER BY CASE WHEN n.key = $k THEN 0 ELSE 1 END LIMIT 1", k=target)
            if not found:
                raise WhatIfInputError(f"--target {target!r} is not in the twin")
            target = found[0]["k"]
            scope.goals = [target]
            goal_rows = resolve_goals(run, scope)
            baseline = exposure(run, scope, goal_rows)
            own = set(baseline.own.get(target, frozenset()))
            anchors = set(keys_of_ids(run, goal_rows[0]["anchors"])) if goal_rows and goal_rows[0]["anchors"] else set()
            dag = ShortestDag(run, scope, anchors)
            cands = _candidates(run, dag, baseline.pairs(target), own, pool=max(4 * limit, 100))
    except (WhatIfInputError, WhatIfError):
        raise
    except Neo4jError as exc:
        raise WhatIfError(f"Neo4j refused the ranking for {target!r}: {exc.message or exc}") from None
    except (DriverError, OSError) as exc:
        raise WhatIfError(f"lost the twin while ranking actions for {target!r} ({type(exc).__name__})") from None
    order = sorted(cands.values(), key=lambda c: (-c.bound, ACTION_COST[c.action.verb], c.action.text))[:limit]
    results: list[RankedAction] = []
    before_total = baseline.total()
    for i, cand in enumerate(order, 1):
        kept = sorted((r for r in results if r.paths_removed > 0),
                      key=lambda r: (-r.paths_removed, len(r.breaks), r.cost, r.action))
        if len(kept) >= top and cand.bound < kept[top - 1].paths_removed:
            if progress:
                progress(i - 1, i - 1, "no remaining candidate can enter the top; stopped")
            break
        try:
            res = simulate(driver, database, cand.action, goals=[target], sources=sources,
                           entry_points=tuple(entry_points), compromised=compromised, max_hops=scope.max_hops,
                           as_of=when, listed=0, baseline=baseline)
        except WhatIfInputError as exc:  # a candidate the twin cannot take
            if progress:
                progress(i, len(order), f"{cand.action.text}: skipped ({exc})")
            continue
        results.append(RankedAction(
            action=res.action, argv=res.argv, verb=cand.action.verb, target=res.argv[1], goal=target,
            paths_before=before_total, paths_after=res.paths_after, paths_removed=res.paths_removed_count,
            breaks=res.breaks, cost=ACTION_COST[cand.action.verb], bound=cand.bound,
            vulns_lost=res.vulns_lost, twin_unchanged=res.twin_unchanged, seconds=res.seconds))
        if progress:
            progress(i, len(order), f"{res.action}: removes {res.paths_removed_count}")
    ranked = sorted((r for r in results if r.paths_removed > 0),
                    key=lambda r: (-r.paths_removed, len(r.breaks), r.cost, r.action))
    return ranked[:top]


# ====================================================================== argv, CLI

_OPTS_INT = {"--top": "top", "--max-hops": "max_hops", "--listed": "listed"}
_OPTS_STR = {"--target": "target", "--as-of": "as_of"}
_OPTS_LIST = {"--source": "sources", "--goal": "goals", "--compromised": "compromised"}


def parse_argv(argv: Iterable[str]) -> tuple[list[str], dict[str, Any]]:
    """Split CLI words into the action's words and options (`--top 5`, `--top=5`,
    `--target KEY`, `--max-hops N`, `--as-of T`, `--source KEY`..., `--goal KEY`...)."""
    words, opts = [], {}
    items = [str(w) for w in argv]
    i = 0
    while i < len(items):
        w = items[i]
        if w.startswith("--") and w != "--":
            name, eq, value = w.partition("=")
            if name == "--json":
                i += 1
                continue
            if name not in _OPTS_INT and name not in _OPTS_STR and name not in _OPTS_LIST:
                raise WhatIfInputError(f"unknown option {name!r} (known: "
                                       f"{', '.join([*_OPTS_INT, *_OPTS_STR, *_OPTS_LIST])})")
            if not eq:
                if i + 1 >= len(items):
                    raise WhatIfInputError(f"{name} needs a value")
                value = items[i + 1]
                i += 1
            if name in _OPTS_INT:
                if not value.strip().isdigit():
                    raise WhatIfInputError(f"{name} takes a whole number, not {value!r}")
                opts[_OPTS_INT[name]] = int(value)
            elif name in _OPTS_STR:
                opts[_OPTS_STR[name]] = value
            else:
                opts.setdefault(_OPTS_LIST[name], []).append(value)
        else:
            words.append(w)
        i += 1
    return words, opts


def run_whatif_argv(driver: neo4j.Driver, database: str | None, argv: Iterable[str],
                    progress: Callable[[int, int, str], None] | None = None) -> dict:
    """What `twinsight whatif ... --json` prints, from the CLI words: contract section 7
    for an action; for `rank`, {"action", "target", "paths_before", "ranking": [...],
    "candidates_simulated", "twin_unchanged", "seconds"}."""
    words, opts = parse_argv(argv)
    if words and words[0].lower() == "rank":
        if len(words) > 1:
            raise WhatIfInputError(f"unexpected {words[1]!r}: usage: whatif {USAGE['rank']}")
        if not opts.get("target"):
            raise WhatIfInputError(f"rank needs --target KEY: usage: whatif {USAGE['rank']}")
        top = opts.get("top", 10)
        t0 = time.perf_counter()
        done: list[int] = [0]

        def tick(i: int, n: int, text: str) -> None:
            done[0] = max(done[0], i)
            if progress:
                progress(i, n, text)

        ranked = rank(driver, database, opts["target"], top=top, sources=opts.get("sources"), progress=tick,
                      max_hops=opts.get("max_hops", 6), compromised=opts.get("compromised"),
                      as_of=opts.get("as_of"))
        before = ranked[0].paths_before if ranked else _paths_to(driver, database, opts)
        return {
            "action": shlex.join(["rank", "--target", opts["target"], "--top", str(top)]),
            "target": ranked[0].goal if ranked else opts["target"],
            "paths_before": before,
            "ranking": [r.model_dump(mode="json") for r in ranked],
            "candidates_simulated": done[0],
            "twin_unchanged": all(r.twin_unchanged for r in ranked),
            "seconds": round(time.perf_counter() - t0, 3),
        }
    bad = sorted(set(opts) - {"max_hops", "as_of", "sources", "goals", "compromised", "listed"})
    if bad:
        raise WhatIfInputError(f"--{bad[0].replace('_', '-')} is only for rank")
    action = Action.from_argv(words)
    res = simulate(driver, database, action, goals=opts.get("goals"), sources=opts.get("sources"),
                   compromised=opts.get("compromised"), max_hops=opts.get("max_hops", 6),
                   as_of=opts.get("as_of"), listed=opts.get("listed", 25))
    return res.contract()


def _paths_to(driver: neo4j.Driver, database: str | None, opts: dict) -> int:
    scope = PathScope(goals=[opts["target"]], sources=opts.get("sources"), compromised=opts.get("compromised") or [],
                      max_hops=_hops(opts.get("max_hops", 6)))
    with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS, notifications_min_severity="OFF") as session:
        run = _runner(session)
        found = run("MATCH (n:Twin) WHERE n.key IN [$k, toUpper($k)] RETURN n.key AS k LIMIT 1", k=opts["target"])
        if found:
            scope.goals = [found[0]["k"]]
        return exposure(run, scope, resolve_goals(run, scope)).total()


def _render(doc: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if "ranking" in doc:
        table = Table(title=f"What-if ranking for {doc['target']}: {doc['paths_before']} attack paths now")
        for col in ("#", "action", "paths removed", "after", "breaks", "cost"):
            table.add_column(col, justify="right" if col not in ("action",) else "left")
        for i, r in enumerate(doc["ranking"], 1):
            table.add_row(str(i), r["action"], str(r["paths_removed"]), str(r["paths_after"]),
                          str(len(r["breaks"])), f"{r['cost']:g}")
        console.print(table)
        console.print(f"{doc['candidates_simulated']} candidates simulated in {doc['seconds']} s; "
                      f"twin unchanged: {doc['twin_unchanged']}")
        return
    table = Table(title=f"What-if: {doc['action']}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("attack paths", f"{doc['paths_before']} -> {doc['paths_after']} "
                                  f"(removed {doc['paths_removed_count']}, added {doc['paths_added_count']})")
    table.add_row("vulnerabilities lost", ", ".join(doc["vulns_lost"]) or "-")
    table.add_row("vulnerabilities gained", ", ".join(doc["vulns_gained"]) or "-")
    table.add_row("breaks", str(len(doc["breaks"])))
    table.add_row("twin unchanged", str(doc["twin_unchanged"]))
    if doc.get("unknown"):
        table.add_row("unknown", "yes: see notes")
    console.print(table)
    if doc["paths_removed"]:
        paths = Table(title="paths removed (as they were)")
        paths.add_column("goal")
        paths.add_column("path")
        for p in doc["paths_removed"]:
            steps = [p["nodes"][0]]
            for e, n in zip(p["edges"], p["nodes"][1:], strict=False):
                steps.append(f"-{e}-> {n}")
            paths.add_row(p.get("goal") or "", " ".join(steps))
        console.print(paths)
    if doc["breaks"]:
        brk = Table(title="what breaks")
        for col in ("key", "kind", "reason"):
            brk.add_column(col)
        for b in doc["breaks"][:50]:
            brk.add_row(b["key"], b.get("kind", ""), b["reason"])
        console.print(brk)
        if len(doc["breaks"]) > 50:
            console.print(f"... and {len(doc['breaks']) - 50} more (--json for all)")
    for note in doc.get("notes") or []:
        console.print(f"note: {note}")


def whatif_command(argv: list[str], json_out: bool = False) -> int:
    """The body of `twinsight whatif ACTION ... [--json]`: 0 done, 1 the twin could not
    be used, 2 bad usage or input (one line on stderr naming the bad argument)."""
    from graph.db import TwinConnectionError, open_driver
    from graph.settings import Neo4jSettings

    words = [str(w) for w in argv]
    json_out = json_out or "--json" in words
    try:  # usage errors before touching the twin
        action_words, opts = parse_argv(words)
        if action_words and action_words[0].lower() == "rank":
            if len(action_words) > 1 or not opts.get("target"):
                raise WhatIfInputError(f"usage: whatif {USAGE['rank']}")
        else:
            Action.from_argv(action_words)
    except WhatIfInputError as exc:
        print(f"twinsight whatif: {exc}", file=sys.stderr)
        return 2
    try:
        settings = Neo4jSettings.from_env()
        driver = open_driver(settings)
    except TwinConnectionError as exc:
        print(f"twinsight whatif: {exc}", file=sys.stderr)
        return 1

    def progress(i: int, n: int, text: str) -> None:
        print(f"[{i}/{n}] {text}", file=sys.stderr, flush=True)

    try:
        doc = run_whatif_argv(driver, settings.database, words, progress=progress)
    except WhatIfInputError as exc:
        print(f"twinsight whatif: {exc}", file=sys.stderr)
        return 2
    except WhatIfError as exc:
        print(f"twinsight whatif: {exc}", file=sys.stderr)
        return 1
    finally:
        with contextlib.suppress(Exception):
            driver.close()
    if json_out:
        print(json.dumps(doc, default=str))
    else:
        _render(doc)
    return 0
