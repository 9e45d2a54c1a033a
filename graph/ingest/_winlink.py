"""Windows events and the hosts they belong to, whatever order the data arrives in.

An event names its host (`WORKSTATION6`) and where it came from (`172.18.39.5`); the
twin may learn who those are only later: an AD collection or another export that spells
the host in full, a Sysmon capture that shows which machine used that address. Events
the connector could not tie carry a label saying what is missing (`HostUnresolved`:
no `OnHost`; `IpUnresolved`: an internal source IP with no `FromHost`), and `relink`
runs after every ingest (whatever formats it carried) to tie them once the twin knows
more: the event is re-keyed to its host (or merged into the same record loaded under
the host's full name), gets its `OnHost`, its logon counts (`LoggedOn`, `HasSession`)
and the addresses its host used (`HasIP`); an event naming an account of a domain the
twin did not know (`AccountUnresolved`) gets its `ByUser` / `TargetsUser`; an event from
an address gets its `FromHost`. With nothing labelled, the step costs three counts from
the count store.
What stays unresolved is counted into `ctx.unresolved` for `ingest --json`.

The rows shared with the connector (logon counts, learned leases) are built here so
that both paths write the same graph: loading A then B equals loading B then A.
"""

from __future__ import annotations

from collections.abc import Callable

from graph import catalog
from graph.catalog import COMPUTER, HAS_IP, HAS_SESSION, IP, USER
from graph.identity import short_hostname
from graph.ingest._live import existing_edges
from graph.loader import TwinWriter
from graph.reader import TwinReader
from graph.resolve import TwinIndex, existing_keys

HOST_UNRESOLVED = "HostUnresolved"
IP_UNRESOLVED = "IpUnresolved"
ACCOUNT_UNRESOLVED = "AccountUnresolved"

ON_HOST = catalog.rel("OnHost")
BY_USER = catalog.rel("ByUser")
TARGETS_USER = catalog.rel("TargetsUser")
FROM_HOST = catalog.rel("FromHost")
FROM_IP = catalog.rel("FromIP")
LOGGED_ON = catalog.rel("LoggedOn")

# Logon types that leave reusable credentials on the host (interactive, batch, service,
# unlock, new credentials, remote interactive, cached interactive): what BloodHound's
# session collection sees and what a `HasSession` edge promises an attacker. Network
# logons (3, 8) are kept on `LoggedOn` only.
SESSION_LOGON_TYPES = frozenset({2, 4, 5, 7, 9, 10, 11})
_CHUNK = 5_000
# Rewrites the event store's rows of re-keyed or newly tied events (graph.events.EventRun.patch).
Patch = Callable[[dict[str, dict]], int]
# A tagged ingest (the evaluator layers a scenario's events on a shared twin, then
# `forget`s them) ties only its own events, under its own tag: the shared twin stays as
# it was once the tag is forgotten.
_MINE = "($mine IS NULL OR $mine IN e.sources)"


def logged_on_rows(reader: TwinReader, fresh: dict[tuple[str, str], list]) -> list[dict]:
    """`LoggedOn` rows adding logons never counted before (`fresh`: (user, host) ->
    [logon types, count, first, last]) to what the twin holds: `count` is the number of
    distinct 4624 events of that user on that host, however many files carried them."""
    old = existing_edges(reader, "LoggedOn", fresh.keys())
    rows = []
    for (user, host), (types, count, first, last) in fresh.items():
        prev = old.get((user, host)) or {}
        known = prev.get("logon_types") if isinstance(prev.get("logon_types"), list) else []
        total = prev.get("count") if isinstance(prev.get("count"), int) else 0
        rows.append({"src": user, "dst": host, "firstseen": int(first), "lastseen": int(last),
                     "props": {"logon_types": sorted(set(types) | {t for t in known if isinstance(t, int)}),
                               "count": total + count}})
    return rows


def count_logon(table: dict, user: str, host: str, logon_type: int | None, ts: float) -> None:
    entry = table.get((user, host))
    if entry is None:
        table[(user, host)] = [{logon_type} - {None}, 1, ts, ts]
    else:
        if logon_type is not None:
            entry[0].add(logon_type)
        entry[1] += 1
        entry[2], entry[3] = min(entry[2], ts), max(entry[3], ts)


