"""The MQTT client side of transport: broker addresses, the clients, endpoints and taps.

- :class:`BrokerAddress`: where a broker listens and the credentials to give it.
- :func:`mqtt_client`: the one construction of an aiomqtt client for an address.
- :class:`MqttTransport` / :class:`MqttEndpoint`: an agent's connection to the run.
- :class:`MqttTap`: an observer's subscription, yielding raw ``(topic, bytes)``.
"""

from ._address import BrokerAddress
from ._client import mqtt_client
from ._endpoint import MqttEndpoint, MqttTransport
from ._tap import MqttTap

__all__ = ["BrokerAddress", "MqttEndpoint", "MqttTap", "MqttTransport", "mqtt_client"]
