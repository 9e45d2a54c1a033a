"""Builds the synthetic enterprise from a seed: one class assembled from the build steps (directory
objects, relations, PKI/network/inventory), each a module of its own, all drawing from one rng.

`build_enterprise` runs the steps in a fixed order; that order is part of the output (the same
seed and sizes give byte-identical files), so a new step goes at the end.
"""

from __future__ import annotations

from graph.generate.builder.directory import _Directory
from graph.generate.builder.estate import _Estate
from graph.generate.builder.relations import _Relations
from graph.generate.entities import Enterprise, default_groups, default_users


class _Builder(_Directory, _Relations, _Estate):
    """Every build step over one shared state (graph.generate.builder.base)."""


def build_enterprise(seed: int, hosts: int = 50, users: int | None = None, groups: int | None = None, *,
                     domain: str = "CORP.LOCAL", misconfig_rate: float = 0.001) -> Enterprise:
    """The in-memory enterprise for a seed and size. `misconfig_rate` is the share of
    users and groups that receive a random dangerous ACE (at least six are planted)."""
    users = users if users is not None else default_users(hosts)
    groups = groups if groups is not None else default_groups(users)
    b = _Builder(seed, hosts, users, groups, domain, misconfig_rate)
    b.build_containers()
    b.build_gpos()
    b.build_fixed_groups()
    b.build_users()
    b.build_hosts()
    b.build_groups_and_members()
    b.build_hosts_access()
    b.build_kerberos()
    b.build_pki()
    b.build_acl()
    b.link_children()
    b.build_network()
    b.build_inventory()
    return b.finish()
