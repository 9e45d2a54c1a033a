"""Windows events and the hosts they belong to, whatever order the data arrives in.

An event names its host (`WORKSTATION6`) and where it came from (`172.18.39.5`); the
twin may learn who those are only later: an AD collection or another export that spells
the host in full, a Sysmon capture that shows which machine used that address. Events
live in the event store (graph/events); those the connector could not tie carry a mark
saying what is missing (`HostUnresolved`: no host; `IpUnresolved`: an internal source IP
with no source host; `AccountUnresolved`: an account of a domain the twin did not know),
and `relink` runs after every ingest (whatever formats it carried) to tie them once the
twin knows more: the event is re-keyed to its host (or meets the same record loaded
under the host's full name), its logons are counted (`LoggedOn`, `HasSession`) and the
addresses its host used learned (`HasIP`); its accounts and source host join its row.
With nothing marked, the step is one read of the store's `marks` column.
What stays unresolved is counted into `ctx.unresolved` for `ingest --json`.

The rows shared with the connector (logon counts, learned leases) are built here so
that both paths write the same graph: loading A then B equals loading B then A.
"""

from __future__ import annotations

from collections.abc import Callable

from graph import catalog
from graph.catalog import COMPUTER, HAS_IP, HAS_SESSION, IP, USER
from graph.events.store import ACCOUNT_UNRESOLVED, HOST_UNRESOLVED, IP_UNRESOLVED, EventFilter
from graph.identity import short_hostname
from graph.ingest._eventnodes import EventNodesFollow
from graph.ingest._live import existing_edges
from graph.loader import TwinWriter
from graph.reader import TwinReader
from graph.resolve import TwinIndex

LOGGED_ON = catalog.rel("LoggedOn")

# Logon types that leave reusable credentials on the host (interactive, batch, service,
# unlock, new credentials, remote interactive, cached interactive): what BloodHound's
# session collection sees and what a `HasSession` edge promises an attacker. Network
# logons (3, 8) are kept on `LoggedOn` only.
SESSION_LOGON_TYPES = frozenset({2, 4, 5, 7, 9, 10, 11})
# Rewrites the event store's rows of re-keyed or newly tied events (graph.events.EventRun.patch).
Patch = Callable[[dict[str, dict]], int]
# A tagged ingest (the evaluator layers a scenario's events on a shared twin, then
# `forget`s them) ties only its own events (their store rows' `source`), under its own
# tag: the shared twin stays as it was once the tag is forgotten.


def logged_on_rows(reader: TwinReader, fresh: dict[tuple[str, str], list]) -> list[dict]:
    """`LoggedOn` rows for logons seen (`fresh`: (user, host) -> [logon types, first, last],
    as `count_logon` keeps them), their types united with what the edge holds. The count is
    not here: `recount_logons` sets it from the event store once the run's events are in."""
    old = existing_edges(reader, "LoggedOn", fresh.keys())
    rows = []
    for (user, host), (types, first, last) in fresh.items():
        prev = old.get((user, host)) or {}
        known = prev.get("logon_types") if isinstance(prev.get("logon_types"), list) else []
        rows.append({"src": user, "dst": host, "firstseen": int(first), "lastseen": int(last),
                     "props": {"logon_types": sorted(set(types) | {t for t in known if isinstance(t, int)})}})
    return rows


class LogonPairs(set):
    """(user, host) pairs whose `LoggedOn.count` this run recounts (graph.ingest.base.
    IngestContext.run_state): every pair a file or the relink saw a logon of."""


def recount_logons(writer: TwinWriter, run, pairs: set[tuple[str, str]]) -> None:
    """`LoggedOn.count`: the distinct 4624 events of the user on the host that the event
    store holds, committed and this run's own. Set, never added to: the same logon loaded
    twice, under two spellings, or by a run that stopped after its graph writes and
    before its rows were committed and was run again, is counted once."""
    if not pairs:
        return
    counts = run.count_targets(4624, sorted(pairs))
    writer.rels(LOGGED_ON, [{"src": u, "dst": h, "firstseen": first, "lastseen": last, "props": {"count": n}}
                            for (u, h), (n, first, last) in sorted(counts.items())])


