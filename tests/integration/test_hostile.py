"""Nothing a producer sends stops billing: a real worker under a supervisor, normal traffic
for a few hundred accounts, and every class of hostile input mixed in, in an order drawn
from a seed.

Pass: the worker never exits (no restart), every normal input is applied once with exact
balances, every hostile input is dead-lettered with its reason code (or applied, where
the contract says so: another kind's id field, an id shared by two kinds, a late
success), and every letter fits the dead-letter topic.
"""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass

import orjson
import pytest

from streams.wire.dead_letter import DEFAULT_MAX_BYTES
from tests.fixtures.books import Run, traffic
from tests.fixtures.broker import Kafka, announce
from tests.fixtures.kafka_io import find_in_topic, read_to_end
from tests.fixtures.load import generate
from tests.fixtures.waiting import wait_until
from tests.fixtures.workers import Workers

SEED = 20261202
AT = "2026-11-24T10:00:00Z"
CALLS, COMMANDS, RESULTS = "usage.call-minutes", "credits.commands", "billing.recharge-results"
NEAR_1_MB = 1_000_000


@dataclass(frozen=True)
class Hostile:
    """An input and what must come of it: a dead letter's reason code, or None (applied)."""

    topic: str
    key: bytes | None
    value: bytes | None
    code: str | None


def call(account: str, event_id: object, seconds: int = 60, **fields: object) -> bytes:
    message = {
        "event_id": event_id,
        "account_id": account,
        "occurred_at": AT,
        "call_type": "domestic",
        "direction": "outbound",
        "country": "US",
        "duration_seconds": seconds,
    }
    return orjson.dumps({**message, **fields})


def funds(account: str, command_id: object, amount: str = "10.00", **fields: object) -> bytes:
    message = {
        "command_id": command_id,
        "account_id": account,
        "type": "add_funds",
        "amount": amount,
        "currency": "USD",
        "issued_at": AT,
    }
    return orjson.dumps({**message, **fields})


def result(request: str, status: str, amount: str = "20.00", **fields: object) -> bytes:
    message = {
        "request_id": request,
        "account_id": request.split(":rr:")[0],
        "status": status,
        "amount": amount,
        "currency": "USD",
        "completed_at": "2026-11-24T10:30:00Z",
    }
    if status == "failed":
        message["reason"] = "card declined"
    return orjson.dumps({**message, **fields})


def of(topic: str, account: str, value: bytes | None, code: str | None) -> Hostile:
    return Hostile(topic, account.encode(), value, code)


