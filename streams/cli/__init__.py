"""``streams``: the command line of the metering processor."""

from __future__ import annotations

import click

from streams.cli.accounts import accounts
from streams.cli.redrive import redrive
from streams.cli.replay import replay
from streams.cli.services import broker, demo, worker
from streams.cli.tail import tail


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Usage metering for prepaid communication credits, on Kafka.

    Configured by STREAMS_* environment variables (see the README's Configuration).
    """


for command in (broker, worker, demo, replay, redrive, tail, accounts):
    main.add_command(command)
