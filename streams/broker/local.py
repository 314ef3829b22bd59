"""Run one Apache Kafka broker in KRaft mode (broker and controller in one JVM) on loopback.

The broker is a child process of ours: it dies with us (PR_SET_PDEATHSIG), is stopped
with SIGTERM and a bounded wait, and is ready only once a real Kafka client has fetched
its metadata, never on a log line.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import errno
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from streams.broker.distribution import KafkaDistribution
from streams.broker.sasl_ssl import CertificateError, SaslSslListener

LOG4J_CONFIG = Path(__file__).with_name("log4j.properties")
_PR_SET_PDEATHSIG = 1


# How much of the broker's log a failure shows; the rest is in the file it names.
LOG_EXCERPT_LINES = 10


class BrokerError(RuntimeError):
    """The broker could not be started or did not become ready."""


class PortUnavailable(BrokerError):
    """A port the broker would listen on is taken (or cannot be bound); nothing was started.

    The message is one line naming the port; the command adds the option that chooses another.
    """

    def __init__(self, port: int, host: str, reason: str) -> None:
        super().__init__(f"port {port} on {host} {reason}")
        self.port = port
        self.host = host


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now: the kernel's pick for a bind to port 0."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_problem(port: int, host: str = "127.0.0.1") -> str | None:
    """Why a server could not listen on ``host:port`` now, or None if it could.

    Binds as Kafka (Java's ServerSocketChannel) and aiohttp do, with SO_REUSEADDR, so the
    connections of a previous run still in TIME_WAIT do not count as taking the port.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return "is taken"
            return f"cannot be listened on ({error.strerror or error})"
    return None


def check_port(port: int, host: str = "127.0.0.1", taken: str = "is taken") -> None:
    """Raise PortUnavailable unless ``host:port`` is free; ``taken`` words a port in use."""
    problem = port_problem(port, host)
    if problem is not None:
        raise PortUnavailable(port, host, taken if problem == "is taken" else problem)


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel sends SIGTERM if our process dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def server_properties(port: int, controller_port: int, log_dir: Path) -> str:
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={log_dir}",
            "num.partitions=1",
            # Topics are created on purpose, with their partition count, never by a typo.
            "auto.create.topics.enable=false",
            # One node: every internal topic has a single replica.
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=8",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "transaction.state.log.num.partitions=8",
            "group.initial.rebalance.delay.ms=0",
            # The default 128 MiB per cleaner thread is wasted on a development broker.
            "log.cleaner.dedupe.buffer.size=8388608",
            "",
        ]
    )


