"""The bot core driving the real TwinsightService on a real Neo4j twin (the transports
are covered by test_bot_slack / test_bot_matrix against local fakes and a real Synapse)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.runtime import TwinsightService
from bot.core import Bot
from tests.test_bot_core import ALICE, BOB, RecordingChat, make_settings, msg, run

ALERT = json.loads((Path(__file__).parent / "data" / "alerts" / "dcsync_helpdesk1.ocsf.json").read_text())


@pytest.fixture
def real(corp, tmp_path):
    svc = TwinsightService(corp.driver, corp.database, state_dir=tmp_path / "inv", llm="offline")
    chat = RecordingChat()
    bot = Bot(svc, chat, make_settings(tmp_path))
    yield bot, chat, svc
    bot.close() if hasattr(bot, "close") else None


def test_investigate_pasted_alert_then_approve_a_response(real):
    bot, chat, svc = real
    run(bot, msg("investigate " + json.dumps(ALERT)))
    summaries = chat.of("summary")
    prompts = chat.of("prompt")
    texts = " ".join(chat.texts())
    assert "true_positive" in json.dumps([str(s) for s in summaries]) + texts
    uploads = chat.of("upload")
    assert uploads and b"HELPDESK1@CORP.LOCAL" in uploads[0][3]
    pending = svc.pending()
    assert prompts and pending, "a response action waits for approval"
    action = pending[0]
    run(bot, msg(f"approve {action.action_id}", user=BOB))  # BOB is no approver
    assert any(p.action_id == action.action_id for p in svc.pending())
    run(bot, msg(f"approve {action.action_id}", user=ALICE))
    assert all(p.action_id != action.action_id for p in svc.pending())


def test_paths_and_status_from_the_twin(real):
    bot, chat, _ = real
    run(bot, msg("paths helpdesk1@corp.local"))
    run(bot, msg("status"))
    texts = " ".join(chat.texts())
    assert "HELPDESK1@CORP.LOCAL" in texts
    assert "5.26" in texts or "community" in texts.lower()
