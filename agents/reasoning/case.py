"""The case: what the alert claims and what the twin showed around it, in one place.

Built from the investigation state (so the lead analyst, the LLM and the tests read the
same facts); every helper here is a plain reading of tool results, never a judgement.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from agents.reasoning.families import FAMILIES, Family, credential_target, family_of
from agents.reasoning.roles import DocFact, Names, facts_for
from graph.timestamps import parse_time

ADMIN_EDGES = ("AdminTo", "CanPSRemote", "CanRDP", "ExecuteDCOM", "SQLAdmin")
DC_GROUPS = ("DOMAIN CONTROLLERS@", "ENTERPRISE DOMAIN CONTROLLERS@", "ENTERPRISE READ-ONLY DOMAIN CONTROLLERS@",
             "READ-ONLY DOMAIN CONTROLLERS@")
ATTRIBUTED_ROLES = ("source_host", "source_account", "actor", "target")
SYSTEM_ACCOUNTS = {"SYSTEM", "LOCAL SERVICE", "NETWORK SERVICE", "ANONYMOUS LOGON", "LOCAL SYSTEM", "DWM-1",
                   "DWM-2", "DWM-3", "UMFD-0", "UMFD-1", "UMFD-2", "UMFD-3"}


def well_known(name: str | None) -> bool:
    """SYSTEM, LOCAL SERVICE and friends: principals of every machine, not directory accounts."""
    n = str(name or "").replace("/", "\\").split("\\")[-1].split("@")[0].upper()
    return n in SYSTEM_ACCOUNTS or n.startswith(("DWM-", "UMFD-"))


def raw_field(e: dict, *names: str) -> Any:
    """A raw field of an event, whatever the exporter's capitalisation."""
    raw = e.get("raw")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    if not isinstance(raw, dict):
        return None
    low = {str(k).lower(): v for k, v in raw.items()}
    for n in names:
        v = low.get(n.lower())
        if v not in (None, "", "-"):
            return v
    return None


def short(key: str | None) -> str:
    return (key or "").split("@")[0].split(".")[0].upper()


