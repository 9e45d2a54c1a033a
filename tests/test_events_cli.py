"""`twinsight events`: the raw lines behind a verdict, filtered, from the event store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from graph.ingest.registry import ingest

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "tests" / "data" / "events" / "windows.jsonl"


def events(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "cli.py"), "events", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def loaded(twin):
    report = ingest(twin.driver, [EVENTS], database=twin.database)
    assert report.loaded_files == 1
    return twin


def doc(*args: str) -> dict:
    got = events(*args, "--json")
    assert got.returncode == 0, got.stderr
    return json.loads(got.stdout)


def test_filters_combine_and_json_gives_the_raw_line(loaded):
    everything = doc("--limit", "1000")
    keys = [r["key"] for r in loaded.events()]  # what the ingest stored, read through the API
    assert sorted(e["key"] for e in everything["events"]) == sorted(keys) and everything["total"] == 19
    times = [e["timestamp"] for e in everything["events"]]
    assert times == sorted(times)  # oldest first

    logons = doc("--host", "WS01", "--event-id", "4624")
    assert logons["total"] >= 1
    for e in logons["events"]:
        assert e["event_id"] == 4624 and "WS01.CORP.LOCAL" in (e["host"], e["from_host"])
        assert json.loads(e["raw"])["EventID"] == 4624  # the line as it was ingested

    alice = doc("--account", "ALICE@CORP.LOCAL", "--since", "2024-03-12T10:09:00Z", "--until", "2024-03-12T10:10:00Z")
    assert alice["total"] >= 1
    for e in alice["events"]:
        assert "ALICE@CORP.LOCAL" in e["by"] + e["targets"]
        assert "2024-03-12T10:09:00Z" <= e["time"] <= "2024-03-12T10:10:00Z"

    by_ip = doc("--ip", "10.20.1.99")
    assert by_ip["total"] == 2 and all(e["ip"] == "10.20.1.99" for e in by_ip["events"])
    assert doc("--limit", "2")["total"] == 2


def test_raw_prints_the_lines_and_text_names_each_event(loaded):
    raw = events("--raw", "--event-id", "4688")
    assert raw.returncode == 0, raw.stderr
    lines = raw.stdout.splitlines()
    assert lines and all(json.loads(ln)["EventID"] == 4688 for ln in lines)
    text = events("--event-id", "4688")
    assert text.returncode == 0 and all("EVT:" in ln and " 4688 " in ln for ln in text.stdout.splitlines())


def test_no_match_is_an_empty_answer_not_an_error(loaded):
    got = events("--host", "NOSUCHHOST")
    assert got.returncode == 0 and got.stdout == "" and "no event matches" in got.stderr
    assert doc("--host", "NOSUCHHOST") == {"total": 0, "events": []}


@pytest.mark.parametrize(("args", "words"), [
    (["--since", "yesterday"], "--since 'yesterday'"),
    (["--since", "2024-03-13", "--until", "2024-03-12"], "is after --until"),
    (["--limit", "0"], "--limit"),
    (["--event-id", "logon"], "--event-id"),
])
def test_bad_options_are_one_line_and_exit_2(args, words):
    got = events(*args)
    assert got.returncode == 2
    assert words in got.stderr and "Traceback" not in got.stderr
