"""What the commands share: settings as one error line, bounded waits for Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import click
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, KafkaError

from streams.connection import KafkaConnection, diagnose
from streams.settings import Settings, SettingsError, load_settings

# How long a command waits for the broker to answer before it gives up.
CONNECT_TIMEOUT = 5.0


class ConfigurationError(click.ClickException):
    """A bad STREAMS_* variable: one line naming it, exit status 2 like a usage error."""

    exit_code = 2


def settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        raise ConfigurationError(str(error)) from None


@contextlib.contextmanager
def kafka_errors(settings: Settings) -> Iterator[None]:
    """A broker that cannot be reached, or refuses, as one error line; one that refuses
    the credentials or the certificate is a configuration error (exit status 2).

    aiokafka also logs each failed connection; the command says it once, so those
    records are dropped (Python would print them to stderr, having no handler).
    """
    logging.getLogger("aiokafka").addHandler(logging.NullHandler())
    try:
        yield
    except TimeoutError:
        raise click.ClickException(
            f"no answer from Kafka at {settings.broker} within {CONNECT_TIMEOUT:g} s"
        ) from None
    except KafkaConnectionError:
        # aiokafka says only "Unable to bootstrap": a connection of our own says why.
        problem = asyncio.run(diagnose(KafkaConnection.from_settings(settings), CONNECT_TIMEOUT))
        if problem is not None and problem.refused:
            raise ConfigurationError(str(problem)) from None
        raise click.ClickException(f"cannot connect to Kafka at {settings.broker}") from None
    except KafkaError as error:
        raise click.ClickException(f"Kafka at {settings.broker}: {error}") from None


@dataclass(frozen=True)
class Reader:
    """A consumer of every partition of a topic, and where each starts and ends now."""

    consumer: AIOKafkaConsumer
    starts: dict[TopicPartition, int]
    ends: dict[TopicPartition, int]


@contextlib.asynccontextmanager
async def committed_reader(settings: Settings, topic: str) -> AsyncIterator[Reader]:
    """A read_committed consumer assigned to every partition of ``topic`` (no group)."""
    partitions = await topic_partitions(settings, topic)
    consumer = AIOKafkaConsumer(
        **KafkaConnection.from_settings(settings).client_options(),
        enable_auto_commit=False,
        auto_offset_reset="earliest",  # only if an offset is gone by the time it is read
        isolation_level="read_committed",
    )
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await consumer.start()
            consumer.assign(partitions)
            ends = await consumer.end_offsets(partitions)
            starts = await consumer.beginning_offsets(partitions)
        yield Reader(consumer, starts, ends)
    finally:
        await consumer.stop()


async def topic_partitions(settings: Settings, topic: str) -> list[TopicPartition]:
    """The partitions of ``topic``; ClickException if the cluster has no such topic."""
    admin = AIOKafkaAdminClient(**KafkaConnection.from_settings(settings).client_options())
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await admin.start()
            (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    numbers = sorted(partition["partition"] for partition in described["partitions"])
    if described["error_code"] or not numbers:
        raise click.ClickException(f"no topic {topic} at {settings.broker}")
    return [TopicPartition(topic, number) for number in numbers]
