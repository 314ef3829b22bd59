"""``python -m bench``: the worker against the plain-aiokafka ceiling, one broker, one run."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import uuid
from pathlib import Path

import click

from bench import load, measure
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
@click.option("--broker", help="Use this broker (kafka://host:port) instead of starting one.")
def main(events: int, accounts: int, partitions: int, seed: int, broker: str | None) -> None:
    """Print the worker's and the ceiling's events per second, and their ratio."""
    logging.getLogger("aiokafka").setLevel(logging.ERROR)  # retries while new topics settle
    with tempfile.TemporaryDirectory(prefix="streams-bench-") as scratch:
        local = None
        if broker is None:
            local = LocalBroker(KafkaDistribution(Settings().cache_dir), Path(scratch) / "kafka")
            local.start()
            broker = local.url
        try:
            asyncio.run(_run(broker, Path(scratch), events, accounts, partitions, seed))
        finally:
            if local is not None:
                local.stop()


async def _run(
    broker: str, scratch: Path, events: int, accounts: int, partitions: int, seed: int
) -> None:
    bootstrap = broker.removeprefix("kafka://")
    run = uuid.uuid4().hex[:10]
    prefix, app_id = f"b{run}.", f"bench-{run}"
    ceiling_out = f"{prefix}bench.ceiling-out"
    topics = [prefix + topic for topic in load.INPUT_TOPICS] + [ceiling_out]
    settings = Settings(
        broker=broker,
        topic_prefix=prefix,
        app_id=app_id,
        partitions=partitions,
        data_dir=scratch / "worker",
        web_port=free_port(),
        log_level="WARNING",
    )
    await ensure_topics(settings, [TopicSpec(name, partitions) for name in topics])
    inputs = load.commands(accounts) + load.usage(seed, accounts, events)
    click.echo(f"producing {len(inputs):,} inputs ({events:,} usage events, {accounts:,} accounts)")
    await load.produce(bootstrap, prefix, inputs)

    ceiling = await measure.ceiling(bootstrap, prefix, len(inputs), ceiling_out)
    click.echo(f"ceiling (aiokafka, orjson, dict, one output per event): {_figure(ceiling)}")
    worker = await measure.worker(settings, len(inputs), scratch / "worker.log")
    click.echo(f"worker (1 process, {settings.processing_guarantee}): {_figure(worker)}")
    click.echo(
        f"ratio worker/ceiling: {worker.per_second / ceiling.per_second:.3f} "
        f"({os.cpu_count()} cores)"
    )


def _figure(throughput: measure.Throughput) -> str:
    return (
        f"{throughput.per_second:,.0f} events/s "
        f"({throughput.events:,} in {throughput.seconds:.2f} s)"
    )


if __name__ == "__main__":
    main()
