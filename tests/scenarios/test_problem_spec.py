"""``[problem]`` in scenario files: kinds, data options, partitions, factories; every
wrong combination refused naming the field and its value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scenarios import ScenarioError, load, parse
from scenarios.assembly import build_graph, build_problem
from tests.scenarios._problem_support import EXAMPLES, REAL_EXAMPLES


def doc(**problem: Any) -> dict[str, Any]:
    return {"name": "t", "topology": {"kind": "ring", "n": 4}, "problem": problem}


REFUSED = [
    (doc(kind="svm"), "problem.kind", "'svm'"),
    (doc(kind="softmax"), "problem.data", None),
    (doc(kind="mlp", data="builtin:wine", hidden=[0]), "problem.hidden.0", "0"),
    (doc(kind="mlp", data="builtin:wine", hidden=[]), "problem.hidden", "[]"),
    (doc(kind="mlp", data="builtin:wine", activation="sigmoid"), "problem.activation", "'sigmoid'"),
    (doc(kind="logistic", data="builtin:iris", test_fraction=1.0), "problem.test_fraction", "1.0"),
    (doc(kind="logistic", data="x.csv", categorical="drop"), "problem.categorical", "'drop'"),
    (doc(kind="logistic", data="x.csv", dim=3), "problem.dim", "3"),
    (doc(kind="logistic", test_fraction=0.3), "problem.test_fraction", "0.3"),
    (doc(kind="logistic", label="y"), "problem.label", "'y'"),
    (doc(kind="least_squares", hidden=[4]), "problem.hidden", "[4]"),
    (doc(kind="mlp", data="builtin:wine", intercept=True), "problem.intercept", "True"),
    (doc(kind="logistic", intercept=True), "problem.intercept", "True"),
    (doc(kind="least_squares", csv="a.csv"), "problem.csv", "'a.csv'"),
    (doc(kind="logistic", csv="a.csv", data="b.csv"), "problem.csv", "'a.csv'"),
    (doc(kind="logistic", csv="a.csv", standardize=False), "problem.standardize", "False"),
    (doc(kind="logistic", csv="a.csv", label=2), "problem.label", "2"),
    (doc(kind="python"), "problem.factory", None),
    (doc(kind="python", factory="no colon"), "problem.factory", "'no colon'"),
    (doc(kind="python", factory="m:f", data="builtin:iris"), "problem.data", "'builtin:iris'"),
    (doc(kind="logistic", factory="m:f"), "problem.factory", "'m:f'"),
    (
        doc(kind="logistic", data="x.csv", partition={"kind": "column"}),
        "problem.partition.column",
        None,
    ),
    (
        doc(kind="logistic", data="x.csv", partition={"kind": "iid", "column": "site"}),
        "problem.partition.column",
        "'site'",
    ),
    (
        doc(kind="logistic", data="x.csv", partition={"kind": "iid", "alpha": 0.3}),
        "problem.partition.alpha",
        "0.3",
    ),
    (
        doc(kind="logistic", data="x.csv", partition={"kind": "dirichlet", "alpha": 0}),
        "problem.partition.alpha",
        "0",
    ),
    (
        doc(kind="logistic", data="x.csv", partition={"kind": "sites"}),
        "problem.partition.kind",
        "'sites'",
    ),
    (
        doc(kind="ridge", data="builtin:diabetes", partition={"kind": "dirichlet"}),
        "problem.partition.kind",
        "'dirichlet'",
    ),
    (doc(kind="logistic", data="x.csv", colour="red"), "problem.colour", "'red'"),
]


@pytest.mark.parametrize(
    ("scenario", "field", "value"), REFUSED, ids=[f"{f}-{i}" for i, (_, f, _) in enumerate(REFUSED)]
)
def test_a_bad_problem_names_its_field_and_value(
    scenario: dict[str, Any], field: str, value: str | None
) -> None:
    with pytest.raises(ScenarioError) as info:
        parse(scenario, source="bad.toml")
    message = str(info.value)
    assert message.startswith(f"bad.toml: {field}: "), message
    if value is not None:
        assert f"(got {value})" in message, message
    else:
        assert "(got" not in message, message
    assert "\n" not in message


def test_data_defaults() -> None:
    problem = parse(doc(kind="softmax", data="builtin:digits"), source="ok").problem
    assert (problem.test_fraction, problem.standardize, problem.intercept) == (0.2, True, False)
    assert problem.partition.kind == "iid"
    assert (problem.categorical, problem.header, problem.hidden) == ("refuse", True, [32])


def test_relative_data_and_module_paths_resolve_against_the_scenario(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(
        'name = "t"\n[topology]\nkind = "ring"\nn = 4\n'
        '[problem]\nkind = "logistic"\ndata = "d/x.csv"\n'
    )
    assert load(tmp_path / "s.toml").problem.data == str((tmp_path / "d" / "x.csv").resolve())
    (tmp_path / "b.toml").write_text(
        'name = "t"\n[topology]\nkind = "ring"\nn = 4\n'
        '[problem]\nkind = "logistic"\ndata = "builtin:breast_cancer"\n'
    )
    assert load(tmp_path / "b.toml").problem.data == "builtin:breast_cancer"
    (tmp_path / "p.toml").write_text(
        'name = "t"\n[topology]\nkind = "ring"\nn = 4\n'
        '[problem]\nkind = "python"\nfactory = "m:f"\nmodule_path = ["lib"]\n'
    )
    assert load(tmp_path / "p.toml").problem.module_path == [
        (tmp_path / "lib").resolve(),
        tmp_path.resolve(),
    ]


@pytest.mark.parametrize("name", REAL_EXAMPLES)
def test_every_real_problem_example_loads_and_builds(name: str) -> None:
    scenario = load(EXAMPLES / name)
    assert scenario.crypto.key_bits == 2048
    assert {a.value for a in scenario.algorithm.baselines} == {"plain", "dp"}
    text = (EXAMPLES / name).read_text()
    assert text.startswith("# What it shows:") and "# How long:" in text
    graph = build_graph(scenario)
    problem = build_problem(scenario, graph.number_of_nodes())
    assert len(problem.objectives) == graph.number_of_nodes()
    assert (problem.test is None) == (scenario.problem.kind == "python")


@pytest.mark.parametrize("name", REAL_EXAMPLES)
def test_a_resolved_dump_of_every_default_parses_back(name: str) -> None:
    # a run's resolved.json spells out every field: defaults must not count as "given"
    scenario = load(EXAMPLES / name)
    again = parse(scenario.model_dump(mode="json"), source="resolved.json")
    assert again == scenario
    graph = build_graph(again)
    assert (
        build_problem(again, graph.number_of_nodes()).dim
        == build_problem(scenario, graph.number_of_nodes()).dim
    )
