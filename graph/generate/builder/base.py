"""The builder's state and small helpers: the one seeded rng, the domain's SID and names, RIDs, GUIDs,
timestamps and extra ACEs. Every build step (directory, relations, estate) extends this class and draws
from the same rng in a fixed order, which is what makes a seed reproduce its bytes."""

from __future__ import annotations

import random
import uuid

from graph.generate.entities import BASE_TIME, DAY, Group, Host, Ref, User


class _BuilderBase:
    """Seeded state shared by every build step."""

    def __init__(self, seed: int, hosts: int, users: int, groups: int, domain: str,
                 misconfig_rate: float) -> None:
        if hosts < 8:
            raise ValueError("hosts must be at least 8 (one of each server role and a workstation)")
        if users < 30:
            raise ValueError("users must be at least 30 (built-in, admin and service accounts first)")
        if not 0 <= misconfig_rate <= 1:
            raise ValueError("misconfig_rate must lie between 0 and 1")
        self.rng = random.Random(seed)
        self.seed, self.n_hosts, self.n_users, self.n_groups = seed, hosts, users, groups
        self.domain = domain.upper().strip(".")
        self.netbios = self.domain.split(".")[0]
        self.domain_dn = ",".join(f"DC={p}" for p in self.domain.split("."))
        r = self.rng
        self.domain_sid = f"S-1-5-21-{r.randint(10**8, 4 * 10**9)}-{r.randint(10**8, 4 * 10**9)}-{r.randint(10**8, 4 * 10**9)}"
        self.domain_created = BASE_TIME - r.randint(1500, 3000) * DAY
        self.misconfig_rate = misconfig_rate
        self.next_rid = 1103
        self.extra_aces: dict[str, list[tuple[str, str, str, bool]]] = {}
        self.planted: dict = {}
        self.by_sid: dict[str, object] = {}

    # -- small helpers -------------------------------------------------------------
    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4)).upper()

    def rid(self) -> str:
        self.next_rid += 1
        return f"{self.domain_sid}-{self.next_rid - 1}"

    def sid(self, rid: int) -> str:
        return f"{self.domain_sid}-{rid}"

    def builtin(self, rid: int) -> str:
        return f"{self.domain}-S-1-5-32-{rid}"

    def when(self, lo_days: int, hi_days: int) -> int:
        return BASE_TIME - self.rng.randint(lo_days, hi_days) * DAY - self.rng.randint(0, DAY - 1)

    def ace(self, target: str, principal: Ref, right: str, inherited: bool = False) -> None:
        self.extra_aces.setdefault(target, []).append((principal[0], principal[1], right, inherited))

    def _key(self, objectid: str) -> str:
        obj = self.by_sid[objectid]
        if isinstance(obj, Host):
            return obj.fqdn
        if isinstance(obj, (User, Group)):
            return obj.name
        return obj.dn  # type: ignore[union-attr]
