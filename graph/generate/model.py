"""The synthetic enterprise as data, before any file format.

Every writer (SharpHound JSON, inventory.csv, network.yaml today; Nmap, Trivy, Zeek,
Windows events later) renders this one model, so the same host has the same FQDN,
SID and IP in every file and the planted facts are true in all of them at once.

Everything is drawn from one `random.Random(seed)` in a fixed order and no wall clock
is read: the same seed and sizes give byte-identical output. Work is linear in the
number of objects (memberships and picks are drawn by index, never by scanning), so
40k users / 24k hosts / 76k groups build in seconds.

This module is the model's one address: the types and vocabulary live in graph.generate.entities,
the seeded builder in graph.generate.builder (one module per build step); both are re-exported here,
where the writers and callers import them.
"""

from __future__ import annotations

from graph.generate.builder import build_enterprise
from graph.generate.entities import (
    APPS,
    AUTH_EKUS,
    BASE_TIME,
    BUILTIN_GROUPS,
    CLIENT_AUTH,
    DAY,
    DEPARTMENTS,
    DOMAIN_GROUPS,
    EFS,
    FIRST,
    KDC_AUTH,
    LAST,
    SECURE_EMAIL,
    SERVER_AUTH,
    SERVICES_BY_ROLE,
    SMARTCARD_LOGON,
    WELL_KNOWN_STUBS,
    CertTemplate,
    Container,
    Enterprise,
    Flow,
    Gpo,
    Group,
    Host,
    Pki,
    Ref,
    User,
    Zone,
    default_groups,
    default_users,
)

__all__ = [
    "APPS", "AUTH_EKUS", "BASE_TIME", "BUILTIN_GROUPS", "CLIENT_AUTH", "CertTemplate", "Container",
    "DAY", "DEPARTMENTS", "DOMAIN_GROUPS", "EFS", "Enterprise", "FIRST", "Flow", "Gpo", "Group",
    "Host", "KDC_AUTH", "LAST", "Pki", "Ref", "SECURE_EMAIL", "SERVER_AUTH", "SERVICES_BY_ROLE",
    "SMARTCARD_LOGON", "User", "WELL_KNOWN_STUBS", "Zone", "build_enterprise", "default_groups",
    "default_users",
]
