"""The contract's JSON Schemas: well-formed, accept the contract's examples, reject bad input."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
import pytest

from streams.wire.schemas import compile_validators, load_documents
from tests.unit.test_schemas.conftest import DEFAULT_RATE_CARD, SCHEMAS_DIR

Validators = dict[str, jsonschema_rs.Validator]

COMMON_ID = "https://credits.example/schemas/common.schema.json"
INPUTS = [
    "call-usage",
    "conference-usage",
    "add-funds",
    "configure-auto-recharge",
    "cancel-recharge",
    "recharge-result",
]
OUTPUTS = ["recharge-requested", "ledger-entry", "notification", "dead-letter", "account-status"]
MESSAGE_TYPES = [*INPUTS, *OUTPUTS]
ALL_SCHEMAS = ["common", *MESSAGE_TYPES, "rate-card"]

# The examples of /work/shared/CONTRACT.md, copied verbatim.
EXAMPLES: dict[str, dict[str, Any]] = {
    "call-usage": {
        "event_id": "c-8f1e",
        "account_id": "contoso",
        "user_id": "alice@contoso.com",
        "occurred_at": "2026-11-24T10:00:00Z",
        "call_type": "domestic",
        "direction": "outbound",
        "country": "NO",
        "duration_seconds": 125,
    },
    "conference-usage": {
        "event_id": "m-11c2",
        "account_id": "contoso",
        "conference_id": "conf-77",
        "occurred_at": "2026-11-24T10:05:00Z",
        "leg": "dial_out",
        "country": "US",
        "duration_seconds": 300,
    },
    "add-funds": {
        "command_id": "cmd-1",
        "account_id": "contoso",
        "type": "add_funds",
        "amount": "50.00",
        "currency": "USD",
        "issued_at": "2026-11-24T09:00:00Z",
    },
    "configure-auto-recharge": {
        "command_id": "cmd-2",
        "account_id": "contoso",
        "type": "configure_auto_recharge",
        "enabled": True,
        "recharge_amount": "100.00",
        "trigger_balance": "20.00",
        "currency": "USD",
        "issued_at": "2026-11-24T09:01:00Z",
    },
    "recharge-result": {
        "request_id": "contoso:rr:3",
        "account_id": "contoso",
        "status": "succeeded",
        "amount": "100.00",
        "currency": "USD",
        "completed_at": "2026-11-24T10:06:00Z",
    },
    "recharge-requested": {
        "request_id": "contoso:rr:3",
        "account_id": "contoso",
        "amount": "100.00",
        "currency": "USD",
        "balance": "19.40",
        "trigger_balance": "20.00",
        "cause_id": "c-8f1e",
        "requested_at": "2026-11-24T10:00:00Z",
    },
    "ledger-entry": {
        "entry_id": "contoso:42",
        "account_id": "contoso",
        "seq": 42,
        "kind": "usage",
        "amount": "-0.6000",
        "balance": "19.40",
        "currency": "USD",
        "source_id": "c-8f1e",
        "occurred_at": "2026-11-24T10:00:00Z",
    },
    "notification": {
        "notification_id": "contoso:n:7",
        "account_id": "contoso",
        "type": "balance_exhausted",
        "balance": "-0.20",
        "currency": "USD",
        "occurred_at": "2026-11-24T11:00:00Z",
    },
    "account-status": {
        "account_id": "contoso",
        "balance": "19.40",
        "currency": "USD",
        "status": "active",
        "auto_recharge": "on",
        "pending_request_id": None,
        "seq": 42,
        "updated_at": "2026-11-24T10:00:00Z",
    },
    "cancel-recharge": {
        "command_id": "x-1",
        "account_id": "contoso",
        "type": "cancel_recharge",
        "request_id": "contoso:rr:3",
        "issued_at": "2026-11-24T12:00:00Z",
    },
    "dead-letter": {
        "topic": "usage.call-minutes",
        "partition": 3,
        "offset": 1041,
        "key": "contoso",
        "payload": '{"event_id": ...',
        "error": "duration_seconds: -5 is less than 0",
        "received_at": "2026-11-24T10:00:01Z",
    },
}

CONTRACT_RATE_CARD: dict[str, Any] = {
    "rates": [
        {
            "service": "call",
            "kind": "domestic",
            "country": "*",
            "currency": "USD",
            "per_minute": "0.0200",
            "increment_seconds": 60,
        },
        {
            "service": "call",
            "kind": "international",
            "country": "GB",
            "currency": "USD",
            "per_minute": "0.1100",
            "increment_seconds": 60,
        },
        {
            "service": "conference",
            "kind": "dial_out",
            "country": "*",
            "currency": "USD",
            "per_minute": "0.0350",
            "increment_seconds": 60,
        },
        {
            "service": "conference",
            "kind": "toll_free_dial_in",
            "country": "US",
            "currency": "USD",
            "per_minute": "0.0220",
            "increment_seconds": 60,
        },
    ]
}


def example(name: str, **changes: Any) -> dict[str, Any]:
    message = copy.deepcopy(EXAMPLES[name])
    message.update(changes)
    return message


def without(name: str, field: str) -> dict[str, Any]:
    message = example(name)
    del message[field]
    return message


def errors(validator: jsonschema_rs.Validator, instance: Any) -> list[str]:
    """Every problem as '<path>: <message>', the way the processor reports it."""
    found = []
    for error in validator.iter_errors(instance):
        path = ".".join(str(part) for part in error.instance_path)
        found.append(f"{path}: {error.message}" if path else error.message)
    return found


# --- the schema files themselves -------------------------------------------------------------


def test_every_expected_schema_file_exists_and_nothing_else() -> None:
    assert sorted(load_documents(SCHEMAS_DIR)) == sorted(ALL_SCHEMAS)


@pytest.mark.parametrize("name", ALL_SCHEMAS)
def test_schema_is_valid_draft_2020_12_with_id_title_description(name: str) -> None:
    document = orjson.loads((SCHEMAS_DIR / f"{name}.schema.json").read_bytes())
    jsonschema_rs.meta.validate(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"] == f"https://credits.example/schemas/{name}.schema.json"
    assert document["title"].strip()
    assert document["description"].strip()


def _property_maps(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The schema's own property declarations: at the root and in each $defs entry."""
    maps = [("", document.get("properties", {}))]
    for def_name, definition in document.get("$defs", {}).items():
        maps.append((f"$defs/{def_name}/", definition.get("properties", {})))
    return maps