def has_ip_rows(reader: TwinReader, bindings: dict[tuple[str, str], list]) -> list[dict]:
    """`HasIP` rows for addresses the events show a host using ((host, `IP:` key) ->
    [first, last, evidence kinds]), the kinds united with what the edge already says."""
    old = existing_edges(reader, "HasIP", bindings.keys())
    rows = []
    for (host, ip_key), (first, last, kinds) in bindings.items():
        prev = (old.get((host, ip_key)) or {}).get("evidence")
        known = {k for k in prev if isinstance(k, str)} if isinstance(prev, list) else set()
        rows.append({"src": host, "dst": ip_key, "firstseen": int(first), "lastseen": int(last),
                     "props": {"evidence": sorted(set(kinds) | known)}})
    return rows


def bind(table: dict, host: str, address: str, ts: float, kind: str) -> None:
    key = (host, f"IP:{address}")
    entry = table.get(key)
    if entry is None:
        table[key] = [ts, ts, {kind}]
    else:
        entry[0], entry[1] = min(entry[0], ts), max(entry[1], ts)
        entry[2].add(kind)


# --------------------------------------------------------------------------- relink

_MOVE = """
UNWIND $rows AS row
MATCH (e:Twin {key: row.old})
SET e.key = row.new, e.host = row.host, e.host_domains = null
REMOVE e:HostUnresolved
WITH e, row
MATCH (h:Twin {key: row.host})
CREATE (e)-[r:OnHost]->(h)
SET r.firstseen = coalesce(e.timestamp, e.firstseen), r.lastseen = coalesce(e.timestamp, e.lastseen),
    r.sources = [$source], r.source = $source
RETURN count(*) AS n
"""
# The same record was loaded under its host's full name: its edges join that node.
_MERGE = """
UNWIND $rows AS row
MATCH (old:Twin {key: row.old})
MATCH (new:Twin {key: row.new})
CALL (old, new) {
  MATCH (old)-[r]->(x) WHERE x <> new
  MERGE (new)-[r2:$(type(r))]->(x) ON CREATE SET r2 = properties(r)
  RETURN count(*) AS outgoing
}
CALL (old, new) {
  MATCH (x)-[r]->(old) WHERE x <> new
  MERGE (x)-[r2:$(type(r))]->(new) ON CREATE SET r2 = properties(r)
  RETURN count(*) AS incoming
}
DETACH DELETE old
RETURN count(*) AS n
"""


def relink(writer: TwinWriter, ctx) -> None:
    """Tie labelled events to hosts and source hosts the twin knows now (module doc),
    then count what is still untied into `ctx.unresolved`."""
    if writer.driver is None:
        return
    reader = TwinReader(writer.driver, writer.database)
    moved = named = tied = 0
    run = getattr(ctx, "events", None)
    patch = run.patch if run is not None else (lambda changes: 0)
    if any(_count(reader, lb) for lb in (HOST_UNRESOLVED, ACCOUNT_UNRESOLVED, IP_UNRESOLVED)):
        mine = f"{writer.source}#{ctx.tag}" if ctx.tag else None
        own = TwinWriter(writer.driver, mine, database=writer.database, now=writer.now) if mine else writer
        index = ctx.twin_index()
        moved, bindings = _relink_hosts(own, reader, index, mine, patch)
        for (host, ip_key), (first, last, _) in bindings.items():
            index.learn_lease(ip_key[3:], host, first, last)
        named = _relink_accounts(own, reader, index, mine, patch)
        tied = _relink_ips(own, reader, index, mine, patch)
        if own is not writer:
            writer.stats.add(own.stats)
    moved_ips = _reresolve_ips(writer, reader, TwinIndex.read(reader), patch)
    ctx.unresolved = unresolved_summary(reader) | {
        "relinked": {"event_hosts": moved, "event_accounts": named, "event_ips": tied,
                     "event_sources_moved": moved_ips}}


def _reresolve_ips(writer: TwinWriter, reader: TwinReader, index: TwinIndex, patch: Patch) -> int:
    """An address two hosts held (or a lease disagreeing with an inventory's address) may
    resolve to another host once later data adds leases: its events' `FromHost` is decided
    again on the whole twin's leases, so the graph does not depend on load order."""
    ips = sorted(ip for ip, leases in index.leases.items()
                 if len({x.host for x in leases}) > 1
                 or (ip in index.static_ips and index.static_ips[ip] not in {x.host for x in leases}))
    if not ips:
        return 0
    moves = []
    for r in reader.rows("MATCH (e:Event)-[:FromHost]->(h:Computer) WHERE e.ip IN $ips "
                         "RETURN e.key AS key, e.ip AS ip, e.timestamp AS ts, collect(h.key) AS hosts", ips=ips):
        host = index.host_for_ip(r["ip"], r["ts"])
        if host and r["hosts"] != [host]:
            moves.append({"src": r["key"], "dst": host, "firstseen": r["ts"], "lastseen": r["ts"]})
    if not moves:
        return 0
    patch({m["src"]: {"from_host": m["dst"]} for m in moves})
    _write(writer, "UNWIND $rows AS m MATCH (e:Twin {key: m.src})-[r:FromHost]->(h) WHERE h.key <> m.dst "
           "DELETE r RETURN count(*) AS n", moves)
    writer.rels(FROM_HOST, moves)
    return len(moves)


