"""Transforms see the twin through a TwinReader only (graph/reader.py): what it answers,
that the server refuses a write through it, and that an ingest context hands transforms
no driver to write with."""

from __future__ import annotations

import pytest
from neo4j.exceptions import ClientError

from graph.ingest import sharphound
from graph.ingest.base import IngestContext, Source
from graph.reader import TwinReader

NOW = 1_700_000_000


def test_reader_reads(twin):
    twin.run("CREATE (:Twin:Computer {key: 'WS01.CORP.LOCAL', objectid: 'S-1-5-21-1-1001'})")
    reader = TwinReader(twin.driver, twin.database)
    assert reader and reader.value("MATCH (n:Computer) RETURN n.key") == "WS01.CORP.LOCAL"
    assert [r["k"] for r in reader.rows("MATCH (n:Twin) WHERE n.objectid = $o RETURN n.key AS k",
                                        o="S-1-5-21-1-1001")] == ["WS01.CORP.LOCAL"]


def test_reader_cannot_write(twin):
    before = twin.snapshot()
    with pytest.raises(ClientError, match="(?i)read"):
        TwinReader(twin.driver, twin.database).rows("CREATE (:Twin {key: 'X'})")
    with pytest.raises(ClientError):
        TwinReader(twin.driver, twin.database).rows("MATCH (n) DETACH DELETE n")
    assert twin.snapshot() == before


def test_an_empty_reader_is_an_empty_twin():
    reader = TwinReader()
    assert not reader and reader.rows("MATCH (n) RETURN n") == [] and reader.value("RETURN 1") is None


def test_transforms_get_a_reader_not_a_driver(twin):
    ctx = IngestContext(twin.driver, twin.database, NOW)
    assert not hasattr(ctx, "driver") and isinstance(ctx.reader, TwinReader) and ctx.reader


def test_run_state_is_one_object_per_run_and_taken_once():
    ctx = IngestContext(None, None, NOW)
    data = (b'{"data": [{"ObjectIdentifier": "S-1-5-21-1-1104", "Properties": {"name": "A@CORP.LOCAL"}, '
            b'"PrimaryGroupSID": "S-1-5-21-1-513"}], "meta": {"type": "users", "version": 6}}')
    sharphound.transform(Source("users.json", data), ctx)
    state = ctx.run_state(sharphound.SharpHoundRun)
    assert state.defined == {"S-1-5-21-1-1104": "A@CORP.LOCAL"}
    assert "MemberOf" in state.rels  # the group is defined by no file yet: the edge waits
    assert ctx.take_state(sharphound.SharpHoundRun) is state
    assert ctx.take_state(sharphound.SharpHoundRun) is None
