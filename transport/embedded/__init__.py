"""The zero-install broker: amqtt in a child process, optionally locked down.

- :class:`EmbeddedBroker`: the broker for the span of ``async with``; without a
  setup anyone may connect (loopback only), with a
  :class:`~transport.mosquitto.MosquittoSetup` only the setup's logins, under the
  same ACL as the generated Mosquitto.
"""

from ._broker import EmbeddedBroker

__all__ = ["EmbeddedBroker"]
