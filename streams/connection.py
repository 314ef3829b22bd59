"""How every Kafka client of a process connects, from the ``STREAMS_KAFKA_*`` settings.

The one place that turns the settings into aiokafka's keyword arguments (the worker's own
producers, the commands, the admin clients) and into Faust's broker credentials (Faust's
consumer and producer), so that every client of a worker or command connects alike; and
that says why a connection failed when a client only says "Unable to bootstrap".
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiokafka.conn import AIOKafkaConnection, create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    IllegalSaslStateError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)
from aiokafka.helpers import create_ssl_context
from aiokafka.protocol.metadata import MetadataRequest

from streams.settings import Settings

if TYPE_CHECKING:
    from faust.types.auth import CredentialsT

# The broker answered, and refused these settings: trying again will not help.
_REFUSALS = (
    SaslAuthenticationFailed,
    AuthenticationFailedError,
    UnsupportedSaslMechanismError,
    IllegalSaslStateError,
)


class KafkaRefused(RuntimeError):
    """Kafka refused this process's credentials or did not pass its certificate check;
    one line saying which, for an operator to correct the settings."""


@dataclass(frozen=True)
class KafkaConnection:
    """The bootstrap servers, and how to connect to them: protocol, SASL, TLS context."""

    servers: tuple[str, ...]
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaConnection:
        protocol = settings.kafka_security_protocol
        password = settings.kafka_sasl_password
        context = None
        if protocol in ("SSL", "SASL_SSL"):
            # Without a CA file, the system's authorities (create_default_context).
            context = create_ssl_context(
                cafile=settings.kafka_ca_file,
                certfile=settings.kafka_cert_file,
                keyfile=settings.kafka_key_file,
            )
        return cls(
            servers=tuple(settings.bootstrap_servers),
            security_protocol=protocol,
            sasl_mechanism=settings.kafka_sasl_mechanism,
            username=settings.kafka_sasl_username,
            password=None if password is None else password.get_secret_value(),
            ssl_context=context,
        )

    @classmethod
    def plaintext(cls, bootstrap: str | Sequence[str]) -> KafkaConnection:
        """``host:port`` (or several) of a PLAINTEXT listener, e.g. a local broker's."""
        # A string may name several, comma-separated, as aiokafka reads it.
        servers = tuple(bootstrap.split(",")) if isinstance(bootstrap, str) else tuple(bootstrap)
        return cls(servers)

    def security(self) -> dict[str, Any]:
        """aiokafka's keyword arguments for connecting, bootstrap servers aside."""
        options: dict[str, Any] = {"security_protocol": self.security_protocol}
        if self.ssl_context is not None:
            options["ssl_context"] = self.ssl_context
        if self.sasl_mechanism is not None:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.username
            options["sasl_plain_password"] = self.password
        return options

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments of any aiokafka client (producer, consumer, admin)."""
        return {"bootstrap_servers": list(self.servers), **self.security()}

    def faust_credentials(self) -> CredentialsT | None:
        """Faust's ``broker_credentials``: its aiokafka driver turns them into the same
        keyword arguments (``credentials_to_aiokafka_auth``). None for PLAINTEXT."""
        from faust.auth import SASLCredentials, SSLCredentials  # Faust only where it runs

        if self.sasl_mechanism is not None:
            # The protocol follows the context: SASL_SSL with one, SASL_PLAINTEXT without.
            return SASLCredentials(
                username=self.username,
                password=self.password,
                ssl_context=self.ssl_context,
                mechanism=self.sasl_mechanism,
            )
        if self.ssl_context is not None:
            return SSLCredentials(self.ssl_context)
        return None


@dataclass(frozen=True)
class ConnectionProblem:
    """Why a bootstrap server could not be connected to; ``str()`` says it in one line."""

    server: str
    reason: str  # what follows "Kafka at <server>"
    refused: bool  # the broker answered and refused the settings: waiting will not help

    def __str__(self) -> str:
        return f"Kafka at {self.server} {self.reason}"


async def diagnose(connection: KafkaConnection, timeout: float = 5.0) -> ConnectionProblem | None:
    """Connect to each bootstrap server as a client would (TLS, SASL); None if one takes
    the connection, else what went wrong, a refusal of the settings first."""
    problems = []
    for server in connection.servers:
        problem = await _connect(connection, server, timeout)
        if problem is None:
            return None
        problems.append(problem)
    return next((p for p in problems if p.refused), problems[0] if problems else None)


async def _connect(
    connection: KafkaConnection, server: str, timeout: float
) -> ConnectionProblem | None:
    host, _, port = server.rpartition(":")
    try:
        async with asyncio.timeout(timeout):
            conn = await create_conn(
                host, int(port), request_timeout_ms=int(timeout * 1000), **connection.security()
            )
    except _REFUSALS as error:
        return ConnectionProblem(server, _refusal(connection, error), refused=True)
    except ssl.SSLCertVerificationError as error:
        reason = (
            f"has a TLS certificate this client does not trust ({error.verify_message}); "
            "check STREAMS_KAFKA_CA_FILE"
        )
        return ConnectionProblem(server, reason, refused=True)
    except ssl.SSLError as error:
        return ConnectionProblem(server, f"failed the TLS handshake ({error.reason})", False)
    except TimeoutError:
        return ConnectionProblem(server, f"did not answer within {timeout:g} s", False)
    except (OSError, KafkaError) as error:
        return ConnectionProblem(server, f"could not be reached ({_said(error)})", False)
    try:
        if connection.sasl_mechanism is None and not await _answers(conn, timeout):
            # A SASL listener answers ApiVersions, then closes at a request before login.
            reason = (
                "closed the connection at the first request: its listener may need SASL; "
                "check STREAMS_KAFKA_SECURITY_PROTOCOL"
            )
            return ConnectionProblem(server, reason, refused=True)
    finally:
        conn.close()
    return None


async def _answers(conn: AIOKafkaConnection, timeout: float) -> bool:
    """Whether the broker answers a request for the cluster's metadata."""
    try:
        async with asyncio.timeout(timeout):
            await conn.send(MetadataRequest([]))
    except (KafkaError, TimeoutError):
        return False
    return True


def _refusal(connection: KafkaConnection, error: KafkaError) -> str:
    who = f"user {connection.username!r} ({connection.sasl_mechanism})"
    # A listener without SASL answers the handshake so.
    check = "the STREAMS_KAFKA_SASL_* settings"
    if isinstance(error, IllegalSaslStateError):
        check = "STREAMS_KAFKA_SECURITY_PROTOCOL"
    return f"refused SASL authentication of {who}: {_said(error).rstrip('.')}; check {check}"


def _said(error: BaseException) -> str:
    """What an error says, without aiokafka's class-name prefix."""
    if error.args and isinstance(error.args[0], str):
        return error.args[0]
    return getattr(error, "description", "") or str(error) or type(error).__name__
