"""``streams replay``: publish a recorded topic, one JSON message a line, to a contract
input topic. Every line is checked first, as the worker checks its inputs; bad ones are
reported and left out, the rest sent keyed by account_id."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import click

from streams.cli.common import kafka_errors
from streams.cli.common import settings as load
from streams.cli.publish import publish
from streams.domain import MoneyError
from streams.pipeline.topics import INPUT_KINDS
from streams.wire.decode import TO_DOMAIN, Decoder
from streams.wire.errors import InvalidMessage
from streams.wire.schemas import Validators

# Skipped lines listed one by one; the rest are counted.
SHOWN_SKIPPED = 5


@dataclass(frozen=True)
class Line:
    number: int  # from 1, as an editor counts
    key: bytes  # the account_id
    value: bytes


@dataclass(frozen=True)
class Skipped:
    number: int
    reason: str


@dataclass
class Checked:
    good: list[Line] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def input_kind(topic: str) -> str:
    """The message kind of a contract input topic; ClickException naming those there are."""
    if topic not in INPUT_KINDS:
        raise click.ClickException(
            f"{topic!r} is not an input topic of the contract: use one of " + ", ".join(INPUT_KINDS)
        )
    return INPUT_KINDS[topic]


def check_lines(decoder: Decoder, kind: str, lines: Iterable[bytes], now_ms: int) -> Checked:
    """Each line as the worker would take it, sent at ``now_ms``; blank lines are not
    messages and not counted."""
    checked = Checked()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            message = decoder.message(kind, line, now_ms)
            TO_DOMAIN[kind](message)  # amounts too, as the accounts stage reads them
        except (InvalidMessage, MoneyError) as error:
            checked.skipped.append(Skipped(number, str(error)))
            continue
        checked.good.append(Line(number, message["account_id"].encode(), line))
    return checked


def skipped_report(skipped: list[Skipped], shown: int = SHOWN_SKIPPED) -> list[str]:
    """What is said about the lines left out: how many, then the first few with the reason."""
    if not skipped:
        return []
    report = [f"skipped {len(skipped)} invalid line{'s' if len(skipped) > 1 else ''}:"]
    report += [f"  line {line.number}: {line.reason}" for line in skipped[:shown]]
    if len(skipped) > shown:
        report.append(f"  ... and {len(skipped) - shown} more")
    return report


@click.command()
@click.argument("file", type=click.Path(allow_dash=True, path_type=Path))
@click.option(
    "--topic",
    required=True,
    metavar="TOPIC",
    help=f"Contract input topic to publish to: {', '.join(INPUT_KINDS)} "
    "(STREAMS_TOPIC_PREFIX is put in front).",
)
@click.option(
    "--rate",
    metavar="N",
    type=click.FloatRange(min=0, min_open=True),
    help="At most this many messages per second (default: as fast as Kafka takes them).",
)
def replay(file: Path, topic: str, rate: float | None) -> None:
    """Publish a recorded topic: FILE (- for stdin), one JSON message a line.

    Every line is checked against the topic's schema before anything is sent; invalid
    lines are skipped and reported (how many, and the first few with the reason). The
    others are sent in order, keyed by their account_id, with acks from all replicas and
    an idempotent producer. The broker is STREAMS_BROKER.

    \b
    Example:
      streams replay calls.jsonl --topic usage.call-minutes --rate 200
    """
    kind = input_kind(topic)
    settings = load()
    try:
        lines = (sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()).splitlines()
    except OSError as error:
        raise click.ClickException(f"cannot read {file}: {error.strerror}") from None
    checked = check_lines(Decoder(Validators()), kind, lines, int(time.time() * 1000))
    for line in skipped_report(checked.skipped):
        click.echo(line)
    if not checked.good:
        raise click.ClickException(f"no valid message in {file}: nothing sent")

    target = settings.topic(topic)
    messages = [(target, line.key, line.value) for line in checked.good]
    with kafka_errors(settings):
        elapsed = asyncio.run(publish(settings, messages, target, rate))
    click.echo(
        f"sent {len(checked.good)} messages to {target} in {elapsed:.2f} s "
        f"({len(checked.good) / max(elapsed, 1e-6):,.0f}/s); skipped {len(checked.skipped)}"
    )
