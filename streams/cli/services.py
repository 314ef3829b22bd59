"""``streams broker | worker | demo``: the processes of a deployment, in the foreground."""

from __future__ import annotations

import logging
import shlex
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import click

from streams.broker import BrokerError, KafkaDistribution, LocalBroker, PortUnavailable
from streams.broker.cluster import KafkaCluster
from streams.broker.distribution import DistributionError
from streams.broker.local import check_port
from streams.broker.sasl_ssl import LISTENER, MECHANISM, SaslSslListener
from streams.cli.common import ConfigurationError
from streams.cli.common import settings as load


class Scratch:
    """A temporary directory, removed at the end unless ``keep`` was set: a failure whose
    message names a log in it leaves the log there to be read."""

    def __init__(self, prefix: str) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=prefix))
        self.keep = False

    def __enter__(self) -> Scratch:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self.keep:
            shutil.rmtree(self.path, ignore_errors=True)


def _port_taken(error: PortUnavailable, option: str, default: str = "") -> click.ClickException:
    return click.ClickException(f"{error}; choose another with {option} N{default}")


@click.command()
@click.option("--port", default=9092, show_default=True, help="Client port on 127.0.0.1.")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the broker's data here across runs (default: a temporary directory).",
)
@click.option(
    "--nodes",
    type=click.IntRange(1, 5),
    default=1,
    show_default=True,
    help="Run a cluster of this many nodes (a JVM each): the first on --port, the others "
    "on free ports.",
)
@click.option(
    "--sasl-ssl-port",
    type=click.IntRange(1, 65535),
    help="Also listen for SASL_SSL clients on this port (SCRAM-SHA-512, a certificate "
    "authority made for it) and print their STREAMS_* settings. Single node only.",
)
def broker(port: int, state_dir: Path | None, nodes: int, sasl_ssl_port: int | None) -> None:
    """Run a local Apache Kafka broker (KRaft), or a cluster of --nodes, until interrupted."""
    if sasl_ssl_port is not None and nodes > 1:
        raise click.UsageError("--sasl-ssl-port is for a single node (--nodes 1)")
    if nodes > 1:
        return _cluster(nodes, port, state_dir)
    distribution = KafkaDistribution(load().cache_dir)
    with Scratch("streams-broker-") as scratch:
        local = LocalBroker(
            distribution, state_dir or scratch.path, port, sasl_ssl_port=sasl_ssl_port
        )
        try:
            local.check_ports()  # before fetching jars or starting a JVM
        except PortUnavailable as error:
            raise _port_taken(error, _port_option(error, sasl_ssl_port)) from None
        _say_if_fetching(distribution)
        stop = _stop_on_signals()
        started = time.monotonic()
        with _start_failures(scratch, state_dir):
            try:
                local.start()
            except PortUnavailable as error:  # taken between the check and Kafka's bind
                raise _port_taken(error, _port_option(error, sasl_ssl_port)) from None
        if local.sasl_ssl is not None:
            click.echo(_client_settings(local.sasl_ssl))
        click.echo(
            f"Apache Kafka {local.version()} ready at {local.url} "
            f"in {time.monotonic() - started:.1f} s (Ctrl-C stops it)",
        )

        def exited() -> str | None:
            return None if local.running else "the broker exited; " + local.log_excerpt()

        try:
            _serve(stop, exited, scratch, state_dir)
        finally:
            local.stop()
            click.echo("broker stopped")


def _port_option(error: PortUnavailable, sasl_ssl_port: int | None) -> str:
    return "--sasl-ssl-port" if error.port == sasl_ssl_port else "--port"


def _client_settings(listener: SaslSslListener) -> str:
    """What a client of the SASL_SSL listener is configured with, ready for a shell."""
    lines = [f"{LISTENER} listener ({MECHANISM}) at {listener.url}; its clients' settings:"]
    lines += [
        f"  export {name}={shlex.quote(value)}"
        for name, value in listener.client_settings().items()
    ]
    return "\n".join(lines)


