"""The agents package's public face: exactly these names, each really there."""

from __future__ import annotations

import types
import typing

import agents

EXPECTED = [
    "CLEAR_INT_BYTES",
    "FLOAT_EXACT",
    "MIN_SECURE_BITS",
    "Agent",
    "AgentConfig",
    "AgentError",
    "AgentReport",
    "Algorithm",
    "Attenuation",
    "Checkpoint",
    "CheckpointError",
    "ClearEdge",
    "ConfigError",
    "CryptoBackend",
    "CryptoError",
    "CryptoPool",
    "CryptoStats",
    "EdgeProtocol",
    "FloatArray",
    "InlineCrypto",
    "Journal",
    "LeastSquares",
    "Logistic",
    "Objective",
    "Observer",
    "PaillierEdge",
    "Payload",
    "ProtocolError",
    "PublicKey",
    "QuantizationOverflow",
    "Quantizer",
    "Record",
    "Rounding",
    "SecretKey",
    "SlotLayout",
    "Stepsize",
    "StepsizeMode",
    "WeightMode",
    "decrypt",
    "digest",
    "encrypt",
    "fixed_base",
    "from_residue",
    "keygen",
    "layout_for",
    "serve",
    "serve_packed",
    "to_residue",
]


def test_all_is_exactly_the_expected_list():
    assert agents.__all__ == EXPECTED


ALIASES = {"FloatArray", "Payload"}
"""Type aliases of public signatures: generic aliases of numpy and collections.abc types."""


def test_every_exported_name_exists_and_comes_from_agents():
    for name in agents.__all__:
        value = getattr(agents, name)
        if name in ALIASES:
            assert typing.get_origin(value) is not None, name
            continue
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
