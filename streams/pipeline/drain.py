"""Stopping a worker: finish the batches in hand, then exit, without Faust's shutdown.

Faust's own shutdown leaves the group and acks the stream while a stage may still be
writing a batch, so another worker can take the partitions over, recover the tables
before those writes land, and apply the same inputs again. Instead, on SIGTERM or
SIGINT the worker takes no new batch, waits for the ones in hand to be fully written,
and exits. It commits nothing more: the next owner resumes from the last commit (at most
a commit interval of inputs) and the dedupe of docs/idempotency.md drops what was applied.
Only then, just before exiting, it leaves the consumer group (``on_exit``), so that the
others take its partitions over at once instead of after the session timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from streams.faust_fixes.exit import exit_now

log = logging.getLogger(__name__)

# A batch that cannot be written in this time (the broker is gone) is abandoned.
DRAIN_TIMEOUT_SECONDS = 30.0


class Drain:
    def __init__(self) -> None:
        self.stopping = False
        self._in_hand = 0
        self.on_exit: Callable[[], None] | None = None  # run before a drained exit (status 0)

    def stop(self) -> None:
        """Called for SIGTERM/SIGINT."""
        if self.stopping:
            return
        self.stopping = True
        log.info("stopping: finishing %d batch(es) in hand", self._in_hand)
        asyncio.get_running_loop().call_later(DRAIN_TIMEOUT_SECONDS, self._exit, 1)
        if self._in_hand == 0:
            self._exit(0)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Around the writing of one batch; a worker that is stopping takes none."""
        if self.stopping:
            self._exit(0)
        self._in_hand += 1
        try:
            yield
        finally:
            self._in_hand -= 1
            if self.stopping and self._in_hand == 0:
                self._exit(0)

    def _exit(self, status: int) -> None:
        if status == 0 and self.on_exit is not None:
            try:
                self.on_exit()
            except Exception as error:  # the others take over after the session timeout
                log.warning("could not leave the group before exiting: %r", error)
        log.info("stopped (status %d)", status)
        exit_now(status)
