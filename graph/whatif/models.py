"""What a what-if answers: the contract's section 7 result with its extras, and one
ranked action of `rank`. Pydantic models, so the JSON the CLI prints and the bot
uploads is the models' own dump."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PathOut(BaseModel):
    nodes: list[str] = Field(description="entry point first; edges[i] joins nodes[i] and nodes[i+1]")
    edges: list[str]
    goal: str | None = None
    cost: float | None = None


class Break(BaseModel):
    key: str
    reason: str
    kind: str = Field(default="breaks", description=(
        "unreachable | flow | session | access_lost | service_account | incompatible | restart | risk"))


class ExploitEdge(BaseModel):
    src: str
    dst: str
    cve: str | None = None
    port: str | None = None
    cves: list[str] = Field(default_factory=list)


class WhatIfResult(BaseModel):
    """Contract section 7, plus extras."""

    action: str
    argv: list[str]
    paths_before: int
    paths_after: int
    paths_removed: list[PathOut]
    vulns_gained: list[str]
    vulns_lost: list[str]
    breaks: list[Break]
    twin_unchanged: bool
    paths_removed_count: int = 0
    paths_added: list[PathOut] = Field(default_factory=list)
    paths_added_count: int = 0
    unknown: bool = False
    notes: list[str] = Field(default_factory=list)
    kev_gained: list[str] = Field(default_factory=list)
    kev_lost: list[str] = Field(default_factory=list)
    exploit_edges_added: list[ExploitEdge] = Field(default_factory=list)
    exploit_edges_removed: list[ExploitEdge] = Field(default_factory=list)
    changes: dict[str, int] = Field(default_factory=dict)
    goals: list[str] = Field(default_factory=list)
    entry_points: list[str] = Field(default_factory=list)
    max_hops: int = 6
    seconds: float = 0.0

    def contract(self) -> dict:
        return self.model_dump(mode="json")


class RankedAction(BaseModel):
    """One candidate action, simulated: what `recommended_actions` is built from."""

    action: str
    argv: list[str]
    verb: str
    target: str = Field(description="the key the action acts on (argv[1])")
    goal: str = Field(description="the key paths were counted to")
    paths_before: int
    paths_after: int
    paths_removed: int
    breaks: list[Break]
    cost: float
    bound: int = Field(description="paths (of those found before) that crossed what the action removes")
    vulns_lost: list[str] = Field(default_factory=list)
    twin_unchanged: bool
    seconds: float

