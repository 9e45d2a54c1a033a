"""CycloneDX 1.5 JSON, one SBOM per application, as the build tools write them.

`metadata.component` is the application (its purl is the twin key of the
`Application` node), `components` the libraries with the same purls Trivy reports on
the host, `dependencies` the graph from the application down through every library
(application -> direct requirements -> their requirements). Where the build pins a
range (Spring 5.x only, the jackson line the application was tested with, Log4j 2),
the component carries `twinsight:version_constraint`, which what-if reads to tell an
update that breaks a dependent from one that does not.

The SBOM does not say where the application runs - build tools never know; the
inventory row for the application (graph.generate.inventory) places it on its host.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

from graph.generate.model import DAY
from graph.generate.ops import App, OpsPlan, iso

_TOOLS = {
    "maven": {"type": "library", "group": "org.cyclonedx", "name": "cyclonedx-maven-plugin", "version": "2.7.11"},
    "nuget": {"type": "application", "name": "CycloneDX", "version": "3.0.5",
              "description": "CycloneDX module for .NET"},
}


def _component(lib, ref: str) -> dict:
    doc = {"bom-ref": ref, "type": "library"}
    if lib.namespace:
        doc["group"] = lib.namespace
    doc.update(name=lib.name, version=lib.version, scope="required", purl=lib.purl)
    if lib.constraint:
        doc["properties"] = [{"name": "twinsight:version_constraint", "value": lib.constraint}]
    return doc


def sbom(app: App, built: float, serial: str) -> dict:
    refs = {lib.name: lib.purl for lib in app.libs}
    meta = {"bom-ref": app.purl, "type": "application"}
    if app.namespace:
        meta["group"] = app.namespace
    meta.update(name=app.name, version=app.version, description=app.description, purl=app.purl)
    deps = [{"ref": app.purl, "dependsOn": [refs[n] for n in app.direct if n in refs]}]
    deps += [{"ref": lib.purl, "dependsOn": [refs[n] for n in lib.requires if n in refs]} for lib in app.libs]
    return {
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        "metadata": {"timestamp": iso(built).replace(".000Z", "Z"),
                     "tools": {"components": [_TOOLS[app.ptype]]},
                     "component": meta},
        "components": [_component(lib, lib.purl) for lib in app.libs],
        "dependencies": deps,
    }


def write_sboms(plan: OpsPlan, out_dir: Path) -> dict[str, int]:
    """One `<name>-<version>.cdx.json` per application; {file: components}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    r = random.Random(f"sbom:{plan.ent.seed}")
    counts: dict[str, int] = {}
    for app in plan.apps:
        built = plan.start - r.randint(3, 120) * DAY + r.randint(0, DAY - 1)
        serial = str(uuid.UUID(int=r.getrandbits(128), version=4))
        doc = sbom(app, built, serial)
        name = f"{app.name.lower()}-{app.version}.cdx.json"
        (out_dir / name).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        counts[name] = len(doc["components"])
    return counts