@pytest.mark.parametrize("name", ALL_SCHEMAS)
def test_every_property_and_shared_definition_is_described(name: str) -> None:
    document = load_documents(SCHEMAS_DIR)[name]
    undescribed = [
        f"{prefix}{prop}"
        for prefix, properties in _property_maps(document)
        for prop, schema in properties.items()
        if not schema.get("description", "").strip()
    ]
    undescribed += [
        f"$defs/{def_name}"
        for def_name, definition in document.get("$defs", {}).items()
        if not definition.get("description", "").strip()
    ]
    assert undescribed == []


@pytest.mark.parametrize("name", MESSAGE_TYPES)
def test_shared_fields_reference_common_definitions(name: str) -> None:
    properties = load_documents(SCHEMAS_DIR)[name]["properties"]
    if name != "dead-letter":  # the dead letter wraps raw input; it has no account_id
        assert properties["account_id"]["$ref"] == f"{COMMON_ID}#/$defs/account_id"
    for prop, schema in properties.items():
        if prop == "currency" or prop.endswith("_at"):  # a nullable one: one of its options
            refs = [schema.get("$ref"), *(o.get("$ref") for o in schema.get("oneOf", []))]
            assert any(ref and ref.startswith(f"{COMMON_ID}#/$defs/") for ref in refs), prop


def test_every_reference_to_common_resolves(validators: Validators) -> None:
    common = load_documents(SCHEMAS_DIR)["common"]
    raw = b"".join(
        (SCHEMAS_DIR / f"{name}.schema.json").read_bytes() for name in MESSAGE_TYPES
    ).decode()
    referenced = {part.split('"', 1)[0] for part in raw.split(f'"{COMMON_ID}#/$defs/')[1:]}
    assert referenced <= set(common["$defs"])
    assert {"money", "signed_money", "currency", "timestamp", "id", "account_id"} <= referenced


def test_loader_never_fetches_an_unknown_reference(tmp_path: Path) -> None:
    (tmp_path / "remote.schema.json").write_bytes(
        orjson.dumps(
            {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": "https://credits.example/schemas/remote.schema.json",
                "properties": {"x": {"$ref": "https://json-schema.org/no-such-schema.json"}},
            }
        )
    )
    with pytest.raises(ValueError, match="network retrieval is disabled"):
        compile_validators(tmp_path)


# --- the contract's examples -----------------------------------------------------------------


