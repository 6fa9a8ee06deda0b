"""The transport package's exceptions: one root, translated at the boundary."""


class TransportError(Exception):
    """Root of every error raised by :mod:`transport`."""


class EnvelopeError(TransportError, ValueError):
    """Bytes that are not a valid hemesh envelope, or an envelope field out of range."""


class ChunkError(EnvelopeError):
    """A frame of a chunked message, or a chunked message, that is refused (bad input)."""


class ConnectionLost(TransportError):
    """The link to the broker (or bus) went away."""


class BrokerError(TransportError):
    """An embedded or managed broker could not be started or stopped, or a broker
    refused an :class:`MqttTap`'s login or subscription."""
