"""One planner per what-if verb, by family: network (isolate, block, expose), identity
(disable, remove-member, remove-edge) and software (patch, update). A planner reads the
twin through its `Sim` and plans the change there; `simulate` applies it, so a new verb
is a planner here and a line in graph/whatif/grammar.py, nothing in simulate."""

from __future__ import annotations

from collections.abc import Callable

from graph.whatif.planners.base import Sim
from graph.whatif.planners.identity import plan_disable, plan_remove_edge, plan_remove_member
from graph.whatif.planners.network import plan_block, plan_expose, plan_isolate
from graph.whatif.planners.software import plan_patch, plan_update

PLANNERS: dict[str, Callable[[Sim], None]] = {
    "isolate": plan_isolate, "disable": plan_disable, "remove-member": plan_remove_member,
    "remove-edge": plan_remove_edge, "block": plan_block, "expose": plan_expose,
    "patch": plan_patch, "update": plan_update,
}
