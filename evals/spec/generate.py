"""Write the contract schemas from the models: `python -m evals.spec.generate`.

Run it after changing InvestigationResult (agents/result.py), Metrics (evals/metrics.py)
or ScenarioDoc (evals/scenario.py); tests/test_contract_spec.py fails while a shipped
file and its model disagree. Outputs are described as they are written (serialization
mode), the scenario as it is read (validation mode).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel

from agents.result import InvestigationResult
from evals.metrics import Metrics
from evals.scenario import ScenarioDoc
from evals.spec import NAMES, schema_path

MODELS: dict[str, tuple[type[BaseModel], Literal["validation", "serialization"]]] = {
    "investigation": (InvestigationResult, "serialization"),
    "metrics": (Metrics, "serialization"),
    "scenario": (ScenarioDoc, "validation"),
}
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def generated(name: str) -> dict[str, Any]:
    """The schema the model `name` gives today."""
    model, mode = MODELS[name]
    return _drop_null_defaults({"$schema": DIALECT, **model.model_json_schema(mode=mode)})


def _drop_null_defaults(node: Any) -> Any:
    """`"default": null` on a key that may be left out but not written as null (the
    models' `X | SkipJsonSchema[None] = None`) says the opposite of the rule: drop it."""
    if isinstance(node, list):
        return [_drop_null_defaults(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _drop_null_defaults(v) for k, v in node.items()}
    if "default" in out and out["default"] is None and "null" not in _types(out):
        del out["default"]
    return out


def _types(node: dict[str, Any]) -> set[str]:
    t = node.get("type")
    found = set(t) if isinstance(t, list) else {t} if t else set()
    for branch in node.get("anyOf", []) + node.get("oneOf", []):
        found |= _types(branch)
    return found


def render(name: str) -> str:
    return json.dumps(generated(name), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    for name in NAMES:
        path = schema_path(name)
        path.write_text(render(name), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
