"""session_chain and event_history on the hand-built corp twin (graph/tools/fixtures.py),
whose written-down answer is: HELPDESK1 came from WS01 to WS07 over RDP (T0-30min), ran
mimikatz there in that session (T0-20min), and replicated from DC01 coming from WS07
(T0-5min)."""

from __future__ import annotations

import pytest

from graph.tools import Toolbox
from graph.tools.base import ToolError
from graph.tools.fixtures import DAY, T0, corp_twin

HD1 = "HELPDESK1@CORP.LOCAL"
WS01, WS07, DC01 = "WS01.CORP.LOCAL", "WS07.CORP.LOCAL", "DC01.CORP.LOCAL"


@pytest.fixture
def tb(twin) -> Toolbox:
    corp_twin(twin.driver, twin.database)
    return Toolbox(twin.driver, twin.database, as_of=T0)


def test_a_replication_is_traced_back_hop_by_hop_to_where_the_account_started(tb):
    out = tb.call("session_chain", {"event": f"EVT:{DC01}:Security:900"})
    hosts = [s.host for s in out.steps]
    assert hosts[:2] == [DC01, WS07] and out.origin_host == WS01 and out.origin_account == HD1
    assert out.steps[0].from_host == WS07 and out.steps[1].from_host == WS01
    assert f"EVT:{WS07}:Security:100" in out.steps[1].evidence


def test_a_process_is_traced_through_its_logon_session_not_what_else_ran_nearby(tb):
    out = tb.call("session_chain", {"event": f"EVT:{WS07}:Security:101"})
    assert out.steps[0].logon == f"EVT:{WS07}:Security:100" and out.steps[0].logon_type == 10
    assert out.steps[0].from_host == WS01 and out.origin_host == WS01


def test_an_unknown_event_is_an_error_a_model_can_read(tb):
    with pytest.raises(ToolError):
        tb.call("session_chain", {"event": "EVT:NOPE:Security:1"})
    assert "not_found" in str(tb.call_tool("session_chain", {"event": "EVT:NOPE:Security:1"}))


def test_history_counts_earlier_days_and_leaves_out_the_activity_itself(tb):
    # BOB's replication two days before is history; HELPDESK1's at T0-5min is excluded
    bob = tb.call("event_history", {"users": ["BOB@CORP.LOCAL"], "event_ids": [4662], "days": 7})
    assert bob.days_with_activity == 1 and bob.total == 1 and bob.examples == [f"EVT:{DC01}:Security:800"]
    hd1 = tb.call("event_history", {"users": [HD1], "event_ids": [4662], "days": 7})
    assert hd1.total == 0, "the activity under investigation is not its own history"
    wider = tb.call("event_history", {"users": [HD1], "event_ids": [4662], "days": 7, "exclude_s": 0})
    assert wider.total == 1
    flow = tb.call("event_history", {"hosts": [DC01], "days": 3, "connection": [WS07, DC01]})
    assert flow.connection["count"] == 3 and flow.connection["firstseen_ts"] == T0 - 900
    assert tb.call("event_history", {"hosts": [DC01], "days": 1}).window["from"] is not None
    assert T0 - DAY > 0


def test_find_events_reads_the_session_and_raw_fields(tb):
    out = tb.call("find_events", {"hosts": [WS07], "include_raw": True, "window_s": 3600})
    proc = next(e for e in out.events if e.event_id == 4688)
    assert proc.in_session == f"EVT:{WS07}:Security:100"
    logon = next(e for e in out.events if e.event_id == 4624)
    assert logon.raw and logon.raw.get("TargetUserName") == "helpdesk1"
    nearest = tb.call("find_events", {"hosts": [WS07, DC01], "window_s": 3 * DAY, "limit": 1})
    assert nearest.events[0].key == f"EVT:{DC01}:Security:900", "the limit keeps the events nearest the alert"
