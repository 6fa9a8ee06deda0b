"""A crypto worker process: length-prefixed msgpack requests on stdin, replies on stdout.

Started by :class:`agents.CryptoPool`; exits when its stdin closes (or, on Linux, when
its parent dies: SIGTERM); ignores SIGINT, which is for the parent.
"""

from __future__ import annotations

import signal
import sys
from collections import OrderedDict
from typing import Any, BinaryIO

import msgpack

from . import _paillier
from ._crypto import FRAME, MAX_FRAME, bytes_int, int_bytes
from ._paillier import PublicKey, SecretKey

_KEYS: OrderedDict[tuple[bytes, bytes], SecretKey] = OrderedDict()
_KEY_CACHE = 256
_TABLES = _paillier.short_exponent_tables()
"""This worker's fixed-base tables, by (base, modulus): built here, never sent."""


def _key(request: dict[str, Any]) -> SecretKey:
    ident = (request["p"], request["q"])
    key = _KEYS.get(ident)
    if key is None:
        key = SecretKey(bytes_int(request["p"]), bytes_int(request["q"]))
        _KEYS[ident] = key
        if len(_KEYS) > _KEY_CACHE:
            _KEYS.popitem(last=False)
    return key


def _public(request: dict[str, Any]) -> PublicKey:
    h = request.get("h")
    return PublicKey(bytes_int(request["n"]), None if h is None else bytes_int(h))


def _ints(blobs: list[bytes]) -> list[int]:
    return [bytes_int(b) for b in blobs]


def handle(request: dict[str, Any]) -> Any:
    op = request["op"]
    if op == "echo":  # the pool's IPC alone, for measuring it
        return request["data"]
    if op == "keygen":
        key = _paillier.keygen(request["bits"], insecure=request["insecure"])
        return [int_bytes(key.p), int_bytes(key.q)]
    if op == "encrypt":
        base = bytes_int(request["h"]) if "h" in request else None
        out = _paillier.encrypt(_key(request), _ints(request["m"]), base=base, tables=_TABLES)
        return [int_bytes(c) for c in out]
    if op == "decrypt":
        return [int_bytes(m) for m in _paillier.decrypt(_key(request), _ints(request["c"]))]
    if op == "decrypt_sum":
        replies = [_ints(reply) for reply in request["c"]]
        out = _paillier.decrypt_sum(_key(request), replies, _ints(request["a"]))
        return [int_bytes(m) for m in out]
    if op == "serve":
        public = _public(request)
        out = _paillier.serve(
            public, _ints(request["c"]), _ints(request["m"]), _ints(request["a"]), tables=_TABLES
        )
        return [int_bytes(c) for c in out]
    if op == "serve_packed":
        public = _public(request)
        out = _paillier.serve_packed(
            public,
            _ints(request["c"]),
            _ints(request["m"]),
            _ints(request["a"]),
            slot_bits=request["slot_bits"],
            slots=request["slots"],
            tables=_TABLES,
        )
        return [int_bytes(c) for c in out]
    raise ValueError(f"unknown op {op!r}")


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    return data if data is not None and len(data) == size else None


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # already so when started by the pool
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        header = _read_exactly(stdin, FRAME.size)
        if header is None:
            return
        (size,) = FRAME.unpack(header)
        body = _read_exactly(stdin, size) if size <= MAX_FRAME else None
        if body is None:
            return
        try:
            reply = {"ok": handle(msgpack.unpackb(body, raw=False))}
        except Exception as exc:  # reported to the caller, who raises CryptoError
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        out = msgpack.packb(reply, use_bin_type=True)
        stdout.write(FRAME.pack(len(out)) + out)
        stdout.flush()


if __name__ == "__main__":
    main()