def _cluster(nodes: int, port: int, state_dir: Path | None) -> None:
    """``streams broker --nodes N``: N nodes on loopback, each a broker and a controller."""
    distribution = KafkaDistribution(load().cache_dir)
    with Scratch("streams-cluster-") as scratch:
        cluster = KafkaCluster(distribution, state_dir or scratch.path, nodes, port=port)
        with _start_failures(scratch, state_dir):
            try:
                cluster.check_ports()  # before fetching jars or starting a JVM
                _say_if_fetching(distribution)
                stop = _stop_on_signals()
                cluster.start()
            except PortUnavailable as error:
                if error.port != port:  # one of the free ports, taken since: just try again
                    raise click.ClickException(str(error)) from None
                raise _port_taken(error, "--port") from None
        click.echo(
            f"Apache Kafka {cluster.version()} cluster of {nodes} nodes ready at {cluster.url} "
            f"in {cluster.started_in:.1f} s (Ctrl-C stops it)",
        )

        def exited() -> str | None:
            for node in cluster.nodes:
                if not node.running:
                    return f"node {node.node_id} exited; " + node.log_excerpt()
            return None

        try:
            _serve(stop, exited, scratch, state_dir)
        finally:
            cluster.stop()
            click.echo("cluster stopped")


def _say_if_fetching(distribution: KafkaDistribution) -> None:
    if not distribution.is_resolved():
        click.echo(f"fetching Apache Kafka {distribution.version} from Maven Central (first run)")


def _stop_on_signals() -> threading.Event:
    """An event that SIGINT or SIGTERM sets."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


@contextmanager
def _start_failures(scratch: Scratch, state_dir: Path | None) -> Iterator[None]:
    """A broker that could not start: one line, naming its log (kept when in the scratch)."""
    try:
        yield
    except DistributionError as error:
        raise click.ClickException(str(error)) from None
    except BrokerError as error:
        scratch.keep = state_dir is None  # the log the message names is in it
        raise click.ClickException(str(error)) from None


def _serve(
    stop: threading.Event,
    exited: Callable[[], str | None],
    scratch: Scratch,
    state_dir: Path | None,
) -> None:
    """Until a signal sets ``stop``; a JVM that exits first (``exited`` says how) fails."""
    while not stop.wait(0.5):
        problem = exited()
        if problem is not None:
            scratch.keep = state_dir is None
            raise click.ClickException(problem)


@click.command()
def worker() -> None:
    """Start one worker of the consumer group (configured by STREAMS_* variables)."""
    settings = load()  # before importing Faust: a bad variable is told at once
    from streams.api.auth import TokensError
    from streams.app import run_pipeline
    from streams.connection import KafkaRefused
    from streams.domain import RateCardError

    # aiokafka logs each failed connection, and Python would print those records before
    # the worker's logging is set up: the worker says it once, and why.
    logging.getLogger("aiokafka").addHandler(logging.NullHandler())
    try:
        run_pipeline(settings)
    except RateCardError as error:
        raise click.ClickException(str(error)) from None
    except (TokensError, KafkaRefused) as error:
        # Status 2, as for a bad setting: the credentials or the trusted authorities are
        # wrong, and a restart by the supervisor would be refused alike.
        raise ConfigurationError(str(error)) from None


@click.command()
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="Client port of the local broker on 127.0.0.1 (default: a free port).",
)
@click.option(
    "--web-port",
    type=click.IntRange(1, 65535),
    help="The worker's HTTP API port (default: a free port).",
)
@click.option("--seed", default=7, show_default=True, help="Seed of the generated traffic.")
def demo(port: int | None, web_port: int | None, seed: int) -> None:
    """A local broker, a worker, a day of traffic and billing, a report; then stops them."""
    settings = load()
    if web_port is not None:
        try:
            check_port(web_port, "0.0.0.0", "is taken (another worker?)")  # Faust binds all
        except PortUnavailable as error:
            raise _port_taken(error, "--web-port", ", or leave it out for a free one") from None
    from streams.demo.run import run_demo

    with Scratch("streams-demo-") as scratch:
        try:
            run_demo(settings, port, scratch.path, seed, web_port=web_port)
        except PortUnavailable as error:
            raise _port_taken(error, "--port", ", or leave it out for a free one") from None
        except DistributionError as error:
            raise click.ClickException(str(error)) from None
        except BrokerError as error:
            scratch.keep = True  # the log the message names is in it
            raise click.ClickException(str(error)) from None
        except TimeoutError as error:
            scratch.keep = True
            log = scratch.path / "worker.log"
            raise click.ClickException(f"{error}; the worker's full log: {log}") from None