def first_scripts(rng: random.Random) -> list[list[Hostile]]:
    """Hostile inputs, a script each: the order within a script is kept (same topic, same
    key), the scripts are mixed with each other and with the normal traffic."""
    garbage = bytes(rng.getrandbits(8) for _ in range(NEAR_1_MB))
    return [
        # Another kind's id field is an extra property: applied.
        [
            of(
                COMMANDS,
                "h-extra",
                funds("h-extra", "x-1", "5.00", event_id=5, request_id=[1]),
                None,
            )
        ],
        # One id, two kinds: both applied.
        [of(COMMANDS, "h-kinds", funds("h-kinds", "shared"), None)],
        [of(CALLS, "h-kinds", call("h-kinds", "shared"), None)],
        # A repeat with other content is refused; one with the same content is nothing.
        [of(COMMANDS, "h-conflict", funds("h-conflict", "f"), None)],
        [
            of(CALLS, "h-conflict", call("h-conflict", "c"), None),
            of(CALLS, "h-conflict", call("h-conflict", "c", 600), "conflicting_duplicate"),
            of(CALLS, "h-conflict", call("h-conflict", "c"), None),
        ],
        # Amounts at and past the balance limit.
        [
            of(COMMANDS, "h-rich", funds("h-rich", "r-1", "999999999999.999999"), None),
            of(COMMANDS, "h-rich", funds("h-rich", "r-2", "999999999999.999999"), "balance_limit"),
            of(COMMANDS, "h-rich", funds("h-rich", "r-3", "0.000001"), "balance_limit"),
            of(COMMANDS, "h-rich", funds("h-rich", "r-4", "1000000000000.00"), "schema"),
        ],
        # Ids that are not strings, or missing, or too long.
        [
            of(CALLS, "h-schema", call("h-schema", 5), "schema"),
            of(CALLS, "h-schema", call("h-schema", ["c-1"]), "schema"),
            of(CALLS, "h-schema", call("h-schema", "x" * 201), "schema"),
            of(
                CALLS,
                "h-schema",
                orjson.dumps({"account_id": "h-schema", "country": "US"}),
                "schema",
            ),
            of(COMMANDS, "h-schema", funds("h-schema", None), "schema"),
            of(RESULTS, "h-schema", result("h-schema:rr:1", "succeeded", request_id=12), "schema"),
        ],
        # Bytes that are no message: near 1 MB of garbage and of control characters (both
        # too large for a letter whole), not UTF-8, too deep, not an object, no value, and
        # a key larger than any account id.
        [
            of(CALLS, "h-garbage", garbage, "malformed"),
            of(CALLS, "h-garbage", b"\x01" * NEAR_1_MB, "malformed"),
            of(CALLS, "h-garbage", b"\xff\xfe{}", "malformed"),
            of(CALLS, "h-garbage", b"[" * 5000 + b"]" * 5000, "malformed"),
            of(CALLS, "h-garbage", b'["h-garbage"]', "malformed"),
            of(CALLS, "h-garbage", None, "malformed"),
            Hostile(CALLS, b"h-garbage" * 300, call("h-garbage", "long-key"), "malformed"),
        ],
        # Zero (Go's zero value) and far-future times.
        [
            of(
                CALLS,
                "h-zero",
                call("h-zero", "z", occurred_at="0001-01-01T00:00:00Z"),
                "time_out_of_range",
            )
        ],
        [
            of(
                CALLS,
                "h-future",
                call("h-future", "f", occurred_at="9999-12-31T23:00:00Z"),
                "time_out_of_range",
            ),
            of(
                CALLS,
                "h-future",
                call("h-future", "g", occurred_at="2100-01-01T00:00:00Z"),
                "time_out_of_range",
            ),
        ],
        [
            of(
                COMMANDS,
                "h-future",
                funds("h-future", "p", issued_at="1999-12-31T23:59:59Z"),
                "time_out_of_range",
            )
        ],
        # The domain's refusals.
        [of(COMMANDS, "h-norate", funds("h-norate", "n", "1.00", currency="EUR"), None)],
        [
            of(COMMANDS, "h-eur", funds("h-eur", "u"), None),
            of(COMMANDS, "h-eur", funds("h-eur", "e", currency="EUR"), "currency_mismatch"),
            of(COMMANDS, "h-eur", funds("h-eur", "z", "0.00"), "not_positive"),
        ],
        [of(RESULTS, "h-nobody", result("h-nobody:rr:1", "succeeded"), "unknown_request")],
        # Auto-recharge that billing (this test) answers late: a request at once.
        [
            of(COMMANDS, "h-late", funds("h-late", "l"), None),
            of(
                COMMANDS,
                "h-late",
                orjson.dumps(
                    {
                        "command_id": "auto",
                        "account_id": "h-late",
                        "type": "configure_auto_recharge",
                        "enabled": True,
                        "recharge_amount": "20.00",
                        "trigger_balance": "50.00",
                        "currency": "USD",
                        "issued_at": AT,
                    }
                ),
                None,
            ),
        ],
    ]


def second_part() -> list[Hostile]:
    """Once h-late:rr:1 was requested and h-norate's euros credited. For h-late: failed,
    then succeeded after all (credited, and a new request rr:2 since the balance is still
    below the trigger), repeats, and results for settled and unknown requests. For
    h-norate, a call: there is no rate in euros."""
    return [
        of(CALLS, "h-norate", call("h-norate", "eu"), "no_rate"),
        of(RESULTS, "h-late", result("h-late:rr:1", "failed"), None),
        of(RESULTS, "h-late", result("h-late:rr:1", "succeeded"), None),
        of(RESULTS, "h-late", result("h-late:rr:1", "failed"), None),  # the same again
        of(RESULTS, "h-late", result("h-late:rr:1", "succeeded"), None),
        of(
            RESULTS, "h-late", result("h-late:rr:1", "failed", reason="no"), "conflicting_duplicate"
        ),
        of(RESULTS, "h-late", result("h-late:rr:2", "succeeded"), None),
        of(RESULTS, "h-late", result("h-late:rr:2", "failed"), "settled_request"),
        of(RESULTS, "h-late", result("h-late:rr:99", "succeeded"), "unknown_request"),
    ]


BALANCES = {
    "h-extra": "5.00",
    "h-kinds": "9.98",
    "h-conflict": "9.98",
    "h-rich": "999999999999.999999",
    "h-norate": "1.00",
    "h-eur": "10.00",
    "h-late": "50.00",  # 10.00, and two recharges of 20.00
}
NEVER_CREATED = {"h-schema", "h-garbage", "h-zero", "h-future", "h-nobody"}


