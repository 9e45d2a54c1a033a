"""Labeled scenarios (contract section 6): a folder with scenario.yaml and the files it names.

`ScenarioDoc` is scenario.yaml as written; the JSON Schema every file is checked against
(evals/spec/scenario.schema.json) is generated from it and ships with the package, so an
installed Twinsight checks its scenarios as strictly as a checkout beside ../shared does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from agents.models import Severity, Verdict
from evals.spec import schema as contract_schema


class ScenarioError(ValueError):
    """A scenario folder that cannot be run (the message names the file and the reason)."""


# `X | SkipJsonSchema[None] = None`: the key may be left out (None here means "the
# scenario says nothing about it"), but written down it must be a real value, not null.
class Expect(BaseModel):
    verdict: Verdict
    severity: Severity | SkipJsonSchema[None] = None
    entities: list[str] = Field(default_factory=list)
    attack_path: list[str] | SkipJsonSchema[None] = None
    impacted_assets: list[str] | SkipJsonSchema[None] = None
    techniques: list[str] | SkipJsonSchema[None] = None
    must_not_cite: list[str] = Field(default_factory=list)
    # The host and account the activity came from (None: the scenario names no source).
    source: list[str] | SkipJsonSchema[None] = None


class ScenarioDoc(BaseModel):
    """scenario.yaml as its author writes it; paths are relative to its folder."""

    model_config = ConfigDict(title="Twinsight labeled scenario (scenario.yaml, as parsed)")

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    title: str
    twin: list[str] = Field(min_length=1)
    events: list[str] = Field(default_factory=list)
    alert: str
    expect: Expect
    why: str = ""
    tags: list[str] = Field(default_factory=list)


class Scenario(BaseModel):
    id: str
    title: str
    folder: Path
    twin: list[Path]
    events: list[Path] = Field(default_factory=list)
    alert: Path
    expect: Expect
    why: str = ""
    tags: list[str] = Field(default_factory=list)
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @property
    def twin_signature(self) -> tuple[str, ...]:
        return tuple(str(p.resolve()) for p in self.twin)


def _validate_schema(doc: dict, where: Path) -> None:
    import jsonschema

    try:
        jsonschema.validate(doc, contract_schema("scenario"))
    except jsonschema.ValidationError as exc:
        loc = "/".join(str(p) for p in exc.absolute_path) or "(top)"
        raise ScenarioError(f"{where}: {loc}: {exc.message}") from None


def load_scenario(folder: Path) -> Scenario:
    path = folder / "scenario.yaml"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: {' '.join(str(exc).split())[:200]}") from None
    if not isinstance(doc, dict):
        raise ScenarioError(f"{path}: not a mapping")
    _validate_schema(doc, path)

    def rel(p: str, what: str) -> Path:
        full = (folder / p)
        if not full.exists():
            raise ScenarioError(f"{path}: {what} {p!r} does not exist")
        return full

    return Scenario(
        id=doc["id"], title=doc["title"], folder=folder,
        twin=[rel(p, "twin path") for p in doc["twin"]],
        events=[rel(p, "events path") for p in doc.get("events") or []],
        alert=rel(doc["alert"], "alert"), expect=Expect(**doc["expect"]),
        # `why` is ours, not the contract's: accepted at the top or inside `expect`.
        why=str(doc.get("why") or (doc["expect"] or {}).get("why") or ""), tags=list(doc.get("tags") or []), raw=doc,
    )


SKIPPED: list[str] = []


def discover(root: Path) -> list[Scenario]:
    """Every folder under root holding scenario.yaml (others, like _base/, are not scenarios).
    A scenario over third-party data that is not on this machine (../shared/data/real) is
    skipped with a warning in SKIPPED; any other broken scenario is an error."""
    if not root.is_dir():
        raise ScenarioError(f"{root}: not a folder")
    out = []
    SKIPPED.clear()
    for p in sorted(root.rglob("scenario.yaml")):
        try:
            out.append(load_scenario(p.parent))
        except ScenarioError as exc:
            if "shared/data/real" in str(exc) and "does not exist" in str(exc):
                SKIPPED.append(f"{p.parent.name}: {exc}")
                continue
            raise
    ids = [s.id for s in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ScenarioError(f"{root}: scenario ids are not unique: {', '.join(dup)}")
    return out
