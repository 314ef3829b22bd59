"""A cluster's configuration: every node a voter, internal topics on every node, one down
allowed; ports and storage id fixed when the cluster is made. No JVM is started."""

from __future__ import annotations

from pathlib import Path

from streams.broker import KafkaDistribution
from streams.broker.cluster import KafkaCluster, node_properties


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


VOTERS = "1@127.0.0.1:9101,2@127.0.0.1:9102,3@127.0.0.1:9103"


def test_a_node_is_a_broker_and_a_voter_of_the_quorum() -> None:
    properties = _properties(node_properties(2, 9092, 9102, VOTERS, Path("/tmp/k2"), nodes=3))
    assert properties["process.roles"] == "broker,controller"
    assert properties["node.id"] == "2"
    assert properties["controller.quorum.voters"] == VOTERS
    assert properties["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9102"
    assert properties["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092"
    assert properties["log.dirs"] == "/tmp/k2"
    assert properties["auto.create.topics.enable"] == "false"


def test_internal_topics_of_three_nodes_have_three_replicas_and_two_in_sync() -> None:
    properties = _properties(node_properties(1, 9092, 9101, VOTERS, Path("/tmp/k1"), nodes=3))
    assert properties["offsets.topic.replication.factor"] == "3"
    assert properties["transaction.state.log.replication.factor"] == "3"
    assert properties["transaction.state.log.min.isr"] == "2"
    assert properties["default.replication.factor"] == "3"
    assert properties["min.insync.replicas"] == "2"


def test_each_key_is_written_once() -> None:
    text = node_properties(1, 9092, 9101, VOTERS, Path("/tmp/k1"), nodes=3)
    keys = [line.split("=", 1)[0] for line in text.splitlines() if line]
    assert len(keys) == len(set(keys))


def test_a_cluster_names_its_nodes_ports_and_one_storage_id(tmp_path: Path) -> None:
    cluster = KafkaCluster(KafkaDistribution(tmp_path / "cache"), tmp_path, nodes=3, port=19092)
    first, second, third = cluster.nodes
    assert [node.node_id for node in cluster.nodes] == [1, 2, 3]
    assert first.port == 19092
    ports = [port for node in cluster.nodes for port in (node.port, node.controller_port)]
    assert len(set(ports)) == 6
    assert first.voters == ",".join(
        f"{node.node_id}@127.0.0.1:{node.controller_port}" for node in cluster.nodes
    )
    assert second.voters == third.voters == first.voters
    assert first.cluster_id == second.cluster_id == third.cluster_id
    assert [node.state_dir for node in cluster.nodes] == [tmp_path / f"node-{n}" for n in (1, 2, 3)]
    assert cluster.url == "kafka://" + ";".join(f"127.0.0.1:{n.port}" for n in cluster.nodes)
    assert cluster.bootstrap == ",".join(f"127.0.0.1:{n.port}" for n in cluster.nodes)
    assert cluster.node(2) is second
    assert cluster.resident_bytes() == 0  # nothing runs
