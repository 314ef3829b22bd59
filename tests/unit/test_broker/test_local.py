"""The broker's configuration: KRaft on loopback, single-node replication, transactions."""

from __future__ import annotations

from pathlib import Path

from streams.broker.local import server_properties


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_single_node_kraft_broker_on_loopback() -> None:
    properties = _properties(server_properties(9092, 9093, Path("/tmp/k")))
    assert properties["process.roles"] == "broker,controller"
    assert properties["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert properties["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092"
    assert properties["log.dirs"] == "/tmp/k"


def test_internal_topics_fit_one_node_so_transactions_work() -> None:
    properties = _properties(server_properties(9092, 9093, Path("/tmp/k")))
    assert properties["offsets.topic.replication.factor"] == "1"
    assert properties["transaction.state.log.replication.factor"] == "1"
    assert properties["transaction.state.log.min.isr"] == "1"
    assert properties["group.initial.rebalance.delay.ms"] == "0"
