"""The Matrix bot end to end against a real Synapse homeserver on loopback.

A module fixture starts Synapse from the venv (SQLite, no federation, no TLS), registers
the bot and three people through the shared-secret admin API — alice (approver), bob
(analyst), mallory (not allowed) — and runs the bot on a thread. The people speak the
client-server API directly. The service is the RecordingService test double (not the
real TwinsightService), so what the bot asked of it can be checked.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bot.core import BotSettings
from bot.matrix import MatrixBot, MatrixSettings, strip_reply_fallback, to_html
from bot.safety import AccessPolicy
from tests.fakes import wait_until
from tests.fakes.service import RecordingService
from tests.fakes.synapse import MatrixUser, SynapseServer

ALERT = {"id": "alert-mx-1", "actor": {"user": {"name": "helpdesk1@corp.local"}}, "class_uid": 2004}


def make_bot(world: dict, service: RecordingService) -> MatrixBot:
    settings = BotSettings(
        policy=AccessPolicy(
            rooms=frozenset({"#soc:localhost", world["ops"]}),
            users=frozenset({world["bob"].user_id}),
            approvers=frozenset({world["alice"].user_id}),
        ),
        rate_burst=100,
        rate_per_minute=6000,
        progress_interval=0.2,
        state_path=world["dir"] / "matrix-state.json",
    )
    matrix = MatrixSettings(homeserver=world["synapse"].url, user="twinsight", password=world["bot_password"])
    return MatrixBot(service, settings, matrix)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    workdir: Path = tmp_path_factory.mktemp("synapse")
    synapse = SynapseServer(workdir)
    synapse.start()
    try:
        people = {}
        for name in ("alice", "bob", "mallory"):
            reg = synapse.register(name, f"{name}-pw-123456")
            people[name] = MatrixUser(synapse.url, reg["user_id"], reg["access_token"])
        bot_password = "bot-pw-123456"
        bot_user = synapse.register("twinsight", bot_password)["user_id"]
        alice, bob, mallory = people["alice"], people["bob"], people["mallory"]
        soc = alice.create_room("SOC", alias="soc")
        ops = alice.create_room("Ops")
        random_room = alice.create_room("Random")
        for room in (soc, ops):
            for person in (bob, mallory):
                alice.invite(room, person.user_id)
                person.join(room)
        world = {"synapse": synapse, "dir": workdir, "soc": soc, "ops": ops, "random": random_room,
                 "bot_user": bot_user, "bot_password": bot_password, **people}
        world["service"] = RecordingService(step_delay=0.05, store=workdir / "service.json")
        world["bot"] = make_bot(world, world["service"])
        world["bot"].start_in_thread()
        started = time.monotonic()
        alice.invite(soc, bot_user)
        wait_until(lambda: alice.membership(soc, bot_user) == "join", timeout=15)
        world["join_seconds"] = time.monotonic() - started
        yield world
    finally:
        if "world" in locals() and world.get("bot"):
            world["bot"].stop()
        synapse.stop()


def bot_events(world: dict, room: str) -> list[dict]:
    return [e for e in world["alice"].messages(room) if e.get("sender") == world["bot_user"]]


def replies_to(world: dict, room: str, event_id: str) -> list[dict]:
    return [e for e in bot_events(world, room)
            if ((e["content"].get("m.relates_to") or {}).get("m.in_reply_to") or {}).get("event_id") == event_id]


def edits_of(world: dict, room: str, event_id: str) -> list[dict]:
    return [e for e in bot_events(world, room)
            if (e["content"].get("m.relates_to") or {}).get("rel_type") == "m.replace"
            and e["content"]["m.relates_to"]["event_id"] == event_id]


@pytest.mark.slow  # a real Synapse homeserver
def test_synapse_and_bot_came_up(world):
    assert world["synapse"].start_seconds < 30
    assert world["alice"].membership(world["soc"], world["bot_user"]) == "join"
    assert world["join_seconds"] < 10  # invited -> joined


@pytest.mark.slow  # a real Synapse homeserver
def test_help_is_a_threaded_reply_within_seconds(world):
    started = time.monotonic()
    event_id = world["alice"].say(world["soc"], "!twinsight help")
    (reply,) = wait_until(lambda: replies_to(world, world["soc"], event_id), timeout=10)
    assert time.monotonic() - started < 5
    rel = reply["content"]["m.relates_to"]
    assert rel["rel_type"] == "m.thread" and rel["event_id"] == event_id and rel["is_falling_back"] is False
    assert reply["content"]["msgtype"] == "m.notice"
    assert "Twinsight chat-ops" in reply["content"]["body"]
    assert "<code>" in reply["content"]["formatted_body"]


@pytest.mark.slow  # a real Synapse homeserver
def test_strangers_are_ignored(world):
    service = world["service"]
    before = len(service.called("status"))
    ignored = world["mallory"].say(world["soc"], "!twinsight status")
    answered = world["bob"].say(world["soc"], "!twinsight status")
    (reply,) = wait_until(lambda: replies_to(world, world["soc"], answered), timeout=10)
    assert "RecordingService (test double)" in reply["content"]["body"]
    # Events are handled in order: once bob's (later) command is answered, mallory's is past.
    assert replies_to(world, world["soc"], ignored) == []
    assert len(service.called("status")) == before + 1


@pytest.mark.slow  # a real Synapse homeserver
def test_invites_to_rooms_not_allowed_or_from_strangers_are_declined(world):
    bot_user = world["bot_user"]
    world["alice"].invite(world["random"], bot_user)  # room not allowed
    world["mallory"].invite(world["ops"], bot_user)  # allowed room, stranger inviting
    wait_until(lambda: world["alice"].membership(world["random"], bot_user) == "leave", timeout=10)
    wait_until(lambda: world["alice"].membership(world["ops"], bot_user) == "leave", timeout=10)


@pytest.mark.slow  # a real Synapse homeserver
def test_investigate_pasted_json_progress_summary_report_and_prompt(world):
    room, service = world["soc"], world["service"]
    body = "!twinsight investigate\n```json\n" + json.dumps(ALERT, indent=2) + "\n```"
    event_id = world["bob"].say(room, body)

    def prompt():
        return [e for e in replies_to(world, room, event_id) if "Reply `approve` or `deny`" in e["content"]["body"]]

    wait_until(prompt, timeout=20)
    call = next(c for c in service.called("investigate") if c[2] == ALERT)
    inv_id = call[1]
    replies = replies_to(world, room, event_id)
    assert all(r["content"]["m.relates_to"]["event_id"] == event_id for r in replies)  # one thread
    progress = next(r for r in replies if r["content"]["body"].startswith("⏳ Investigation"))
    edits = edits_of(world, room, progress["event_id"])
    assert edits and "awaiting_approval" in edits[-1]["content"]["m.new_content"]["body"]
    summary = next(r for r in replies if "Top path" in r["content"]["body"])
    assert "<li><b>Verdict</b>: true_positive</li>" in summary["content"]["formatted_body"]
    assert "`HELPDESK1@CORP.LOCAL` -[DCSync]-> `CORP.LOCAL`" in summary["content"]["body"]
    report = next(r for r in replies if r["content"].get("msgtype") == "m.file")
    assert report["content"]["body"] == f"twinsight-{inv_id}.md"
    assert report["content"]["info"]["mimetype"] == "text/markdown"
    assert world["alice"].download(report["content"]["url"]).decode().startswith(f"# Investigation {inv_id}")
    assert prompt()[0]["content"]["body"].count(f"{inv_id}-a1") == 2


@pytest.mark.slow  # a real Synapse homeserver
def test_approval_needs_an_approver_and_a_reply_to_the_prompt_works(world):
    room, service = world["soc"], world["service"]
    alert = {**ALERT, "id": "alert-mx-2"}
    command = world["bob"].say(room, "!twinsight investigate " + json.dumps(alert))
    prompt = wait_until(lambda: [e for e in replies_to(world, room, command)
                                 if "Reply `approve` or `deny`" in e["content"]["body"]], timeout=20)[0]
    inv_id = next(c for c in service.called("investigate") if c[2] == alert)[1]
    action_id = f"{inv_id}-a1"

    refused = world["bob"].say(room, f"!twinsight approve {action_id}")
    (answer,) = wait_until(lambda: replies_to(world, room, refused), timeout=10)
    assert "is not an approver" in answer["content"]["body"]
    assert [c for c in service.called("decide") if c[1] == action_id] == []

    approval = world["alice"].say(room, "> <@twinsight:localhost> Response action\n\napprove", reply_to=prompt["event_id"])
    wait_until(lambda: [c for c in service.called("decide") if c[1] == action_id], timeout=10)
    assert [c for c in service.called("decide") if c[1] == action_id] == [
        ("decide", action_id, True, world["alice"].user_id)]
    wait_until(lambda: replies_to(world, room, approval), timeout=10)
    resolved = wait_until(lambda: edits_of(world, room, prompt["event_id"]), timeout=10)
    assert f"Approved by {world['alice'].user_id}" in resolved[-1]["content"]["m.new_content"]["body"]
    # The outcome lands in the investigation's thread.
    wait_until(lambda: [e for e in replies_to(world, room, command) if "Top path" in e["content"]["body"]
                        and "Paused" not in e["content"]["body"]], timeout=10)


@pytest.mark.slow  # a real Synapse homeserver
def test_investigate_an_uploaded_alert_file(world):
    room, service, alice = world["soc"], world["service"], world["alice"]
    alert = {**ALERT, "id": "alert-mx-file"}
    data = json.dumps(alert).encode()
    mxc = alice.upload(data, "alert.json")
    file_event = alice.send(room, {"msgtype": "m.file", "body": "alert.json", "url": mxc,
                                   "info": {"mimetype": "application/json", "size": len(data)}})
    alice.say(room, "!twinsight investigate", reply_to=file_event)
    wait_until(lambda: [c for c in service.called("investigate") if c[2] == alert], timeout=20)


@pytest.mark.slow  # a real Synapse homeserver
def test_restart_reannounces_pending_and_answers_what_came_meanwhile(world):
    room = world["soc"]
    command = world["bob"].say(room, "!twinsight investigate " + json.dumps({**ALERT, "id": "alert-mx-3"}))
    wait_until(lambda: [e for e in replies_to(world, room, command)
                        if "Reply `approve` or `deny`" in e["content"]["body"]], timeout=20)
    world["bot"].stop()
    time.sleep(0.5)
    meanwhile = world["bob"].say(room, "!twinsight help")  # sent while the bot is down

    service = RecordingService(store=world["dir"] / "service.json")  # what the service checkpointed
    world["bot"] = make_bot(world, service)
    world["bot"].start_in_thread()
    reannounced = wait_until(lambda: [e for e in replies_to(world, room, command)
                                      if "re-announced after a bot restart" in e["content"]["body"]], timeout=15)
    assert reannounced[0]["content"]["m.relates_to"]["event_id"] == command
    wait_until(lambda: replies_to(world, room, meanwhile), timeout=10)


# --- pieces ------------------------------------------------------------------------------


def test_reply_fallback_and_html():
    assert strip_reply_fallback("> <@a:hs> hi\n> there\n\napprove") == "approve"
    assert strip_reply_fallback("approve") == "approve"
    assert to_html("a <b> `x` *y*\nz") == "a &lt;b&gt; <code>x</code> <b>y</b><br/>z"


def test_settings_from_env():
    s = MatrixSettings.from_env({"MATRIX_HOMESERVER": "http://hs/", "MATRIX_USER": "@bot:hs",
                                 "MATRIX_ACCESS_TOKEN": "syt_x"})
    assert (s.homeserver, s.user, s.access_token, s.password) == ("http://hs", "@bot:hs", "syt_x", None)
    with pytest.raises(ValueError, match="MATRIX_PASSWORD or MATRIX_ACCESS_TOKEN"):
        MatrixSettings.from_env({"MATRIX_HOMESERVER": "http://hs", "MATRIX_USER": "bot"})