def count_logon(table: dict, user: str, host: str, logon_type: int | None, ts: float) -> None:
    """Note a logon seen: (user, host) -> [logon types, first, last]. How many there were
    is not kept here: `recount_logons` reads it from the event store."""
    entry = table.get((user, host))
    if entry is None:
        table[(user, host)] = [{logon_type} - {None}, ts, ts]
    else:
        if logon_type is not None:
            entry[0].add(logon_type)
        entry[1], entry[2] = min(entry[1], ts), max(entry[2], ts)


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

_MARKS = (HOST_UNRESOLVED, ACCOUNT_UNRESOLVED, IP_UNRESOLVED)


def relink(writer: TwinWriter, ctx) -> None:
    """Tie marked events to hosts, accounts and source hosts the twin knows now (module
    doc), then count what is still untied into `ctx.unresolved`. The events are the
    event store's rows (committed and this run's own); what a tie teaches the graph
    (hosts, `LoggedOn`, `HasSession`, leases) is written there, the tie itself is a
    patch of the rows."""
    run = getattr(ctx, "events", None)
    if writer.driver is None or run is None:
        return
    reader = TwinReader(writer.driver, writer.database)
    moved = named = tied = 0
    mine = f"{writer.source}#{ctx.tag}" if ctx.tag else None
    own = TwinWriter(writer.driver, mine, database=writer.database, now=writer.now) if mine else writer
    pairs = ctx.run_state(LogonPairs)

    def marked(mark: str) -> list[dict]:
        return run.query(EventFilter(marks=[mark], source=mine))

    # The run's index, kept true to the twin by every batch (IngestContext.loaded), plus
    # the leases the relink itself writes: what a fresh read of the twin would give.
    index = ctx.twin_index()
    patch = EventNodesFollow(run.patch, run.query, own, reader)  # an alert's event nodes follow their rows
    if run.query(EventFilter(marks=list(_MARKS), source=mine, limit=1)):
        moved, bindings = _relink_hosts(own, reader, index, marked(HOST_UNRESOLVED), run, patch, pairs)
        for (host, ip_key), (first, last, _) in bindings.items():
            index.merge_lease(ip_key[3:], host, int(first), int(last))
        named = _relink_accounts(own, reader, index, marked(ACCOUNT_UNRESOLVED), patch, pairs)
        tied = _relink_ips(index, marked(IP_UNRESOLVED), patch)
    recount_logons(own, run, pairs)
    moved_ips = _reresolve_ips(index, run, patch)
    if own is not writer:
        writer.stats.add(own.stats)
    ctx.unresolved = unresolved_summary(run.query(EventFilter(marks=list(_MARKS)))) | {
        "relinked": {"event_hosts": moved, "event_accounts": named, "event_ips": tied,
                     "event_sources_moved": moved_ips}}


def _reresolve_ips(index: TwinIndex, run, patch: Patch) -> int:
    """An address two hosts held (or a lease disagreeing with an inventory's address) may
    resolve to another host once later data adds leases: its events' source host is
    decided again on the whole twin's leases, so the answer does not depend on load order."""
    ips = sorted(ip for ip, leases in index.leases.items()
                 if len({x.host for x in leases}) > 1
                 or (ip in index.static_ips and index.static_ips[ip] not in {x.host for x in leases}))
    if not ips:
        return 0
    wanted = set(ips)
    moves = {}
    for r in run.query(EventFilter(ips=ips)):
        ip = r["props"].get("ip")
        if r["from_host"] is None or ip not in wanted:
            continue
        host = index.host_for_ip(ip, r["ts"])
        if host and r["from_host"] != host:
            moves[r["key"]] = {"from_host": host}
    patch(moves)
    return len(moves)


def _span(table: dict, key, ts: int) -> None:
    s = table.setdefault(key, [ts, ts])
    s[0], s[1] = min(s[0], ts), max(s[1], ts)


def _users(keys: list[str] | None) -> list[str | None]:
    """The user accounts among an event's target keys (a computer's key has no `@`)."""
    return [k for k in keys or () if "@" in k] or [None]


