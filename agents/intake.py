"""Intake: read the alert, resolve the names it gives against the twin.

Shared by every analyst: parsing and resolution are facts, not opinions. A name that
resolves to exactly one strong candidate becomes an entity; a name the twin lacks is
kept as `absent` (evidence that the alert points at nothing); an ambiguous name is
never guessed — the investigation says so.
"""

from __future__ import annotations

from typing import Any

from agents.models import EntityRef, Mention
from agents.prompts import injection_markers
from agents.reasoning.case import well_known
from agents.state import InvestigationState
from agents.toolkit import Toolkit
from graph.alert_model import AlertFormatError, parse_alert

STRONG = 0.9  # resolve_entities: 1.0 exact key/SID, 0.9-0.95 an exact alternate form
# An address resolves through its DHCP/scan leases: the latest lease before the alert
# (0.85) is how scanners see the network, so it counts for IP mentions.
STRONG_IP = 0.85
IP_ROLES = {"src_ip", "dst_ip", "host_ip", "ip"}


class AlertError(ValueError):
    """The alert document cannot be investigated (one line for the user)."""


def run_intake(st: InvestigationState, kit: Toolkit) -> dict[str, Any]:
    try:
        alert = parse_alert(st.alert_doc)
    except AlertFormatError as exc:
        raise AlertError(str(exc)) from None
    as_of = alert.activity_timestamp
    kit.toolbox.as_of = as_of
    # SYSTEM and the other local principals exist on every machine: nothing to resolve
    raw_mentions = [(m.role, m.raw) for m in [*alert.hosts, *alert.users, *alert.ips]
                    if not (m in alert.users and well_known(m.raw))]
    names = list(dict.fromkeys(text for _, text in raw_mentions if text))
    resolutions: dict[str, Any] = {}
    if names:
        out = kit.call("resolve_entities", names=names[:50], as_of=as_of)
        resolutions = {r.input: r for r in out.results}

    mentions: list[Mention] = []
    entities: dict[str, EntityRef] = {}
    absent: list[str] = []
    notes: list[str] = []
    for role, text in raw_mentions:
        res = resolutions.get(text)
        m = Mention(role=role, text=text)
        if res is None:
            mentions.append(m)
            continue
        floor = STRONG_IP if role in IP_ROLES else STRONG
        strong = [c for c in res.candidates if c.score >= floor and "IP" not in c.labels]
        if role in IP_ROLES and any(c.key != text for c in strong):
            # a host that held the address at the alert's time beats the node keyed by the
            # bare address (a flow record of it): the name is what the alert is about
            strong = [c for c in strong if c.key != text]
        m.candidates = [c.key for c in res.candidates][:5]
        if res.status == "found" and len(strong) >= 1 and (len(strong) == 1 or strong[0].score > strong[1].score):
            best = strong[0]
            m.resolved, m.reason = best.key, best.reason
            if best.key not in entities:
                entities[best.key] = EntityRef(key=best.key, labels=[x for x in best.labels if x != "Twin"],
                                               role=role, mention=text)
        elif res.absent:
            m.reason = "not in the twin"
            if text not in absent:
                absent.append(text)
        else:
            m.reason = f"ambiguous: {', '.join(m.candidates)}"
            notes.append(f"intake: {text!r} is ambiguous ({', '.join(m.candidates)}); not guessed")
        mentions.append(m)

    kit.last_summary = f"{len(entities)} entities resolved, {len(absent)} absent"
    return {
        "alert": alert.model_dump(mode="json", exclude={"raw"}),
        "as_of": as_of,
        "mentions": mentions,
        "entities": list(entities.values()),
        "absent": absent,
        "injection": injection_markers(st.alert_doc),
        "notes": notes,
    }
