"""`streams broker` as an operator runs it: a real broker, ready line, clean stop."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from streams.broker import local
from streams.broker.local import free_port
from streams.settings import Settings
from tests.fixtures.kafka_io import create_topics
from tests.fixtures.waiting import wait_until

READY = re.compile(r"ready at (kafka://127\.0\.0\.1:(\d+))")


def _jvm_running(state_dir) -> bool:
    """Is a broker JVM started with this state directory's config still alive?"""
    pattern = f"kafka.Kafka {state_dir}/server.properties"
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 0


def _ready_line(process: subprocess.Popen, ready: re.Pattern, seconds: float) -> re.Match:
    """The command's ready line, read from its output within ``seconds``."""
    started = time.monotonic()
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if ready.search(line) or time.monotonic() - started > seconds:
            break
    match = ready.search(lines[-1]) if lines else None
    assert match, f"no ready line within {seconds:.0f} s: {''.join(lines)}"
    return match


async def test_broker_command_serves_transactions_and_stops_cleanly(tmp_path) -> None:
    port = free_port()
    state_dir = tmp_path / "broker"
    command = [sys.executable, "-m", "streams", "broker", "--port", str(port)]
    command += ["--state-dir", str(state_dir)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        started = time.monotonic()
        match = _ready_line(process, READY, 60)
        assert int(match.group(2)) == port
        assert time.monotonic() - started < 60
        assert _jvm_running(state_dir)

        bootstrap = f"127.0.0.1:{port}"
        topic = f"smoke-{uuid.uuid4().hex}"
        await create_topics(bootstrap, [topic], partitions=1)
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, transactional_id=f"smoke-{uuid.uuid4().hex}"
        )
        await producer.start()
        try:
            async with producer.transaction():
                await producer.send_and_wait(topic, b"in a transaction", key=b"contoso")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        await consumer.start()
        try:
            record = await consumer.getone()
        finally:
            await consumer.stop()
        assert (record.key, record.value) == (b"contoso", b"in a transaction")
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "broker stopped" in output
    assert not _jvm_running(state_dir), "the broker's JVM outlived `streams broker`"


CLUSTER_READY = re.compile(r"cluster of 3 nodes ready at kafka://(\S+) in")


async def test_a_three_node_cluster_replicates_and_stops_cleanly(tmp_path) -> None:
    """`streams broker --nodes 3`: three JVMs, node 1 on --port, every node a broker that
    holds a replica of a topic of three; Ctrl-C stops all three."""
    port = free_port()
    state_dir = tmp_path / "cluster"
    command = [sys.executable, "-m", "streams", "broker", "--nodes", "3", "--port", str(port)]
    command += ["--state-dir", str(state_dir)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    nodes = [state_dir / f"node-{n}" for n in (1, 2, 3)]
    try:
        match = _ready_line(process, CLUSTER_READY, 90)
        servers = match.group(1).split(";")
        assert servers[0] == f"127.0.0.1:{port}"
        assert len(set(servers)) == 3
        assert all(_jvm_running(node) for node in nodes)

        topic = f"replicated-{uuid.uuid4().hex}"
        await create_topics(",".join(servers), [topic], partitions=3, replicas=3)
        admin = AIOKafkaAdminClient(bootstrap_servers=servers)
        await admin.start()
        described: dict = {}

        async def partitions_known() -> bool:
            # Created means the controller has it; the broker asked may learn of it a moment later.
            nonlocal described
            (described,) = await admin.describe_topics([topic])
            return len(described["partitions"]) == 3

        try:
            brokers = (await admin.describe_cluster())["brokers"]
            await wait_until(partitions_known, timeout=30, what=f"{topic}'s partitions in metadata")
        finally:
            await admin.close()
        assert sorted(broker["node_id"] for broker in brokers) == [1, 2, 3]
        assert [sorted(p["replicas"]) for p in described["partitions"]] == [[1, 2, 3]] * 3
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=90)
    assert process.returncode == 0, output
    assert "cluster stopped" in output
    assert not any(_jvm_running(node) for node in nodes), "a node outlived `streams broker`"


def test_a_taken_port_is_one_line_and_no_jvm(tmp_path) -> None:
    """Another Kafka (here, any listener) on the port: told at once, nothing started."""
    state_dir = tmp_path / "broker"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        command = [sys.executable, "-m", "streams", "broker", "--port", str(port)]
        command += ["--state-dir", str(state_dir)]
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        took = time.monotonic() - started
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == ""
    assert done.stderr == (
        f"Error: port {port} on 127.0.0.1 is taken (another Kafka?); choose another with --port N\n"
    )
    assert took < 10, f"took {took:.1f} s: a JVM was started?"
    assert not state_dir.exists()
    assert not _jvm_running(state_dir)


def test_storage_formats_with_a_cluster_id_that_starts_with_a_dash(tmp_path, monkeypatch) -> None:
    """One generated id in 64 starts with "-"; the storage tool once read it as an option."""
    cluster_id = "-" + "A" * 21  # 22 characters, like every base64 of 16 bytes
    monkeypatch.setattr(local, "_cluster_id", lambda: cluster_id)
    broker = local.LocalBroker(local.KafkaDistribution(Settings().cache_dir), tmp_path)
    config = tmp_path / "server.properties"
    config.write_text(local.server_properties(broker.port, broker.controller_port, tmp_path / "d"))
    broker._format(config)
    assert f"cluster.id={cluster_id}" in (tmp_path / "d" / "meta.properties").read_text()
