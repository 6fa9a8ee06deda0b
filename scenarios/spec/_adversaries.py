"""The ``[[adversary]]`` entries of a scenario file (DESIGN.md, Threat model)::

    [[adversary]]
    kind = "eavesdropper"       # a client subscribed to the run's topics
    name = "wiretap"
    # vantage = "broker"                   default; or "client"
    # filter = "hemesh/<run>/inbox/a0/+"   default: every topic of the run
    # username = "eve"; password = "..."   MQTT: its own credentials (default: the run's)

``vantage`` says where the eavesdropper sits. ``"broker"`` (the default): it sees
what the broker, or a capture of the broker's traffic, sees (on the brokers hemesh
starts it logs in with a read-everything, write-nothing account). ``"client"``: it
is one more client of the broker with a login of its own and no rights (on the
brokers hemesh starts, and on the memory bus, it must receive nothing).

    [[adversary]]
    kind = "colluders"          # honest-but-curious agents pooling what they decrypt
    name = "pair"
    members = [1, 7]            # agent indices or ids, each a neighbour of the target
    target = 0

    [[adversary]]
    kind = "membership"         # given each agent's final model, guesses training rows
    name = "mi"
    # bootstrap = 200           resamples for the AUC's confidence interval

What they record and how they are attacked is :mod:`scenarios.privacy`'s part.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict

_Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")]
_AgentRef = Annotated[int, Strict()] | Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EavesdropperSpec(_Spec):
    """A client subscribed to the run's topics (or ``filter``), recording everything."""

    kind: Literal["eavesdropper"]
    name: _Name
    vantage: Literal["broker", "client"] = "broker"
    """Where it listens: at the broker (everything the broker relays) or as another
    client of the broker without rights (nothing)."""
    filter: str | None = None
    """MQTT topic filter; default ``hemesh/<run>/#``."""
    username: str | None = None
    password: str | None = None
    """MQTT credentials of the eavesdropper's own client (default: the run's)."""


class ColludersSpec(_Spec):
    """Agents that follow the protocol exactly and pool what they see, against ``target``."""

    kind: Literal["colluders"]
    name: _Name
    members: Annotated[list[_AgentRef], Field(min_length=1)]
    target: _AgentRef


class MembershipSpec(_Spec):
    """A loss-threshold membership-inference attacker given each agent's final model:
    members are the agent's training rows, non-members the held-out test rows."""

    kind: Literal["membership"]
    name: _Name
    bootstrap: Annotated[int, Strict(), Field(ge=10, le=10_000)] = 200
    """Bootstrap resamples for the AUC's 95% confidence interval."""


AdversarySpec = Annotated[
    EavesdropperSpec | ColludersSpec | MembershipSpec, Field(discriminator="kind")
]
