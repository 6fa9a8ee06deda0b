"""The number types of the scenario file and the limits a run must fit in.

Types are strict per field (not model-wide, so that enum fields still take their
strings, and ``resolved.json`` reads back): a string is not a number, a bool is not
an int, a float is not an int; an int is accepted where a float is meant (TOML
writes ``b = 1``). No float is infinite or NaN.

The limits are what one machine can run: a scenario beyond one is refused before
anything starts, naming the field and the limit.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, Strict

MAX_AGENTS = 10_000
"""Nodes of the graph (one agent, one process or task, one key pair each)."""
MAX_ITERATIONS = 10**7
MAX_KEY_BITS = 8192
"""Paillier key size; 16384-bit keys already take minutes to generate."""
MAX_LAMBDA0 = 1e6
"""Stepsize base; the default is 3 / L, and a first step beyond this overflows every
state the fixed-point encoding holds."""
MAX_TIMEOUT = 86_400.0
"""Round and startup timeouts, in seconds (one day)."""
MAX_WORKERS = 1024
MEMORY_BUDGET = 2 * 1024**3
"""Bytes a run may hold in memory: the agents' synthetic data (agents x samples x dim
doubles) plus the central solve for x* (dim x dim doubles)."""

Integer = Annotated[int, Strict()]
"""An int: not a bool, a float or a string."""
Real = Annotated[float, Strict(), Field(allow_inf_nan=False)]
"""A finite number (an int is accepted): not a bool or a string."""
Positive = Annotated[Real, Field(gt=0)]
Flag = Annotated[bool, Strict()]
"""true or false: not 0, 1 or a string."""
