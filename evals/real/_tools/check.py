"""Check the real-telemetry scenarios against the spec and the captures.

    python3 evals/real/_tools/check.py

- every scenario.yaml validates against ../shared/spec/scenario.schema.json;
- every `twin` path resolves from the scenario folder (from a worktree this needs the
  uncommitted symlink <worktree-parent>/shared -> /work/shared);
- every deciding record in specs.py exists in the capture with the stated fields, and every
  `absent` (host, channel, EventID) really has no record;
- no reserved capture is referenced.
"""
from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from specs import SCENARIOS  # noqa: E402

ROOT = HERE.parent
RESERVED = {"covenant_sharpwmi_create_dcerpc_wmi", "empire_psexec_dcerpc_tcp_svcctl",
            "empire_smbexec_dcerpc_smb_svcctl", "empire_wmi_dcerpc_wmi_IWbemServices_ExecMethod",
            "empire_over_pth_patch_lsass", "cmd_dumping_ntds_dit_file_volume_shadow_copy"}

_cache: dict[Path, list[dict]] = {}


def load(path: Path) -> list[dict]:
    if path not in _cache:
        rows = []
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                for line in z.open(name):
                    line = line.strip()
                    if line:
                        rows.append(json.loads(line))
        _cache[path] = rows
    return _cache[path]


def matches(e: dict, host: str, channel: str, record, event_id: int, fields: dict) -> bool:
    if not str(e.get("Hostname", "")).upper().startswith(host.upper()):
        return False
    if e.get("Channel") != channel or int(e.get("EventID", -1)) != event_id:
        return False
    if record is not None and e.get("RecordNumber") != record:
        return False
    return all(str(e.get(k)) == str(v) for k, v in fields.items())


def main() -> int:
    schema_path = ROOT.parents[2] / "shared" / "spec" / "scenario.schema.json"
    if not schema_path.exists():
        schema_path = Path("/work/shared/spec/scenario.schema.json")
    schema = json.loads(schema_path.read_text())
    try:
        import jsonschema
        validator = jsonschema.Draft202012Validator(schema)
    except ImportError:  # pragma: no cover
        validator = None
    errors = 0
    for s in SCENARIOS:
        folder = ROOT / s["id"]
        doc = yaml.safe_load((folder / "scenario.yaml").read_text())
        if validator:
            for err in validator.iter_errors(doc):
                print(f"{s['id']}: schema: {err.message}")
                errors += 1
        for rel in doc["twin"]:
            p = (folder / rel).resolve()
            if not p.exists():
                print(f"{s['id']}: twin path does not resolve: {rel}")
                errors += 1
            if any(r in rel for r in RESERVED):
                print(f"{s['id']}: reserved capture referenced: {rel}")
                errors += 1
        if not (folder / doc["alert"]).exists():
            print(f"{s['id']}: alert file missing")
            errors += 1
        cap = (folder / doc["twin"][0]).resolve()
        rows = load(cap)
        for host, channel, record, event_id, fields in s["records"]:
            hits = [e for e in rows if matches(e, host, channel, record, event_id, fields)]
            if not hits:
                print(f"{s['id']}: record not found: {host} {channel} {record} {event_id} {fields}")
                errors += 1
            elif record is None and len(hits) > 1 and fields:
                print(f"{s['id']}: note: {len(hits)} records match {host} {channel} {event_id} {fields}")
        for host, channel, event_id, fields in s.get("absent", []):
            hits = [e for e in rows if matches(e, host, channel, None, event_id, fields)]
            if hits:
                print(f"{s['id']}: expected no {event_id} on {host} {channel}, found {len(hits)}")
                errors += 1
        v = doc["expect"]["verdict"]
        if v == "true_positive" and not doc["expect"].get("source"):
            print(f"{s['id']}: true positive without source")
            errors += 1
    n = len(SCENARIOS)
    by = {}
    for s in SCENARIOS:
        by[s["expect"]["verdict"]] = by.get(s["expect"]["verdict"], 0) + 1
    fmts = {}
    for s in SCENARIOS:
        fmts[s["format"]] = fmts.get(s["format"], 0) + 1
    print(f"{n} scenarios {by} formats {fmts}; {errors} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
