"""What an agent holds while it works: the twin's tools at the alert's time, metered.

A thin layer over graph.tools.Toolbox, one per agent stage, so the audit says which
agent ran which Cypher and the query count feeds the investigation's budget. It adds:

- the what-if tools (agents/whatif_tools.py): their rolled-back writes cannot pass the
  read-only guard, so they take their own audited door, counted in the same audit;
- the model's door (`model_call`): only the role's own tools, every call logged with an
  id the model cites (`c1`, `c2`, ...) and the keys and paths its full result held, so
  the grounding verifier can check that a finding came from the call it names.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import neo4j
from pydantic import BaseModel, ValidationError

from agents.models import FollowUp, ModelCall, RoleRun, ToolCallRecord
from agents.prompts import twin_injection_markers
from agents.settings import AgentSettings
from agents.whatif_tools import SIM_TOOLS, run_sim, sim_schema
from graph.tools.base import TOOLS, Limits, Toolbox, ToolError, openai_tools, trim_for_llm
from graph.tools.guard import GuardError

MAX_STRINGS = 20_000  # strings remembered per call for the verifier


@dataclass
class CallRecord:
    """One call the model made, with what the verifier needs from its full result."""

    id: str
    tool: str
    arguments: Any
    ok: bool
    error: str | None = None
    strings: set[str] = field(default_factory=set)  # every text value of the result (keys among them)
    paths: list[tuple[list[str], list[str], str]] = field(default_factory=list)  # (nodes, edges, kind)
    actions: list[dict[str, Any]] = field(default_factory=list)  # what-if results: argv and counts
    result: BaseModel | None = None
    ms: float = 0.0

    def public(self) -> ModelCall:
        return ModelCall(id=self.id, tool=self.tool, arguments=self.arguments if isinstance(self.arguments, dict)
                         else {"_raw": str(self.arguments)[:500]}, ok=self.ok, error=self.error, ms=self.ms)


class Toolkit:
    def __init__(self, driver: neo4j.Driver, database: str | None, as_of: int | None, agent: str,
                 limits: Limits | None = None, tools: list[str] | None = None, result_chars: int = 3000,
                 settings: AgentSettings | None = None) -> None:
        self.driver = driver
        self.database = database
        self.agent = agent
        self.as_of = as_of
        self.toolbox = Toolbox(driver, database, as_of=as_of, limits=limits)
        self.tools = list(tools) if tools is not None else None  # the model's tools; None = every one
        self.result_chars = result_chars
        self.calls: list[CallRecord] = []
        self._extra_queries = 0
        self.last_summary = ""
        # The run's settings (the workflow sets them from the LangGraph config).
        self.settings = settings or AgentSettings()
        self.llm_seconds = 0.0  # time in the model, this stage
        self.role_run: RoleRun | None = None  # what a model-driven role did (agents.llm_analyst)
        self.ask: FollowUp | None = None  # a question the lead sends back (agents.workflow)
        # Instruction-like text met in the twin's answers (see agents.prompts).
        self.injection: list[str] = []

    # -- our own code's door -----------------------------------------------------------
    def call(self, name: str, **args: Any) -> BaseModel:
        """A typed tool call from our own code (analyst rules, intake): any tool."""
        if name in SIM_TOOLS:
            return run_sim(self.driver, self.database, self.toolbox.audit, self.toolbox.limits, name, args)
        return self._screened(self.toolbox.call(name, args))

    def call_tool(self, name: str, arguments_json: str | dict | None) -> dict:
        """An LLM's tool call on the registry's tools: malformed arguments come back as an error object."""
        return self._screened(self.toolbox.call_tool(name, arguments_json))

    def _screened(self, result: Any) -> Any:
        """Every answer from the twin passes here on its way to a rule or a model."""
        for marker in twin_injection_markers(result):
            if marker not in self.injection:
                self.injection.append(marker)
        return result

    def tool_schemas(self, names: list[str] | None = None) -> list[dict]:
        names = names if names is not None else self.tools
        if names is None:
            return openai_tools()
        return [sim_schema(n) if n in SIM_TOOLS else openai_tools([n])[0] for n in names]

    # -- the model's door --------------------------------------------------------------
    def model_call(self, name: str, arguments: str | dict | None) -> tuple[CallRecord, dict]:
        """Run one of the role's tools for the model: (the logged call, what the model sees).
        Whatever goes wrong comes back as `{"error": {...}}` the model can correct."""
        rec = CallRecord(id=f"c{len(self.calls) + 1}", tool=str(name), arguments=arguments, ok=False)
        self.calls.append(rec)
        t0 = time.perf_counter()
        try:
            if self.tools is not None and name not in self.tools:
                raise ToolError("unknown_tool", f"{name!r} is not one of your tools: {', '.join(self.tools) or 'none'}")
            if name not in TOOLS and name not in SIM_TOOLS:
                raise ToolError("unknown_tool", f"no tool named {name!r}")
            raw = arguments
            if isinstance(arguments, (str, bytes)):
                try:
                    raw = json.loads(arguments or "{}")
                except json.JSONDecodeError as exc:
                    raise ToolError("invalid_arguments", f"arguments are not JSON: {exc.msg} at char {exc.pos}") from None
            if not isinstance(raw, dict):
                raise ToolError("invalid_arguments", "arguments must be a JSON object")
            rec.arguments = raw
            result = self.call(name, **raw)  # screened for injection markers there
            rec.ok, rec.result = True, result
            _remember(rec, result)
            limits = self.toolbox.limits
            view: dict = trim_for_llm(result, min(limits.list_cap, 10), min(limits.max_string, 200))
        except ValidationError as exc:
            details = [{"field": ".".join(str(p) for p in e["loc"]) or "(arguments)", "problem": e["msg"]}
                       for e in exc.errors(include_url=False)][:10]
            view = {"error": {"type": "invalid_arguments", "message": f"{len(exc.errors())} invalid argument(s) for {name}",
                              "details": details}}
        except GuardError as exc:
            view = {"error": {"type": "refused" if exc.refused else exc.code, "message": exc.reason}}
        except ToolError as exc:
            view = {"error": {"type": exc.kind, "message": exc.message}}
        except Exception as exc:  # the model's loop must survive any tool bug; the audit keeps it
            view = {"error": {"type": "internal", "message": f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"}}
        if not rec.ok:
            rec.error = str(view["error"].get("message"))
        rec.ms = round((time.perf_counter() - t0) * 1000, 3)
        return rec, view

    def call_of(self, call_id: str) -> CallRecord | None:
        return next((c for c in self.calls if c.id == str(call_id).strip()), None)

    # -- metering ----------------------------------------------------------------------
    def count_queries(self, n: int) -> None:
        """Queries run outside the toolbox (the verifier's evidence checks)."""
        self._extra_queries += n

    @property
    def query_count(self) -> int:
        return len(self.toolbox.audit) + self._extra_queries

    def audit_records(self) -> list[ToolCallRecord]:
        out = []
        for rec in self.toolbox.audit:
            d = rec.as_dict()
            out.append(ToolCallRecord(
                agent=self.agent, tool=str(d.get("tool", "")), params=d.get("parameters") or {},
                query=str(d.get("query", "")), rows=int(d.get("rows") or 0), ms=float(d.get("ms") or 0.0),
                error=d.get("error"),
            ))
        return out


def _remember(rec: CallRecord, result: BaseModel) -> None:
    """The strings, paths and what-if actions of a full result (not the trimmed view the
    model read: a key it saw is in both; the verifier asks only "did this call return it")."""
    data = result.model_dump(mode="json")

    def walk(v: Any) -> None:
        if len(rec.strings) >= MAX_STRINGS:
            return
        if isinstance(v, str):
            rec.strings.add(v)
        elif isinstance(v, dict):
            if isinstance(v.get("nodes"), list) and isinstance(v.get("edges"), list) \
                    and len(v["edges"]) == len(v["nodes"]) - 1 and all(isinstance(x, str) for x in v["nodes"]):
                rec.paths.append((list(v["nodes"]), [str(e) for e in v["edges"]], str(v.get("kind") or "")))
            if isinstance(v.get("argv"), list) and isinstance(v.get("paths_removed"), int):
                rec.actions.append(v)  # one ranked action
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(data)
    if rec.tool == "whatif_simulate" and isinstance(data.get("argv"), list):
        rec.actions.append({**data, "paths_removed": data.get("paths_removed_count", 0)})
