"""One door to any OpenAI-compatible chat endpoint: retries, usage, cost, structured output.

The structured-output mode is a setting because servers differ: OpenAI takes
`json_schema`; llama.cpp's server rejects that type but honours
`{"type": "json_object", "schema": ...}`; some servers only know plain `json_object`.
Retries are ours (tenacity, jittered, honouring Retry-After) so the SDK's own are off.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import openai
from pydantic import BaseModel
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from agents.models import Usage
from agents.settings import LLMSettings, StructuredMode

__all__ = ["PRICES", "CassetteMiss", "LLMClient", "LLMReply", "LLMSettings", "StructuredMode", "ToolCall", "parse_json_object"]

# USD per 1M tokens (input, output). Unknown models cost 0 and say so (`cost_known`).
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o4-mini": (1.10, 4.40),
}


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str  # raw JSON text as the model wrote it (may be malformed)


@dataclass
class LLMReply:
    content: str | None
    tool_calls: list[ToolCall]
    usage: Usage
    finish_reason: str | None
    raw_message: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


class CassetteMiss(RuntimeError):
    """A replayed run sent a request no cassette holds (evals/replay.py): the code's
    requests changed since the recording. Not an outage: never retried, never hidden by
    a fallback to the rules."""


def _cassette_miss(exc: BaseException) -> BaseException | None:
    """vcrpy's miss, raised as itself or wrapped by the SDK as a connection error."""
    for e in (exc, exc.__cause__, exc.__context__):
        if e is not None and type(e).__name__ == "CannotOverwriteExistingCassetteException":
            return e
    return None


def _retryable(exc: BaseException) -> bool:
    if _cassette_miss(exc) is not None:
        return False
    if isinstance(exc, (openai.RateLimitError, openai.APITimeoutError, openai.APIConnectionError,
                        openai.InternalServerError)):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def _wait(state: RetryCallState) -> float:
    """Jittered exponential backoff, but never shorter than a server's Retry-After."""
    base = wait_random_exponential(multiplier=0.5, max=20)(state)
    exc = state.outcome.exception() if state.outcome else None
    response = getattr(exc, "response", None)
    header = response.headers.get("retry-after") if response is not None else None
    try:
        return max(base, min(float(header), 30.0)) if header else base
    except ValueError:
        return base


class LLMClient:
    """`http_client`: an httpx.Client of the caller's (tests hook its events to see the
    requests the code sends)."""

    def __init__(self, settings: LLMSettings, client: openai.OpenAI | None = None,
                 http_client: Any | None = None) -> None:
        self.settings = settings
        self.client = client or openai.OpenAI(
            api_key=settings.api_key, base_url=settings.base_url,
            timeout=settings.timeout_s, max_retries=0, http_client=http_client,
        )
        self.retries = 0
        self._create = retry(
            retry=retry_if_exception(_retryable),
            wait=_wait,
            stop=stop_after_attempt(settings.max_retries + 1),
            before_sleep=self._count_retry,
            reraise=True,
        )(self.client.chat.completions.create)

    def _count_retry(self, _state: RetryCallState) -> None:
        self.retries += 1

    @property
    def label(self) -> str:
        return f"llm:{self.settings.model}"

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        s = self.settings
        p_in, p_out = (s.price_in, s.price_out) if s.price_in is not None else PRICES.get(s.model, (0.0, 0.0))
        return round((prompt_tokens * p_in + completion_tokens * (p_out or 0.0)) / 1e6, 6)

    def response_format(self, model: type[BaseModel]) -> dict:
        schema = model.model_json_schema()
        mode = self.settings.structured
        if mode == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": model.__name__, "schema": schema}}
        if mode == "json_object_schema":
            return {"type": "json_object", "schema": schema}
        return {"type": "json_object"}

    def complete(
        self,
        messages: list[dict],
        *,
        tools: list[dict] | None = None,
        tool_choice: str | dict | None = None,
        response_model: type[BaseModel] | None = None,
        max_tokens: int = 1024,
    ) -> LLMReply:
        kwargs: dict[str, Any] = {
            "model": self.settings.model,
            "messages": messages,
            "temperature": self.settings.temperature,
            "max_tokens": max_tokens,
        }
        if self.settings.seed is not None:
            kwargs["seed"] = self.settings.seed
        if tools:
            kwargs["tools"] = tools
            if tool_choice:
                kwargs["tool_choice"] = tool_choice
        if response_model is not None:
            kwargs["response_format"] = self.response_format(response_model)
        t0 = time.perf_counter()
        try:
            resp = self._create(**kwargs)
        except Exception as exc:
            miss = _cassette_miss(exc)
            if miss is not None:
                raise CassetteMiss("no recorded answer for this request: " + " ".join(str(miss).split())[:300]) from None
            raise
        seconds = time.perf_counter() - t0
        choice = resp.choices[0]
        msg = choice.message
        calls = [
            ToolCall(id=tc.id or f"call_{i}", name=tc.function.name, arguments=tc.function.arguments or "")
            for i, tc in enumerate(msg.tool_calls or [])
            if getattr(tc, "function", None) is not None
        ]
        pt = resp.usage.prompt_tokens if resp.usage else 0
        ct = resp.usage.completion_tokens if resp.usage else 0
        usage = Usage(llm_calls=1, prompt_tokens=pt, completion_tokens=ct, cost_usd=self.cost(pt, ct))
        # Some servers (llama.cpp) reject a null content beside tool calls: send "".
        raw = {"role": "assistant", "content": msg.content or ""}
        if calls:
            raw["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in calls
            ]
        return LLMReply(content=msg.content, tool_calls=calls, usage=usage,
                        finish_reason=choice.finish_reason, raw_message=raw, seconds=round(seconds, 3))


def parse_json_object(text: str | None) -> dict:
    """The first JSON object in a reply (models wrap JSON in prose or code fences)."""
    if not text:
        raise ValueError("empty reply")
    text = text.strip()
    if text.startswith("```"):
        text = text.strip("`")
        text = text.split("\n", 1)[1] if "\n" in text else text
    start = text.find("{")
    if start < 0:
        raise ValueError("no JSON object in reply")
    # strict=False: small models put raw newlines and tabs inside JSON strings.
    obj, _ = json.JSONDecoder(strict=False).raw_decode(text[start:])
    if not isinstance(obj, dict):
        raise ValueError("reply JSON is not an object")
    return obj
