"""A broken scenario file is refused by ``hemesh run`` before anything starts: exit code
2, one line on stderr naming the file, the field and the value, no traceback, nothing
under the output folder and no process left behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.scenarios._refusals import leftover_processes, scenario_text, toml
from tests.scenarios.support import hemesh


def utf16(out: Path) -> bytes:
    return scenario_text(out, {}).encode("utf-16")


def binary(out: Path) -> bytes:
    return bytes(range(256)) * 4


def colluder_bool(out: Path) -> bytes:
    adversary = '[[adversary]]\nkind = "colluders"\nname = "pair"\nmembers = [true]\ntarget = 0\n'
    return toml()(out) + adversary.encode()


# (id, file contents from the output dir, field named, value named)
CASES: list[tuple[str, Callable[[Path], bytes], str, str]] = [
    ("binary", binary, "UTF-8", "0x80"),
    ("utf16", utf16, "UTF-8", "0xff"),
    ("noise-inf", toml(problem__noise="inf"), "problem.noise", "inf"),
    ("heterogeneity-inf", toml(problem__heterogeneity="inf"), "problem.heterogeneity", "inf"),
    ("l2-inf", toml(problem__l2="inf"), "problem.l2", "inf"),
    ("l2-nan", toml(problem__l2="nan"), "problem.l2", "nan"),
    ("dp_noise-inf", toml(algorithm__dp_noise="inf"), "algorithm.dp_noise", "inf"),
    ("weight_bits-1", toml(algorithm__weight_bits="1"), "algorithm.weight_bits", "(got 1)"),
    ("a_max-tiny", toml(algorithm__a_max="1e-9"), "algorithm.a_max", "1e-09"),
    ("lambda0-huge", toml(algorithm__lambda0="1e300"), "algorithm.lambda0", "1e+300"),
    ("iterations-string", toml(iterations='"200"'), "iterations", "'200'"),
    ("iterations-bool", toml(iterations="true"), "iterations", "True"),
    ("iterations-float", toml(iterations="200.0"), "iterations", "200.0"),
    ("iterations-limit", toml(iterations="10_000_001"), "iterations", "10000001"),
    ("attenuation-string", toml(algorithm__attenuation='"off"'), "algorithm.attenuation", "'off'"),
    ("attenuation-int", toml(algorithm__attenuation="0"), "algorithm.attenuation", "(got 0)"),
    ("seed-string", toml(seed='"7"'), "seed", "'7'"),
    ("b-bool", toml(algorithm__b="true"), "algorithm.b", "True"),
    ("frac_bits-float", toml(algorithm__frac_bits="24.0"), "algorithm.frac_bits", "24.0"),
    ("key_bits-limit", toml(crypto__key_bits="65536"), "crypto.key_bits", "65536"),
    ("workers-limit", toml(crypto__workers="100000"), "crypto.workers", "100000"),
    ("inline-string", toml(crypto__inline='"yes"'), "crypto.inline", "'yes'"),
    ("timeout-limit", toml(transport__round_timeout="1e300"), "transport.round_timeout", "1e+300"),
    ("agents-limit", toml(topology__n="100_000_000"), "topology.n", "100000000"),
    ("agents-float", toml(topology__n="1e8"), "topology: ring: n", "100000000.0"),
    ("grid-limit", toml(topology__kind='"grid"', topology__n="", topology__rows="1000",
                        topology__cols="1000"), "topology.rows", "1000"),
    ("dim-memory", toml(problem__dim="1e5"), "problem.dim", "100000"),
    ("samples-memory", toml(problem__samples="1e8"), "problem.samples", "100000000"),
    ("theta_spread-element", toml(algorithm__theta_spread="[0.1, 0.2, -0.1, 0.3]"),
     "algorithm.theta_spread.2: Input should be greater than or equal to 0", "-0.1"),
    ("theta_spread-length", toml(algorithm__theta_spread="[0.1, 0.2]"),
     "algorithm.theta_spread", "[0.1, 0.2]"),
    ("a_max-stability", toml(algorithm__a_max="0.9"), "algorithm.a_max", "0.9"),
    ("bad-graph", toml(topology__n="2"), "topology", "2"),
    ("colluder-bool", colluder_bool, "adversary.0", "True"),
]  # fmt: skip


def output_dir_a_file(out: Path) -> bytes:
    taken = out.parent / "a-file"
    taken.write_text("not a folder\n")
    return toml(output__dir=f'"{taken.as_posix()}"')(out)


CASES += [
    ("broker-garbage", toml(transport__kind='"mqtt"', transport__broker='"garbage"'),
     "transport.broker", "'garbage'"),
    ("broker-port", toml(transport__kind='"mqtt"', transport__broker='"mqtt://127.0.0.1:99999"'),
     "transport.broker", "99999"),
    ("output-dir-file", output_dir_a_file, "output.dir", "a-file: is a file, not a directory"),
    ("output-dir-unwritable", toml(output__dir='"/sys/hemesh-out"'), "output.dir",
     "/sys/hemesh-out: cannot write in /sys"),
]  # fmt: skip
# a ProblemSpec field: its strict int belongs to the ProblemSpec class
CASES.append(("dim-float", toml(problem__dim="5.0"), "problem.dim", "5.0"))


@pytest.mark.parametrize(
    ("contents", "field", "value"),
    [
        pytest.param(
            contents,
            field,
            value,
            id=case,
        )
        for case, contents, field, value in CASES
    ],
)
def test_hemesh_run_refuses_a_bad_scenario_with_one_line(
    tmp_path: Path, contents: Callable[[Path], bytes], field: str, value: str
) -> None:
    out = tmp_path / "out"
    file = tmp_path / "bad-scenario.toml"
    file.write_bytes(contents(out))
    result = hemesh("run", str(file), cwd=tmp_path, timeout=120)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(file) in lines[0]
    assert field in lines[0]
    assert value in lines[0]
    assert not out.exists() or not any(out.iterdir())
    assert leftover_processes(str(file)) == []


def test_a_good_scenario_of_the_same_form_runs(tmp_path: Path) -> None:
    """The table's base file is sound: each row fails because of its one change."""
    out = tmp_path / "out"
    file = tmp_path / "good-scenario.toml"
    file.write_bytes(toml()(out))
    result = hemesh("run", str(file), cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert any(out.iterdir())


def test_topology_show_refuses_a_repeated_parameter(tmp_path: Path) -> None:
    result = hemesh("topology", "show", "ring n=8 n=9", cwd=tmp_path, timeout=60)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "'n'" in lines[0] and "twice" in lines[0]
