"""bot/cli.py: settings checks, log scrubbing from the environment, a Socket Mode run.

The service is handed in (the RecordingService test double); building the real one is
the lead's wiring and needs Neo4j.
"""

from __future__ import annotations

import logging
import threading
import uuid

import pytest

from bot.cli import BotConfigError, configure_logging, run_matrix, run_slack
from tests.fakes import wait_until
from tests.fakes.service import RecordingService
from tests.fakes.slack import FakeSlackWebAPI, FakeSocketModeServer

BOT_ENV = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "MATRIX_HOMESERVER",
           "MATRIX_USER", "MATRIX_PASSWORD", "MATRIX_ACCESS_TOKEN", "TWINSIGHT_ALLOWED_ROOMS",
           "TWINSIGHT_ALLOWED_USERS", "TWINSIGHT_APPROVERS")


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in BOT_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TWINSIGHT_BOT_STATE", str(tmp_path / "state.json"))
    root = logging.getLogger()
    level = root.level
    yield monkeypatch
    root.setLevel(level)


@pytest.mark.parametrize(
    ("values", "port", "needle"),
    [
        ({}, None, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, None, "SLACK_APP_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s" * 32}, None, "or give --port"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, 3000, "SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "TWINSIGHT_BOT_RATE_BURST": "x"}, None,
         "TWINSIGHT_BOT_RATE_BURST"),
    ],
)
def test_slack_settings_errors_name_the_setting(env, values, port, needle):
    for key, value in values.items():
        env.setenv(key, value)
    with pytest.raises(BotConfigError, match=needle):
        run_slack(port, service=RecordingService())


def test_matrix_settings_errors_name_the_setting(env):
    env.setenv("MATRIX_HOMESERVER", "http://127.0.0.1:9")
    with pytest.raises(BotConfigError, match="MATRIX_USER"):
        run_matrix(service=RecordingService())
    env.setenv("MATRIX_USER", "@bot:hs")
    env.setenv("MATRIX_PASSWORD", "pw-123456")
    with pytest.raises(BotConfigError, match="cannot reach MATRIX_HOMESERVER"):  # nothing listens on port 9
        run_matrix(service=RecordingService())


def test_configure_logging_scrubs_secrets_from_the_environment(env, caplog):
    env.setenv("MATRIX_PASSWORD", "pw-correct-horse")
    env.setenv("SLACK_SIGNING_SECRET", "0123456789abcdef0123")
    configure_logging("INFO")
    logging.getLogger("nio.client").info("login body {'password': 'pw-correct-horse'}")
    logging.getLogger("slack_bolt").warning("secret is 0123456789abcdef0123 here")
    assert "pw-correct-horse" not in caplog.text and "0123456789abcdef0123" not in caplog.text
    assert caplog.text.count("[REDACTED]") == 2


def test_run_slack_socket_mode_until_stopped(env):
    api, sm = FakeSlackWebAPI(), FakeSocketModeServer()
    api.socket_url = sm.url
    env.setenv("SLACK_BOT_TOKEN", api.bot_token)
    env.setenv("SLACK_APP_TOKEN", api.app_token)
    env.setenv("SLACK_API_URL", api.url)
    env.setenv("TWINSIGHT_ALLOWED_ROOMS", "CSOC")
    env.setenv("TWINSIGHT_ALLOWED_USERS", "UBOB")
    stop = threading.Event()
    errors: list[BaseException] = []

    def target():
        try:
            run_slack(None, service=RecordingService(), stop=stop)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        sm.wait_connected()
        envelope_id = str(uuid.uuid4())
        sm.push({"envelope_id": envelope_id, "type": "slash_commands", "accepts_response_payload": True,
                 "payload": {"command": "/twinsight", "text": "help", "user_id": "UBOB", "channel_id": "CSOC",
                             "team_id": "T1", "trigger_id": "1", "response_url": "https://hooks.slack.test/x"}})
        sm.wait_ack(envelope_id)
        api.wait_for(lambda calls: any("Twinsight chat-ops" in c["params"].get("text", "") for c in calls))
    finally:
        stop.set()
        thread.join(15)
        sm.close()
        api.close()
    assert not thread.is_alive() and errors == []
    wait_until(lambda: not thread.is_alive())
