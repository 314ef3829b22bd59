"""``streams redrive``: send dead letters' original messages back to their topics, once
what refused them is fixed (a rate added, a currency corrected). The pipeline applies a
redriven input as any other: once, however often it is redriven."""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

import click
import orjson
from aiokafka import AIOKafkaConsumer

from streams.cli.common import committed_reader, kafka_errors
from streams.cli.common import settings as load
from streams.cli.publish import Message, progress_bar, publish
from streams.pipeline.topics import DEAD_LETTER, INPUT_KINDS
from streams.settings import Settings
from streams.wire.dead_letter import REASON_CODES


class BadFilter(click.ClickException):
    """A filter that cannot match: one line, exit status 2 like a usage error."""

    exit_code = 2


@dataclass(frozen=True)
class Filters:
    """Which dead letters to redrive; None matches any."""

    reason: str | None = None
    account: str | None = None
    since: datetime | None = None

    def match(self, letter: dict, account: str | None) -> bool:
        if self.reason is not None and letter.get("reason_code") != self.reason:
            return False
        if self.account is not None and self.account not in (account, letter.get("key")):
            return False
        if self.since is None:
            return True
        received = _received_at(letter)
        return received is not None and received >= self.since

    def describe(self) -> str:
        named = [
            f"reason {self.reason}" if self.reason else "",
            f"account {self.account}" if self.account else "",
            f"received since {self.since.isoformat()}" if self.since else "",
        ]
        return ", ".join(part for part in named if part) or "any"


@dataclass
class Redrive:
    """What redriving the letters read would send, and why some matching ones are not."""

    sends: list[Message] = field(default_factory=list)
    matched: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def take(self, value: bytes | None, filters: Filters, input_topics: set[str]) -> None:
        """Consider one record of the dead-letter topic."""
        try:
            letter = orjson.loads(value or b"")
        except orjson.JSONDecodeError:
            return  # not a dead letter: nothing to match
        if not isinstance(letter, dict) or not isinstance(letter.get("payload"), str):
            return
        try:
            payload = _payload(letter)
        except ValueError:  # base64 that is not
            return
        account = _account_of(payload)
        if not filters.match(letter, account):
            return
        self.matched += 1
        if letter.get("payload_truncated"):
            self.skipped["truncated: only the beginning was kept"] += 1
        elif letter.get("topic") not in input_topics:
            self.skipped["not from an input topic"] += 1
        else:
            key = account.encode() if account is not None else _original_key(letter)
            self.sends.append((letter["topic"], key, payload))

    def summary(self, filters: Filters, sent: bool, seconds: float) -> str:
        """``redrove 3 of 4 matching dead letters ...``, or ``would redrive`` for a dry run."""
        if not self.matched:
            return f"no dead letter matches ({filters.describe()}): nothing sent"
        verb = f"redrove {len(self.sends)}" if sent else f"would redrive {len(self.sends)}"
        line = f"{verb} of {self.matched} matching dead letters ({filters.describe()})"
        if sent:
            line += f" in {seconds:.2f} s"
        per_topic = Counter(topic for topic, _, _ in self.sends)
        if per_topic:
            line += ": " + ", ".join(f"{n} to {topic}" for topic, n in sorted(per_topic.items()))
        if self.skipped:
            reasons = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))
            line += f"; skipped {sum(self.skipped.values())} ({reasons})"
        return line


def parse_since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadFilter(f"--since {text!r} is not an RFC 3339 time like 2026-11-24T10:00:00Z")
    return moment


def check_reason(code: str | None) -> str | None:
    if code is not None and code not in REASON_CODES:
        raise BadFilter(
            f"--reason {code!r} is not a reason code: use one of " + ", ".join(REASON_CODES)
        )
    return code


@click.command()
@click.option("--reason", metavar="CODE", help="Only letters with this reason_code.")
@click.option("--account", metavar="ID", help="Only letters of this account.")
@click.option("--since", metavar="TIME", help="Only letters received at or after TIME (RFC 3339).")
@click.option("--dry-run", is_flag=True, help="Say what would be sent; send nothing.")
def redrive(reason: str | None, account: str | None, since: str | None, dry_run: bool) -> None:
    """Send the original messages of dead letters back to their topics.

    Reads credits.dead-letter (committed letters, up to its end as it is now), keeps the
    letters that match every filter given, and sends each one's original payload to
    the input topic it came from, keyed by its account. A letter that holds only the
    beginning of its message (payload_truncated) cannot be redriven and is counted.
    An input is applied once however often it is redriven; one whose cause is not
    fixed goes to the dead letter again.

    \b
    Example, once a missing rate is added to the rate card:
      streams redrive --reason no_rate --since 2026-11-24T00:00:00Z
    """
    filters = Filters(check_reason(reason), account, parse_since(since))
    settings = load()
    with kafka_errors(settings):
        plan = asyncio.run(_read(settings, filters))
        seconds = 0.0
        if plan.sends and not dry_run:
            seconds = asyncio.run(publish(settings, plan.sends, "redrive"))
    click.echo(plan.summary(filters, not dry_run, seconds))


async def _read(settings: Settings, filters: Filters) -> Redrive:
    plan = Redrive()
    inputs = {settings.topic(name) for name in INPUT_KINDS}
    async for value in _letters(settings, settings.topic(DEAD_LETTER)):
        plan.take(value, filters, inputs)
    return plan


async def _letters(settings: Settings, topic: str) -> AsyncIterator[bytes | None]:
    """The committed values of ``topic`` up to its end as it is now, with a progress bar."""
    async with committed_reader(settings, topic) as reader:
        consumer, starts, ends = reader.consumer, reader.starts, reader.ends
        for partition, start in starts.items():
            consumer.seek(partition, start)
        with progress_bar() as progress:
            task = progress.add_task(
                f"reading {topic}", total=sum(ends.values()) - sum(starts.values())
            )
            while left := [p for p in ends if await consumer.position(p) < ends[p]]:
                batches = await consumer.getmany(*left, timeout_ms=500)
                for partition, records in batches.items():
                    for record in records:
                        if record.offset < ends[partition]:
                            yield record.value
                progress.update(task, completed=await _read_so_far(consumer, starts))


async def _read_so_far(consumer: AIOKafkaConsumer, starts: dict) -> int:
    return sum([await consumer.position(p) - start for p, start in starts.items()])


def _payload(letter: dict) -> bytes:
    if letter.get("payload_encoding") == "base64":
        return base64.b64decode(letter["payload"])
    return letter["payload"].encode()


def _account_of(payload: bytes) -> str | None:
    try:
        message = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    account = message.get("account_id") if isinstance(message, dict) else None
    return account if isinstance(account, str) else None


def _original_key(letter: dict) -> bytes | None:
    key = letter.get("key")
    if not isinstance(key, str):
        return None
    try:
        return base64.b64decode(key) if letter.get("key_encoding") == "base64" else key.encode()
    except ValueError:
        return None


def _received_at(letter: dict) -> datetime | None:
    try:
        return datetime.fromisoformat(letter["received_at"])
    except (KeyError, TypeError, ValueError):
        return None
