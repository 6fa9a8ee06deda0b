"""validate_host, validate_port and validate_seconds, and the values that rely on them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from transport import (
    BrokerAddress,
    BrokerError,
    EmbeddedBroker,
    ManagedMosquitto,
    MosquittoSetup,
    MqttTap,
    MqttTransport,
    TransportError,
    validate_host,
    validate_port,
    validate_seconds,
)

ADDRESS = BrokerAddress(host="127.0.0.1", port=1883)


@pytest.mark.parametrize("port", [1, 1883, 65535])
def test_ports_in_range_pass(port: int) -> None:
    assert validate_port(port) == port


@pytest.mark.parametrize("port", [True, False, 0, -1, 65536, 1883.0, "1883", None])
def test_bad_ports_are_refused_naming_the_value(port: object) -> None:
    with pytest.raises(
        TransportError, match=re.escape(f"listener port must be an int in [1, 65535], got {port!r}")
    ):
        validate_port(port, what="listener port")


def test_zero_is_a_port_only_where_a_free_one_is_meant() -> None:
    assert validate_port(0, zero_ok=True) == 0
    with pytest.raises(TransportError, match=r"\[0, 65535\], got True"):
        validate_port(True, zero_ok=True)
    with pytest.raises(TransportError, match=r"\[0, 65535\], got -1"):
        validate_port(-1, zero_ok=True)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1", "broker.example.org"])
def test_hosts_pass(host: str) -> None:
    assert validate_host(host) == host


@pytest.mark.parametrize("host", ["", " ", "a b", "a\nb", "h/x", "u@h", None, 7, True])
def test_bad_hosts_are_refused_naming_the_value(host: object) -> None:
    with pytest.raises(
        TransportError, match=re.escape(f"bind host must be a host name or address, got {host!r}")
    ):
        validate_host(host, what="bind host")


@pytest.mark.parametrize(("seconds", "expected"), [(1, 1.0), (0.25, 0.25), (1e9, 1e9)])
def test_positive_finite_seconds_pass_as_floats(seconds: float, expected: float) -> None:
    value = validate_seconds(seconds)
    assert value == expected
    assert type(value) is float


@pytest.mark.parametrize(
    "seconds", [0, -1, float("inf"), float("-inf"), float("nan"), True, "5", None]
)
def test_bad_seconds_are_refused_naming_the_value(seconds: object) -> None:
    with pytest.raises(TransportError, match=r"wait must be positive finite seconds, got ") as info:
        validate_seconds(seconds, what="wait")
    assert repr(seconds) in str(info.value)


def test_zero_seconds_only_where_allowed() -> None:
    assert validate_seconds(0, zero_ok=True) == 0.0
    for bad in (-0.5, float("nan"), float("inf"), False):
        with pytest.raises(TransportError, match=">= 0 finite seconds"):
            validate_seconds(bad, zero_ok=True)


# --- the values that use them -----------------------------------------------------------


@pytest.mark.parametrize(
    "fields", [{"port": True}, {"port": 0}, {"port": 65536}, {"host": ""}, {"host": "a b"}]
)
def test_broker_address_refuses_what_the_checks_refuse(fields: dict[str, object]) -> None:
    arguments: dict[str, object] = {"host": "h", "port": 1883, **fields}
    with pytest.raises(TransportError, match=r"broker (host|port)"):
        BrokerAddress(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize("fields", [{"port": True}, {"port": -1}, {"host": "a\tb"}])
def test_mosquitto_setup_refuses_what_the_checks_refuse(fields: dict[str, object]) -> None:
    with pytest.raises(TransportError, match=r"port|bind host"):
        MosquittoSetup(runs=("r",), neighbours={"a": []}, **fields)  # type: ignore[arg-type]
    assert MosquittoSetup(runs=("r",), neighbours={"a": []}, port=0).port == 0


@pytest.mark.parametrize("bad", [True, 0, float("nan"), float("inf")])
def test_every_timeout_refuses_bools_and_non_positive_or_non_finite_seconds(
    bad: object, tmp_path: Path
) -> None:
    setup = MosquittoSetup(runs=("r",), neighbours={"a": []})
    with pytest.raises(TransportError, match="startup_timeout"):
        ManagedMosquitto(setup, tmp_path, startup_timeout=bad)  # type: ignore[arg-type]
    with pytest.raises(BrokerError, match="startup_timeout"):
        EmbeddedBroker(startup_timeout=bad)  # type: ignore[arg-type]
    with pytest.raises(TransportError, match="connect_timeout"):
        MqttTransport("r", ADDRESS, connect_timeout=bad)  # type: ignore[arg-type]
    with pytest.raises(TransportError, match="timeout"):
        MqttTap(ADDRESS, "#", identifier="t", timeout=bad)  # type: ignore[arg-type]


def test_embedded_broker_refusals_stay_broker_errors() -> None:
    with pytest.raises(BrokerError, match=r"broker port must be an int in \[0, 65535\], got True"):
        EmbeddedBroker(port=True)
    with pytest.raises(BrokerError, match="broker host must be a host name or address, got ''"):
        EmbeddedBroker("")