class LocalBroker:
    """A single-node Kafka broker whose state lives in ``state_dir``.

    ``start()`` formats the storage on first use only, so ``stop()`` then ``start()``
    restarts the same broker with its topics, offsets and data intact.
    """

    def __init__(
        self,
        distribution: KafkaDistribution,
        state_dir: Path,
        port: int | None = None,
        heap: str = "1g",
        sasl_ssl_port: int | None = None,
    ) -> None:
        self.distribution = distribution
        self.state_dir = state_dir
        self.port = port or free_port()
        self.controller_port = free_port()
        self.heap = heap
        self.cluster_id = _cluster_id()  # formatted into the storage at the first start
        # A SASL_SSL listener besides the plaintext one, for clients only (see sasl_ssl).
        self.sasl_ssl_port = sasl_ssl_port
        self.sasl_ssl: SaslSslListener | None = None
        self._process: subprocess.Popen[bytes] | None = None
        # Where this start's part of the logs begins: both files are appended to.
        self._log_start = self._jvm_output_start = 0

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"kafka://{self.bootstrap}"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "server.log"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def version(self) -> str:
        """The version the running broker reports about itself in its log."""
        match = re.search(r"Kafka version: (\S+)", self.log_file.read_text(errors="replace"))
        return match.group(1) if match else "unknown"

    @property
    def jvm_output(self) -> Path:
        """What the JVM itself printed: errors before logging starts, uncaught exceptions."""
        return self.state_dir / "stdout.log"

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_file.exists():
            return "(no broker log)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def log_excerpt(self, lines: int = LOG_EXCERPT_LINES) -> str:
        """What the last start wrote, in a few lines, and where the rest is.

        The JVM's own output (a bad option, a crash before Kafka's logging starts), then
        the first error Kafka logged and its last ``lines`` lines: those are mostly its
        orderly shutdown, while the first ERROR record is usually the cause.
        """
        parts: list[str] = []
        jvm = _lines_since(self.jvm_output, self._jvm_output_start)
        if jvm:
            parts += ["the JVM printed:", *jvm[-lines:], f"(in {self.jvm_output})"]
        log = _lines_since(self.log_file, self._log_start)
        if log:
            tail = log[-lines:]
            first_error = next((line for line in log if _LOG_ERROR.search(line)), None)
            if first_error is not None and first_error not in tail:
                at = log.index(first_error)
                parts += ["first error:", *log[at : at + 2], "..."]
            parts += [f"last {len(tail)} lines of its log:", *tail, f"full log: {self.log_file}"]
        return "\n".join(parts) if parts else f"it wrote no log (in {self.state_dir})"

    def properties(self, data_dir: Path) -> str:
        """This broker's server.properties; a ClusterNode's also names its peers."""
        return server_properties(self.port, self.controller_port, data_dir)

    def check_ports(self) -> None:
        """Fail with one line naming the port if the broker could not listen on its ports.

        Kafka would say so only deep in its log, before many lines of its shutdown; worse,
        a Kafka already on the port would answer the readiness probe. The controller port
        is ours to choose, so a taken one is replaced rather than reported.
        """
        check_port(self.port, "127.0.0.1", "is taken (another Kafka?)")
        if self.controller_port == self.port or port_problem(self.controller_port) is not None:
            self.controller_port = free_port()
        if self.sasl_ssl_port is not None:
            check_port(self.sasl_ssl_port, "127.0.0.1", "is taken")

    def start(self, timeout: float = 60.0, *, wait: bool = True) -> None:
        """Start the JVM; wait until it is ready unless ``wait`` is False (ClusterNode)."""
        if self.running:
            return
        self.check_ports()
        self.distribution.ensure()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        config = self.state_dir / "server.properties"
        data_dir = self.state_dir / "data"
        properties = self.properties(data_dir)
        if self.sasl_ssl_port is not None:
            self.sasl_ssl = self._open_sasl_ssl(self.sasl_ssl_port, data_dir)
            properties = self.sasl_ssl.add_to(properties)
        config.write_text(properties)
        if not (data_dir / "meta.properties").exists():
            self._format(config)
        command = [
            self._java(),
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.state_dir}",
            f"-Dlog4j.configuration=file:{LOG4J_CONFIG}",
            "-cp",
            self.distribution.classpath,
            "kafka.Kafka",
            str(config),
        ]
        self._log_start = _size(self.log_file)
        self._jvm_output_start = _size(self.jvm_output)
        stdout = self.jvm_output.open("ab")
        self._process = subprocess.Popen(
            command,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
            start_new_session=True,
        )
        stdout.close()
        if not wait:
            return
        try:
            asyncio.run(self._wait_ready(timeout))
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, a bounded wait for a clean shutdown, then SIGKILL."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """Stop the broker the hard way, as a crash would."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def _java(self) -> str:
        java = shutil.which("java")
        if java is None:
            raise BrokerError("java is not on PATH; Kafka needs Java 17")
        return java

    def _format(self, config: Path) -> None:
        command = [
            self._java(),
            f"-Dlog4j.configuration=file:{LOG4J_CONFIG}",
            f"-Dkafka.logs.dir={self.state_dir}",
            "-cp",
            self.distribution.classpath,
            "kafka.tools.StorageTool",
            "format",
            "--config",
            str(config),
            # One argument: an id may start with "-", which would read as an option.
            f"--cluster-id={self.cluster_id}",
        ]
        if self.sasl_ssl is not None:  # SCRAM users are kept in the cluster's metadata
            command += ["--add-scram", self.sasl_ssl.scram_credential()]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            headline = f"formatting Kafka storage failed (status {done.returncode}):"
            output = (done.stdout + done.stderr).splitlines()[-LOG_EXCERPT_LINES:]
            raise BrokerError("\n".join([headline, *output, f"full log: {self.log_file}"]))

    async def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error: BaseException | None = None
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                self._raise_if_bind_failed()
                raise BrokerError(
                    f"the broker exited with status {self._process.returncode}; "
                    + self.log_excerpt()
                )
            try:
                # A plain TCP probe first keeps the Kafka client from logging refusals.
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    pass
                await _fetch_metadata(self.bootstrap)
                if self.sasl_ssl is not None:
                    await _fetch_metadata(**self.sasl_ssl.client().client_options())
                return
            except Exception as error:  # not up yet: connection refused, no controller...
                last_error = error
                await asyncio.sleep(0.25)
        raise BrokerError(
            f"the broker was not ready within {timeout:.0f} s ({last_error!r}); "
            + self.log_excerpt()
        )

    def _open_sasl_ssl(self, port: int, data_dir: Path) -> SaslSslListener:
        """The SASL_SSL listener's certificates and user, made on first use."""
        directory = self.state_dir / "sasl_ssl"
        if not directory.exists() and (data_dir / "meta.properties").exists():
            # Its user would have been added when the storage was formatted.
            raise BrokerError(
                f"{self.state_dir} holds a broker started without a SASL_SSL listener; "
                "use another state directory"
            )
        try:
            return SaslSslListener.prepare(directory, port, user="streams", java=self._java())
        except CertificateError as error:
            raise BrokerError(str(error)) from None

    def _raise_if_bind_failed(self) -> None:
        """The port was taken between our check and Kafka's bind: say so in one line."""
        refused = f"failed to bind to 127.0.0.1:{self.port}: Address already in use"
        if any(refused in line for line in _lines_since(self.log_file, self._log_start)):
            raise PortUnavailable(self.port, "127.0.0.1", "is taken (another Kafka?)")


async def _fetch_metadata(bootstrap_servers: str | list[str], **security: object) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=2000, **security
    )
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
        if not cluster.get("brokers"):
            raise BrokerError("the broker reports no brokers yet")
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


_LOG_ERROR = re.compile(r"^\[[^\]]+\] (ERROR|FATAL) ")


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def _lines_since(path: Path, offset: int) -> list[str]:
    """The lines of ``path`` from byte ``offset`` on (all of them if it shrank)."""
    if not path.is_file():
        return []
    with path.open("rb") as file:
        file.seek(offset if offset <= _size(path) else 0)
        return file.read().decode(errors="replace").splitlines()


def _cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
