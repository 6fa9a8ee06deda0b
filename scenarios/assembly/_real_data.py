"""A problem on data a user brings (``[problem] data = ...``): load, split, standardize,
partition, one model per agent, and x* of the convex models from a central solver.

The pipeline, every random draw seeded from the scenario's seed:

1. load ``data`` (:func:`scenarios.data.load_dataset`) for the model's task (a class
   column for logistic, softmax and mlp; a regression target for least squares and
   ridge), refused naming the label column otherwise;
2. split it into training and test rows (``test_fraction``, stratified by class);
3. standardize the features on the training rows (``standardize``);
4. partition the training rows among the agents (``[problem.partition]``);
5. build each agent's model on its shard; the test rows become ``Problem.test``.

x* (for evaluation only; agents never see it): the normal equations for least squares and
ridge, L-BFGS-B to a gradient of 1e-10 for logistic and softmax, none for mlp. Every agent
starts at x0 = 0, or at ``Mlp.init(seed)`` (the same for all) for mlp.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize
from scipy.sparse import linalg as sparse_linalg

from agents import LeastSquares, Logistic, Mlp, Objective, Ridge, Softmax

from .._errors import BadInput
from ..data import (
    SUFFIXES,
    Dataset,
    Partition,
    Standardizer,
    by_column,
    dirichlet,
    iid,
    load_column,
    load_dataset,
    quantity_skew,
    train_test_split,
)
from ..spec import ProblemSpec
from ._problem import FloatArray, HeldOut, Problem

BUILTIN = "builtin:"
X_STAR_GTOL = 1e-10
"""L-BFGS-B's bound on the largest entry of the summed gradient at x*."""
_SPLIT, _PARTITION = 0, 1
# which options each loader takes (the others are refused naming the field)
_TAKES = {
    "table": ("label", "features", "delimiter", "header", "categorical"),
    "npy": ("label", "features"),
    "npz": (),
    "svmlight": (),
    "builtin": (),
}


def real_data_problem(spec: ProblemSpec, agents: int, seed: int) -> Problem:
    """The problem ``spec`` describes on its ``data`` (see the module docstring)."""
    assert spec.data is not None
    dataset, site = _loaded(spec)
    split_seed, partition_seed = (
        int(s) for s in np.random.SeedSequence([seed, 0xDA7A]).generate_state(2)
    )
    tagged = dataset.with_features(
        np.column_stack([dataset.features, np.arange(dataset.n_rows)]),
        feature_names=(*dataset.feature_names, _unused_name(dataset.feature_names)),
    )
    train, test = train_test_split(tagged, spec.test_fraction, seed=split_seed)
    train_rows = train.features[:, -1].astype(np.int64)
    train, test = _untagged(train), _untagged(test)
    if train.n_rows < agents:
        raise BadInput(
            f"{dataset.source}, all rows and columns: {dataset.n_rows} rows leave "
            f"{train.n_rows} training rows after test_fraction = {spec.test_fraction} "
            f"for {agents} agents: each agent needs at least one"
        )
    if spec.standardize:
        scaler = Standardizer.fit(train)
        train, test = scaler.apply(train), scaler.apply(test)
    partition = _partition(spec, train, None if site is None else site[train_rows], agents)
    partition = _seeded(spec, train, agents, partition_seed) if partition is None else partition
    shards = partition.shards(train)
    objectives = tuple(_model(spec, shard, dataset) for shard in shards)
    x0 = objectives[0].init(seed) if isinstance(objectives[0], Mlp) else None
    held_out = HeldOut(_design(spec, test.features), _targets(spec, test))
    x_star = None if spec.kind == "mlp" else _x_star(spec.kind, objectives)
    return Problem(objectives, x_star, np.zeros(0) if x0 is None else x0, held_out)