def _relink_hosts(writer: TwinWriter, reader: TwinReader, index, events: list[dict],
                  run, patch: Patch, pairs: set) -> tuple[int, dict]:
    # a name, with what the events' own machine account said about its domain
    def doms(r: dict) -> tuple:
        return tuple(r["props"].get("host_domains") or ())

    resolved = {(name, d): hk for name, d in {(r["host"], doms(r)) for r in events}
                if isinstance(name, str) and (hk := index.event_host(name, machine_domains=list(d)))}
    if not resolved:
        return 0, {}
    renamed = {}
    for r in events:
        found = resolved.get((r["host"], doms(r)))
        prefix = f"EVT:{r['host']}:"
        if found and r["key"].startswith(prefix):
            renamed[r["key"]] = (f"EVT:{found[0]}:{r['key'][len(prefix):]}", found[0], r)
    taken = run.existing([new for new, _, _ in renamed.values()])
    spans: dict[str, list] = {}
    logons: dict[tuple[str, str], list] = {}
    sessions: dict[tuple[str, str], list] = {}
    bindings: dict[tuple[str, str], list] = {}
    for new, host, r in renamed.values():
        if new in taken:
            continue  # the same record, loaded under the host's full name: seen then
        ts = r["ts"] or 0
        _span(spans, host, ts)
        for user in _users(r["target_keys"]) if r["kind"] == "LogonEvent" else ():
            if user:
                count_logon(logons, user, host, r["props"].get("logon_type"), ts)
                if r["props"].get("logon_type") in SESSION_LOGON_TYPES:
                    _span(sessions, (host, user), ts)
        if isinstance(r["props"].get("local_ip"), str):
            bind(bindings, host, r["props"]["local_ip"], ts, "own_traffic")
    writer.nodes(COMPUTER, [{"key": h, "firstseen": int(spans[h][0]), "lastseen": int(spans[h][1]),
                             "props": {} if known else {"name": h, "shortname": short_hostname(h)}}
                            for h, known in sorted(set(resolved.values())) if h in spans])
    # the store last: a crash before it leaves events the rerun finds unresolved again
    writer.rels(HAS_SESSION, [{"src": h, "dst": u, "firstseen": int(f), "lastseen": int(la)}
                              for (h, u), (f, la) in sessions.items()])
    writer.rels(LOGGED_ON, logged_on_rows(reader, logons))
    pairs.update(logons)
    addresses: dict[str, list] = {}
    for (_, ip_key), (first, last, _) in bindings.items():
        span = addresses.setdefault(ip_key, [first, last])
        span[0], span[1] = min(span[0], first), max(span[1], last)
    writer.nodes(IP, [{"key": k, "firstseen": int(f), "lastseen": int(la), "props": {"address": k[3:]}}
                      for k, (f, la) in sorted(addresses.items())])
    writer.rels(HAS_IP, has_ip_rows(reader, bindings))
    patch({k: {"key": new, "host": host} for k, (new, host, _) in renamed.items()})
    return len(renamed), bindings


