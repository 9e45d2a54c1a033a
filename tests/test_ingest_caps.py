"""Inputs built to exhaust the ingest (a zip bomb, JSON nested 100,000 deep, a 200 MB
property, an endless line), each loaded by a real `twinsight ingest` child process next
to valid data: the hostile part is refused by name in one line, the rest loads, and the
child's peak memory (its own rusage) stays that of an ordinary run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ALERT = REPO / "tests" / "data" / "alerts" / "dcsync_helpdesk1.ocsf.json"
ALERT_ID = "ALERT-TEST-DCSYNC"
# An ingest of a few small files peaks near 100 MB here; a bomb read whole would be GBs.
ORDINARY_RSS_MB = 300


# The child is started by a small runner that reports the CLI's own peak: Linux counts in a
# child's ru_maxrss the pages of the process it was forked from (pytest, hundreds of MB late
# in a full run), so the runner is a fresh, small interpreter and wait4 is called there.
_PEAK_RUNNER = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run_cli(args: list[str], env: dict | None = None, timeout: float = 300) -> dict:
    """Run `cli.py ARGS` to the end; its exit code, output, seconds and peak RSS (MiB) of
    the CLI process alone (see _PEAK_RUNNER)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err, \
            tempfile.TemporaryDirectory() as tmp:
        peak_file = Path(tmp) / "peak"
        proc = subprocess.Popen([sys.executable, "-c", _PEAK_RUNNER, str(peak_file), sys.executable,
                                 str(REPO / "cli.py"), *args], stdout=out, stderr=err, cwd=REPO,
                                env={**os.environ, **(env or {})}, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail(f"twinsight {' '.join(args)} did not finish in {timeout}s")
        out.seek(0)
        err.seek(0)
        return {"code": proc.returncode, "stdout": out.read(), "stderr": err.read(),
                "seconds": time.perf_counter() - t0, "rss_mb": int(peak_file.read_text()) / 1024}


def alert(uid: str, **extra) -> dict:
    """The test alert under another id; `finding_info` last (a test may append to it)."""
    doc = json.loads(ALERT.read_text())
    info = doc.pop("finding_info")
    doc["finding_info"] = {**info, "uid": uid, **extra}
    return doc


def zip_bomb(path: Path, member: str, size: int, others: dict[str, bytes]) -> None:
    """A zip whose `member` inflates to `size` bytes of zeros, a few MB on disk: the
    deflate stream is one full-flush block of 16 MiB of zeros repeated (a full flush
    resets the compressor, so every block is the same bytes), so building it costs a
    CRC over the zeros, not their compression."""
    chunk = bytes(16 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    last = deflate.flush()

    class Repeat:
        def compress(self, data: bytes) -> bytes:
            assert data == chunk
            return block

        def flush(self) -> bytes:
            return last

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in others.items():
            zf.writestr(name, data)
        with zf.open(member, "w", force_zip64=True) as fh:
            fh._compressor = Repeat()
            for _ in range(size // len(chunk)):
                fh.write(chunk)


def one_line(stderr: str, needle: str) -> str:
    """The one error line that names `needle` (progress lines, indented, aside)."""
    lines = [line for line in stderr.splitlines() if needle in line and not line.startswith("  ")]
    assert len(lines) == 1, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    return lines[0]


def test_zip_bomb_members_are_refused_from_their_headers_and_the_rest_loads(twin, tmp_path):
    bomb = tmp_path / "alerts.zip"
    zip_bomb(bomb, "findings.json", 4 << 30, {"good.json": json.dumps(alert("ZIP-GOOD")).encode(),
                                                "zeros.json": bytes(64 << 20)})
    assert bomb.stat().st_size < 8 << 20
    with zipfile.ZipFile(bomb) as zf, zf.open("findings.json") as fh:  # a real bomb: it inflates
        assert zf.getinfo("findings.json").file_size == 4 << 30 and fh.read(1 << 20) == bytes(1 << 20)
    run = run_cli(["ingest", str(bomb), "--json"])
    assert run["code"] == 0, run["stderr"]
    doc = json.loads(run["stdout"])
    errors = {r["file"]: r["error"] for r in doc["rejected"]}
    assert "file cap" in errors[f"{bomb}:findings.json"] and "TWINSIGHT_INGEST_MAX_FILE_MB" in errors[f"{bomb}:findings.json"]
    assert "zip bomb" in errors[f"{bomb}:zeros.json"] and "over 100x" in errors[f"{bomb}:zeros.json"]
    one_line(run["stderr"], "findings.json")
    assert twin.value("MATCH (a:Alert) RETURN collect(a.key)") == ["ZIP-GOOD"]
    assert run["rss_mb"] < ORDINARY_RSS_MB, run
    print(f"\nzip bomb (4 GiB member in {bomb.stat().st_size / 1e6:.1f} MB): "
          f"{run['seconds']:.1f}s, peak RSS {run['rss_mb']:.0f} MiB")


def test_a_file_over_the_size_cap_is_refused_unread(twin, tmp_path):
    big = tmp_path / "big.ocsf.json"
    big.write_text(json.dumps(alert("BIG", desc="x" * (3 << 20))))
    run = run_cli(["ingest", str(big)], env={"TWINSIGHT_INGEST_MAX_FILE_MB": "2"})
    assert run["code"] == 2  # nothing loaded
    line = one_line(run["stderr"], str(big))
    assert "over the 2.0 MiB file cap (TWINSIGHT_INGEST_MAX_FILE_MB)" in line
    assert twin.counts() == (0, 0)


def test_an_alert_nested_100000_deep_is_one_rejected_line_and_the_others_load(twin, tmp_path):
    good = json.dumps(alert("LINE-GOOD"))
    deep = json.dumps(alert("LINE-DEEP"))[:-1] + ', "unmapped": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path = tmp_path / "findings.ocsf.jsonl"
    path.write_text(good + "\n" + deep + "\n" + json.dumps(alert("LINE-GOOD-2")) + "\n")
    run = run_cli(["ingest", str(path), "--json"])
    assert run["code"] == 0, run["stderr"]
    doc = json.loads(run["stdout"])
    assert doc["records"] == 3
    assert doc["rejected"] == [{"file": str(path), "record": "line 2",
                                "error": "JSON nested deeper than 64 levels (TWINSIGHT_INGEST_MAX_DEPTH)"}]
    assert sorted(twin.value("MATCH (a:Alert) RETURN collect(a.key)")) == ["LINE-GOOD", "LINE-GOOD-2"]
    assert run["rss_mb"] < ORDINARY_RSS_MB
    print(f"\ndeep JSON line (100,000 levels): {run['seconds']:.1f}s, peak RSS {run['rss_mb']:.0f} MiB")


def test_a_json_document_nested_100000_deep_is_a_rejected_file_not_a_crash(twin, tmp_path):
    deep = tmp_path / "deep.ocsf.json"
    deep.write_text(json.dumps(alert("DOC-DEEP"))[:-1] + ', "unmapped": ' + "[" * 100_000 + "]" * 100_000 + "}")
    good = tmp_path / "good.ocsf.json"
    good.write_text(json.dumps(alert("DOC-GOOD")))
    run = run_cli(["ingest", str(deep), str(good)])
    assert run["code"] == 0, run["stderr"]
    assert "nested too deeply" in one_line(run["stderr"], str(deep))
    assert twin.value("MATCH (a:Alert) RETURN collect(a.key)") == ["DOC-GOOD"]
    alone = run_cli(["ingest", str(deep)])
    assert alone["code"] == 2 and "Traceback" not in alone["stderr"]  # a run that loads nothing fails


def test_a_json_line_over_the_line_cap_is_one_rejected_record(twin, tmp_path):
    path = tmp_path / "findings.ocsf.jsonl"
    path.write_text(json.dumps(alert("LONG-GOOD")) + "\n" + json.dumps(alert("LONG", desc="y" * (5 << 20))) + "\n")
    run = run_cli(["ingest", str(path), "--json"])
    assert run["code"] == 0, run["stderr"]
    rejected = json.loads(run["stdout"])["rejected"]
    assert [(r["record"], "over the 4.0 MiB line cap" in r["error"]) for r in rejected] == [("line 2", True)]
    assert twin.value("MATCH (a:Alert) RETURN collect(a.key)") == ["LONG-GOOD"]


def test_a_200_mb_property_rejects_its_record_and_nothing_else(twin, tmp_path):
    path = tmp_path / "findings.json"  # one JSON array document: no line cap applies
    with open(path, "w") as fh:
        fh.write("[" + json.dumps(alert("PROP-GOOD")) + ", ")
        fh.write(json.dumps(alert("PROP-HUGE"))[:-2] + ', "desc": "' + "z" * 200_000_000 + '"}}]')
    run = run_cli(["ingest", str(path), "--json"], timeout=600)
    assert run["code"] == 0, run["stderr"][-2000:]
    rejected = json.loads(run["stdout"])["rejected"]
    assert len(rejected) == 1 and rejected[0]["file"] == str(path)
    assert rejected[0]["record"] == "Alert PROP-HUGE"
    assert "property cap (TWINSIGHT_INGEST_MAX_PROPERTY_KB)" in rejected[0]["error"]
    assert twin.value("MATCH (a:Alert) RETURN collect(a.key)") == ["PROP-GOOD"]
    biggest = twin.value("MATCH (n) UNWIND keys(n) AS k WITH n[k] AS v WHERE v IS :: STRING "
                         "RETURN max(size(v))")
    assert biggest < 1 << 20
    print(f"\n200 MB property: {run['seconds']:.1f}s, peak RSS {run['rss_mb']:.0f} MiB")


def test_a_bad_cap_setting_is_one_line_and_exit_2(twin, tmp_path):
    run = run_cli(["ingest", str(ALERT)], env={"TWINSIGHT_INGEST_MAX_DEPTH": "deep"})
    assert run["code"] == 2
    assert "TWINSIGHT_INGEST_MAX_DEPTH must be a whole number" in one_line(run["stderr"], "TWINSIGHT_INGEST_MAX_DEPTH")


def test_line_screen_keeps_documents_and_numbers_lines():
    from graph.ingest.base import Source, nesting_exceeds, screen_json_lines
    from graph.settings import IngestLimits

    limits = IngestLimits(depth=3, line_bytes=40)
    pretty = '{\n  "a": [[[[1]]]]\n}\n'
    assert screen_json_lines(pretty, limits) == (pretty, [])  # a document, not lines
    text = '{"a": 1}\n\n{"b": [[[[1]]]]}\n{"c": "' + "x" * 50 + '"}\n{"d": "[[[[["}\n'
    screened, refused = screen_json_lines(text, limits)
    assert [n for n, _ in refused] == [3, 4]
    assert screened.split("\n") == ['{"a": 1}', "", "", "", '{"d": "[[[[["}', ""]
    assert not nesting_exceeds('{"s": "[[[[[[\\"[[["}', 2) and nesting_exceeds("[[[[]]]]", 3)
    src = Source("x.jsonl", text.encode(), limits=limits)
    src.text()
    src.text()  # asked twice, rejected once
    assert [r.record for r in src.rejected] == ["line 3", "line 4"]
