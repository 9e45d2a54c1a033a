"""Settings from the environment, in one place, so every command reads them alike.

The contract fixes the NEO4J_* and OPENAI_* names; the TWINSIGHT_* names are ours.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field

DEFAULT_URI = "bolt://127.0.0.1:7687"
LOCAL_PASSWORD = "twinsight"


class SettingError(ValueError):
    """A setting from the environment holds a value it cannot: bad usage (exit code 2),
    the message names the variable."""


def write_workers() -> int:
    """Concurrent write transactions per load (TWINSIGHT_WRITE_WORKERS, default 2).

    One Cypher transaction keeps one server core busy; a second one in parallel uses the
    rest of a small machine. 1 writes strictly one batch after another."""
    raw = os.environ.get("TWINSIGHT_WRITE_WORKERS", "").strip()
    try:
        return max(1, min(16, int(raw))) if raw else 2
    except ValueError:
        raise SettingError(f"TWINSIGHT_WRITE_WORKERS must be a whole number, not {raw!r}") from None


class IngestLimits(BaseModel):
    """What one input may cost before it is refused (TWINSIGHT_INGEST_MAX_*).

    A 4 MB zip can hold a 4 GiB member and a JSON line can nest 100,000 deep: every input
    is measured against these caps while it is read, and what exceeds one is rejected by
    name (the file, or the one record) instead of exhausting memory or the stack."""

    file_bytes: int = 1024 << 20  # a file or archive member, decompressed (_FILE_MB)
    ratio: int = 100  # decompressed / compressed size of an archive member (_RATIO)
    line_bytes: int = 4 << 20  # one line of a JSON-lines file (_LINE_KB)
    # nesting of one JSON-lines record (_DEPTH); a whole JSON document is bounded by its
    # parser instead, and one nested past it is a rejected file
    depth: int = 64
    property_bytes: int = 1 << 20  # one property of a node or relationship (_PROPERTY_KB)

    @classmethod
    def from_env(cls) -> IngestLimits:
        values = {}
        for name, field, unit in (("FILE_MB", "file_bytes", 1 << 20), ("RATIO", "ratio", 1),
                                  ("LINE_KB", "line_bytes", 1 << 10), ("DEPTH", "depth", 1),
                                  ("PROPERTY_KB", "property_bytes", 1 << 10)):
            raw = os.environ.get(f"TWINSIGHT_INGEST_MAX_{name}", "").strip()
            if raw:
                try:
                    values[field] = int(raw) * unit
                except ValueError:
                    raise SettingError(f"TWINSIGHT_INGEST_MAX_{name} must be a whole number, not {raw!r}") from None
                if values[field] <= 0:
                    raise SettingError(f"TWINSIGHT_INGEST_MAX_{name} must be positive, not {raw!r}")
        return cls(**values)


def _state_home() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "twinsight"


class Neo4jSettings(BaseModel):
    """How to reach the twin, and how to run the local server when we own it."""

    uri: str = DEFAULT_URI
    user: str = "neo4j"
    password: str = LOCAL_PASSWORD
    database: str | None = None
    # True when NEO4J_URI was set: the server is the user's and we start nothing.
    external: bool = False
    home: Path = Field(default_factory=_state_home)
    heap: str = "2g"
    pagecache: str = "1g"
    tx_timeout_s: int = 120
    # Memory one transaction may hold on the local server ("512m"); default a quarter of the heap.
    tx_memory: str | None = None
    start_timeout_s: float = 120.0

    @property
    def local_port(self) -> int:
        hostport = self.uri.split("://", 1)[-1].split("/", 1)[0]
        return int(hostport.rsplit(":", 1)[1]) if ":" in hostport else 7687

    @property
    def server_dir(self) -> Path:
        return self.home / "neo4j"

    @classmethod
    def from_env(cls) -> Neo4jSettings:
        env = os.environ
        uri = env.get("NEO4J_URI")
        port = env.get("TWINSIGHT_NEO4J_PORT")
        values: dict = {
            "uri": uri or (f"bolt://127.0.0.1:{port}" if port else DEFAULT_URI),
            "external": bool(uri),
            "user": env.get("NEO4J_USER") or env.get("NEO4J_USERNAME") or "neo4j",
            "password": env.get("NEO4J_PASSWORD") or LOCAL_PASSWORD,
            "database": env.get("NEO4J_DATABASE") or None,
        }
        if env.get("TWINSIGHT_HOME"):
            values["home"] = Path(env["TWINSIGHT_HOME"]).expanduser()
        for name, field in (
            ("TWINSIGHT_NEO4J_HEAP", "heap"),
            ("TWINSIGHT_NEO4J_PAGECACHE", "pagecache"),
            ("TWINSIGHT_NEO4J_TX_TIMEOUT", "tx_timeout_s"),
            ("TWINSIGHT_NEO4J_TX_MEMORY", "tx_memory"),
            ("TWINSIGHT_NEO4J_START_TIMEOUT", "start_timeout_s"),
        ):
            if env.get(name):
                values[field] = env[name]
        return cls(**values)
