"""`twinsight eval run`: load each distinct twin once, layer each scenario's events on it,
investigate its alert, re-verify the result against Neo4j, score, and clean up.

Modes: `offline` (the rules analyst), `openai` (live; `record=True` also writes
cassettes), `replay` (the LLM analyst served from cassettes; no network).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import neo4j

from agents.investigate_cmd import load_alert
from agents.runtime import TwinsightService
from evals.metrics import aggregate, score_scenario, verify_result
from evals.report import write_report
from evals.scenario import Scenario, discover
from graph.ingest.registry import forget, ingest
from graph.schema import apply_schema, reset_twin

CASSETTE_ROOT = Path(__file__).parent / "cassettes"


def _analyst(llm: str, cassettes: Path | None):
    """The analyst and the run's agent settings (None for the offline rules)."""
    from agents.offline import OfflineAnalyst
    from agents.settings import AgentSettings

    if llm == "offline":
        return OfflineAnalyst(), None
    from agents.llm import LLMClient
    from agents.llm_analyst import LLMAnalyst

    if llm == "openai":
        settings = AgentSettings.from_env()
        if not settings.llm.available:
            raise ValueError("--llm openai needs OPENAI_API_KEY (and OPENAI_BASE_URL for a local server)")
        return LLMAnalyst(LLMClient(settings.llm)), settings
    if llm == "replay":
        if cassettes is None or not (cassettes / "model.json").exists():
            raise ValueError(f"--llm replay needs a cassette folder with model.json (looked in {cassettes})")
        meta = json.loads((cassettes / "model.json").read_text())
        # The recording's agent settings (roles, tools, rounds) so the requests line up;
        # nothing is written to os.environ: the next run in this process is not touched.
        recorded = AgentSettings.from_env({k: str(v) for k, v in (meta.get("env") or {}).items()})
        llm_settings = recorded.llm.model_copy(update=dict(
            api_key="replay-no-key", base_url=meta.get("base_url", "http://127.0.0.1:8089/v1"), model=meta["model"],
            structured=meta.get("structured", "json_object_schema"), max_retries=meta.get("max_retries", 2),
            timeout_s=900))
        settings = recorded.model_copy(update={"llm": llm_settings})
        return LLMAnalyst(LLMClient(settings.llm)), settings
    raise ValueError(f"--llm {llm}: expected offline, openai or replay")


def set_name(folder: Path) -> str:
    """A scenario set's name in reports: its folder's name (`evals/scenarios` is the own set)."""
    name = Path(folder).resolve().name
    return "own" if name == "scenarios" else name


