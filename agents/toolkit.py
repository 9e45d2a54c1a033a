"""What an agent holds while it works: the twin's tools at the alert's time, metered.

A thin layer over graph.tools.Toolbox: one per agent stage, so the audit says which
agent ran which Cypher, and the query count feeds the investigation's budget.
"""

from __future__ import annotations

from typing import Any

import neo4j
from pydantic import BaseModel

from agents.models import ToolCallRecord
from agents.prompts import twin_injection_markers
from graph.tools.base import Limits, Toolbox, openai_tools


class Toolkit:
    def __init__(self, driver: neo4j.Driver, database: str | None, as_of: int | None, agent: str,
                 limits: Limits | None = None) -> None:
        self.driver = driver
        self.database = database
        self.agent = agent
        self.as_of = as_of
        self.toolbox = Toolbox(driver, database, as_of=as_of, limits=limits)
        self._extra_queries = 0
        self.last_summary = ""
        # Instruction-like text met in the twin's answers (see agents.prompts).
        self.injection: list[str] = []

    def call(self, name: str, **args: Any) -> BaseModel:
        """A typed tool call from our own code (analyst rules, intake)."""
        return self._screened(self.toolbox.call(name, args))

    def call_tool(self, name: str, arguments_json: str | dict | None) -> dict:
        """An LLM's tool call: malformed arguments come back as an error object."""
        return self._screened(self.toolbox.call_tool(name, arguments_json))

    def _screened(self, result: Any) -> Any:
        """Every answer from the twin passes here on its way to a rule or a model."""
        for marker in twin_injection_markers(result):
            if marker not in self.injection:
                self.injection.append(marker)
        return result

    def tool_schemas(self, names: list[str] | None = None) -> list[dict]:
        return openai_tools(names)

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
