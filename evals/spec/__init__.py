"""The contract's JSON shapes as JSON Schemas that ship with the package.

`investigation`, `metrics` and `scenario` are generated from the pydantic models that
produce or read them (evals/spec/generate.py), so the code and the schema cannot tell
different stories; tests/test_contract_spec.py holds the files to the models and to
../shared/spec. Reading one needs nothing but this folder: an installed Twinsight
validates with these, never with a spec that only exists beside a checkout.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SPEC = Path(__file__).resolve().parent
NAMES = ("investigation", "metrics", "scenario")


def schema_path(name: str) -> Path:
    if name not in NAMES:
        raise KeyError(f"no contract schema {name!r} (known: {', '.join(NAMES)})")
    return SPEC / f"{name}.schema.json"


@cache
def schema(name: str) -> dict[str, Any]:
    """The shipped schema `name` (one of NAMES)."""
    return json.loads(schema_path(name).read_text(encoding="utf-8"))
