"""The `twinsight` command line: it only wires commands to graph/, agents/ and evals/.

Every reporting command takes --json and then prints exactly one JSON document on
stdout; progress and errors go to stderr. Exit codes: 0 ok, 1 failed run, 2 bad
usage or bad input (contract section 1). Every failure is one line naming its cause:
what no command handles is caught by the app itself (`describe_failure`); a traceback
only with TWINSIGHT_DEBUG=1.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from graph import server
from graph.db import TwinConnectionError, open_driver, server_info
from graph.schema import apply_schema, reset_twin
from graph.settings import Neo4jSettings, SettingError


def _first_line(exc: BaseException) -> str:
    text = " ".join((str(exc).strip() or type(exc).__name__).splitlines()[:1])
    return text[:300]


def describe_failure(exc: BaseException) -> str:
    """The one line for an exception no command turned into a message of its own."""
    from neo4j.exceptions import DriverError, Neo4jError, ServiceUnavailable, SessionExpired

    try:
        settings: Neo4jSettings | None = Neo4jSettings.from_env()
    except Exception:  # a bad setting must not hide the failure being reported
        settings = None
    if isinstance(exc, SettingError):
        return _first_line(exc)
    if isinstance(exc, (ServiceUnavailable, SessionExpired)):
        where = settings.uri if settings else "NEO4J_URI"
        return f"lost the connection to Neo4j at {where}: {_first_line(exc)} (is it still running?)"
    if isinstance(exc, Neo4jError):
        return f"Neo4j refused the request: {exc.code}: {_first_line(exc.message or exc)}"
    if isinstance(exc, DriverError):
        return f"the Neo4j driver failed: {_first_line(exc)}"
    if isinstance(exc, OSError):
        name = exc.filename if exc.filename is not None else ""
        line = f"{name}: {exc.strerror}" if name and exc.strerror else _first_line(exc)
        home = settings.home if settings else None
        if home is not None and name and str(name).startswith(str(home)):
            line += f" (under TWINSIGHT_HOME={home})"
        return line
    if isinstance(exc, MemoryError):
        return "ran out of memory (see TWINSIGHT_INGEST_MAX_* to refuse inputs this large)"
    if isinstance(exc, RecursionError):
        return "an input is nested too deeply to process"
    return f"internal error, {type(exc).__name__}: {_first_line(exc)} (TWINSIGHT_DEBUG=1 shows the traceback)"


class _App(typer.Typer):
    """The root app, with the last net: an exception that reaches it is one line on
    stderr and exit code 1, not a traceback (unless TWINSIGHT_DEBUG asks for one)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            if os.environ.get("TWINSIGHT_DEBUG", "").strip() not in ("", "0"):
                raise
            print(f"twinsight: {describe_failure(exc)}", file=sys.stderr, flush=True)
            sys.exit(2 if isinstance(exc, SettingError) else 1)


app = _App(no_args_is_help=True, add_completion=False, help="Twinsight: alert investigations grounded by a Neo4j twin.")
db_app = typer.Typer(no_args_is_help=True, help="The local Neo4j the tool runs (the embedded default).")
twin_app = typer.Typer(no_args_is_help=True, help="The twin's contents.")
app.add_typer(db_app, name="db")
app.add_typer(twin_app, name="twin")
bot_app = typer.Typer(no_args_is_help=True, help="The chat-ops bot, in the foreground (contract section 8).")
app.add_typer(bot_app, name="bot")
eval_app = typer.Typer(no_args_is_help=True, help="Labeled scenarios and metrics (contract section 6).")
app.add_typer(eval_app, name="eval")

