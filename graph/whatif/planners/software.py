"""Software planners: `patch TARGET CVE` and `update TARGET PACKAGE VERSION` (graph/MODEL.md,
"What-if"). A change is scoped to one target - a host and the applications on it, or
one application - so packages shared with other owners are copied or rewired for the
target alone; what a new version fixes is judged by graph/whatif/versions.py."""

from __future__ import annotations

from collections.abc import Iterable

from graph.derive.exploit import covers, service_runs_package
from graph.ingest._vulnshared import canonical_vuln_id, purl_key, purl_props
from graph.whatif.errors import WhatIfInputError
from graph.whatif.planners.base import EDGE_ROW, Sim
from graph.whatif.versions import OS_TYPES, compare_versions, fixed_in, release_numbers, satisfies

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


def _scope(sim: Sim, word: str) -> dict[str, dict]:
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


def _scope_vulns(sim: Sim) -> dict[str, bool]:
    return _vulns(sim.run(_SCOPE_PACKAGES, owners=sim.scope_owners))


def _edges_into(sim: Sim, pkg: str) -> list[dict]:
    """The edges that make `pkg` part of the target: the owners' HasInstalled, and
    DependsOn from an application's own packages. (A host's packages are its direct
    installs, as the CanExploit derivation reads them; their DependsOn edges are
    shared with every host of that version and are left alone.)"""
    rows = sim.edges(f"MATCH (x:Twin)-[r:HasInstalled]->(p:Twin {{key: $p}}) WHERE x.key IN $xs RETURN {EDGE_ROW}",
                     p=pkg, xs=sim.scope_owners)
    app_pkgs = [k for k in _app_package_keys(sim) if k != pkg]
    if app_pkgs:
        rows += sim.edges(f"MATCH (x:Twin)-[r:DependsOn]->(p:Twin {{key: $p}}) WHERE x.key IN $xs "
                          f"RETURN {EDGE_ROW}", p=pkg, xs=app_pkgs)
    return rows


def _app_package_keys(sim: Sim) -> list[str]:
    apps = [o for o in sim.scope_owners if o not in sim.scope_hosts]
    if not apps:
        return []
    rows = sim.run("UNWIND $apps AS a MATCH (x:Twin {key: a})-[:HasInstalled|DependsOn]->{0,4}(p:Package) "
                   "RETURN collect(DISTINCT p.key) AS ks", apps=apps)
    return rows[0]["ks"] if rows else []


def _rewire(sim: Sim, edges: list[dict], new_key: str) -> None:
    for e in edges:
        sim.delete([e])
        sim.create(e["src"], e["type"], new_key, e["props"])


def _restart_breaks(sim: Sim, pkg: dict, what: str) -> None:
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
        if not service_runs_package(s["words"], name):
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


def plan_patch(sim: Sim) -> None:
    """The target's packages with the CVE are replaced, for this target alone, by patched
    copies: the same package node is shared with owners the patch does not reach."""
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
                                 f"RETURN {EDGE_ROW}", p=p["key"], v=cve))
        else:
            clone = f"{p['key']}#whatif-patched-{cve}"
            labels = [x for x in p["labels"] if x in ("Package",)]
            props = sim.run("MATCH (p:Twin {key: $p}) RETURN properties(p) AS props", p=p["key"])[0]["props"]
            props = {k: v for k, v in props.items() if k not in ("key", "source", "sources", "firstseen", "lastseen")}
            sim.add_node(clone, labels or ["Package"], {**props, "patched": [cve], "whatif_of": p["key"]})
            for e in sim.edges(f"MATCH (p:Twin {{key: $p}})-[r:HasVulnerability|DependsOn]->(x) RETURN {EDGE_ROW}",
                               p=p["key"]):
                if not (e["type"] == "HasVulnerability" and e["dst"] == cve):
                    sim.create(clone, e["type"], e["dst"], e["props"])
            _rewire(sim, _edges_into(sim, p["key"]), clone)
        _restart_breaks(sim, p, f"the fix for {cve}")
    sim.rederive.update(sim.scope_hosts)
    sim.post_hooks.append(lambda: setattr(sim, "vulns_after", _scope_vulns(sim)))


def plan_update(sim: Sim) -> None:
    """The target's package moves to VERSION. The twin's scanned record of that version is
    the truth; without one, Trivy's fixed_version decides and `unknown` says so."""
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
                for e in sim.edges(f"MATCH (p:Twin {{key: $p}})-[r:DependsOn]->(x) RETURN {EDGE_ROW}", p=old["key"]):
                    if ("DependsOn", e["dst"]) not in carried:
                        carried.add(("DependsOn", e["dst"]))
                        sim.create(new_key, "DependsOn", e["dst"], e["props"])
        into = _edges_into(sim, old["key"])
        _constraint_breaks(sim, old, into, version, eco, sorted(pkgs))
        _rewire(sim, into, new_key)
        _restart_breaks(sim, old, f"{old['name'] or base} {version}")
    sim.rederive.update(sim.scope_hosts)
    sim.post_hooks.append(lambda: setattr(sim, "vulns_after", _scope_vulns(sim)))


def _constraint_breaks(sim: Sim, old: dict, into: list[dict], version: str, eco: str | None,
                       scope_pkgs: list[str]) -> None:
    """Dependents whose recorded constraint VERSION does not meet break; a major-version
    jump under dependents that recorded none is a risk."""
    shared = sim.edges(f"MATCH (x:Package)-[r:DependsOn]->(p:Twin {{key: $p}}) WHERE x.key IN $xs RETURN {EDGE_ROW}",
                       p=old["key"], xs=[k for k in scope_pkgs if k != old["key"]])
    seen: set[tuple[str, str]] = set()
    old_version = old["version"] or ""
    major_jump = bool(release_numbers(old_version)[:1] and release_numbers(version)[:1]
                      and release_numbers(old_version)[0] != release_numbers(version)[0])
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
        elif major_jump and e["type"] == "DependsOn" and (eco or "").lower() not in OS_TYPES:
            sim.brk(e["src"], f"depends on {name}, which jumps major version {old_version} -> {version} "
                              "(no constraint recorded)", "risk")


def _purl_base(key: str) -> str:
    """A package key without its version: the same package across versions."""
    at = key.rfind("@")
    return key[:at] if at > key.rfind("/") else key

