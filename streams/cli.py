"""``streams``: the command line of the metering processor."""

from __future__ import annotations

import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import click

from streams.broker import BrokerError, KafkaDistribution, LocalBroker
from streams.broker.distribution import DistributionError
from streams.settings import Settings, SettingsError, load_settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Usage metering for prepaid communication credits, on Kafka."""


@main.command()
@click.option("--port", default=9092, show_default=True, help="Client port on 127.0.0.1.")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the broker's data here across runs (default: a temporary directory).",
)
def broker(port: int, state_dir: Path | None) -> None:
    """Run a single-node Apache Kafka broker (KRaft) in the foreground until interrupted."""
    settings = _settings()
    distribution = KafkaDistribution(settings.cache_dir)
    if not distribution.is_resolved():
        click.echo(f"fetching Apache Kafka {distribution.version} from Maven Central (first run)")
    with tempfile.TemporaryDirectory(prefix="streams-broker-") as scratch:
        local = LocalBroker(distribution, state_dir or Path(scratch), port=port)
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        started = time.monotonic()
        try:
            local.start()
        except (BrokerError, DistributionError) as error:
            raise click.ClickException(str(error)) from None
        click.echo(
            f"Apache Kafka {local.version()} ready at {local.url} "
            f"in {time.monotonic() - started:.1f} s (Ctrl-C stops it)",
        )
        try:
            while not stop.wait(0.5):
                if not local.running:
                    raise click.ClickException("the broker exited:\n" + local.log_tail(20))
        finally:
            local.stop()
            click.echo("broker stopped")


@main.command()
def worker() -> None:
    """Start one worker of the consumer group (configured by STREAMS_* variables)."""
    from streams.app import create_app, run_worker

    settings = _settings()
    run_worker(create_app(settings), settings)


@main.command()
@click.option("--port", default=9092, show_default=True, help="Client port of the local broker.")
def demo(port: int) -> None:
    """Start a local broker and one worker against it, until interrupted."""
    from streams.app import create_app, run_worker

    settings = _settings()
    with tempfile.TemporaryDirectory(prefix="streams-demo-") as scratch:
        local = LocalBroker(KafkaDistribution(settings.cache_dir), Path(scratch) / "kafka", port)
        click.echo(f"starting Apache Kafka {local.distribution.version} on {local.url}")
        try:
            local.start()
        except (BrokerError, DistributionError) as error:
            raise click.ClickException(str(error)) from None
        try:
            worker_settings = load_settings(broker=local.url, data_dir=Path(scratch) / "worker")
            click.echo(f"broker ready; starting a worker (HTTP on :{worker_settings.web_port})")
            run_worker(create_app(worker_settings), worker_settings)
        finally:
            local.stop()
            click.echo("broker stopped")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
