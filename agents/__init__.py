"""The agent: its state, its local problem, the update rule and the crypto it uses.

Imports only :mod:`transport`; an agent is given everything as plain values. The
agent at run time (its loops, round table, coupling ledger, update rule, journal and
checkpoints) is the sub-package :mod:`agents.runtime`; the values it is given, its
local problem and its crypto are the modules beside it.
"""

from ._config import AgentConfig, Algorithm, DecryptMode, Record, StepsizeMode, WeightMode
from ._crypto import CryptoBackend, CryptoPool, CryptoStats, InlineCrypto
from ._edge import CLEAR_INT_BYTES, ClearEdge, EdgeProtocol, PaillierEdge, Payload
from ._errors import (
    AgentError,
    ConfigError,
    CryptoError,
    Diverged,
    ProtocolError,
    QuantizationOverflow,
)
from ._fixed_base import FixedBaseTable, TableCache
from ._packing import SlotLayout, layout_for
from ._paillier import (
    MIN_SECURE_BITS,
    SHORT_EXPONENT_BITS,
    PublicKey,
    SecretKey,
    aggregate,
    decrypt,
    decrypt_sum,
    encrypt,
    fixed_base,
    keygen,
    serve,
    serve_packed,
    short_exponent_tables,
)
from ._quantize import FLOAT_EXACT, Quantizer, Rounding, from_residue, to_residue
from ._schedules import Attenuation, Stepsize
from .objectives import (
    OBJECTIVE_KINDS,
    Activation,
    Classifier,
    FloatArray,
    IndexArray,
    LeastSquares,
    Logistic,
    Mlp,
    Objective,
    Ridge,
    Softmax,
    check_gradient,
    check_objective,
    objective_from_arrays,
)
from .runtime import Agent, AgentReport, Checkpoint, CheckpointError, Journal, Observer, digest

__all__ = [
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
    "TableCache",
    "WeightMode",
    "aggregate",
    "check_gradient",
    "check_objective",
    "decrypt",
    "decrypt_sum",
    "digest",
    "encrypt",
    "fixed_base",
    "from_residue",
    "keygen",
    "layout_for",
    "objective_from_arrays",
    "serve",
    "serve_packed",
    "short_exponent_tables",
    "to_residue",
]
