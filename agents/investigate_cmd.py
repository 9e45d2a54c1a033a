"""`twinsight investigate`: the command body (cli.py only wires it).

The investigation's id is printed before any work, so a run killed at any moment can be
finished with `--resume ID`: every stage is checkpointed (agents/runtime.py) and the
resumed run skips the stages that finished."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from agents.intake import AlertError
from agents.report import render_html, render_markdown
from agents.service import Progress
from graph import faults
from graph.alert_model import AlertFormatError, parse_alert

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


def state_dir() -> Path:
    from graph.settings import Neo4jSettings

    return Path(os.environ.get("TWINSIGHT_STATE_DIR") or Neo4jSettings.from_env().home / "investigations")


def load_alert(path: Path) -> dict[str, Any]:
    """One alert document, checked before anything runs; errors name the file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise AlertError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AlertError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(doc, list):
        if len(doc) != 1:
            raise AlertError(f"{path}: holds {len(doc)} documents; investigate takes one alert")
        doc = doc[0]
    if not isinstance(doc, dict):
        raise AlertError(f"{path}: not a JSON object")
    try:
        parse_alert(doc)
    except AlertFormatError as exc:
        raise AlertError(f"{path}: {exc}") from None
    return doc


def _stage_fault_point(stage: str) -> None:
    """Where a crash test may stall this process (graph/faults.py); a no-op otherwise."""
    faults.point(f"stage-{stage}")


def run_investigate(alert_file: Path, *, llm: str | None, report: Path | None, respond: bool, resume: str | None,
                    json_out: bool, twin_driver: Callable, emit: Callable, fail: Callable) -> int:
    from agents.runtime import TwinsightService, new_investigation_id

    if llm not in (None, "offline", "openai"):
        fail(f"--llm {llm}: expected offline or openai", 2)
    if report is not None and report.suffix.lower() not in (".md", ".html", ".htm"):
        fail(f"--report {report}: the file must end in .md or .html", 2)
    if resume is not None and not _ID.fullmatch(resume):
        fail(f"--resume {resume!r}: not an investigation id (inv-…, as printed when it started)", 2)
    try:
        alert = load_alert(alert_file)
    except AlertError as exc:
        fail(str(exc), 2)
    inv_id = resume or new_investigation_id()
    console = Console(stderr=True, soft_wrap=True)
    # Before any work: after a crash at any point this line is how to finish the run.
    print(f"investigation {inv_id}: resuming" if resume else
          f"investigation {inv_id} (if interrupted, finish it with --resume {inv_id})", file=sys.stderr, flush=True)
    settings, driver = twin_driver()

    def progress(p: Progress) -> None:
        console.print(f"[dim]{p.stage:>18}[/dim]  {p.message}", highlight=False)

    with driver:
        store = state_dir()
        try:
            service = TwinsightService(driver, settings.database, state_dir=store, llm=llm, fault=_stage_fault_point)
        except ValueError as exc:
            fail(str(exc), 2)
        except (OSError, sqlite3.Error) as exc:
            fail(f"cannot open the investigation store in {store} "
                 f"({getattr(exc, 'strerror', None) or exc}; set by TWINSIGHT_STATE_DIR or TWINSIGHT_HOME)", 1)
        outcome = service.investigate(alert, investigation_id=inv_id, respond=respond, on_progress=progress)
    if outcome.status == "failed":
        fail(f"investigation {outcome.investigation_id} failed: {outcome.error} (resume with --resume {outcome.investigation_id})", 1)
    if outcome.status == "awaiting_approval":
        for p in outcome.pending:
            console.print(f"awaiting approval: {p.action_id}  {p.action} {p.target}  (paths removed {p.paths_removed})")
        if json_out:
            emit({"investigation_id": outcome.investigation_id, "status": outcome.status,
                  "pending": [p.__dict__ for p in outcome.pending]})
        return 0
    result = outcome.result or {}
    if report is not None:
        text = render_html(result) if report.suffix.lower() in (".html", ".htm") else render_markdown(result)
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(text, encoding="utf-8")
        console.print(f"report written to {report}")
    if json_out:
        emit(result)
    else:
        console.print(
            f"[bold]{result['verdict']}[/bold] ({result['severity']}, confidence {result['confidence']:.2f}, "
            f"{result['status']}) — decided by {result.get('decided_by')}")
        for r in result.get("reasons", []):
            console.print(f"  - {r}", highlight=False)
        print(json.dumps({"alert_id": result["alert_id"], "verdict": result["verdict"]}), file=sys.stdout)
    return 0
