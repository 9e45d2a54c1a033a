"""Question 1: did the alleged activity happen as the alert says?

The alert's specific claim is checked against the raw telemetry at the alert's time:
the replication rights actually requested, the tickets' encryption, the share a logon
touched and whether anything ran *in that logon session after it*, the access rights on
LSASS, the byte count, which host held the source address then. The answer is one of

- `corroborated`: the telemetry shows it (the events are cited);
- `contradicted`: the telemetry shows something else — a misfire (cited);
- `not_seen`: the telemetry covers the place and time and shows no such thing;
- `unverifiable`: nothing was recorded there at that time (the sensor's word stands);
- `absent`: the alert names nothing the twin has.

The checks live one module per kind of evidence (identity, network, host) over the shared
helpers in base; this module picks the check for the alert's family and turns its `Found` into the
answer. Public names are re-exported here, where the analyst and the paths import them.
"""

from __future__ import annotations

from collections.abc import Callable

from agents.models import Answer, Claim, Evidence
from agents.reasoning.case import Case
from agents.reasoning.happened.base import Found, _ip_like, external, focus
from agents.reasoning.happened.host import (
    BUILTIN_TASK,
    _credential_dump,
    _execution,
    _exploit,
    _generic,
    _persistence,
    _reverse_shell,
    task_command,
)
from agents.reasoning.happened.identity import (
    _acl,
    _asrep,
    _credential_use,
    _dcsync,
    _kerberoast,
    _logon,
    _password_reset,
    _spray,
)
from agents.reasoning.happened.network import _c2, _exfil, _lateral, _remote_access, _scan, peers

__all__ = ["BUILTIN_TASK", "CHECKS", "Found", "external", "focus", "happened", "peers", "task_command"]


CHECKS: dict[str, Callable[[Case], Found]] = {
    "dcsync": _dcsync, "credential_dump": _credential_dump, "kerberoast": _kerberoast, "asrep": _asrep,
    "spray": _spray, "lateral": _lateral, "exploit": _exploit, "reverse_shell": _reverse_shell, "c2": _c2,
    "exfil": _exfil, "scan": _scan, "remote_access": _remote_access, "credential_use": _credential_use, "acl_abuse": _acl, "password_reset": _password_reset,
    "persistence": _persistence, "logon": _logon, "execution": _execution, "generic": _generic,
}


def _stale_source(case: Case) -> Found | None:
    """The alert's source host and source address disagree at the alert's time: the name
    was taken from a mapping that no longer held (the address belonged to another host)."""
    by_role: dict[str, set[str]] = {}
    for m in case.mentions:
        if m.resolved:
            by_role.setdefault(m.role, set()).add(m.resolved)
    names, ips = by_role.get("src_host", set()), by_role.get("src_ip", set())
    ips = {k for k in ips if not _ip_like(k)}  # a bare address: no host held it, nothing to contradict
    if names and ips and not names & ips:
        ip_txt = ", ".join(m.text for m in case.mentions if m.role == "src_ip")
        return Found("contradicted", f"at the alert's time {ip_txt} belonged to {', '.join(sorted(ips))}, not to "
                     f"{', '.join(sorted(names))} as the alert says: the activity is attributed to the wrong host",
                     [], sources=sorted(ips), notes={"misattributed": sorted(names)},
                     extra=[Claim(text=f"{ip_txt} was leased to {h} at the alert's time",
                                  evidence=[Evidence(node=h)], agent="lead_analyst") for h in sorted(ips)])
    return None


def happened(case: Case) -> tuple[Answer, Found]:
    if case.named and not case.actors and not case.hosts:
        f = Found("absent", f"the twin has none of the hosts or users the alert names ({', '.join(case.absent[:5])})")
        claims = [Claim(text=f"{a} does not exist in the twin", evidence=[Evidence(absent=a)], agent="lead_analyst",
                        decisive=True) for a in case.absent[:5]]
        return Answer(question="happened", status="absent", summary=f.summary, claims=claims), f
    found = _stale_source(case) or CHECKS[case.family.name](case)
    claims: list[Claim] = []
    if found.events:
        claims.append(Claim(text=found.summary, evidence=[Evidence(node=e["key"]) for e in found.events[:6]],
                            agent="lead_analyst", decisive=True))
    claims.extend(c.model_copy(update={"decisive": True}) for c in found.extra)
    if not claims and found.status in ("not_seen", "unverifiable"):
        ev = [Evidence(node=k) for k in (case.actors + case.hosts)[:3]]
        if ev:
            claims.append(Claim(text=f"{', '.join(k for k in (case.actors + case.hosts)[:3])} exist; {found.summary}",
                                evidence=ev, agent="lead_analyst", decisive=True))
    for a in case.absent[:3]:
        claims.append(Claim(text=f"{a} (named by the alert) does not exist in the twin", evidence=[Evidence(absent=a)],
                            agent="lead_analyst"))
    details = {"events": [e["key"] for e in found.events[:20]], "actors": found.actors, "sources": found.sources,
               "source_ips": found.source_ips, "targets": found.targets, **{k: v for k, v in found.notes.items()
                                                                            if k in ("success", "exploitable", "bytes",
                                                                                     "peers")}}
    return Answer(question="happened", status=found.status, summary=found.summary, claims=claims,
                  details=details), found
