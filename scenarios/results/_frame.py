"""A run's series as a pandas DataFrame (pandas is optional: ``pip install hemesh[notebook]``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import BadInput
from ._series import Series

NETWORK = "network"
"""The ``model`` of the rows about the network average x̄ (the others: agent ids)."""

COLUMNS = (
    "k",
    "model",
    "error",
    "consensus",
    "gap",
    "train_loss",
    "test_loss",
    "test_accuracy",
)


def series_frame(series: Series) -> Any:
    """One row per logged iteration k and model: each agent's own (``model`` = its id)
    and the network average (``model`` = ``"network"``). ``error``: ||x_i - x*||^2 on an
    agent's rows, the MSE on the network's; ``consensus`` and ``gap`` on the network's
    rows only; ``train_loss``, ``test_loss`` and ``test_accuracy`` of that model. NaN
    where there is no value: no x*, no held-out rows, an iteration off the evaluation
    grid, or an agent's row of a network-only column."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise BadInput(
            "Run.frame() needs pandas: pip install 'hemesh[notebook]' (or pandas>=2)"
        ) from exc
    n, count = len(series.agents), len(series.k)
    models = [*series.agents, NETWORK]
    position = {int(k): i for i, k in enumerate(series.k)}
    rows = [position[int(k)] for k in series.evaluated]

    def full(network: Any, agents: Any, *, evaluated: bool) -> Any:
        """A (K, N + 1) table of one column: agents first, then the network."""
        table = np.full((count, n + 1), np.nan)
        at = rows if evaluated else slice(None)
        if agents is not None:
            table[at, :n] = agents
        if network is not None:
            table[at, n] = network
        return table

    def network_only(values: Any) -> Any:
        return full(values, None, evaluated=False)

    columns = {
        "error": full(series.mse, series.errors, evaluated=False),
        "consensus": network_only(series.consensus),
        "gap": network_only(series.gap),
        "train_loss": full(series.train_loss, series.agent_train_loss, evaluated=True),
        "test_loss": full(series.test_loss, series.agent_test_loss, evaluated=True),
        "test_accuracy": full(series.test_accuracy, series.agent_test_accuracy, evaluated=True),
    }
    data: dict[str, Any] = {
        "k": np.repeat(series.k, n + 1),
        "model": np.tile(np.array(models, dtype=object), count),
    }
    data.update({name: table.reshape(-1) for name, table in columns.items()})
    return pd.DataFrame(data, columns=list(COLUMNS))
