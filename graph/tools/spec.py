"""What a tool is made of: its typed input and output, its spec, its limits and errors.

Tool modules (chain, context, events, ...) import this module and nothing of the
Toolbox at run time; graph/tools/base.py imports them and lists their tools, so the
registry is one explicit table and no module needs the one that imports it.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from graph.timestamps import parse_time


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



def tool(fn: Callable[..., BaseModel]) -> Callable[..., BaseModel]:
    """Mark `fn(tb: Toolbox, args: SomeInput) -> SomeOutput` as a tool: its spec rides on
    the function (`fn.spec`) until graph/tools/base.py lists it in TOOLS. The docstring's
    first paragraph becomes the description the LLM reads."""
    params = fn.__code__.co_varnames[: fn.__code__.co_argcount]
    input_model = _annotation(fn, params[1])
    output_model = _annotation(fn, "return")
    doc = (fn.__doc__ or "").strip()
    description = " ".join(doc.split("\n\n", 1)[0].split())
    if not description:
        raise ValueError(f"tool {fn.__name__} needs a docstring: it is what the LLM reads")
    fn.spec = ToolSpec(fn.__name__, fn, input_model, output_model, description)  # type: ignore[attr-defined]
    return fn


def _annotation(fn: Callable, name: str) -> type[BaseModel]:
    """A model class named by `fn`'s annotation. Only these two are read: the Toolbox
    annotation of the first argument is for readers and type checkers (its module
    imports the tools, so a tool module imports it only under TYPE_CHECKING)."""
    hint = fn.__annotations__[name]
    if isinstance(hint, str):
        hint = fn.__globals__.get(hint)
    if not (isinstance(hint, type) and issubclass(hint, BaseModel)):
        raise TypeError(f"tool {fn.__name__}: {name!r} must be annotated with a pydantic model of its module")
    return hint


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


def as_of_field() -> Any:
    return Field(default=None, description=AS_OF_DOC)
