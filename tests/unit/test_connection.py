"""The STREAMS_KAFKA_* settings as aiokafka's keyword arguments and as Faust's credentials,
which Faust's aiokafka driver must turn into the very same arguments; and what a failed
connection is said to be. The real secured broker: tests/integration/test_secured_kafka.py."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from faust.auth import SASLCredentials, SSLCredentials
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from streams.app import create_app
from streams.broker.local import free_port
from streams.connection import ConnectionProblem, KafkaConnection, diagnose
from streams.settings import Settings

TLS = Path(__file__).parent / "data" / "tls"  # test-only certificates, not secrets
SASL_SSL = {
    "broker": "kafka://k1.example:9096;k2.example:9096",
    "kafka_security_protocol": "SASL_SSL",
    "kafka_sasl_mechanism": "SCRAM-SHA-512",
    "kafka_sasl_username": "metering",
    "kafka_sasl_password": "s3cret",
    "kafka_ca_file": TLS / "ca.pem",
}


def test_plaintext_is_what_aiokafka_and_faust_do_by_default() -> None:
    connection = KafkaConnection.from_settings(Settings(broker="kafka://a:9092;b:9092"))
    assert connection.client_options() == {
        "bootstrap_servers": ["a:9092", "b:9092"],
        "security_protocol": "PLAINTEXT",
    }
    assert connection.faust_credentials() is None
    assert KafkaConnection.plaintext("a:9092").client_options() == {
        "bootstrap_servers": ["a:9092"],
        "security_protocol": "PLAINTEXT",
    }


def test_sasl_ssl_with_scram_verifies_the_broker_against_the_ca_file() -> None:
    connection = KafkaConnection.from_settings(Settings(**SASL_SSL))
    options = connection.client_options()
    context = options.pop("ssl_context")
    assert options == {
        "bootstrap_servers": ["k1.example:9096", "k2.example:9096"],
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "metering",
        "sasl_plain_password": "s3cret",
    }
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    (authority,) = context.get_ca_certs()
    assert dict(part[0] for part in authority["subject"])["commonName"] == (
        "credits-streams unit-test CA"
    )
    assert "s3cret" not in repr(connection)


@pytest.mark.parametrize(
    ("settings", "kind", "protocol"),
    [
        (SASL_SSL, SASLCredentials, "SASL_SSL"),
        (
            {
                "kafka_security_protocol": "SASL_PLAINTEXT",
                "kafka_sasl_mechanism": "PLAIN",
                "kafka_sasl_username": "metering",
                "kafka_sasl_password": "s3cret",
            },
            SASLCredentials,
            "SASL_PLAINTEXT",
        ),
        (
            {
                "kafka_security_protocol": "SSL",
                "kafka_cert_file": TLS / "client.pem",
                "kafka_key_file": TLS / "client.key",
            },
            SSLCredentials,
            "SSL",
        ),
        (
            {
                "kafka_security_protocol": "SASL_SSL",
                "kafka_sasl_mechanism": "SCRAM-SHA-256",
                "kafka_sasl_username": "metering",
                "kafka_sasl_password": "s3cret",
            },
            SASLCredentials,
            "SASL_SSL",
        ),
    ],
)
def test_faust_connects_with_the_same_arguments_as_every_other_client(
    settings: dict, kind: type, protocol: str
) -> None:
    """Faust's consumer and producer get their arguments from its driver's
    credentials_to_aiokafka_auth; they must be ours, SCRAM mechanisms included."""
    connection = KafkaConnection.from_settings(Settings(**settings))
    credentials = connection.faust_credentials()
    assert isinstance(credentials, kind)
    faust_options = credentials_to_aiokafka_auth(credentials)
    assert faust_options["security_protocol"] == protocol
    ours = connection.security()
    assert {key: faust_options.get(key) for key in ours} == ours
    assert {key for key, value in faust_options.items() if value is not None} == set(ours)


def test_a_client_certificate_is_loaded_for_mutual_tls() -> None:
    settings = Settings(
        kafka_security_protocol="SSL",
        kafka_cert_file=TLS / "client.pem",
        kafka_key_file=TLS / "client.key",
    )
    context = KafkaConnection.from_settings(settings).ssl_context
    assert context is not None
    # The system's authorities, as no CA file is given; the client's own chain is loaded
    # (a key that does not match its certificate would have raised).
    assert context.verify_mode == ssl.CERT_REQUIRED


async def test_a_closed_port_is_unreachable_not_refused() -> None:
    server = f"127.0.0.1:{free_port()}"
    problem = await diagnose(KafkaConnection.plaintext(server))
    assert problem is not None
    assert (problem.server, problem.refused) == (server, False)
    assert str(problem).startswith(f"Kafka at {server} could not be reached (")


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """A server that takes connections and never says a word."""
    taken: list[asyncio.StreamWriter] = []
    server = await asyncio.start_server(lambda _, writer: taken.append(writer), "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    try:
        yield f"{host}:{port}"
    finally:
        for writer in taken:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_broker_that_does_not_answer_is_bounded_by_the_timeout(silent_server: str) -> None:
    started = asyncio.get_running_loop().time()
    problem = await diagnose(KafkaConnection.plaintext(silent_server), timeout=0.5)
    assert problem == ConnectionProblem(silent_server, "did not answer within 0.5 s", False)
    assert asyncio.get_running_loop().time() - started < 3


def test_the_worker_s_faust_app_gets_the_credentials(tmp_path: Path) -> None:
    app = create_app(Settings(**SASL_SSL, data_dir=tmp_path))
    credentials = app.conf.broker_credentials
    assert isinstance(credentials, SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert create_app(Settings(data_dir=tmp_path)).conf.broker_credentials is None
