"""The investigation: a LangGraph workflow of specialised agents over the twin's tools."""