@pytest.mark.parametrize("name", MESSAGE_TYPES)
def test_contract_example_validates(validators: Validators, name: str) -> None:
    assert errors(validators[name], EXAMPLES[name]) == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("call-usage", without("call-usage", "user_id")),
        ("call-usage", example("call-usage", direction="inbound", call_type="international")),
        ("call-usage", example("call-usage", duration_seconds=0)),
        ("call-usage", example("call-usage", duration_seconds=86400)),
        ("call-usage", example("call-usage", occurred_at="2026-11-24T10:00:00.123456Z")),
        ("conference-usage", example("conference-usage", leg="toll_dial_in")),
        ("add-funds", example("add-funds", amount="999999999999.999999")),
        ("add-funds", example("add-funds", amount="0")),
        ("configure-auto-recharge", example("configure-auto-recharge", enabled=False)),
        (
            "recharge-result",
            example("recharge-result", status="failed", reason="card_declined"),
        ),
        ("ledger-entry", example("ledger-entry", service="call", billable_seconds=180)),
        ("ledger-entry", example("ledger-entry", kind="add_funds", amount="50.00", seq=1)),
        (
            "notification",
            example(
                "notification",
                type="recharge_failed",
                reason="card_declined",
                request_id="contoso:rr:3",
            ),
        ),
        ("dead-letter", example("dead-letter", key=None)),
        ("dead-letter", example("dead-letter", reason_code="time_out_of_range")),
        (
            "dead-letter",
            example(
                "dead-letter",
                payload_truncated=True,
                payload_bytes=1_000_000,
                payload_sha256="ab" * 32,
                key_truncated=True,
            ),
        ),
        ("dead-letter", example("dead-letter", payload="/w==", payload_encoding="base64")),
    ],
)
def test_other_valid_messages(validators: Validators, name: str, message: dict[str, Any]) -> None:
    assert errors(validators[name], message) == []


