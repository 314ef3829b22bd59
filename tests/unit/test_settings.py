"""STREAMS_* variables: defaults, parsing, and errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

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


def test_environment_is_read_and_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMS_BROKER", "kafka://k1:9092;k2:9093")
    monkeypatch.setenv("STREAMS_WEB_PORT", "8080")
    monkeypatch.setenv("STREAMS_DATA_DIR", "/srv/state")
    monkeypatch.setenv("STREAMS_TOPIC_PREFIX", "staging.")
    settings = load_settings()
    assert settings.bootstrap_servers == ["k1:9092", "k2:9093"]
    assert settings.web_port == 8080
    assert settings.data_dir == Path("/srv/state")
    assert settings.topic("usage.call-minutes") == "staging.usage.call-minutes"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("STREAMS_WEB_PORT", "http", "STREAMS_WEB_PORT='http'"),
        ("STREAMS_WEB_PORT", "70000", "less than or equal to 65535"),
        ("STREAMS_BROKER", "localhost:9092", "expected kafka://host:port"),
        ("STREAMS_CURRENCY", "usd", "STREAMS_CURRENCY='usd'"),
        ("STREAMS_PROCESSING_GUARANTEE", "exactly-once", "'at_least_once' or 'exactly_once'"),
        ("STREAMS_PARTITIONS", "0", "STREAMS_PARTITIONS='0'"),
    ],
)
def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert variable in str(raised.value)
    assert expected in str(raised.value)
