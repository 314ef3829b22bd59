"""A real single-node Apache Kafka broker (KRaft) run from Maven Central jars."""

from streams.broker.distribution import KafkaDistribution
from streams.broker.local import BrokerError, LocalBroker, PortUnavailable

__all__ = ["BrokerError", "KafkaDistribution", "LocalBroker", "PortUnavailable"]