def _count(reader: TwinReader, label: str) -> int:
    return reader.value(f"MATCH (e:{label}) RETURN count(e) AS n")


def _rows(reader: TwinReader, query: str, mine: str | None = None, **params) -> list:
    return reader.rows(query, mine=mine, **params)


def _write(writer: TwinWriter, query: str, rows: list) -> None:
    """A statement of the relink's own (re-key, merge, drop a label), in chunks, counted
    into the writer's stats like the writer's own batches."""
    for i in range(0, len(rows), _CHUNK):
        counters = writer.driver.execute_query(query, rows=rows[i:i + _CHUNK], source=writer.source,
                                               database_=writer.database).summary.counters
        writer.stats.relationships_created += counters.relationships_created
        writer.stats.deleted += counters.nodes_deleted


def _relink_hosts(writer: TwinWriter, reader: TwinReader, index, mine: str | None,
                  patch: Patch) -> tuple[int, dict]:
    # a name, with what the events' own machine account said about its domain
    named = [(r["name"], tuple(r["doms"] or ())) for r in _rows(
        reader, f"MATCH (e:HostUnresolved) WHERE {_MINE} "
        "RETURN DISTINCT e.host AS name, e.host_domains AS doms", mine)]
    resolved = {(name, doms): hk for name, doms in named if isinstance(name, str)
                and (hk := index.event_host(name, machine_domains=list(doms)))}
    if not resolved:
        return 0, {}
    events = _rows(reader,
                   f"MATCH (e:HostUnresolved) WHERE e.host IN $names AND {_MINE} "
                   "OPTIONAL MATCH (e)-[:TargetsUser]->(u:User) "
                   "RETURN e.key AS key, e.host AS name, e.host_domains AS doms, e.timestamp AS ts, "
                   "e.local_ip AS local_ip, e:LogonEvent AS logon, e.logon_type AS logon_type, u.key AS user",
                   mine, names=sorted({name for name, _ in resolved}))
    renamed = {}
    for r in events:
        found = resolved.get((r["name"], tuple(r["doms"] or ())))
        prefix = f"EVT:{r['name']}:"
        if found and r["key"].startswith(prefix):
            renamed[r["key"]] = (f"EVT:{found[0]}:{r['key'][len(prefix):]}", found[0])
    taken = existing_keys(reader, [new for new, _ in renamed.values()])
    spans: dict[str, list] = {}
    logons: dict[tuple[str, str], list] = {}
    sessions: dict[tuple[str, str], list] = {}
    bindings: dict[tuple[str, str], list] = {}
    for r in events:
        if r["key"] not in renamed or renamed[r["key"]][0] in taken:
            continue  # merged into a node counted when it was loaded
        host, ts = renamed[r["key"]][1], r["ts"] or 0
        span = spans.setdefault(host, [ts, ts])
        span[0], span[1] = min(span[0], ts), max(span[1], ts)
        if r["logon"] and r["user"]:
            count_logon(logons, r["user"], host, r["logon_type"], ts)
            if r["logon_type"] in SESSION_LOGON_TYPES:
                s = sessions.setdefault((host, r["user"]), [ts, ts])
                s[0], s[1] = min(s[0], ts), max(s[1], ts)
        if isinstance(r["local_ip"], str):
            bind(bindings, host, r["local_ip"], ts, "own_traffic")
    writer.nodes(COMPUTER, [{"key": h, "firstseen": int(spans[h][0]), "lastseen": int(spans[h][1]),
                             "props": {} if known else {"name": h, "shortname": short_hostname(h)}}
                            for h, known in sorted(set(resolved.values())) if h in spans])
    moves = [{"old": k, "new": new, "host": host} for k, (new, host) in renamed.items()
             if new not in taken]
    merges = [{"old": k, "new": new} for k, (new, _) in renamed.items() if new in taken]
    # the store first: a crash between the two leaves events the rerun finds unresolved again
    patch({k: {"key": new, "host": host} for k, (new, host) in renamed.items()})
    _write(writer, _MOVE, moves)
    _write(writer, _MERGE, merges)
    writer.rels(HAS_SESSION, [{"src": h, "dst": u, "firstseen": int(f), "lastseen": int(la)}
                              for (h, u), (f, la) in sessions.items()])
    writer.rels(LOGGED_ON, logged_on_rows(reader, logons))
    addresses: dict[str, list] = {}
    for (_, ip_key), (first, last, _) in bindings.items():
        span = addresses.setdefault(ip_key, [first, last])
        span[0], span[1] = min(span[0], first), max(span[1], last)
    writer.nodes(IP, [{"key": k, "firstseen": int(f), "lastseen": int(la), "props": {"address": k[3:]}}
                      for k, (f, la) in sorted(addresses.items())])
    writer.rels(HAS_IP, has_ip_rows(reader, bindings))
    return len(moves) + len(merges), bindings


