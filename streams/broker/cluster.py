"""A Kafka cluster of a few nodes on loopback, each one JVM with KRaft's broker and
controller roles, all of them voters of the controller quorum.

Each node is a LocalBroker (the same jars, process handling, logs and readiness probe)
whose properties name its peers and whose storage has the cluster's id. The nodes start
together, since one alone is no quorum, and the cluster is ready once a real client sees
every broker. A node can be killed (SIGKILL) and started again on its ports and data, as
a crashed machine would come back.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from streams.broker.distribution import KafkaDistribution
from streams.broker.local import BrokerError, LocalBroker, check_port, free_port, server_properties

# Enough for a development or test cluster: three nodes fit a 2-core CI machine.
NODE_HEAP = "384m"


def node_properties(
    node_id: int, port: int, controller_port: int, voters: str, log_dir: Path, nodes: int
) -> str:
    """A single broker's properties, as a node of ``nodes``: its id, the quorum's voters,
    and internal topics replicated to every node with one of them allowed to be down."""
    properties = dict(
        line.split("=", 1)
        for line in server_properties(port, controller_port, log_dir).splitlines()
        if line
    )
    min_insync = str(max(1, nodes - 1))
    properties |= {
        "node.id": str(node_id),
        "controller.quorum.voters": voters,
        "offsets.topic.replication.factor": str(nodes),
        "transaction.state.log.replication.factor": str(nodes),
        "transaction.state.log.min.isr": min_insync,
        # For topics created without a replica count or min.insync.replicas of their own
        # (and __consumer_offsets, which has none).
        "default.replication.factor": str(nodes),
        "min.insync.replicas": min_insync,
    }
    return "".join(f"{key}={value}\n" for key, value in properties.items())


class ClusterNode(LocalBroker):
    """One node of a KafkaCluster: its ports are fixed for the cluster's life, since its
    peers know its controller port."""

    def __init__(
        self,
        distribution: KafkaDistribution,
        state_dir: Path,
        node_id: int,
        ports: tuple[int, int],
        voters: str,
        nodes: int,
        heap: str = NODE_HEAP,
    ) -> None:
        super().__init__(distribution, state_dir, port=ports[0], heap=heap)
        self.node_id = node_id
        self.controller_port = ports[1]
        self.voters = voters
        self.nodes = nodes

    def properties(self, data_dir: Path) -> str:
        return node_properties(
            self.node_id, self.port, self.controller_port, self.voters, data_dir, self.nodes
        )

    def check_ports(self) -> None:
        """Both ports must be free: a peer would not find a controller port replaced."""
        check_port(self.port, "127.0.0.1", "is taken (another Kafka?)")
        check_port(self.controller_port, "127.0.0.1", "is taken")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process is not None else None

    def terminate(self) -> None:
        """SIGTERM without waiting: the nodes of a cluster shut down together."""
        if self.running and self._process is not None:
            self._process.send_signal(signal.SIGTERM)

    async def ready(self, timeout: float) -> None:
        """Wait until this node answers a real client (its quorum must be up)."""
        try:
            await self._wait_ready(timeout)
        except BrokerError as error:
            raise BrokerError(f"node {self.node_id}: {error}") from None


class KafkaCluster:
    """``nodes`` ClusterNodes under ``state_dir/node-N``; node 1 listens on ``port`` if
    given, every other port is free when the cluster is made."""

    def __init__(
        self,
        distribution: KafkaDistribution,
        state_dir: Path,
        nodes: int = 3,
        port: int | None = None,
        heap: str = NODE_HEAP,
    ) -> None:
        ports = _distinct_ports(2 * nodes, first=port)
        clients, controllers = ports[:nodes], ports[nodes:]
        voters = ",".join(f"{n}@127.0.0.1:{p}" for n, p in enumerate(controllers, start=1))
        self.nodes = [
            ClusterNode(
                distribution,
                state_dir / f"node-{n}",
                n,
                (clients[n - 1], controllers[n - 1]),
                voters,
                nodes,
                heap,
            )
            for n in range(1, nodes + 1)
        ]
        for node in self.nodes[1:]:  # one storage id for the whole cluster
            node.cluster_id = self.nodes[0].cluster_id
        self.started_in: float | None = None  # seconds from launch to ready, last start()

    @property
    def bootstrap(self) -> str:
        """Every node, as a Kafka client's bootstrap servers (comma-separated)."""
        return ",".join(node.bootstrap for node in self.nodes)

    @property
    def url(self) -> str:
        """Every node, as STREAMS_BROKER takes them."""
        return "kafka://" + ";".join(node.bootstrap for node in self.nodes)

    def node(self, node_id: int) -> ClusterNode:
        return self.nodes[node_id - 1]

    def version(self) -> str:
        return self.nodes[0].version()

    def check_ports(self) -> None:
        for node in self.nodes:
            node.check_ports()

    def start(self, timeout: float = 90.0) -> None:
        """Start every node and wait until a client sees them all; on failure stop all."""
        began = time.monotonic()
        try:
            for node in self.nodes:
                node.start(wait=False)
            asyncio.run(self._ready(self.nodes, timeout))
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began

    def kill(self, node_id: int) -> None:
        """SIGKILL one node, as a crash would."""
        self.node(node_id).kill()

    async def restart(self, node_id: int, timeout: float = 90.0) -> None:
        """Start a stopped node again, on its ports and data; ready once every broker is
        seen again."""
        node = self.node(node_id)
        node.start(wait=False)
        try:
            await self._ready([node], timeout)
        except BaseException:
            node.kill()
            raise

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to every node, then each gets a bounded wait (and SIGKILL after it)."""
        for node in self.nodes:
            node.terminate()
        for node in self.nodes:
            node.stop(timeout)

    def resident_bytes(self) -> int:
        """The resident memory (VmRSS) of the running nodes' JVMs, summed."""
        return sum(_resident_bytes(node.pid) for node in self.nodes if node.pid is not None)

    def log_tails(self, lines: int = 40) -> str:
        return "\n".join(
            f"--- node {node.node_id} ({node.log_file})\n{node.log_tail(lines)}"
            for node in self.nodes
        )

    async def _ready(self, starting: list[ClusterNode], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        await asyncio.gather(*(node.ready(timeout) for node in starting))
        while (seen := await _brokers_seen(self.bootstrap)) < len(self.nodes):
            for node in starting:
                if not node.running:
                    raise BrokerError(f"node {node.node_id} exited; " + node.log_excerpt())
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"the cluster showed {seen} of {len(self.nodes)} brokers after {timeout:.0f} s"
                )
            await asyncio.sleep(0.25)


async def _brokers_seen(bootstrap: str) -> int:
    """How many brokers the cluster's metadata lists (the live, unfenced ones)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
    try:
        await admin.start()
        return len((await admin.describe_cluster())["brokers"])
    except Exception:  # a node between leaders: ask again
        return 0
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


def _distinct_ports(count: int, first: int | None = None) -> list[int]:
    ports = [first] if first is not None else []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def _resident_bytes(pid: int) -> int:
    """A process's VmRSS, from /proc; 0 if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0
