"""The command line as an operator runs it: real processes against the session's broker.

replay publishes exactly the valid lines of a file (and no faster than --rate), tail
prints what a topic holds, accounts lists every account once from either of two
workers, and every failure is one line on stderr with a non-zero exit.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streams.broker.local import free_port
from streams.pipeline.partitioning import account_partition
from tests.fixtures.books import Run
from tests.fixtures.broker import Kafka
from tests.fixtures.commands import Done
from tests.fixtures.commands import streams as run_command
from tests.fixtures.kafka_io import create_topics, read_to_end
from tests.fixtures.load import generate
from tests.fixtures.waiting import wait_until
from tests.fixtures.workers import REPO, Workers

CALLS = "usage.call-minutes"
CALL = {
    "occurred_at": "2026-11-24T10:00:00Z",
    "call_type": "domestic",
    "direction": "outbound",
    "country": "NO",
    "duration_seconds": 125,
}


async def streams(
    kafka: Kafka, run: Run, *args: str, timeout: float = 60.0, **settings: str
) -> Done:
    """Run ``python -m streams ARGS`` to its end, with this run's settings (``settings``
    override them, by lower-case name)."""
    return await run_command(_env(kafka, run, **settings), *args, timeout=timeout)


def _env(kafka: Kafka, run: Run, **settings: str) -> dict[str, str]:
    return {**os.environ, "STREAMS_BROKER": kafka.url, **run.env(**settings)}


def _call(n: int, account: str) -> bytes:
    return orjson.dumps({"event_id": f"c-{n}", "account_id": account, **CALL})


async def test_replay_publishes_exactly_the_valid_lines_and_reports_the_others(
    kafka: Kafka, tmp_path: Path
) -> None:
    run = Run.new(kafka.bootstrap, "clireplay")
    await run.create_inputs(partitions=4)
    accounts = ["org-a", "org-b", "org-c", "ørg-d", "org-e"]
    lines = [_call(n, accounts[n % len(accounts)]) for n in range(24)]
    lines[2] = b"not json"
    lines[6] = orjson.dumps({**orjson.loads(lines[6]), "duration_seconds": -5})
    lines[11] = lines[11].replace(b'"account_id"', b'"account"')
    lines[14] = b""  # a blank line is no message: neither sent nor reported
    lines[19] = orjson.dumps({"command_id": "x", "account_id": "org-a", "type": "add_funds"})
    path = tmp_path / "calls.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    good = [line for n, line in enumerate(lines) if n not in (2, 6, 11, 14, 19)]

    done = await streams(kafka, run, "replay", str(path), "--topic", "usage.call-minutes")

    assert (done.status, done.stderr) == (0, "")
    report = done.stdout.splitlines()
    assert report[:5] == [
        "skipped 4 invalid lines:",
        "  line 3: not valid JSON: invalid literal, expected 'null': line 1 column 1 (char 0)",
        "  line 7: duration_seconds: -5 is less than the minimum of 0",
        '  line 12: "account_id" is a required property',
        '  line 20: "event_id" is a required property',
    ]
    assert report[5].startswith(f"sent 19 messages to {run.prefix}usage.call-minutes in ")
    assert report[5].endswith("; skipped 4")
    assert len(report) == 6

    records = await read_to_end(kafka.bootstrap, f"{run.prefix}usage.call-minutes")
    assert sorted(record.value for record in records) == sorted(good)
    for record in records:
        account = orjson.loads(record.value)["account_id"]
        assert record.key == account.encode()
        # Kafka's default partitioner, as every contract producer keys: the worker agrees.
        assert record.partition == account_partition(record.key, 4)
    for partition in range(4):  # and in the file's order
        in_order = sorted(records, key=lambda record: record.offset)
        sent = [record.value for record in in_order if record.partition == partition]
        assert sent == [line for line in good if line in sent]


async def test_replay_keeps_to_the_rate(kafka: Kafka, tmp_path: Path) -> None:
    run = Run.new(kafka.bootstrap, "clirate")
    await run.create_inputs(partitions=2)
    count, rate = 16, 8.0
    path = tmp_path / "calls.jsonl"
    path.write_bytes(b"\n".join(_call(n, f"org-{n % 3}") for n in range(count)))

    done = await streams(
        kafka, run, "replay", str(path), "--topic", "usage.call-minutes", "--rate", str(rate)
    )

    assert done.status == 0, done.stderr
    records = await read_to_end(kafka.bootstrap, f"{run.prefix}usage.call-minutes")
    assert len(records) == count
    # The first message goes at once and each next one 1/rate later: (count - 1) / rate at
    # least between the first and the last send (record times are whole milliseconds).
    least = (count - 1) / rate
    stamps = sorted(record.timestamp for record in records)
    assert stamps[-1] - stamps[0] >= least * 1000 - 1
    assert done.seconds >= least


async def _ledger_with_a_transaction_aborted(kafka: Kafka, run: Run) -> str:
    """A 1-partition topic: 2 messages, an aborted one, then text that is not JSON and a
    message without a key. Offsets 0-1, marker 2, aborted 3, marker 4, 5-6, marker 7."""
    topic = f"{run.prefix}credits.ledger"
    await create_topics(kafka.bootstrap, [topic], partitions=1)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap, transactional_id=f"{run.app_id}-tx"
    )
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send_and_wait(topic, b'{"entry_id": "a:1",  "seq": 1}', key=b"a")
            await producer.send_and_wait(topic, b'{"entry_id": "b:1", "seq": 1}', key=b"b")
        await producer.begin_transaction()
        await producer.send_and_wait(topic, b'{"entry_id": "aborted"}', key=b"a")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send_and_wait(topic, b"plain text", key=b"c")
            await producer.send_and_wait(topic, b'{"entry_id": "d:1"}', key=None)
    finally:
        await producer.stop()
    return topic


def _where_and_what(line: str) -> tuple[str, str]:
    where, when, what = line.split(" ", 2)
    assert datetime.fromisoformat(when).utcoffset().total_seconds() == 0
    return where, what


async def test_tail_prints_the_committed_messages_then_exits_at_the_end(kafka: Kafka) -> None:
    run = Run.new(kafka.bootstrap, "clitail")
    await _ledger_with_a_transaction_aborted(kafka, run)

    everything = await streams(
        kafka, run, "tail", "credits.ledger", "--from-beginning", "--exit-at-end"
    )
    last_three = await streams(kafka, run, "tail", "credits.ledger", "-n", "3", "--no-follow")

    assert (everything.status, everything.stderr) == (0, "")
    assert [_where_and_what(line) for line in everything.stdout.splitlines()] == [
        ("0@0", 'a {"entry_id":"a:1","seq":1}'),
        ("0@1", 'b {"entry_id":"b:1","seq":1}'),
        ("0@5", 'c (not JSON) "plain text"'),
        ("0@6", '- {"entry_id":"d:1"}'),
    ]
    assert (last_three.status, last_three.stderr) == (0, "")
    assert last_three.stdout.splitlines() == everything.stdout.splitlines()[1:]


async def test_tail_follows_new_messages_until_ctrl_c(kafka: Kafka) -> None:
    run = Run.new(kafka.bootstrap, "clifollow")
    topic = await _ledger_with_a_transaction_aborted(kafka, run)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "streams",
        "tail",
        "credits.ledger",
        "-n",
        "1",
        cwd=REPO,
        env=_env(kafka, run),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        # Ctrl-C reaches it as at a terminal, even when the tests run in the background.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert process.stdout is not None
        first = await asyncio.wait_for(process.stdout.readline(), 30)
        assert _where_and_what(first.decode().rstrip("\n"))[0] == "0@6"
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topic, b'{"entry_id": "e:1"}', key=b"e")
        finally:
            await producer.stop()
        new = await asyncio.wait_for(process.stdout.readline(), 30)
        assert _where_and_what(new.decode().rstrip("\n")) == ("0@8", 'e {"entry_id":"e:1"}')
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert (process.returncode, err) == (0, b"")


async def _two_workers(kafka: Kafka, workers: Workers, name: str) -> tuple[Run, list[str]]:
    run = Run.new(kafka.bootstrap, name)
    await run.create_inputs()
    started = [workers.start("streams worker", run.env(), name=f"w{n}") for n in range(2)]
    await workers.wait_stable(run.app_id, members=2, timeout=120)
    return run, [f"http://127.0.0.1:{worker.env['STREAMS_WEB_PORT']}" for worker in started]


def _expected_rows(commands: list[bytes]) -> dict[str, list[str]]:
    """account -> its row in the table, worked out from the commands sent (no billing)."""
    funds: dict[str, Decimal] = {}
    auto: dict[str, dict] = {}
    for value in commands:
        command = orjson.loads(value)
        if command["type"] == "add_funds":
            funds[command["account_id"]] = Decimal(command["amount"])
        else:
            auto[command["account_id"]] = command
    rows = {}
    for account, balance in funds.items():
        setting = auto.get(account)
        recharge, pending = "off", "-"
        if setting is not None:
            recharge = f"{setting['recharge_amount']} below {setting['trigger_balance']}"
            if balance < Decimal(setting["trigger_balance"]):  # requested at once
                pending = f"{account}:rr:1 ({setting['recharge_amount']})"
        rows[account] = [account, f"{balance:.2f}", "USD", recharge, pending]
    return rows


def _table_rows(stdout: str) -> list[list[str]]:
    """The header and the rows of a rich table (its header has heavier bars)."""
    return [
        [cell.strip() for cell in re.split("[│┃]", line)[1:-1]]
        for line in stdout.splitlines()
        if line[:1] in ("│", "┃")
    ]


async def test_accounts_lists_every_account_once_from_either_worker(
    kafka: Kafka, workers: Workers, tmp_path: Path
) -> None:
    run, urls = await _two_workers(kafka, workers, "cliaccounts")
    commands = [value for _, _, value in generate(21, accounts=16, events=0).commands]
    expected = _expected_rows(commands)
    assert any(row[4] != "-" for row in expected.values())  # a pending request is shown too
    path = tmp_path / "commands.jsonl"
    path.write_bytes(b"\n".join(commands))
    sent = await streams(kafka, run, "replay", str(path), "--topic", "credits.commands")
    assert sent.status == 0, sent.stderr

    async with aiohttp.ClientSession() as session:

        async def applied() -> bool:
            async with session.get(f"{urls[0]}/accounts") as response:
                if response.status != 200:
                    return False
                shown = orjson.loads(await response.read())["accounts"]
            configured = [a for a in shown if a["auto_recharge"] is not None]
            return len(shown) == len(expected) and len(configured) == len(commands) - len(shown)

        await wait_until(applied, timeout=120, what="every command applied")
        parts = []
        for url in urls:
            async with session.get(f"{url}/accounts?scope=local") as response:
                parts.append(orjson.loads(await response.read()))
    # Each worker holds only some of the accounts: the list is a merge of both.
    assert all(part["accounts"] for part in parts)
    assert sorted(parts[0]["partitions"] + parts[1]["partitions"]) == list(range(8))

    for url in urls:
        listed = await streams(kafka, run, "accounts", "--url", url)
        assert (listed.status, listed.stderr) == (0, "")
        rows = _table_rows(listed.stdout)
        assert rows[0] == ["account", "balance", "currency", "auto-recharge", "pending request"]
        assert rows[1:] == [expected[account] for account in sorted(expected)]
        assert listed.stdout.rstrip().endswith(f"{len(expected)} accounts")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["replay", "{tmp}/calls.jsonl", "--topic", "credits.ledger"],
            "Error: 'credits.ledger' is not an input topic of the contract: use one of "
            "usage.call-minutes, usage.conference-minutes, credits.commands, "
            "billing.recharge-results",
        ),
        (
            ["replay", "{tmp}/missing.jsonl", "--topic", "usage.call-minutes"],
            "Error: cannot read {tmp}/missing.jsonl: No such file or directory",
        ),
        (
            ["replay", "{tmp}/calls.jsonl", "--topic", "usage.call-minutes"],
            "Error: no topic {prefix}usage.call-minutes at {broker}: "
            "a worker creates its topics as it starts",
        ),
        (
            ["tail", "credits.notifications"],
            "Error: no topic {prefix}credits.notifications at {broker}",
        ),
        (
            ["accounts", "--url", "http://127.0.0.1:{closed}"],
            "Error: cannot reach http://127.0.0.1:{closed}/accounts: "
            "[Errno 111] Connection refused",
        ),
    ],
    ids=["not an input topic", "missing file", "topic not created", "tail: no topic", "no worker"],
)
async def test_an_error_is_one_line_on_stderr(
    kafka: Kafka, tmp_path: Path, args: list[str], error: str
) -> None:
    run = Run.new(kafka.bootstrap, "clierror")  # its topics are never created
    (tmp_path / "calls.jsonl").write_bytes(_call(1, "org-a"))
    names = {"tmp": tmp_path, "prefix": run.prefix, "broker": kafka.url, "closed": free_port()}

    done = await streams(kafka, run, *(arg.format(**names) for arg in args))

    assert done.status == 1
    assert done.stderr.splitlines() == [error.format(**names)]
    assert done.stdout == ""


async def test_an_unreachable_broker_is_one_line_within_seconds(
    kafka: Kafka, tmp_path: Path
) -> None:
    run = Run.new(kafka.bootstrap, "clinobroker")
    broker = f"kafka://127.0.0.1:{free_port()}"
    calls = tmp_path / "calls.jsonl"
    calls.write_bytes(_call(1, "org-a"))
    for command in (["tail", "credits.ledger"], ["replay", str(calls), "--topic", CALLS]):
        done = await streams(kafka, run, *command, broker=broker)
        assert done.status == 1
        assert done.stderr.splitlines() == [f"Error: cannot connect to Kafka at {broker}"]
        assert done.seconds < 30


async def test_a_bad_setting_is_one_line_naming_it(kafka: Kafka) -> None:
    run = Run.new(kafka.bootstrap, "clisetting")
    done = await streams(kafka, run, "accounts", web_port="x")
    assert done.status == 2
    assert done.stderr.splitlines() == [
        "Error: invalid configuration: STREAMS_WEB_PORT='x': expected an integer from 1 to 65535"
    ]
