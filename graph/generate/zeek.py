"""Zeek conn.log in Zeek's own TSV (the `#separator ... #fields ... #types ... #close`
framing of LogAscii), rotated hourly as a Zeek cluster archives it.

A record is the tuple `Conn` (ts, orig_h, orig_p, resp_h, resp_p, proto, service,
duration, orig_bytes, resp_bytes, conn_state, history); packet and IP-byte counts,
`local_orig`/`local_resp` and the uid are derived when the line is written, so callers
only say what happened. States follow Zeek's meanings: SF (normal), REJ (reset by
the responder: a closed port), S0 (no answer: a filtered port), RSTO (the originator
aborted).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

FIELDS = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
          "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
          "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents")
TYPES = ("time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count", "string",
         "bool", "bool", "count", "string", "count", "count", "count", "count", "set[string]")
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
HOUR = 3600


class Conn(NamedTuple):
    ts: float
    orig_h: str
    orig_p: int
    resp_h: str
    resp_p: int
    proto: str = "tcp"
    service: str = "-"
    duration: float | None = None
    orig_bytes: int | None = None
    resp_bytes: int | None = None
    conn_state: str = "SF"
    history: str = ""


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d-%H-%M-%S")


def header(opened: float) -> str:
    return ("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
            f"#open\t{_stamp(opened)}\n#fields\t" + "\t".join(FIELDS) + "\n#types\t" + "\t".join(TYPES) + "\n")


def footer(closed: float) -> str:
    return f"#close\t{_stamp(closed)}\n"


def _local(ip: str) -> str:
    return "T" if ip.startswith(("10.", "192.168.")) or (ip.startswith("172.") and 16 <= int(ip.split(".")[1]) < 32) else "F"


class UidSource:
    """Zeek connection uids: `C` + 17 base62 characters, from a seeded stream."""

    def __init__(self, seed: object) -> None:
        self.rng = random.Random(f"uid:{seed}")

    def __call__(self) -> str:
        n = self.rng.getrandbits(96)
        chars = []
        for _ in range(17):
            n, k = divmod(n, 62)
            chars.append(_B62[k])
        return "C" + "".join(chars)


def line(c: Conn, uid: str) -> str:
    state = c.conn_state
    history = c.history or {"SF": "ShADadFf", "REJ": "Sr", "S0": "S", "RSTO": "ShADR", "SH": "ShAF"}.get(state, "-")
    if c.proto == "udp" and not c.history:
        history = "Dd" if state == "SF" else "D"
    ob, rb = c.orig_bytes, c.resp_bytes
    if state == "REJ":
        op, rp, oib, rib = 1, 1, 44, 40
    elif state == "S0":
        op, rp, oib, rib = 1 if c.proto == "udp" else 2, 0, 60 if c.proto == "tcp" else 28 + (ob or 0), 0
    else:
        overhead = 28 if c.proto == "udp" else 52
        op = 1 if c.proto == "udp" else max(3, (ob or 0) // 1380 + 4)
        rp = (1 if rb else 0) if c.proto == "udp" else max(2, (rb or 0) // 1380 + 3)
        oib, rib = (ob or 0) + op * overhead, (rb or 0) + rp * overhead
    dur = "-" if c.duration is None else f"{c.duration:.6f}"
    return (f"{c.ts:.6f}\t{uid}\t{c.orig_h}\t{c.orig_p}\t{c.resp_h}\t{c.resp_p}\t{c.proto}\t{c.service or '-'}\t{dur}\t"
            f"{'-' if ob is None else ob}\t{'-' if rb is None else rb}\t{state}\t{_local(c.orig_h)}\t"
            f"{_local(c.resp_h)}\t0\t{history}\t{op}\t{oib}\t{rp}\t{rib}\t-\n")


def write_conn_log(records: list[Conn], path: Path, uids: UidSource, opened: float | None = None,
                   closed: float | None = None) -> int:
    """One conn.log with `records` in time order."""
    records = sorted(records)
    t0 = opened if opened is not None else (records[0].ts if records else 0.0)
    t1 = closed if closed is not None else (records[-1].ts + 1 if records else t0)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(header(t0))
        buf = []
        for c in records:
            buf.append(line(c, uids()))
            if len(buf) >= 4096:
                fh.write("".join(buf))
                buf.clear()
        fh.write("".join(buf))
        fh.write(footer(t1))
    return len(records)


def write_hourly(records: list[Conn], out_dir: Path, start: int, end: int, seed: object) -> dict[str, int]:
    """Records cut into hourly logs `YYYY-MM-DD/conn.HH:00:00-HH:00:00.log` (Zeek's
    archive names), each sorted; a record outside [start, end) is dropped (it belongs
    to another period's logs)."""
    buckets: dict[int, list[Conn]] = {}
    for c in records:
        if start <= c.ts < end:
            buckets.setdefault(int(c.ts - start) // HOUR, []).append(c)
    uids = UidSource(seed)
    counts: dict[str, int] = {}
    for k in sorted(buckets):
        t0 = start + k * HOUR
        dt = datetime.fromtimestamp(t0, UTC)
        folder = out_dir / dt.strftime("%Y-%m-%d")
        folder.mkdir(parents=True, exist_ok=True)
        nxt = datetime.fromtimestamp(t0 + HOUR, UTC)
        name = f"conn.{dt:%H}:00:00-{nxt:%H}:00:00.log"
        counts[f"{dt:%Y-%m-%d}/{name}"] = write_conn_log(buckets.pop(k), folder / name, uids, t0, t0 + HOUR)
    return counts
