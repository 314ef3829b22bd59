"""``python -m bench``: the worker against the plain-aiokafka ceiling, one broker, one run."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import click

from bench import load, measure, state
from streams.broker import KafkaDistribution, LocalBroker
from streams.broker.local import free_port
from streams.pipeline.provisioning import TopicSpec, ensure_topics
from streams.settings import Settings

PARTS = ("throughput", "latency", "restart", "memory", "scale")


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
@click.option(
    "--only",
    type=click.Choice(PARTS),
    multiple=True,
    help="Measure only this part (repeat for several); all by default.",
)
@click.option("--broker", help="Use this broker (kafka://host:port) instead of starting one.")
def main(broker: str | None, only: tuple[str, ...], **options: int) -> None:
    """Print the worker's and the ceiling's events per second and their ratio, the latency
    at a fixed load, restarts and memory with many accounts, and a scale-out figure."""
    logging.getLogger("aiokafka").setLevel(logging.ERROR)  # retries while new topics settle
    with tempfile.TemporaryDirectory(prefix="streams-bench-") as scratch:
        local = None
        if broker is None:
            local = LocalBroker(KafkaDistribution(Settings().cache_dir), Path(scratch) / "kafka")
            local.start()
            broker = local.url
        try:
            run = Run(broker, Path(scratch), Options(**options))
            asyncio.run(run.parts(only or PARTS))
        finally:
            if local is not None:
                local.stop()


@dataclass(frozen=True)
class Options:
    events: int
    accounts: int
    partitions: int
    seed: int
    latency_rate: int
    latency_seconds: int
    restart_accounts: int
    memory_accounts: int
    memory_events: str
    memory_per_day: int
    scale_workers: int
    scale_partitions: int


@dataclass(frozen=True)
class Run:
    """One benchmark run on one broker: each part with its own topics and group."""

    broker: str
    scratch: Path
    options: Options

    @property
    def bootstrap(self) -> str:
        return self.broker.removeprefix("kafka://")

    @property
    def log(self) -> Path:
        return self.scratch / "worker.log"

    def usage(self) -> list[tuple[str, bytes, bytes]]:
        o = self.options
        return load.commands(o.accounts) + load.usage(o.seed, o.accounts, o.events)

    async def parts(self, names: tuple[str, ...]) -> None:
        for name in PARTS:
            if name in names:
                await getattr(self, name)()

    async def throughput(self) -> None:
        settings = await _fresh(self.broker, self.scratch, "throughput", self.options.partitions)
        inputs = self.usage()
        events, accounts = self.options.events, self.options.accounts
        click.echo(
            f"producing {len(inputs):,} inputs ({events:,} usage events, {accounts:,} accounts)"
        )
        await load.produce(self.bootstrap, settings.topic_prefix, inputs)
        ceiling_out = settings.topic("bench.ceiling-out")
        ceiling = await measure.ceiling(
            self.bootstrap, settings.topic_prefix, len(inputs), ceiling_out
        )
        click.echo(f"ceiling (aiokafka, orjson, dict, one output per event): {_figure(ceiling)}")
        worker = await measure.worker(settings, len(inputs), self.log)
        click.echo(f"worker (1 process, {settings.processing_guarantee}): {_figure(worker)}")
        click.echo(
            f"ratio worker/ceiling: {worker.per_second / ceiling.per_second:.3f} "
            f"({os.cpu_count()} cores)"
        )

    async def latency(self) -> None:
        o = self.options
        settings = await _fresh(self.broker, self.scratch, "latency", o.partitions)
        latency, cold_start = await measure.latency(
            settings, self.log, o.accounts, o.latency_rate, o.latency_seconds
        )
        click.echo(
            f"latency, usage event to its ledger entry at {o.latency_rate:,} events/s for "
            f"{o.latency_seconds} s: p50 {latency.p50_ms:,.0f} ms, p99 {latency.p99_ms:,.0f} "
            f"ms, max {latency.max_ms:,.0f} ms ({latency.events:,} events)"
        )
        click.echo(f"first start, empty tables, to its first output: {cold_start:.1f} s")

    async def restart(self) -> None:
        settings = await _fresh(self.broker, self.scratch, "restart", self.options.partitions)
        _print_restarts(await state.restarts(settings, self.log, self.options.restart_accounts))

    async def memory(self) -> None:
        o = self.options
        settings = await _fresh(self.broker, self.scratch, "memory", o.partitions)
        steps = [int(step) for step in o.memory_events.split(",")]
        for figure in await state.memory(
            settings, self.log, o.memory_accounts, steps, o.memory_per_day
        ):
            click.echo(
                f"worker resident memory after {figure.events:,} usage events over "
                f"{o.memory_accounts:,} accounts, {figure.days:g} days of input time, dedupe "
                f"window 1 day: {figure.resident_mib:,.0f} MiB"
            )

    async def scale(self) -> None:
        o = self.options
        settings = await _fresh(self.broker, self.scratch, "scale", o.scale_partitions)
        inputs = self.usage()
        await load.produce(self.bootstrap, settings.topic_prefix, inputs)
        scaled = await measure.worker(settings, len(inputs), self.log, count=o.scale_workers)
        click.echo(
            f"scale-out ({o.scale_workers} worker processes, {o.scale_partitions} partitions): "
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
