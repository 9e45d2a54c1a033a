"""Naming the twin's own nodes from what the live sources say, at the time they said it.

Zeek knows IP addresses, Windows events know `WS01`, `CORP\\alice`, `alice@corp.local`
and SIDs, alerts know all of these at once. Each of them must land on the one node the
twin already has for that host or account, or else be recognised as something the twin
does not know. The rules live here once so that the connectors, the agents' toolbox and
the investigation workflow agree on them.

Everything works on a `TwinIndex` built with a handful of queries, so resolving a
million records costs dictionary look-ups, not a million round trips. IP addresses are
resolved through the time-aware `(Computer)-[:HasIP {firstseen, lastseen}]->(IP)`
leases: the same address can belong to two hosts at two times.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

import neo4j

from graph.events.store import EventFilter
from graph.identity import is_ip, is_sid, short_hostname, split_user
from graph.reader import TwinReader

INTERNET_KEY = "INTERNET"

# Accounts that are not people or machines of the domain: the OS itself, its virtual
# service accounts, the window manager's per-session accounts.
_NON_ACCOUNT_DOMAINS = frozenset(
    {"", "-", "NT AUTHORITY", "NT-AUTORITÄT", "AUTORITE NT", "WINDOW MANAGER", "FONT DRIVER HOST", "WORKGROUP",
     "NT SERVICE", "IIS APPPOOL", "BUILTIN", "NT VIRTUAL MACHINE", "VIRTUAL MACHINES"}
)
_NON_ACCOUNT_NAMES = frozenset(
    {"", "-", "SYSTEM", "LOCAL SYSTEM", "LOCAL SERVICE", "NETWORK SERVICE", "ANONYMOUS LOGON",
     "LOCALSERVICE", "NETWORKSERVICE", "$"}
)
_NON_ACCOUNT_PREFIXES = ("DWM-", "UMFD-")
_WELL_KNOWN_SID_PREFIXES = ("S-1-5-90-", "S-1-5-96-", "S-1-5-80-", "S-1-5-82-", "S-1-5-83-")


def is_system_sid(sid: str) -> bool:
    """SIDs that name the OS rather than an account of the domain (SYSTEM, NULL SID, ...)."""
    s = sid.upper()
    if not s.startswith("S-1-5-21-"):
        return True  # S-1-0-0, S-1-5-18/19/20, S-1-5-32-544 (BUILTIN), virtual accounts
    return s.startswith(_WELL_KNOWN_SID_PREFIXES)


def domain_sid(sid: str) -> str | None:
    """`S-1-5-21-a-b-c-1104` -> `S-1-5-21-a-b-c`: the domain part of an account SID."""
    parts = sid.upper().split("-")
    if len(parts) == 8 and parts[:4] == ["S", "1", "5", "21"]:
        return "-".join(parts[:7])
    return None


class IpInfo(NamedTuple):
    address: str  # normalised text form
    kind: str  # "internet" | "internal" | "ignore"


@lru_cache(maxsize=1 << 16)
def _classify_text(raw: str) -> IpInfo | None:
    return _classify(raw)


def classify_ip(text: object) -> IpInfo | None:
    """None when `text` is no IP address at all (see `_classify`); cached per string."""
    return _classify_text(text) if isinstance(text, str) else None


def _classify(text: str) -> IpInfo | None:
    """None when `text` is no IP address at all. `ignore` for addresses that name no host
    (loopback, multicast, broadcast, unspecified); `internet` for globally routable ones;
    everything else (RFC 1918, link-local, CGNAT, ...) is `internal`."""
    if not isinstance(text, str):
        return None
    raw = text.strip().strip("[]")
    if not raw or raw == "-":
        return None
    if "%" in raw:  # IPv6 zone index: fe80::1%eth0
        raw = raw.split("%", 1)[0]
    try:
        addr = ipaddress.ip_address(raw)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    text_form = str(addr)
    if (
        addr.is_loopback
        or addr.is_multicast
        or addr.is_unspecified
        or text_form == "255.255.255.255"
    ):
        return IpInfo(text_form, "ignore")
    if addr.is_global:
        return IpInfo(text_form, "internet")
    return IpInfo(text_form, "internal")


class Account(NamedTuple):
    """An account a source names, as a twin key. `exists` says whether the twin has it
    already; a connector may create it, an alert never does."""

    key: str
    label: str  # "User" | "Computer"
    exists: bool


@dataclass(frozen=True)
class Lease:
    first: int
    last: int
    host: str


@dataclass
class TwinIndex:
    """What the resolvers need of the twin, loaded once (see `load`).

    Also learns from the data being ingested (`learn_account` then `finish_learning`):
    a file of Windows events often says in one event that SID S-1-5-21-X-1104 is
    `pgustavo` of `THESHIRE.LOCAL`, and in the next only `THESHIRE\\pgustavo` or the SID.
    """

    hosts: set[str] = field(default_factory=set)
    host_by_short: dict[str, list[str]] = field(default_factory=dict)
    host_lastseen: dict[str, int] = field(default_factory=dict)
    leases: dict[str, list[Lease]] = field(default_factory=dict)
    static_ips: dict[str, str] = field(default_factory=dict)
    users: set[str] = field(default_factory=set)
    user_by_sam: dict[str, list[str]] = field(default_factory=dict)
    user_by_alias: dict[str, str] = field(default_factory=dict)
    by_objectid: dict[str, tuple[str, str]] = field(default_factory=dict)
    domains: set[str] = field(default_factory=set)
    netbios: dict[str, str] = field(default_factory=dict)
    domain_sids: dict[str, str] = field(default_factory=dict)
    # learned from the data in hand
    learned_fqdns: set[str] = field(default_factory=set)
    learned_hosts: dict[str, set[str]] = field(default_factory=dict)  # short -> FQDNs named
    machine_domains: dict[str, set[str]] = field(default_factory=dict)  # short -> its account's
    learned_sids: dict[str, Account] = field(default_factory=dict)
    _sid_domains: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    _sid_names: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, driver: neo4j.Driver | None, database: str | None = None) -> TwinIndex:
        return cls.read(TwinReader(driver, database))

    @classmethod
    def read(cls, reader: TwinReader) -> TwinIndex:
        """Five read queries: hosts, leases, users, groups, domains."""
        index = cls()
        if reader:
            index.refresh(reader)
        return index

    def refresh(self, reader: TwinReader, keys: list[str] | None = None) -> None:
        """Read hosts, leases, users, groups and domains from the twin into the index:
        all of them, or only the nodes with `keys` (nodes new since the index was loaded:
        `add_*` appends, so a node already in the index must not be read twice). Each
        query returns one row of collected lists: decoding a few large lists is several
        times cheaper for the driver than a record per node."""
        where = "" if keys is None else " WHERE {v}.key IN $keys"

        def rows(query: str) -> list:
            return reader.rows(query, keys=keys)[0]["rows"]

        for key, short, oid, ip, ips, ls, domain in rows(
            "MATCH (c:Computer)" + where.format(v="c")
            + " RETURN collect([c.key, c.shortname, c.objectid, c.ip, c.ips, c.lastseen, c.domain]) AS rows"
        ):
            self.add_host(key, short=short, objectid=oid, ip=ip, ips=ips, lastseen=ls, domain=domain)
        for host, ip, first, last in rows(
            "MATCH (c:Computer)-[r:HasIP]->(i:IP)" + where.format(v="c")
            + " RETURN collect([c.key, coalesce(i.address, substring(i.key, 3)), r.firstseen, r.lastseen]) AS rows"
        ):
            self.add_lease(ip, host, first, last)
        for key, sam, oid, domain, more, upn, upn2, email in rows(
            "MATCH (u:User)" + where.format(v="u")
            + " RETURN collect([u.key, u.samaccountname, u.objectid, u.domain, u.aliases, u.upn,"
            " u.userprincipalname, u.email]) AS rows"
        ):
            aliases = [a for a in (upn, upn2, email) if isinstance(a, str)]
            if isinstance(more, list):
                aliases += [a for a in more if isinstance(a, str)]
            self.add_user(key, sam=sam, objectid=oid, domain=domain, aliases=aliases)
        # Groups are accounts too (4728 names the group it changed): known, so that an
        # event links to the group instead of inventing a User of the same name.
        for key, sam, oid, domain in rows(
            "MATCH (g:Group)" + where.format(v="g")
            + " RETURN collect([g.key, g.samaccountname, g.objectid, g.domain]) AS rows"
        ):
            self.add_user(key, sam=sam, objectid=oid, domain=domain, aliases=[])
        for key, name, oid, dsid, netbios in rows(
            "MATCH (d:Domain)" + where.format(v="d")
            + " RETURN collect([d.key, d.name, d.objectid, d.domainsid, d.netbios]) AS rows"
        ):
            self.add_domain(name or key, objectid=oid or dsid, netbios=netbios)

    def copy(self) -> TwinIndex:
        """An index to resolve one file with: it learns that file's accounts, hosts and
        leases without teaching them to the next file. Top-level maps are copied; the
        lists inside them are shared, which is safe because only `add_*` (never used on a
        copy) appends: `learn_lease` replaces a list instead of appending to it."""
        out = TwinIndex()
        for name, value in vars(self).items():
            if isinstance(value, defaultdict):
                setattr(out, name, defaultdict(value.default_factory,
                                               {k: set(v) for k, v in value.items()}))
            elif isinstance(value, (dict, set)):
                setattr(out, name, value.copy())
        return out

    def add_host(self, key: str, *, short: str | None = None, objectid: str | None = None,
                 ip: str | None = None, ips: list | None = None, lastseen: int | None = None,
                 domain: str | None = None) -> None:
        if not isinstance(key, str) or not key:
            return
        self.hosts.add(key)
        self.host_lastseen[key] = int(lastseen or 0)
        shorts = set()
        if not is_ip(key):
            shorts.add(short_hostname(key))
        if isinstance(short, str) and short:
            shorts.add(short.upper())
        for s in shorts:
            self.host_by_short.setdefault(s, []).append(key)
        if isinstance(objectid, str) and objectid:
            self.by_objectid[objectid.upper()] = (key, "Computer")
        if isinstance(domain, str) and domain and "." in domain:
            self.domains.add(domain.upper())
        addresses = [key] if is_ip(key) else []
        if isinstance(ip, str):
            addresses.append(ip)
        if isinstance(ips, list):
            addresses += [a for a in ips if isinstance(a, str)]
        for a in addresses:
            info = classify_ip(a)
            if info is None:
                continue
            other = self.static_ips.get(info.address)
            # The host keyed by the address itself wins; else the most recently seen one.
            if other is None or key == info.address or (
                other != info.address
                and self.host_lastseen.get(other, 0) < self.host_lastseen[key]
            ):
                self.static_ips[info.address] = key

    def add_lease(self, ip: str, host: str, first: int | None, last: int | None) -> None:
        info = classify_ip(ip)
        if info is None or not host:
            return
        f = int(first if first is not None else (last or 0))
        la = int(last if last is not None else f)
        self.leases.setdefault(info.address, []).append(Lease(min(f, la), max(f, la), host))
        self.leases[info.address].sort(key=lambda x: (x.first, x.last))

    def merge_lease(self, ip: str, host: str, first: int, last: int) -> None:
        """A `HasIP` edge just written (graph.ingest.base.IngestContext.loaded): the
        host's lease of the address as the edge now holds it, one per host and address
        with the earliest first and latest last seen, as a fresh read would give."""
        info = classify_ip(ip)
        if info is None or not host:
            return
        old = self.leases.get(info.address, [])
        same = [x for x in old if x.host == host]
        f, la = min(first, last), max(first, last)
        if same:
            f, la = min(f, *(x.first for x in same)), max(la, *(x.last for x in same))
        self.leases[info.address] = sorted([*(x for x in old if x.host != host), Lease(f, la, host)],
                                           key=lambda x: (x.first, x.last))

    def learn_lease(self, ip: str, host: str, first: float, last: float) -> None:
        """A lease the data in hand shows (graph/ingest/winevents.py: an address a host's
        own events use), for resolving the rest of that data; copy-safe."""
        info = classify_ip(ip)
        if info is None or not host:
            return
        lease = Lease(int(min(first, last)), int(max(first, last)), host)
        self.leases[info.address] = sorted([*self.leases.get(info.address, ()), lease],
                                           key=lambda x: (x.first, x.last))

    def add_user(self, key: str, *, sam: str | None = None, objectid: str | None = None,
                 domain: str | None = None, aliases: list[str] | None = None) -> None:
        if not isinstance(key, str) or not key:
            return
        self.users.add(key)
        names = {key.rsplit("@", 1)[0]} if "@" in key else set()
        if isinstance(sam, str) and sam:
            names.add(sam.upper())
        for n in names:
            self.user_by_sam.setdefault(n, []).append(key)
        if isinstance(objectid, str) and objectid:
            self.by_objectid[objectid.upper()] = (key, "User")
        for a in aliases or []:
            self.user_by_alias[a.strip().lower()] = key
        dom = domain.upper() if isinstance(domain, str) and domain else (
            key.rsplit("@", 1)[1] if "@" in key else None)
        if dom and "." in dom:
            self.domains.add(dom)

    def add_domain(self, name: str | None, *, objectid: str | None = None,
                   netbios: str | None = None) -> None:
        if not isinstance(name, str) or not name:
            return
        fqdn = name.upper().rstrip(".")
        self.domains.add(fqdn)
        if isinstance(objectid, str) and objectid:
            self.domain_sids[objectid.upper()] = fqdn
        if isinstance(netbios, str) and netbios:
            self.netbios[netbios.upper()] = fqdn

    # ------------------------------------------------------------------ learning

    def learn_account(self, name: object, domain: object, sid: object) -> None:
        """Remember which domain names and SIDs travel together in the data."""
        dom = domain.strip().upper() if isinstance(domain, str) else ""
        if isinstance(name, str) and "@" in name:
            suffix = name.rsplit("@", 1)[1].strip().upper()
            if "." in suffix and suffix not in _NON_ACCOUNT_DOMAINS and not dom:
                dom = suffix
        if dom and "." in dom and dom not in _NON_ACCOUNT_DOMAINS:
            self.learned_fqdns.add(dom)
        if not (isinstance(sid, str) and is_sid(sid)) or is_system_sid(sid):
            return
        sid_u = sid.strip().upper()
        dsid = domain_sid(sid_u)
        if dsid and dom and dom not in _NON_ACCOUNT_DOMAINS:
            self._sid_domains[dsid].add(dom)
        if isinstance(name, str) and name.strip() not in ("", "-") and sid_u not in self._sid_names:
            self._sid_names[sid_u] = (name, dom or None)

    def learn_host_name(self, name: str) -> None:
        """An FQDN the data names a host by: its short name, written alone elsewhere in the
        same data (OTRF exports name one machine both ways), means this host."""
        text = name.strip().rstrip(".").upper()
        if "." in text and " " not in text and not is_ip(text):
            self.learned_hosts.setdefault(short_hostname(text), set()).add(text)

    def learn_machine_account(self, host: str, account: object, domain: object) -> None:
        """A host's own machine account (`WS01$` of `CORP`, on WS01's events) names the
        domain the host belongs to."""
        short = short_hostname(host)
        if (isinstance(account, str) and isinstance(domain, str)
                and account.strip().upper() == f"{short}$" and domain.strip() not in ("", "-")):
            self.machine_domains.setdefault(short, set()).add(domain.strip().upper())

    def finish_learning(self) -> None:
        """Turn what `learn_account` saw into NetBIOS -> FQDN and SID -> account maps."""
        for dsid, names in self._sid_domains.items():
            fqdns = {n for n in names if "." in n}
            fqdn = self.domain_sids.get(dsid) or (fqdns.pop() if len(fqdns) == 1 else None)
            if not fqdn:
                continue
            self.domain_sids.setdefault(dsid, fqdn)
            for n in names:
                if "." not in n:
                    self.netbios.setdefault(n, fqdn)
        for sid, (name, dom) in self._sid_names.items():
            if sid in self.by_objectid:
                continue
            acct = self.resolve_account(name, dom, None)
            if acct is not None:
                self.learned_sids[sid] = acct

    # ------------------------------------------------------------------ hosts and IPs

    def host_for_ip(self, ip: str, ts: float | None = None) -> str | None:
        """The host that held `ip` at `ts`: the lease whose [firstseen, lastseen] holds ts
        (the latest-starting one when several do), else the lease that ended last before
        ts, else the earliest later lease; without leases, a host whose `ip`/`ips` (or key)
        is that address. `ip` must be normalised (see `classify_ip`)."""
        leases = self.leases.get(ip)
        if leases:
            if ts is None:
                return max(leases, key=lambda x: x.last).host
            hit = None
            before = None
            for lease in leases:  # sorted by first; lists are short
                if lease.first <= ts <= lease.last:
                    hit = lease
                elif lease.last < ts and (before is None or lease.last >= before.last):
                    before = lease
            if hit is not None:
                return hit.host
            if before is not None:
                return before.host
            return leases[0].host
        return self.static_ips.get(ip)

    def lease_hosts(self, ip: str) -> set[str]:
        """The hosts that ever held `ip` by lease (one host: no need to look at times)."""
        return {lease.host for lease in self.leases.get(ip, ())}

    def host_by_name(self, name: str, ts: float | None = None) -> str | None:
        """An existing host named by FQDN, short name or IP; None if the twin has none
        (or, for a short name, more than one)."""
        text = name.strip().rstrip(".")
        if not text:
            return None
        info = classify_ip(text)
        if info is not None:
            return self.host_for_ip(info.address, ts) if info.kind != "ignore" else None
        key = text.upper()
        if key in self.hosts:
            return key
        if "." in key:
            return None
        cands = self.host_by_short.get(key, [])
        return cands[0] if len(set(cands)) == 1 else None

    def host_key(self, name: str) -> tuple[str, bool] | None:
        """The key a source that names a host by `name` should write to: the twin's own
        host when it resolves, else the FQDN (contract: FQDN, else IP); None for an
        unknown short name, which has no key of its own."""
        text = name.strip().rstrip(".")
        if not text:
            return None
        found = self.host_by_name(text)
        if found:
            return found, True
        info = classify_ip(text)
        if info is not None:
            return (info.address, False) if info.kind == "internal" else None
        if "." in text and " " not in text:
            return text.upper(), False
        return None

    def event_host(self, name: str, *, guess_domain: bool = True,
                   machine_domains: list[str] | None = None) -> tuple[str, bool] | None:
        """The key an event naming its host `name` belongs to, and whether the twin has
        that host. An FQDN or IP is `host_key`'s. A short name: the one FQDN the same data
        names it by; else, when its own machine account names its domain (learned, or
        `machine_domains` kept on an event), that domain's host, or nothing at all when
        that domain is unknown or a workgroup (OTRF's 2020-10 captures come from a
        workgroup WORKSTATION5 that is not THESHIRE's); else the twin's one host of that
        short name; else (with `guess_domain`) a host of the twin's only domain. None
        when no rule gives one answer: the event waits for its host
        (graph/ingest/_winlink.py)."""
        text = name.strip().rstrip(".")
        short = text.upper()
        if not short or "." in short or " " in short or is_ip(short):
            return self.host_key(text) if text else None
        named = self.learned_hosts.get(short, set())
        if len(named) == 1:
            key = next(iter(named))
            return key, key in self.hosts
        claimed = self.machine_domains.get(short, set()) | set(machine_domains or ())
        if claimed:
            doms = {self.domain_fqdn(d) for d in claimed} - {None}
            if not doms and all(str(d).upper() in ("WORKGROUP", short) for d in claimed):
                # a stand-alone machine (its own account's domain is a workgroup): it has no
                # FQDN, so its name is its key, and it is never a domain host of that name
                return short, short in self.hosts
            if len(doms) != 1:
                return None
            key = f"{short}.{next(iter(doms))}"
            return key, key in self.hosts
        found = self.host_by_name(short)
        if found:
            return found, True
        doms = (self.domains | self.learned_fqdns) if guess_domain else set()
        if len(doms) == 1:
            key = f"{short}.{next(iter(doms))}"
            return key, key in self.hosts
        return None

    # ------------------------------------------------------------------ accounts

    def domain_fqdn(self, domain: str | None, *, trust_dotted: bool = False) -> str | None:
        """A domain as written (NetBIOS `CORP`, FQDN `corp.local`) -> its FQDN when known."""
        if not domain:
            return None
        d = domain.strip().upper().rstrip(".")
        if not d or d in _NON_ACCOUNT_DOMAINS:
            return None
        if d in self.domains or d in self.learned_fqdns:
            return d
        if d in self.netbios:
            return self.netbios[d]
        if "." in d:
            return d if trust_dotted else None
        # NetBIOS name = first label of exactly one known FQDN (the default when a domain
        # is created, and what nearly every lab and most enterprises keep).
        cands = {f for f in self.domains | self.learned_fqdns if f.split(".", 1)[0] == d}
        return cands.pop() if len(cands) == 1 else None

    def account_pending(self, name: object, domain: object = None, sid: object = None, *,
                        host_short: str | None = None) -> bool:
        """Whether an account `resolve_account` could not place is one the twin may place
        later (a domain account whose domain FQDN, SID or user is not known yet), rather
        than an OS account or a local account of the host, which never will be."""
        sid_u = sid.strip().upper() if isinstance(sid, str) and is_sid(sid) else None
        if sid_u and is_system_sid(sid_u):
            sid_u = None
        raw = name.strip() if isinstance(name, str) else ""
        if not raw or raw == "-":
            return sid_u is not None
        user, dom = split_user(raw)
        if dom is None and isinstance(domain, str) and domain.strip() not in ("", "-"):
            dom = domain.strip().upper()
        if (user.strip() in _NON_ACCOUNT_NAMES or user.strip().startswith(_NON_ACCOUNT_PREFIXES)
                or (dom is not None and dom in _NON_ACCOUNT_DOMAINS)):
            return False
        return not (host_short and dom == host_short.upper())

    def resolve_account(self, name: object, domain: object = None, sid: object = None, *,
                        host_short: str | None = None, host_key: str | None = None) -> Account | None:
        """An account named by `DOMAIN\\user`, `user@fqdn`, `user` + domain field, and/or SID.

        None for OS accounts (SYSTEM, NT AUTHORITY\\*, DWM-1, ...), for local accounts of
        the host itself (domain == its short name), and when the twin has no such account
        and the domain's FQDN is unknown (nothing to key it by). `WS01$` is the computer."""
        sid_u = sid.strip().upper() if isinstance(sid, str) and is_sid(sid) else None
        if sid_u and is_system_sid(sid_u):
            sid_u = None
        if sid_u:
            hit = self.by_objectid.get(sid_u)
            if hit:
                return Account(hit[0], hit[1], True)
            learned = self.learned_sids.get(sid_u)
            if learned:
                return Account(learned.key, learned.label, learned.key in self.hosts
                               or learned.key in self.users)
        if not isinstance(name, str):
            return None
        raw = name.strip()
        if not raw or raw == "-":
            return None
        user, dom = split_user(raw)
        user = user.strip()
        explicit_domain = isinstance(domain, str) and domain.strip() not in ("", "-")
        if dom is None and explicit_domain:
            dom = domain.strip().upper()
        if dom is None and sid_u:
            dom = self.domain_sids.get(domain_sid(sid_u) or "")
        if (user in _NON_ACCOUNT_NAMES or user.startswith(_NON_ACCOUNT_PREFIXES)
                or (dom is not None and dom in _NON_ACCOUNT_DOMAINS)):
            return None
        if host_short and dom == host_short.upper():
            # a local account of that host: `NAME@HOST` (the host's key), when the host is known
            if host_key and "." not in host_key and not user.endswith("$"):  # a stand-alone machine's
                key = f"{user.upper()}@{host_key}"
                return Account(key, "User", key in self.users)
            return None
        if "@" in raw:
            alias = self.user_by_alias.get(raw.lower())
            if alias:
                return Account(alias, "User", True)
        trust = explicit_domain and "\\" not in raw and "@" not in raw
        fqdn = self.domain_fqdn(dom, trust_dotted=trust)
        if user.endswith("$"):
            short = user[:-1]
            cands = sorted(set(self.host_by_short.get(short, [])))
            if fqdn:
                same = [c for c in cands if c.endswith("." + fqdn)]
                if same:
                    return Account(same[0], "Computer", True)
                key = f"{short}.{fqdn}"
                return Account(key, "Computer", key in self.hosts)
            if len(cands) == 1:
                return Account(cands[0], "Computer", True)
            return None
        if fqdn:
            key = f"{user}@{fqdn}"
            if key in self.users:
                return Account(key, "User", True)
            return Account(key, "User", False)
        cands = sorted(set(self.user_by_sam.get(user, [])))
        if dom and "." not in dom:  # a NetBIOS name we could not map: match its first label
            cands = [c for c in cands if c.rsplit("@", 1)[-1].split(".", 1)[0] == dom] or []
        if len(cands) == 1:
            return Account(cands[0], "User", True)
        return None


def existing_keys(reader: TwinReader, keys: list[str]) -> set[str]:
    """Which of `keys` name a node of the twin (one query)."""
    if not reader or not keys:
        return set()
    recs = reader.rows("UNWIND $keys AS k MATCH (n:Twin {key: k}) RETURN collect(k) AS found",
                       keys=sorted(set(keys)))
    return set(recs[0]["found"]) if recs else set()


# --------------------------------------------------------------------------- alerts


class Involved(NamedTuple):
    key: str
    role: str
    raw: str  # the alert's own words for it


@dataclass
class AlertResolution:
    """What an alert's mentions are in the twin: `involved` entities that exist, and
    `absent` mentions the twin has no node for (evidence in its own right: an alert about
    `WS-99` when no WS-99 exists)."""

    involved: list[Involved] = field(default_factory=list)
    absent: list = field(default_factory=list)  # graph.alert_model.Mention
    # The event-store rows of the involved processes and hashes (key -> row): the alert
    # ingest gives each one a graph node for its `Involves` edge.
    events: dict[str, dict] = field(default_factory=dict)


def resolve_alert(alert, index: TwinIndex, reader: TwinReader | None = None, *,
                  events=None, slack_s: int = 300) -> AlertResolution:
    """Resolve a `graph.alert_model.ParsedAlert`'s mentions against the twin, never
    creating anything: hosts by FQDN / short name / IP at the activity's time, users by
    any name form or SID, IPs to the host holding them then (and to their `IP` node),
    processes and hashes to the latest matching process event on the alert's hosts, read
    from the event store (`events`: a store or an ingest's run, anything with `query`)."""
    reader = reader or TwinReader()
    out = AlertResolution()
    ts = alert.activity_timestamp
    seen: set[tuple[str, str]] = set()

    def add(key: str, role: str, raw: str) -> None:
        if (key, role) not in seen:
            seen.add((key, role))
            out.involved.append(Involved(key, role, raw))

    hosts: list[str] = []
    for m in alert.hosts:
        key = index.host_by_name(m.raw, ts)
        if key:
            add(key, m.role, m.raw)
            hosts.append(key)
        else:
            out.absent.append(m)
    ip_nodes = existing_keys(reader, [f"IP:{i.address}" for m in alert.ips
                                      if (i := classify_ip(m.raw))] + [INTERNET_KEY])
    for m in alert.ips:
        info = classify_ip(m.raw)
        if info is None or info.kind == "ignore":
            continue
        found = False
        if info.kind == "internal":
            host = index.host_for_ip(info.address, ts)
            if host:
                add(host, m.role, m.raw)
                found = True
                if m.role in ("host_ip", "ip"):
                    hosts.append(host)
        elif INTERNET_KEY in ip_nodes and m.role in ("src_ip", "dst_ip"):
            add(INTERNET_KEY, m.role, m.raw)
            found = True
        if f"IP:{info.address}" in ip_nodes:
            add(f"IP:{info.address}", m.role, m.raw)
            found = True
        if not found:
            out.absent.append(m)
    for m in alert.users:
        acct = index.resolve_account(None if is_sid(m.raw) else m.raw, m.domain, m.sid)
        if acct is not None and acct.exists:
            add(acct.key, m.role, m.raw)
        else:
            out.absent.append(m)
    hosts = sorted(set(hosts))
    if events is None or not hosts:
        out.absent.extend(alert.processes)
        out.absent.extend(alert.hashes)
        return out
    until = alert.timestamp + slack_s
    if alert.processes:
        procs = events.query(EventFilter(on_hosts=hosts, kinds=["ProcessEvent"], until=until, newest=True))
    for m in alert.processes:
        name = m.raw.lower() if m.raw and not m.raw.isdigit() else None
        path = m.path.lower() if m.path else None
        found = next((r for r in procs if _process_matches(r["props"], m.pid, path, name)), None)
        if found:
            add(found["key"], m.role, m.raw)
            out.events[found["key"]] = found
        else:
            out.absent.append(m)
    for m in alert.hashes:
        digest = m.raw.lower()
        rows = events.query(EventFilter(on_hosts=hosts, until=until, newest=True, contains=digest))
        found = next((r for r in rows if digest in (r["props"].get("hashes") or ())), None)
        if found:
            add(found["key"], "hash", m.raw)
            out.events[found["key"]] = found
        else:
            out.absent.append(m)
    return out


def _process_matches(props: dict, pid: int | None, path: str | None, name: str | None) -> bool:
    """A process event is the alert's process: its id when the alert gives one, its image
    by full path, or by file name (`mimikatz.exe` is `C:\\Temp\\mimikatz.exe`)."""
    image = str(props.get("image") or "").lower()
    return ((pid is None or props.get("process_id") == pid)
            and (path is None or image == path)
            and (name is None or image == name or image.endswith("\\" + name)))
