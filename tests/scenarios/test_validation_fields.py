"""Scenario input: every bad field is named with its path and value; settings that break
DESIGN.md's conditions are refused before anything starts, by ``load`` and by the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scenarios import ScenarioError, load, parse
from tests.scenarios.support import hemesh


def minimal(**sections: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": "t", "topology": {"kind": "ring", "n": 4}}
    doc.update(sections)
    return doc


def section(name: str, **fields: Any) -> dict[str, Any]:
    return minimal(**{name: fields})


BAD_FIELDS = [
    (minimal(name=""), "name", "''"),
    (minimal(name="x" * 40), "name", "'" + "x" * 40 + "'"),
    (minimal(seed=-1), "seed", "-1"),
    (minimal(iterations="many"), "iterations", "'many'"),
    (minimal(colour="red"), "colour", "'red'"),
    (section("problem", kind="svm"), "problem.kind", "'svm'"),
    (section("problem", samples=0), "problem.samples", "0"),
    (section("problem", noise=-0.1), "problem.noise", "-0.1"),
    (section("problem", heterogeneity=-1), "problem.heterogeneity", "-1"),
    (section("problem", l2=0), "problem.l2", "0"),
    (section("problem", batch_size=0), "problem.batch_size", "0"),
    (section("problem", dim=100_001), "problem.dim", "100001"),
    (section("problem", data="builtin:iris", test_fraction=0), "problem.test_fraction", "0"),
    (section("problem", kind="mlp", data="builtin:iris", hidden=[0]), "problem.hidden.0", "0"),
    (section("problem", kind="softmax", data="x.csv", dim=3), "problem.dim", "3"),
    (section("problem", data="x.csv", partition={"alpha": -1}), "problem.partition.alpha", "-1"),
    (section("problem", kind="python", factory="m"), "problem.factory", "'m'"),
    (section("algorithm", gamma0=1.5), "algorithm.gamma0", "1.5"),
    (section("algorithm", b=0), "algorithm.b", "0"),
    (section("algorithm", b=float("inf")), "algorithm.b", "inf"),
    (section("algorithm", p=0.5), "algorithm.p", "0.5"),
    (section("algorithm", p=1.2), "algorithm.p", "1.2"),
    (section("algorithm", lambda0=-0.1), "algorithm.lambda0", "-0.1"),
    (section("algorithm", stepsize_decay=0), "algorithm.stepsize_decay", "0"),
    (section("algorithm", stepsize_decay=-1), "algorithm.stepsize_decay", "-1"),
    (section("algorithm", theta_spread=1.0), "algorithm.theta_spread", "1.0"),
    (section("algorithm", frac_bits=49), "algorithm.frac_bits", "49"),
    (section("algorithm", weight_bits=0), "algorithm.weight_bits", "0"),
    (section("algorithm", a_max=0), "algorithm.a_max", "0"),
    (section("algorithm", weights="per_agent"), "algorithm.weights", "'per_agent'"),
    (section("algorithm", stepsize="adaptive"), "algorithm.stepsize", "'adaptive'"),
    (section("algorithm", dp_noise=-1), "algorithm.dp_noise", "-1"),
    (section("algorithm", baselines=["sgd"]), "algorithm.baselines.0", "'sgd'"),
    (section("algorithm", attenuation="yes please"), "algorithm.attenuation", "'yes please'"),
    (section("crypto", key_bits=64), "crypto.key_bits", "64"),
    (section("crypto", workers=-1), "crypto.workers", "-1"),
    (section("transport", broker=5), "transport.broker", "5"),
    (section("transport", round_timeout=0), "transport.round_timeout", "0"),
    (section("transport", startup_timeout=-5), "transport.startup_timeout", "-5"),
    (section("transport", max_message_bytes=100), "transport.max_message_bytes", "100"),
    (section("transport", max_message_bytes=4096.0), "transport.max_message_bytes", "4096.0"),
    (section("transport", max_message_bytes="1MB"), "transport.max_message_bytes", "'1MB'"),
    (section("transport", max_message_bytes=2**25), "transport.max_message_bytes", "33554432"),
    (section("transport", qos=2), "transport.qos", "2"),
    (section("transport", qos="0"), "transport.qos", "'0'"),
    (section("output", record="everything"), "output.record", "'everything'"),
]


@pytest.mark.parametrize(("doc", "field", "value"), BAD_FIELDS, ids=[f for _, f, _ in BAD_FIELDS])
def test_every_bad_field_is_named_with_its_value(
    doc: dict[str, Any], field: str, value: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        parse(doc, source="bad.toml")
    message = str(info.value)
    assert message.startswith(f"bad.toml: {field}: "), message
    assert f"(got {value})" in message, message
    assert "\n" not in message


def test_several_bad_fields_say_how_many_more() -> None:
    doc = minimal(iterations=0, seed=-1, algorithm={"gamma0": 0})
    with pytest.raises(ScenarioError, match=r"; 2 more error\(s\)"):
        parse(doc, source="bad.toml")


# --- DESIGN.md's conditions -------------------------------------------------------------


def test_p_of_one_with_attenuation_breaks_lambda_over_gamma() -> None:
    with pytest.raises(ScenarioError) as info:
        parse(section("algorithm", p=1.0), source="bad.toml")
    message = str(info.value)
    assert message.startswith("bad.toml: algorithm.p: ")
    assert "lambda/gamma -> 0" in message and "sum lambda^2/gamma < inf" in message
    assert "(got 1.0)" in message


@pytest.mark.parametrize("p", [0.51, 0.81, 0.999])
def test_p_below_one_with_attenuation_is_accepted(p: float) -> None:
    assert parse(section("algorithm", p=p), source="ok").algorithm.p == p


def test_attenuation_off_accepts_p_of_one() -> None:
    # gamma is then constant: lambda/gamma -> 0 and sum lambda^2/gamma < inf hold for any p
    scenario = parse(section("algorithm", attenuation=False, p=1.0), source="ok")
    assert scenario.algorithm.p == 1.0


def test_insecure_keys_need_the_flag() -> None:
    with pytest.raises(ScenarioError, match=r"crypto: .*insecure .*got"):
        parse(section("crypto", key_bits=1024), source="bad.toml")
    scenario = parse(section("crypto", key_bits=1024, insecure_keys=True), source="ok")
    assert scenario.crypto.key_bits == 1024


def write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


RING8 = """
name = "v"
[topology]
kind = "ring"
n = 8
[algorithm]
kind = "clear"
"""


@pytest.mark.parametrize(
    ("gamma0", "a_max", "refused"),
    [
        (1.0, 0.7, False),
        (1.0, 0.7071, False),
        (1.0, 0.7072, True),
        (0.5, 0.9, False),
        (0.5, 1.0, True),
    ],
)
def test_a_max_must_keep_gamma0_a_max_squared_degree_under_one(
    tmp_path: Path, gamma0: float, a_max: float, refused: bool
) -> None:
    # a ring has max degree 2: gamma0 * a_max^2 * 2 < 1 (sqrt(1/2) = 0.70711 for gamma0 = 1)
    path = write(tmp_path, RING8 + f"gamma0 = {gamma0}\na_max = {a_max}\n")
    if not refused:
        assert load(path).algorithm.a_max == a_max
        return
    with pytest.raises(ScenarioError) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: algorithm.a_max: gamma0 * a_max^2 * max_degree")
    assert "must be < 1" in message and f"(got {a_max!r})" in message


def test_theta_spread_needs_one_value_per_agent(tmp_path: Path) -> None:
    path = write(tmp_path, RING8 + "theta_spread = [0.1, 0.2, 0.3]\n")
    with pytest.raises(ScenarioError, match=r"algorithm\.theta_spread: 3 values for 8 agents"):
        load(path)
    ok = write(tmp_path, RING8 + f"theta_spread = {[0.1] * 8}\n", name="ok.toml")
    assert load(ok).algorithm.theta_spread == [0.1] * 8


# --- the CLI: exit 2, one line naming the field, nothing started --------------------------


DISCONNECTED = """
name = "split"
[topology]
kind = "file"
path = "split.edgelist"
[transport]
kind = "memory"
"""


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (RING8 + "a_max = 0.9\n", ["algorithm.a_max", "0.9"]),
        (RING8 + "p = 1.0\n", ["algorithm.p", "lambda/gamma -> 0", "1.0"]),
        (RING8 + "[transport.faults]\nloss = 1.0\n", ["transport.faults.loss", "1.0"]),
        (RING8 + "[crypto]\nkey_bits = 512\n", ["crypto", "512", "insecure_keys"]),
        (DISCONNECTED, ["topology", "disconnected", "2 connected components"]),
    ],
    ids=["a_max", "p", "faults", "key_bits", "disconnected"],
)
def test_hemesh_run_refuses_with_exit_2_and_one_line(
    tmp_path: Path, text: str, words: list[str]
) -> None:
    write(tmp_path, "0 1\n1 2\n3 4\n", name="split.edgelist")
    path = write(tmp_path, text)
    result = hemesh("run", str(path), "-o", str(tmp_path / "runs"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert not (tmp_path / "runs").exists()