@dataclass
class Case:
    family: Family
    cred_target: str
    alert: dict[str, Any]
    as_of: int | None
    actors: list[str]
    hosts: list[str]
    src_hosts: list[str]
    dst_hosts: list[str]
    target_users: list[str]
    absent: list[str]
    named: int
    mentions: list[Any]
    context: dict[str, dict[str, Any]]
    events: list[dict[str, Any]]
    connections: list[dict[str, Any]]
    history: dict[str, Any] = field(default_factory=dict)
    origin: Any = None
    doc_names: dict[str, str] = field(default_factory=dict)
    injection: list[str] = field(default_factory=list)

    # ------------------------------------------------------------ the alert's claim
    @property
    def processes(self) -> list[str]:
        """Executables the alert names (lower-case basenames)."""
        out = []
        for p in (self.alert or {}).get("processes") or []:
            path = (p.get("path") or p.get("raw") or "").replace("/", "\\")
            base = path.rsplit("\\", 1)[-1].lower()
            if base and p.get("role") == "process":
                out.append(base)
        return list(dict.fromkeys(out))

    @property
    def command_lines(self) -> list[str]:
        return [str(p.get("command_line")) for p in (self.alert or {}).get("processes") or [] if p.get("command_line")]

    @property
    def actor_absent(self) -> bool:
        """The alert names an acting account, and the twin has no such account."""
        users = [m for m in self.mentions if m.role == "user" and not well_known(m.text)]
        return bool(users) and not any(m.resolved for m in users) and any(m.text in self.absent for m in users)

    @property
    def src_ips(self) -> list[str]:
        return [m.text for m in self.mentions if m.role == "src_ip"]

    def claim_text(self) -> str:
        """The alert's own words for what happened (title, rule, description): read for the
        numbers and names it alleges, never for instructions."""
        a = self.alert or {}
        return " ".join(str(a.get(k) or "") for k in ("title", "rule", "description"))

    def alleged_bytes(self) -> int | None:
        """A byte count the alert states (OCSF traffic, ECS source/network bytes, or its text)."""
        raw = (self.alert or {}).get("raw") or {}
        flat = _flatten(raw)
        for k in ("traffic.bytes_out", "traffic.bytes", "source.bytes", "network.bytes", "destination.bytes",
                  "kibana.alert.original_event.bytes", "bytes_out", "bytes"):
            v = flat.get(k)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0:
                return int(v)
        m = _BYTES.search(self.claim_text())
        if m:
            n = float(m.group(1).replace(",", ""))
            return int(n * _UNITS[m.group(2).lower()])
        return None

    def alleged_count(self) -> int | None:
        """A number of connections / attempts the alert states ("1,440 connections")."""
        m = _COUNT.search(self.claim_text())
        return int(m.group(1).replace(",", "")) if m else None

    def cited(self) -> list[str]:
        """Event keys the alert itself points at (Elastic `winlog.*`, OCSF `related_events`)."""
        raw = (self.alert or {}).get("raw") or {}
        out: list[str] = []
        flat = _flatten(raw)
        rec = flat.get("winlog.record_id") or flat.get("kibana.alert.original_event.record_id")
        host = flat.get("winlog.computer_name") or flat.get("host.hostname")
        chan = flat.get("winlog.channel")
        if rec and host and chan:
            out.append(f"EVT:{str(host).upper().rstrip('.')}:{chan}:{rec}")
        fi = raw.get("finding_info") if isinstance(raw.get("finding_info"), dict) else {}
        for r in fi.get("related_events") or []:
            if not isinstance(r, dict) or not r.get("uid") or not r.get("product_uid"):
                continue
            tname = str(r.get("type_name") or "")
            chan = "Microsoft-Windows-Sysmon/Operational" if tname.lower().startswith("sysmon") else (
                tname.split(" ")[0] if tname else "Security")
            out.append(f"EVT:{str(r['product_uid']).upper().rstrip('.')}:{chan}:{r['uid']}")
        return out

    def cited_event_ids(self) -> list[int]:
        raw = (self.alert or {}).get("raw") or {}
        flat = _flatten(raw)
        ids = [flat.get("winlog.event_id"), flat.get("event.code")]
        fi = raw.get("finding_info") if isinstance(raw.get("finding_info"), dict) else {}
        ids += [str(r.get("type_name") or "").split(" ")[-1] for r in fi.get("related_events") or [] if isinstance(r, dict)]
        out = []
        for v in ids:
            try:
                out.append(int(str(v)))
            except (TypeError, ValueError):
                continue
        return sorted(set(out))

    # ------------------------------------------------------------ the twin
    def ctx(self, key: str | None) -> dict[str, Any]:
        return self.context.get(key or "") or {}

    def labels(self, key: str | None) -> set[str]:
        return set(self.ctx(key).get("labels") or [])

    def props(self, key: str | None) -> dict[str, Any]:
        return self.ctx(key).get("properties") or {}

    def groups(self, key: str | None) -> list[str]:
        return [str(g.get("key", "")) for g in self.ctx(key).get("member_of") or []]

    def is_dc(self, key: str | None) -> bool:
        if not key:
            return False
        k = key.upper()
        host = self.host_of_account(k)
        ctxs = [self.ctx(k)] + ([self.ctx(host)] if host else [])
        for c in ctxs:
            if c.get("properties", {}).get("isdc"):
                return True
            if any(str(g.get("key", "")).startswith(DC_GROUPS) for g in c.get("member_of") or []):
                return True
            tags = _tags(c)
            if tags & {"domain-controller", "domain controller", "dc"}:
                return True
        return False

    def host_of_account(self, key: str) -> str | None:
        """A machine account (`DC01$@CORP.LOCAL`) -> its host key, when the twin knows it."""
        name = key.split("@")[0]
        if not name.endswith("$"):
            return key if "Computer" in self.labels(key) else None
        dom = key.split("@")[1] if "@" in key else ""
        cand = f"{name[:-1]}.{dom}" if dom else name[:-1]
        return cand if cand in self.context else None

    def is_machine(self, key: str | None) -> bool:
        return bool(key) and ("Computer" in self.labels(key) or key.split("@")[0].endswith("$"))

    def is_tier0(self, key: str | None) -> bool:
        c = self.ctx(key)
        core = c.get("core") or {}
        if core.get("tier0"):
            return True
        return any(g.get("tier0") for g in c.get("member_of") or [])

    def is_privileged(self, key: str | None) -> bool:
        return self.is_tier0(key) or bool(self.props(key).get("admincount"))

    def is_admin_account(self, key: str | None) -> bool:
        """An administrator: privileged, or holding admin rights on machines, or in an admin group."""
        if self.is_privileged(key):
            return True
        c = self.ctx(key)
        if any(r.get("edge") in ADMIN_EDGES for r in c.get("rights_held") or []):
            return True
        return any(re.search(r"admin", str(g.get("key", "")).split("@")[0], re.I) for g in c.get("member_of") or [])

    def key_for(self, name: str | None) -> str | None:
        """A name an event or a document gives (SID, DN, group name) -> its twin key, if resolved."""
        if not name:
            return None
        if name in self.context:
            return name
        return self.doc_names.get(str(name).lower())

    def rights(self, actor: str, target: str, kinds: tuple[str, ...] | None = None) -> list[dict]:
        out = []
        for r in self.ctx(actor).get("rights_held") or []:
            if r.get("target") == target and (kinds is None or r.get("edge") in kinds):
                out.append(r)
        if not out:  # the target's side lists who holds rights over it (groups included)
            groups = set(self.groups(actor)) | {actor}
            for r in self.ctx(target).get("rights_over") or []:
                if r.get("principal") in groups and (kinds is None or r.get("edge") in kinds):
                    out.append({"edge": r["edge"], "target": target,
                                "via": None if r["principal"] == actor else r["principal"]})
        return out

    def tags(self, key: str | None) -> set[str]:
        return _tags(self.ctx(key))

    def names(self) -> Names:
        hosts: dict[str, str] = {}
        accounts: dict[str, str] = {}
        known = dict(self.doc_names)
        for k in self.context:
            known.setdefault(k.lower(), k)
        for word, key in known.items():
            labels = self.labels(key)
            if "Computer" in labels or ("." in key and "@" not in key and "User" not in labels):
                hosts[word.lower()] = key
                if not re.fullmatch(r"[0-9a-fA-F:.]+", key):  # an address has no short name
                    hosts.setdefault(short(key).lower(), key)
            elif "User" in labels or "@" in key:
                accounts[word.lower()] = key
                accounts.setdefault(key.split("@")[0].lower(), key)
        return Names(hosts, accounts)

    def documentation(self, keys: list[str]) -> list[DocFact]:
        names = self.names()
        out: list[DocFact] = []
        for k in dict.fromkeys(x for x in keys if x):
            facts, _ = facts_for(k, self.ctx(k), names)
            out.extend(facts)
        return out

    def time_of(self, e: dict) -> int | None:
        return e.get("timestamp")


