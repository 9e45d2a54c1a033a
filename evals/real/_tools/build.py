"""Write evals/real/<id>/scenario.yaml and alert.json for every spec in specs.py.

    python3 evals/real/_tools/build.py          # (re)write all scenario folders

Reads no capture; check.py verifies the specs against the captures.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from alerts import elastic_alert, ocsf_finding  # noqa: E402
from specs import SCENARIOS, capture  # noqa: E402

ROOT = HERE.parent  # evals/real

EXPECT_ORDER = ["verdict", "severity", "entities", "source", "attack_path", "impacted_assets",
                "techniques", "must_not_cite", "why"]


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, data):
    style = ">" if len(data) > 100 else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def scenario_doc(s: dict) -> dict:
    twin = [capture(s["capture"])]
    if s.get("lab"):
        twin.append(s["lab"])
    expect = dict(s["expect"])
    expect["why"] = s["why"]
    expect = {k: expect[k] for k in EXPECT_ORDER if k in expect}
    # `why` sits in expect (as the brief lists it) and at the top level (where the project's
    # scenario loader reads it).
    return {"id": s["id"], "title": s["title"], "twin": twin, "alert": "alert.json",
            "expect": expect, "why": s["why"]}


def main() -> None:
    ids = set()
    for s in SCENARIOS:
        assert s["id"] not in ids, s["id"]
        ids.add(s["id"])
        folder = ROOT / s["id"]
        folder.mkdir(exist_ok=True)
        alert = ocsf_finding(s) if s["format"] == "ocsf" else elastic_alert(s)
        (folder / "alert.json").write_text(json.dumps(alert, indent=2, ensure_ascii=False) + "\n")
        (folder / "scenario.yaml").write_text(
            yaml.dump(scenario_doc(s), Dumper=_Dumper, sort_keys=False, width=100,
                      allow_unicode=True))
    print(f"wrote {len(SCENARIOS)} scenarios under {ROOT}")


if __name__ == "__main__":
    main()
