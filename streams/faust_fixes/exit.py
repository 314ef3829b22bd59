"""Leaving the process at once, without Faust's shutdown.

``sys.exit`` (or returning from the worker) runs Faust's and mode's shutdown: the
consumer commits what its streams acked and leaves the group while a stage may still be
writing a batch. Every exit of this worker is therefore ``os._exit``, after the log lines
are flushed; the next owner of the partitions resumes from the last commit.
"""

from __future__ import annotations

import logging
import os
from typing import NoReturn

log = logging.getLogger(__name__)

# Exit status of a worker that stops itself so that Kafka redelivers (EX_SOFTWARE).
EXIT_FOR_REDELIVERY = 70


def exit_now(status: int) -> NoReturn:
    """End the process with ``status``, committing nothing more."""
    logging.shutdown()
    os._exit(status)


def exit_for_redelivery(reason: str, *args: object, error: BaseException | None = None) -> NoReturn:
    """Stop at once, committing nothing: the restarted worker is delivered it all again."""
    log.critical(
        reason + "; exiting without commit so that Kafka delivers it again", *args, exc_info=error
    )
    exit_now(EXIT_FOR_REDELIVERY)
