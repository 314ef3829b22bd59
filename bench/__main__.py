"""``python -m bench``: the worker against the plain-aiokafka ceiling, one broker, one run."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import uuid
from pathlib import Path

import click

from bench import load, measure, state
from streams.broker import KafkaDistribution, LocalBroker
from streams.broker.local import free_port
from streams.pipeline.provisioning import TopicSpec, ensure_topics
from streams.settings import Settings


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--events", default=100_000, show_default=True, help="Usage events to process.")
@click.option(
    "--accounts", default=10_000, show_default=True, help="Accounts they are spread over."
)
@click.option("--partitions", default=8, show_default=True, help="Partitions of every topic.")
@click.option("--seed", default=1, show_default=True, help="Seed of the generated usage.")
@click.option(
    "--latency-rate",
    default=1_000,
    show_default=True,
    help="Usage events per second offered for the latency figure.",
)
@click.option(
    "--latency-seconds", default=20, show_default=True, help="How long that load is offered."
)
@click.option(
    "--restart-accounts",
    default=1_000_000,
    show_default=True,
    help="Accounts in the tables for the restart figures.",
)
@click.option(
    "--memory-accounts",
    default=100_000,
    show_default=True,
    help="Accounts the usage of the memory figure is spread over.",
)
@click.option(
    "--memory-events",
    default="1000000,5000000",
    show_default=True,
    help="Usage events after which memory is read, comma-separated.",
)
@click.option(
    "--memory-per-day",
    default=200_000,
    show_default=True,
    help="Usage events per day of input time (the window is a day).",
)
@click.option(
    "--scale-workers", default=2, show_default=True, help="Workers for the scale-out figure."
)
@click.option(
    "--scale-partitions",
    default=16,
    show_default=True,
    help="Partitions of every topic for the scale-out figure.",
)
@click.option("--broker", help="Use this broker (kafka://host:port) instead of starting one.")
def main(broker: str | None, **options: int) -> None:
    """Print the worker's and the ceiling's events per second and their ratio, the latency
    at a fixed load, memory and restart time with many accounts, and a scale-out figure."""
    logging.getLogger("aiokafka").setLevel(logging.ERROR)  # retries while new topics settle
    with tempfile.TemporaryDirectory(prefix="streams-bench-") as scratch:
        local = None
        if broker is None:
            local = LocalBroker(KafkaDistribution(Settings().cache_dir), Path(scratch) / "kafka")
            local.start()
            broker = local.url
        try:
            asyncio.run(_run(broker, Path(scratch), **options))
        finally:
            if local is not None:
                local.stop()


async def _run(
    broker: str,
    scratch: Path,
    *,
    events: int,
    accounts: int,
    partitions: int,
    seed: int,
    latency_rate: int,
    latency_seconds: int,
    restart_accounts: int,
    memory_accounts: int,
    memory_events: str,
    memory_per_day: int,
    scale_workers: int,
    scale_partitions: int,
) -> None:
    bootstrap = broker.removeprefix("kafka://")
    settings = await _fresh(broker, scratch, "throughput", partitions)
    inputs = load.commands(accounts) + load.usage(seed, accounts, events)
    click.echo(f"producing {len(inputs):,} inputs ({events:,} usage events, {accounts:,} accounts)")
    await load.produce(bootstrap, settings.topic_prefix, inputs)

    ceiling_out = settings.topic("bench.ceiling-out")
    ceiling = await measure.ceiling(bootstrap, settings.topic_prefix, len(inputs), ceiling_out)
    click.echo(f"ceiling (aiokafka, orjson, dict, one output per event): {_figure(ceiling)}")
    log = scratch / "worker.log"
    worker = await measure.worker(settings, len(inputs), log)
    click.echo(f"worker (1 process, {settings.processing_guarantee}): {_figure(worker)}")
    click.echo(
        f"ratio worker/ceiling: {worker.per_second / ceiling.per_second:.3f} "
        f"({os.cpu_count()} cores)"
    )

    settings = await _fresh(broker, scratch, "latency", partitions)
    latency, cold_start = await measure.latency(
        settings, log, accounts, latency_rate, latency_seconds
    )
    click.echo(
        f"latency, usage event to its ledger entry at {latency_rate:,} events/s for "
        f"{latency_seconds} s: p50 {latency.p50_ms:,.0f} ms, p99 {latency.p99_ms:,.0f} ms, "
        f"max {latency.max_ms:,.0f} ms ({latency.events:,} events)"
    )
    click.echo(f"first start, empty tables, to its first output: {cold_start:.1f} s")

    settings = await _fresh(broker, scratch, "restart", partitions)
    _print_restarts(await state.restarts(settings, log, restart_accounts))

    settings = await _fresh(broker, scratch, "memory", partitions)
    steps = [int(step) for step in memory_events.split(",")]
    for figure in await state.memory(settings, log, memory_accounts, steps, memory_per_day):
        click.echo(
            f"worker resident memory after {figure.events:,} usage events over "
            f"{memory_accounts:,} accounts, {figure.days:g} days of input time, dedupe "
            f"window 1 day: {figure.resident_mib:,.0f} MiB"
        )

    settings = await _fresh(broker, scratch, "scale", scale_partitions)
    await load.produce(bootstrap, settings.topic_prefix, inputs)
    scaled = await measure.worker(settings, len(inputs), log, count=scale_workers)
    click.echo(
        f"scale-out ({scale_workers} worker processes, {scale_partitions} partitions): "
        f"{_figure(scaled)}"
    )


async def _fresh(broker: str, scratch: Path, name: str, partitions: int) -> Settings:
    """Settings of a worker with its own topics, group and data."""
    run = uuid.uuid4().hex[:10]
    settings = Settings(
        broker=broker,
        topic_prefix=f"b{run}.",
        app_id=f"bench-{name}-{run}",
        partitions=partitions,
        data_dir=scratch / name / "worker",
        web_port=free_port(),
        log_level="WARNING",
        replication_factor=1,  # one local broker
    )
    (scratch / name).mkdir()
    topics = [settings.topic(topic) for topic in (*load.INPUT_TOPICS, "bench.ceiling-out")]
    await ensure_topics(settings, [TopicSpec(name, partitions) for name in topics])
    return settings


def _print_restarts(restarts: state.Restarts) -> None:
    click.echo(
        f"worker resident memory with {restarts.accounts:,} accounts: "
        f"{restarts.resident_mib:,.0f} MiB"
    )
    for name, restart in (("data directory intact", restarts.intact), ("empty", restarts.empty)):
        rate = restart.records_per_second
        click.echo(
            f"restart with {restarts.accounts:,} accounts, {name}: "
            + (
                f"first output after {restart.seconds:.1f} s"
                if restart.seconds is not None
                else f"NO output in {state.RESTART_WAIT_SECONDS} s (stuck starting)"
            )
            + f"; {restart.records:,} changelog records recovered"
            + (f" at {rate:,.0f}/s" if rate else "")
        )


def _figure(throughput: measure.Throughput) -> str:
    return (
        f"{throughput.per_second:,.0f} events/s "
        f"({throughput.events:,} in {throughput.seconds:.2f} s)"
    )


if __name__ == "__main__":
    main()
