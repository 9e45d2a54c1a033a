"""Shared constants and deterministic helpers for the Larchmont Mutual (LMI.INTRA) evaluation set."""
from __future__ import annotations

import hashlib
import random
import uuid
from datetime import datetime, timedelta, timezone

DOMAIN = "LMI.INTRA"
NETBIOS = "LMI"
DNS_SUFFIX = "lmi.intra"
DOMAIN_SID = "S-1-5-21-1402291173-3288647205-2611058904"
DOMAIN_DN = "DC=LMI,DC=INTRA"
COLLECTOR = "bos-wec-01.lmi.intra"
UTC = timezone.utc
# Boston: EDT (UTC-4) from 2025-03-09 on; the NXLog collector writes EventTime in local time.
LOCAL_OFFSET = timedelta(hours=-4)


def sid(rid: int) -> str:
    return f"{DOMAIN_SID}-{rid}"


def builtin(rid: int) -> str:
    return f"{DOMAIN}-S-1-5-32-{rid}"


def stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "lmi.intra/" + "/".join(parts))).upper()


def hexdigest(s: str, n: int = 64) -> str:
    return hashlib.sha256(s.encode()).hexdigest()[:n]


def rng_for(name: str) -> random.Random:
    return random.Random(int(hashlib.sha256(name.encode()).hexdigest()[:16], 16))


def ts(s: str) -> datetime:
    """'2025-03-12 14:03:11' (UTC) -> aware datetime."""
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in s else "%Y-%m-%d %H:%M:%S"
    return datetime.strptime(s, fmt).replace(tzinfo=UTC)


def epoch(s: str) -> int:
    return int(ts(s).timestamp())


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
