"""The path a scenario takes: load, split, standardize on training rows, partition, shard."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scenarios.data import (
    Standardizer,
    by_column,
    dirichlet,
    load_column,
    load_dataset,
    train_test_split,
)


def test_hospitals_csv_from_file_to_agent_shards(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "hospitals.csv"
    lines = ["site;age;dose;outcome"]
    for i in range(60):
        lines.append(f"{['A', 'B', 'C'][i % 3]};{rng.integers(20, 90)};{rng.normal():.4f};{i % 2}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    ds = load_dataset(path, label="outcome", features=["age", "dose"])
    assert (ds.n_rows, ds.n_features, ds.task, ds.classes) == (60, 2, "classification", (0, 1))
    per_site = by_column(load_column(path, "site"), agents=3)
    shards = per_site.shards(ds)
    assert [s.n_rows for s in shards] == [20, 20, 20]

    train, test = train_test_split(ds, 0.25, seed=1)
    scaler = Standardizer.fit(train)
    train, test = scaler.apply(train), scaler.apply(test)
    np.testing.assert_allclose(train.features.mean(axis=0), 0.0, atol=1e-12)
    parts = dirichlet(train.labels, 4, 0.5, seed=2)
    agent_data = parts.shards(train)
    assert sum(a.n_rows for a in agent_data) == train.n_rows
    assert all(a.n_rows > 0 for a in agent_data)
