"""STREAMS_* variables: defaults, parsing, and errors that name the variable and what it
accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.settings import Settings, SettingsError, load_settings


def test_defaults_match_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"STREAMS_{name.upper()}", raising=False)
    settings = load_settings()
    assert settings.broker == "kafka://localhost:9092"
    assert settings.bootstrap_servers == ["localhost:9092"]
    assert settings.rate_card is None
    assert settings.currency == "USD"
    assert settings.processing_guarantee == "exactly_once"
    assert (settings.store, settings.dedupe_window) == ("rocksdb", 30 * 86400)


def test_environment_is_read_and_parsed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    card = tmp_path / "card.json"
    card.write_text("{}")
    monkeypatch.setenv("STREAMS_BROKER", "kafka://k1:9092;k2:9093")
    monkeypatch.setenv("STREAMS_WEB_PORT", "8080")
    monkeypatch.setenv("STREAMS_DATA_DIR", "/srv/state")
    monkeypatch.setenv("STREAMS_TOPIC_PREFIX", "staging.")
    monkeypatch.setenv("STREAMS_RATE_CARD", str(card))
    monkeypatch.setenv("STREAMS_SESSION_TIMEOUT", "7.5")
    monkeypatch.setenv("STREAMS_DEDUPE_WINDOW", "36h")
    monkeypatch.setenv("STREAMS_STORE", "memory")
    settings = load_settings()
    assert (settings.dedupe_window, settings.store) == (36 * 3600, "memory")
    assert settings.as_environment()["STREAMS_DEDUPE_WINDOW"] == "129600s"  # read back alike
    assert settings.bootstrap_servers == ["k1:9092", "k2:9093"]
    assert settings.web_port == 8080
    assert settings.data_dir == Path("/srv/state")
    assert settings.rate_card == card
    assert settings.session_timeout == 7.5
    assert settings.topic("usage.call-minutes") == "staging.usage.call-minutes"


A_FILE = Path(__file__)  # exists, and is not a directory

DURATION = "expected a duration from 1m to 3650d with its unit: s, m, h or d, e.g. 30d"

# For every setting, a wrong value and the whole message it gets.
BAD_VALUES = [
    ("broker", "localhost:9092", "expected kafka://host:port[;host:port...]"),
    ("broker", "kafka://k1:9092,k2:9092", "expected kafka://host:port[;host:port...]"),
    (
        "rate_card",
        "/nowhere/card.json",
        "no such file, expected the path of a JSON rate card file",
    ),
    ("rate_card", "/", "not a file, expected the path of a JSON rate card file"),
    ("data_dir", str(A_FILE), "not a directory, expected a directory (created if missing)"),
    ("web_port", "http", "expected an integer from 1 to 65535"),
    ("web_port", "70000", "expected an integer from 1 to 65535"),
    ("web_port", "", "expected an integer from 1 to 65535"),
    ("web_host", "http://w1", "expected a host name or IP address"),
    ("partitions", "0", "expected an integer from 1 to 1024"),
    ("currency", "usd", "expected an ISO 4217 code in capitals, e.g. USD"),
    ("app_id", "a/b", "expected one or more of letters, digits, '.', '_' and '-'"),
    ("topic_prefix", "stag ing.", "expected letters, digits, '.', '_' and '-' (or nothing)"),
    (
        "processing_guarantee",
        "twice",
        "accepted values are at_least_once, exactly_once",
    ),
    ("session_timeout", "1", "expected a number from 6 to 300"),
    ("session_timeout", "soon", "expected a number from 6 to 300"),
    ("dead_letter_max_bytes", "1000", "expected an integer from 32768 to 10485760"),
    ("log_level", "verbose", "accepted values are DEBUG, INFO, WARNING, ERROR"),
    ("store", "disk", "accepted values are rocksdb, memory"),
    ("web_bind", "any", "expected an IP address to listen on, e.g. 127.0.0.1 or 0.0.0.0"),
    (
        "api_tokens_file",
        "/nowhere/tokens.json",
        "no such file, expected the path of a JSON tokens file",
    ),
    ("metrics_public", "maybe", "expected true or false"),
    ("api_token", "two words", "expected a token without spaces"),
    (
        "kafka_security_protocol",
        "TLS",
        "accepted values are PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
    ),
    ("kafka_sasl_mechanism", "GSSAPI", "accepted values are PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"),
    ("kafka_sasl_username", "", "expected a user name"),
    ("kafka_sasl_password", "", "expected a password"),
    (
        "kafka_ca_file",
        "/nowhere/ca.pem",
        "no such file, expected the path of a PEM file of certificate authorities",
    ),
    ("kafka_cert_file", "/", "not a file, expected the path of a PEM client certificate"),
    (
        "kafka_key_file",
        "/nowhere/key.pem",
        "no such file, expected the path of the PEM key of the client certificate",
    ),
    ("replication_factor", "0", "expected an integer from 1 to 7"),
    ("dedupe_window", "30", f"not a duration, {DURATION}"),
    ("dedupe_window", "59s", f"out of range, {DURATION}"),
    ("dedupe_window", "3651d", f"out of range, {DURATION}"),
    (
        "recharge_timeout",
        "31d",
        "out of range, expected a duration from 1s to 30d with its unit: s, m, h or d, e.g. 1h",
    ),
    ("cache_dir", str(A_FILE), "not a directory, expected a directory (created if missing)"),
]


def test_every_setting_has_a_bad_value_below() -> None:
    assert {name for name, _, _ in BAD_VALUES} == set(Settings.model_fields)


@pytest.mark.parametrize(("name", "value", "message"), BAD_VALUES)
def test_a_bad_value_names_the_variable_and_what_it_accepts(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    variable = f"STREAMS_{name.upper()}"
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value) == f"invalid configuration: {variable}={value!r}: {message}"


def test_every_bad_variable_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMS_WEB_PORT", "x")
    monkeypatch.setenv("STREAMS_LOG_LEVEL", "loud")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value) == (
        "invalid configuration: STREAMS_WEB_PORT='x': expected an integer from 1 to 65535; "
        "STREAMS_LOG_LEVEL='loud': accepted values are DEBUG, INFO, WARNING, ERROR"
    )


@pytest.mark.parametrize(("name", "value", "message"), BAD_VALUES)
def test_the_worker_stops_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    variable = f"STREAMS_{name.upper()}"
    monkeypatch.setattr("streams.app.run_pipeline", lambda _: pytest.fail("the worker started"))
    result = CliRunner().invoke(main, ["worker"], env={variable: value})
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: invalid configuration: {variable}={value!r}: {message}"
    ]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"},
            "STREAMS_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs STREAMS_KAFKA_SASL_MECHANISM; "
            "STREAMS_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs STREAMS_KAFKA_SASL_USERNAME and "
            "STREAMS_KAFKA_SASL_PASSWORD",
        ),
        (
            {"KAFKA_SASL_MECHANISM": "PLAIN"},
            "STREAMS_KAFKA_SASL_MECHANISM needs STREAMS_KAFKA_SECURITY_PROTOCOL SASL_PLAINTEXT "
            "or SASL_SSL",
        ),
        (
            {"KAFKA_CA_FILE": str(A_FILE)},
            "STREAMS_KAFKA_*_FILE needs STREAMS_KAFKA_SECURITY_PROTOCOL SSL or SASL_SSL",
        ),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_CERT_FILE": str(A_FILE)},
            "STREAMS_KAFKA_CERT_FILE and STREAMS_KAFKA_KEY_FILE go together",
        ),
    ],
)
def test_a_kafka_connection_that_cannot_work_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], message: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(f"STREAMS_{name}", value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value) == f"invalid configuration: {message}"


def test_a_sasl_password_is_hidden_but_handed_to_a_child_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "metering",
        "KAFKA_SASL_PASSWORD": "s3cret",
    }.items():
        monkeypatch.setenv(f"STREAMS_{name}", value)
    settings = load_settings()
    assert "s3cret" not in repr(settings)
    assert settings.as_environment()["STREAMS_KAFKA_SASL_PASSWORD"] == "s3cret"


def test_a_setting_unset_for_a_child_process_is_not_inherited_either(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The demo's worker talks plaintext to the demo's broker, whatever this shell says."""
    for name, value in {
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "metering",
        "KAFKA_SASL_PASSWORD": "s3cret",
    }.items():
        monkeypatch.setenv(f"STREAMS_{name}", value)
    monkeypatch.setenv("UNRELATED", "kept")
    plaintext = {name: None for name in Settings.model_fields if name.startswith("kafka_")}
    settings = load_settings().model_copy(
        update={**plaintext, "kafka_security_protocol": "PLAINTEXT"}
    )
    environment = settings.as_environment()
    assert environment["STREAMS_KAFKA_SECURITY_PROTOCOL"] == "PLAINTEXT"
    assert not {name for name in environment if name.startswith("STREAMS_KAFKA_SASL")}
    assert environment["UNRELATED"] == "kept"
