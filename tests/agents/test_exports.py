"""The agents package's public face: exactly these names, each really there."""

from __future__ import annotations

import types

import agents

EXPECTED = [
    "CLEAR_INT_BYTES",
    "FLOAT_EXACT",
    "MIN_SECURE_BITS",
    "OBJECTIVE_KINDS",
    "Agent",
    "AgentConfig",
    "AgentError",
    "AgentReport",
    "Algorithm",
    "Attenuation",
    "Checkpoint",
    "CheckpointError",
    "Classifier",
    "ClearEdge",
    "ConfigError",
    "CryptoBackend",
    "CryptoError",
    "CryptoPool",
    "EdgeProtocol",
    "InlineCrypto",
    "Journal",
    "LeastSquares",
    "Logistic",
    "Mlp",
    "Objective",
    "Observer",
    "PaillierEdge",
    "ProtocolError",
    "PublicKey",
    "QuantizationOverflow",
    "Quantizer",
    "Record",
    "Ridge",
    "Rounding",
    "SecretKey",
    "SlotLayout",
    "Softmax",
    "Stepsize",
    "StepsizeMode",
    "WeightMode",
    "check_gradient",
    "check_objective",
    "decrypt",
    "digest",
    "encrypt",
    "fixed_base",
    "from_residue",
    "keygen",
    "layout_for",
    "objective_from_arrays",
    "serve",
    "serve_packed",
    "to_residue",
]


def test_all_is_exactly_the_expected_list():
    assert agents.__all__ == EXPECTED


def test_every_exported_name_exists_and_comes_from_agents():
    for name in agents.__all__:
        value = getattr(agents, name)
        module = getattr(value, "__module__", "agents")
        assert module.startswith("agents"), (name, module)


def test_no_public_name_is_left_out_of_all():
    public = {
        name
        for name, value in vars(agents).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(EXPECTED)


def test_errors_share_one_root():
    for name in ("ConfigError", "CryptoError", "ProtocolError", "QuantizationOverflow"):
        assert issubclass(getattr(agents, name), agents.AgentError)
    assert issubclass(agents.ConfigError, ValueError)