def mixed(rng: random.Random, normal: list, scripts: list[list]) -> list:
    """Every message of ``normal`` and the scripts, each kept in its order, mixed at random."""
    queues = [list(normal), *(list(script) for script in scripts)]
    out = []
    while queues := [queue for queue in queues if queue]:
        (queue,) = rng.choices(queues, weights=[len(queue) for queue in queues])
        out.append(queue.pop(0))
    return out


def identity(payload: bytes | None) -> str:
    return hashlib.sha256(payload or b"").hexdigest()


def letter_identity(letter: dict) -> str:
    if letter.get("payload_truncated"):
        return letter["payload_sha256"]
    if letter.get("payload_encoding") == "base64":
        return identity(base64.b64decode(letter["payload"]))
    return identity(letter["payload"].encode())


async def test_no_hostile_input_stops_the_worker_or_loses_a_minute(
    kafka: Kafka, workers: Workers, request: pytest.FixtureRequest
) -> None:
    rng = random.Random(SEED)
    load = generate(SEED, accounts=300, events=3000)
    scripts = first_scripts(rng)
    hostile = [item for script in scripts for item in script] + second_part()
    expected = {identity(h.value): h.code for h in hostile if h.code is not None}
    assert len(expected) == sum(h.code is not None for h in hostile), "payloads must differ"
    run = Run.new(kafka.bootstrap, "hostile")
    await run.create_inputs()
    env = run.env()
    live = [workers.start("streams worker", env, name="w")]
    await workers.wait_stable(run.app_id, members=1)

    as_sent = [[(h.topic, h.key, h.value) for h in script] for script in scripts]
    async with (
        traffic(run, SEED, answer=set(load.funds), linger_ms=5) as sent,
        workers.supervised(live, env) as supervisor,
    ):
        await sent.send(load.commands)
        await sent.send(mixed(rng, load.usage, as_sent))

        async def first_part_applied() -> bool:
            ids = {r["request_id"] for r in sent.outputs.of("credits.recharge-requested")}
            entries = {e["entry_id"] for e in sent.outputs.of("credits.ledger")}
            return "h-late:rr:1" in ids and "h-norate:1" in entries

        await wait_until(first_part_applied, timeout=120, what="h-late:rr:1 and h-norate:1")
        await sent.send([(h.topic, h.key, h.value) for h in second_part()])
        await sent.settle(load)

        async def lettered() -> bool:
            return len(sent.outputs.of("credits.dead-letter")) >= len(expected)

        try:
            await wait_until(lettered, timeout=60, what=f"{len(expected)} dead letters")
        except TimeoutError as timeout:
            seen = {letter_identity(letter) for letter in sent.outputs.of("credits.dead-letter")}
            missing = [h for h in hostile if h.code is not None and identity(h.value) not in seen]
            where = {
                topic: await find_in_topic(
                    kafka.bootstrap, topic, [(h.value or b"")[:60] for h in missing]
                )
                for topic in (run.prefix + CALLS, f"{run.app_id}-account-inputs")
            }
            raise AssertionError(
                f"{timeout}: no letter for {[(h.value or b'')[:80] for h in missing]}; {where}"
            ) from None
        books = sent.check_books(load)
        letters = sent.outputs.of("credits.dead-letter")
        ledger = sent.outputs.of("credits.ledger")
    assert supervisor.restarts == [], "the worker exited"
    assert live[0].alive

    assert {letter_identity(letter): letter["reason_code"] for letter in letters} == expected
    assert len(letters) == len(expected)  # one letter each, no letter for a repeat
    sizes = [
        len(r.value) for r in await read_to_end(kafka.bootstrap, run.prefix + "credits.dead-letter")
    ]
    assert max(sizes) <= DEFAULT_MAX_BYTES
    assert sum(letter.get("payload_truncated", False) for letter in letters) == 2

    last: dict[str, dict] = {}
    for entry in ledger:
        if entry["account_id"] in BALANCES or entry["account_id"] in NEVER_CREATED:
            previous = last.get(entry["account_id"])
            if previous is None or entry["seq"] > previous["seq"]:
                last[entry["account_id"]] = entry
    assert {account: entry["balance"] for account, entry in last.items()} == BALANCES
    announce(
        request.config,
        f"hostile test (seed {SEED}): {len(load.usage)} usage events and {len(load.commands)} "
        f"commands over {len(load.funds)} accounts, {len(hostile)} hostile inputs, "
        f"{len(letters)} dead letters (largest {max(sizes):,} bytes), {books.requests} "
        f"recharge requests; 0 restarts",
    )
