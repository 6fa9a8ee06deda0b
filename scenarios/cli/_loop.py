"""Running a command's coroutine: uvloop where there is one, and for the commands that
run agents, SIGINT and SIGTERM turned into one line and the exit code of the signal."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

from ..deploy import Interrupted
from ._exits import fail

T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # Windows: no uvloop
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def stoppable(coroutine: Coroutine[Any, Any, T]) -> T:
    """:func:`run_async` for ``run`` and ``agent``: SIGINT and SIGTERM (handled inside,
    cleanup done) end the command with one line and exit 128 + the signal's number
    (130, 143); a Ctrl-C before the handlers are in place, too. The noise of the MQTT
    library's own logger (a dead broker's socket errors) is left to ``--verbose``."""
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        logging.getLogger("mqtt").setLevel(logging.CRITICAL)
    try:
        return run_async(_closed_sockets_quiet(coroutine))
    except Interrupted as exc:
        raise fail(str(exc), exc.exit_code) from None
    except KeyboardInterrupt:
        raise fail("interrupted by SIGINT", 128 + signal.SIGINT) from None


async def _closed_sockets_quiet(coroutine: Coroutine[Any, Any, T]) -> T:
    """Await ``coroutine`` with one known harmless error kept out of the output: when a
    broker dies, aiomqtt's scheduled ``add_reader``/``add_writer`` may run on a socket
    paho has closed meanwhile (EBADF); the endpoint has already seen the link drop."""
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        callback = repr(context.get("handle"))
        closed = isinstance(error, OSError) and error.errno == errno.EBADF
        if closed and ("add_writer" in callback or "add_reader" in callback):
            logging.getLogger("hemesh.transport").debug("closed socket: %s", callback)
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    try:
        return await coroutine
    finally:
        loop.set_exception_handler(previous)
