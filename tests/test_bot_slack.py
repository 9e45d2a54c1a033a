"""The Slack transport against a local Slack: a fake Web API and a fake Socket Mode server.

Like bolt-python's own tests, the SDK's base_url points at an HTTP server on loopback
that records every call; Socket Mode connects to a websocket server on loopback; HTTP
requests are signed (or forged) exactly as Slack signs them. The service is the
RecordingService test double.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.core import BotSettings
from bot.safety import AccessPolicy
from bot.slack import APPROVE, DENY, SlackBot, SlackSettings, escape, strip_mention, unformat
from tests.fakes import wait_until
from tests.fakes.service import RecordingService
from tests.fakes.slack import FakeSlackWebAPI, FakeSocketModeServer

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SOC, RANDOM = "CSOC", "CRANDOM"
ALICE, BOB, MALLORY = "UALICE", "UBOB", "UMALLORY"
ALERT = {"id": "alert-7", "user": {"name": "helpdesk1@corp.local"}, "note": "<!channel> & friends"}


@pytest.fixture
def api():
    server = FakeSlackWebAPI()
    yield server
    server.close()


@pytest.fixture
def service():
    return RecordingService()


@pytest.fixture
def slack_bot(api, service, tmp_path):
    settings = BotSettings(
        policy=AccessPolicy(rooms=frozenset({SOC}), users=frozenset({BOB}), approvers=frozenset({ALICE})),
        rate_burst=50,
        rate_per_minute=600,
        progress_interval=0.05,
        state_path=tmp_path / "slack-state.json",
    )
    slack = SlackSettings(bot_token=api.bot_token, app_token=api.app_token, signing_secret=SECRET, api_url=api.url)
    bot = SlackBot(service, settings, slack)
    yield bot
    bot.close()


@pytest.fixture
def http(slack_bot):
    server = slack_bot.serve_http(0, "127.0.0.1")
    return f"http://127.0.0.1:{server.server_address[1]}"


def post(base: str, body: str, *, timestamp: int | None = None, secret: str = SECRET, signature: str | None = None,
         path: str = "/slack/events", content_type: str = "application/x-www-form-urlencoded") -> tuple[int, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = signature or SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    req = urllib.request.Request(
        base + path, data=body.encode(), method="POST",
        headers={"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def slash(text: str, user: str = BOB, channel: str = SOC) -> dict:
    return {"token": "legacy", "team_id": "T1", "team_domain": "corp", "channel_id": channel, "channel_name": "soc",
            "user_id": user, "user_name": user.lower(), "command": "/twinsight", "text": text, "api_app_id": "A1",
            "response_url": "https://hooks.slack.test/commands/1", "trigger_id": "1.2.3"}


def mention_event(text: str, user: str = BOB, channel: str = SOC, **extra) -> dict:
    event = {"type": "app_mention", "user": user, "text": text, "ts": "1700000001.000100", "channel": channel,
             "event_ts": "1700000001.000100", **extra}
    return {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "event": event, "type": "event_callback",
            "event_id": "Ev" + uuid.uuid4().hex[:8], "event_time": int(time.time()),
            "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}]}


def button(action_id: str, value: str, user: str, message_ts: str, thread_ts: str, channel: str = SOC) -> dict:
    return {"type": "block_actions", "team": {"id": "T1", "domain": "corp"}, "user": {"id": user, "team_id": "T1"},
            "api_app_id": "A1", "token": "legacy", "trigger_id": "1.2.3",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
            "channel": {"id": channel, "name": "soc"},
            "message": {"type": "message", "ts": message_ts, "thread_ts": thread_ts, "text": "prompt"},
            "response_url": "https://hooks.slack.test/actions/1",
            "actions": [{"action_id": action_id, "block_id": "b", "value": value, "type": "button",
                         "action_ts": str(time.time())}]}


def has_buttons(params: dict) -> bool:
    return any(b.get("type") == "actions" for b in params.get("blocks") or [])


def posts(api: FakeSlackWebAPI) -> list[dict]:
    return [c["params"] for c in api.calls_to("chat.postMessage")]


# --- request verification ------------------------------------------------------------------


def test_signed_slash_command_help_replies_in_a_thread(api, http, service):
    started = time.monotonic()
    status, _ = post(http, urllib.parse.urlencode(slash("help")))
    assert status == 200
    replies = api.wait_for(lambda calls: [c for c in calls if c["method"] == "chat.postMessage"
                                          and c["params"].get("thread_ts")])
    elapsed = time.monotonic() - started
    root = posts(api)[0]
    assert root["channel"] == SOC and "<@UBOB> asked: `/twinsight help`" in root["text"]
    root_ts = api.calls_to("chat.postMessage")[0]["response"]["ts"]
    assert replies[0]["params"]["thread_ts"] == root_ts
    assert "Twinsight chat-ops" in replies[0]["params"]["text"]
    assert all(c["authorization"] == f"Bearer {api.bot_token}" for c in api.calls)
    assert elapsed < 3, elapsed
    assert service.calls == []


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("forged", 401), ("wrong secret", 401), ("stale", 401), ("future", 401), ("unsigned", 401)],
)
def test_forged_or_stale_requests_are_refused(api, http, service, kind, expected):
    body = urllib.parse.urlencode(slash("status"))
    now = int(time.time())
    if kind == "forged":
        status, _ = post(http, body, signature="v0=" + "0" * 64)
    elif kind == "wrong secret":
        status, _ = post(http, body, secret="not-the-secret")
    elif kind == "stale":
        status, _ = post(http, body, timestamp=now - 6 * 60)  # correctly signed, outside the 5 min window
    elif kind == "future":
        status, _ = post(http, body, timestamp=now + 6 * 60)
    else:
        status, _ = post(http, body, signature=" ")
    assert status == expected
    time.sleep(0.2)
    assert [c["method"] for c in api.calls] == ["auth.test"]  # only bolt's startup check
    assert service.calls == []


def test_tampered_body_is_refused(api, http):
    body = urllib.parse.urlencode(slash("status"))
    ts = str(int(time.time()))
    sig = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
    status, _ = post(http, body.replace("UBOB", "UALICE"), timestamp=int(ts), signature=sig)
    assert status == 401


def test_a_signed_request_is_accepted_once(api, http, service):
    """A captured request replayed inside the five-minute window is refused."""
    body = urllib.parse.urlencode(slash("status"))
    ts = str(int(time.time()))
    sig = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
    assert post(http, body, timestamp=int(ts), signature=sig)[0] == 200
    api.wait_for(lambda calls: any("Twinsight status" in c["params"].get("text", "") for c in calls))
    assert post(http, body, timestamp=int(ts), signature=sig)[0] == 401
    assert post(http, body, timestamp=int(ts), signature=sig)[0] == 401
    time.sleep(0.3)
    assert len(service.called("status")) == 1
    # a new request (new timestamp, new signature) is of course fine
    assert post(http, body, timestamp=int(ts) + 1)[0] == 200


def test_slash_command_text_is_scrubbed_before_it_is_echoed(api, http):
    """The "X asked: ..." message quotes the command; a token pasted into it is
    redacted as it is in the logs, and so are replies that quote what was typed."""
    leaked = ["xoxb-1234567890-abcdefghijkl", "hunter2-is-the-password", "sk-abcdefghijklmnopqrst"]
    text = f"whatif {leaked[0]} password={leaked[1]} {leaked[2]}"
    assert post(http, urllib.parse.urlencode(slash(text)))[0] == 200
    api.wait_for(lambda calls: len([c for c in calls if c["method"] == "chat.postMessage"]) >= 2)
    time.sleep(0.3)
    said = json.dumps(posts(api))
    assert "[REDACTED]" in posts(api)[0]["text"]
    assert not [t for t in leaked if t in said], said


def test_slow_clients_are_cut_off_and_cannot_pile_up_threads(api, service, tmp_path, monkeypatch):
    """A connection that stops sending is closed after the read timeout, one that
    dribbles is closed at the request deadline, and connections past the cap get no
    thread at all."""
    import socket as socketlib
    import threading

    import bot.slack as slack_mod

    monkeypatch.setattr(slack_mod, "READ_TIMEOUT_S", 1.0)
    monkeypatch.setattr(slack_mod, "REQUEST_DEADLINE_S", 2.0)
    monkeypatch.setattr(slack_mod, "MAX_CONNECTIONS", 4)
    slack = SlackSettings(bot_token=api.bot_token, signing_secret=SECRET, api_url=api.url)
    bot = SlackBot(service, BotSettings(state_path=tmp_path / "s.json"), slack)
    server = bot.serve_http(0, "127.0.0.1")
    port = server.server_address[1]
    head = (b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            b"Content-Type: application/json\r\n\r\n")
    try:
        threads_before = threading.active_count()
        stalled = socketlib.create_connection(("127.0.0.1", port))
        stalled.sendall(head + b"0123456789")  # then nothing
        stalled.settimeout(8)
        t0 = time.monotonic()
        assert stalled.recv(1024) == b""  # the server hung up
        assert time.monotonic() - t0 < 4

        dribbler = socketlib.create_connection(("127.0.0.1", port))
        dribbler.sendall(head)
        t0 = time.monotonic()
        with pytest.raises(OSError):
            for _ in range(40):  # a byte every 0.5 s never trips the read timeout
                dribbler.sendall(b"x")
                time.sleep(0.5)
        assert time.monotonic() - t0 < 8

        crowd = [socketlib.create_connection(("127.0.0.1", port)) for _ in range(12)]
        time.sleep(0.5)
        assert threading.active_count() - threads_before <= 4 + 1
        for c in crowd:
            c.close()
        time.sleep(1.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as resp:
            assert resp.status == 200
    finally:
        bot.close()


def test_url_verification_and_limits(http):
    status, text = post(http, json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"}),
                        content_type="application/json")
    assert status == 200 and "c-123" in text
    assert post(http, "x", path="/elsewhere")[0] == 404
    req = urllib.request.Request(http + "/slack/events", data=b"", method="POST",
                                 headers={"Content-Length": str(10**9)})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=10)
    assert info.value.code == 413


def test_http_mode_needs_a_signing_secret(api, service, tmp_path):
    bot = SlackBot(service, BotSettings(state_path=None), SlackSettings(bot_token=api.bot_token, api_url=api.url))
    with pytest.raises(ValueError, match="SLACK_SIGNING_SECRET"):
        bot.serve_http(0, "127.0.0.1")
    with pytest.raises(ValueError, match="SLACK_APP_TOKEN"):
        bot.connect_socket_mode()
    bot.close()


# --- the conversation ------------------------------------------------------------------------


def test_mention_investigation_progress_summary_report_and_buttons(api, http, service):
    text = "<@UBOT> investigate ```" + escape(json.dumps(ALERT)) + "```"
    status, _ = post(http, json.dumps(mention_event(text)), content_type="application/json")
    assert status == 200
    api.wait_for(lambda calls: any(c["method"] == "chat.postMessage" and c["params"].get("blocks")
                                   and any(b.get("type") == "actions" for b in c["params"]["blocks"]) for c in calls))
    (call,) = service.called("investigate")
    assert call[2] == ALERT  # Slack's &lt;!channel&gt; came back as typed
    thread_ts = "1700000001.000100"
    msgs = posts(api)
    assert all(m.get("thread_ts") == thread_ts for m in msgs)
    progress = next(m for m in msgs if "Investigation" in m["text"] and "⏳" in m["text"])
    updates = api.calls_to("chat.update")
    assert updates and all(u["params"]["channel"] == SOC for u in updates)
    assert "awaiting_approval" in updates[-1]["params"]["text"]
    summary = next(m for m in msgs if m.get("blocks") and "Top path" in json.dumps(m["blocks"]))
    blocks = json.dumps(summary["blocks"])
    assert "*Verdict*\\ntrue_positive" in blocks and "CUSTOMER-DB" in blocks
    assert "&lt;" not in progress["text"] or "<!channel>" not in progress["text"]
    # The report: three-step upload into the same thread.
    complete = api.wait_for(lambda calls: [c for c in calls if c["method"] == "files.completeUploadExternal"])
    assert complete[0]["params"]["thread_ts"] == thread_ts and complete[0]["params"]["channel_id"] == SOC
    (report,) = api.uploads.values()
    assert report.decode().startswith(f"# Investigation {call[1]}")
    prompt = next(m for m in msgs if m.get("blocks") and any(b.get("type") == "actions" for b in m["blocks"]))
    buttons = next(b for b in prompt["blocks"] if b["type"] == "actions")["elements"]
    assert [b["action_id"] for b in buttons] == [APPROVE, DENY]
    assert {b["value"] for b in buttons} == {f"{call[1]}-a1"}
    assert "confirm" in buttons[0]


def test_buttons_enforce_approvers_and_call_decide(api, http, service):
    post(http, json.dumps(mention_event("<@UBOT> investigate " + json.dumps(ALERT))), content_type="application/json")
    wait_until(service.pending)
    action_id = service.pending()[0].action_id
    prompt_call = api.wait_for(lambda calls: [c for c in calls if c["method"] == "chat.postMessage"
                                              and has_buttons(c["params"])])[0]
    prompt_ts = prompt_call["response"]["ts"]
    payload = button(APPROVE, action_id, BOB, prompt_ts, "1700000001.000100")
    assert post(http, urllib.parse.urlencode({"payload": json.dumps(payload)}))[0] == 200
    api.wait_for(lambda calls: any("is not an approver" in c["params"].get("text", "") for c in calls))
    assert service.called("decide") == []
    payload = button(APPROVE, action_id, ALICE, prompt_ts, "1700000001.000100")
    assert post(http, urllib.parse.urlencode({"payload": json.dumps(payload)}))[0] == 200
    wait_until(lambda: service.called("decide"))
    assert service.called("decide") == [("decide", action_id, True, ALICE)]
    resolved = api.wait_for(lambda calls: [c for c in calls if c["method"] == "chat.update"
                                           and c["params"].get("ts") == prompt_ts])
    assert "Approved by <@UALICE>" in resolved[0]["params"]["text"]
    assert not has_buttons(resolved[0]["params"])  # buttons gone
    api.wait_for(lambda calls: sum(1 for c in calls if "Top path" in json.dumps(c["params"].get("blocks", []))) == 2)


def test_mention_with_an_attached_alert_file(api, http, service):
    api.files["/files/T1/F9/alert.json"] = json.dumps(ALERT).encode()
    base = api.url.rsplit("/api/", 1)[0]
    files = [{"id": "F9", "name": "alert.json", "size": 80, "url_private_download": base + "/files/T1/F9/alert.json"}]
    post(http, json.dumps(mention_event("<@UBOT> investigate", files=files)), content_type="application/json")
    wait_until(lambda: service.called("investigate"))
    assert service.called("investigate")[0][2] == ALERT
    assert api.downloads[0]["authorization"] == f"Bearer {api.bot_token}"


def test_attached_file_on_a_foreign_host_does_not_get_the_token(api, http, service):
    files = [{"id": "F9", "name": "alert.json", "size": 80, "url_private_download": "http://attacker.test/x.json"}]
    post(http, json.dumps(mention_event("<@UBOT> investigate", files=files)), content_type="application/json")
    api.wait_for(lambda calls: any("refusing to send the bot token" in c["params"].get("text", "") for c in calls))
    assert service.called("investigate") == [] and api.downloads == []


def test_strangers_and_other_channels_are_ignored(api, http, service):
    post(http, urllib.parse.urlencode(slash("help", user=MALLORY)))
    post(http, json.dumps(mention_event("<@UBOT> help", channel=RANDOM)), content_type="application/json")
    post(http, json.dumps(mention_event("<@UBOT> help", user=MALLORY)), content_type="application/json")
    payload = button(APPROVE, "x", MALLORY, "1.1", "1.1")
    post(http, urllib.parse.urlencode({"payload": json.dumps(payload)}))
    time.sleep(0.5)
    assert [c["method"] for c in api.calls] == ["auth.test"]
    assert service.calls == []


def test_redelivered_mention_runs_once(api, http, service):
    event = mention_event("<@UBOT> status")
    for retry in range(3):  # Slack retries an event it thinks timed out, same ts
        event["event_id"] = f"Ev-retry-{retry}"
        assert post(http, json.dumps(event), content_type="application/json")[0] == 200
    api.wait_for(lambda calls: any("Twinsight status" in c["params"].get("text", "") for c in calls))
    time.sleep(0.3)
    assert len(service.called("status")) == 1


def test_paths_and_whatif_via_slash(api, http, service):
    post(http, urllib.parse.urlencode(slash("paths <mailto:alice@corp.com|alice@corp.com> CORP.LOCAL")))
    post(http, urllib.parse.urlencode(slash("whatif isolate <http://web01.corp.com|web01.corp.com>")))
    wait_until(lambda: service.called("whatif") and service.called("paths"))
    assert service.called("paths") == [("paths", "alice@corp.com", "CORP.LOCAL")]
    assert service.called("whatif") == [("whatif", ["isolate", "web01.corp.com"])]
    api.wait_for(lambda calls: any("attack paths to crown jewels: 3 → 1" in c["params"].get("text", "") for c in calls))


# --- Socket Mode ---------------------------------------------------------------------------------


def test_socket_mode_slash_command_mention_and_button(api, slack_bot, service):
    sm = FakeSocketModeServer()
    api.socket_url = sm.url
    try:
        slack_bot.connect_socket_mode()
        sm.wait_connected()
        assert any(c["method"] == "apps.connections.open" and c["authorization"] == f"Bearer {api.app_token}"
                   for c in api.calls)
        env_id = str(uuid.uuid4())
        started = time.monotonic()
        sm.push({"envelope_id": env_id, "type": "slash_commands", "payload": slash("help"),
                 "accepts_response_payload": True})
        assert sm.wait_ack(env_id)["envelope_id"] == env_id
        api.wait_for(lambda calls: any("Twinsight chat-ops" in c["params"].get("text", "") for c in calls))
        assert time.monotonic() - started < 3

        env_id = str(uuid.uuid4())
        sm.push({"envelope_id": env_id, "type": "events_api", "accepts_response_payload": False,
                 "payload": mention_event("<@UBOT> investigate " + json.dumps(ALERT))})
        sm.wait_ack(env_id)
        wait_until(service.pending)
        action_id = service.pending()[0].action_id

        env_id = str(uuid.uuid4())
        sm.push({"envelope_id": env_id, "type": "interactive", "accepts_response_payload": False,
                 "payload": button(DENY, action_id, ALICE, "1.2", "1700000001.000100")})
        sm.wait_ack(env_id)
        wait_until(lambda: service.called("decide"))
        assert service.called("decide") == [("decide", action_id, False, ALICE)]
    finally:
        slack_bot.close()
        sm.close()


# --- Slack text conventions ------------------------------------------------------------------------


def test_unformat_and_escape():
    assert unformat("paths &lt;x&gt; &amp; <mailto:a@b.com|a@b.com> <http://h.com|h.com> <https://x.y/z>") == \
        "paths <x> & a@b.com h.com https://x.y/z"
    assert unformat("<@U123|bob> <#C1|soc>") == "<@U123|bob> <#C1|soc>"
    assert strip_mention("hey <@UBOT> status", "UBOT") == "status"
    assert strip_mention("<@UBOT|twinsight>   help", "UBOT") == "help"
    assert strip_mention("<@UOTHER> help", None) == "help"
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"


def test_settings_from_env():
    s = SlackSettings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_API_URL": "http://x/"})
    assert (s.bot_token, s.app_token, s.api_url, s.signing_secret) == ("xoxb-1", "xapp-1", "http://x/", None)
    with pytest.raises(ValueError, match="SLACK_BOT_TOKEN"):
        SlackSettings.from_env({})
