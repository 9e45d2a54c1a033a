"""`twinsight mcp`: the twin's tools and `investigate` for an analyst's own assistant.

An MCP server (the official `mcp` SDK's low-level Server) over stdio, or streamable HTTP
bound to loopback. It opens no second door into the twin: every tool of graph.tools'
registry is listed with the schema `openai_tools()` generates and runs through
`Toolbox.call_tool`, so the guard, the row/size/time limits and the errors a model can
correct are exactly the agents' own; `investigate` runs agents.runtime.TwinsightService.
What a remote caller adds is handled here: a budget per MCP session (tool calls, Cypher
queries, investigations) and one audit line per call, on stderr and in a file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import socket
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO

import anyio
import anyio.to_thread
import neo4j
from mcp import types
from mcp.server.lowlevel import Server
from pydantic import Field, ValidationError

from graph.tools.base import TOOLS, Limits, Toolbox, ToolInput, openai_tools, trim_for_llm

DEFAULT_HTTP_PORT = 8790
HTTP_PATH = "/mcp"
PROMPT = Path(__file__).resolve().parents[1] / "prompts" / "mcp_server.md"
MAX_SESSIONS = 1024  # sessions whose budget is remembered (HTTP); the oldest is forgotten first

log = logging.getLogger("twinsight.mcp")


class McpConfigError(ValueError):
    """A setting or option is wrong; the message names it (one line for the CLI)."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise McpConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise McpConfigError(f"{name} must be 0 or more, not {value}")
    return value


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise McpConfigError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not 0 < value <= 3600:
        raise McpConfigError(f"{name} must be more than 0 and at most 3600 seconds, not {raw}")
    return value


@dataclass(frozen=True)
class McpSettings:
    """Budgets per MCP session and where the audit goes (environment, README "MCP")."""

    max_calls: int = 200            # TWINSIGHT_MCP_MAX_CALLS
    max_queries: int = 2000         # TWINSIGHT_MCP_MAX_QUERIES (Cypher queries, investigations' included)
    max_investigations: int = 10    # TWINSIGHT_MCP_MAX_INVESTIGATIONS (each may spend LLM tokens)
    audit_path: Path | None = None  # TWINSIGHT_MCP_AUDIT; "-" = stderr only
    token: str | None = None        # TWINSIGHT_MCP_TOKEN: bearer token every HTTP request must carry
    query_timeout_s: float = Limits().timeout_s  # TWINSIGHT_MCP_QUERY_TIMEOUT: per Cypher query of a tool

    @classmethod
    def from_env(cls, home: Path) -> McpSettings:
        audit = os.environ.get("TWINSIGHT_MCP_AUDIT", "").strip()
        return cls(
            max_calls=_env_int("TWINSIGHT_MCP_MAX_CALLS", cls.max_calls),
            max_queries=_env_int("TWINSIGHT_MCP_MAX_QUERIES", cls.max_queries),
            max_investigations=_env_int("TWINSIGHT_MCP_MAX_INVESTIGATIONS", cls.max_investigations),
            audit_path=None if audit == "-" else Path(audit).expanduser() if audit else home / "mcp" / "audit.jsonl",
            token=os.environ.get("TWINSIGHT_MCP_TOKEN") or None,
            query_timeout_s=_env_seconds("TWINSIGHT_MCP_QUERY_TIMEOUT", cls.query_timeout_s),
        )


# -- the tools ---------------------------------------------------------------------------

class InvestigateInput(ToolInput):
    alert: dict[str, Any] | str = Field(
        description="The alert document: an OCSF Detection Finding (class_uid 2004) or an Elastic "
                    "Security alert (ECS, kibana.alert.* fields), as a JSON object (or its JSON text).")


class TwinStatusInput(ToolInput):
    pass


