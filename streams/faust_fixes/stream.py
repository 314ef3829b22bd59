"""A Faust stream whose acks go through the consumer's ``ack``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import faust


class AckedStream(faust.Stream):
    """A stream whose every ack reaches ``ProcessedOnlyConsumer.ack``.

    Replaces: ``faust.Stream.__aiter__``, which uses the compiled stream iterator when
    Faust's C extensions are installed; that iterator writes acks into the consumer's
    bookkeeping itself, with none of ``ProcessedOnlyConsumer``'s checks (it would commit a
    message skipped in a rebalance) and without moving its progress, so a Faust agent on
    this app would never commit. The stages take batches from an inbox, not streams; this
    keeps any agent on the app (the foundation tests' tally app is one) correct.
    """

    def __aiter__(self) -> AsyncIterator:
        iterator = self._py_aiter()
        self._active_agens.add(iterator)
        return iterator