def run_eval(
    driver: neo4j.Driver,
    database: str | None,
    scenarios_dir: Path | list[Path],
    out: Path,
    *,
    llm: str = "offline",
    cassettes: Path | None = None,
    record: bool = False,
    only: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    compare: list[Path] | None = None,
) -> dict[str, Any]:
    say = progress or (lambda m: None)
    dirs = [Path(d) for d in (scenarios_dir if isinstance(scenarios_dir, (list, tuple)) else [scenarios_dir])]
    names = [set_name(d) for d in dirs]
    if len(set(names)) != len(names):
        raise ValueError(f"scenario sets need distinct folder names: {', '.join(map(str, dirs))}")
    scenarios: list[Scenario] = []
    set_of: dict[int, str] = {}
    for d, name in zip(dirs, names, strict=True):
        found = discover(d)
        if only:
            found = [s for s in found if s.id in set(only)]
        if not found and not only:
            raise ValueError(f"{d}: no scenario.yaml found")
        for s in found:
            set_of[id(s)] = name
        scenarios += found
    if not scenarios:
        raise ValueError(f"{', '.join(map(str, dirs))}: no scenario.yaml found")
    multi = len(dirs) > 1
    analyst, settings = _analyst(llm, cassettes)
    if llm in ("openai", "replay") and cassettes is None:
        cassettes = CASSETTE_ROOT / settings.llm.model.replace("/", "_")
    out.mkdir(parents=True, exist_ok=True)
    (out / "results").mkdir(exist_ok=True)
    service = TwinsightService(driver, database, state_dir=out / "state", analyst=analyst, settings=settings)
    groups: dict[tuple[str, ...], list[Scenario]] = {}
    for s in scenarios:
        groups.setdefault(s.twin_signature, []).append(s)
    rows: list[dict[str, Any]] = []
    t_all = time.perf_counter()
    run_id = time.strftime("%Y%m%d%H%M%S")
    load_seconds = 0.0
    for sig, group in groups.items():
        t0 = time.perf_counter()
        reset_twin(driver, database)
        apply_schema(driver, database)
        rep = ingest(driver, list(group[0].twin), database=database)
        load_seconds += time.perf_counter() - t0
        say(f"twin {' + '.join(Path(p).name for p in sig)}: {rep.records} records in {time.perf_counter() - t0:.1f}s"
            f" ({len(rep.rejected)} rejected), {len(group)} scenarios")
        for scn in group:
            tag = f"scn-{scn.id}"
            result, error, check = None, None, None
            t1 = time.perf_counter()
            try:
                if scn.events:
                    ingest(driver, list(scn.events), database=database, tag=tag)
                alert = load_alert(scn.alert)
                t1 = time.perf_counter()
                if llm in ("openai", "replay"):
                    from evals.replay import cassette_vcr

                    recorder = cassette_vcr(cassettes, record=(llm == "openai" and record))
                    if llm == "openai" and not record:
                        outcome = service.investigate(alert, investigation_id=f"eval-{run_id}-{scn.id}")
                    else:
                        with recorder.use_cassette(f"{scn.id}.yaml"):
                            outcome = service.investigate(alert, investigation_id=f"eval-{run_id}-{scn.id}")
                else:
                    outcome = service.investigate(alert, investigation_id=f"eval-{run_id}-{scn.id}")
                seconds = time.perf_counter() - t1
                if outcome.result is None:
                    error = outcome.error or outcome.status
                else:
                    result = outcome.result
                    check = verify_result(driver, database, result)
            except Exception as exc:  # one broken scenario must not sink the run
                seconds = time.perf_counter() - t1
                error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
            finally:
                if scn.events:
                    forget(driver, tag, database)
            row = score_scenario(scn, result, check, seconds, error)
            row["set"] = set_of[id(scn)]
            rows.append(row)
            if result is not None:
                where = out / "results" / row["set"] if multi else out / "results"
                where.mkdir(parents=True, exist_ok=True)
                (where / f"{scn.id}.json").write_text(json.dumps(result, indent=1, default=str))
            say(f"  {scn.id}: expected {scn.expect.verdict}, got {row['verdict']} "
                f"{'ok' if row['correct'] else 'WRONG'} ({seconds:.2f}s){' ' + error if error else ''}")
    metrics = aggregate(rows)
    if multi:
        # Each set on its own, side by side: the own set was written with the rules, the
        # independent and real ones were not, so only they say how well the analyst generalises.
        metrics["sets"] = {name: {k: v for k, v in aggregate([r for r in rows if r["set"] == name]).items()
                                  if k != "per_scenario"} for name in names if any(r["set"] == name for r in rows)}
    metrics["mode"] = llm
    metrics["analyst"] = getattr(analyst, "label", llm)
    metrics["wall_seconds"] = round(time.perf_counter() - t_all, 2)
    metrics["twin_load_seconds"] = round(load_seconds, 2)
    metrics["twins_loaded"] = len(groups)
    from evals.scenario import SKIPPED

    metrics["skipped"] = list(SKIPPED)
    for line in SKIPPED:
        say(f"skipped {line}")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1, default=str))
    others = {}
    for p in compare or []:
        other = json.loads(Path(p).read_text())
        others[str(other.get("analyst") or p)] = other
    write_report(metrics, out, compare=others or None)
    return metrics
