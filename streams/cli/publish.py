"""Sending messages for a command (``replay``, ``redrive``): in order, at an optional pace,
by an idempotent producer with acks from all replicas, with a progress bar on a terminal."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

import click
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from streams.cli.common import CONNECT_TIMEOUT
from streams.connection import KafkaConnection
from streams.settings import Settings

# A message not acknowledged by then fails the command.
DELIVERY_TIMEOUT_MS = 30_000

Message = tuple[str, bytes | None, bytes]  # topic, key, value


def send_offset(index: int, rate: float | None) -> float:
    """Seconds after the start at which message ``index`` (from 0) may go: N per second."""
    return index / rate if rate else 0.0


class RateColumn(ProgressColumn):
    """Messages per second, as the progress bar shows it."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "-/s", style="progress.data.speed")


def progress_bar() -> Progress:
    """Count and rate on stderr, while it is a terminal (the summary line says the rest)."""
    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )


async def publish(
    settings: Settings, messages: Sequence[Message], label: str, rate: float | None = None
) -> float:
    """Send ``messages`` in order, at most ``rate`` a second; the seconds it took."""
    await require_topics(settings, {topic for topic, _, _ in messages})
    producer = AIOKafkaProducer(
        **KafkaConnection.from_settings(settings).client_options(),
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=DELIVERY_TIMEOUT_MS,
    )
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await producer.start()
        with progress_bar() as progress:
            task = progress.add_task(label, total=len(messages))

            def count(delivery: asyncio.Future) -> None:
                if not delivery.cancelled() and delivery.exception() is None:
                    progress.advance(task)

            loop = asyncio.get_running_loop()
            started = first_sent = loop.time()
            deliveries: list[asyncio.Future] = []
            for index, (topic, key, value) in enumerate(messages):
                if index:
                    await _until(first_sent + send_offset(index, rate))
                delivery = await producer.send(topic, value, key=key)
                delivery.add_done_callback(count)
                deliveries.append(delivery)
                if not index:  # the pace counts from here: the first send may wait for metadata
                    first_sent = loop.time()
            await asyncio.gather(*deliveries)
            return loop.time() - started
    finally:
        await producer.stop()


async def _until(due: float) -> None:
    """Sleep until the loop's clock reads ``due``: a timer may fire up to its resolution early."""
    loop = asyncio.get_running_loop()
    while (wait := due - loop.time()) > 0:
        await asyncio.sleep(wait)


async def require_topics(settings: Settings, topics: Iterable[str]) -> None:
    """A missing topic is an error here: Kafka would create it with its own defaults."""
    admin = AIOKafkaAdminClient(**KafkaConnection.from_settings(settings).client_options())
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await admin.start()
            existing = set(await admin.list_topics())
    finally:
        await admin.close()
    missing = sorted(set(topics) - existing)
    if missing:
        raise click.ClickException(
            f"no topic {missing[0]} at {settings.broker}: a worker creates its topics as it starts"
        )
