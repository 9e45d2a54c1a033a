"""Load each scenario's twin (+ its alert) into the local twin and list the expected keys the
twin does not hold, the records ingest rejected and what the alert node got linked to.

    TWINSIGHT_HOME=... TWINSIGHT_NEO4J_PORT=... .venv/bin/python evals/real/_tools/twin_check.py [id ...]

Uses only `twinsight twin reset`, `twinsight ingest` and `twinsight query` (read-only).
Empties the twin it points at.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CLI = [str(Path(sys.executable).parent / "twinsight")]


def run(*args: str) -> dict:
    out = subprocess.run(CLI + list(args), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{args[:2]}: {out.stderr.strip()[:300]}")
    return json.loads(out.stdout) if out.stdout.strip().startswith("{") else {}


def query(cypher: str, **params) -> list[dict]:
    args = ["query", cypher, "--json"]
    for k, v in params.items():
        args += ["--param", f"{k}={v}"]
    return run(*args).get("rows", [])


def main(ids: list[str]) -> None:
    report = {}
    for folder in sorted(p for p in ROOT.iterdir() if (p / "scenario.yaml").exists()):
        doc = yaml.safe_load((folder / "scenario.yaml").read_text())
        if ids and doc["id"] not in ids:
            continue
        subprocess.run(CLI + ["twin", "reset", "--yes"], capture_output=True)
        files = [str((folder / t).resolve()) for t in doc["twin"]] + [str(folder / doc["alert"])]
        ing = run("ingest", *files, "--json")
        rejected = ing.get("rejected", [])
        reasons = sorted({r["error"] for r in rejected})
        exp = doc["expect"]
        wanted = set()
        for k in ("entities", "source", "attack_path", "impacted_assets", "must_not_cite"):
            wanted.update(exp.get(k, []))
        missing = sorted(k for k in wanted
                         if not query("MATCH (n {key:$k}) RETURN n.key AS k", k=k))
        alert_links = query("MATCH (a:Alert)-[r]-(m) RETURN type(r) AS t, m.key AS k ORDER BY k")
        hosts = [r["k"] for r in query(
            "MATCH (n) WHERE (n:Computer OR n:Host OR n:IP) RETURN n.key AS k ORDER BY k")]
        report[doc["id"]] = {
            "records": ing.get("records"), "rejected": len(rejected), "reject_reasons": reasons,
            "missing_expected_keys": missing,
            "alert_links": [f"{r['t']}->{r['k']}" for r in alert_links],
            "host_and_ip_keys": hosts,
        }
        print(doc["id"], json.dumps(report[doc["id"]]), flush=True)
    subprocess.run(CLI + ["twin", "reset", "--yes"], capture_output=True)


if __name__ == "__main__":
    main(sys.argv[1:])
