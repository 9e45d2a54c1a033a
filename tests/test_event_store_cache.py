"""A small event store is read from one in-memory copy of its files (graph/events/duck.py,
DuckEventStore._scan): every read must answer as the files do, and the copy must follow
the files when another run (or process) adds, patches or forgets them."""

from __future__ import annotations

import random

import pytest

from graph.events import EventFilter, duck
from graph.events.duck import DuckEventStore

DAY = 86400
T0 = 1_700_000_000 - 1_700_000_000 % DAY  # a UTC midnight
HOSTS = [f"H{i}.CORP.LOCAL" for i in range(12)]
USERS = [f"U{i}@CORP.LOCAL" for i in range(20)]


def _rows(rng: random.Random, n: int, *, first: int = 0, host_of=None) -> list[dict]:
    """n events over three days: logons (sessions) and processes whose parents and
    sessions are earlier events, some with an untied host or no time."""
    rows = []
    for i in range(first, first + n):
        ts = None if i % 97 == 0 else T0 + i * (3 * DAY // n) + rng.randrange(60)
        host = host_of(i) if host_of else rng.choice(HOSTS)
        row = {"key": f"EVT:{i}", "ts": ts, "event_id": rng.choice([4624, 4688, 4662, 4769]),
               "channel": "Security", "kind": rng.choice(["LogonEvent", "ProcessEvent", "Event"]),
               "host": host, "from_host": rng.choice([None, *HOSTS]),
               "by_keys": rng.sample(USERS, rng.randrange(0, 3)), "target_keys": rng.sample(USERS, rng.randrange(0, 2)),
               "ip": rng.choice([None, "10.0.0.1", "10.0.0.2"]), "dst_ip": rng.choice([None, "10.0.0.3"]),
               "source": "windows.jsonl#t1", "props": {"timestamp": ts, "n": i}, "raw": f"line {i}",
               "marks": ["HostUnresolved"] if i % 13 == 0 else [],
               "in_session": f"EVT:{i - rng.randrange(1, 20)}" if i > 20 and i % 3 else None,
               "parent": f"EVT:{i - rng.randrange(1, 10)}" if i > 10 and i % 2 else None}
        rows.append(row)
    return rows


def _load(root, rows: list[dict]) -> None:
    run = DuckEventStore(root).begin()
    run.append(rows)
    run.commit()


def _filters() -> list[tuple[EventFilter, str]]:
    mid = T0 + DAY + 3600
    return [
        (EventFilter(), "events"),
        (EventFilter(hosts=["h3"]), "events"),
        (EventFilter(accounts=["u4"], since=T0, until=T0 + 2 * DAY), "events"),
        (EventFilter(linked=[HOSTS[2], USERS[5]], since=T0 + DAY, until=T0 + 2 * DAY, limit=40, keys_only=True), "events"),
        (EventFilter(on_hosts=[HOSTS[1]], keys_only=True, kinds=["Event"]), "events"),
        (EventFilter(from_hosts=[HOSTS[7]], event_ids=[4624, 4688]), "events"),
        (EventFilter(ips=["10.0.0.3"], near=mid, limit=15), "events"),
        (EventFilter(accounts=[USERS[3]], keys_only=True), "days"),
        (EventFilter(keys=["EVT:150", "EVT:233"]), "lineage"),
        (EventFilter(keys=["EVT:150", "EVT:233"], lineage_s=DAY // 2), "lineage"),
        (EventFilter(keys=["EVT:194"], lineage_s=DAY), "lineage"),  # an undated event (194 = 2 * 97)
    ]


def _answers(root, cache_bytes: int, monkeypatch) -> tuple[list, DuckEventStore]:
    monkeypatch.setattr(duck, "CACHE_BYTES", cache_bytes)
    store = DuckEventStore(root)
    out = [store.read(f, row_cap=1000, timeout_s=30, shape=shape) for f, shape in _filters()]
    return [(r.rows, r.truncated) for r in out], store


def test_reads_from_the_copy_answer_as_the_files(tmp_path, monkeypatch):
    rng = random.Random(7)
    _load(tmp_path, _rows(rng, 300))
    # A second run re-ingests a third of the events with other hosts: two versions of
    # those keys, the latest run's wins (the window the copy may leave out only when
    # no key has two versions).
    _load(tmp_path, _rows(rng, 100, first=100, host_of=lambda i: HOSTS[i % 3]))
    DuckEventStore(tmp_path).patch({"EVT:120": {"host": HOSTS[11], "by_keys": [USERS[0]], "settled": []},
                                    "EVT:30": {"key": "EVT:30b"}})
    assert len(list(tmp_path.glob("day=*/*.parquet"))) >= 6  # three days, two runs (and the undated)
    from_files, plain = _answers(tmp_path, 0, monkeypatch)
    from_copy, cached = _answers(tmp_path, 1 << 30, monkeypatch)
    assert plain._cached is None and cached._cached is not None and not cached._cache_unique
    assert sum(len(rows) for rows, _ in from_files) > 500 and any(rows and "depth" in rows[0] for rows, _ in from_files)
    assert from_copy == from_files
    assert [r["host"] for r in cached.query(EventFilter(keys=["EVT:150"]))] == [HOSTS[0]]


def test_a_store_with_one_version_of_each_key_answers_the_same_without_the_window(tmp_path, monkeypatch):
    _load(tmp_path, _rows(random.Random(3), 300))
    from_files, _ = _answers(tmp_path, 0, monkeypatch)
    from_copy, cached = _answers(tmp_path, 1 << 30, monkeypatch)
    assert cached._cache_unique
    assert from_copy == from_files
    assert "row_number()" not in cached.read(EventFilter(hosts=["h1"])).statement
    monkeypatch.setattr(duck, "CACHE_BYTES", 0)
    assert "row_number()" in cached.read(EventFilter(hosts=["h1"])).statement


@pytest.mark.parametrize("change", ["append", "patch", "forget"])
def test_the_copy_follows_files_another_store_changed(tmp_path, monkeypatch, change):
    monkeypatch.setattr(duck, "CACHE_BYTES", 1 << 30)
    rng = random.Random(11)
    _load(tmp_path, _rows(rng, 200))
    reader = DuckEventStore(tmp_path)  # as the tools' long-lived store in another process
    before = reader.query(EventFilter())
    other = DuckEventStore(tmp_path)
    if change == "append":
        later = _rows(rng, 50, first=1000)
        _load(tmp_path, later)
        assert {r["key"] for r in reader.query(EventFilter())} == {r["key"] for r in before + later}
    elif change == "patch":
        assert other.patch({"EVT:42": {"host": "NEW.CORP.LOCAL"}}) == 1
        assert [r["host"] for r in reader.query(EventFilter(keys=["EVT:42"]))] == ["NEW.CORP.LOCAL"]
    else:
        assert other.forget("t1") == len(before)
        assert reader.query(EventFilter()) == []
