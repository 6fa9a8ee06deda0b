"""An agent's side of the edge protocol, set up: its Paillier key pair (generated, or
restored from its checkpoint), the fixed base it publishes, and the packing layout
its requests and their replies use (sized for the sum over its neighbours when it
aggregates before decrypting); or the clear protocol for the other algorithms."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .._config import AgentConfig, Algorithm, WeightMode
from .._crypto import CryptoBackend
from .._edge import ClearEdge, EdgeProtocol, PaillierEdge
from .._packing import layout_for
from .._paillier import SecretKey
from ._report import AgentStats


@dataclass(frozen=True, kw_only=True, slots=True)
class OpenedEdge:
    edge: EdgeProtocol
    key: SecretKey | None = None
    """The agent's key pair (paillier only): it goes into every checkpoint."""
    base: int | None = None
    """The fixed base published with the key, if any."""


async def open_edge(
    config: AgentConfig,
    crypto: CryptoBackend,
    *,
    value_bound: int,
    restore: Callable[[], SecretKey] | None,
    base: int | None,
    stats: AgentStats,
) -> OpenedEdge:
    """The edge protocol of ``config.algorithm``. For paillier: the key pair that
    ``restore()`` gives back (from a checkpoint) and the given ``base``, else a fresh
    key pair and (if ``fixed_base``) a fresh base; the crypto time counts in ``stats``."""
    if config.algorithm is not Algorithm.PAILLIER:
        return OpenedEdge(edge=ClearEdge(dim=config.dim))
    if restore is not None:
        key = restore()
    else:
        key = await stats.timed(crypto.keygen(config.key_bits, insecure=config.insecure_keys))
    layout = None
    if config.packing:
        high = config.weight_range[1]  # also bounds each neighbour's half on our edges
        layout = layout_for(
            value_bound=value_bound,
            weight_bound=high * high if config.aggregates else high,
            modulus_bits=key.public.bits - 1,
            terms=len(config.neighbours) if config.aggregates else 1,
        )
    if config.fixed_base and base is None:
        (base,) = await stats.timed(crypto.encrypt(key, [0]))
    edge = PaillierEdge(
        key,
        crypto,
        dim=config.dim,
        layout=layout,
        per_coordinate=config.weight_mode is WeightMode.PER_COORDINATE,
        base=base,
        value_bound=value_bound,
    )
    return OpenedEdge(edge=edge, key=key, base=base)
