"""The agents package's public face: exactly these names, each really there."""

from __future__ import annotations

import inspect
import re
import types
import typing

import agents

EXPECTED = [
    "CLEAR_INT_BYTES",
    "FLOAT_EXACT",
    "MIN_SECURE_BITS",
    "OBJECTIVE_KINDS",
    "SHORT_EXPONENT_BITS",
    "Activation",
    "Agent",
    "AgentConfig",
    "AgentError",
    "AgentReport",
    "Algorithm",
    "Attenuation",
    "AuthenticationError",
    "Authenticator",
    "Checkpoint",
    "CheckpointError",
    "Classifier",
    "ClearEdge",
    "ConfigError",
    "CryptoBackend",
    "CryptoError",
    "CryptoPool",
    "CryptoStats",
    "DecryptMode",
    "Diverged",
    "EdgeProtocol",
    "FixedBaseTable",
    "FloatArray",
    "Identity",
    "IdentityError",
    "IndexArray",
    "InlineCrypto",
    "Journal",
    "LeastSquares",
    "Logistic",
    "Mlp",
    "Objective",
    "Observer",
    "PaillierEdge",
    "Payload",
    "ProtocolError",
    "PublicIdentity",
    "PublicKey",
    "QuantizationOverflow",
    "Quantizer",
    "Record",
    "Ridge",
    "Roster",
    "Rounding",
    "SecretKey",
    "SlotLayout",
    "Softmax",
    "Stepsize",
    "StepsizeMode",
    "TableCache",
    "WeightMode",
    "aggregate",
    "check_gradient",
    "check_objective",
    "check_term",
    "decrypt",
    "decrypt_sum",
    "digest",
    "encrypt",
    "fixed_base",
    "from_residue",
    "keygen",
    "layout_for",
    "new_identities",
    "objective_from_arrays",
    "serve",
    "serve_packed",
    "short_exponent_tables",
    "term_bound",
    "to_residue",
]


def test_all_is_exactly_the_expected_list() -> None:
    assert agents.__all__ == EXPECTED


ALIASES = {"Activation", "FloatArray", "IndexArray", "Payload"}
"""Type aliases of public signatures: generic aliases of numpy, typing and collections.abc."""


def test_every_exported_name_exists_and_comes_from_agents() -> None:
    for name in agents.__all__:
        value = getattr(agents, name)
        if name in ALIASES:
            assert typing.get_origin(value) is not None, name
            continue
        module = getattr(value, "__module__", "agents")
        assert module.startswith("agents"), (name, module)


def test_no_public_name_is_left_out_of_all() -> None:
    public = {
        name
        for name, value in vars(agents).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(EXPECTED)


def test_errors_share_one_root() -> None:
    for name in ("ConfigError", "CryptoError", "Diverged", "ProtocolError", "QuantizationOverflow"):
        assert issubclass(getattr(agents, name), agents.AgentError)
    assert issubclass(agents.ConfigError, ValueError)


FOREIGN = {
    # builtins and the standard library
    *("int", "float", "str", "bytes", "bool", "None", "list", "dict", "tuple", "set", "type"),
    *("object", "Any", "ClassVar", "Self", "BaseException", "TracebackType", "Path", "IO"),
    "Protocol",
    *("Sequence", "Mapping", "Iterable", "Iterator", "Callable", "Awaitable", "Coroutine"),
    # numpy
    *("np", "ndarray", "random", "Generator", "npt", "ArrayLike", "NDArray", "float64"),
    # transport's public names
    "Endpoint",
    "Envelope",
    "TrafficCounters",
}


def _words(annotation: object) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", str(annotation)))


def _signature_names(obj: object) -> set[str]:
    try:
        signature = inspect.signature(obj)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return set()
    annotations = [p.annotation for p in signature.parameters.values()]
    annotations.append(signature.return_annotation)
    return set().union(*(_words(a) for a in annotations if a is not inspect.Parameter.empty))


def _public_names(value: object) -> set[str]:
    """The names in the annotations of a function, or of a class's constructor, public
    methods, properties and dataclass fields."""
    if not inspect.isclass(value):
        return _signature_names(value) if callable(value) else set()
    words = set()
    for attr, member in vars(value).items():
        if attr.startswith("_") and attr != "__init__":
            continue
        function = member.fget if isinstance(member, property) else member
        if isinstance(function, staticmethod | classmethod):
            function = function.__func__
        if inspect.isfunction(function):
            words |= _signature_names(function)
    for field in getattr(value, "__dataclass_fields__", {}).values():
        if not field.name.startswith("_"):
            words |= _words(field.type)
    return words


def test_every_type_in_a_public_signature_is_exported() -> None:
    """A name in the annotations of an exported function, class or public method is
    exported too (or belongs to the standard library, numpy or transport)."""
    missing = {}
    for name in agents.__all__:
        unknown = _public_names(getattr(agents, name)) - set(agents.__all__) - FOREIGN
        if unknown:
            missing[name] = sorted(unknown)
    assert missing == {}


def test_the_runtime_face_is_re_exported_as_is() -> None:
    import agents.runtime

    assert set(agents.runtime.__all__) <= set(agents.__all__)
    for name in agents.runtime.__all__:
        assert getattr(agents, name) is getattr(agents.runtime, name), name
