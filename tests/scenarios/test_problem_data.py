"""Building a problem from data: load, split, standardize on the training rows, partition,
one model per agent, x* from a central solver, the held-out rows for test metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents import LeastSquares, Logistic, Mlp, Ridge, Softmax
from scenarios import Problem, ScenarioError, parse
from scenarios.assembly import build_problem
from scenarios.data import load_builtin


def scenario(agents: int = 8, seed: int = 1, **problem: Any) -> Any:
    doc = {
        "name": "t",
        "seed": seed,
        "topology": {"kind": "ring", "n": agents},
        "problem": problem,
    }
    return parse(doc, source="test")


def built(agents: int = 8, seed: int = 1, **problem: Any) -> Problem:
    return build_problem(scenario(agents, seed, **problem), agents)


def summed_gradient(problem: Problem) -> np.ndarray:
    assert problem.x_star is not None
    return np.asarray(sum(f.gradient(problem.x_star) for f in problem.objectives))


def test_breast_cancer_logistic_split_scaled_and_solved() -> None:
    problem = built(kind="logistic", data="builtin:breast_cancer", intercept=True)
    assert all(isinstance(f, Logistic) and f.intercept for f in problem.objectives)
    assert problem.dim == 31
    assert problem.test is not None
    n_test = problem.test.features.shape[0]
    assert n_test == 114  # ceil(0.2 * 569)
    assert sum(f.samples for f in problem.objectives) + n_test == 569
    train = np.vstack([f.features for f in problem.objectives])  # type: ignore[attr-defined]
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(train.std(axis=0), 1.0, atol=1e-12)
    assert set(np.unique(problem.test.labels)) == {-1.0, 1.0}
    assert float(np.abs(summed_gradient(problem)).max()) < 1e-10
    assert problem.evaluate(problem.x_star)["test_accuracy"] > 0.95  # type: ignore[arg-type]
    np.testing.assert_array_equal(problem.x0, np.zeros(31))


def test_same_seed_same_problem_other_seed_other_split() -> None:
    a = built(kind="logistic", data="builtin:breast_cancer")
    b = built(kind="logistic", data="builtin:breast_cancer")
    c = built(kind="logistic", data="builtin:breast_cancer", seed=2)
    assert a.test is not None and b.test is not None and c.test is not None
    np.testing.assert_array_equal(a.test.features, b.test.features)
    np.testing.assert_array_equal(a.x_star, b.x_star)
    assert a.test.features.shape == c.test.features.shape
    assert not np.array_equal(a.test.features, c.test.features)


def test_standardize_false_keeps_the_raw_features() -> None:
    problem = built(kind="logistic", data="builtin:breast_cancer", standardize=False)
    raw = load_builtin("breast_cancer").features
    rows = {tuple(r) for r in raw}
    assert all(tuple(r) in rows for f in problem.objectives for r in f.features)  # type: ignore[attr-defined]


def test_digits_softmax_layout_and_dirichlet_skew() -> None:
    problem = built(
        kind="softmax",
        data="builtin:digits",
        intercept=True,
        partition={"kind": "dirichlet", "alpha": 0.3},
    )
    assert all(isinstance(f, Softmax) and f.classes == 10 for f in problem.objectives)
    assert problem.dim == 650  # 10 classes x (64 pixels + a column of ones)
    assert problem.test is not None
    np.testing.assert_array_equal(problem.test.features[:, -1], 1.0)
    labels = [np.bincount(f.labels, minlength=10) for f in problem.objectives]  # type: ignore[attr-defined]
    # label skew: most agents miss some digit entirely, and no two share a mix
    assert sum(int((c == 0).any()) for c in labels) >= 4
    assert float(np.abs(summed_gradient(problem)).max()) < 1e-10


def test_quantity_skew_changes_sizes_only() -> None:
    problem = built(
        kind="softmax", data="builtin:iris", partition={"kind": "quantity", "alpha": 0.5}
    )
    sizes = [f.samples for f in problem.objectives]
    assert sum(sizes) == 120 and max(sizes) > 3 * min(sizes)


def test_regression_models_closed_form_x_star() -> None:
    for kind, model in (("least_squares", LeastSquares), ("ridge", Ridge)):
        problem = built(kind=kind, data="builtin:diabetes", intercept=True, l2=0.1)
        assert all(isinstance(f, model) for f in problem.objectives)
        assert problem.dim == 11
        assert float(np.abs(summed_gradient(problem)).max()) < 1e-9
        assert set(problem.evaluate(problem.x_star)) == {"test_loss"}  # type: ignore[arg-type]


def test_mlp_starts_every_agent_at_init_of_the_seed() -> None:
    problem = built(seed=4, kind="mlp", data="builtin:wine", hidden=[8, 4], activation="relu")
    first = problem.objectives[0]
    assert isinstance(first, Mlp) and first.hidden == (8, 4) and first.activation == "relu"
    assert problem.x_star is None
    np.testing.assert_array_equal(problem.x0, first.init(4))
    assert problem.dim == 8 * 14 + 4 * 9 + 3 * 5


def test_a_data_problem_saves_and_loads_with_its_test_rows(tmp_path: Path) -> None:
    problem = built(kind="softmax", data="builtin:iris", intercept=True)
    problem.save(tmp_path / "p.npz")
    loaded = Problem.load(tmp_path / "p.npz")
    x = np.linspace(-1, 1, problem.dim)
    assert loaded.evaluate(x) == problem.evaluate(x)
    assert loaded.total(x) == problem.total(x)


def sites_csv(path: Path, sites: tuple[str, ...] = ("a", "b", "c"), rows: int = 20) -> Path:
    rng = np.random.default_rng(0)
    lines = ["site,age,dose,outcome"]
    for i in range(rows * len(sites)):
        lines.append(f"{sites[i % len(sites)]},{rng.integers(20, 90)},{rng.normal():.4f},{i % 2}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_by_column_partition_one_agent_per_site(tmp_path: Path) -> None:
    path = sites_csv(tmp_path / "sites.csv")
    problem = built(
        agents=3,
        kind="logistic",
        data=str(path),
        label="outcome",
        partition={"kind": "column", "column": "site"},
    )
    assert problem.dim == 2  # age and dose: the site column is no feature
    assert sum(f.samples for f in problem.objectives) == 48  # 60 rows, 12 held out
    assert all(f.samples >= 12 for f in problem.objectives)


def test_by_column_partition_fixes_the_number_of_agents(tmp_path: Path) -> None:
    path = sites_csv(tmp_path / "sites.csv")
    spec: dict[str, Any] = {"kind": "logistic", "data": str(path)}
    spec["partition"] = {"kind": "column", "column": "site"}
    with pytest.raises(ScenarioError) as info:
        built(agents=4, **spec)
    message = str(info.value)
    assert message.startswith("problem.partition.column: column 'site'")
    assert "3 distinct values" in message and "the graph has 4 nodes" in message


def test_logistic_needs_two_classes_named_by_column() -> None:
    with pytest.raises(ScenarioError, match=r"label column 'target': kind = 'logistic' needs two"):
        built(kind="logistic", data="builtin:iris")


@pytest.mark.parametrize(
    ("kind", "data", "words"),
    [
        ("softmax", "builtin:diabetes", "needs class labels"),
        ("least_squares", "builtin:wine", "needs a regression target"),
    ],
)
def test_a_target_of_the_wrong_task_is_refused_naming_the_column(
    kind: str, data: str, words: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        built(kind=kind, data=data)
    assert f"builtin:{data.split(':')[1]}, label column 'target'" in str(info.value)
    assert words in str(info.value)


def test_a_float_label_in_a_file_is_no_class(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("a,y\n1,0.5\n2,1.5\n3,0\n4,1\n5,2\n")
    with pytest.raises(ScenarioError) as info:
        built(agents=2, kind="softmax", data=str(path))
    assert str(info.value).startswith(f"{path}, row 2 (header = row 1), column 'y' (index 1)")


def test_an_option_the_loader_does_not_take_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"^problem\.delimiter: builtin:iris is read as"):
        built(kind="softmax", data="builtin:iris", delimiter=";")