def _loaded(spec: ProblemSpec) -> tuple[Dataset, Any]:
    """The dataset (label checked against the model's task) and the partition column's
    values for every row (None unless ``partition.kind = "column"``)."""
    source = str(spec.data)
    builtin = source.startswith(BUILTIN)
    form = "builtin" if builtin else SUFFIXES.get(Path(source).suffix.lower(), "table")
    task = "regression" if spec.kind in ("least_squares", "ridge") else "classification"
    column = spec.partition.column if spec.partition.kind == "column" else None
    given = spec.explicit_fields()
    options: dict[str, Any] = {}
    for name in ("label", "features", "delimiter", "header", "categorical"):
        if name in given:
            if name not in _TAKES[form]:
                raise BadInput(
                    f"problem.{name}: {source} is read as {form}, which takes "
                    + (", ".join(_TAKES[form]) or "no options")
                    + f" (got {getattr(spec, name)!r})"
                )
            options[name] = getattr(spec, name)
    if form == "table" and column is not None and spec.features is None:
        names = _header_names(Path(source), spec.delimiter, spec.header)
        label = names[-1] if spec.label is None else spec.label
        label_name = (
            names[label] if isinstance(label, int) and -len(names) <= label < len(names) else label
        )
        options["features"] = [n for n in names if n not in (label_name, column)]
    if not builtin:
        options["task"] = task
    dataset = load_dataset(source, **options)
    if dataset.task != task:
        raise BadInput(
            f"{source}, label column {dataset.label_name!r}: kind = {spec.kind!r} needs "
            f"{'class labels' if task == 'classification' else 'a regression target'}, "
            f"but the column is a {dataset.task} "
            f"{'target' if dataset.task == 'regression' else 'label'}"
        )
    if spec.kind == "logistic" and dataset.n_classes != 2:
        raise BadInput(
            f"{source}, label column {dataset.label_name!r}: kind = 'logistic' needs two "
            f"classes, the column has {dataset.n_classes} "
            f"({', '.join(map(repr, dataset.classes[:10]))}); use kind = 'softmax' or 'mlp'"
        )
    if column is None:
        return dataset, None
    if form == "table":
        return dataset, load_column(
            Path(source), column, delimiter=spec.delimiter, header=spec.header
        )
    name = dataset.feature_names[column] if isinstance(column, int) else column
    values = dataset.column(name)
    keep = [j for j, n in enumerate(dataset.feature_names) if n != name]
    return (
        dataset.with_features(
            dataset.features[:, keep], feature_names=tuple(dataset.feature_names[j] for j in keep)
        ),
        values,
    )


