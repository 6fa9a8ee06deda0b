"""agents.objectives' public face: exactly these names, the same objects agents re-exports."""

from __future__ import annotations

import types

import agents
from agents import objectives

EXPECTED = [
    "ACTIVATIONS",
    "DEFAULT_SMOOTHNESS_HINT",
    "OBJECTIVE_KINDS",
    "Activation",
    "Classifier",
    "FloatArray",
    "IndexArray",
    "LeastSquares",
    "Logistic",
    "Mlp",
    "Objective",
    "Ridge",
    "Softmax",
    "check_gradient",
    "check_objective",
    "objective_from_arrays",
]


def test_all_is_exactly_the_expected_list() -> None:
    assert objectives.__all__ == EXPECTED


def test_no_public_name_is_left_out_of_all() -> None:
    public = {
        name
        for name, value in vars(objectives).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    public.discard("annotations")
    assert public == set(EXPECTED)


def test_what_agents_exports_from_here_is_the_same_object() -> None:
    shared = set(agents.__all__) & set(EXPECTED)
    assert shared == {
        "OBJECTIVE_KINDS",
        "Activation",
        "Classifier",
        "FloatArray",
        "IndexArray",
        "LeastSquares",
        "Logistic",
        "Mlp",
        "Objective",
        "Ridge",
        "Softmax",
        "check_gradient",
        "check_objective",
        "objective_from_arrays",
    }
    for name in shared:
        assert getattr(agents, name) is getattr(objectives, name), name


def test_every_model_lives_in_a_private_module_of_the_sub_package() -> None:
    for name in ("LeastSquares", "Logistic", "Ridge", "Softmax", "Mlp", "check_objective"):
        module = getattr(objectives, name).__module__
        assert module.startswith("agents.objectives._"), (name, module)
