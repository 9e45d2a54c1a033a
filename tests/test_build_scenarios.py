"""The scenario builder (evals/build_scenarios.py): it writes the committed set, the same
bytes every time, with the generator's telemetry kit - so a scenario's records look like
the background they sit in - and every `expect.source` is where the recorded activity
came from. No Neo4j needed: the eval run itself is tests/test_eval_set.py."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pytest

from evals.build_scenarios import ENTERPRISES, build
from evals.scenario import load_scenario
from graph.generate.model import build_enterprise

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "evals" / "scenarios"


def _tree(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*")) if p.is_file()
            and not p.relative_to(root).parts[0].startswith("real-")}


def _differ(a: Path, b: Path) -> list[str]:
    ta, tb = _tree(a), _tree(b)
    out = sorted(set(ta) ^ set(tb))
    out += [k for k in sorted(set(ta) & set(tb)) if not filecmp.cmp(ta[k], tb[k], shallow=False)]
    return out


def test_the_builder_writes_the_committed_set_and_the_same_bytes_twice(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    ids = build(first)
    assert build(second) == ids
    assert _differ(first, second) == [], "two runs of the builder differ"
    assert _differ(first, SCENARIOS)[:5] == [], "evals/scenarios is not what `python -m evals.build_scenarios` writes"


def _generated() -> list:
    return [load_scenario(p.parent) for p in sorted(SCENARIOS.glob("*/scenario.yaml"))
            if not p.parent.name.startswith("real-")]


def _records(scn) -> tuple[list[dict], list[dict]]:
    events, conns = [], []
    for f in scn.events:
        if f.suffix == ".jsonl":
            events += [json.loads(x) for x in f.read_text().splitlines() if x.strip()]
        else:
            fields = None
            for line in f.read_text().splitlines():
                if line.startswith("#fields"):
                    fields = line.split("\t")[1:]
                elif line and not line.startswith("#"):
                    conns.append(dict(zip(fields, line.split("\t"), strict=True)))
    return events, conns


def test_scenario_events_have_the_shape_of_the_background_events():
    """The kit renders events with the background's own builders: for every kind of
    event both have, the same fields (a scenario event with fewer or other fields would
    stand out from the noise - a shortcut no real alert offers)."""
    for name, *_ in ENTERPRISES:
        shapes: dict[tuple, set[frozenset]] = {}
        for f in sorted((SCENARIOS / "_base" / name / "ops" / "events").glob("*.jsonl")):
            for line in f.read_text().splitlines():
                e = json.loads(line)
                shapes.setdefault((e["Channel"], e["EventID"]), set()).add(frozenset(e))
        compared = set()
        for scn in _generated():
            if not scn.id.startswith(name + "-"):
                continue
            for e in _records(scn)[0]:
                kind = (e["Channel"], e["EventID"])
                if kind in shapes:
                    assert frozenset(e) in shapes[kind], (scn.id, kind, set(e) ^ set(next(iter(shapes[kind]))))
                    compared.add(kind[1])
        assert {4624, 4688, 1, 4662, 4769} <= compared, compared


def _actor(e: dict) -> str | None:
    """Who acted in an event: the account logging on or asking for a service ticket
    (Target*), the subject of everything else; a TGT request (4768) names whose ticket
    it is, not who asked."""
    if e["EventID"] == 4768:
        return None
    name = e.get("TargetUserName") if e["EventID"] in (4624, 4625, 4769) else e.get("SubjectUserName")
    return str(name).split("@")[0] if name else None


def test_every_source_is_where_the_recorded_activity_came_from():
    """`expect.source` names the host the activity's records come from (its address
    originates a recorded connection; INTERNET: an outside address does) and the
    account that acted from there (an event by it on that host or from its address).
    A scenario lists no source exactly when nothing but the ordinary background was
    recorded."""
    ents = {name: build_enterprise(seed, hosts, domain=domain) for name, domain, seed, hosts in ENTERPRISES}
    listed = 0
    for scn in _generated():
        ent = ents[scn.id.split("-")[0]]
        hosts = {h.fqdn.upper(): h for h in ent.hosts}
        users = {u.name.upper(): u for u in ent.users if u.enabled}
        events, conns = _records(scn)
        if scn.expect.source is None:
            assert not conns and len({e["Hostname"] for e in events}) == 1, scn.id  # the background session only
            continue
        listed += 1
        keys = scn.expect.source
        host_keys = [k for k in keys if k in hosts or k == "INTERNET"]
        assert len(host_keys) == 1 and keys[0] == host_keys[0], (scn.id, keys)  # the host first
        if keys[0] == "INTERNET":
            assert any(not c["id.orig_h"].startswith("10.") for c in conns), scn.id
            continue
        src = hosts[keys[0]]
        assert src.ip in {c["id.orig_h"] for c in conns}, (scn.id, src.fqdn)
        account = [k for k in keys[1:] if k in users] or [k for k in keys if k in hosts and hosts[k].role == "dc"][:1]
        if not account:
            assert keys == [src.fqdn.upper()], scn.id  # a host only: the actor is unknown or none
            continue
        [acct] = account
        sam = users[acct].sam if acct in users else f"{hosts[acct].short}$"
        by_it = [e for e in events if (_actor(e) or "").lower() == sam.lower()]
        assert any(e["Hostname"].upper() == src.fqdn.upper()
                   or str(e.get("IpAddress", "")).removeprefix("::ffff:") == src.ip for e in by_it), (scn.id, acct)
    assert listed >= 50


@pytest.mark.parametrize("sid", ["corp-dcsync-unknown-account", "corp-rdp-no-logon", "corp-winrm-no-session",
                                 "corp-acl-no-change", "corp-persist-nothing"])
def test_scenarios_where_nothing_happened_name_no_source(sid):
    assert load_scenario(SCENARIOS / sid).expect.source is None