_PENDING_ACCOUNTS = f"""
MATCH (e:AccountUnresolved) WHERE {_MINE}
UNWIND [[e.subject_user, e.subject_sid], [e.target_user, e.target_sid]] AS a
WITH DISTINCT a, e.host AS host WHERE a[0] IS NOT NULL OR a[1] IS NOT NULL
RETURN a, host
"""
_ACCOUNT_EVENTS = f"""
MATCH (e:AccountUnresolved) WHERE {_MINE}
OPTIONAL MATCH (e)-[:OnHost]->(h)
RETURN e.key AS key, e.host AS name, h.key AS host, e.event_id AS eid, e.status AS status,
       e.logon_type AS logon_type, e:LogonEvent AS logon, e.timestamp AS ts,
       [e.subject_user, e.subject_sid] AS subject, [e.target_user, e.target_sid] AS target,
       EXISTS {{ (e)-[:ByUser]->() }} AS by, EXISTS {{ (e)-[:TargetsUser]->() }} AS targets
"""


def _relink_accounts(writer: TwinWriter, reader: TwinReader, index, mine: str | None, patch: Patch) -> int:
    """Accounts an event named before the twin knew their domain (`THESHIRE\\pgustavo`
    ahead of any THESHIRE.LOCAL): linked as the connector links them, once they resolve."""
    known = {}
    for r in _rows(reader, _PENDING_ACCOUNTS, mine):
        name, sid = r["a"]
        short = short_hostname(r["host"] or "")
        acct = index.resolve_account(name, None, sid, host_short=short)
        if acct is not None:
            known[(name, sid, short)] = acct
    if not known:
        return 0
    links: dict[str, list[dict]] = {"ByUser": [], "TargetsUser": []}
    new: dict[tuple[str, str, bool], list] = {}
    logons: dict[tuple[str, str], list] = {}
    sessions: dict[tuple[str, str], list] = {}
    done = []
    for r in _rows(reader, _ACCOUNT_EVENTS, mine):
        short, ts = short_hostname(r["name"] or ""), r["ts"] or 0
        pending = False
        for rel, (name, sid), linked in (("ByUser", r["subject"], r["by"]), ("TargetsUser", r["target"], r["targets"])):
            if linked or (name is None and sid is None):
                continue
            acct = known.get((name, sid, short))
            if acct is None:
                pending = pending or index.account_pending(name, None, sid, host_short=short)
                continue
            if not acct.exists and failed_auth(r["eid"], r["status"]):
                continue
            span = new.setdefault((acct.key, acct.label, acct.exists), [ts, ts])
            span[0], span[1] = min(span[0], ts), max(span[1], ts)
            links[rel].append({"src": r["key"], "dst": acct.key, "firstseen": ts, "lastseen": ts})
            if rel == "TargetsUser" and r["eid"] == 4624 and acct.label == "User" and r["host"]:
                count_logon(logons, acct.key, r["host"], r["logon_type"], ts)
                if r["logon_type"] in SESSION_LOGON_TYPES:
                    s = sessions.setdefault((r["host"], acct.key), [ts, ts])
                    s[0], s[1] = min(s[0], ts), max(s[1], ts)
        if not pending:
            done.append(r["key"])
    writer.nodes(USER, [{"key": k, "firstseen": int(f), "lastseen": int(la),
                         "props": {} if known else {"name": k, "domain": k.rsplit("@", 1)[1]}}
                        for (k, label, known), (f, la) in sorted(new.items()) if label == "User"])
    writer.nodes(COMPUTER, [{"key": k, "firstseen": int(f), "lastseen": int(la),
                             "props": {} if known else {"name": k, "shortname": short_hostname(k)}}
                            for (k, label, known), (f, la) in sorted(new.items()) if label == "Computer"])
    changes: dict[str, dict] = {}
    for rel, column in (("ByUser", "by_keys"), ("TargetsUser", "target_keys")):
        for link in links[rel]:
            changes.setdefault(link["src"], {}).setdefault(column, []).append(link["dst"])
    for k in done:  # the store's row drops the mark as the node drops its label below
        changes.setdefault(k, {})["settled"] = [ACCOUNT_UNRESOLVED]
    patch(changes)
    writer.rels(BY_USER, links["ByUser"])
    writer.rels(TARGETS_USER, links["TargetsUser"])
    writer.rels(HAS_SESSION, [{"src": h, "dst": u, "firstseen": int(f), "lastseen": int(la)}
                              for (h, u), (f, la) in sessions.items()])
    writer.rels(LOGGED_ON, logged_on_rows(reader, logons))
    _write(writer, "UNWIND $rows AS k MATCH (e:Twin {key: k}) REMOVE e:AccountUnresolved "
           "RETURN count(*) AS n", done)
    return len(links["ByUser"]) + len(links["TargetsUser"])


