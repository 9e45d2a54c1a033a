"""Checks the written set: schema, keys (against a dump of the base twin's keys plus addresses the scenario's own
files mention), decoys not among the expected keys, unique alert ids, sizes. Usage:
python3 validate.py BASE_KEYS_FILE   (one key per line, e.g. from `twinsight query 'MATCH (n) RETURN n.key'`)."""
from __future__ import annotations

import glob
import json
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = "/work/shared/spec/scenario.schema.json"


def main():
    base = set(open(sys.argv[1]).read().split("\n")) if len(sys.argv) > 1 else set()
    try:
        import jsonschema
        schema = json.load(open(SCHEMA))
    except Exception:  # noqa: BLE001
        jsonschema = None
    problems = 0
    ids, alert_ids = set(), {}
    counts = {}
    for f in sorted(glob.glob(os.path.join(ROOT, "*", "scenario.yaml"))):
        d = yaml.safe_load(open(f))
        folder = os.path.dirname(f)
        sid = d["id"]
        if jsonschema:
            try:
                jsonschema.validate(d, schema)
            except jsonschema.ValidationError as e:
                print(f"{sid}: schema: {e.message}")
                problems += 1
        assert sid == os.path.basename(folder), sid
        assert sid not in ids
        ids.add(sid)
        e = d["expect"]
        counts[e["verdict"]] = counts.get(e["verdict"], 0) + 1
        text = ""
        for ev in d.get("events", []):
            text += open(os.path.join(folder, ev)).read()
        ips = set(re.findall(r"(?<![\d.])(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?![\d.])", text))
        a = json.load(open(os.path.join(folder, d["alert"])))
        aid = a.get("kibana.alert.uuid") or a.get("finding_info", {}).get("uid")
        if aid in alert_ids:
            print(f"{sid}: alert id {aid} also in {alert_ids[aid]}")
            problems += 1
        alert_ids[aid] = sid
        keys = set()
        for k in ("entities", "source", "attack_path", "impacted_assets", "must_not_cite"):
            for x in e.get(k, []):
                keys.add(x)
                if base and x not in base and x not in ips:
                    print(f"{sid}: {k} key not in twin: {x}")
                    problems += 1
        pos = set(e.get("entities", [])) | set(e.get("source", [])) | set(e.get("attack_path", [])) | set(e.get("impacted_assets", []))
        for x in e.get("must_not_cite", []):
            if x in pos:
                print(f"{sid}: decoy {x} is also expected")
                problems += 1
        if e["verdict"] != "true_positive" and e.get("impacted_assets"):
            print(f"{sid}: non-TP with impacted assets")
            problems += 1
        for x in e.get("source", []):
            if x not in e.get("entities", []):
                print(f"{sid}: source {x} not in entities")
        if not e.get("why"):
            print(f"{sid}: no why")
            problems += 1
    print(f"{len(ids)} scenarios, {counts}, {problems} problems")
    return problems


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
