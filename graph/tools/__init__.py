"""The tools agents call: typed, read-only, bounded, audited.

    from graph.tools import Toolbox, openai_tools
    tb = Toolbox(driver, database, as_of=alert_time)
    tools = openai_tools()                        # the OpenAI `tools` list, from the types
    reply = tb.call_tool(name, arguments_json)    # a dict; {"error": {...}} when it fails
    tb.audit                                      # every query: tool, params, ms, rows, truncated

Tools: resolve_entities, entity_context, attack_paths, observed_path, blast_radius,
choke_points, expert_cypher, find_events, find_connections, session_chain,
event_history. Every query goes through graph.tools.guard.Guard; nothing here writes
(CanExploit, which paths cross, is derived by graph/derive/exploit.py).
"""

from graph.tools.base import (
    TOOLS,
    Limits,
    Toolbox,
    ToolError,
    openai_tools,
    parse_time,
    trim_for_llm,
)
from graph.tools.guard import AuditRecord, Guard, GuardError, GuardResult

__all__ = [
    "TOOLS", "AuditRecord", "Guard", "GuardError", "GuardResult", "Limits", "ToolError", "Toolbox",
    "openai_tools", "parse_time", "trim_for_llm",
]