# --- invalid messages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message", "expected"),
    [
        pytest.param(
            "call-usage",
            example("call-usage", duration_seconds=-5),
            "duration_seconds: -5 is less than the minimum of 0",
            id="negative-duration",
        ),
        pytest.param(
            "conference-usage",
            example("conference-usage", duration_seconds=86401),
            "duration_seconds: 86401 is greater than the maximum of 86400",
            id="duration-above-a-day",
        ),
        pytest.param(
            "call-usage",
            example("call-usage", duration_seconds="125"),
            'duration_seconds: "125" is not of type "integer"',
            id="duration-as-string",
        ),
        pytest.param(
            "add-funds",
            example("add-funds", amount=12.5),
            'amount: 12.5 is not of type "string"',
            id="float-amount",
        ),
        pytest.param(
            "add-funds",
            example("add-funds", amount="1.1234567"),
            'amount: "1.1234567" does not match',
            id="seven-fraction-digits",
        ),
        pytest.param(
            "add-funds",
            example("add-funds", amount="-5.00"),
            'amount: "-5.00" does not match',
            id="negative-amount",
        ),
        pytest.param(
            "add-funds",
            example("add-funds", amount="1000000000000"),
            'amount: "1000000000000" does not match',
            id="thirteen-integer-digits",
        ),
        pytest.param(
            "add-funds",
            example("add-funds", amount="1e3"),
            'amount: "1e3" does not match',
            id="exponent-amount",
        ),
        pytest.param(
            "ledger-entry",
            example("ledger-entry", balance="19.4000001"),
            'balance: "19.4000001" does not match',
            id="signed-seven-fraction-digits",
        ),
        pytest.param(
            "add-funds",
            example("add-funds", currency="usd"),
            'currency: "usd" does not match',
            id="lowercase-currency",
        ),
        pytest.param(
            "call-usage",
            example("call-usage", country="no"),
            'country: "no" does not match',
            id="lowercase-country",
        ),
        pytest.param(
            "call-usage",
            example("call-usage", call_type="premium"),
            'call_type: "premium" is not one of',
            id="unknown-call-type",
        ),
        pytest.param(
            "conference-usage",
            example("conference-usage", leg="dial_in"),
            'leg: "dial_in" is not one of',
            id="unknown-leg",
        ),
        pytest.param(
            "call-usage",
            without("call-usage", "account_id"),
            '"account_id" is a required property',
            id="missing-account-id",
        ),
        pytest.param(
            "configure-auto-recharge",
            without("configure-auto-recharge", "trigger_balance"),
            '"trigger_balance" is a required property',
            id="missing-trigger-balance",
        ),
        pytest.param(
            "add-funds",
            example("add-funds", type="configure_auto_recharge"),
            'type: "add_funds" was expected',
            id="wrong-command-type",
        ),
        pytest.param(
            "recharge-result",
            example("recharge-result", status="failed"),
            '"reason" is a required property',
            id="failed-without-reason",
        ),
        pytest.param(
            "recharge-result",
            example("recharge-result", status="pending"),
            'status: "pending" is not one of',
            id="unknown-status",
        ),
        pytest.param(
            "ledger-entry",
            example("ledger-entry", __faust={"ns": "streams.pipeline.records.LedgerEntry"}),
            "Additional properties are not allowed ('__faust' was unexpected)",
            id="faust-metadata-in-output",
        ),
        pytest.param(
            "call-usage",
            example("call-usage", occurred_at="2026-11-24T10:00:00+01:00"),
            'occurred_at: "2026-11-24T10:00:00+01:00" does not match',
            id="timestamp-with-offset",
        ),
        pytest.param(
            "add-funds",
            example("add-funds", issued_at="2026-11-24 09:00:00"),
            'issued_at: "2026-11-24 09:00:00" does not match',
            id="timestamp-without-t-and-z",
        ),
        pytest.param(
            "add-funds",
            example("add-funds", issued_at="2026-02-30T09:00:00Z"),
            'issued_at: "2026-02-30T09:00:00Z" is not a "date-time"',
            id="impossible-date",
        ),
        pytest.param(
            "call-usage",
            example("call-usage", event_id=""),
            'event_id: "" is shorter than 1 character',
            id="empty-id",
        ),
        pytest.param(
            "call-usage",
            example("call-usage", event_id="c-1\n"),
            'event_id: "c-1\\n" does not match',
            id="id-with-control-character",
        ),
        pytest.param(
            "call-usage",
            example("call-usage", account_id="a" * 101),
            "account_id: ",
            id="account-id-too-long",
        ),
        pytest.param(
            "ledger-entry",
            example("ledger-entry", seq=0),
            "seq: 0 is less than the minimum of 1",
            id="seq-zero",
        ),
        pytest.param(
            "ledger-entry",
            example("ledger-entry", entry_id="contoso-42"),
            'entry_id: "contoso-42" does not match',
            id="bad-entry-id",
        ),
        pytest.param(
            "recharge-requested",
            example("recharge-requested", request_id="contoso:3"),
            'request_id: "contoso:3" does not match',
            id="bad-request-id",
        ),
        pytest.param(
            "notification",
            example("notification", notification_id="contoso:n:0"),
            'notification_id: "contoso:n:0" does not match',
            id="bad-notification-id",
        ),
        pytest.param(
            "notification",
            example("notification", type="credit_low"),
            'type: "credit_low" is not one of',
            id="unknown-notification-type",
        ),
        pytest.param(
            "dead-letter",
            example("dead-letter", payload_encoding="hex"),
            'payload_encoding: "base64" was expected',
            id="unknown-payload-encoding",
        ),
        pytest.param(
            "dead-letter",
            example("dead-letter", reason_code="oops"),
            'reason_code: "oops" is not one of',
            id="unknown-reason-code",
        ),
        pytest.param(
            "dead-letter",
            example("dead-letter", payload_truncated=True),
            '"payload_bytes" is a required property',
            id="truncated-without-size",
        ),
        pytest.param(
            "dead-letter",
            example("dead-letter", offset=-1),
            "offset: -1 is less than the minimum of 0",
            id="negative-offset",
        ),
    ],
)
def test_invalid_message_fails_with_readable_error(
    validators: Validators, name: str, message: dict[str, Any], expected: str
) -> None:
    assert not validators[name].is_valid(message)
    found = errors(validators[name], message)
    assert any(expected in error for error in found), found


@pytest.mark.parametrize("name", INPUTS)
def test_inputs_accept_unknown_extra_fields(validators: Validators, name: str) -> None:
    assert errors(validators[name], example(name, added_in_v2="anything")) == []


@pytest.mark.parametrize("name", OUTPUTS)
def test_outputs_reject_unknown_extra_fields(validators: Validators, name: str) -> None:
    found = errors(validators[name], example(name, __faust={"ns": "x"}))
    assert found == ["Additional properties are not allowed ('__faust' was unexpected)"]


@pytest.mark.parametrize("name", MESSAGE_TYPES)
def test_non_objects_are_rejected(validators: Validators, name: str) -> None:
    assert not validators[name].is_valid([EXAMPLES[name]])


