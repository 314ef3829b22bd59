"""A SASL_SSL listener for the local broker, to test clients against a secured Kafka.

SCRAM-SHA-512 with one user, and TLS with a certificate authority made for it with the
JDK's keytool (the broker needs Java anyway). Everything lives in one directory of the
broker's state, so a restart keeps the same authority, user and password. The broker's
own traffic (controller, replication) stays on its plaintext listeners.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from aiokafka.helpers import create_ssl_context

from streams.connection import KafkaConnection

LISTENER = "SASL_SSL"
MECHANISM = "SCRAM-SHA-512"
HOST = "127.0.0.1"
# keytool starts a JVM per step: these halve its start-up for such short runs.
_QUICK_JVM = ["-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC"]
_VALIDITY_DAYS = "365"


class CertificateError(RuntimeError):
    """keytool could not make the certificate authority or the broker's keystore."""


@dataclass(frozen=True)
class Secrets:
    user: str
    password: str
    store_password: str  # of the PKCS12 keystores


@dataclass(frozen=True)
class SaslSslListener:
    """Where the listener is, who may connect, and its files under ``directory``."""

    port: int
    directory: Path
    secrets: Secrets

    @classmethod
    def prepare(cls, directory: Path, port: int, user: str, java: str) -> SaslSslListener:
        """The listener's secrets and files, made on first use; ``java`` finds keytool."""
        directory.mkdir(parents=True, exist_ok=True)
        stored = directory / "secrets.json"
        if stored.exists():
            kept = Secrets(**json.loads(stored.read_text()))
        else:
            # Hex: a SCRAM credential given to the storage tool may not hold "," or "=".
            kept = Secrets(user, secrets.token_hex(16), secrets.token_hex(16))
            stored.touch(mode=0o600)
            stored.write_text(json.dumps(asdict(kept)))
        listener = cls(port, directory, kept)
        if not listener.keystore.exists():
            listener.make_certificates(_keytool(java))
        return listener

    @property
    def ca_file(self) -> Path:
        """The authority's certificate (PEM): what a client trusts."""
        return self.directory / "ca.pem"

    @property
    def keystore(self) -> Path:
        return self.directory / "broker.p12"

    @property
    def url(self) -> str:
        return f"kafka://{HOST}:{self.port}"

    def scram_credential(self) -> str:
        """The user, as the storage tool's ``--add-scram`` takes it at format time."""
        return f"{MECHANISM}=[name={self.secrets.user},password={self.secrets.password}]"

    def add_to(self, properties: str) -> str:
        """A broker's ``server.properties`` with this listener added to it."""
        lines = []
        for line in properties.splitlines():
            key = line.partition("=")[0]
            if key in ("listeners", "advertised.listeners"):
                line += f",{LISTENER}://{HOST}:{self.port}"
            elif key == "listener.security.protocol.map":
                line += f",{LISTENER}:{LISTENER}"
            lines.append(line)
        prefix = f"listener.name.{LISTENER.lower()}"
        store = self.secrets.store_password
        lines += [
            f"{prefix}.sasl.enabled.mechanisms={MECHANISM}",
            f"{prefix}.{MECHANISM.lower()}.sasl.jaas.config="
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
            f"{prefix}.ssl.keystore.type=PKCS12",
            f"{prefix}.ssl.keystore.location={self.keystore}",
            f"{prefix}.ssl.keystore.password={store}",
            f"{prefix}.ssl.key.password={store}",
            "",
        ]
        return "\n".join(lines)

    def client_settings(self) -> dict[str, str]:
        """The ``STREAMS_*`` variables of a client of this listener."""
        return {
            "STREAMS_BROKER": self.url,
            "STREAMS_KAFKA_SECURITY_PROTOCOL": LISTENER,
            "STREAMS_KAFKA_SASL_MECHANISM": MECHANISM,
            "STREAMS_KAFKA_SASL_USERNAME": self.secrets.user,
            "STREAMS_KAFKA_SASL_PASSWORD": self.secrets.password,
            "STREAMS_KAFKA_CA_FILE": str(self.ca_file),
        }

    def client(self) -> KafkaConnection:
        """A client of this listener, as its settings configure one."""
        return KafkaConnection(
            servers=(f"{HOST}:{self.port}",),
            security_protocol=LISTENER,
            sasl_mechanism=MECHANISM,
            username=self.secrets.user,
            password=self.secrets.password,
            ssl_context=create_ssl_context(cafile=self.ca_file),
        )

    def make_certificates(self, keytool: str) -> None:
        """An authority, and the broker's key with a certificate it signed for 127.0.0.1."""
        ca, csr, signed = (self.directory / name for name in ("ca.p12", "broker.csr", "broker.pem"))
        store = ["-storepass", self.secrets.store_password]
        partial = self.keystore.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        ec_key = ["-keyalg", "EC", "-groupname", "secp256r1", "-validity", _VALIDITY_DAYS]
        into_ca = ["-keystore", str(ca), "-storetype", "PKCS12", *store, "-alias", "ca"]
        into_broker = ["-keystore", str(partial), "-storetype", "PKCS12", *store]
        steps = [
            ["-genkeypair", *into_ca, "-dname", "CN=credits-streams test CA", *ec_key,
             "-ext", "bc:c=ca:true,pathlen:0", "-ext", "ku:c=keyCertSign,cRLSign"],
            ["-exportcert", *into_ca, "-rfc", "-file", str(self.ca_file)],
            ["-genkeypair", *into_broker, "-alias", "broker", "-dname", f"CN={HOST}", *ec_key],
            ["-certreq", *into_broker, "-alias", "broker", "-file", str(csr)],
            ["-gencert", *into_ca, "-infile", str(csr), "-outfile", str(signed), "-rfc",
             "-validity", _VALIDITY_DAYS, "-ext", f"san=ip:{HOST},dns:localhost",
             "-ext", "ku:c=digitalSignature", "-ext", "eku=serverAuth"],
            ["-importcert", *into_broker, "-alias", "ca", "-file", str(self.ca_file), "-noprompt"],
            ["-importcert", *into_broker, "-alias", "broker", "-file", str(signed)],
        ]  # fmt: skip
        ca.unlink(missing_ok=True)
        for step in steps:
            done = subprocess.run(
                [keytool, *_QUICK_JVM, *step], capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                output = " ".join((done.stdout + done.stderr).split())
                raise CertificateError(f"keytool {step[0]} failed: {output}")
        partial.rename(self.keystore)  # only a complete keystore counts as made


def _keytool(java: str) -> str:
    """The keytool of the JDK whose ``java`` runs the broker, else the one on PATH."""
    beside = Path(java).resolve().with_name("keytool")
    if beside.is_file():
        return str(beside)
    found = shutil.which("keytool")
    if found is None:
        raise CertificateError("keytool is not on PATH; it comes with Java 17 (a JDK)")
    return found