def _relink_ips(writer: TwinWriter, reader: TwinReader, index, mine: str | None, patch: Patch) -> int:
    ips = [r["ip"] for r in _rows(reader,
                                  f"MATCH (e:IpUnresolved) WHERE {_MINE} RETURN DISTINCT e.ip AS ip", mine)]
    known = sorted(ip for ip in ips if isinstance(ip, str)
                   and (ip in index.leases or ip in index.static_ips))
    if not known:
        return 0
    links = []
    for r in _rows(reader, f"MATCH (e:IpUnresolved) WHERE e.ip IN $ips AND {_MINE} "
                   "RETURN e.key AS key, e.ip AS ip, e.timestamp AS ts", mine, ips=known):
        host = index.host_for_ip(r["ip"], r["ts"])
        if host:
            links.append({"src": r["key"], "dst": host, "firstseen": r["ts"], "lastseen": r["ts"]})
    patch({link["src"]: {"from_host": link["dst"]} for link in links})
    writer.rels(FROM_HOST, links)
    _write(writer, "UNWIND $rows AS k MATCH (e:Twin {key: k}) REMOVE e:IpUnresolved "
           "RETURN count(*) AS n", [r["src"] for r in links])
    return len(links)


def unresolved_summary(reader: TwinReader, examples: int = 5) -> dict:
    """Events still without their host or source host, distinct names and addresses,
    and a few of each to name in the warning."""
    out: dict = {"event_hosts": 0, "hosts": 0, "event_ips": 0, "ips": 0, "event_accounts": 0,
                 "accounts": 0, "examples": {"hosts": [], "ips": [], "accounts": []}}
    for label, prop, events, distinct in (
            (HOST_UNRESOLVED, "host", "event_hosts", "hosts"), (IP_UNRESOLVED, "ip", "event_ips", "ips"),
            (ACCOUNT_UNRESOLVED, "coalesce(e.subject_user, e.target_user, e.subject_sid, e.target_sid)",
             "event_accounts", "accounts")):
        if not _count(reader, label):
            continue
        rec = _rows(reader,
                    f"MATCH (e:{label}) WITH {prop if '(' in prop else 'e.' + prop} AS v, count(*) AS n "
                    "RETURN sum(n) AS events, count(v) AS distinct, collect(v) AS values")[0]
        out[events], out[distinct] = rec["events"], rec["distinct"]
        out["examples"][distinct] = sorted(v for v in rec["values"] if isinstance(v, str))[:examples]
    return out


def labels_for(host_missing: bool, ip_missing: bool, account_missing: bool = False) -> tuple[str, ...]:
    return tuple(lb for lb, on in ((HOST_UNRESOLVED, host_missing), (IP_UNRESOLVED, ip_missing),
                                   (ACCOUNT_UNRESOLVED, account_missing)) if on)


def failed_auth(event_id: int | None, status: object) -> bool:
    """A failed authentication may name an account that does not exist: never created."""
    code = str(status or "0x0").lower()
    return event_id in (4625, 4771) or (event_id in (4768, 4769, 4776) and code not in ("0x0", "0"))

