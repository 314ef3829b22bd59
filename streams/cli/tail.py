"""``streams tail``: a topic's messages, one readable line each, as they are committed."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from datetime import UTC, datetime

import click
import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from streams.cli.common import committed_reader, kafka_errors
from streams.cli.common import settings as load
from streams.pipeline.topics import INPUT_KINDS, OUTPUTS
from streams.settings import Settings

CONTRACT_TOPICS = (*INPUT_KINDS, *OUTPUTS)


def real_topic(settings: Settings, topic: str) -> str:
    """A contract topic gets STREAMS_TOPIC_PREFIX; any other name is taken as it is."""
    return settings.topic(topic) if topic in CONTRACT_TOPICS else topic


def format_record(
    partition: int, offset: int, timestamp_ms: int, key: bytes | None, value: bytes | None
) -> str:
    """``3@41 2026-11-24T10:00:01.123Z contoso {"event_id":...}``: where, when, key, value.

    Whatever the bytes, the line stays one line of printable text: a value that is not
    JSON is shown quoted (or base64 if it is not UTF-8), so control characters cannot
    reach the terminal.
    """
    when = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    stamp = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return f"{partition}@{offset} {stamp} {_key(key)} {_value(value)}"


def _key(key: bytes | None) -> str:
    if key is None:
        return "-"
    try:
        text = key.decode()
    except UnicodeDecodeError:
        return f"base64:{base64.b64encode(key).decode()}"
    if text and text.isprintable() and " " not in text and text != "-":
        return text
    return json.dumps(text, ensure_ascii=False)


def _value(value: bytes | None) -> str:
    if value is None:
        return "(no value)"
    try:
        return orjson.dumps(orjson.loads(value)).decode()
    except orjson.JSONDecodeError:
        pass
    try:
        text = value.decode()
    except UnicodeDecodeError:
        return f"(not UTF-8, {len(value)} bytes) base64:{base64.b64encode(value).decode()}"
    return f"(not JSON) {json.dumps(text, ensure_ascii=False)}"


@click.command()
@click.argument("topic")
@click.option(
    "--from-beginning", is_flag=True, help="Start at the oldest message of each partition."
)
@click.option(
    "-n",
    "--lines",
    "last",
    metavar="N",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Otherwise start with the last N messages of each partition.",
)
@click.option(
    "--exit-at-end",
    "--no-follow",
    "exit_at_end",
    is_flag=True,
    help="Stop at the end of the topic as it is now, instead of waiting for more.",
)
def tail(topic: str, from_beginning: bool, last: int, exit_at_end: bool) -> None:
    """Print a topic's messages, one line each, and follow new ones.

    A line is partition@offset, record time (UTC), key, and the value as compact JSON.
    TOPIC is a contract topic (usage.call-minutes, credits.ledger, ...; STREAMS_TOPIC_PREFIX
    is put in front) or any other topic by its full name. Only committed messages are
    shown (read_committed), as the pipeline writes its outputs in transactions. Follows
    new messages until Ctrl-C, unless --exit-at-end.

    \b
    Examples:
      streams tail credits.ledger -n 0 | grep contoso
      streams tail credits.dead-letter --from-beginning --exit-at-end
    """
    settings = load()
    name = real_topic(settings, topic)
    try:
        with kafka_errors(settings):
            asyncio.run(_tail(settings, name, None if from_beginning else last, exit_at_end))
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a follower stops
    except BrokenPipeError:
        # The reader went away (`| head`): end quietly, and let Python's flush at exit
        # not fail on the closed pipe either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


async def _tail(settings: Settings, topic: str, last: int | None, exit_at_end: bool) -> None:
    async with committed_reader(settings, topic) as reader:
        consumer, starts, ends = reader.consumer, reader.starts, reader.ends
        if last is None:
            for partition, start in starts.items():
                consumer.seek(partition, start)
        else:
            for record in await _last(consumer, starts, ends, last):
                _show(record)
        while not (exit_at_end and await _at(consumer, ends)):
            for record in await _fetch(consumer):
                if not (exit_at_end and record.offset >= ends[_partition_of(record)]):
                    _show(record)


async def _last(
    consumer: AIOKafkaConsumer,
    starts: dict[TopicPartition, int],
    ends: dict[TopicPartition, int],
    count: int,
) -> list[ConsumerRecord]:
    """The last ``count`` messages of each partition before its end; positioned at the end.

    Transaction markers and aborted writes take offsets too, so the last N offsets may
    hold fewer messages: the window before the end doubles until it has them.
    """
    found: list[ConsumerRecord] = []
    for partition, end in ends.items():
        consumer.pause(*(other for other in ends if other != partition))
        window, records = 2 * count, []
        while count and len(records) < count:
            start = max(starts[partition], end - window)
            consumer.seek(partition, start)
            records = []
            while await consumer.position(partition) < end:
                batch = await consumer.getmany(partition, timeout_ms=500)
                records += [r for r in batch.get(partition, []) if r.offset < end]
            if start == starts[partition]:
                break
            window *= 2
        found += records[-count:] if count else []
        consumer.resume(*ends)
        consumer.seek(partition, end)
    return found


async def _at(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    """Whether every partition has been read up to ``ends`` (markers included)."""
    for partition, end in ends.items():
        if await consumer.position(partition) < end:
            return False
    return True


async def _fetch(consumer: AIOKafkaConsumer) -> list[ConsumerRecord]:
    batches = await consumer.getmany(timeout_ms=500)
    return [record for partition in sorted(batches) for record in batches[partition]]


def _partition_of(record: ConsumerRecord) -> TopicPartition:
    return TopicPartition(record.topic, record.partition)


def _show(record: ConsumerRecord) -> None:
    click.echo(
        format_record(record.partition, record.offset, record.timestamp, record.key, record.value)
    )
