"""An agent's side of the edge protocol, set up: its Paillier key pair (generated, or
restored from its checkpoint), the fixed base it publishes, and the packing layout
its requests and their replies use (sized for the sum over its neighbours when it
aggregates before decrypting); or the clear protocol for the other algorithms. And who
the agent is: its identity checked against the run's roster, and the seal of its
envelopes (:func:`authenticator`)."""

from __future__ import annotations

from .._config import AgentConfig, Algorithm, WeightMode
from .._crypto import CryptoBackend
from .._edge import ClearEdge, EdgeProtocol, PaillierEdge
from .._packing import layout_for
from .._paillier import SecretKey
from ..identity import Authenticator, Identity, IdentityError, Roster
from ._checkpoint import Checkpoint, Checkpointer, CheckpointError
from ._report import AgentStats


async def open_edge(
    config: AgentConfig,
    crypto: CryptoBackend,
    *,
    value_bound: int,
    checkpointer: Checkpointer,
    resume: Checkpoint | None,
    stats: AgentStats,
) -> EdgeProtocol:
    """The edge protocol of ``config.algorithm``. For paillier: the key pair and base
    kept in the checkpoint ``resume`` if there is one, else a fresh key pair and (if
    ``fixed_base``) a fresh base; both go into every checkpoint from now on (handed to
    ``checkpointer``). The crypto time counts in ``stats``."""
    key, base = await _key_pair(config, crypto, checkpointer, resume, stats)
    checkpointer.keep(key=key, base=base)
    if key is None:
        return ClearEdge(dim=config.dim)
    layout = None
    if config.packing:
        high = config.weight_range[1]  # also bounds each neighbour's half on our edges
        layout = layout_for(
            value_bound=value_bound,
            weight_bound=high * high if config.aggregates else high,
            modulus_bits=key.public.bits - 1,
            terms=len(config.neighbours) if config.aggregates else 1,
        )
    return PaillierEdge(
        key,
        crypto,
        dim=config.dim,
        layout=layout,
        per_coordinate=config.weight_mode is WeightMode.PER_COORDINATE,
        base=base,
        value_bound=value_bound,
    )


async def _key_pair(
    config: AgentConfig,
    crypto: CryptoBackend,
    checkpointer: Checkpointer,
    resume: Checkpoint | None,
    stats: AgentStats,
) -> tuple[SecretKey | None, int | None]:
    if config.algorithm is not Algorithm.PAILLIER:
        return None, None
    if resume is not None:
        key, base = checkpointer.restore_key(resume), resume.base
    else:
        key = await stats.timed(crypto.keygen(config.key_bits, insecure=config.insecure_keys))
        base = None
    if config.fixed_base and base is None:
        (base,) = await stats.timed(crypto.encrypt(key, [0]))
    return key, base


def check_identity(
    config: AgentConfig,
    identity: Identity | None,
    roster: Roster | None,
    *,
    unauthenticated: bool = False,
) -> None:
    """Refuse (IdentityError) an agent without an identity and a roster unless it is
    explicitly ``unauthenticated`` (its envelopes would go unsealed and it would take
    anyone's word: protocol tests only), an identity without a roster, or one the
    roster does not list for this agent and its neighbours: before anything connects."""
    if unauthenticated:
        if identity is not None or roster is not None:
            raise IdentityError(
                f"agent {config.agent_id!r}: unauthenticated, yet given an identity or a roster"
            )
        return
    if identity is None and roster is None:
        raise IdentityError(
            f"agent {config.agent_id!r} has no identity and no roster: its envelopes would "
            "go unsealed and it would accept anyone's; give both (as hemesh's runners do), "
            "or unauthenticated=True (protocol tests only)"
        )
    if identity is None:
        return  # a roster but no identity: authenticator() names it
    if roster is None:
        raise IdentityError(f"agent {config.agent_id!r} has an identity but no roster")
    roster.check(
        run=config.run, agent=config.agent_id, identity=identity, neighbours=config.neighbours
    )


def authenticator(
    config: AgentConfig,
    identity: Identity | None,
    roster: Roster | None,
    checkpointer: Checkpointer,
    resume: Checkpoint | None,
) -> Authenticator | None:
    """The seal of the agent's envelopes: its identity (the one given, or the one kept
    in its checkpoint ``resume``: a restarted agent is the same agent) against the
    roster, from now on kept in its checkpoints; None without a roster (protocol unit
    tests: envelopes go untagged)."""
    kept = None if resume is None else resume.identity
    if kept is not None:
        restored = Identity.from_bytes(kept)
        if identity is not None and restored != identity:
            raise CheckpointError(
                f"agent {config.agent_id}: its checkpoint holds another identity than the "
                "one it was given"
            )
        identity = restored
    if roster is None:
        if identity is not None:
            raise IdentityError(
                f"agent {config.agent_id}: its checkpoint holds an identity, but no roster "
                "was given"
            )
        return None
    if identity is None:
        raise IdentityError(f"agent {config.agent_id}: a roster but no identity")
    auth = Authenticator(
        identity, roster, agent=config.agent_id, run=config.run, neighbours=config.neighbours
    )
    checkpointer.keep_identity(identity.to_bytes())
    return auth
