"""What-if: simulate a change on the twin without touching it (contract section 7).

The model - what a path is, how each action changes the twin, why a rolled-back
transaction and not a copy, how ranking bounds its candidates - is graph/MODEL.md,
"What-if". This package's public API is re-exported here; its modules, in the order
they build on each other: errors, versions, grammar, models, paths, planners, sim, rank,
command.
"""

from __future__ import annotations

from graph.whatif.command import render, run_whatif_argv, whatif_command
from graph.whatif.errors import WhatIfError, WhatIfInputError
from graph.whatif.grammar import (
    ARITY,
    RANK_OPTIONS,
    USAGE,
    Action,
    Verb,
    parse_argv,
    parse_request,
)
from graph.whatif.models import Break, ExploitEdge, PathOut, RankedAction, WhatIfResult
from graph.whatif.paths import (
    Exposure,
    PathScope,
    Run,
    entry_ids,
    exposure,
    exposure_parallel,
    goal_ids,
    keys_of,
    keys_of_ids,
    reach,
    reach_query,
    resolve_goals,
    runner,
)
from graph.whatif.planners import PLANNERS
from graph.whatif.planners.network import subtract_ports
from graph.whatif.rank import ACTION_COST, ForwardBall, ShortestDag, rank
from graph.whatif.sim import fingerprint, simulate
from graph.whatif.versions import compare_versions, fixed_in, satisfies

# The name tests and evals/bench imported before `runner` was public; kept so that code
# written against it (other branches) still imports.
_runner = runner

__all__ = [
    "ACTION_COST", "ARITY", "PLANNERS", "RANK_OPTIONS", "USAGE", "Action", "Break", "ExploitEdge", "Exposure",
    "ForwardBall", "PathOut", "PathScope", "RankedAction", "Run", "ShortestDag", "Verb", "WhatIfError",
    "WhatIfInputError",
    "WhatIfResult", "compare_versions", "entry_ids", "exposure", "exposure_parallel", "fingerprint", "fixed_in",
    "goal_ids", "keys_of", "keys_of_ids", "parse_argv", "parse_request", "rank", "reach", "reach_query", "render",
    "resolve_goals", "run_whatif_argv", "runner", "satisfies", "simulate", "subtract_ports", "whatif_command",
]
