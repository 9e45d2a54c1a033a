"""`twinsight bot slack|matrix`: run the chat-ops bot in the foreground.

These functions read every setting from the environment (bot/README.md), put the
secret-scrubbing filter on logging before anything can log a token, build the real
investigation service unless one is handed in, and block until Ctrl-C or SIGTERM.
Configuration mistakes raise BotConfigError with a one-line message for the CLI.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Any

from bot.core import BotSettings
from bot.safety import Redactor, install_log_redaction

log = logging.getLogger("twinsight.bot")


class BotConfigError(ValueError):
    """A setting is missing or wrong; the message says which."""


def configure_logging(level: str | None = None) -> Redactor:
    """Log to stderr with every known secret (and anything token-shaped) scrubbed."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel((level or os.environ.get("TWINSIGHT_LOG_LEVEL") or "INFO").upper())
    redactor = Redactor()
    redactor.add_from_env()
    install_log_redaction(redactor, root)
    return redactor


def build_service() -> tuple[Any, Any]:
    """The real TwinsightService on the configured twin, and its driver (to close)."""
    from agents.runtime import TwinsightService  # heavy (LangGraph, Neo4j): only when running
    from graph import server
    from graph.db import TwinConnectionError, open_driver
    from graph.schema import apply_schema
    from graph.settings import Neo4jSettings

    settings = Neo4jSettings.from_env()
    try:
        server.ensure_running(settings)
        driver = open_driver(settings)
        apply_schema(driver, settings.database)
    except (TwinConnectionError, server.ServerError) as exc:
        raise BotConfigError(str(exc)) from None
    from agents.investigate_cmd import state_dir

    # The same checkpoint store as `twinsight investigate`: one place for investigations.
    return TwinsightService(driver, settings.database, state_dir=state_dir()), driver


def _settings(transport: str) -> BotSettings:
    try:
        settings = BotSettings.from_env(transport)
    except ValueError as exc:
        raise BotConfigError(str(exc)) from None
    for problem in settings.policy.problems():
        log.warning("%s", problem)
    return settings


def _stop_on_sigterm(callback: Any) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: callback())


def run_slack(port: int | None = None, *, service: Any = None, stop: threading.Event | None = None) -> None:
    """Socket Mode (SLACK_APP_TOKEN) when port is None, else the HTTP Events API on `port`."""
    from bot.slack import SlackBot, SlackSettings

    redactor = configure_logging()
    try:
        slack = SlackSettings.from_env()
    except ValueError as exc:
        raise BotConfigError(str(exc)) from None
    if port is None and not slack.app_token:
        hint = " (or give --port for the HTTP Events API)" if slack.signing_secret else ""
        raise BotConfigError("Socket Mode needs SLACK_APP_TOKEN" + hint)
    if port is not None and not slack.signing_secret:
        raise BotConfigError("the HTTP Events API (--port) needs SLACK_SIGNING_SECRET")
    settings = _settings("slack")
    driver = None
    if service is None:
        service, driver = build_service()
    stop = stop or threading.Event()
    bot = SlackBot(service, settings, slack, redactor=redactor)
    try:
        if port is not None:
            server = bot.serve_http(port)
            log.info("Slack Events API on http://%s:%d/slack/events", *server.server_address[:2])
        else:
            bot.connect_socket_mode()
            log.info("Slack Socket Mode connected")
        bot.start()
        _stop_on_sigterm(stop.set)
        try:
            while not stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        bot.close()
        if driver is not None:
            driver.close()


def run_matrix(*, service: Any = None) -> None:
    """Log in to MATRIX_HOMESERVER and answer `!twinsight` commands until stopped."""
    from bot.matrix import MatrixBot, MatrixError, MatrixSettings

    redactor = configure_logging()
    try:
        matrix = MatrixSettings.from_env()
    except ValueError as exc:
        raise BotConfigError(str(exc)) from None
    settings = _settings("matrix")
    driver = None
    if service is None:
        service, driver = build_service()
    bot = MatrixBot(service, settings, matrix, redactor=redactor)
    _stop_on_sigterm(bot.stop)
    try:
        bot.run()
    except MatrixError as exc:  # login refused, first sync failed: a setting, usually
        raise BotConfigError(str(exc)) from None
    finally:
        if driver is not None:
            driver.close()