err = Console(stderr=True, soft_wrap=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def fail(message: str, code: int = 1) -> None:
    """One clear line; anything after the first line (a server log tail) follows indented."""
    first, *rest = str(message).split("\n")
    print(f"twinsight: {' '.join(first.split())}", file=sys.stderr, flush=True)
    for line in rest:
        print(f"  | {line}", file=sys.stderr)
    raise typer.Exit(code)


def emit(doc: object) -> None:
    sys.stdout.write(json.dumps(doc, default=str) + "\n")


def twin_driver(settings: Neo4jSettings | None = None):
    """Open the twin, starting the embedded default first when nothing else is configured."""
    settings = settings or Neo4jSettings.from_env()
    try:
        server.ensure_running(settings)
        driver = open_driver(settings)
        apply_schema(driver, settings.database)
    except TwinConnectionError as exc:
        fail(str(exc), 1)
    return settings, driver


@db_app.command("start")
def db_start() -> None:
    """Start the local Neo4j (idempotent); with NEO4J_URI set, only check that server."""
    settings = Neo4jSettings.from_env()
    try:
        msg = server.start(settings)
        if settings.external:
            open_driver(settings).close()
    except (server.ServerError, TwinConnectionError) as exc:
        fail(str(exc), 1)
    err.print(msg, markup=False, highlight=False)


@db_app.command("stop")
def db_stop() -> None:
    """Stop the local Neo4j (idempotent)."""
    settings = Neo4jSettings.from_env()
    try:
        msg = server.stop(settings)
    except server.ServerError as exc:
        fail(str(exc), 1)
    err.print(msg, markup=False, highlight=False)


@db_app.command("status")
def db_status(json_out: JsonOpt = False) -> None:
    """Version, edition and size of the twin's server."""
    settings = Neo4jSettings.from_env()
    try:
        driver = open_driver(settings)
    except TwinConnectionError as exc:
        fail(str(exc), 1)
    with driver:
        info = {"uri": settings.uri, **server_info(driver, settings.database)}
    if json_out:
        emit(info)
    else:
        pid = server.read_pid(settings)
        owner = "external (NEO4J_URI)" if settings.external else f"local, pid {pid}"
        err.print(
            f"Neo4j {info['version']} {info['edition']} at {info['uri']} ({owner}): "
            f"{info['nodes']} nodes, {info['relationships']} relationships",
            markup=False, highlight=False,
        )


@twin_app.command("reset")
def twin_reset(yes: Annotated[bool, typer.Option("--yes", help="Really empty the twin.")] = False) -> None:
    """Empty the twin; constraints and indexes stay."""
    if not yes:
        fail("refusing to empty the twin without --yes", 2)
    settings, driver = twin_driver()
    with driver:
        n = reset_twin(driver, settings.database)
    err.print(f"twin emptied: {n} nodes deleted", markup=False, highlight=False)


@app.command("ingest")
def ingest_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Files, folders or zips to load.")],
    format: Annotated[str | None, typer.Option("--format", help="Force one format for every file.")] = None,
    cleanup: Annotated[bool, typer.Option("--cleanup", help="Drop what snapshot sources no longer report.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Load sources into the twin; formats are sniffed (contract section 3)."""
    from graph.ingest.registry import IngestInterrupted, UsageError, ingest

    settings, driver = twin_driver()
    with driver:
        try:
            report = ingest(
                driver, paths, database=settings.database, forced_format=format, cleanup=cleanup,
                progress=None if json_out else (lambda m: err.print(f"  {m}", markup=False, highlight=False)),
            )
        except UsageError as exc:
            fail(str(exc), 2)
        except IngestInterrupted as exc:
            fail(f"{exc} ({exc.report.files} files loaded before it; run the same ingest again to "
                 "finish: what got in stays whole and is not doubled)", 1)
    for g in report.rejected_by_reason():
        ex = g["example"]
        where = f"{ex['file']} [{ex['record']}]" if g["count"] == 1 else (
            f"{g['count']} records in {g['files']} file(s), e.g. {ex['file']} [{ex['record']}]")
        err.print(f"rejected {where}: {ex['error'] if g['count'] == 1 else g['reason']}",
                  markup=False, highlight=False)
    left = report.unresolved or {}
    if left.get("event_hosts") or left.get("event_ips"):
        ex = left.get("examples", {})
        err.print(f"warning: {left['event_hosts']} events name a host the twin does not know "
                  f"({', '.join(ex.get('hosts', [])) or '-'}); {left['event_ips']} events come from "
                  f"an address no known host held ({', '.join(ex.get('ips', [])) or '-'}); they are "
                  "tied when a later load brings those hosts", markup=False, highlight=False)
    doc = report.as_contract()
    if json_out:
        emit(doc)
    else:
        err.print(
            f"{doc['files']} files, {doc['records']} records: {doc['nodes_created']} nodes created, "
            f"{doc['nodes_updated']} updated, {doc['relationships_created']} relationships created, "
            f"{doc['rejected_count']} rejected in {doc['seconds']:.1f}s",
            markup=False, highlight=False,
        )
    if report.files == 0 and not report.rejected:  # a run that loads nothing has failed
        fail(f"nothing to load in {', '.join(str(p) for p in paths)}: no input files", 2)
    if report.records and sum(r.record != "-" for r in report.rejected) >= report.records:
        fail(f"nothing loaded: all {report.records} records were rejected", 2)
    if report.loaded_files == 0 and report.rejected:  # every file was refused
        raise typer.Exit(2)


@app.command("demo")
def demo_cmd(
    out: Annotated[Path, typer.Option("--out", help="Where the enterprise, alert and report go.")] = Path("twinsight-demo"),
    llm: Annotated[str | None, typer.Option("--llm", help="offline | openai (default: openai when OPENAI_API_KEY is set)")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Empty a non-empty twin first.")] = False,
) -> None:
    """Generate an enterprise, load it, play an attack, investigate the alert, write the report."""
    from agents.investigate_cmd import state_dir
    from evals.demo import run_demo
    from graph.db import server_info

    settings, driver = twin_driver()
    with driver:
        if server_info(driver, settings.database)["nodes"] and not reset:
            fail("the twin is not empty: run `twinsight demo --reset` to replace it with the demo enterprise", 2)
        reset_twin(driver, settings.database)
        say = lambda m: err.print(m, markup=False, highlight=False)  # noqa: E731
        try:
            run_demo(driver, settings.database, out, state_dir(), say, llm=llm)
        except (RuntimeError, ValueError) as exc:
            fail(str(exc), 1)
    print(f"report: {(out / 'report.html').resolve()} (also report.md, investigation.json)")


@app.command("generate")
def generate_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the enterprise into.")],
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same enterprise.")] = 1,
    hosts: Annotated[int, typer.Option("--hosts", help="Number of hosts.")] = 50,
    users: Annotated[int | None, typer.Option("--users", help="Number of users (default 1.6 per host).")] = None,
    groups: Annotated[int | None, typer.Option("--groups", help="Number of groups (default 1.9 per user).")] = None,
    ops: Annotated[bool, typer.Option("--ops/--no-ops", help="Also Nmap, Trivy, SBOMs, Zeek and Windows events.")] = True,
    json_out: JsonOpt = False,
) -> None:
    """Write a seeded synthetic enterprise in the real formats of contract section 3."""
    from graph.generate import generate

    try:
        summary = generate(out, seed, hosts=hosts, users=users, groups=groups, ops=ops)
    except ValueError as exc:
        fail(str(exc), 2)
    if json_out:
        emit(summary)
    else:
        err.print(f"enterprise written to {out} in {summary.get('seconds', 0):.1f}s; ingest it with: twinsight ingest {out}",
                  markup=False, highlight=False)


@app.command("investigate")
def investigate_cmd(
    alert_file: Annotated[Path, typer.Argument(help="An OCSF 2004 or Elastic ECS alert (JSON).")],
    llm: Annotated[str | None, typer.Option("--llm", help="offline | openai (default: openai when OPENAI_API_KEY is set)")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write a report: FILE.md or FILE.html.")] = None,
    respond: Annotated[bool, typer.Option("--respond", help="Ask for approval of response actions (pauses).")] = False,
    resume: Annotated[str | None, typer.Option("--resume", help="Resume an interrupted investigation by its id.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Investigate one alert against the twin (contract section 5)."""
    from agents.investigate_cmd import run_investigate

    raise typer.Exit(run_investigate(alert_file, llm=llm, report=report, respond=respond, resume=resume,
                                     json_out=json_out, twin_driver=twin_driver, emit=emit, fail=fail))


@app.command("whatif", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def whatif_cmd(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Simulate a change inside a rolled-back transaction (contract section 7).

    Actions: update TARGET PACKAGE VERSION | patch TARGET CVE | isolate HOST | disable USER |
    remove-member MEMBER GROUP | remove-edge SRC TYPE DST | block FROM TO PORT/PROTO |
    expose HOST PORT/PROTO | rank --target KEY [--top N]
    """
    from graph.whatif import USAGE, whatif_command

    if not ctx.args:
        fail(f"whatif needs an action ({', '.join(USAGE)})", 2)
    settings, driver = twin_driver()
    driver.close()
    raise typer.Exit(whatif_command(list(ctx.args), json_out))


@app.command("query")
def query_cmd(
    cypher: Annotated[str, typer.Argument(help="One read-only Cypher statement.")],
    param: Annotated[list[str] | None, typer.Option("--param", help="NAME=VALUE (JSON if it parses).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Run read-only Cypher through the guard the agents' tools use; writes are refused (exit 2)."""
    from graph.tools.query_cmd import run_query_command

    raise typer.Exit(run_query_command(cypher, param or [], json_out))


@app.command("events")
def events_cmd(
    host: Annotated[list[str] | None, typer.Option("--host", help="Host key or short name (repeatable).")] = None,
    account: Annotated[list[str] | None, typer.Option("--account", help="Account key or name (repeatable).")] = None,
    ip: Annotated[list[str] | None, typer.Option("--ip", help="Source or destination address (repeatable).")] = None,
    event_id: Annotated[list[int] | None, typer.Option("--event-id", help="Windows EventID (repeatable).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO 8601 or epoch seconds.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO 8601 or epoch seconds.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000, help="At most this many events.")] = 100,
    raw: Annotated[bool, typer.Option("--raw", help="Print each event's raw line as ingested.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Raw events from the event store (every ingested Windows event), filtered, oldest first."""
    from graph.events.command import EventsUsageError, build_filter, run_events_command

    try:
        flt = build_filter(host or [], account or [], ip or [], event_id or [], since, until, limit)
    except EventsUsageError as exc:
        fail(str(exc), 2)
    raise typer.Exit(run_events_command(flt, json_out, raw))


@eval_app.command("run")
def eval_run(
    scenarios: Annotated[list[Path], typer.Option("--scenarios", help="Folder of scenario folders (repeat for several sets, reported side by side).")],
    out: Annotated[Path, typer.Option("--out", help="Where metrics.json and the report go.")],
    llm: Annotated[str, typer.Option("--llm", help="offline | openai | replay")] = "offline",
    cassettes: Annotated[Path | None, typer.Option("--cassettes", help="Cassette folder (replay, or openai --record).")] = None,
    record: Annotated[bool, typer.Option("--record", help="With --llm openai: write cassettes while running.")] = False,
    only: Annotated[list[str] | None, typer.Option("--only", help="Run only these scenario ids.")] = None,
    compare: Annotated[list[Path] | None, typer.Option("--compare", help="Other runs' metrics.json to show side by side.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Run labeled scenarios; write OUT/metrics.json and a Markdown + HTML report."""
    from evals.runner import run_eval
    from evals.scenario import ScenarioError

    if llm not in ("offline", "openai", "replay"):
        fail(f"--llm {llm}: expected offline, openai or replay", 2)
    settings, driver = twin_driver()
    with driver:
        try:
            m = run_eval(driver, settings.database, scenarios, out, llm=llm, cassettes=cassettes, record=record,
                         only=only, compare=compare, progress=None if json_out else (lambda msg: err.print(msg, markup=False, highlight=False)))
        except (ScenarioError, ValueError) as exc:
            fail(str(exc), 2)
    if json_out:
        emit({k: v for k, v in m.items()})
    else:
        for name, sm in (m.get("sets") or {}).items():
            err.print(f"  set {name}: {sm['scenarios']} scenarios, accuracy {sm['triage_accuracy']}, FPR {sm['fpr']}, "
                      f"TP recall {sm['tp_recall']}", markup=False, highlight=False)
        err.print(f"{m['scenarios']} scenarios: accuracy {m['triage_accuracy']}, macro F1 {m['macro_f1']}, "
                  f"hallucination {m['hallucination_rate']}, p50 {m['seconds_p50']}s; report in {out}/report.md",
                  markup=False, highlight=False)


@app.command("mcp")
def mcp_cmd(
    transport: Annotated[str, typer.Option("--transport", help="stdio (default) or http (streamable HTTP).")] = "stdio",
    port: Annotated[int | None, typer.Option("--port", help="HTTP port (default 8790).")] = None,
    host: Annotated[str, typer.Option("--host", help="HTTP bind address: loopback unless --allow-remote.")] = "127.0.0.1",
    allow_remote: Annotated[bool, typer.Option("--allow-remote", help="Bind a non-loopback --host (needs TWINSIGHT_MCP_TOKEN).")] = False,
) -> None:
    """Serve the twin's read-only tools and `investigate` to an MCP client (Claude Desktop, VS Code, ...)."""
    from agents.mcp_server import run_mcp

    raise typer.Exit(run_mcp(transport, host=host, port=port, allow_remote=allow_remote, twin_driver=twin_driver, fail=fail))


@bot_app.command("slack")
def bot_slack(port: Annotated[int | None, typer.Option("--port", help="HTTP Events API port (else Socket Mode).")] = None) -> None:
    """Run the Slack bot: Socket Mode with SLACK_APP_TOKEN, else HTTP events with SLACK_SIGNING_SECRET."""
    from bot.cli import BotConfigError, run_slack

    try:
        run_slack(port)
    except BotConfigError as exc:
        fail(str(exc), 2)


@bot_app.command("matrix")
def bot_matrix() -> None:
    """Run the Matrix bot (MATRIX_HOMESERVER, MATRIX_USER, MATRIX_PASSWORD or MATRIX_ACCESS_TOKEN)."""
    from bot.cli import BotConfigError, run_matrix

    try:
        run_matrix()
    except BotConfigError as exc:
        fail(str(exc), 2)


if __name__ == "__main__":
    app()
