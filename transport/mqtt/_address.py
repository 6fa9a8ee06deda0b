"""Where an MQTT broker listens: :class:`BrokerAddress`, its URL form and its checks."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

from .._errors import TransportError
from .._values import validate_host, validate_port

_SCHEMES = {"mqtt": False, "mqtts": True}
_DEFAULT_PORTS = {False: 1883, True: 8883}
_MASK = "***"


def _mask_password(url: str) -> str:
    """``url`` with whatever follows ``user:`` in its userinfo replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, hostpart = rest.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    masked = f"{user}:{_MASK}" if colon else user
    return f"{scheme}://{masked}@{hostpart}"


@dataclass(frozen=True, kw_only=True, slots=True)
class BrokerAddress:
    """Where an MQTT broker listens, and the credentials to give it.

    ``host`` and ``port`` are checked as :func:`validate_host` and :func:`validate_port`
    check them (no bool, no port outside [1, 65535]). The password never appears in
    ``repr`` or :attr:`url`.
    """

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: str | None = None
    """TLS only: the CA certificates to trust (default: the system's)."""

    def __post_init__(self) -> None:
        validate_host(self.host, what="broker host")
        validate_port(self.port, what="broker port")
        for name in ("username", "password"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise TransportError(f"broker {name} must be a string or None")
        if self.password is not None and self.username is None:
            raise TransportError("a broker password needs a username")
        if not isinstance(self.tls, bool):
            raise TransportError(f"tls must be a bool, got {self.tls!r}")
        if self.ca_file is not None and (not isinstance(self.ca_file, str) or not self.tls):
            raise TransportError(
                f"ca_file must be a path string on a TLS address, got {self.ca_file!r}"
            )

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """Read ``mqtt://[user[:password]@]host[:port]`` or ``mqtts://...`` (TLS).

        Default ports are 1883 and 8883; user and password may be percent-encoded.
        A bad URL raises :class:`TransportError` naming it with the password masked.
        """
        if not isinstance(url, str):
            raise TransportError(f"broker URL must be a string, got {type(url).__name__}")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:  # its message may quote the password: say it in our words
            raise TransportError(
                f"bad broker URL {_mask_password(url)!r}: the port is not a number in [1, 65535]"
            ) from None
        problem = None
        if parts.scheme not in _SCHEMES:
            problem = "the scheme must be mqtt:// or mqtts://"
        elif not parts.hostname:
            problem = "it names no host"
        elif parts.path not in ("", "/") or parts.query or parts.fragment:
            problem = "it has a path, query or fragment"
        if problem is not None:
            raise TransportError(f"bad broker URL {_mask_password(url)!r}: {problem}")
        tls = _SCHEMES[parts.scheme]
        username = None if parts.username is None else unquote(parts.username)
        password = None if parts.password is None else unquote(parts.password)
        try:
            return cls(
                host=parts.hostname,  # type: ignore[arg-type]  # checked above
                port=_DEFAULT_PORTS[tls] if port is None else port,
                username=username,
                password=password,
                tls=tls,
            )
        except TransportError as exc:
            raise TransportError(f"bad broker URL {_mask_password(url)!r}: {exc}") from None

    @property
    def url(self) -> str:
        """This address as a URL, with the password (if any) masked."""
        scheme = "mqtts" if self.tls else "mqtt"
        userinfo = ""
        if self.username is not None:
            userinfo = quote(self.username, safe="")
            if self.password is not None:
                userinfo += f":{_MASK}"
            userinfo += "@"
        host = self.host
        try:
            if ipaddress.ip_address(host).version == 6:
                host = f"[{host}]"
        except ValueError:
            pass  # a host name, not an address
        return f"{scheme}://{userinfo}{host}:{self.port}"
