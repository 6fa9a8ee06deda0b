"""Scenario validation: good files load, bad fields are named with their value."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents import Algorithm
from scenarios import ScenarioError, load, parse

EXAMPLES = Path(__file__).parents[2] / "scenarios" / "examples"


def minimal(**overrides: object) -> dict[str, object]:
    doc: dict[str, object] = {"name": "t", "topology": {"kind": "ring", "n": 4}}
    doc.update(overrides)
    return doc


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.stem)
def test_every_example_loads(path: Path) -> None:
    scenario = load(path)
    assert scenario.name
    assert scenario.iterations >= 1


def test_defaults_are_the_reference_algorithm_with_secure_keys() -> None:
    scenario = parse(minimal(), source="t")
    assert scenario.algorithm.kind is Algorithm.PAILLIER
    assert scenario.crypto.key_bits == 2048
    assert (scenario.algorithm.gamma0, scenario.algorithm.b, scenario.algorithm.p) == (
        1.0,
        0.1,
        0.81,
    )
    assert scenario.transport.broker == "embedded"


@pytest.mark.parametrize(
    ("doc", "field", "value"),
    [
        (minimal(iterations=0), "iterations", "0"),
        (minimal(name="a/b"), "name", "'a/b'"),
        (minimal(algorithm={"gamma0": -1}), "algorithm.gamma0", "-1"),
        (minimal(algorithm={"p": 0.3}), "algorithm.p", "0.3"),
        (minimal(algorithm={"kind": "magic"}), "algorithm.kind", "'magic'"),
        (minimal(algorithm={"rounding": "up"}), "algorithm.rounding", "'up'"),
        (minimal(crypto={"key_bits": 1024}), "crypto", "1024"),
        (minimal(problem={"dim": 0}), "problem.dim", "0"),
        (minimal(problem={"colour": "red"}), "problem.colour", "'red'"),
        (minimal(transport={"kind": "carrier-pigeon"}), "transport.kind", "'carrier-pigeon'"),
    ],
)
def test_bad_field_is_named_with_its_value(doc: dict[str, object], field: str, value: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse(doc, source="bad.toml")
    message = str(info.value)
    assert message.startswith(f"bad.toml: {field}")
    assert value in message
    assert "\n" not in message


def test_insecure_keys_need_the_flag() -> None:
    scenario = parse(minimal(crypto={"key_bits": 256, "insecure_keys": True}), source="t")
    assert scenario.crypto.key_bits == 256


def test_missing_topology_is_reported() -> None:
    with pytest.raises(ScenarioError, match="topology: Field required"):
        parse({"name": "t"}, source="t")


def test_baselines_must_differ_from_main_algorithm() -> None:
    with pytest.raises(ScenarioError, match="baselines repeat"):
        parse(minimal(algorithm={"kind": "plain", "baselines": ["plain"]}), source="t")


def test_unreadable_and_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = \n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load(broken)


def test_relative_csv_path_resolves_against_the_scenario(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        'name = "s"\n[topology]\nkind = "ring"\nn = 4\n'
        '[problem]\nkind = "logistic"\ncsv = "data.csv"\n'
    )
    assert load(path).problem.csv == (tmp_path / "data.csv").resolve()
