"""The transport-agnostic bot: parsing, safety, threads of work, restarts.

A recording chat stands in for Slack/Matrix (those are tested against their own
servers in test_bot_slack.py and test_bot_matrix.py); the service is the scripted
RecordingService test double, not the real TwinsightService.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.service import PendingAction, Progress
from bot.core import (
    Attachment,
    Bot,
    BotSettings,
    Command,
    Message,
    ParseError,
    ProgressReporter,
    parse_command,
    strip_fences,
)
from bot.safety import REDACTED, AccessPolicy, RateLimiter, Redactor, install_log_redaction
from bot.state import StateStore, Thread
from tests.fakes import wait_until
from tests.fakes.service import RecordingService

ROOM, OTHER_ROOM = "C-SOC", "C-RANDOM"
ALICE, BOB, MALLORY = "U-ALICE", "U-BOB", "U-MALLORY"  # approver, analyst, stranger

ALERT = {
    "class_uid": 2004,
    "finding_info": {"uid": "alert-42", "title": "DCSync from a workstation"},
    "actor": {"user": {"name": "helpdesk1@corp.local"}},
}


class RecordingChat:
    """A chat that keeps every call, for asserting what the bot said and where."""

    prefix = "!twinsight"
    supports_buttons = False

    def __init__(self) -> None:
        self.events: list[tuple] = []
        self._n = 0
        self._lock = threading.Lock()

    def _id(self) -> str:
        with self._lock:
            self._n += 1
            return f"m{self._n}"

    def _add(self, *event) -> None:
        with self._lock:
            self.events.append(event)

    def open_thread(self, room, user, text):
        mid = self._id()
        self._add("open", room, user, text, mid)
        return Thread(room, mid, mid)

    def send(self, thread, text):
        mid = self._id()
        self._add("send", thread, text, mid)
        return mid

    def edit(self, thread, message_id, text):
        self._add("edit", thread, message_id, text)

    def send_summary(self, thread, summary):
        mid = self._id()
        self._add("summary", thread, summary, mid)
        return mid

    def send_prompt(self, thread, action, text):
        mid = self._id()
        self._add("prompt", thread, action, text, mid)
        return mid

    def resolve_prompt(self, thread, message_id, text):
        self._add("resolve", thread, message_id, text)

    def upload(self, thread, filename, data, mimetype, title):
        self._add("upload", thread, filename, data, mimetype)

    def mention(self, user):
        return f"@{user}"

    def of(self, kind: str) -> list[tuple]:
        with self._lock:
            return [e for e in self.events if e[0] == kind]

    def texts(self) -> list[str]:
        with self._lock:
            return [e[2] for e in self.events if e[0] == "send"] + [e[3] for e in self.events if e[0] == "edit"]


def make_settings(tmp_path, **overrides) -> BotSettings:
    values = dict(
        policy=AccessPolicy(rooms=frozenset({ROOM}), users=frozenset({BOB}), approvers=frozenset({ALICE})),
        rate_burst=20,
        rate_per_minute=600,
        progress_interval=0.05,
        workers=2,
        state_path=tmp_path / "state.json",
    )
    values.update(overrides)
    return BotSettings(**values)


@pytest.fixture
def chat():
    return RecordingChat()


@pytest.fixture
def service():
    return RecordingService()


@pytest.fixture
def bot(tmp_path, chat, service):
    b = Bot(service, chat, make_settings(tmp_path))
    yield b
    b.shutdown(wait=False)


def msg(text: str, user: str = BOB, room: str = ROOM, **kw) -> Message:
    return Message(user=user, thread=Thread(room, "t-cmd", "t-cmd"), text=text, **kw)


def run(bot: Bot, message: Message):
    future = bot.handle(message)
    assert future is not None
    future.result(timeout=15)
    assert bot.wait_idle(15)
    return future


# --- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Command("help")),
        ("HELP me please", Command("help")),
        ("status", Command("status")),
        ("investigate alert-42", Command("investigate", ("alert-42",))),
        ("investigate 'alert 42'", Command("investigate", ("alert 42",))),
        ("investigate \u201calert 42\u201d", Command("investigate", ("alert 42",))),
        ("investigate", Command("investigate")),
        ("paths WS07.CORP.LOCAL", Command("paths", ("WS07.CORP.LOCAL",))),
        ("paths CORP\\alice \"CUSTOMER DB\"", Command("paths", ("CORP\\alice", "CUSTOMER DB"))),
        ("whatif isolate WEB01.CORP.LOCAL", Command("whatif", ("isolate", "WEB01.CORP.LOCAL"))),
        ("whatif Remove-Member A@CORP.LOCAL G@CORP.LOCAL", Command("whatif", ("remove-member", "A@CORP.LOCAL", "G@CORP.LOCAL"))),
        ("whatif block DMZ CORE 445/tcp", Command("whatif", ("block", "DMZ", "CORE", "445/tcp"))),
        ("whatif rank --target=CORP.LOCAL --top 3", Command("whatif", ("rank", "--target", "CORP.LOCAL", "--top", "3"))),
        ("approve inv-1-a1", Command("approve", ("inv-1-a1",))),
        ("deny", Command("deny")),
    ],
)
def test_parse_commands(text, expected):
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        'investigate {"id": "a1",\n  "user": {"name": "x"}\n}',
        'investigate ```json\n{"id": "a1", "user": {"name": "x"}}\n```',
        'investigate ```{"id": "a1", "user": {"name": "x"}}```',
        'investigate\n```\n{"id": "a1", "user": {"name": "x"}}',
        "investigate {\u201cid\u201d: \u201ca1\u201d, \u201cuser\u201d: {\u201cname\u201d: \u201cx\u201d}}",
        'investigate [{"id": "a1", "user": {"name": "x"}}]',
        'investigate `{"id": "a1", "user": {"name": "x"}}`',
    ],
)
def test_parse_pasted_alert_json(text):
    assert parse_command(text) == Command("investigate", alert={"id": "a1", "user": {"name": "x"}})


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("frobnicate", "unknown command"),
        ("paths", "paths FROM [TO]"),
        ("paths a b c", "paths FROM [TO]"),
        ("whatif isolate", "whatif isolate HOST"),
        ("whatif teleport X", "unknown what-if action"),
        ("whatif rank --top 3", "rank --target KEY"),
        ("whatif rank --target X --top zero", "positive whole number"),
        ("whatif", "whatif needs an action"),
        ("investigate a b", "one alert id"),
        ('investigate "unclosed', "no closing quotation"),
        ('investigate {"id": 1,}', "not valid JSON"),
        ('investigate {"a": 1}\n{"b": 2}', "one alert at a time"),
        ("investigate [1, 2]", "one alert object"),
        ("investigate {}", "empty object"),
        ('investigate {"a": NaN}', "not valid JSON"),
        ("investigate " + "[" * 5000 + "]" * 5000, "not valid JSON"),
        ("approve a b", "approve ACTION_ID"),
    ],
)
def test_parse_errors_say_what_is_wrong(text, needle):
    with pytest.raises(ParseError) as info:
        parse_command(text)
    assert needle.lower() in str(info.value).lower()


def test_pasted_alert_size_is_capped():
    big = json.dumps({"id": "a", "blob": "x" * 5000})
    with pytest.raises(ParseError, match="larger than 1024 bytes"):
        parse_command("investigate " + big, max_json_bytes=1024)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_parse_never_crashes(text):
    for candidate in (text, "investigate " + text, "whatif " + text, "paths " + text):
        try:
            cmd = parse_command(candidate)
        except ParseError:
            continue
        assert cmd.name in ("help", "status", "investigate", "paths", "whatif", "approve", "deny")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=10), json_values, min_size=1, max_size=5), st.booleans(), st.booleans())
def test_pasted_json_round_trips(alert, fenced, indented):
    body = json.dumps(alert, indent=2 if indented else None)
    if fenced:
        body = f"```json\n{body}\n```"
    assert parse_command("investigate " + body).alert == alert


def test_strip_fences_leaves_plain_text():
    assert strip_fences("  alert-1 ") == "alert-1"
    assert strip_fences("```\nabc\n```") == "abc"


# --- safety ----------------------------------------------------------------------------


def test_not_allowed_room_or_user_is_ignored(bot, chat, service):
    assert bot.handle(msg("help", room=OTHER_ROOM)) is None
    assert bot.handle(msg("investigate alert-42", user=MALLORY)) is None
    assert bot.handle(msg("approve x", user=MALLORY)) is None
    assert bot.button(Thread(ROOM, "t"), MALLORY, "x", True) is None
    assert bot.button(Thread(OTHER_ROOM, "t"), ALICE, "x", True) is None
    assert bot.wait_idle(5)
    assert chat.events == []
    assert service.calls == []


def test_empty_allow_lists_let_nobody_in(tmp_path, chat, service):
    b = Bot(service, chat, make_settings(tmp_path, policy=AccessPolicy()))
    assert b.handle(msg("help")) is None
    assert AccessPolicy().problems()
    assert AccessPolicy.from_env({"TWINSIGHT_ALLOWED_ROOMS": "C1, C2", "TWINSIGHT_APPROVERS": "U9"}).user_allowed("U9")
    b.shutdown()


def test_rate_limit_answers_once_then_stays_quiet(tmp_path, chat, service):
    now = [1000.0]
    b = Bot(service, chat, make_settings(tmp_path, rate_burst=2, rate_per_minute=6), clock=lambda: now[0])
    for _ in range(2):
        run(b, msg("help"))
    run(b, msg("help"))
    run(b, msg("help"))
    texts = chat.texts()
    assert sum("Twinsight chat-ops" in t for t in texts) == 2
    assert sum(t.startswith("Slow down") for t in texts) == 1
    assert "try again in 10 s" in [t for t in texts if t.startswith("Slow down")][0]
    now[0] += 10  # 6 per minute: one token back after 10 s
    run(b, msg("help"))
    assert sum("Twinsight chat-ops" in t for t in chat.texts()) == 3
    b.shutdown()


def test_token_bucket_refills_up_to_burst():
    now = [0.0]
    limiter = RateLimiter(burst=3, per_minute=60, clock=lambda: now[0])
    assert [limiter.allow("u")[0] for _ in range(4)] == [True, True, True, False]
    now[0] += 3600
    assert [limiter.allow("u")[0] for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("v") == (True, False)


def test_non_approver_cannot_decide(bot, chat, service):
    run(bot, msg("investigate " + json.dumps(ALERT)))
    action = service.pending()[0]
    run(bot, msg(f"approve {action.action_id}", user=BOB))
    assert service.called("decide") == []
    assert any("is not an approver" in t for t in chat.texts())
    assert service.pending() == [action]


def test_error_replies_carry_no_secrets(tmp_path, chat):
    token = "xoxb-1111-2222-abcdefghijkl"
    svc = RecordingService(fail=f"upstream said 401 for Authorization: Bearer {token} password=hunter22")
    b = Bot(svc, chat, make_settings(tmp_path), redactor=Redactor([token]))
    run(b, msg("investigate " + json.dumps(ALERT)))
    failure = [t for t in chat.texts() if t.startswith("✖ investigation")]
    assert failure
    assert all(token not in t and "hunter22" not in t for t in chat.texts())
    assert REDACTED in failure[-1]
    b.shutdown()


# --- log redaction -----------------------------------------------------------------------


@pytest.fixture
def captured_log():
    stream = io.StringIO()
    logger = logging.getLogger("test.bot.redaction")
    logger.handlers[:] = []
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, stream
    logger.handlers[:] = []


def test_log_filter_redacts_tokens_everywhere(captured_log):
    logger, stream = captured_log
    redactor = Redactor(["correct-horse-battery"])
    install_log_redaction(redactor, logger)
    child = logging.getLogger("test.bot.redaction.child")  # propagated records too
    logger.info("slack token %s and app token %s", "xoxb-123-456-abcdef", "xapp-1-A2-3-deadbeef")
    child.warning("GET /_matrix/client/v3/sync?since=s1&access_token=syt_Ym90_abcdefgh_123 failed")
    logger.info({"headers": {"Authorization": "Bearer abc.def.ghi"}, "password": "correct-horse-battery"})
    logger.debug("neo4j at bolt://neo4j:s3cr3tpw@db:7687 and key sk-abcdefghijklmnop1234")
    try:
        raise RuntimeError("login failed with password=hunter22 for MATRIX_PASSWORD")
    except RuntimeError:
        logger.exception("boom %s", "client_secret=zzz999")
    logger.info("broken format %s %s", "only-one-arg")
    out = stream.getvalue()
    for secret in ("123-456-abcdef", "A2-3-deadbeef", "Ym90_abcdefgh_123", "abc.def.ghi", "correct-horse-battery",
                   "s3cr3tpw", "abcdefghijklmnop1234", "hunter22", "zzz999"):
        assert secret not in out
    assert out.count(REDACTED) >= 9
    assert "Traceback" in out and "RuntimeError" in out  # the traceback survives, scrubbed
    assert "broken format" in out


@settings(max_examples=100, deadline=None)
@given(
    secret=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF, blacklist_characters="%"), min_size=8, max_size=40),
    before=st.text(max_size=30),
    after=st.text(max_size=30),
)
def test_registered_secrets_never_reach_the_log(secret, before, after):
    stream = io.StringIO()
    logger = logging.getLogger("test.bot.redaction.prop")
    logger.handlers[:] = [logging.StreamHandler(stream)]
    logger.propagate = False
    install_log_redaction(Redactor([secret]), logger)
    logger.error("%s%s%s", before, secret, after)
    logger.error(before + secret + after.replace("%", "%%"))
    assert secret not in stream.getvalue()


# --- work ----------------------------------------------------------------------------------


def test_help_answers_while_an_investigation_runs(tmp_path, chat):
    gate = threading.Event()
    svc = RecordingService(gate=gate)
    b = Bot(svc, chat, make_settings(tmp_path))
    try:
        running = b.handle(msg("investigate " + json.dumps(ALERT)))
        wait_until(lambda: svc.called("investigate"))
        started = time.monotonic()
        b.handle(msg("help", user=ALICE)).result(timeout=5)
        assert time.monotonic() - started < 2
        assert any("Twinsight chat-ops" in t for t in chat.texts())
        assert not running.done()
    finally:
        gate.set()
    running.result(timeout=10)
    assert b.wait_idle(10)
    assert chat.of("summary")
    b.shutdown()


def test_investigation_posts_progress_summary_report_and_prompt(bot, chat, service):
    run(bot, msg("investigate\n```json\n" + json.dumps(ALERT, indent=2) + "\n```"))
    (call,) = service.called("investigate")
    _, inv_id, alert, respond, resumed = call
    assert alert == ALERT and respond is True and resumed is False
    thread = Thread(ROOM, "t-cmd", "t-cmd")
    # Progress: one message, then edits of that same message.
    first = [e for e in chat.of("send") if "⏳ Investigation" in e[2]]
    assert len(first) == 1 and first[0][1] == thread
    assert "alert-42" in first[0][2]
    edits = chat.of("edit")
    assert edits and all(e[2] == first[0][3] for e in edits)
    assert "awaiting_approval" in edits[-1][3] and "grounding_verifier" in edits[-1][3]
    (summary,) = chat.of("summary")
    s = summary[2]
    assert summary[1] == thread and s.investigation_id == inv_id
    fields = dict(s.fields)
    assert fields["Verdict"] == "true_positive" and fields["Confidence"] == "0.87"
    assert "`HELPDESK1@CORP.LOCAL` -[DCSync]-> `CORP.LOCAL`" in fields["Top path"]
    assert "`CUSTOMER-DB`" in fields["Impacted assets"]
    assert "disable `HELPDESK1@CORP.LOCAL` (removes 2 paths)" in fields["Recommended actions"]
    (upload,) = chat.of("upload")
    assert upload[2] == f"twinsight-{inv_id}.md" and upload[4] == "text/markdown"
    assert upload[3].decode().startswith(f"# Investigation {inv_id}")
    (prompt,) = chat.of("prompt")
    assert prompt[2].action_id == f"{inv_id}-a1"
    # The conversation is remembered for a restart.
    state = StateStore(bot.settings.state_path)
    assert state.investigations()[inv_id]["status"] == "awaiting"
    assert state.prompt(prompt[2].action_id) == (thread, prompt[4])


def test_approver_decides_and_the_outcome_lands_in_the_investigation_thread(bot, chat, service):
    run(bot, msg("investigate " + json.dumps(ALERT)))
    action = service.pending()[0]
    elsewhere = Message(user=ALICE, thread=Thread(ROOM, "t-other", "t-other"), text=f"approve {action.action_id}")
    run(bot, elsewhere)
    assert service.called("decide") == [("decide", action.action_id, True, ALICE)]
    (resolved,) = chat.of("resolve")
    assert resolved[2] == chat.of("prompt")[0][4] and "Approved by @U-ALICE" in resolved[3]
    summaries = chat.of("summary")
    assert len(summaries) == 2 and summaries[-1][1] == Thread(ROOM, "t-cmd", "t-cmd")
    assert summaries[-1][2].status == "complete"
    assert StateStore(bot.settings.state_path).investigations() == {}
    # Deciding twice finds nothing pending.
    run(bot, elsewhere)
    assert len(service.called("decide")) == 1
    assert any("no pending response action" in t for t in chat.texts())


def test_reply_to_the_prompt_decides_without_typing_the_id(bot, chat, service):
    run(bot, msg("investigate " + json.dumps(ALERT)))
    prompt_id = chat.of("prompt")[0][4]
    assert bot.is_prompt(prompt_id) and not bot.is_prompt("m-unrelated")
    run(bot, msg("deny", user=ALICE, in_reply_to=prompt_id))
    assert service.called("decide")[0][2:] == (False, ALICE)
    run(bot, msg("deny", user=ALICE))
    assert any("usage: deny ACTION_ID" in t for t in chat.texts())


def test_button_press_decides(bot, chat, service):
    run(bot, msg("investigate " + json.dumps(ALERT)))
    action = service.pending()[0]
    bot.button(Thread(ROOM, "t-cmd"), ALICE, action.action_id, True).result(timeout=10)
    assert service.called("decide") == [("decide", action.action_id, True, ALICE)]


def test_investigate_by_alert_id_and_unknown_id(bot, chat, service):
    service.alerts["alert-42"] = ALERT
    run(bot, msg("investigate alert-42"))
    assert service.called("investigate")[0][2] == ALERT
    run(bot, msg("investigate alert-404"))
    assert any("no alert `alert-404` in the twin" in t for t in chat.texts())
    assert len(service.called("investigate")) == 1


def test_investigate_an_attached_file(bot, chat, service):
    data = json.dumps(ALERT).encode()
    run(bot, msg("investigate", attachments=[Attachment("alert.json", len(data), lambda: data)]))
    assert service.called("investigate")[0][2] == ALERT
    run(bot, msg("investigate", attachments=[Attachment("huge.json", 10**9, lambda: b"")]))
    run(bot, msg("investigate", attachments=[Attachment("bad.json", 3, lambda: b"\xff\xfe{")]))
    run(bot, msg("investigate", attachments=[Attachment("notes.txt", 5, lambda: b"hello")]))
    run(bot, msg("investigate"))
    texts = chat.texts()
    assert any("huge.json is larger than" in t for t in texts)
    assert any("bad.json is not UTF-8" in t for t in texts)
    assert any("notes.txt: the alert is not valid JSON" in t for t in texts)
    assert any("attach the alert file" in t for t in texts)
    assert len(service.called("investigate")) == 1


def test_per_user_cap_on_running_investigations(tmp_path, chat):
    gate = threading.Event()
    svc = RecordingService(gate=gate)
    b = Bot(svc, chat, make_settings(tmp_path, max_per_user=1, workers=3))
    try:
        first = b.handle(msg("investigate " + json.dumps(ALERT)))
        second = b.handle(msg("investigate " + json.dumps(ALERT)))
        second.result(timeout=5)
        assert any("already has 1 investigations running" in t for t in chat.texts())
        b.handle(msg("investigate " + json.dumps(ALERT), user=ALICE))
        wait_until(lambda: len(svc.called("investigate")) == 2)
    finally:
        gate.set()
    first.result(timeout=10)
    assert b.wait_idle(10)
    b.shutdown()


def test_status_paths_whatif(bot, chat, service):
    run(bot, msg("status"))
    run(bot, msg("paths WS07.CORP.LOCAL"))
    run(bot, msg("whatif disable HELPDESK1@CORP.LOCAL"))
    assert [c[0] for c in service.calls] == ["status", "paths", "whatif"]
    assert service.called("paths") == [("paths", "WS07.CORP.LOCAL", None)]
    assert service.called("whatif") == [("whatif", ["disable", "HELPDESK1@CORP.LOCAL"])]
    texts = chat.texts()
    assert any("RecordingService (test double)" in t and "response actions pending: 0" in t for t in texts)
    assert any("Attack paths `WS07.CORP.LOCAL` → crown jewels / tier 0: 1" in t for t in texts)
    assert any("attack paths to crown jewels: 3 → 1" in t and "twin unchanged after rollback: True" in t for t in texts)
    assert [u[2] for u in chat.of("upload")] == ["whatif.json"]


# --- progress throttling -----------------------------------------------------------------


def test_progress_is_throttled_and_the_last_word_always_sent(chat):
    reporter = ProgressReporter(chat, Thread(ROOM, "t"), "head", interval=0.3, redact=Redactor())
    for i in range(50):
        reporter(Progress("inv", "path_hunter", f"step {i}"))
    assert reporter.updates <= 2
    time.sleep(0.45)  # the timer flushes the latest stage
    assert "step 49" in chat.texts()[-1]
    reporter(Progress("inv", "report", "token xoxb-99-88-secretvalue"))
    reporter.finish("done")
    final = chat.texts()[-1]
    assert final.endswith("done") and "xoxb-99-88-secretvalue" not in final
    assert reporter.updates <= 4
    reporter(Progress("inv", "late", "after finish"))
    assert "after finish" not in chat.texts()[-1]


# --- restarts -----------------------------------------------------------------------------


def test_restart_resumes_an_investigation_in_flight(tmp_path):
    store = tmp_path / "service.json"
    gate = threading.Event()
    chat1 = RecordingChat()
    first = Bot(RecordingService(gate=gate, store=store), chat1, make_settings(tmp_path))
    first.handle(msg("investigate " + json.dumps(ALERT)))
    wait_until(lambda: chat1.of("send"))
    inv_id = StateStore(tmp_path / "state.json").investigations().popitem()[0]
    first.shutdown(wait=False)  # the bot "dies" with the investigation mid-way

    chat2 = RecordingChat()
    svc2 = RecordingService(store=store)
    second = Bot(svc2, chat2, make_settings(tmp_path))
    try:
        futures = second.start()
        assert len(futures) == 1
        futures[0].result(timeout=10)
        (call,) = svc2.called("investigate")
        assert call[1] == inv_id and call[2] == ALERT and call[4] is True  # resumed by id
        heads = [t for t in chat2.texts() if "resumed after a bot restart" in t]
        assert heads and chat2.of("send")[0][1] == Thread(ROOM, "t-cmd", "t-cmd")
        assert chat2.of("summary") and chat2.of("prompt")
    finally:
        gate.set()
        second.shutdown()


def test_restart_reannounces_pending_approvals(tmp_path):
    store = tmp_path / "service.json"
    chat1 = RecordingChat()
    first = Bot(RecordingService(store=store), chat1, make_settings(tmp_path))
    run(first, msg("investigate " + json.dumps(ALERT)))
    first.shutdown()
    action_id = chat1.of("prompt")[0][2].action_id

    chat2 = RecordingChat()
    svc2 = RecordingService(store=store)
    second = Bot(svc2, chat2, make_settings(tmp_path))
    assert second.start() == []
    (prompt,) = chat2.of("prompt")
    assert prompt[1] == Thread(ROOM, "t-cmd", "t-cmd") and prompt[2].action_id == action_id
    assert "re-announced after a bot restart" in prompt[3]
    assert svc2.called("investigate") == []
    run(second, msg(f"approve {action_id}", user=ALICE))
    assert svc2.called("decide") == [("decide", action_id, True, ALICE)]
    second.shutdown()


def test_pending_action_without_a_known_thread_goes_to_the_announce_room(tmp_path):
    store = tmp_path / "service.json"
    svc = RecordingService(store=store)
    svc._pending["x-1"] = PendingAction("x-1", "inv-elsewhere", "isolate", "WEB01.CORP.LOCAL", 4)
    chat = RecordingChat()
    b = Bot(svc, chat, make_settings(tmp_path, announce_room="C-ANNOUNCE"))
    b.start()
    (opened,) = chat.of("open")
    assert opened[1] == "C-ANNOUNCE"
    (prompt,) = chat.of("prompt")
    assert prompt[1].room == "C-ANNOUNCE" and "isolate `WEB01.CORP.LOCAL`, removes 4 attack paths" in prompt[3]
    b.shutdown()


def test_corrupt_state_file_does_not_stop_the_bot(tmp_path, chat, service):
    (tmp_path / "state.json").write_text("{not json")
    b = Bot(service, chat, make_settings(tmp_path))
    assert b.start() == []
    run(b, msg("help"))
    b.shutdown()


def test_state_file_is_private(bot, chat, service):
    run(bot, msg("investigate " + json.dumps(ALERT)))
    assert (bot.settings.state_path.stat().st_mode & 0o777) == 0o600


# --- settings ---------------------------------------------------------------------------------


def test_settings_from_env(tmp_path):
    env = {
        "TWINSIGHT_ALLOWED_ROOMS": "!a:hs, #soc:hs",
        "TWINSIGHT_ALLOWED_USERS": "@bob:hs",
        "TWINSIGHT_APPROVERS": "@alice:hs",
        "TWINSIGHT_BOT_RATE_BURST": "3",
        "TWINSIGHT_BOT_RESPOND": "no",
        "TWINSIGHT_HOME": str(tmp_path),
    }
    s = BotSettings.from_env("matrix", env)
    assert s.policy.rooms == {"!a:hs", "#soc:hs"} and s.rate_burst == 3 and s.respond is False
    assert s.state_path == tmp_path / "bot" / "matrix-state.json"
    with pytest.raises(ValueError, match="TWINSIGHT_BOT_WORKERS"):
        BotSettings.from_env("slack", {"TWINSIGHT_BOT_WORKERS": "many"})
    with pytest.raises(ValueError, match="at least 1"):
        BotSettings.from_env("slack", {"TWINSIGHT_BOT_RATE_BURST": "0"})
