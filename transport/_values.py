"""Checked values at transport's edge: host names, ports and seconds.

Every host, port and timeout that enters :mod:`transport` (broker addresses,
listeners, client and broker timeouts) goes through these, so each is refused
the same way: a :class:`TransportError` that names the value and what it got.
"""

from __future__ import annotations

import math

from ._errors import TransportError

MAX_PORT = 65535

_HOST_FORBIDDEN = frozenset(" \t\r\n/@")


def validate_host(host: object, *, what: str = "host") -> str:
    """``host`` if it is a non-empty host name or address (no whitespace, ``/`` or ``@``,
    which would make it part of a URL's path or userinfo); else :class:`TransportError`."""
    if not isinstance(host, str) or not host or any(c in _HOST_FORBIDDEN for c in host):
        raise TransportError(f"{what} must be a host name or address, got {host!r}")
    return host


def validate_port(port: object, *, what: str = "port", zero_ok: bool = False) -> int:
    """``port`` if it is an int in [1, 65535] (``zero_ok``: 0 too, "pick a free one");
    a bool is not a port. Else :class:`TransportError`."""
    low = 0 if zero_ok else 1
    if type(port) is not int or not low <= port <= MAX_PORT:
        raise TransportError(f"{what} must be an int in [{low}, {MAX_PORT}], got {port!r}")
    return port


def validate_seconds(seconds: object, *, what: str = "timeout", zero_ok: bool = False) -> float:
    """``seconds`` as a float if it is a finite number > 0 (``zero_ok``: >= 0); a bool,
    NaN or infinity is not. Else :class:`TransportError`."""
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not math.isfinite(seconds)
        or seconds < 0
        or (seconds == 0 and not zero_ok)
    ):
        bound = ">= 0" if zero_ok else "positive"
        raise TransportError(f"{what} must be {bound} finite seconds, got {seconds!r}")
    return float(seconds)