_UNITS = {"b": 1, "bytes": 1, "kb": 1e3, "kib": 1024, "mb": 1e6, "mib": 1024 ** 2, "gb": 1e9, "gib": 1024 ** 3,
          "tb": 1e12, "tib": 1024 ** 4}
_BYTES = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(tib|tb|gib|gb|mib|mb|kib|kb|bytes)\b", re.I)
_COUNT = re.compile(r"(\d[\d,]{1,})\s+(?:connections|requests|attempts|beacons|sessions|callbacks|failed logons|failures)",
                    re.I)


def _tags(ctx: dict) -> set[str]:
    tags = (ctx.get("properties") or {}).get("tags") or []
    if isinstance(tags, str):
        tags = tags.replace(",", ";").split(";")
    return {str(t).strip().lower() for t in tags if str(t).strip()}


def _flatten(doc: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(doc, dict):
        for k, v in doc.items():
            key = f"{prefix}{k}"
            if isinstance(v, dict):
                out.update(_flatten(v, key + "."))
            else:
                out.setdefault(key, v)
    return out


def roles_of(st: Any) -> dict[str, list[str]]:
    """The alert's resolved entities by the part the alert gave them."""
    out: dict[str, list[str]] = {"actors": [], "hosts": [], "src": [], "dst": [], "target_users": [],
                                 "attributed": []}
    for e in st.entities:
        labels = set(e.labels)
        if e.role in ATTRIBUTED_ROLES:  # found in the events, not named by the alert
            out["attributed"].append(e.key)
            continue
        if "User" in labels or (e.role in ("user", "target_user") and "Computer" in labels):
            (out["target_users"] if e.role == "target_user" else out["actors"]).append(e.key)
        if "Computer" in labels and e.role not in ("user", "target_user"):
            out["hosts"].append(e.key)
            if e.role in ("src_ip", "src_host", "source"):
                out["src"].append(e.key)
            elif e.role in ("dst_ip", "dst_host", "target", "host", "host_ip"):
                out["dst"].append(e.key)
    if not out["actors"] and out["target_users"]:
        out["actors"] = list(out["target_users"])
    return {k: list(dict.fromkeys(v)) for k, v in out.items()}


def family_name(st: Any) -> str:
    a = st.alert or {}
    return family_of(a.get("techniques") or [], a.get("rule"), a.get("title"))


def build_case(st: Any) -> Case:
    a = st.alert or {}
    roles = roles_of(st)
    ctx = st.context.entity_context if st.context else {}
    evs = [e for e in (st.context.events if st.context else []) if not e.get("_connection")]
    aliases = {m.text: m.resolved for m in st.mentions if m.resolved and m.role in ("src_ip", "dst_ip", "host_ip", "ip")
               and m.resolved != m.text}
    conns = [_conn(e, aliases) for e in (st.context.events if st.context else []) if e.get("_connection")]
    named = sum(1 for m in st.mentions if m.role in ("host", "user", "src_host", "dst_host", "target_user"))
    fam = FAMILIES[family_name(st)]
    return Case(
        family=fam, cred_target=credential_target(a.get("techniques") or [], a.get("rule"), a.get("title")),
        alert=a, as_of=st.as_of, actors=roles["actors"], hosts=roles["hosts"], src_hosts=roles["src"],
        dst_hosts=roles["dst"], target_users=roles["target_users"], absent=list(st.absent), named=named,
        mentions=list(st.mentions), context=ctx, events=sorted(evs, key=lambda e: (e.get("timestamp") or 0, e.get("key"))),
        connections=conns, history=dict(st.context.history) if st.context else {},
        origin=st.context.origin if st.context else None,
        doc_names=dict(st.context.resolved) if st.context else {},
        injection=list(st.context.injection) if st.context else [],
    )


def _conn(c: dict, aliases: dict[str, str] | None = None) -> dict:
    out = {k: v for k, v in c.items() if k != "_connection"}
    for end in ("src", "dst"):  # flows recorded under the bare address of a host the alert names
        if aliases and out.get(end) in aliases:
            out[end] = aliases[out[end]]
    for k in ("firstseen", "lastseen"):
        if isinstance(out.get(k), str):
            out[k + "_ts"] = parse_time(out[k])
    return out
