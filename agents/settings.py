"""The agents' settings: one pydantic object, read from the environment once at the edge.

The CLI, the bot, the MCP server and the eval runner build it (`AgentSettings.from_env()`,
or from a recording's `model.json`), the service passes it to every run in the
LangGraph config (`configurable.settings`), and nodes read it from there. Nothing below
the edge reads or writes `os.environ`: a replay cannot leak its roles into the next
run, and two services in one process can run with different settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agents.models import Budget

ROLES = ("context_gatherer", "path_hunter", "impact_assessor", "lead_analyst")
SPECIALISTS = ("context_gatherer", "path_hunter", "impact_assessor")

# Each specialist's own tools (its question decides which): the gatherer reads what is
# there and what happened, the hunter how one gets from here to there, the assessor what
# is at risk and what a response would change. The lead analyst has none: it asks them.
ROLE_TOOLS: dict[str, tuple[str, ...]] = {
    "context_gatherer": ("resolve_entities", "entity_context", "find_events", "find_connections", "session_chain"),
    "path_hunter": ("attack_paths", "observed_path", "choke_points"),
    "impact_assessor": ("blast_radius", "whatif_simulate", "whatif_rank"),
    "lead_analyst": (),
}

StructuredMode = Literal["json_schema", "json_object_schema", "json_object"]


class SettingsError(ValueError):
    """A setting with a value the agents cannot use; the message names the variable."""


class LLMSettings(BaseModel):
    """How to reach the model: any OpenAI-compatible chat endpoint."""

    model_config = ConfigDict(frozen=True)

    api_key: str | None = None
    base_url: str | None = None
    model: str = "gpt-4o-mini"
    structured: StructuredMode = "json_schema"
    timeout_s: float = 60.0
    max_retries: int = 4
    temperature: float = 0.0
    seed: int | None = 7
    price_in: float | None = None
    price_out: float | None = None
    # "tool": results go back as role=tool messages (OpenAI). "user": as one user message
    # after the call, for servers whose chat template drops tool messages (llama-cpp-python's
    # chatml-function-calling renders only system, user and assistant turns).
    tool_results: Literal["tool", "user"] = "tool"

    @property
    def available(self) -> bool:
        return bool(self.api_key)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LLMSettings:
        return AgentSettings.from_env(env).llm


class AgentSettings(BaseModel):
    """Everything that shapes how the agents work (not where the twin is: graph.settings)."""

    model_config = ConfigDict(frozen=True)

    llm: LLMSettings = Field(default_factory=LLMSettings)
    roles: frozenset[str] = frozenset(ROLES)  # which roles reason with the model; the lead always does
    tools: dict[str, tuple[str, ...]] = Field(default_factory=lambda: dict(ROLE_TOOLS))
    tool_rounds: int = Field(default=3, ge=0, le=10)  # tool-calling rounds per role and per follow-up
    calls_per_round: int = Field(default=4, ge=1, le=10)  # tool calls of one model turn that are run
    followup_rounds: int = Field(default=2, ge=0, le=5)  # questions the lead may send back to specialists
    result_chars: int = Field(default=3000, ge=500, le=20000)  # one tool result as the model sees it
    budget: Budget = Field(default_factory=Budget)

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, v: frozenset[str]) -> frozenset[str]:
        unknown = sorted(set(v) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown role(s) {', '.join(unknown)}; known: {', '.join(ROLES)}")
        return frozenset(v) | {"lead_analyst"}

    @field_validator("tools")
    @classmethod
    def _known_tools(cls, v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        from agents.whatif_tools import SIM_TOOLS
        from graph.tools.base import TOOLS

        for role, names in v.items():
            unknown = sorted(set(names) - set(TOOLS) - set(SIM_TOOLS))
            if role not in ROLES or unknown:
                raise ValueError(f"{role}: unknown role" if role not in ROLES else
                                 f"{role}: unknown tool(s) {', '.join(unknown)}")
        return v

    def uses_model(self, role: str) -> bool:
        return role in self.roles

    def tools_of(self, role: str) -> list[str]:
        return list(self.tools.get(role, ()))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AgentSettings:
        """The one place the agents' environment variables are read (README, "LLM settings")."""
        e = os.environ if env is None else env

        def num(name: str, default: str, kind: type = int) -> Any:
            raw = e.get(name, default)
            try:
                return kind(raw)
            except ValueError:
                raise SettingsError(f"{name}={raw}: expected a number") from None

        price = e.get("TWINSIGHT_PRICE_PER_MTOK")  # "in,out"
        p_in = p_out = None
        if price:
            try:
                p_in, p_out = (float(x) for x in price.split(",", 1))
            except ValueError:
                raise SettingsError(f"TWINSIGHT_PRICE_PER_MTOK={price}: expected 'in,out' USD per 1M tokens") from None
        mode = e.get("TWINSIGHT_STRUCTURED_OUTPUT", "json_schema")
        if mode not in ("json_schema", "json_object_schema", "json_object"):
            raise SettingsError(
                f"TWINSIGHT_STRUCTURED_OUTPUT={mode}: expected json_schema, json_object_schema or json_object")
        results = e.get("TWINSIGHT_LLM_TOOL_RESULTS", "tool")
        if results not in ("tool", "user"):
            raise SettingsError(f"TWINSIGHT_LLM_TOOL_RESULTS={results}: expected tool or user")
        tools = dict(ROLE_TOOLS)
        for role in SPECIALISTS:
            raw = e.get(f"TWINSIGHT_LLM_TOOLS_{role.upper()}")
            if raw is not None:
                tools[role] = tuple(t.strip() for t in raw.split(",") if t.strip())
        roles_raw = e.get("TWINSIGHT_LLM_ROLES")
        try:
            return cls(
                llm=LLMSettings(
                    api_key=e.get("OPENAI_API_KEY") or None,
                    base_url=e.get("OPENAI_BASE_URL") or None,
                    model=e.get("TWINSIGHT_MODEL") or "gpt-4o-mini",
                    structured=mode,  # type: ignore[arg-type]
                    timeout_s=num("TWINSIGHT_LLM_TIMEOUT", "60", float),
                    max_retries=num("TWINSIGHT_LLM_RETRIES", "4"),
                    price_in=p_in, price_out=p_out,
                    tool_results=results,  # type: ignore[arg-type]
                ),
                roles=frozenset(r.strip() for r in roles_raw.split(",") if r.strip()) if roles_raw else frozenset(ROLES),
                tools=tools,
                tool_rounds=num("TWINSIGHT_LLM_TOOL_ROUNDS", "3"),
                followup_rounds=num("TWINSIGHT_LLM_FOLLOWUPS", "2"),
                budget=Budget(max_llm_calls=num("TWINSIGHT_LLM_MAX_CALLS", "24"),
                              max_tokens=num("TWINSIGHT_LLM_MAX_TOKENS", "120000"),
                              max_seconds=num("TWINSIGHT_MAX_SECONDS", "180", float),
                              max_cypher=num("TWINSIGHT_MAX_CYPHER", "200")),
            )
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            raise SettingsError(f"agent settings: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def settings_of(config: Mapping[str, Any] | None) -> AgentSettings:
    """The run's settings from a LangGraph config (defaults when a caller gave none)."""
    found = ((config or {}).get("configurable") or {}).get("settings")
    return found if isinstance(found, AgentSettings) else AgentSettings()
