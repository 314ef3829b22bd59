"""The one place that reads the environment: every ``STREAMS_*`` setting, validated."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Annotated, Literal, get_args, get_origin

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(low: int, high: int) -> object:
    """Seconds, from a setting written with its unit ("90s", "15m", "1h", "30d") between
    ``low`` and ``high`` seconds, and written back as "<n>s" for a child process."""

    def seconds(value: object) -> int:
        text = f"{value}s" if isinstance(value, int) else str(value)
        if text[-1:] not in _UNIT_SECONDS or not text[:-1].isdigit():
            raise ValueError("not a duration")
        found = int(text[:-1]) * _UNIT_SECONDS[text[-1]]
        if not low <= found <= high:
            raise ValueError("out of range")
        return found

    return Annotated[
        int,
        BeforeValidator(seconds),
        PlainSerializer(lambda value: f"{value}s", return_type=str),
    ]


_BROKER_URL = r"^kafka://[A-Za-z0-9._-]+:\d{1,5}(;[A-Za-z0-9._-]+:\d{1,5})*$"
_NAME = "letters, digits, '.', '_' and '-'"

# What a variable accepts, as its error says it, for those whose type and bounds do not
# say it themselves (see accepted()).
_ACCEPTED = {
    "broker": "expected kafka://host:port[;host:port...]",
    "rate_card": "expected the path of a JSON rate card file",
    "data_dir": "expected a directory (created if missing)",
    "web_host": "expected a host name or IP address",
    "currency": "expected an ISO 4217 code in capitals, e.g. USD",
    "app_id": f"expected one or more of {_NAME}",
    "topic_prefix": f"expected {_NAME} (or nothing)",
    "cache_dir": "expected a directory (created if missing)",
    "dedupe_window": "expected a duration from 1m to 3650d with its unit: s, m, h or d, e.g. 30d",
    "recharge_timeout": "expected a duration from 1s to 30d with its unit: s, m, h or d, e.g. 1h",
    "web_bind": "expected an IP address to listen on, e.g. 127.0.0.1 or 0.0.0.0",
    "api_tokens_file": "expected the path of a JSON tokens file",
    "api_token": "expected a token without spaces",
    "metrics_public": "expected true or false",
    "kafka_sasl_mechanism": "accepted values are PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
    "kafka_sasl_username": "expected a user name",
    "kafka_sasl_password": "expected a password",
    "kafka_ca_file": "expected the path of a PEM file of certificate authorities",
    "kafka_cert_file": "expected the path of a PEM client certificate",
    "kafka_key_file": "expected the path of the PEM key of the client certificate",
}


class SettingsError(ValueError):
    """One or more ``STREAMS_*`` variables are invalid; the message names each."""


class Settings(BaseSettings):
    """Configuration of a worker, the local broker and the command line."""

    model_config = SettingsConfigDict(env_prefix="STREAMS_", frozen=True, extra="ignore")

    broker: str = Field(
        "kafka://localhost:9092",
        pattern=_BROKER_URL,
        description="Kafka bootstrap servers, kafka://host:port[;host:port...]",
    )
    rate_card: Path | None = Field(
        None, description="JSON rate card replacing the one shipped with the package"
    )
    data_dir: Path = Field(Path("var/data"), description="where workers keep table state")
    web_port: int = Field(6066, ge=1, le=65535, description="HTTP API and metrics port")
    web_host: str = Field(
        default_factory=socket.gethostname,
        pattern=r"^[A-Za-z0-9.-]+$",
        description="the host name other workers reach this worker's HTTP API at "
        "(a request for an account another worker owns is forwarded there)",
    )
    web_bind: str = Field(
        "127.0.0.1",
        pattern=r"^[0-9A-Fa-f.:]+$",
        description="the address the HTTP API listens on; anything but loopback needs "
        "STREAMS_API_TOKENS_FILE",
    )
    api_tokens_file: Path | None = Field(
        None,
        description='JSON {"tokens": [{"name", "sha256", "role": "admin"|"read"}]}: every '
        "endpoint but /healthz and /readyz then needs a bearer token",
    )
    metrics_public: bool = Field(False, description="/metrics without a token")
    api_token: str | None = Field(
        None,
        pattern=r"^\S+$",
        description="the bearer token the command line sends to the HTTP API",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="how every client connects to Kafka"
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, description="the SASL mechanism (SASL_PLAINTEXT, SASL_SSL)"
    )
    kafka_sasl_username: str | None = Field(None, min_length=1)
    kafka_sasl_password: SecretStr | None = Field(None, min_length=1)
    kafka_ca_file: Path | None = Field(
        None, description="certificate authorities to trust (SSL, SASL_SSL; default: the system's)"
    )
    kafka_cert_file: Path | None = Field(None, description="client certificate (mutual TLS)")
    kafka_key_file: Path | None = Field(None, description="its key")
    replication_factor: int = Field(
        3,
        ge=1,
        le=7,
        description="replicas of each topic the worker creates (at most the brokers the "
        "cluster has), min.insync.replicas one below",
    )
    partitions: int = Field(8, ge=1, le=1024, description="partitions of topics it creates")
    currency: str = Field(
        "USD", pattern=r"^[A-Z]{3}$", description="currency of accounts first seen by usage"
    )
    app_id: str = Field(
        "credits-metering",
        pattern=r"^[A-Za-z0-9._-]+$",
        description="consumer group and prefix of internal topics",
    )
    topic_prefix: str = Field(
        "",
        pattern=r"^[A-Za-z0-9._-]*$",
        description="prepended to every contract topic name (isolated pipelines on one cluster)",
    )
    processing_guarantee: Literal["at_least_once", "exactly_once"] = Field(
        "exactly_once",
        description="exactly_once: the accounts stage writes each batch of a partition, "
        "with its input offset, in one Kafka transaction (see README, Guarantees)",
    )
    session_timeout: float = Field(
        10.0,
        ge=6.0,
        le=300.0,
        description="seconds after which a silent worker's partitions go to the others",
    )
    dead_letter_max_bytes: int = Field(
        900_000,
        ge=32_768,
        le=10_485_760,
        description="largest dead letter, in bytes: a longer original payload is truncated "
        "(keep it below the dead-letter topic's max.message.bytes)",
    )
    store: Literal["rocksdb", "memory"] = Field(
        "rocksdb",
        description="where a worker keeps its tables: rocksdb, on disk under data_dir "
        "(a restart reads only the changelog written since), or memory",
    )
    dedupe_window: _duration(60, 3650 * 86400) = Field(  # type: ignore[valid-type]
        30 * 86400,
        description="how long an input's id is remembered, in input time; an older input "
        "is refused as too_late",
    )
    recharge_timeout: _duration(1, 30 * 86400) = Field(  # type: ignore[valid-type]
        3600,
        description="how long a recharge request may wait for its result before "
        "recharge_overdue is notified",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO")
    cache_dir: Path = Field(
        Path.home() / ".cache" / "credits-streams",
        description="where `streams broker` keeps Kafka's jars",
    )

    @field_validator(
        "rate_card", "api_tokens_file", "kafka_ca_file", "kafka_cert_file", "kafka_key_file"
    )
    @classmethod
    def _existing_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("no such file" if not value.exists() else "not a file")
        return value

    @field_validator("data_dir", "cache_dir")
    @classmethod
    def _directory(cls, value: Path) -> Path:
        if value.exists() and not value.is_dir():
            raise ValueError("not a directory")
        return value

    @model_validator(mode="after")
    def _kafka_connection(self) -> Settings:
        """A combination of the STREAMS_KAFKA_* settings that cannot connect."""
        problems = _connection_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def bootstrap_servers(self) -> list[str]:
        return self.broker.removeprefix("kafka://").split(";")

    def as_environment(self) -> dict[str, str]:
        """This process's environment with these settings, for a child process (a setting
        that is unset here is not inherited either)."""
        dumped = {f"STREAMS_{name.upper()}": v for name, v in self.model_dump(mode="json").items()}
        values = {name: str(value) for name, value in dumped.items() if value is not None}
        if self.kafka_sasl_password is not None:
            values["STREAMS_KAFKA_SASL_PASSWORD"] = self.kafka_sasl_password.get_secret_value()
        inherited = {name: v for name, v in os.environ.items() if dumped.get(name, "") is not None}
        return {**inherited, **values}

    def topic(self, name: str) -> str:
        """The real name of a contract topic, e.g. ``usage.call-minutes``."""
        return f"{self.topic_prefix}{name}"


def _connection_problems(settings: Settings) -> list[str]:
    protocol = settings.kafka_security_protocol
    sasl = protocol.startswith("SASL_")
    tls = protocol.endswith("SSL")
    problems = []
    if sasl and settings.kafka_sasl_mechanism is None:
        problems.append(
            f"STREAMS_KAFKA_SECURITY_PROTOCOL={protocol} needs STREAMS_KAFKA_SASL_MECHANISM"
        )
    if settings.kafka_sasl_mechanism is not None and not sasl:
        problems.append(
            "STREAMS_KAFKA_SASL_MECHANISM needs STREAMS_KAFKA_SECURITY_PROTOCOL "
            "SASL_PLAINTEXT or SASL_SSL"
        )
    if sasl and (settings.kafka_sasl_username is None or settings.kafka_sasl_password is None):
        problems.append(
            f"STREAMS_KAFKA_SECURITY_PROTOCOL={protocol} needs STREAMS_KAFKA_SASL_USERNAME "
            "and STREAMS_KAFKA_SASL_PASSWORD"
        )
    files = settings.kafka_ca_file or settings.kafka_cert_file or settings.kafka_key_file
    if files and not tls:
        problems.append(
            "STREAMS_KAFKA_*_FILE needs STREAMS_KAFKA_SECURITY_PROTOCOL SSL or SASL_SSL"
        )
    if (settings.kafka_cert_file is None) != (settings.kafka_key_file is None):
        problems.append("STREAMS_KAFKA_CERT_FILE and STREAMS_KAFKA_KEY_FILE go together")
    return problems


def load_settings(**overrides: object) -> Settings:
    """Read the environment; raise SettingsError naming every bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None


def accepted(name: str) -> str:
    """What the variable of setting ``name`` accepts, e.g. "expected an integer from 1 to 10"."""
    if name in _ACCEPTED:
        return _ACCEPTED[name]
    field: FieldInfo = Settings.model_fields[name]
    if get_origin(field.annotation) is Literal:
        return "accepted values are " + ", ".join(get_args(field.annotation))
    bounds = {
        bound: getattr(item, bound)
        for item in field.metadata
        for bound in ("ge", "le")
        if hasattr(item, bound)
    }
    low, high = bounds["ge"], bounds["le"]
    if field.annotation is int:
        return f"expected an integer from {low} to {high}"
    return f"expected a number from {low:g} to {high:g}"


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        name = "_".join(str(part) for part in item["loc"])
        if not name:  # a combination of settings (_kafka_connection): it names them
            problems.append(str(item["ctx"]["error"]))
            continue
        reason = ""
        if item["type"] == "value_error":  # one of our validators: what it found
            reason = f"{item['ctx']['error']}, "
        problems.append(f"STREAMS_{name.upper()}={item.get('input')!r}: {reason}{accepted(name)}")
    return "invalid configuration: " + "; ".join(problems)
