"""What the commands share: settings as one error line, bounded waits for Kafka."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import click
from aiokafka.errors import KafkaConnectionError, KafkaError

from streams.settings import Settings, SettingsError, load_settings

# How long a command waits for the broker to answer before it gives up.
CONNECT_TIMEOUT = 5.0


class ConfigurationError(click.ClickException):
    """A bad STREAMS_* variable: one line naming it, exit status 2 like a usage error."""

    exit_code = 2


def settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        raise ConfigurationError(str(error)) from None


@contextlib.contextmanager
def kafka_errors(settings: Settings) -> Iterator[None]:
    """A broker that cannot be reached, or refuses, as one error line.

    aiokafka also logs each failed connection; the command says it once, so those
    records are dropped (Python would print them to stderr, having no handler).
    """
    logging.getLogger("aiokafka").addHandler(logging.NullHandler())
    try:
        yield
    except TimeoutError:
        raise click.ClickException(
            f"no answer from Kafka at {settings.broker} within {CONNECT_TIMEOUT:g} s"
        ) from None
    except KafkaConnectionError:
        raise click.ClickException(f"cannot connect to Kafka at {settings.broker}") from None
    except KafkaError as error:
        raise click.ClickException(f"Kafka at {settings.broker}: {error}") from None
