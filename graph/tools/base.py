"""Tools as typed functions: pydantic in, pydantic out, one registry, one Toolbox.

The OpenAI `tools` list is generated from the input models, never written by hand,
so the schema an LLM sees and the validation its arguments meet cannot drift apart.
`Toolbox.call_tool` is the LLM-facing door: it takes the raw arguments JSON, and
whatever goes wrong (bad JSON, a wrong type, an unknown tool, a refused query, a
timeout) comes back as an error object the model can read and correct, never as an
exception that ends the investigation.

`TOOLS` lists every tool by hand, here: the tool modules build on graph/tools/spec.py
alone, so importing them has no order to get right and nothing to do lazily.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import neo4j
from pydantic import BaseModel, ValidationError

from graph.events import EventFilter, EventRead, EventStore
from graph.events.store import Shape
from graph.timestamps import parse_time
from graph.tools import chain, context, events, expert, observed, paths, radius, resolve
from graph.tools.guard import AuditRecord, Guard, GuardError, GuardResult
from graph.tools.spec import (
    AS_OF_DOC,
    AsOf,
    Limits,
    ToolError,
    ToolInput,
    ToolOutput,
    ToolSpec,
    as_of_field,
    iso,
    tool,
    tool_parameters_schema,
    trim_for_llm,
)
from graph.tools.store_door import StoreDoor
from graph.tools.vocab import TWIN_NODES_QUERY

__all__ = [
    "AS_OF_DOC", "TOOLS", "AsOf", "Limits", "ToolError", "ToolInput", "ToolOutput", "ToolSpec", "Toolbox",
    "as_of_field", "iso", "openai_tools", "parse_time", "registry", "tool", "tool_parameters_schema",
    "trim_for_llm",
]


def registry(*fns: Callable[..., BaseModel]) -> dict[str, ToolSpec]:
    """Name -> spec of functions marked with `@tool`, in the order given."""
    out: dict[str, ToolSpec] = {}
    for fn in fns:
        spec = getattr(fn, "spec", None)
        if not isinstance(spec, ToolSpec):
            raise TypeError(f"{fn.__module__}.{fn.__name__} is not marked with @tool")
        if spec.name in out:
            raise ValueError(f"two tools named {spec.name!r}")
        out[spec.name] = spec
    return out


TOOLS: dict[str, ToolSpec] = registry(
    chain.session_chain, chain.event_history,
    context.entity_context,
    events.find_events, events.find_connections,
    expert.expert_cypher,
    observed.observed_path,
    paths.attack_paths,
    radius.blast_radius, radius.choke_points,
    resolve.resolve_entities,
)


def openai_tools(names: list[str] | None = None) -> list[dict]:
    """The `tools` argument of an OpenAI chat completion, from the registered types."""
    chosen = names if names is not None else sorted(TOOLS)
    out = []
    for name in chosen:
        spec = TOOLS[name]
        out.append({
            "type": "function",
            "function": {
                "name": spec.name,
                "description": spec.description,
                "parameters": tool_parameters_schema(spec.input_model),
            },
        })
    return out


class Toolbox:
    """The tools bound to one twin, one point in time and one set of limits; it keeps
    the audit log of every query its tools ran (refused ones too)."""

    def __init__(
        self,
        driver: neo4j.Driver,
        database: str | None = None,
        *,
        as_of: AsOf = None,
        limits: Limits | None = None,
        events: EventStore | None = None,
    ) -> None:
        self.driver = driver
        self.database = database
        self.limits = limits or Limits()
        self.as_of = parse_time(as_of)
        self.guard = Guard(driver, database, timeout_s=self.limits.timeout_s, row_cap=self.limits.row_cap)
        self.audit: list[AuditRecord] = self.guard.audit
        # The event store beside the twin (`events`, else the twin's own): same audit, same bounds.
        self.store = StoreDoor(database, self.audit, row_cap=self.limits.row_cap, timeout_s=self.limits.timeout_s,
                               store=events)
        self.calls: list[dict] = []
        self._schema_cache: dict[str, frozenset[str]] | None = None
        self._twin_nodes: int | None = None

    def twin_nodes(self, tool_name: str) -> int:
        """How many nodes the twin holds (the count store: one cheap read, once per toolbox),
        for tools that take shortcuts only on large twins (vocab.LARGE_TWIN_NODES)."""
        if self._twin_nodes is None:
            self._twin_nodes = self.rows(tool_name, TWIN_NODES_QUERY)[0]["c"]
        return self._twin_nodes

    # -- for the tools -----------------------------------------------------------------
    def run(self, tool_name: str, query: str, params: dict | None = None, **kw: Any) -> GuardResult:
        return self.guard.run(query, params, tool=tool_name, **kw)

    def rows(self, tool_name: str, query: str, params: dict | None = None, **kw: Any) -> list[dict]:
        return self.run(tool_name, query, params, **kw).rows

    def events(self, tool_name: str, flt: EventFilter, shape: Shape = "events") -> EventRead:
        """Rows of the event store in `shape`, read through the toolbox's bounds into its audit."""
        return self.store.read(tool_name, flt, shape)

    def time(self, as_of: AsOf) -> int | None:
        """The call's time, else the toolbox's; None means "now, no time filter"."""
        t = parse_time(as_of)
        return t if t is not None else self.as_of

    def window(self, as_of: AsOf) -> tuple[int | None, int | None]:
        """The session window around the call's time: (lo, hi) epoch, or (None, None)."""
        t = self.time(as_of)
        if t is None:
            return None, None
        return t - self.limits.session_lookback_s, t + self.limits.session_lookahead_s

    # -- typed and LLM-facing calls ------------------------------------------------------
    def call(self, name: str, args: BaseModel | dict | None = None) -> BaseModel:
        """Typed call: raises pydantic's ValidationError, GuardError or ToolError."""
        spec = TOOLS.get(name)
        if spec is None:
            raise ToolError("unknown_tool", f"no tool named {name!r}")
        if not isinstance(args, spec.input_model):
            args = spec.input_model.model_validate(args or {})
        return spec.fn(self, args)

    def call_tool(self, name: str, arguments_json: str | dict | None) -> dict:
        """What an LLM's tool call gets back: the trimmed result, or `{"error": {...}}`."""
        t0 = time.perf_counter()
        entry: dict[str, Any] = {"tool": name, "arguments": arguments_json}
        try:
            spec = TOOLS.get(name)
            if spec is None:
                raise ToolError("unknown_tool", f"no tool named {name!r}; known: {', '.join(sorted(TOOLS))}")
            if isinstance(arguments_json, (str, bytes)):
                try:
                    raw = json.loads(arguments_json or "{}")
                except json.JSONDecodeError as exc:
                    raise ToolError("invalid_arguments", f"arguments are not JSON: {exc.msg} at char {exc.pos}") from None
            else:
                raw = arguments_json or {}
            if not isinstance(raw, dict):
                raise ToolError("invalid_arguments", "arguments must be a JSON object")
            args = spec.input_model.model_validate(raw)
            result = spec.fn(self, args)
            out = trim_for_llm(result, self.limits.list_cap, self.limits.max_string)
            entry["ok"] = True
        except ValidationError as exc:
            details = [
                {"field": ".".join(str(p) for p in e["loc"]) or "(arguments)", "problem": e["msg"]}
                for e in exc.errors(include_url=False)
            ][:10]
            out = {"error": {"type": "invalid_arguments", "message": f"{len(exc.errors())} invalid argument(s) for {name}",
                             "details": details}}
            entry["ok"] = False
        except GuardError as exc:
            out = {"error": {"type": "refused" if exc.refused else exc.code, "message": exc.reason}}
            entry["ok"] = False
        except ToolError as exc:
            out = {"error": {"type": exc.kind, "message": exc.message}}
            entry["ok"] = False
        except Exception as exc:  # the LLM loop must survive any tool bug; the audit keeps it
            out = {"error": {"type": "internal", "message": f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"}}
            entry["ok"] = False
        entry["ms"] = round((time.perf_counter() - t0) * 1000, 3)
        self.calls.append(entry)
        return out

    def schema_names(self, refresh: bool = False) -> dict[str, frozenset[str]]:
        """Labels, relationship types and property keys that exist in the twin."""
        if self._schema_cache is None or refresh:
            labels = self.rows("schema", "CALL db.labels() YIELD label RETURN collect(label) AS v")[0]["v"]
            rels = self.rows("schema", "CALL db.relationshipTypes() YIELD relationshipType "
                                       "RETURN collect(relationshipType) AS v")[0]["v"]
            props = self.rows("schema", "CALL db.propertyKeys() YIELD propertyKey RETURN collect(propertyKey) AS v")[0]["v"]
            self._schema_cache = {"labels": frozenset(labels), "rels": frozenset(rels), "props": frozenset(props)}
        return self._schema_cache