INVESTIGATE_DOC = (
    "Investigate one security alert against the twin: resolve what it names, gather context, "
    "hunt attack paths, assess impact and decide a verdict (true_positive, benign_positive or "
    "false_positive) with severity, confidence, attack paths, impacted assets and claims that each "
    "cite nodes and edges of the twin. Runs the offline analyst unless the server has an "
    "OpenAI-compatible LLM configured. Proposes response actions but never carries them out."
)
TWIN_STATUS_DOC = (
    "The twin's server, version and size, the analyst investigations use, and what is left of "
    "this session's budget of tool calls, Cypher queries and investigations."
)
_OWN = {"investigate": (INVESTIGATE_DOC, InvestigateInput), "twin_status": (TWIN_STATUS_DOC, TwinStatusInput)}


def tool_list() -> list[types.Tool]:
    """The registry's tools with the schemas openai_tools() generates, then our two."""
    from graph.tools.base import tool_parameters_schema

    read_only = types.ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                      open_world_hint=False)
    out = [types.Tool(name=t["function"]["name"], description=t["function"]["description"],
                      input_schema=t["function"]["parameters"], annotations=read_only)
           for t in openai_tools()]
    for name, (doc, model) in _OWN.items():
        if name in TOOLS:
            raise RuntimeError(f"graph.tools registers {name!r}, which the MCP server defines itself")
        out.append(types.Tool(name=name, description=doc, input_schema=tool_parameters_schema(model),
                              annotations=types.ToolAnnotations(read_only_hint=True, destructive_hint=False,
                                                                idempotent_hint=name == "twin_status")))
    return out


Reply = tuple[dict, bool, int, int]  # (what the client gets, ok, rows read, Cypher queries run)


def _error(kind: str, message: str, **extra: Any) -> dict:
    return {"error": {"type": kind, "message": " ".join(str(message).split()), **extra}}


def _validation_error(name: str, exc: ValidationError) -> dict:
    """The same shape Toolbox.call_tool gives for invalid arguments."""
    details = [{"field": ".".join(str(p) for p in e["loc"]) or "(arguments)", "problem": e["msg"]}
               for e in exc.errors(include_url=False)][:10]
    return _error("invalid_arguments", f"{len(exc.errors())} invalid argument(s) for {name}", details=details)


# -- sessions, budgets, audit --------------------------------------------------------------

@dataclass
class Session:
    """One MCP session's budget and toolbox. A Toolbox is not shared between threads, so
    one call at a time runs on it (`lock`)."""

    key: str
    toolbox: Toolbox
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: int = 0
    queries: int = 0
    investigations: int = 0

    def usage(self, s: McpSettings) -> dict:
        return {"calls": self.calls, "queries": self.queries, "investigations": self.investigations,
                "max_calls": s.max_calls, "max_queries": s.max_queries,
                "max_investigations": s.max_investigations}


def session_key(ctx: Any) -> str:
    """stdio: the process is the session. Streamable HTTP: the Mcp-Session-Id the server
    handed out at initialize, hashed (the id lets its holder act in the session, so it
    is not written to the audit). Stateless HTTP requests (no session id) share one
    budget, so dropping the session id does not buy a fresh one."""
    request = getattr(ctx, "request", None)
    if request is None:
        return "stdio"
    sid = request.headers.get("mcp-session-id")
    return f"http:{hashlib.sha256(sid.encode()).hexdigest()[:16]}" if sid else "http:stateless"


