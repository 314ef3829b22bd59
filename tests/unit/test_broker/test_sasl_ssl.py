"""The local broker's SASL_SSL listener as configuration: added beside the plaintext one,
SCRAM-SHA-512 only, and the settings a client of it is given. The real listener, with
its keytool-made authority: tests/integration/test_secured_kafka.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.broker.local import server_properties
from streams.broker.sasl_ssl import SaslSslListener, Secrets
from streams.connection import KafkaConnection
from streams.settings import load_settings

LISTENER = SaslSslListener(9096, Path("/state/sasl_ssl"), Secrets("streams", "p4ss", "st0re"))


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_the_listener_is_added_beside_the_plaintext_and_controller_ones() -> None:
    plain = _properties(server_properties(9092, 9093, Path("/tmp/k")))
    secured = _properties(LISTENER.add_to(server_properties(9092, 9093, Path("/tmp/k"))))
    assert secured["listeners"] == plain["listeners"] + ",SASL_SSL://127.0.0.1:9096"
    assert secured["advertised.listeners"] == (
        plain["advertised.listeners"] + ",SASL_SSL://127.0.0.1:9096"
    )
    assert secured["listener.security.protocol.map"] == (
        plain["listener.security.protocol.map"] + ",SASL_SSL:SASL_SSL"
    )
    # The broker's own traffic stays where it was.
    assert secured["inter.broker.listener.name"] == "PLAINTEXT"
    assert secured["controller.listener.names"] == "CONTROLLER"


def test_only_scram_sha_512_with_the_generated_keystore() -> None:
    secured = _properties(LISTENER.add_to(server_properties(9092, 9093, Path("/tmp/k"))))
    own = {k: v for k, v in secured.items() if k.startswith("listener.name.sasl_ssl.")}
    assert own == {
        "listener.name.sasl_ssl.sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        ),
        "listener.name.sasl_ssl.ssl.keystore.type": "PKCS12",
        "listener.name.sasl_ssl.ssl.keystore.location": "/state/sasl_ssl/broker.p12",
        "listener.name.sasl_ssl.ssl.keystore.password": "st0re",
        "listener.name.sasl_ssl.ssl.key.password": "st0re",
    }


def test_the_user_is_added_when_the_storage_is_formatted() -> None:
    assert LISTENER.scram_credential() == "SCRAM-SHA-512=[name=streams,password=p4ss]"


def test_the_printed_client_settings_configure_a_sasl_ssl_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca_file = tmp_path / "sasl_ssl" / "ca.pem"
    ca_file.parent.mkdir()
    ca_file.write_bytes((Path(__file__).parents[1] / "data" / "tls" / "ca.pem").read_bytes())
    listener = SaslSslListener(9096, ca_file.parent, Secrets("streams", "p4ss", "st0re"))
    for name, value in listener.client_settings().items():
        monkeypatch.setenv(name, value)
    options = KafkaConnection.from_settings(load_settings()).client_options()
    context = options.pop("ssl_context")
    assert options == {
        "bootstrap_servers": ["127.0.0.1:9096"],
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "streams",
        "sasl_plain_password": "p4ss",
    }
    assert len(context.get_ca_certs()) == 1
