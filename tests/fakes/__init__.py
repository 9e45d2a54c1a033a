"""Test doubles for the bot's tests: a scripted service, fake Slack servers, a throwaway Synapse.

Nothing here is the product, and nothing under bot/, agents/, graph/ or evals/ may import
it (tests/test_imports.py holds them to that): the installed package ships no fakes.

- `service.RecordingService`: stands in for the investigation service so the bot's own
  behaviour is tested without Neo4j or an LLM.
- `slack.FakeSlackWebAPI`, `slack.FakeSocketModeServer`: Slack's Web API and Socket Mode
  websocket on loopback (the way bolt-python tests itself).
- `synapse.SynapseServer`, `synapse.MatrixUser`: a real Matrix homeserver from the venv on
  loopback (SQLite, no federation) and a person talking to it, for end-to-end tests.
- `http_peer.LoopbackPeer`: the loopback HTTP server the OpenAI-compatible doubles answer
  from (`openai_peer.ScriptedPeer`, and the rate-limited peer and `FaultProxy` of the LLM tests).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll until `predicate()` is truthy; return its value or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(interval)
