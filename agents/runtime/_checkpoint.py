"""An agent's checkpoint: what it needs to resume after a crash, written atomically.

After every ``checkpoint_every`` iterations the agent writes its state x(k), the
iteration k, its random generator's state, its key pair, its identity (so a
restarted agent is the same agent) and the coupling terms a late skip notice may
still undo. A process killed at any moment leaves either the
previous checkpoint or the new one, never a torn file: the new one is written to a
temporary file in the same directory, flushed to disk, and renamed over the old.

The file is msgpack (vectors as raw float64, big integers as bytes: exact, and a
d = 1000 checkpoint costs about as much as its fsync), never pickle, and it is
readable by its owner only: it holds the secret key and the private state, so it
is as secret as the agent itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
import numpy as np

from transport import EnvelopeError, pack_floats, unpack_floats

from .._config import AgentConfig
from .._crypto import bytes_int, int_bytes
from .._errors import AgentError
from .._paillier import SecretKey
from ..objectives import FloatArray
from ._ledger import CHECKPOINT_APPLIED, CouplingLedger

log = logging.getLogger("hemesh.agent")

FORMAT = "hemesh-checkpoint/1"


class CheckpointError(AgentError):
    """A checkpoint cannot be read, or belongs to another run or agent."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Checkpoint:
    """An agent after ``k`` iterations: its state is x(k), its next iteration is k."""

    run: str
    agent: str
    algorithm: str
    iterations: int
    k: int
    x: FloatArray
    rng: dict[str, Any]
    """``numpy.random.Generator.bit_generator.state``."""
    correction: FloatArray
    """Terms undone by skip notices, not yet subtracted from x."""
    key: tuple[int, int] | None = None
    """The Paillier primes (p, q); None for algorithms without a key."""
    base: int | None = None
    """The published fixed base h, if the agent uses one."""
    applied: dict[int, dict[str, FloatArray]] = field(default_factory=dict)
    """Coupling terms applied in the last few iterations, by iteration and neighbour."""
    identity: bytes | None = None
    """The agent's secret identity (``Identity.to_bytes``), if it has one."""

    def save(self, path: Path) -> None:
        """Write atomically: the old file or the new one survives any crash."""
        doc = {
            "format": FORMAT,
            "run": self.run,
            "agent": self.agent,
            "algorithm": self.algorithm,
            "iterations": self.iterations,
            "k": self.k,
            "dim": len(self.x),
            "x": pack_floats(self.x),
            "rng": json.dumps(self.rng),  # 128-bit integers: beyond msgpack's
            "key": None if self.key is None else [int_bytes(p) for p in self.key],
            "base": None if self.base is None else int_bytes(self.base),
            "correction": pack_floats(self.correction),
            "applied": [
                [k, {n: pack_floats(term) for n, term in terms.items()}]
                for k, terms in self.applied.items()
            ],
            "identity": self.identity,
        }
        data = msgpack.packb(doc, use_bin_type=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(scratch, path)
        except BaseException:
            scratch.unlink(missing_ok=True)
            raise
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a power cut
        finally:
            os.close(directory)

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        """Read a checkpoint; :class:`CheckpointError` names the file and what is wrong."""
        try:
            doc = msgpack.unpackb(path.read_bytes(), raw=False, strict_map_key=False)
        except OSError as exc:
            raise CheckpointError(f"{path}: cannot read checkpoint: {exc.strerror}") from exc
        except (ValueError, msgpack.UnpackException) as exc:
            raise CheckpointError(f"{path}: not a checkpoint (bad msgpack: {exc})") from exc
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise CheckpointError(f"{path}: not a checkpoint of format {FORMAT!r}")
        try:
            dim = _typed(doc["dim"], int)
            key = doc["key"]

            def vector(blob: Any) -> FloatArray:
                return unpack_floats(_typed(blob, bytes), count=dim)

            checkpoint = cls(
                run=_typed(doc["run"], str),
                agent=_typed(doc["agent"], str),
                algorithm=_typed(doc["algorithm"], str),
                iterations=_typed(doc["iterations"], int),
                k=_typed(doc["k"], int),
                x=vector(doc["x"]),
                rng=_typed(json.loads(_typed(doc["rng"], str)), dict),
                key=None if key is None else (_integer(key[0]), _integer(key[1])),
                base=None if doc["base"] is None else _integer(doc["base"]),
                correction=vector(doc["correction"]),
                applied={
                    _typed(k, int): {_typed(n, str): vector(t) for n, t in terms.items()}
                    for k, terms in _typed(doc["applied"], list)
                },
                identity=None if doc.get("identity") is None else _typed(doc["identity"], bytes),
            )
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise CheckpointError(f"{path}: malformed checkpoint: {exc!r}") from exc
        except EnvelopeError as exc:
            raise CheckpointError(f"{path}: malformed checkpoint: {exc}") from exc
        return checkpoint

    def check(self, *, run: str, agent: str, algorithm: str, iterations: int, dim: int) -> None:
        """Refuse a checkpoint written by another run, agent or configuration."""
        expected = {"run": run, "agent": agent, "algorithm": algorithm, "iterations": iterations}
        for name, value in expected.items():
            found = getattr(self, name)
            if found != value:
                raise CheckpointError(f"its {name} is {found!r}, this agent's is {value!r}")
        if not 0 <= self.k <= iterations:
            raise CheckpointError(f"checkpoint at iteration {self.k}, outside 0..{iterations}")
        sizes = {len(self.x), len(self.correction)}
        sizes |= {len(t) for terms in self.applied.values() for t in terms.values()}
        if sizes != {dim}:
            raise CheckpointError(f"checkpoint vectors of sizes {sorted(sizes)}, dimension {dim}")


class Checkpointer:
    """Saves and restores what one agent needs to resume: its checkpoint file at
    ``path`` (None: no checkpoints), written after every ``every`` iterations and
    after the last one."""

    def __init__(self, path: Path | None, *, every: int, config: AgentConfig) -> None:
        if every < 1:
            raise AgentError(f"checkpoint_every must be at least 1, not {every}")
        self._path = path
        self._every = every
        self._config = config
        self._key: SecretKey | None = None
        self._base: int | None = None
        self._identity: bytes | None = None

    def keep(self, *, key: SecretKey | None, base: int | None) -> None:
        """The key pair and fixed base every checkpoint holds (paillier)."""
        self._key, self._base = key, base

    def keep_identity(self, identity: bytes | None) -> None:
        """The secret identity every checkpoint holds."""
        self._identity = identity

    def restore(self, rng: np.random.Generator, ledger: CouplingLedger) -> Checkpoint | None:
        """Load this agent's checkpoint, if it left one, and put its random generator and
        its ledger back where the checkpoint left them (before any message arrives: the
        receive loop may undo applied terms). The agent resumes at ``checkpoint.k``."""
        checkpoint = self.load()
        if checkpoint is not None:
            self.restore_rng(checkpoint, rng)
            ledger.restore(correction=checkpoint.correction, applied=checkpoint.applied)
        return checkpoint

    def load(self) -> Checkpoint | None:
        """This agent's checkpoint, if it left one; refused if it is another's."""
        if self._path is None or not self._path.exists():
            return None
        cfg = self._config
        checkpoint = Checkpoint.load(self._path)
        try:
            checkpoint.check(
                run=cfg.run,
                agent=cfg.agent_id,
                algorithm=cfg.algorithm.value,
                iterations=cfg.iterations,
                dim=cfg.dim,
            )
        except CheckpointError as exc:
            raise CheckpointError(
                f"{self._path}: not this agent's checkpoint: {exc}; delete it to start over"
            ) from None
        return checkpoint

    def restore_rng(self, checkpoint: Checkpoint, rng: np.random.Generator) -> None:
        """Put the private generator back where the checkpoint left it."""
        try:
            rng.bit_generator.state = checkpoint.rng
        except (TypeError, ValueError, KeyError) as exc:
            raise CheckpointError(f"{self._path}: bad random generator state: {exc}") from exc

    def restore_key(self, checkpoint: Checkpoint) -> SecretKey:
        """The paillier agent's key pair, as the checkpoint kept it."""
        if checkpoint.key is None:
            raise CheckpointError(f"{self._path}: a paillier agent's checkpoint without its key")
        try:
            key = SecretKey(*checkpoint.key)
        except AgentError as exc:
            raise CheckpointError(f"{self._path}: {exc}") from exc
        if key.public.bits != self._config.key_bits:
            raise CheckpointError(
                f"{self._path}: a {key.public.bits}-bit key, the run uses "
                f"{self._config.key_bits} bits"
            )
        return key

    def resumed(self, checkpoint: Checkpoint) -> None:
        log.warning(
            "agent %s resumed at iteration %d from its checkpoint %s",
            self._config.agent_id,
            checkpoint.k,
            self._path,
        )

    async def save(
        self,
        k: int,
        x: FloatArray,
        *,
        rng: np.random.Generator,
        ledger: CouplingLedger,
    ) -> None:
        """Checkpoint after iteration k - 1 (state x(k)), every ``every`` iterations.

        The snapshot is taken here, on the loop (copies: skip notices keep changing the
        correction and the applied terms); writing and fsync run
        in a thread."""
        if self._path is None:
            return
        if k % self._every and k != self._config.iterations:
            return
        cfg = self._config
        snapshot = Checkpoint(
            run=cfg.run,
            agent=cfg.agent_id,
            algorithm=cfg.algorithm.value,
            iterations=cfg.iterations,
            k=k,
            x=x.copy(),
            rng=dict(rng.bit_generator.state),
            key=None if self._key is None else (self._key.p, self._key.q),
            base=self._base,
            correction=ledger.correction(),
            applied=ledger.applied_since(k - CHECKPOINT_APPLIED),
            identity=self._identity,
        )
        await asyncio.to_thread(snapshot.save, self._path)


def _typed(value: Any, kind: type) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"{value!r} is not {kind.__name__}")
    return value


def _integer(blob: Any) -> int:
    return bytes_int(_typed(blob, bytes))
