"""The what-if grammar: the actions, their arity and usage, rank's options and how CLI
words split into an action and options. One grammar for every front end: the CLI, the
service behind the bot, and the bot's own chat parser (bot/commands.py) read these tables."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from graph.derive.exploit import parse_port_spec
from graph.ingest._vulnshared import canonical_vuln_id
from graph.whatif.errors import WhatIfInputError

Verb = Literal["update", "patch", "isolate", "disable", "remove-member", "remove-edge", "block", "expose"]
ARITY: dict[str, int] = {"update": 3, "patch": 2, "isolate": 1, "disable": 1, "remove-member": 2,
                         "remove-edge": 3, "block": 3, "expose": 2}
USAGE: dict[str, str] = {
    "update": "update TARGET PACKAGE VERSION",
    "patch": "patch TARGET CVE",
    "isolate": "isolate HOST",
    "disable": "disable USER",
    "remove-member": "remove-member MEMBER GROUP",
    "remove-edge": "remove-edge SRC TYPE DST",
    "block": "block FROM TO PORT/PROTO",
    "expose": "expose HOST PORT/PROTO",
    "rank": "rank --target KEY [--top N]",
}
# The options rank takes in the contract (section 7); the CLI adds the rest below.
RANK_OPTIONS = ("--target", "--top")


class Action(BaseModel):
    """One change, as the CLI words it: `Action(verb="isolate", args=["WEB01.CORP.LOCAL"])`."""

    model_config = ConfigDict(frozen=True)
    verb: Verb
    args: tuple[str, ...]

    @property
    def argv(self) -> list[str]:
        return [self.verb, *self.args]

    @property
    def text(self) -> str:
        return shlex.join(self.argv)

    @classmethod
    def from_argv(cls, argv: Iterable[str]) -> Action:
        words = [str(w) for w in argv]
        if not words:
            raise WhatIfInputError("whatif needs an action: " + "; ".join(USAGE.values()))
        verb = words[0].strip().lower()
        if verb not in ARITY:
            raise WhatIfInputError(f"unknown what-if action {words[0]!r}; one of: {', '.join(USAGE)}")
        args = [w.strip() for w in words[1:]]
        if len(args) != ARITY[verb]:
            raise WhatIfInputError(f"{verb} takes {ARITY[verb]} argument(s), got {len(args)}: usage: "
                                   f"whatif {USAGE[verb]}")
        for w in args:
            if not w:
                raise WhatIfInputError(f"an empty argument: usage: whatif {USAGE[verb]}")
            if len(w) > 1000:
                raise WhatIfInputError(f"argument {w[:40]!r}... is longer than any key in the twin")
        if verb in ("block", "expose"):
            port_arg(args[-1])
        if verb == "patch" and canonical_vuln_id(args[1]) is None:
            raise WhatIfInputError(f"CVE {args[1]!r} is not a vulnerability id (CVE-YYYY-N or GHSA-...)")
        if verb == "update" and (re.search(r"\s", args[2]) or not re.search(r"[0-9A-Za-z]", args[2])):
            raise WhatIfInputError(f"VERSION {args[2]!r} is not a version")
        return cls(verb=verb, args=tuple(args))


def port_arg(text: str) -> tuple[int, int, str]:
    """A PORT/PROTO word -> (lo, hi, proto), or the usage error naming it."""
    spec = parse_port_spec(text)
    if spec is None or not 1 <= spec[0] <= spec[1] <= 65535 or spec[2] not in ("tcp", "udp", "sctp"):
        raise WhatIfInputError(f"PORT/PROTO {text!r} is not a port such as 443/tcp (or a range 8000-8100/tcp)")
    return spec


def format_port(lo: int, hi: int, proto: str) -> str:
    return f"{lo}/{proto}" if lo == hi else f"{lo}-{hi}/{proto}"


INT_OPTIONS = {"--top": "top", "--max-hops": "max_hops", "--listed": "listed"}
STR_OPTIONS = {"--target": "target", "--as-of": "as_of"}
LIST_OPTIONS = {"--source": "sources", "--goal": "goals", "--compromised": "compromised"}
# What a single action takes; `top` and `target` are rank's alone.
ACTION_OPTIONS = frozenset({"max_hops", "as_of", "sources", "goals", "compromised", "listed"})


def parse_argv(argv: Iterable[str]) -> tuple[list[str], dict[str, Any]]:
    """Split CLI words into the action's words and options (`--top 5`, `--top=5`,
    `--target KEY`, `--max-hops N`, `--as-of T`, `--source KEY`..., `--goal KEY`...)."""
    words, opts = [], {}
    items = [str(w) for w in argv]
    i = 0
    while i < len(items):
        w = items[i]
        if w.startswith("--") and w != "--":
            name, eq, value = w.partition("=")
            if name == "--json":
                i += 1
                continue
            if name not in INT_OPTIONS and name not in STR_OPTIONS and name not in LIST_OPTIONS:
                raise WhatIfInputError(f"unknown option {name!r} (known: "
                                       f"{', '.join([*INT_OPTIONS, *STR_OPTIONS, *LIST_OPTIONS])})")
            if not eq:
                if i + 1 >= len(items):
                    raise WhatIfInputError(f"{name} needs a value")
                value = items[i + 1]
                i += 1
            if name in INT_OPTIONS:
                if not value.strip().isdigit():
                    raise WhatIfInputError(f"{name} takes a whole number, not {value!r}")
                opts[INT_OPTIONS[name]] = int(value)
            elif name in STR_OPTIONS:
                opts[STR_OPTIONS[name]] = value
            else:
                opts.setdefault(LIST_OPTIONS[name], []).append(value)
        else:
            words.append(w)
        i += 1
    return words, opts


def parse_request(argv: Iterable[str]) -> tuple[Action | None, dict[str, Any]]:
    """CLI words -> (the action, or None for `rank`; the options), every usage error
    raised here, before anything touches the twin."""
    words, opts = parse_argv(argv)
    if words and words[0].lower() == "rank":
        if len(words) > 1:
            raise WhatIfInputError(f"unexpected {words[1]!r}: usage: whatif {USAGE['rank']}")
        if not opts.get("target"):
            raise WhatIfInputError(f"rank needs --target KEY: usage: whatif {USAGE['rank']}")
        return None, opts
    bad = sorted(set(opts) - ACTION_OPTIONS)
    if bad:
        raise WhatIfInputError(f"--{bad[0].replace('_', '-')} is only for rank")
    return Action.from_argv(words), opts
