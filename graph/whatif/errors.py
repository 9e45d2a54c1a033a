"""The two ways a what-if fails, kept apart because the CLI and the bot answer them
differently: bad input is the user's to correct (exit 2), a lost twin is not (exit 1)."""

from __future__ import annotations


class WhatIfInputError(ValueError):
    """Bad usage or a key the twin does not have: the CLI exits 2 with this one line."""


class WhatIfError(RuntimeError):
    """The simulation could not run (connection lost, server error): exit 1. Whatever it
    had changed was never committed."""