def _relink_accounts(writer: TwinWriter, reader: TwinReader, index, events: list[dict], patch: Patch,
                     pairs: set) -> int:
    """Accounts an event named before the twin knew their domain (`THESHIRE\\pgustavo`
    ahead of any THESHIRE.LOCAL): linked as the connector links them, once they resolve."""
    def named(r: dict, who: str) -> tuple:
        return r["props"].get(f"{who}_user"), r["props"].get(f"{who}_sid")

    def tied_host(r: dict) -> str | None:
        return None if HOST_UNRESOLVED in r["marks"] else r["host"]

    known = {}
    for r in events:
        short = short_hostname(r["host"] or "")
        for name, sid in (named(r, "subject"), named(r, "target")):
            if (name is not None or sid is not None) and (name, sid, short) not in known:
                known[(name, sid, short)] = index.resolve_account(name, None, sid, host_short=short)
    known = {k: a for k, a in known.items() if a is not None}
    if not known:
        return 0
    links: dict[str, list[dict]] = {"ByUser": [], "TargetsUser": []}
    new: dict[tuple[str, str, bool], list] = {}
    logons: dict[tuple[str, str], list] = {}
    sessions: dict[tuple[str, str], list] = {}
    done = []
    for r in events:
        short, ts, host, eid = short_hostname(r["host"] or ""), r["ts"] or 0, tied_host(r), r["event_id"]
        pending = False
        for rel, (name, sid), linked in (("ByUser", named(r, "subject"), r["by_keys"]),
                                         ("TargetsUser", named(r, "target"), r["target_keys"])):
            if linked or (name is None and sid is None):
                continue
            acct = known.get((name, sid, short))
            if acct is None:
                pending = pending or index.account_pending(name, None, sid, host_short=short)
                continue
            if not acct.exists and failed_auth(eid, r["props"].get("status")):
                continue
            _span(new, (acct.key, acct.label, acct.exists), ts)
            links[rel].append({"src": r["key"], "dst": acct.key})
            if rel == "TargetsUser" and eid == 4624 and acct.label == "User" and host:
                count_logon(logons, acct.key, host, r["props"].get("logon_type"), ts)
                if r["props"].get("logon_type") in SESSION_LOGON_TYPES:
                    _span(sessions, (host, acct.key), ts)
        if not pending:
            done.append(r["key"])
    writer.nodes(USER, [{"key": k, "firstseen": int(f), "lastseen": int(la),
                         "props": {} if known else {"name": k, "domain": k.rsplit("@", 1)[1]}}
                        for (k, label, known), (f, la) in sorted(new.items()) if label == "User"])
    writer.nodes(COMPUTER, [{"key": k, "firstseen": int(f), "lastseen": int(la),
                             "props": {} if known else {"name": k, "shortname": short_hostname(k)}}
                            for (k, label, known), (f, la) in sorted(new.items()) if label == "Computer"])
    writer.rels(HAS_SESSION, [{"src": h, "dst": u, "firstseen": int(f), "lastseen": int(la)}
                              for (h, u), (f, la) in sessions.items()])
    writer.rels(LOGGED_ON, logged_on_rows(reader, logons))
    pairs.update(logons)
    changes: dict[str, dict] = {}
    for rel, column in (("ByUser", "by_keys"), ("TargetsUser", "target_keys")):
        for link in links[rel]:
            changes.setdefault(link["src"], {}).setdefault(column, []).append(link["dst"])
    for k in done:  # tied as far as the twin can tie it: the mark goes
        changes.setdefault(k, {})["settled"] = [ACCOUNT_UNRESOLVED]
    patch(changes)
    return len(links["ByUser"]) + len(links["TargetsUser"])


def _relink_ips(index, events: list[dict], patch: Patch) -> int:
    links = {}
    for r in events:
        ip = r["props"].get("ip")
        if isinstance(ip, str) and (ip in index.leases or ip in index.static_ips):
            host = index.host_for_ip(ip, r["ts"])
            if host:
                links[r["key"]] = {"from_host": host}
    patch(links)
    return len(links)


def unresolved_summary(events: list[dict], examples: int = 5) -> dict:
    """Events (store rows still marked) without their host, source host or accounts:
    how many, distinct names and addresses, and a few of each to name in the warning."""
    out: dict = {"event_hosts": 0, "hosts": 0, "event_ips": 0, "ips": 0, "event_accounts": 0,
                 "accounts": 0, "examples": {"hosts": [], "ips": [], "accounts": []}}
    for mark, value, count, distinct in (
            (HOST_UNRESOLVED, lambda r: r["host"], "event_hosts", "hosts"),
            (IP_UNRESOLVED, lambda r: r["props"].get("ip"), "event_ips", "ips"),
            (ACCOUNT_UNRESOLVED, lambda r: next((r["props"][f] for f in (
                "subject_user", "target_user", "subject_sid", "target_sid") if r["props"].get(f) is not None),
                None), "event_accounts", "accounts")):
        hit = [r for r in events if mark in r["marks"]]
        values = {v for r in hit if (v := value(r)) is not None}
        out[count], out[distinct] = len(hit), len(values)
        out["examples"][distinct] = sorted(v for v in values if isinstance(v, str))[:examples]
    return out


def labels_for(host_missing: bool, ip_missing: bool, account_missing: bool = False) -> tuple[str, ...]:
    return tuple(lb for lb, on in ((HOST_UNRESOLVED, host_missing), (IP_UNRESOLVED, ip_missing),
                                   (ACCOUNT_UNRESOLVED, account_missing)) if on)


def failed_auth(event_id: int | None, status: object) -> bool:
    """A failed authentication may name an account that does not exist: never created."""
    code = str(status or "0x0").lower()
    return event_id in (4625, 4771) or (event_id in (4768, 4769, 4776) and code not in ("0x0", "0"))