class TwinMcp:
    """The MCP server bound to one twin."""

    def __init__(self, driver: neo4j.Driver, database: str | None, settings: McpSettings, *,
                 state_dir: Path, audit_stream: TextIO | None = None) -> None:
        self.driver = driver
        self.database = database
        self.settings = settings
        self.state_dir = state_dir
        self.audit_stream = audit_stream if audit_stream is not None else sys.stderr
        self.tools = tool_list()
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._service: Any = None
        self._service_lock = threading.Lock()
        self._audit_lock = threading.Lock()
        if settings.audit_path is not None:
            settings.audit_path.parent.mkdir(parents=True, exist_ok=True)
        self.server = Server(
            "twinsight", version=_version(), instructions=PROMPT.read_text(encoding="utf-8"),
            on_list_tools=self._list_tools, on_call_tool=self._call_tool,
        )

    # -- protocol handlers -------------------------------------------------------------
    async def _list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self.tools)

    async def _call_tool(self, ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        """Every failure comes back as a tool error the model can read (`is_error`), never
        as a protocol error, and every call leaves an audit line."""
        name, args = params.name, params.arguments or {}
        session = self._session(session_key(ctx))
        t0 = time.perf_counter()
        refusal = self._over_budget(session, name)
        if refusal is not None:
            out, ok, rows, queries = refusal, False, 0, 0
        else:
            session.calls += 1
            try:
                if name == "investigate":
                    session.investigations += 1
                    out, ok, rows, queries = await self._investigate(ctx, args)
                elif name == "twin_status":
                    out, ok, rows, queries = await anyio.to_thread.run_sync(self._status, session, args)
                else:
                    out, ok, rows, queries = await anyio.to_thread.run_sync(self._run_tool, session, name, args)
            except Exception as exc:  # a bug here must not end the client's session
                log.exception("MCP tool %s failed", name)
                out, ok, rows, queries = _error("internal", f"{type(exc).__name__}: {exc}"[:300]), False, 0, 0
            session.queries += queries
        self._audit(session, name, args, out, ok, rows, queries, (time.perf_counter() - t0) * 1000)
        text = json.dumps(out, sort_keys=True, default=str, ensure_ascii=False)
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                    structured_content=out, is_error=not ok)

    # -- budgets -----------------------------------------------------------------------
    def _session(self, key: str) -> Session:
        s = self._sessions.get(key)
        if s is None:
            limits = Limits(timeout_s=self.settings.query_timeout_s)
            s = self._sessions[key] = Session(key, Toolbox(self.driver, self.database, limits=limits))
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        else:
            self._sessions.move_to_end(key)
        return s

    def _over_budget(self, s: Session, name: str) -> dict | None:
        """Checked before a call starts: a call already running finishes (each tool call is
        itself bounded by the guard's row cap and timeout)."""
        cfg = self.settings
        hint = "; start a new MCP session (reconnect) to continue"
        if s.calls >= cfg.max_calls:
            return _error("budget_exhausted", f"this session has made its {cfg.max_calls} tool calls "
                                              f"(TWINSIGHT_MCP_MAX_CALLS){hint}")
        if s.queries >= cfg.max_queries:
            return _error("budget_exhausted", f"this session has run {s.queries} Cypher queries, its budget is "
                                              f"{cfg.max_queries} (TWINSIGHT_MCP_MAX_QUERIES){hint}")
        if name == "investigate" and s.investigations >= cfg.max_investigations:
            return _error("budget_exhausted", f"this session has run its {cfg.max_investigations} investigations "
                                              f"(TWINSIGHT_MCP_MAX_INVESTIGATIONS){hint}")
        return None

    # -- the calls (in worker threads) -------------------------------------------------
    @staticmethod
    def _run_tool(s: Session, name: str, args: dict) -> Reply:
        """Toolbox.call_tool, then the queries it ran are taken off the toolbox (so a
        long-lived session does not grow) and counted."""
        with s.lock:
            tb = s.toolbox
            out = tb.call_tool(name, args)
            ok = bool(tb.calls[-1].get("ok")) if tb.calls else "error" not in out
            records = list(tb.audit)
            del tb.audit[:]
            tb.calls.clear()
        return out, ok, sum(r.rows for r in records), len(records)

    @property
    def service_started(self) -> bool:
        return self._service is not None

    def service(self) -> Any:
        """The investigation service, built on first use (it loads LangGraph and the analyst)."""
        with self._service_lock:
            if self._service is None:
                from agents.runtime import TwinsightService

                self._service = TwinsightService(self.driver, self.database, state_dir=self.state_dir)
            return self._service

    async def _investigate(self, ctx: Any, args: dict) -> Reply:
        from graph.alert_model import AlertFormatError, parse_alert

        try:
            inp = InvestigateInput.model_validate(args)
        except ValidationError as exc:
            return _validation_error("investigate", exc), False, 0, 0
        alert = inp.alert
        if isinstance(alert, str):
            try:
                alert = json.loads(alert)
            except json.JSONDecodeError as exc:
                return _error("invalid_arguments", f"alert is not JSON: {exc.msg} at char {exc.pos}"), False, 0, 0
            if not isinstance(alert, dict):
                return _error("invalid_arguments", "alert must be one JSON object (one alert document)"), False, 0, 0
        try:
            parse_alert(alert)
        except AlertFormatError as exc:
            return _error("invalid_arguments", f"alert: {exc}"), False, 0, 0
        try:
            service = await anyio.to_thread.run_sync(self.service)
        except ValueError as exc:  # the analyst's settings (e.g. an LLM misconfigured)
            return _error("unavailable", str(exc)), False, 0, 0
        progress = _progress_sender(ctx)
        outcome = await anyio.to_thread.run_sync(partial(service.investigate, alert, on_progress=progress))
        result = outcome.result or {}
        usage = result.get("usage") or {}
        queries = int(usage.get("cypher_queries") or 0)
        rows = sum(int(a.get("rows") or 0) for a in result.get("audit") or () if isinstance(a, dict))
        if outcome.status == "failed":
            return _error("investigation_failed", f"investigation {outcome.investigation_id} failed: "
                                                  f"{outcome.error}"), False, rows, queries
        return {**result, "investigation_id": outcome.investigation_id}, True, rows, queries

    def _status(self, s: Session, args: dict) -> Reply:
        try:
            TwinStatusInput.model_validate(args)
        except ValidationError as exc:
            return _validation_error("twin_status", exc), False, 0, 0
        status = self.service().status()
        return {**status, "tools": [t.name for t in self.tools], "session": s.usage(self.settings)}, True, 0, 0

    # -- audit -------------------------------------------------------------------------
    def _audit(self, s: Session, name: str, args: dict, out: dict, ok: bool, rows: int, queries: int,
               ms: float) -> None:
        """One JSON line per call (tool, arguments, ms, rows, queries, ok) on stderr and
        appended to the audit file (mode 0600: arguments can hold alert contents)."""
        if name == "investigate":
            alert = args.get("alert") if isinstance(args, dict) else None
            shown: Any = {"alert_id": out.get("alert_id"),
                          "alert_bytes": len(json.dumps(alert, default=str)) if alert is not None else 0}
        else:
            shown = trim_for_llm(args, list_cap=10, max_string=200)
        rec: dict[str, Any] = {"ts": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                               "session": s.key, "tool": name, "arguments": shown, "ms": round(ms, 1),
                               "rows": rows, "queries": queries, "ok": ok}
        err = out.get("error")
        if not ok and isinstance(err, dict):
            rec["error"] = f"{err.get('type')}: {err.get('message')}"[:300]
        line = json.dumps(rec, sort_keys=True, default=str, ensure_ascii=False)
        with self._audit_lock:
            try:
                self.audit_stream.write(f"twinsight-mcp audit {line}\n")
                self.audit_stream.flush()
            except (OSError, ValueError):
                pass
            if self.settings.audit_path is not None:
                try:
                    fd = os.open(self.settings.audit_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                    with os.fdopen(fd, "a", encoding="utf-8") as f:
                        f.write(line + "\n")
                except OSError as exc:
                    log.warning("cannot write the MCP audit file %s: %s", self.settings.audit_path, exc)

    # -- transports --------------------------------------------------------------------
    async def serve_stdio(self) -> None:
        from mcp.server.stdio import stdio_server

        async with stdio_server() as (read_stream, write_stream):
            await self.server.run(read_stream, write_stream, self.server.create_initialization_options())

    async def serve_http(self, sock: socket.socket, host: str, say: Callable[[str], None]) -> None:
        import uvicorn

        app = self.server.streamable_http_app(streamable_http_path=HTTP_PATH, host=host)
        asgi = BearerToken(app, self.settings.token) if self.settings.token else app
        config = uvicorn.Config(asgi, log_level=os.environ.get("TWINSIGHT_LOG_LEVEL", "warning").lower(),
                                lifespan="on", access_log=False)
        port = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        say(f"twinsight mcp: streamable HTTP on http://{shown}:{port}{HTTP_PATH}"
            f"{' (bearer token required)' if self.settings.token else ''}")
        await uvicorn.Server(config).serve(sockets=[sock])


def _progress_sender(ctx: Any) -> Callable[[Any], None] | None:
    """Investigation stages as MCP progress notifications, when the client asked for them
    (a progress token on the call). Called from the worker thread."""
    meta = getattr(ctx, "meta", None) or {}
    token = meta.get("progress_token") if isinstance(meta, dict) else None
    if token is None:
        return None
    step = [0]

    def send(p: Any) -> None:
        step[0] += 1
        try:
            anyio.from_thread.run(partial(ctx.session.send_progress_notification, token, float(step[0]),
                                          message=f"{p.stage}: {p.message}"[:300],
                                          related_request_id=ctx.request_id))
        except Exception:  # a client that went away does not stop the investigation
            log.debug("progress notification not delivered", exc_info=True)

    return send


class BearerToken:
    """ASGI wrapper: every HTTP request must carry `Authorization: Bearer <token>`
    (compared in constant time); others get 401 before they reach the MCP app."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            got = dict(scope.get("headers") or ()).get(b"authorization", b"")
            if not hmac.compare_digest(got, self.expected):
                body = b'{"error": "missing or wrong bearer token (TWINSIGHT_MCP_TOKEN)"}'
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"www-authenticate", b"Bearer")]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


# -- the command -------------------------------------------------------------------------

def _version() -> str:
    try:
        from importlib.metadata import version

        return version("twinsight")
    except Exception:
        return "0"


def check_bind(host: str, allow_remote: bool, token: str | None) -> str:
    """The address to bind: loopback, unless --allow-remote and a token say otherwise.
    The twin maps every attack path in the enterprise; it is not served to a network
    without both an explicit flag and authentication."""
    name = "127.0.0.1" if host == "localhost" else host
    try:
        addr = ipaddress.ip_address(name)
    except ValueError:
        raise McpConfigError(f"--host {host!r}: give an IP address (127.0.0.1, ::1) or localhost") from None
    if addr.is_loopback:
        return name
    if not allow_remote:
        raise McpConfigError(f"--host {host}: not a loopback address; the MCP server binds 127.0.0.1 only "
                             "unless --allow-remote is given (with TWINSIGHT_MCP_TOKEN set)")
    if not token:
        raise McpConfigError(f"--host {host} --allow-remote needs TWINSIGHT_MCP_TOKEN: a bearer token every "
                             "request must carry")
    return name


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise McpConfigError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror})") from None
    sock.listen(128)
    sock.set_inheritable(False)
    return sock


def _configure_logging() -> None:
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)  # stdout carries the protocol on stdio
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel((os.environ.get("TWINSIGHT_LOG_LEVEL") or "WARNING").upper())


def run_mcp(transport: str, *, host: str, port: int | None, allow_remote: bool,
            twin_driver: Callable, fail: Callable) -> int:
    """`twinsight mcp`: check the options, open the twin, serve until the client goes
    away (stdio: stdin closes) or Ctrl-C / SIGTERM (HTTP)."""
    from graph.settings import Neo4jSettings

    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    if transport not in ("stdio", "http"):
        fail(f"--transport {transport}: expected stdio or http", 2)
    try:
        settings = McpSettings.from_env(Neo4jSettings.from_env().home)
        sock = None
        if transport == "http":
            bind_host = check_bind(host, allow_remote, settings.token)
            if port is not None and not 0 <= port <= 65535:
                raise McpConfigError(f"--port {port}: expected 0-65535")
            sock = bind_socket(bind_host, DEFAULT_HTTP_PORT if port is None else port)
        elif port is not None or allow_remote or host != "127.0.0.1":
            raise McpConfigError("--host, --port and --allow-remote apply to --transport http only")
    except McpConfigError as exc:
        fail(str(exc), 2)
    _configure_logging()
    neo, driver = twin_driver()
    state_dir = Path(os.environ.get("TWINSIGHT_STATE_DIR") or neo.home / "investigations")  # as `investigate`
    try:
        app = TwinMcp(driver, neo.database, settings, state_dir=state_dir)
        if sock is None:
            anyio.run(app.serve_stdio)
        else:
            anyio.run(app.serve_http, sock, bind_host, say)
    except KeyboardInterrupt:
        pass
    finally:
        if sock is not None:
            sock.close()
        driver.close()
    return 0
