"""The scenario file's model: pydantic sections, validated on construction.

A scenario fixes everything a run needs: the graph, each agent's data, the
algorithm and its parameters, the keys, the transport and where logs go.
Every field has a default except where a run cannot be guessed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from agents import (
    MIN_SECURE_BITS,
    Algorithm,
    DecryptMode,
    Record,
    Rounding,
    StepsizeMode,
    WeightMode,
)
from transport import DEFAULT_MAX_MESSAGE_BYTES, MAX_ENVELOPE_BYTES, MIN_MESSAGE_BYTES

from .._errors import BadInput
from ._adversaries import AdversarySpec
from ._conditions import check_attenuation_exponent
from ._fields import (
    MAX_ITERATIONS,
    MAX_KEY_BITS,
    MAX_LAMBDA0,
    MAX_TIMEOUT,
    MAX_WORKERS,
    Flag,
    Integer,
    Positive,
    Real,
)

WEIGHT_BUDGET = 0.9
"""gamma0 * sum_j a_max_ij^2 stays at or below this at every agent (it must be < 1)."""

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")]
_Spread = Annotated[Real, Field(ge=0, lt=1)]


def _spread_form(value: Any) -> str:
    # the tags carry a "-": scenarios.spec.parse leaves them out of the field's path
    return "per-agent" if isinstance(value, list | tuple) else "one-value"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def explicit_fields(self) -> set[str]:
        """The fields set to something other than their default. (Not
        ``model_fields_set``: a run's ``resolved.json`` spells out every default.)"""
        fields = type(self).model_fields
        return {
            name
            for name in self.model_fields_set
            if getattr(self, name) != fields[name].get_default(call_default_factory=True)
        }


class TopologySpec(_Section):
    """``kind`` names a generator of :mod:`topologies` (or ``file`` with ``path``);
    the other keys are its parameters, checked against the generator."""

    model_config = ConfigDict(extra="allow", frozen=True)
    kind: str

    def params(self) -> dict[str, Any]:
        return {"kind": self.kind, **(self.model_extra or {})}


ProblemKind = Literal["least_squares", "ridge", "logistic", "softmax", "mlp", "python"]
PROBLEM_KINDS: tuple[str, ...] = ("least_squares", "ridge", "logistic", "softmax", "mlp", "python")
SYNTHETIC_KINDS = ("least_squares", "logistic")
REGRESSION_KINDS = ("least_squares", "ridge")
CLASSIFIER_KINDS = ("logistic", "softmax", "mlp")
FIELD_ERROR = "problem_field"
"""The pydantic error type of a cross-field check of ``[problem]``: its context names the
field (``field``), the value (``value``) and the reason (``reason``)."""

_DATA_OPTIONS = (
    "label",
    "features",
    "delimiter",
    "header",
    "categorical",
    "test_fraction",
    "standardize",
    "partition",
)
_SYNTHETIC_OPTIONS = ("dim", "samples", "noise", "heterogeneity")
_Column = int | str


def _shown(value: object) -> object:
    """A field's value as the message shows it (a nested section as its dict)."""
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def _refuse(field: str, value: object, reason: str) -> PydanticCustomError:
    return PydanticCustomError(
        FIELD_ERROR, "{reason}", {"field": field, "value": value, "reason": reason}
    )


class PartitionSpec(_Section):
    """``[problem.partition]``: how the training rows are shared among the agents.

    ``iid`` (shuffled, near-equal shares), ``dirichlet`` (label skew: each class cut
    among the agents in Dirichlet(alpha) proportions), ``quantity`` (size skew: agent
    sizes in Dirichlet(alpha) proportions), ``column`` (one agent per distinct value of
    ``column``, e.g. a site; the graph must have that many nodes)."""

    kind: Literal["iid", "dirichlet", "quantity", "column"] = "iid"
    alpha: Positive = 0.5
    column: _Column | None = None

    @model_validator(mode="after")
    def _column_for_column(self) -> PartitionSpec:
        if self.kind == "column" and self.column is None:
            raise _refuse("column", None, "kind = 'column' needs column = the column's name")
        if self.kind != "column" and self.column is not None:
            raise _refuse(
                "column", self.column, f"only for kind = 'column' (kind is {self.kind!r})"
            )
        if "alpha" in self.explicit_fields() and self.kind not in ("dirichlet", "quantity"):
            raise _refuse(
                "alpha", self.alpha, f"only for dirichlet and quantity (kind is {self.kind!r})"
            )
        return self


class ProblemSpec(_Section):
    """``[problem]``: the model every agent trains and the data it trains on.

    Without ``data`` (and ``csv``), ``least_squares`` and ``logistic`` draw synthetic
    data as the first version did (``dim``, ``samples`` per agent, ``noise``,
    ``heterogeneity``). With ``data`` (``builtin:NAME`` or a file relative to the
    scenario file), the rows are split into training and test rows (``test_fraction``,
    seeded from the scenario's seed), standardized on the training rows, and the
    training rows are partitioned among the agents (``[problem.partition]``).
    ``kind = "python"`` calls ``factory = "package.module:function"`` as
    ``function(agent=i, agents=n, seed=seed)`` for each agent's objective."""

    kind: ProblemKind = "least_squares"
    dim: Annotated[Integer, Field(ge=1, le=100_000)] = 5
    samples: Annotated[Integer, Field(ge=1)] = 40
    """Samples per agent (synthetic problems)."""
    noise: Annotated[Real, Field(ge=0)] = 0.1
    heterogeneity: Annotated[Real, Field(ge=0)] = 0.1
    """Spread of the agents' local minimizers (least squares) or feature shifts (logistic)."""
    l2: Annotated[Real, Field(gt=0)] = 0.01
    batch_size: Annotated[Integer, Field(ge=1)] = 8
    csv: Path | None = None
    """Logistic regression on every row of this CSV file (relative to the scenario file),
    dealt to agents at random, no test rows, no scaling: the first version's form, kept as
    it ran. ``data =`` is the general form."""
    data: str | None = None
    """``builtin:NAME`` (breast_cancer, digits, wine, diabetes, iris) or a data file
    (CSV/TSV, LIBSVM, .npz, .npy) relative to the scenario file."""
    label: _Column | None = None
    """Label column (name or 0-based index; default: the last one)."""
    features: list[_Column] | None = None
    """Feature columns (default: every other column, the partition column excepted)."""
    delimiter: Annotated[str, Field(min_length=1)] | None = None
    """One character, ``whitespace``, or unset (sniffed)."""
    header: bool = True
    categorical: Literal["refuse", "onehot"] = "refuse"
    """A non-numeric feature column is refused, or one-hot encoded."""
    test_fraction: Annotated[Real, Field(gt=0, lt=1)] = 0.2
    """Share of the rows held out for test loss and accuracy (data problems)."""
    standardize: bool = True
    """Scale every feature to mean 0, variance 1 on the training rows."""
    intercept: bool = False
    """logistic: a bias term, not regularized; least_squares, ridge, softmax: a column of
    ones appended to the features (softmax: one bias per class; regularized by l2)."""
    hidden: Annotated[list[Annotated[Integer, Field(ge=1, le=4096)]], Field(min_length=1)] = Field(
        default_factory=lambda: [32]
    )
    """mlp: the widths of the hidden layers."""
    activation: Literal["tanh", "relu"] = "tanh"
    """mlp: the activation after every hidden layer."""
    factory: Annotated[str, Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")] | None = None
    """python: ``package.module:function`` returning agent i's objective."""
    module_path: list[Path] = Field(default_factory=list)
    """python: folders searched for the factory's module after ``sys.path`` (relative to
    the scenario file, whose own folder is searched last)."""
    partition: PartitionSpec = Field(default_factory=PartitionSpec)

    @model_validator(mode="after")
    def _fields_fit_the_kind(self) -> ProblemSpec:
        given = self.explicit_fields()
        if self.csv is not None and self.kind != "logistic":
            raise _refuse("csv", str(self.csv), "csv data is only supported for kind = 'logistic'")
        if self.csv is not None and isinstance(self.label, int):
            raise _refuse("label", self.label, "with csv, the label column is named by its header")
        if self.csv is not None and self.data is not None:
            raise _refuse(
                "csv", str(self.csv), "give data or csv, not both (csv is data's old name)"
            )
        if self.kind == "python":
            if self.factory is None:
                raise _refuse(
                    "factory", None, "kind = 'python' needs factory = 'package.module:function'"
                )
            for name in (
                "data",
                *_DATA_OPTIONS,
                *_SYNTHETIC_OPTIONS,
                "intercept",
                "hidden",
                "activation",
            ):
                if name in given:
                    raise _refuse(
                        name,
                        _shown(getattr(self, name)),
                        "not for kind = 'python' (the factory makes the data)",
                    )
            return self
        for name in ("factory", "module_path"):
            if name in given:
                raise _refuse(
                    name,
                    _shown(getattr(self, name)),
                    f"only for kind = 'python' (kind is {self.kind!r})",
                )
        has_data = self.data is not None
        if not has_data and self.kind not in SYNTHETIC_KINDS:
            raise _refuse(
                "data",
                None,
                f"kind = {self.kind!r} needs data = 'builtin:NAME' or a file "
                "(synthetic data: least_squares, logistic)",
            )
        if self.csv is not None:
            wrong, reason = (
                [n for n in _DATA_OPTIONS if n in given and n != "label"],
                ("not with csv (use data = ... for splits, scaling and partitions)"),
            )
        elif has_data:
            wrong = [n for n in _SYNTHETIC_OPTIONS if n in given]
            reason = "only for synthetic data (without data = ...)"
        else:
            wrong = [n for n in _DATA_OPTIONS if n in given]
            reason = "only with data = ..."
        if wrong:
            raise _refuse(wrong[0], _shown(getattr(self, wrong[0])), reason)
        if "intercept" in given and self.intercept and self.kind == "mlp":
            raise _refuse("intercept", self.intercept, "mlp layers have their own biases")
        if self.intercept and not has_data:
            raise _refuse(
                "intercept", self.intercept, "only with data = ... (synthetic data has none)"
            )
        for name in ("hidden", "activation"):
            if name in given and self.kind != "mlp":
                raise _refuse(
                    name,
                    _shown(getattr(self, name)),
                    f"only for kind = 'mlp' (kind is {self.kind!r})",
                )
        if self.partition.kind == "dirichlet" and self.kind in REGRESSION_KINDS:
            raise _refuse(
                "partition.kind",
                "dirichlet",
                f"label skew needs class labels; kind = {self.kind!r} has a regression target",
            )
        return self


class AlgorithmSpec(_Section):
    kind: Algorithm = Algorithm.PAILLIER
    attenuation: Flag = True
    """gamma(k) = gamma0 / (1 + b k^p); false keeps gamma = gamma0 (ablation)."""
    gamma0: Annotated[Real, Field(gt=0, le=1)] = 1.0
    b: Positive = 0.1
    p: Annotated[Real, Field(gt=0.5, le=1)] = 0.81
    lambda0: Annotated[Positive, Field(le=MAX_LAMBDA0)] | None = None
    """Stepsize base; default 3 / L with L the largest local smoothness constant; at most
    1e6 (a first step beyond it overflows every state the fixed-point encoding holds)."""
    stepsize_decay: Positive = 1.0
    """lambda(k) = lambda0 / (1 + stepsize_decay * k)."""
    heterogeneous_stepsize: Flag = True
    theta_spread: Annotated[
        Annotated[_Spread, Tag("one-value")] | Annotated[list[_Spread], Tag("per-agent")],
        Discriminator(_spread_form),
    ] = 0.5
    """theta_i(k) ~ U[1 - s_i, 1 + s_i]; one value for all agents or one per agent (a bad
    element is named by its index: ``algorithm.theta_spread.2``)."""
    rounding: Rounding = Rounding.STOCHASTIC
    frac_bits: Annotated[Integer, Field(ge=0, le=48)] = 24
    weight_bits: Annotated[Integer, Field(ge=1, le=32)] = 16
    """Every edge's a_max must be representable: a_max * 2^weight_bits >= 2 (checked
    against the graph when the scenario is loaded)."""
    a_max: Positive | None = None
    """One upper end of the weight halves for every edge (overrides ``weight_ranges``)."""
    weight_ranges: Literal["global", "degree"] = "degree"
    """Without ``a_max``: ``global`` gives every edge sqrt(0.9 / (gamma0 * max_degree));
    ``degree`` gives edge ij sqrt(0.9 / (gamma0 * max(d_i, d_j))) (Metropolis-like; degrees
    are public), so that sum_j a_ij < 1/gamma0 at every agent without the largest degree
    shrinking every edge."""
    weights: WeightMode = WeightMode.PER_EDGE
    stepsize: StepsizeMode = StepsizeMode.SCALAR
    decrypt: DecryptMode = DecryptMode.AGGREGATE
    """``aggregate``: each agent decrypts the weighted sum of its neighbours' replies once
    per packed ciphertext; ``per_edge``: every reply on its own (the same numbers; slower).
    With per-coordinate weights, an adversary observing an agent, or checkpoints, replies
    are decrypted per edge whatever this says."""
    dp_noise: Annotated[Real, Field(ge=0)] = 0.1
    """Laplace scale of the noise the dp baseline adds to shared states."""
    baselines: list[Algorithm] = Field(default_factory=list)
    """Also run these algorithms on the same graph, data and seed."""

    @field_validator("p")
    @classmethod
    def _p_keeps_lambda_over_gamma_vanishing(cls, p: float, info: ValidationInfo) -> float:
        check_attenuation_exponent(p, attenuation=info.data.get("attenuation", True))
        return p

    @model_validator(mode="after")
    def _checks(self) -> AlgorithmSpec:
        if self.kind in self.baselines:
            raise ValueError(f"baselines repeat the main algorithm {self.kind.value!r}")
        if len(set(self.baselines)) != len(self.baselines):
            raise ValueError("baselines has duplicates")
        return self


class CryptoSpec(_Section):
    key_bits: Annotated[Integer, Field(ge=128, le=MAX_KEY_BITS)] = MIN_SECURE_BITS
    """Paillier key size, at most 8192 (16384-bit keys take minutes to generate)."""
    insecure_keys: Flag = False
    """Allow keys under 2048 bits (tests, quick demos)."""
    workers: Annotated[Integer, Field(ge=0, le=MAX_WORKERS)] = 0
    """Crypto worker processes shared by the agents of a process; 0 = one per core; at
    most 1024."""
    inline: Flag = False
    """Run Paillier operations on the event loop instead (small keys, tests)."""
    packing: Flag = True
    """Pack many fixed-point values into one ciphertext; false: one value per ciphertext."""
    fixed_base: Flag = True
    """Each agent publishes h = r0^n; neighbours re-randomize with h^t, t of 320 random
    bits (6x cheaper; an assumption, see the README's security notes). false: r^n."""

    @model_validator(mode="after")
    def _secure(self) -> CryptoSpec:
        if self.key_bits < MIN_SECURE_BITS and not self.insecure_keys:
            raise ValueError(
                f"key_bits = {self.key_bits} is insecure (< {MIN_SECURE_BITS}); "
                "set insecure_keys = true to allow it"
            )
        if self.key_bits % 2:
            raise ValueError(f"key_bits must be even, got {self.key_bits}")
        return self


class FaultsSpec(_Section):
    """``[transport.faults]``: faults injected on what agents send (public keys excepted),
    seeded from the scenario's seed; see transport.FaultSpec."""

    loss: Annotated[Real, Field(ge=0, lt=1)] = 0.0
    duplicate: Annotated[Real, Field(ge=0, lt=1)] = 0.0
    delay: Annotated[Real, Field(ge=0, le=60)] = 0.0
    """Each message goes out after a uniform random delay in [0, delay] seconds."""
    reorder: Annotated[Real, Field(ge=0, lt=1)] = 0.0
    kinds: list[Literal["request", "reply", "state", "skip", "bye"]] | None = None
    """The message kinds disturbed; default all but public keys."""


class TransportSpec(_Section):
    kind: Literal["mqtt", "memory"] = "mqtt"
    broker: str = "embedded"
    """``embedded`` (amqtt on 127.0.0.1) or ``mosquitto``: a broker per run started and
    stopped by hemesh, locked down alike (per-agent logins with generated passwords and
    an ACL from the graph); or a URL ``mqtt://[user:pass@]host[:port]`` of a running
    MQTT 3.1.1 broker."""
    round_timeout: Annotated[Positive, Field(le=MAX_TIMEOUT)] = 30.0
    """Seconds an agent waits for a neighbour in one round (at most a day)."""
    startup_timeout: Annotated[Positive, Field(le=MAX_TIMEOUT)] = 60.0
    """Seconds the agents wait for each other at the start (at most a day)."""
    faults: FaultsSpec | None = None
    """Inject message loss, duplication, delay and reordering (in-process runs)."""
    pad_to: Annotated[Integer, Field(ge=64, le=16 * 1024 * 1024)] | None = None
    """Pad every envelope an agent sends to exactly this many bytes, so that sizes do
    not tell message kinds apart (useful over TLS). Must exceed the largest by 8."""
    max_message_bytes: Annotated[Integer, Field(ge=MIN_MESSAGE_BYTES, le=MAX_ENVELOPE_BYTES)] = (
        DEFAULT_MAX_MESSAGE_BYTES
    )
    """An encoded envelope larger than this travels as numbered chunks of at most this
    many bytes, rejoined and checked by the receiver (default 256 KiB, under common
    brokers' limits; 16 MiB, the largest envelope, never splits)."""
    qos: Literal[0, 1] = 1
    """MQTT QoS of requests, replies, states and skips (keys, goodbyes and statuses are
    always QoS 1). 0 saves the PUBACKs (a third less client CPU per message, measured);
    a message lost in a reconnection is then not resent: its edge is skipped after one
    round timeout. See QOS_NOTE in transport/mqtt/_publishing.py."""


class OutputSpec(_Section):
    dir: Path = Path("runs")
    """Where run directories are created (relative to the working directory)."""
    record: Record = Record.STATE
    checkpoint_every: Annotated[Integer, Field(ge=0)] = 1
    """Agents in their own processes (``hemesh agent``, ``--spawn processes``, compose)
    write an atomic checkpoint to ``RUN_DIR/checkpoints/<id>.ckpt`` every this many
    iterations and, restarted with the same command, resume from it; 0: never."""


class Scenario(_Section):
    name: Id
    seed: Annotated[Integer, Field(ge=0)] = 0
    iterations: Annotated[Integer, Field(ge=1, le=MAX_ITERATIONS)] = 200
    """At most 10^7."""
    description: str = ""
    topology: TopologySpec
    problem: ProblemSpec = Field(default_factory=ProblemSpec)
    algorithm: AlgorithmSpec = Field(default_factory=AlgorithmSpec)
    crypto: CryptoSpec = Field(default_factory=CryptoSpec)
    transport: TransportSpec = Field(default_factory=TransportSpec)
    output: OutputSpec = Field(default_factory=OutputSpec)
    adversary: list[AdversarySpec] = Field(default_factory=list)
    """``[[adversary]]`` entries: eavesdroppers and colluders (see ``_adversaries``)."""

    @property
    def algorithms(self) -> list[Algorithm]:
        return [self.algorithm.kind, *self.algorithm.baselines]

    def spread(self, agent: int, agents: int) -> float:
        """theta spread of agent ``agent`` (0 when heterogeneity is off)."""
        spread = self.algorithm.theta_spread
        if not self.algorithm.heterogeneous_stepsize:
            return 0.0
        if isinstance(spread, list):
            if len(spread) != agents:
                raise BadInput(f"algorithm.theta_spread: {len(spread)} values for {agents} agents")
            return spread[agent]
        return spread

    def default_a_max(self, max_degree: int) -> float:
        return self.algorithm.a_max or math.sqrt(
            WEIGHT_BUDGET / (self.algorithm.gamma0 * max_degree)
        )

    def edge_a_max(self, degree: int, neighbour_degree: int, max_degree: int) -> float:
        """The upper end of the weight halves on an edge between agents of these degrees."""
        if self.algorithm.a_max is not None or self.algorithm.weight_ranges == "global":
            return self.default_a_max(max_degree)
        return math.sqrt(WEIGHT_BUDGET / (self.algorithm.gamma0 * max(degree, neighbour_degree)))