# --- rate cards ------------------------------------------------------------------------------


def test_contract_rate_card_validates(validators: Validators) -> None:
    assert errors(validators["rate-card"], CONTRACT_RATE_CARD) == []


def test_default_rate_card_validates(validators: Validators) -> None:
    card = orjson.loads(DEFAULT_RATE_CARD.read_bytes())
    assert errors(validators["rate-card"], card) == []


def test_default_rate_card_contains_every_row_of_the_contract_example() -> None:
    rows = orjson.loads(DEFAULT_RATE_CARD.read_bytes())["rates"]
    for row in CONTRACT_RATE_CARD["rates"]:
        assert row in rows


def test_default_rate_card_shape() -> None:
    rows = orjson.loads(DEFAULT_RATE_CARD.read_bytes())["rates"]
    keys = [(r["service"], r["kind"], r["country"], r["currency"]) for r in rows]
    assert len(keys) == len(set(keys)), "duplicate rows"
    assert {r["currency"] for r in rows} == {"USD"}
    assert {r["increment_seconds"] for r in rows} == {60}
    assert not any("direction" in r for r in rows), "inbound calls are free: no direction rows"
    countries = {r["country"] for r in rows if r["kind"] == "international"}
    assert {
        "GB",
        "DE",
        "FR",
        "IN",
        "NO",
        "SE",
        "US",
        "CA",
        "MX",
        "BR",
        "JP",
        "AU",
        "*",
    } <= countries
    for kind in ["domestic", "international", "dial_out", "toll_free_dial_in", "toll_dial_in"]:
        assert any(r["kind"] == kind and r["country"] == "*" for r in rows), kind
    assert {"per_minute": "0.0000", "kind": "toll_dial_in", "country": "*"}.items() <= next(
        r for r in rows if r["kind"] == "toll_dial_in"
    ).items()


def _card_with(**changes: Any) -> dict[str, Any]:
    card = copy.deepcopy(CONTRACT_RATE_CARD)
    card["rates"][0].update(changes)
    return card


@pytest.mark.parametrize(
    ("card", "expected"),
    [
        pytest.param(
            _card_with(increment_seconds=0),
            "rates.0.increment_seconds: 0 is less than the minimum of 1",
            id="zero-increment",
        ),
        pytest.param(
            _card_with(increment_seconds=3601),
            "rates.0.increment_seconds: 3601 is greater than the maximum of 3600",
            id="increment-above-an-hour",
        ),
        pytest.param(
            _card_with(increment_seconds=1.5),
            'rates.0.increment_seconds: 1.5 is not of type "integer"',
            id="fractional-increment",
        ),
        pytest.param(
            _card_with(kind="dial_out"),
            'rates.0.kind: "dial_out" is not one of "domestic" or "international"',
            id="conference-kind-under-call",
        ),
        pytest.param(
            _card_with(service="conference"),
            'rates.0.kind: "domestic" is not one of',
            id="call-kind-under-conference",
        ),
        pytest.param(
            _card_with(service="conference", kind="dial_out", direction="inbound"),
            "rates.0.direction: False schema does not allow",
            id="direction-on-conference-row",
        ),
        pytest.param(
            _card_with(direction="both"),
            'rates.0.direction: "both" is not one of',
            id="unknown-direction",
        ),
        pytest.param(
            _card_with(country="**"), 'rates.0.country: "**" is not valid', id="bad-country"
        ),
        pytest.param(
            _card_with(per_minute=0.02),
            'rates.0.per_minute: 0.02 is not of type "string"',
            id="numeric-price",
        ),
        pytest.param(
            _card_with(price="0.02"),
            "rates.0: Additional properties are not allowed ('price' was unexpected)",
            id="unknown-row-field",
        ),
        pytest.param(
            {**CONTRACT_RATE_CARD, "version": 2},
            "Additional properties are not allowed ('version' was unexpected)",
            id="unknown-top-level-field",
        ),
        pytest.param({"rates": []}, "rates: [] has less than 1 item", id="no-rows"),
    ],
)
def test_invalid_rate_card_fails(validators: Validators, card: Any, expected: str) -> None:
    assert not validators["rate-card"].is_valid(card)
    found = errors(validators["rate-card"], card)
    assert any(expected in error for error in found), found


def test_inbound_call_row_is_allowed(validators: Validators) -> None:
    assert errors(validators["rate-card"], _card_with(direction="inbound")) == []
