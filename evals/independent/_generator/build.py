"""Entry point: python3 build.py [--only substring] -> writes ../_base/lmi and every scenario folder."""
from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
ROOT = os.path.dirname(HERE)

import base  # noqa: E402
import scen  # noqa: E402
import fam_dcsync  # noqa: E402,F401
import fam_kerberos  # noqa: E402,F401
import fam_spray  # noqa: E402,F401
import fam_lateral  # noqa: E402,F401
import fam_creds  # noqa: E402,F401
import fam_network  # noqa: E402,F401
import fam_ad  # noqa: E402,F401
import fam_misc  # noqa: E402,F401

FAMILIES = ["fam_dcsync"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("--no-base", action="store_true")
    a = ap.parse_args()
    if not a.no_base:
        base.write_base(os.path.join(ROOT, "_base", "lmi"))
    for mod in FAMILIES[1:]:
        __import__(mod)
    ids = set()
    for fn in scen.REGISTRY:
        sid, title, ev, alert, expect, zf = fn()
        assert sid not in ids, sid
        ids.add(sid)
        if a.only and a.only not in sid:
            continue
        scen.write_scenario(ROOT, sid, title, ev, alert, expect, zf)
        print(f"{sid}: {len(ev.win)} win, {len(ev.zeek)} zeek, {expect['verdict']}")


if __name__ == "__main__":
    main()
