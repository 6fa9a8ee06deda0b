"""``kind = "python"``: a user's factory in a file outside the package runs end to end;
a broken one is refused before the run, with its own message naming the factory."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from scenarios import Problem, Run, ScenarioError, load
from scenarios.assembly import build_problem
from tests.scenarios._problem_support import INSECURE_TEST_BITS, run
from tests.scenarios.support import hemesh

GOOD = """
import numpy as np


class Quadratic:
    # f_i(x) = (1/2m) sum_s ||x - c_s||^2 around the agent's own centre
    def __init__(self, centres):
        self.centres = centres

    @property
    def dim(self):
        return self.centres.shape[1]

    @property
    def samples(self):
        return self.centres.shape[0]

    def value(self, x, batch=None):
        c = self.centres if batch is None else self.centres[batch]
        return float(0.5 * np.mean(np.sum((x - c) ** 2, axis=1)))

    def gradient(self, x, batch=None):
        c = self.centres if batch is None else self.centres[batch]
        return x - c.mean(axis=0)

    def smoothness(self):
        return 1.0


def make(*, agent, agents, seed):
    rng = np.random.default_rng([seed, agent])
    return Quadratic(rng.normal(agent, 1.0, size=(20, 3)))
"""

BROKEN = {
    "import": ("raise RuntimeError('no licence server')\n", "importing 'userlib' raised"),
    "missing": ("x = 1\n", "has no 'make'"),
    "not callable": ("make = 3\n", "'make' is a int, not a function"),
    "raises": (
        "def make(*, agent, agents, seed):\n    raise KeyError('column')\n",
        "the call for agent 0 raised KeyError",
    ),
    "wrong type": ("def make(*, agent, agents, seed):\n    return [1, 2]\n", "not an objective"),
    "dims": (
        GOOD + "\n_make = make\ndef make(*, agent, agents, seed):\n"
        "    o = _make(agent=agent, agents=agents, seed=seed)\n"
        "    o.centres = o.centres[:, : 2 + agent % 2]\n    return o\n",
        "disagree on dim: [2, 3, 2, 3]",
    ),
    "nan": (
        GOOD.replace("return float(0.5 *", "return float('nan') * float(0.5 *"),
        "value(x0) = nan is not finite",
    ),
    "gradient": (
        GOOD.replace("return x - c.mean(axis=0)", "return 2 * (x - c.mean(axis=0))"),
        "gradient disagrees with central differences",
    ),
    "no smoothness": (
        GOOD.replace("def smoothness(self):", "def _smoothness(self):"),
        "has no smoothness(); give one or set algorithm.lambda0",
    ),
}


@pytest.fixture
def clean_modules() -> Iterator[None]:
    """The user modules a test imports are forgotten after it (each test writes its own)."""
    path = list(sys.path)
    yield
    sys.path[:] = path
    for name in [m for m in sys.modules if m == "userlib"]:
        del sys.modules[name]


def write_scenario(folder: Path, out: Path, *, iterations: int = 30, extra: str = "") -> Path:
    path = folder / "s.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            name = "user"
            seed = 3
            iterations = {iterations}
            [topology]
            kind = "ring"
            n = 4
            [problem]
            kind = "python"
            factory = "userlib:make"
            batch_size = 5
            [algorithm]
            kind = "paillier"
            baselines = ["plain"]
            {extra}
            [crypto]
            key_bits = {INSECURE_TEST_BITS}
            insecure_keys = true
            inline = true
            [transport]
            kind = "memory"
            [output]
            dir = "{out}"
            """
        )
    )
    return path


@pytest.mark.usefixtures("clean_modules")
def test_a_factory_beside_the_scenario_runs_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "userlib.py").write_text(GOOD)
    scenario = load(write_scenario(tmp_path, tmp_path / "runs"))
    paillier, plain = run(scenario)
    for result in (paillier, plain):
        loaded = Run.load(result.run)  # makes the factory's call again
        assert loaded.problem.factory is not None
        assert loaded.problem.factory.ref == "userlib:make"
        _, x = loaded.states()
        start, end = x[0].mean(axis=0), x[-1].mean(axis=0)
        # the minimizer of sum_i f_i is the mean of every agent's centres
        best = np.mean([f.centres.mean(axis=0) for f in loaded.problem.objectives], axis=0)  # type: ignore[attr-defined]
        floor = loaded.problem.total(best)
        assert loaded.problem.total(end) - floor < 0.05 * (loaded.problem.total(start) - floor)
        assert result.summary["mse_final"] is None  # no x* for a user's objective
    resolved = Run.load(paillier.run).resolved["problem"]
    assert resolved["factory"] == "userlib:make"
    assert resolved["module_path"] == [str(tmp_path.resolve())]
    _, x = Run.load(paillier.run).states()
    assert np.abs(x[-1].mean(axis=0) - 1.5).max() < 0.5  # agents' centres: 0, 1, 2, 3


@pytest.mark.usefixtures("clean_modules")
def test_a_saved_factory_problem_makes_the_same_call_again(tmp_path: Path) -> None:
    (tmp_path / "userlib.py").write_text(GOOD)
    scenario = load(write_scenario(tmp_path, tmp_path / "runs"))
    problem = build_problem(scenario, 4)
    problem.save(tmp_path / "p.npz")
    again = Problem.load(tmp_path / "p.npz")
    x = np.array([0.3, -0.2, 1.0])
    assert again.total(x) == problem.total(x)
    assert again.factory == problem.factory


@pytest.mark.usefixtures("clean_modules")
def test_a_module_path_folder_is_searched(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "userlib.py").write_text(GOOD)
    path = write_scenario(tmp_path, tmp_path / "runs")
    path.write_text(path.read_text().replace("batch_size = 5", 'module_path = ["lib"]'))
    assert len(build_problem(load(path), 4).objectives) == 4


@pytest.mark.usefixtures("clean_modules")
def test_without_smoothness_lambda0_is_enough(tmp_path: Path) -> None:
    source, _ = BROKEN["no smoothness"]
    (tmp_path / "userlib.py").write_text(source)
    scenario = load(write_scenario(tmp_path, tmp_path / "runs", extra="lambda0 = 0.5"))
    problem = build_problem(scenario, 4)
    assert problem.smoothness() == pytest.approx(6.0)  # 3 / lambda0


@pytest.mark.usefixtures("clean_modules")
def test_a_missing_module_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        build_problem(load(write_scenario(tmp_path, tmp_path / "runs")), 4)
    message = str(info.value)
    assert message.startswith("problem.factory 'userlib:make': cannot import 'userlib'")
    assert str(tmp_path.resolve()) in message


@pytest.mark.usefixtures("clean_modules")
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_factory_is_refused_before_the_run(tmp_path: Path, case: str) -> None:
    source, words = BROKEN[case]
    (tmp_path / "userlib.py").write_text(source)
    with pytest.raises(ScenarioError) as info:
        build_problem(load(write_scenario(tmp_path, tmp_path / "runs")), 4)
    message = str(info.value)
    assert message.startswith("problem.factory 'userlib:make': "), message
    assert words in message, message
    assert "\n" not in message


def test_the_cli_refuses_a_broken_factory_with_exit_2(tmp_path: Path) -> None:
    source, words = BROKEN["gradient"]
    (tmp_path / "userlib.py").write_text(source)
    path = write_scenario(tmp_path, tmp_path / "runs")
    result = hemesh("run", str(path), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "problem.factory 'userlib:make'" in lines[0] and words in lines[0]
    assert not (tmp_path / "runs").exists()
