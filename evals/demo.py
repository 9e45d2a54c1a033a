"""`twinsight demo`: the product in one command on a fresh machine.

Generates a synthetic enterprise, loads it into the twin, plays one attack into its
telemetry (a helpdesk account performing DCSync from a workstation, written with the
scenario kit so logons, replication events and connections are consistent), and
investigates the alert that fired — offline analyst, or the LLM when OPENAI_API_KEY is set.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import neo4j

from agents.report import render_html, render_markdown
from agents.runtime import TwinsightService
from evals.build_scenarios import T_BASE, Ctx, Telemetry, alert_doc, specs
from graph.generate import generate
from graph.generate.model import build_enterprise
from graph.ingest.registry import ingest


def run_demo(driver: neo4j.Driver, database: str | None, out: Path, state_dir: Path,
             say: Callable[[str], None], llm: str | None = None, seed: int = 7, hosts: int = 50) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    ent_dir = out / "enterprise"
    say(f"1/4 generating a synthetic enterprise (seed {seed}, {hosts} hosts) in {ent_dir}")
    generate(ent_dir, seed, hosts, ops=True)
    ent = build_enterprise(seed, hosts)
    from evals.build_scenarios import _extra_inventory, _nmap_fallback

    _nmap_fallback(ent, ent_dir, T_BASE - 86400)
    ctx = Ctx("demo", ent, random.Random(seed), "")
    _extra_inventory(ctx, ent_dir)
    say("2/4 loading it into the twin")
    rep = ingest(driver, [ent_dir], database=database)
    say(f"    {rep.records} records, {rep.stats.nodes_created} nodes, {rep.stats.relationships_created} relationships"
        f" in {rep.seconds:.1f}s")
    spec = next(s for s in specs(ctx) if s.sid.endswith("dcsync-helpdesk"))
    t = T_BASE + 3600
    tel = Telemetry(ent, 1)
    alert_kw = spec.write(t, tel)
    tel.write(out / "attack")
    ingest(driver, [out / "attack"], database=database)
    alert = alert_doc("ocsf", "ALERT-DEMO-DCSYNC", spec.title, spec.technique, "high", t, netbios=ent.netbios, **alert_kw)
    alert_path = out / "alert.json"
    alert_path.write_text(json.dumps(alert, indent=1) + "\n")
    say(f"3/4 an alert fired: {spec.title} ({alert_path})")
    service = TwinsightService(driver, database, state_dir=state_dir, llm=llm)
    outcome = service.investigate(alert, on_progress=lambda p: say(f"    {p.stage}: {p.message}"))
    if outcome.result is None:
        raise RuntimeError(f"the investigation did not finish: {outcome.error}")
    r = outcome.result
    (out / "report.md").write_text(render_markdown(r))
    (out / "report.html").write_text(render_html(r))
    (out / "investigation.json").write_text(json.dumps(r, indent=1, default=str))
    say(f"4/4 verdict {r['verdict']} ({r['severity']}, confidence {r['confidence']:.2f}) by {r['decided_by']}")
    return r
