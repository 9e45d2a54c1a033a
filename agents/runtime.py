"""TwinsightService: the investigation service the CLI and the chat-ops bot drive.

It owns the twin connection, the analyst choice (OpenAI when a key is set, else the
offline rules), the SQLite checkpointer (WAL, busy timeout) that makes investigations
resumable, and the approval loop for response actions.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import time
import typing
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import neo4j
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command
from pydantic import BaseModel

from agents.llm import LLMClient
from agents.models import Budget
from agents.offline import OfflineAnalyst
from agents.report import build_result, render_markdown
from agents.service import InvestigationOutcome, PendingAction, Progress
from agents.settings import AgentSettings
from agents.state import InvestigationState
from agents.toolkit import Toolkit
from agents.workflow import Runtime, build_graph
from graph.db import server_info


def new_investigation_id() -> str:
    return f"inv-{uuid.uuid4().hex[:12]}"


def record_only_responder(record: dict[str, Any]) -> dict[str, Any]:
    """Twinsight never touches production by itself: an approved action is recorded for
    the SOAR / ticketing hook that executes it; nothing else happens here."""
    return {"executed": False, "recorded_at": int(time.time()),
            "note": "approved; hand-off recorded (no production responder configured)"}


class SqliteLedger:
    """One handler call per approved action, whatever the resumes and restarts: the call
    is claimed in the checkpoint database (a row keyed by the action id, committed)
    before the handler runs, and its answer stored after. A claim found without an answer
    is a process that died inside the handler: its outcome is unknown, and the handler is
    not called a second time (a SOAR hook acting twice is worse than a human re-checking
    one action the report marks as unknown)."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock) -> None:
        self.conn = conn
        self.lock = lock
        with lock:
            conn.execute("CREATE TABLE IF NOT EXISTS twinsight_responses ("
                         " action_id TEXT PRIMARY KEY, claimed REAL, response TEXT)")
            conn.commit()

    def once(self, action_id: str, record: dict[str, Any],
             handler: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        with self.lock:
            cur = self.conn.execute("INSERT OR IGNORE INTO twinsight_responses(action_id, claimed) VALUES (?, ?)",
                                    (action_id, time.time()))
            self.conn.commit()
            if cur.rowcount == 0:
                row = self.conn.execute("SELECT response FROM twinsight_responses WHERE action_id = ?",
                                        (action_id,)).fetchone()
                if row and row[0]:
                    return json.loads(row[0])
                return {"executed": None, "note": "the handler was called before a restart and did not answer; "
                                                  "its outcome is unknown (not called again)"}
        try:
            response = handler(record)
        except Exception as exc:  # claimed: a failed hand-off is reported, not retried behind the approver's back
            response = {"executed": None, "error": f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"}
        with self.lock:
            self.conn.execute("UPDATE twinsight_responses SET response = ? WHERE action_id = ?",
                              (json.dumps(response, default=str), action_id))
            self.conn.commit()
        return response


def state_models(root: type[BaseModel] = InvestigationState) -> set[type[BaseModel]]:
    """Every pydantic model a checkpoint can hold: `root` and each model its fields name,
    followed through Optional, list, dict and Annotated, plus the other models of the
    modules they live in. Derived from the classes, not listed by hand, so a field added
    to the state (or a new model in agents.models) is restorable without a change here."""
    found: set[type[BaseModel]] = set()

    def walk(tp: Any) -> None:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp in found:
                return
            found.add(tp)
            for info in tp.model_fields.values():
                walk(info.annotation)
            return
        for arg in typing.get_args(tp):
            walk(arg)

    walk(root)
    for model in list(found):
        module = sys.modules.get(model.__module__)
        for value in vars(module).values() if module else ():
            if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == model.__module__:
                walk(value)
    return found


def checkpoint_serializer() -> JsonPlusSerializer:
    """msgpack with exactly our state's models allowed back (LangGraph blocks any other
    class on load): without InvestigationState itself, a checkpoint taken between the
    fan-out and the lead analyst (its Send carries the whole state) cannot be resumed."""
    allowed = sorted((m.__module__, m.__name__) for m in state_models())
    return JsonPlusSerializer(allowed_msgpack_modules=allowed)


def open_checkpointer(path: Path) -> SqliteSaver:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS twinsight_investigations ("
        " id TEXT PRIMARY KEY, alert_id TEXT, status TEXT, analyst TEXT, updated REAL)"
    )
    conn.commit()
    saver = SqliteSaver(conn, serde=checkpoint_serializer())
    saver.setup()
    return saver


def choose_analyst(llm: str | None, agent_settings: AgentSettings | None = None) -> tuple[Any, str]:
    """`offline`, `openai`, or None = OpenAI when OPENAI_API_KEY is set, else offline."""
    settings = (agent_settings or AgentSettings.from_env()).llm
    if llm == "offline" or (llm is None and not settings.available):
        return OfflineAnalyst(), "offline"
    if not settings.available and llm == "openai":
        raise ValueError("--llm openai needs OPENAI_API_KEY (and OPENAI_BASE_URL for a non-OpenAI server)")
    from agents.llm_analyst import LLMAnalyst

    return LLMAnalyst(LLMClient(settings)), "openai"


class TwinsightService:
    def __init__(
        self,
        driver: neo4j.Driver,
        database: str | None = None,
        *,
        state_dir: Path,
        analyst: Any | None = None,
        llm: str | None = None,
        budget: Budget | None = None,
        responder: Callable[[dict[str, Any]], dict[str, Any]] | None = record_only_responder,
        fault: Callable[[str], None] | None = None,
        settings: AgentSettings | None = None,
    ) -> None:
        self.driver = driver
        self.database = database
        # Read from the environment here, at the edge, once; every run gets it in its config.
        self.settings = settings if settings is not None else AgentSettings.from_env()
        self.analyst = analyst or choose_analyst(llm, self.settings)[0]
        self.budget = budget or self.settings.budget
        self.saver = open_checkpointer(state_dir / "investigations.sqlite")
        self._lock = threading.Lock()
        self._resumed_start: dict[str, float] = {}  # investigation id -> its clock's start
        rt = Runtime(make_toolkit=self._toolkit, analyst=self.analyst, responder=responder,
                     fallback=OfflineAnalyst(), fault=fault, ledger=SqliteLedger(self.saver.conn, self._lock))
        self.graph = build_graph(rt).compile(checkpointer=self.saver)

    def _toolkit(self, st: InvestigationState, agent: str) -> Toolkit:
        # Each stage makes its toolkit before its budget check: a resumed investigation's
        # clock is moved on there by the time it lay dead (see _resume_clock). The start is
        # absolute, so a state object two parallel stages share is moved once, not twice.
        start = self._resumed_start.get(st.investigation_id)
        if start and st.started_at and st.started_at < start:
            st.started_at = start
        return Toolkit(self.driver, self.database, st.as_of, agent)

    def _resume_clock(self, inv_id: str, values: dict, checkpoint_at: str | None) -> None:
        """The time budget counts work, not the hours a killed process lay dead: on resume
        the clock starts again from where the last checkpoint left it (the state's own
        `started_at` stays as it was: only this process's stages see the moved start)."""
        started = values.get("started_at") or 0.0
        if not started or not checkpoint_at:
            return
        try:
            last = datetime.fromisoformat(checkpoint_at).timestamp()
        except ValueError:
            return
        self._resumed_start[inv_id] = started + max(0.0, time.time() - last)

    # -- bookkeeping ---------------------------------------------------------------------
    def _track(self, inv_id: str, alert_id: str | None, status: str) -> None:
        with self._lock:
            conn = self.saver.conn
            conn.execute(
                "INSERT INTO twinsight_investigations(id, alert_id, status, analyst, updated) VALUES (?,?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET status=excluded.status, updated=excluded.updated, "
                "alert_id=coalesce(excluded.alert_id, twinsight_investigations.alert_id)",
                (inv_id, alert_id, status, getattr(self.analyst, "label", "?"), time.time()),
            )
            conn.commit()

    def _config(self, inv_id: str) -> dict:
        return {"configurable": {"thread_id": inv_id, "settings": self.settings}, "recursion_limit": 40}

    # -- running -------------------------------------------------------------------------
    def investigate(
        self,
        alert: dict[str, Any],
        *,
        investigation_id: str | None = None,
        respond: bool = False,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> InvestigationOutcome:
        inv_id = investigation_id or new_investigation_id()
        config = self._config(inv_id)
        snapshot = self.graph.get_state(config)
        values = snapshot.values if isinstance(snapshot.values, dict) else {}
        if values.get("result") is not None and not snapshot.next:
            return self._outcome(inv_id)  # finished before: nothing to redo
        if snapshot.created_at is not None:
            # Resume from the last checkpoint: finished stages are not run again. "Nothing
            # next" is not "finished": a checkpoint taken when the two parallel agents had
            # both written shows no next stage until the loop applies their writes.
            payload: Any = None
            self._resume_clock(inv_id, values, snapshot.created_at)
        else:
            payload = InvestigationState(investigation_id=inv_id, alert_doc=alert, respond=respond,
                                         budget=self.budget, started_at=time.time())
        alert_id = None
        try:
            from graph.alert_model import parse_alert

            alert_id = parse_alert(alert).id
        except Exception:
            pass
        self._track(inv_id, alert_id, "running")
        return self._drive(inv_id, payload, on_progress)

    def _drive(self, inv_id: str, payload: Any, on_progress: Callable[[Progress], None] | None) -> InvestigationOutcome:
        config = self._config(inv_id)
        try:
            # "sync": a stage's checkpoint is on disk before the next stage starts, so a
            # process killed at any moment resumes from the last stage it finished.
            for mode, chunk in self.graph.stream(payload, config, stream_mode=["custom", "updates"],
                                                 durability="sync"):
                if mode == "custom" and on_progress and isinstance(chunk, dict):
                    on_progress(Progress(inv_id, str(chunk.get("stage", "")), str(chunk.get("message", ""))))
        except Exception as exc:
            self._track(inv_id, None, "failed")
            return InvestigationOutcome(inv_id, "failed", None, error=f"{type(exc).__name__}: {exc}")
        return self._outcome(inv_id)

    def _outcome(self, inv_id: str) -> InvestigationOutcome:
        snap = self.graph.get_state(self._config(inv_id))
        values = snap.values or {}
        pending = self._pending_from(inv_id, snap)
        if pending:
            self._track(inv_id, None, "awaiting_approval")
            partial = None
            try:  # the verdict is known before the approval pause: show it
                st = values if isinstance(values, InvestigationState) else InvestigationState(**values)
                if st.decision is not None:
                    partial = {**build_result(st), "status": "awaiting_approval"}
            except (TypeError, ValueError):
                partial = None
            return InvestigationOutcome(inv_id, "awaiting_approval", partial, pending=pending,
                                        report_markdown=render_markdown(partial) if partial else None)
        result = values.get("result") if isinstance(values, dict) else getattr(values, "result", None)
        if result is None:
            self._track(inv_id, None, "failed")
            return InvestigationOutcome(inv_id, "failed", None, error="the investigation stopped before its report")
        status = result.get("status", "complete")
        self._track(inv_id, result.get("alert_id"), status)
        return InvestigationOutcome(inv_id, status, result, report_markdown=render_markdown(result))

    @staticmethod
    def _pending_from(inv_id: str, snap: Any) -> list[PendingAction]:
        out = []
        for task in snap.tasks or ():
            for intr in getattr(task, "interrupts", ()) or ():
                v = intr.value if isinstance(intr.value, dict) else {}
                out.append(PendingAction(action_id=str(v.get("action_id")), investigation_id=inv_id,
                                         action=str(v.get("action")), target=str(v.get("target")),
                                         paths_removed=int(v.get("paths_removed") or 0), reason=str(v.get("reason") or "")))
        return out

    def decide(self, action_id: str, approved: bool, by: str) -> InvestigationOutcome:
        inv_id = action_id.rsplit(":", 1)[0]
        snap = self.graph.get_state(self._config(inv_id))
        waiting = [p.action_id for p in self._pending_from(inv_id, snap)]
        if action_id not in waiting:
            return InvestigationOutcome(inv_id, "failed", None,
                                        error=f"{action_id} is not waiting for a decision (waiting: {', '.join(waiting) or 'none'})")
        return self._drive(inv_id, Command(resume={"approved": approved, "by": by}), None)

    def pending(self) -> list[PendingAction]:
        rows = self.saver.conn.execute(
            "SELECT id FROM twinsight_investigations WHERE status = 'awaiting_approval' ORDER BY updated"
        ).fetchall()
        out: list[PendingAction] = []
        for (inv_id,) in rows:
            out.extend(self._pending_from(inv_id, self.graph.get_state(self._config(inv_id))))
        return out

    def find_alert(self, alert_id: str) -> dict[str, Any] | None:
        recs = self.driver.execute_query(
            "MATCH (a:Alert {key: $k}) RETURN a.raw AS raw", k=alert_id, database_=self.database,
            routing_=neo4j.RoutingControl.READ,
        ).records
        if not recs or not recs[0]["raw"]:
            return None
        raw = recs[0]["raw"]
        return json.loads(raw) if isinstance(raw, str) else raw

    def paths(self, source: str, target: str | None = None) -> dict[str, Any]:
        from agents.paths import paths_between

        kit = Toolkit(self.driver, self.database, None, "chatops")
        return paths_between(kit, source, target)

    def whatif(self, argv: list[str]) -> dict[str, Any]:
        from graph.whatif import run_whatif_argv

        return run_whatif_argv(self.driver, self.database, argv)

    def status(self) -> dict[str, Any]:
        info = server_info(self.driver, self.database)
        rows = self.saver.conn.execute(
            "SELECT status, count(*) FROM twinsight_investigations GROUP BY status").fetchall()
        return {**info, "analyst": getattr(self.analyst, "label", "?"), "investigations": dict(rows)}
