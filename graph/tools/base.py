"""Tools as typed functions: pydantic in, pydantic out, one registry, one Toolbox.

The OpenAI `tools` list is generated from the input models, never written by hand,
so the schema an LLM sees and the validation its arguments meet cannot drift apart.
`Toolbox.call_tool` is the LLM-facing door: it takes the raw arguments JSON, and
whatever goes wrong (bad JSON, a wrong type, an unknown tool, a refused query, a
timeout) comes back as an error object the model can read and correct, never as an
exception that ends the investigation.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import neo4j
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from graph.timestamps import parse_time
from graph.tools.guard import AuditRecord, Guard, GuardError, GuardResult


class ToolInput(BaseModel):
    """Arguments an LLM may send: unknown fields are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ToolOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _valid_time(value):
    parse_time(value)  # raises ValueError with a readable reason
    return value


AsOf = Annotated[str | int | float | None, BeforeValidator(_valid_time)]
AS_OF_DOC = (
    "The time to see the twin at: ISO 8601 (2024-05-01T10:00:00Z) or epoch seconds. "
    "Sessions, IP leases, connections, events and alerts are taken as they were then. "
    "Omit to use the toolbox's time (usually the alert's)."
)


def iso(ts: int | float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(int(ts), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Limits(BaseModel):
    """Bounds every tool call keeps, so one question cannot hog the twin or the context."""

    row_cap: int = 1000
    timeout_s: float = 10.0
    list_cap: int = 25             # longest list an LLM sees in one result
    max_string: int = 400          # longest text value an LLM sees
    k_default: int = 5
    k_max: int = 20
    hops_default: int = 6
    hops_max: int = 10
    radius_hops_default: int = 4
    session_lookback_s: int = 7 * 86400   # a session last seen this long before as_of still counts
    session_lookahead_s: int = 86400      # ... and one first seen this long after it
    event_window_s: int = 86400           # events and alerts this close to as_of are "around" it


@dataclass(frozen=True)
class ToolSpec:
    name: str
    fn: Callable[..., BaseModel]
    input_model: type[ToolInput]
    output_model: type[BaseModel]
    description: str


TOOLS: dict[str, ToolSpec] = {}


def tool(fn: Callable[..., BaseModel]) -> Callable[..., BaseModel]:
    """Register `fn(tb: Toolbox, args: SomeInput) -> SomeOutput`; the docstring's first
    paragraph becomes the description the LLM reads."""
    hints = typing.get_type_hints(fn)
    params = [p for p in fn.__code__.co_varnames[: fn.__code__.co_argcount]]
    input_model = hints[params[1]]
    output_model = hints["return"]
    doc = (fn.__doc__ or "").strip()
    description = " ".join(doc.split("\n\n", 1)[0].split())
    if not description:
        raise ValueError(f"tool {fn.__name__} needs a docstring: it is what the LLM reads")
    TOOLS[fn.__name__] = ToolSpec(fn.__name__, fn, input_model, output_model, description)
    return fn


def _inline_refs(schema: dict) -> dict:
    """Pydantic puts nested models in $defs; OpenAI's function schemas are happier
    flat, so every $ref is replaced by its definition (our models are not recursive)."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any, depth: int = 0) -> Any:
        if depth > 20:
            raise ValueError("recursive tool schema")
        if isinstance(node, dict):
            if "$ref" in node:
                name = node["$ref"].split("/")[-1]
                merged = {**copy.deepcopy(defs[name]), **{k: v for k, v in node.items() if k != "$ref"}}
                return resolve(merged, depth + 1)
            out = {}
            for k, v in node.items():
                if k == "title":
                    continue
                if k == "properties" and isinstance(v, dict):
                    out[k] = {pk: resolve(pv, depth + 1) for pk, pv in v.items()}
                else:
                    out[k] = resolve(v, depth + 1)
            if out.get("type") == "object" and "properties" in out:
                out.setdefault("additionalProperties", False)
            return out
        if isinstance(node, list):
            return [resolve(x, depth + 1) for x in node]
        return node

    return resolve(schema)


def tool_parameters_schema(model: type[BaseModel]) -> dict:
    schema = _inline_refs(model.model_json_schema())
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    schema["additionalProperties"] = False
    return schema


def openai_tools(names: list[str] | None = None) -> list[dict]:
    """The `tools` argument of an OpenAI chat completion, from the registered types."""
    _load_tools()
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


def trim_for_llm(value: Any, list_cap: int = 25, max_string: int = 400) -> Any:
    """A stable, bounded rendering: dict keys sorted, lists cut at `list_cap` (the
    parent dict then carries `_truncated: {field: full length}`), long text cut."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        cut: dict[str, int] = dict(value.get("_truncated") or {})
        for k in sorted(value, key=str):
            if k == "_truncated":
                continue
            v = value[k]
            if isinstance(v, list) and len(v) > list_cap:
                cut[str(k)] = len(v)
                v = v[:list_cap]
            out[str(k)] = trim_for_llm(v, list_cap, max_string)
        if cut:
            out["_truncated"] = dict(sorted(cut.items()))
        return out
    if isinstance(value, (list, tuple)):
        return [trim_for_llm(v, list_cap, max_string) for v in value[:list_cap]]
    if isinstance(value, str) and len(value) > max_string:
        return value[:max_string] + f"... [{len(value) - max_string} more chars]"
    if isinstance(value, float):
        return round(value, 6)
    return value


class ToolError(Exception):
    """A tool could not answer: `kind` and a one-line message travel to the LLM."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = " ".join(str(message).split())


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
    ) -> None:
        self.driver = driver
        self.database = database
        self.limits = limits or Limits()
        self.as_of = parse_time(as_of)
        self.guard = Guard(driver, database, timeout_s=self.limits.timeout_s, row_cap=self.limits.row_cap)
        self.audit: list[AuditRecord] = self.guard.audit
        self.calls: list[dict] = []
        self._schema_cache: dict[str, frozenset[str]] | None = None
        _load_tools()

    # -- for the tools -----------------------------------------------------------------
    def run(self, tool_name: str, query: str, params: dict | None = None, **kw: Any) -> GuardResult:
        return self.guard.run(query, params, tool=tool_name, **kw)

    def rows(self, tool_name: str, query: str, params: dict | None = None, **kw: Any) -> list[dict]:
        return self.run(tool_name, query, params, **kw).rows

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


_LOADED = False
_LOADING = threading.Lock()


def _load_tools() -> None:
    """Importing the tool modules registers them (kept lazy to avoid import cycles).
    Under a lock, and marked loaded only once all are in: two agents making their first
    call at once (a resumed investigation starts with the parallel pair) must not see
    half a registry ("no tool named 'blast_radius'")."""
    global _LOADED
    if _LOADED:
        return
    with _LOADING:
        if _LOADED:
            return
        import graph.tools.chain  # noqa: F401
        import graph.tools.context  # noqa: F401
        import graph.tools.events  # noqa: F401
        import graph.tools.expert  # noqa: F401
        import graph.tools.observed  # noqa: F401
        import graph.tools.paths  # noqa: F401
        import graph.tools.radius  # noqa: F401
        import graph.tools.resolve  # noqa: F401
        _LOADED = True


def as_of_field() -> Any:
    return Field(default=None, description=AS_OF_DOC)
