"""`streams demo`: a local broker, a worker, a day of traffic, a billing system, a report."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.console import Console
from rich.table import Table

from streams.admin import group_lag, wait_for_group
from streams.broker import KafkaDistribution, LocalBroker
from streams.broker.local import free_port
from streams.demo import traffic
from streams.pipeline.topics import (
    ACCOUNT_STATUS,
    DEAD_LETTER,
    LEDGER,
    NOTIFICATIONS,
    RECHARGE_REQUESTED,
    RECHARGE_RESULTS,
    TopicNames,
)
from streams.settings import Settings
from streams.worker_process import worker_process

DAY = datetime(2026, 11, 24, tzinfo=UTC)
# The demo's billing system declines this account's first charge.
DECLINED_ONCE = "northwind"
# The day's usage is sent in this many waves, as telephony would through a day.
WAVES = 6
# Caught up: no lag, every request answered, and nothing new for this long.
QUIET_SECONDS = 1.5
# The worker's STREAMS_RECHARGE_TIMEOUT in the demo, so that a request billing ignores
# is notified overdue within the demo's minute.
RECHARGE_TIMEOUT = 5


class Outputs:
    """Everything the pipeline wrote, de-duplicated by id as a downstream consumer would."""

    def __init__(self) -> None:
        self.ledger: dict[str, dict] = {}
        self.requests: dict[str, dict] = {}
        self.notifications: dict[str, dict] = {}
        self.dead_letters: dict[tuple, dict] = {}
        self.statuses: dict[str, dict] = {}  # the latest of each account, as compacted
        self.last_change = time.monotonic()
        self.declined = False  # the demo's billing declines DECLINED_ONCE's first charge

    def add(self, topic: str, message: dict) -> dict | None:
        """Record a message; return it if it is new (its id not seen before)."""
        if topic == ACCOUNT_STATUS:
            self.statuses[message["account_id"]] = message
            return None
        if topic == LEDGER:
            table, key = self.ledger, message["entry_id"]
        elif topic == RECHARGE_REQUESTED:
            table, key = self.requests, message["request_id"]
        elif topic == NOTIFICATIONS:
            table, key = self.notifications, message["notification_id"]
        else:
            table, key = (
                self.dead_letters,
                (message["topic"], message["partition"], message["offset"]),
            )
        if key in table:
            return None
        table[key] = message
        self.last_change = time.monotonic()
        return message


async def play(bootstrap: str, settings: Settings, console: Console, seed: int) -> Outputs:
    await wait_for_group(bootstrap, settings.app_id, timeout=90)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await producer.start()
    outputs = Outputs()
    topics = [LEDGER, RECHARGE_REQUESTED, NOTIFICATIONS, DEAD_LETTER, ACCOUNT_STATUS]
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        isolation_level="read_committed",  # what an aborted (fenced-off) batch wrote is not
    )
    await consumer.start()
    try:
        setup = traffic.commands(DAY)
        usage = traffic.usage(seed, DAY)
        bad = traffic.bad_messages(DAY)
        for message in setup:
            await producer.send(message.topic, message.value, key=message.key)
        await producer.flush()
        console.print(
            f"sent {len(setup)} admin commands; now {len(usage)} calls and conference legs "
            f"and {len(bad)} bad messages, in {WAVES} waves, answering billing in between"
        )
        names = TopicNames.from_settings(settings)
        consumed = [*names.kind_of(), names.account_inputs]
        # Topics are consumed side by side: let the admins' settings land before any call.
        await _answer_billing(producer, consumer, outputs, bootstrap, settings.app_id, consumed)
        wave = -(-len(usage) // WAVES)
        for start in range(0, len(usage), wave):
            for message in usage[start : start + wave]:
                await producer.send(message.topic, message.value, key=message.key)
            await producer.flush()
            await _answer_billing(producer, consumer, outputs, bootstrap, settings.app_id, consumed)
        for message in [traffic.top_up(DAY), *bad]:
            await producer.send(message.topic, message.value, key=message.key)
        await producer.flush()
        await _answer_billing(producer, consumer, outputs, bootstrap, settings.app_id, consumed)
        await _until_overdue(consumer, outputs)
    finally:
        await consumer.stop()
        await producer.stop()
    return outputs


async def _answer_billing(
    producer: AIOKafkaProducer,
    consumer: AIOKafkaConsumer,
    outputs: Outputs,
    bootstrap: str,
    group_id: str,
    consumed: list[str],
) -> None:
    """Play billing: charge each new recharge request, declining one account's first.

    Ends once the worker has committed everything it consumes, every request has an
    answer, and no output has arrived for QUIET_SECONDS.
    """
    answered = sum(1 for r in outputs.requests.values() if r.get("answered"))
    deadline = time.monotonic() + 180
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError("the worker did not catch up within 3 minutes")
        if (
            time.monotonic() - outputs.last_change > QUIET_SECONDS
            and answered == len(outputs.requests)
            and await group_lag(bootstrap, group_id, consumed) == 0
        ):
            return
        batches = await consumer.getmany(timeout_ms=500)
        for records in batches.values():
            for record in records:
                message = outputs.add(record.topic, orjson.loads(record.value))
                if message is None or record.topic != RECHARGE_REQUESTED:
                    continue
                answered += 1
                message["answered"] = True
                if message["account_id"] == traffic.UNANSWERED:
                    continue  # billing never answers it: it goes overdue
                fail = message["account_id"] == DECLINED_ONCE and not outputs.declined
                outputs.declined = outputs.declined or fail
                result = {
                    "request_id": message["request_id"],
                    "account_id": message["account_id"],
                    "status": "failed" if fail else "succeeded",
                    "amount": message["amount"],
                    "currency": message["currency"],
                    "completed_at": message["requested_at"],
                }
                if fail:
                    result["reason"] = "card declined"
                await producer.send(
                    RECHARGE_RESULTS, orjson.dumps(result), key=message["account_id"].encode()
                )


async def _until_overdue(consumer: AIOKafkaConsumer, outputs: Outputs) -> None:
    """The request billing ignores is noticed overdue a few seconds after it was sent."""
    deadline = time.monotonic() + RECHARGE_TIMEOUT + 60
    while not any(n["type"] == "recharge_overdue" for n in outputs.notifications.values()):
        if time.monotonic() > deadline:
            raise TimeoutError("no recharge_overdue notice for the unanswered request")
        for records in (await consumer.getmany(timeout_ms=500)).values():
            for record in records:
                outputs.add(record.topic, orjson.loads(record.value))


def report(outputs: Outputs, console: Console) -> None:
    console.print(_balances(outputs))
    console.print(_statuses(outputs))
    console.print(_requests(outputs))
    console.print(_notifications(outputs))
    console.print(_dead_letters(outputs))


def _statuses(outputs: Outputs) -> Table:
    table = Table(title="Account status (credits.account-status, latest per account)")
    for column in ("account", "balance", "status", "auto-recharge", "pending request", "seq"):
        table.add_column(column)
    for account, status in sorted(outputs.statuses.items()):
        table.add_row(
            account,
            status["balance"],
            status["status"],
            status["auto_recharge"],
            status["pending_request_id"] or "-",
            str(status["seq"]),
        )
    return table


def _balances(outputs: Outputs) -> Table:
    latest: dict[str, dict] = {}
    entries: dict[str, int] = defaultdict(int)
    for entry in outputs.ledger.values():
        entries[entry["account_id"]] += 1
        if entry["seq"] > latest.get(entry["account_id"], {"seq": 0})["seq"]:
            latest[entry["account_id"]] = entry
    table = Table(title="Balances (from the ledger)")
    for column in ("account", "balance", "currency", "ledger entries", "requests", "notes"):
        table.add_column(column, justify="right" if column != "account" else "left")
    for account, entry in sorted(latest.items()):
        requests = sum(1 for r in outputs.requests.values() if r["account_id"] == account)
        notes = sum(1 for n in outputs.notifications.values() if n["account_id"] == account)
        table.add_row(
            account,
            entry["balance"],
            entry["currency"],
            str(entries[account]),
            str(requests),
            str(notes),
        )
    return table


def _requests(outputs: Outputs) -> Table:
    table = Table(title="Recharge requests")
    for column in ("request_id", "amount", "balance", "trigger", "cause"):
        table.add_column(column)
    for request in outputs.requests.values():
        table.add_row(
            request["request_id"],
            request["amount"],
            request["balance"],
            request["trigger_balance"],
            request["cause_id"],
        )
    return table


def _notifications(outputs: Outputs) -> Table:
    table = Table(title="Notifications")
    for column in ("notification_id", "type", "balance", "at"):
        table.add_column(column)
    for note in outputs.notifications.values():
        table.add_row(note["notification_id"], note["type"], note["balance"], note["occurred_at"])
    return table


def _dead_letters(outputs: Outputs) -> Table:
    table = Table(title="Dead letters")
    for column in ("from", "key"):
        table.add_column(column)
    table.add_column("reason", no_wrap=True, min_width=len("conflicting_duplicate"))
    table.add_column("error")
    for letter in outputs.dead_letters.values():
        table.add_row(
            f"{letter['topic']}/{letter['partition']}@{letter['offset']}",
            str(letter["key"]),
            letter["reason_code"],
            letter["error"],
        )
    return table


def run_demo(
    settings: Settings,
    port: int | None,
    scratch: Path,
    seed: int = 7,
    web_port: int | None = None,
) -> None:
    """Run the demo in ``scratch``: the broker on ``port`` and the worker's HTTP API on
    ``web_port``, each a free port when None, so a Kafka or a worker already running on
    this machine is no obstacle."""
    console = Console()
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # retries while topics appear
    local = LocalBroker(KafkaDistribution(settings.cache_dir), scratch / "kafka", port)
    local.check_ports()  # a taken port is one line, before anything starts
    console.print(f"starting Apache Kafka {local.distribution.version} on {local.url}")
    local.start()
    worker_settings = settings.model_copy(
        update={
            "broker": local.url,
            "data_dir": scratch / "worker",
            "web_port": web_port or free_port("0.0.0.0"),  # Faust's web server binds all
            "topic_prefix": "",
            "recharge_timeout": RECHARGE_TIMEOUT,
            # Its own broker, on a plaintext listener: no STREAMS_KAFKA_* applies.
            **{name: None for name in Settings.model_fields if name.startswith("kafka_")},
            "kafka_security_protocol": "PLAINTEXT",
        }
    )
    log_path = scratch / "worker.log"
    console.print(
        f"broker ready; starting a worker (HTTP API on port {worker_settings.web_port}, "
        f"log: {log_path})"
    )
    try:
        with worker_process(worker_settings, log_path):
            try:
                outputs = asyncio.run(play(local.bootstrap, worker_settings, console, seed))
                report(outputs, console)
            except TimeoutError:
                tail = log_path.read_text(errors="replace").splitlines()[-40:]
                console.print("the worker did not catch up; the end of its log:", *tail, sep="\n")
                raise
    finally:
        local.stop()
        console.print("worker and broker stopped")
