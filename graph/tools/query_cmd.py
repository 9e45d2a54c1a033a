"""`twinsight query CYPHER [--param NAME=VALUE]... [--json]`: the guard, from a shell.

The lead wires it into cli.py as:

    @app.command("query")
    def query_cmd(cypher: str, param: list[str] = typer.Option([], "--param"), json_out: JsonOpt = False):
        raise typer.Exit(run_query_command(cypher, param, json_out))

Exit codes follow the contract: 0 ok, 1 the twin could not be reached or the query
failed on the server, 2 the query was refused or the input was bad. A refusal is one
line on stderr and the twin is untouched (the guard never writes).
"""

from __future__ import annotations

import json
import re
import sys

from graph.tools.guard import Guard, GuardError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_params(items: list[str]) -> dict:
    """`NAME=VALUE` pairs; VALUE is JSON when it parses (42, true, [1,2], {"a":1}, "x"),
    else the text as given."""
    out: dict = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise ValueError(f"--param {item!r}: expected NAME=VALUE with NAME an identifier")
        try:
            out[name] = json.loads(value)
        except json.JSONDecodeError:
            out[name] = value
    return out


def _err(msg: str) -> None:
    sys.stderr.write(f"twinsight: {' '.join(msg.split())}\n")


def run_query_command(cypher: str, params: list[str], json_out: bool) -> int:
    """Run one guarded read; print rows (a JSON document with --json, else tab-separated
    with a header); return the exit code."""
    from graph import server
    from graph.db import TwinConnectionError, open_driver
    from graph.settings import Neo4jSettings

    try:
        values = parse_params(params)
    except ValueError as exc:
        _err(str(exc))
        return 2
    settings = Neo4jSettings.from_env()
    try:
        server.ensure_running(settings)
        driver = open_driver(settings)
    except (TwinConnectionError, server.ServerError) as exc:
        _err(str(exc))
        return 1
    try:
        guard = Guard(driver, settings.database)
        try:
            res = guard.run(cypher, values, tool="cli.query")
        except GuardError as exc:
            _err(f"query {'refused' if exc.refused or exc.code == 'syntax' else 'failed'}: {exc.reason}")
            return 2 if exc.refused or exc.code == "syntax" else 1
    finally:
        driver.close()
    if json_out:
        doc = {"columns": res.columns, "rows": res.rows, "row_count": len(res.rows), "truncated": res.truncated,
               "ms": res.audit.ms}
        sys.stdout.write(json.dumps(doc, default=str, sort_keys=True) + "\n")
    else:
        sys.stdout.write("\t".join(res.columns) + "\n")
        for row in res.rows:
            sys.stdout.write("\t".join(_cell(row[c]) for c in res.columns) + "\n")
        if res.truncated:
            _err(f"output cut at {len(res.rows)} rows")
    return 0


def _cell(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, sort_keys=True)
