"""What an agent leaves behind as it goes: one journal line per iteration (DESIGN.md,
Logs), a checkpoint after every ``checkpoint_every`` iterations, and a call of the
``on_iteration`` hook for each iteration done."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np

from .._config import AgentConfig
from ..objectives import FloatArray, Objective
from ._checkpoint import Checkpoint, Checkpointer
from ._journal import Journal
from ._ledger import CouplingLedger


class Recorder:
    """One agent's journal, checkpoints and iteration hook; a context manager (the
    journal's file is open inside)."""

    def __init__(
        self,
        config: AgentConfig,
        objective: Objective,
        *,
        journal: Path | None,
        checkpoint: Path | None,
        checkpoint_every: int,
        on_iteration: Callable[[int], None] | None,
        rng: np.random.Generator,
        ledger: CouplingLedger,
    ) -> None:
        self.checkpointer = Checkpointer(checkpoint, every=checkpoint_every, config=config)
        self._config = config
        self._objective = objective
        self._journal = Journal(journal)
        self._on_iteration = on_iteration
        self._rng = rng
        self._ledger = ledger

    def __enter__(self) -> Self:
        self._journal.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._journal.__exit__(exc_type, exc, tb)

    def restore(self) -> Checkpoint | None:
        """The checkpoint to resume from, its generator state and ledger restored."""
        return self.checkpointer.restore(self._rng, self._ledger)

    def start(self, resume: Checkpoint | None) -> tuple[int, FloatArray]:
        """Where the run begins (iteration 0 at x0, or where the checkpoint left off),
        logged."""
        if resume is None:
            x = np.array(self._config.x0, dtype=np.float64)
            self.write(0, x)
            return 0, x
        self.checkpointer.resumed(resume)
        self.write(resume.k, resume.x, resumed=True)
        return resume.k, resume.x.copy()

    async def done(self, k: int, x: FloatArray, **line: Any) -> None:
        """Iteration k - 1 is done, x = x(k): checkpoint first (a crash after it resumes
        at k and logs x(k) again), then log it."""
        await self.checkpointer.save(k, x, rng=self._rng, ledger=self._ledger)
        self.write(k, x, **line)

    async def jumped(self, k: int, target: int, x: FloatArray, skipped: Sequence[str]) -> None:
        """Iterations k .. target - 1 were jumped over: the state stays, each gets its line."""
        await self.checkpointer.save(target, x, rng=self._rng, ledger=self._ledger)
        for i in range(k + 1, target + 1):
            self.write(i, x, skipped=skipped, jumped=True)

    def write(self, k: int, x: FloatArray, **line: Any) -> None:
        """Log x(k) (see :meth:`Journal.write_iteration` for ``line``)."""
        self._journal.write_iteration(
            k,
            x,
            agent=self._config.agent_id,
            objective=self._objective.value(x),
            record=self._config.record,
            compensated=self._ledger.take_compensated(),
            **line,
        )
        if k > 0 and not line.get("resumed") and self._on_iteration is not None:
            self._on_iteration(k)
