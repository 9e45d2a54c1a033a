"""The offline analyst's reasoning: three questions and one decision table (agents/RULES.md)."""