def _header_names(path: Path, delimiter: str | None, header: bool) -> list[str]:
    """The column names of a table, for the default feature list of a by-column partition
    (the loader refuses the file itself if it is bad, naming row and column)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return []  # the loader reports it
    first = next((line for line in text.splitlines() if line.strip()), "")
    if delimiter in ("whitespace", " "):
        fields = first.split()
    else:
        if delimiter is None:
            delimiter = (
                "\t"
                if path.suffix.lower() == ".tsv"
                else max(
                    (",", "\t", ";"),
                    key=lambda c: len(next(csv.reader(io.StringIO(first), delimiter=c), [])),
                )
            )
        fields = _fields(first, delimiter)
    if not header:
        return [f"col{j}" for j in range(len(fields))]
    return [n.strip() or f"col{j}" for j, n in enumerate(fields)]


def _fields(line: str, delimiter: str) -> list[str]:
    return next(csv.reader(io.StringIO(line), delimiter=delimiter), [])


def _unused_name(names: Sequence[str]) -> str:
    name = "row"
    while name in names:
        name = "_" + name
    return name


def _untagged(dataset: Dataset) -> Dataset:
    return dataset.with_features(dataset.features[:, :-1], feature_names=dataset.feature_names[:-1])


def _partition(spec: ProblemSpec, train: Dataset, site: Any, agents: int) -> Partition | None:
    """The by-column partition (None for the seeded ones)."""
    if site is None:
        return None
    column = spec.partition.column
    groups = np.unique(np.asarray(site))
    if groups.size != agents:
        shown = ", ".join(repr(g) for g in groups.tolist()[:10])
        raise BadInput(
            f"problem.partition.column: column {column!r} of {train.source} has "
            f"{groups.size} distinct values in the training rows ({shown}"
            f"{', ...' if groups.size > 10 else ''}), so {groups.size} agents, but the graph "
            f"has {agents} nodes"
        )
    return by_column(site, agents, source=train.source)


def _seeded(spec: ProblemSpec, train: Dataset, agents: int, seed: int) -> Partition:
    kind, alpha = spec.partition.kind, spec.partition.alpha
    if kind == "dirichlet":
        return dirichlet(train.labels, agents, alpha, seed, source=train.source)
    if kind == "quantity":
        return quantity_skew(train.n_rows, agents, alpha, seed, source=train.source)
    return iid(train.n_rows, agents, seed, source=train.source)


def _design(spec: ProblemSpec, features: FloatArray) -> FloatArray:
    """The features a model sees: with a column of ones for an intercept, except for
    logistic (whose intercept is its own, unregularized)."""
    if spec.intercept and spec.kind != "logistic":
        return np.column_stack([features, np.ones(features.shape[0])])
    return features


def _targets(spec: ProblemSpec, dataset: Dataset) -> Any:
    if spec.kind == "logistic":
        return np.where(dataset.labels == 1, 1.0, -1.0)
    return dataset.labels


def _model(spec: ProblemSpec, shard: Dataset, whole: Dataset) -> Objective:
    a, y = _design(spec, shard.features), _targets(spec, shard)
    if spec.kind == "least_squares":
        return LeastSquares(a, y)
    if spec.kind == "ridge":
        return Ridge(a, y, l2=spec.l2)
    if spec.kind == "logistic":
        return Logistic(a, y, spec.l2, intercept=spec.intercept)
    if spec.kind == "softmax":
        return Softmax(a, y, classes=whole.n_classes, l2=spec.l2)
    return Mlp(
        a,
        y,
        hidden=tuple(spec.hidden),
        classes=whole.n_classes,
        l2=spec.l2,
        activation=spec.activation,
    )


def _x_star(kind: str, objectives: Sequence[Objective]) -> FloatArray:
    """The minimizer of sum_i f_i: closed form for least squares and ridge, else L-BFGS-B."""
    if kind in ("least_squares", "ridge"):
        pairs = [f.normal_equations() for f in objectives]  # type: ignore[attr-defined]
        hessian = sum(h for h, _ in pairs)
        rhs = sum(r for _, r in pairs)
        try:
            solved: FloatArray = np.linalg.solve(hessian, rhs)
        except np.linalg.LinAlgError:
            solved = np.linalg.lstsq(hessian, rhs, rcond=None)[0]
        return solved

    def total(x: FloatArray) -> tuple[float, FloatArray]:
        value = sum(f.value(x) for f in objectives)
        gradient = sum(f.gradient(x) for f in objectives)
        return float(value), np.asarray(gradient, dtype=np.float64)

    result = optimize.minimize(
        total,
        np.zeros(objectives[0].dim),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": X_STAR_GTOL, "ftol": 1e-16, "maxiter": 20_000, "maxcor": 30},
    )
    return _newton_polish(lambda x: total(x)[1], np.asarray(result.x, dtype=np.float64))


def _newton_polish(gradient: Any, x: FloatArray, *, steps: int = 5) -> FloatArray:
    """A few Newton steps from L-BFGS-B's answer (Hessian-vector products by central
    differences of the gradient, solved by conjugate gradients): L-BFGS-B stops on F's
    rounding near 1e-9, these steps on the gradient alone reach ~1e-13."""
    g = gradient(x)
    for _ in range(steps):
        if float(np.abs(g).max()) < 1e-13:
            break

        def hessp(v: FloatArray, at: FloatArray = x) -> FloatArray:
            size = float(np.linalg.norm(v))
            if size == 0:
                return np.zeros_like(v)
            eps = 1e-4 / size
            result: FloatArray = (gradient(at + eps * v) - gradient(at - eps * v)) / (2 * eps)
            return result

        operator = sparse_linalg.LinearOperator((x.size, x.size), matvec=hessp, dtype=np.float64)
        step, _ = sparse_linalg.cg(operator, g, rtol=1e-12, atol=0.0, maxiter=4 * x.size)
        candidate = x - step
        new = gradient(candidate)
        if not float(np.linalg.norm(new)) < float(np.linalg.norm(g)):
            break
        x, g = candidate, new
    return x
