"""The decision table: three answers in, one verdict out (agents/RULES.md).

| happened                    | expected                | verdict         |
|-----------------------------|-------------------------|-----------------|
| absent                      | -                       | false_positive  |
| contradicted                | -                       | false_positive  |
| not_seen                    | -                       | false_positive  |
| attempted (the probe, not its effect) | authorised / routine | benign_positive |
| attempted                   | not_authorised          | false_positive  |
| corroborated / unverifiable | authorised / routine    | benign_positive |
| corroborated / unverifiable | not_authorised          | true_positive   |

Question 3 (origin) never changes the verdict by itself; it feeds question 2 (the
source host is part of "from where") and the paths, impact and report.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.models import Answer, Claim, Evidence
from agents.reasoning.case import Case
from agents.reasoning.expected import expected
from agents.reasoning.happened import Found, happened

CONFIDENCE = {
    ("absent", None): 0.9, ("contradicted", None): 0.85, ("not_seen", None): 0.75,
    ("corroborated", "authorised"): 0.8, ("corroborated", "routine"): 0.7,
    ("corroborated", "not_authorised"): 0.85, ("unverifiable", "authorised"): 0.6,
    ("unverifiable", "routine"): 0.55, ("unverifiable", "not_authorised"): 0.55,
}


@dataclass
class Finding:
    verdict: str
    confidence: float
    rule: str
    reasons: list[str]
    claims: list[Claim]
    answers: list[Answer]
    found: Found


def origin_answer(case: Case, found: Found) -> Answer:
    o = case.origin
    host = o.host if o is not None and o.host else (found.sources[0] if found.sources else None)
    account = o.account if o is not None and o.account else (found.actors[0] if found.actors else None)
    ip = (o.ip if o is not None else None) or (found.source_ips[0] if found.source_ips else None)
    claims: list[Claim] = []
    chain = list(o.chain) if o is not None else []
    if host or account:
        ev = [Evidence(node=k) for k in (o.evidence if o is not None else [])[:4]] or [
            Evidence(node=k) for k in (host, account) if k]
        claims.append(Claim(text=f"the activity came from {host or 'an unknown host'}"
                                 f"{' as ' + account if account else ''}"
                                 f"{' (' + ip + ')' if ip and ip != host else ''}", evidence=ev,
                            agent="context_gatherer"))
        status = "attributed" if host and account else "partial"
        hops = " <- ".join(f"{s.get('host') or '?'} ({s.get('account') or '?'})" for s in chain[:4])
        summary = f"source {host or '?'} / {account or '?'}" + (f"; session chain {hops}" if len(chain) > 1 else "")
    elif ip:
        status, summary = "partial", f"source address {ip}: no host held it at that time in the twin"
    else:
        status, summary = "unknown", "the telemetry does not show where the activity came from"
    return Answer(question="origin", status=status, summary=summary, claims=claims,
                  details={"host": host, "account": account, "ip": ip, "chain": chain})


def decide(case: Case) -> Finding:
    q1, found = happened(case)
    q3 = origin_answer(case, found)
    if q1.status in ("absent", "contradicted", "not_seen"):
        q2 = Answer(question="expected", status="not_applicable",
                    summary="not asked: the activity did not happen as the alert says")
        rule = {"absent": "entities-absent", "contradicted": f"{case.family.name}-misfire",
                "not_seen": f"{case.family.name}-not-corroborated"}[q1.status]
        return Finding("false_positive", CONFIDENCE[(q1.status, None)], rule, [q1.summary], q1.claims,
                       [q1, q2, q3], found)
    q2 = expected(case, found)
    conf = CONFIDENCE.get((q1.status, q2.status), 0.6)
    if q1.status == "attempted" and q2.status not in ("authorised", "routine"):
        # the probe happened, the exploitation the alert claims did not, and nobody sanctioned it
        return Finding("false_positive", 0.75, f"{case.family.name}-attempt-failed", [q1.summary, q2.summary],
                       q1.claims + q2.claims, [q1, q2, q3], found)
    if q2.status in ("authorised", "routine"):
        return Finding("benign_positive", conf, f"{case.family.name}-{q2.status}", [q1.summary, q2.summary],
                       q1.claims + q2.claims, [q1, q2, q3], found)
    return Finding("true_positive", conf, f"{case.family.name}-unauthorised", [q1.summary, q2.summary],
                   q1.claims + q2.claims, [q1, q2, q3], found)
