"""What the commands share: settings as one error line."""

from __future__ import annotations

import click

from streams.settings import Settings, SettingsError, load_settings


class ConfigurationError(click.ClickException):
    """A bad STREAMS_* variable: one line naming it, exit status 2 like a usage error."""

    exit_code = 2


def settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        raise ConfigurationError(str(error)) from None
